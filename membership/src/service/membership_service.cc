#include "membership/service/membership_service.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <random>
#include <utility>

#include "common/assert.h"
#include "common/log.h"
#include "config/config.h"
#include "membership/state/command_codec.h"

namespace ringleader::membership::service {

namespace {

using Completions = std::vector<std::pair<MembershipService::Done, Result<uint64_t>>>;

// Wall-clock time, for deadlines that cross to another instance (loop time is this process's
// own): instances' clocks are assumed to agree within a request timeout.
uint64_t unix_now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void run_completions(Completions& completions) {
  Completions batch = std::move(completions);
  completions.clear();
  for (auto& [done, result] : batch) {
    if (done) done(std::move(result));
  }
}

bool is_empty(const raft::PersistentState& s) {
  return !s.snapshot && s.entries.empty() && s.hard_state.term == 0;
}

std::string role_name(const raft::RaftNode& node) {
  switch (node.role()) {
    case raft::Role::kLeader:
      return "leader";
    case raft::Role::kCandidate:
    case raft::Role::kPreCandidate:
      return "candidate";
    case raft::Role::kFollower:
      break;
  }
  return node.is_learner() ? "learner" : "follower";
}

Status validate(const ServiceOptions& o) {
  if (o.node_id.empty() || o.node_id.size() > raft::kMaxNodeIdLength) {
    return Status::error("membership.node_id must be 1..255 bytes");
  }
  if (o.listen.empty()) return Status::error("membership.listen must be host:port");
  if (o.data_dir.empty()) return Status::error("membership.data_dir must be set");
  if (o.heartbeat_ms == 0) return Status::error("membership.heartbeat_ms must be >= 1");
  if (o.election_timeout_ms < 2 * o.heartbeat_ms) {
    return Status::error("membership.election_timeout_ms must be at least 2 x heartbeat_ms");
  }
  if (o.start_mode == StartMode::kBootstrap && o.peers.count(o.node_id) == 0) {
    return Status::error("membership.peers must list this node (" + o.node_id + ")");
  }
  return Status::ok();
}

// The founding voters, when `entry` is a group's first entry: every group starts with its
// bootstrap configuration at index 1 (raft::bootstrap_state), and a node that joins later
// receives that entry from the leader unless the leader compacted it into a snapshot.
std::vector<raft::NodeId> founders_in(const raft::Entry& entry) {
  if (entry.index != 1 || entry.type != raft::EntryType::kConfig) return {};
  Result<raft::Configuration> config = raft::decode_configuration(entry.data);
  return config ? config->voters : std::vector<raft::NodeId>{};
}

}  // namespace

MembershipService::MembershipService(ServiceOptions options, RingSink sink)
    : options_(std::move(options)), sink_(std::move(sink)) {}

Result<std::unique_ptr<MembershipService>> MembershipService::start(ServiceOptions options,
                                                                    RingSink sink) {
  if (Status s = validate(options); !s) return s;
  if (options.request_timeout_ms == 0) options.request_timeout_ms = 5000;
  if (options.snapshot_every == 0) options.snapshot_every = 1000;
  if (options.stop_transfer_timeout_ms == 0) {
    options.stop_transfer_timeout_ms = 2 * options.election_timeout_ms;
  }
  std::unique_ptr<MembershipService> svc(
      new MembershipService(std::move(options), std::move(sink)));
  svc->stopped_ = true;  // nothing to stop until the thread runs
  const ServiceOptions& o = svc->options_;

  Result<std::unique_ptr<storage::FileStorage>> storage =
      storage::FileStorage::open(o.data_dir, o.node_id);
  if (!storage) return Status::error("membership.data_dir " + o.data_dir + ": " + storage.error());
  svc->storage_ = std::move(storage).value();
  if (svc->storage_->recovery().truncated()) {
    // Only entries never acknowledged can be in a torn tail (appends are synced before the
    // messages that depend on them), unless the disk lost synced data.
    RL_LOG_WARN("membership %s: cut %llu bytes of torn log tail at offset %llu (%s)",
                o.node_id.c_str(),
                static_cast<unsigned long long>(svc->storage_->recovery().truncated_bytes),
                static_cast<unsigned long long>(svc->storage_->recovery().truncated_at),
                svc->storage_->recovery().reason.c_str());
  }
  Result<raft::PersistentState> loaded = svc->storage_->load();
  if (!loaded) return Status::error("membership.data_dir " + o.data_dir + ": " + loaded.error());
  raft::PersistentState state = std::move(loaded).value();
  if (is_empty(state) && o.start_mode == StartMode::kBootstrap) {
    raft::Configuration initial;
    for (const auto& [id, address] : o.peers)
      initial.voters.push_back(id);
    if (Status s = initial.validate(); !s) return Status::error("membership.peers: " + s.message());
    state = raft::bootstrap_state(initial);
    storage::PersistBatch batch{&state.hard_state, nullptr, state.entries};
    if (Status s = svc->storage_->persist(batch); !s) {
      return Status::error("membership.data_dir " + o.data_dir + ": " + s.message());
    }
    RL_LOG_INFO("membership %s: bootstrapped a new group of %zu voters", o.node_id.c_str(),
                initial.voters.size());
  }
  // The founders: recorded at bootstrap, or when this node first learned them; a data_dir
  // written before they were recorded still holds them in its first entry unless compacted.
  std::vector<raft::NodeId> founders = svc->storage_->founders();
  if (founders.empty() && !state.entries.empty()) {
    founders = founders_in(state.entries.front());
    if (!founders.empty()) {
      if (Status s = svc->storage_->set_founders(founders); !s) {
        return Status::error("membership.data_dir " + o.data_dir + ": " + s.message());
      }
    }
  }
  if (state.snapshot) {
    Result<state::MembershipStateMachine> restored =
        state::MembershipStateMachine::restore(*state.snapshot);
    if (!restored) return Status::error("membership snapshot: " + restored.error());
    svc->state_machine_ = std::move(restored).value();
    svc->seen_command_ = !svc->state_machine_.state().backends().empty() ||
                         !(svc->state_machine_.state().params() == ring::RingParams{});
  }

  raft::RaftOptions ro;
  ro.id = o.node_id;
  ro.election_ticks = std::max<uint32_t>(2, o.election_timeout_ms / o.heartbeat_ms);
  ro.heartbeat_ticks = 1;
  std::random_device rd;
  ro.random_seed = (uint64_t{rd()} << 32) ^ rd() ^ std::hash<std::string>{}(o.node_id);
  svc->next_request_id_ = ((uint64_t{rd()} << 32) | rd()) & 0x7fff'ffff'ffff'ffffull;
  Result<std::unique_ptr<raft::RaftNode>> node = raft::RaftNode::create(ro, std::move(state));
  if (!node) return Status::error("membership raft state: " + node.error());
  svc->node_ = std::move(node).value();
  // A vote for itself recovered from disk was a campaign of an earlier run, counted there.
  if (svc->node_->vote() == o.node_id) svc->last_campaign_term_ = svc->node_->term();

  RL_CHECK(uv_loop_init(&svc->loop_) == 0);
  MembershipService* self = svc.get();
  transport::TransportOptions to;
  to.node_id = o.node_id;
  to.listen = o.listen;
  to.secret = o.secret;
  to.peers = o.peers;
  to.founders = std::move(founders);
  to.reconnect_max_ms = std::max<uint32_t>(o.heartbeat_ms, 200);
  transport::TransportCallbacks cb;
  cb.on_message = [self](raft::Message m) { self->on_message(std::move(m)); };
  cb.on_forward_request = [self](const raft::NodeId& from, transport::ForwardRequest r) {
    self->on_forward_request(from, std::move(r));
  };
  cb.on_forward_response = [self](const raft::NodeId& from, transport::ForwardResponse r) {
    self->on_forward_response(from, std::move(r));
  };
  cb.on_foreign_group = [self](const raft::NodeId& id, const std::vector<raft::NodeId>& f) {
    if (self->foreign_peers_.size() < kMaxForeignPeers || self->foreign_peers_.contains(id)) {
      self->foreign_peers_[id] = f;
    }
  };
  cb.in_group = [self](const raft::NodeId& id) { return self->in_group(id); };
  cb.on_peer_address = [self](const raft::NodeId& id, const std::string& address) {
    RL_LOG_INFO("membership %s: peer %s is at %s", self->options_.node_id.c_str(), id.c_str(),
                address.c_str());
  };
  Result<std::unique_ptr<transport::PeerTransport>> transport =
      transport::PeerTransport::start(&svc->loop_, std::move(to), std::move(cb));
  if (!transport) {
    uv_run(&svc->loop_, UV_RUN_DEFAULT);  // lets the failed transport's handles close
    uv_loop_close(&svc->loop_);
    return transport.status();
  }
  svc->transport_ = std::move(transport).value();
  svc->listen_address_ = svc->transport_->listen_address();

  uv_timer_init(&svc->loop_, &svc->tick_timer_);
  svc->tick_timer_.data = self;
  uv_async_init(&svc->loop_, &svc->wake_,
                [](uv_async_t* a) { static_cast<MembershipService*>(a->data)->run_tasks(); });
  svc->wake_.data = self;
  uv_timer_start(
      &svc->tick_timer_, [](uv_timer_t* t) { static_cast<MembershipService*>(t->data)->on_tick(); },
      o.heartbeat_ms, o.heartbeat_ms);
  svc->last_leader_contact_ms_ = uv_now(&svc->loop_);
  svc->refresh_status();

  svc->stopped_ = false;
  svc->thread_ = std::thread([self] {
    self->service_thread_id_.store(std::this_thread::get_id());
    // Apply what the recovered log says is committed, then publish: the first ring after a
    // restart is as recent as what this node published before it stopped.
    self->process_ready();
    self->publish_ring();
    self->sync_recorded_addresses();
    self->recovered_ = true;
    self->refresh_status();
    uv_run(&self->loop_, UV_RUN_DEFAULT);
  });
  RL_LOG_INFO("membership %s: listening on %s", o.node_id.c_str(), svc->listen_address_.c_str());
  return svc;
}

MembershipService::~MembershipService() {
  stop();
}

void MembershipService::stop() {
  std::lock_guard<std::mutex> stop_guard(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  RL_CHECK(std::this_thread::get_id() != thread_.get_id());
  {
    std::lock_guard<std::mutex> g(mu_);
    accepting_ = false;
    stop_requested_ = true;
    uv_async_send(&wake_);
  }
  thread_.join();
  transport_.reset();
  if (int rc = uv_loop_close(&loop_); rc != 0) {
    RL_LOG_WARN("membership %s: loop closed with open handles: %s", options_.node_id.c_str(),
                uv_strerror(rc));
  }
}

bool MembershipService::post(std::function<void()> task) {
  std::lock_guard<std::mutex> g(mu_);
  if (!accepting_) return false;
  tasks_.push_back(std::move(task));
  uv_async_send(&wake_);
  return true;
}

// ---- public requests ----------------------------------------------------------------------------

void MembershipService::propose(state::Command command, Done done) {
  std::string encoded = state::encode_command(command);
  if (!post([this, encoded, done]() mutable {
        submit_command(std::move(encoded), std::move(done), deadline());
        process_ready();
      })) {
    done(Status::error("membership service is stopped"));
  }
}

void MembershipService::post_change(raft::ConfigChange change, std::string address, Done done) {
  if (!post([this, change, address, done]() mutable {
        submit_change(std::move(change), std::move(address), std::move(done), deadline());
        process_ready();
      })) {
    done(Status::error("membership service is stopped"));
  }
}

void MembershipService::add_peer(raft::NodeId id, std::string address, Done done) {
  post_change({raft::ConfigChangeType::kAddLearner, std::move(id)}, std::move(address),
              std::move(done));
}

void MembershipService::promote_peer(raft::NodeId id, Done done) {
  post_change({raft::ConfigChangeType::kPromoteLearner, std::move(id)}, "", std::move(done));
}

void MembershipService::remove_peer(raft::NodeId id, Done done) {
  post_change({raft::ConfigChangeType::kRemove, std::move(id)}, "", std::move(done));
}

void MembershipService::read_barrier(Done done) {
  if (!post([this, done]() mutable {
        if (!failure_.empty()) {
          done(Status::error("membership stopped: " + failure_));
          return;
        }
        uint64_t id = next_request_id_++;
        reads_.emplace(id, Pending{std::move(done), deadline()});
        node_->read_index(id);
        process_ready();
      })) {
    done(Status::error("membership service is stopped"));
  }
}

void MembershipService::run_on_service_thread(std::function<void()> task) {
  if (std::this_thread::get_id() == service_thread_id_.load()) {
    task();
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> ran = done->get_future();
  if (!post([task = std::move(task), done] {
        task();
        done->set_value();
      })) {
    return;  // stopping: no frame moves any more
  }
  ran.wait();
}

void MembershipService::set_blocked(std::set<raft::NodeId> peers) {
  run_on_service_thread(
      [this, peers = std::move(peers)]() mutable { transport_->set_blocked(std::move(peers)); });
}

void MembershipService::set_blocked_outgoing(std::set<raft::NodeId> peers) {
  run_on_service_thread([this, peers = std::move(peers)]() mutable {
    transport_->set_blocked_outgoing(std::move(peers));
  });
}

ServiceStatus MembershipService::status() const {
  std::lock_guard<std::mutex> g(mu_);
  ServiceStatus s = status_;
  // Refreshed every heartbeat while the thread runs: a snapshot this old says the thread is
  // stuck, and whatever it says of the leader is that old too.
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - status_refreshed_)
                       .count();
  if (age > 0 && static_cast<uint64_t>(age) > 2 * uint64_t{options_.election_timeout_ms}) {
    s.unresponsive = true;
    s.unresponsive_ms = static_cast<uint64_t>(age);
    s.stale = true;
  }
  return s;
}

// ---- service thread: events ---------------------------------------------------------------------

void MembershipService::run_tasks() {
  std::vector<std::function<void()>> tasks;
  bool stop = false;
  {
    std::lock_guard<std::mutex> g(mu_);
    tasks.swap(tasks_);
    stop = stop_requested_;
  }
  for (auto& task : tasks) {
    if (!closed_) task();
  }
  if (stop && !shutting_down_ && !closed_) begin_shutdown();
  refresh_status();
}

void MembershipService::on_tick() {
  if (closed_) return;
  if (shutting_down_ &&
      (node_->role() != raft::Role::kLeader || now_ms() >= shutdown_deadline_ms_)) {
    finish_shutdown();
    return;
  }
  if (failure_.empty()) {
    node_->tick();
    check_caught_up();
    process_ready();
    fail_forwarded_to_former_leaders();
    try_pending_changes();
    maybe_seed();
    submit_waiting_commands();
    process_ready();
    forget_departed_peers();
    const raft::NodeId& leader = node_->leader();
    if (failure_.empty() && transport_->founders().empty() && !leader.empty() &&
        leader != options_.node_id && heard_leader_) {
      learn_founders(transport_->founders_of(leader), ("leader " + leader).c_str());
    }
  }
  expire_requests();
  refresh_status();
}

void MembershipService::learn_leader_address(const raft::NodeId& leader) {
  // Its Hello came while it was a stranger (the file lists other peers, the configuration
  // this instance holds does not list it yet), and the replies need the address it gave.
  // One such address at a time: whoever holds the secret can claim to lead, so a new one
  // replaces the last, and forget_departed_peers drops it once it neither leads nor belongs.
  if (leader != learned_leader_ && !learned_leader_.empty() && !in_group(learned_leader_)) {
    transport_->remove_peer(learned_leader_);
  }
  learned_leader_ = leader;
  transport_->learn_address_of(leader);  // nothing when known at that address already
}

raft::Index MembershipService::removal_at() const {
  const raft::Index at = node_->removal_index();
  if (at == 0) return 0;
  const bool catching_up = heard_leader_ &&
                           now_ms() - last_leader_contact_ms_ <= options_.election_timeout_ms &&
                           leader_commit_seen_ > node_->log().last_index();
  return catching_up ? 0 : at;
}

bool MembershipService::in_group(const raft::NodeId& id) const {
  const raft::Configuration& config = node_->configuration();
  // And the leader it follows: a joining node knows the group only by its file's peers until
  // the log reaches it, and catching up it holds configurations older than the leader.
  return config.is_member(id) || options_.peers.contains(id) || node_->progress(id).has_value() ||
         (!id.empty() && id == node_->leader()) ||
         std::any_of(pending_changes_.begin(), pending_changes_.end(),
                     [&id](const PendingChange& p) { return p.change.node == id; });
}

void MembershipService::learn_founders(std::vector<raft::NodeId> founders, const char* source) {
  if (founders.empty()) return;
  if (Status s = storage_->set_founders(founders); !s) {
    fail_storage("recording the group's founders failed: " + s.message());
    return;
  }
  RL_LOG_INFO("membership %s: the group was founded by [%s] (learned from %s)",
              options_.node_id.c_str(), raft::join_ids(founders).c_str(), source);
  transport_->set_founders(std::move(founders));
}

void MembershipService::on_message(raft::Message message) {
  if (closed_ || !failure_.empty()) return;
  uint64_t now = now_ms();
  if (in_group(message.from)) last_heard_ms_[message.from] = now;
  node_->step(message);
  fail_forwarded_to_former_leaders();
  if (!node_->leader().empty() && message.from == node_->leader()) {
    last_leader_contact_ms_ = now;
    if (const auto* append = std::get_if<raft::AppendRequest>(&message.payload)) {
      heard_leader_ = true;
      leader_commit_seen_ = std::max(leader_commit_seen_, append->leader_commit);
    } else if (const auto* snap = std::get_if<raft::SnapshotRequest>(&message.payload)) {
      heard_leader_ = true;
      leader_commit_seen_ = std::max(leader_commit_seen_, snap->snapshot.meta.index);
    }
    if (!node_->configuration().is_member(message.from) && !options_.peers.contains(message.from)) {
      learn_leader_address(message.from);
    }
  }
  process_ready();
  refresh_status();
}

void MembershipService::on_forward_request(const raft::NodeId& from,
                                           transport::ForwardRequest request) {
  if (closed_) return;
  if (in_group(from)) last_heard_ms_[from] = now_ms();
  Done reply = [this, from, id = request.request_id](Result<uint64_t> r) {
    if (closed_) return;
    transport::ForwardResponse resp;
    resp.request_id = id;
    resp.ok = r.is_ok();
    resp.index = r.is_ok() ? r.value() : 0;
    resp.error = r.is_ok() ? "" : r.error();
    resp.refused = r.status().is_refused();
    transport_->send_frame(from, resp);
  };
  // The request's own deadline when it has one, as loop time; the leader's otherwise. A
  // request held here (a new leader not caught up, a peer change waiting its turn) is not
  // proposed after its caller stopped waiting either.
  uint64_t until = deadline();
  if (request.deadline_unix_ms != 0) {
    const uint64_t now = unix_now_ms();
    if (now <= request.deadline_unix_ms) {
      until = std::min(until, now_ms() + (request.deadline_unix_ms - now));
    } else {
      // Read late (this leader was stopped, or the link stalled with the frame in flight):
      // the caller has answered that the request timed out, so it must not apply now.
      reply(Status::error("not proposed, nothing was changed: the request reached leader " +
                          options_.node_id + " " + std::to_string(now - request.deadline_unix_ms) +
                          " ms after its deadline (if the instances' clocks disagree by "
                          "that much, set them right)"));
      return;
    }
  }
  if (node_->role() != raft::Role::kLeader) {
    std::string leader = node_->leader();
    reply(Status::error("forwarded to " + options_.node_id + ", which is not the leader" +
                        (leader.empty() ? std::string() : "; the leader is " + leader)));
    return;
  }
  if (request.kind == transport::ForwardKind::kCommand) {
    submit_command(std::move(request.command), std::move(reply), until);
  } else {
    submit_change(std::move(request.change), std::move(request.address), std::move(reply), until);
  }
  process_ready();
  refresh_status();
}

void MembershipService::on_forward_response(const raft::NodeId& from,
                                            transport::ForwardResponse response) {
  if (closed_) return;
  if (in_group(from)) last_heard_ms_[from] = now_ms();
  auto it = forwarded_.find(response.request_id);
  if (it == forwarded_.end()) return;
  ForwardedRequest pending = std::move(it->second);
  forwarded_.erase(it);
  if (!response.ok) {
    pending.done(response.refused ? Status::refused(response.error)
                                  : Status::error(response.error));
    return;
  }
  wait_applied(response.index, std::move(pending.done), pending.deadline_ms);
}

// ---- service thread: driving the core -----------------------------------------------------------

void MembershipService::process_ready() {
  while (!closed_ && failure_.empty() && node_->has_ready()) {
    raft::Ready ready = node_->take_ready();
    // 1. Persist (durable before persist() returns), then 2. send what depends on it.
    if (Status s = storage_->persist(storage::PersistBatch::of(ready)); !s) {
      fail_storage("persisting the raft log failed: " + s.message());
      return;
    }
    if (transport_->founders().empty() && !ready.entries.empty()) {
      learn_founders(founders_in(ready.entries.front()), "the group's first log entry");
      if (closed_ || !failure_.empty()) return;
    }
    for (const raft::Message& m : ready.messages)
      transport_->send(m);
    for (const raft::CommittedConflict& c : ready.committed_conflicts) {
      ++committed_conflicts_;
      RL_LOG_ERROR(
          "membership %s: leader %s (term %llu) disagrees with log entry %llu, committed here "
          "(term %llu here, %llu in the leader's log): this instance's log is not the group's "
          "(founders bootstrapped with different membership.peers, or a data_dir copied from "
          "another group or rolled back). It keeps its committed entries, takes no further "
          "part in the group and routes with its last ring (epoch %llu); stop it, wipe its "
          "data_dir and add it back under a new id",
          options_.node_id.c_str(), c.leader.c_str(),
          static_cast<unsigned long long>(c.leader_term), static_cast<unsigned long long>(c.index),
          static_cast<unsigned long long>(c.ours), static_cast<unsigned long long>(c.leaders),
          static_cast<unsigned long long>(published_epoch_));
    }
    for (const raft::LogLoss& loss : ready.log_losses) {
      ++peer_log_losses_;
      RL_LOG_ERROR(
          "membership %s: peer %s lost log entries it had acknowledged (it held up to %llu, now "
          "agrees only below %llu): its data_dir was wiped or restored from an older copy. "
          "Replicating to it again; Raft assumes acknowledged entries survive, so remove and "
          "re-add a peer whose data is lost rather than restarting it empty",
          options_.node_id.c_str(), loss.peer.c_str(),
          static_cast<unsigned long long>(loss.acknowledged),
          static_cast<unsigned long long>(loss.agrees_below));
    }

    // 3. Apply: a leader's snapshot first, then the committed entries.
    Completions completions;
    if (ready.snapshot && ready.snapshot_origin == raft::SnapshotOrigin::kFromLeader) {
      Result<state::MembershipStateMachine> restored =
          state::MembershipStateMachine::restore(*ready.snapshot);
      if (!restored) {
        fail_storage("the leader's snapshot does not decode: " + restored.error());
        return;
      }
      state_machine_ = std::move(restored).value();
      seen_command_ = seen_command_ || !state_machine_.state().backends().empty();
      // Proposals the snapshot covers have an unknown outcome here.
      while (!proposals_.empty() && proposals_.begin()->first <= state_machine_.applied_index()) {
        completions.emplace_back(
            std::move(proposals_.begin()->second.done),
            Status::error("outcome unknown: replaced by the leader's snapshot"));
        proposals_.erase(proposals_.begin());
      }
    }
    for (const raft::Entry& entry : ready.committed_entries) {
      if (entry.index <= state_machine_.applied_index()) continue;  // in a restored snapshot
      Status applied = state_machine_.apply(entry);
      // A command answers with the ring epoch it left (its index, or the one it kept as it
      // changed nothing); a configuration change with its own index.
      const raft::Index answer =
          entry.type == raft::EntryType::kCommand ? state_machine_.ring_epoch() : entry.index;
      if (state_machine_.applied_index() != entry.index) {
        fail_storage("entry " + std::to_string(entry.index) +
                     " cannot be applied: " + applied.message());
        return;
      }
      if (entry.type == raft::EntryType::kCommand) {
        seen_command_ = true;
        if (!applied) {
          RL_LOG_INFO("membership %s: command at index %llu rejected: %s", options_.node_id.c_str(),
                      static_cast<unsigned long long>(entry.index), applied.message().c_str());
        }
      }
      auto it = proposals_.find(entry.index);
      if (it != proposals_.end()) {
        PendingProposal p = std::move(it->second);
        proposals_.erase(it);
        if (p.term != entry.term) {
          completions.emplace_back(std::move(p.done),
                                   Status::error("leadership changed before the proposal "
                                                 "committed; it was not applied"));
        } else if (!applied) {
          completions.emplace_back(std::move(p.done), Status::refused(applied.message()));
        } else {
          completions.emplace_back(std::move(p.done), answer);
        }
      }
    }
    publish_ring();
    sync_recorded_addresses();
    for (const raft::ReadState& rs : ready.reads) {
      auto it = reads_.find(rs.request_id);
      if (it == reads_.end()) continue;
      Pending p = std::move(it->second);
      reads_.erase(it);
      if (rs.outcome != raft::ReadOutcome::kReady) {
        completions.emplace_back(std::move(p.done),
                                 Status::error("read barrier failed: no leader confirmed it"));
      } else if (rs.index <= state_machine_.applied_index()) {
        completions.emplace_back(std::move(p.done), rs.index);
      } else {
        applied_waiters_.emplace(rs.index, std::move(p));
      }
    }
    maybe_compact();
    // Answer callers only now: their ring has the change.
    run_completions(completions);
    resolve_applied_waiters();
  }
}

void MembershipService::fail_forwarded_to_former_leaders() {
  const raft::NodeId& leader = node_->leader();
  if (leader.empty() || forwarded_.empty()) return;
  Completions completions;
  for (auto it = forwarded_.begin(); it != forwarded_.end();) {
    if (it->second.leader == leader) {
      ++it;
      continue;
    }
    completions.emplace_back(
        std::move(it->second.done),
        Status::error("the leader " + it->second.leader + " was replaced by " + leader +
                      " before it answered; the change may still be applied (GET /ring shows "
                      "whether it was)"));
    it = forwarded_.erase(it);
  }
  run_completions(completions);
}

void MembershipService::check_caught_up() {
  if (caught_up_ || catch_up_pending_ || node_->leader().empty()) return;
  catch_up_pending_ = true;
  uint64_t id = next_request_id_++;
  // Answered once this node has applied the leader's commit index as of now; a failure
  // (no leader confirmed it, a timeout) is retried at a later tick.
  reads_.emplace(id, Pending{[this](Result<uint64_t> r) {
                               catch_up_pending_ = false;
                               if (!r.is_ok() || caught_up_) return;
                               caught_up_ = true;
                               leader_commit_seen_ = std::max(leader_commit_seen_, r.value());
                               RL_LOG_INFO(
                                   "membership %s: caught up with the leader: applied index "
                                   "%llu, ring epoch %llu",
                                   options_.node_id.c_str(),
                                   static_cast<unsigned long long>(state_machine_.applied_index()),
                                   static_cast<unsigned long long>(published_epoch_));
                             },
                             now_ms() + 2 * uint64_t{options_.election_timeout_ms}});
  node_->read_index(id);
}

void MembershipService::publish_ring() {
  uint64_t epoch = state_machine_.ring_epoch();
  if (epoch <= published_epoch_ || state_machine_.state().backends().empty()) return;
  Result<ring::RingSnapshot> ring = state_machine_.build_ring();
  if (!ring) {
    RL_LOG_WARN("membership %s: no ring at epoch %llu: %s", options_.node_id.c_str(),
                static_cast<unsigned long long>(epoch), ring.error().c_str());
    return;
  }
  published_epoch_ = epoch;
  if (sink_) sink_(std::move(ring).value());
}

void MembershipService::maybe_compact() {
  raft::Index applied = state_machine_.applied_index();
  if (applied < node_->log().snapshot_index() + options_.snapshot_every) return;
  if (applied > node_->applied_index()) return;  // not reachable; the core hands entries out first
  Status s = node_->compact(applied, state_machine_.snapshot_data());
  if (!s) {
    RL_LOG_DEBUG("membership %s: compaction at %llu postponed: %s", options_.node_id.c_str(),
                 static_cast<unsigned long long>(applied), s.message().c_str());
  }
}

void MembershipService::maybe_seed() {
  if (shutting_down_ || node_->role() != raft::Role::kLeader) return;
  if (seed_checked_term_ == node_->term()) return;
  // Wait until this leader has committed an entry of its term and applied everything before.
  std::optional<raft::Term> commit_term = node_->log().term_at(node_->commit_index());
  if (!commit_term || *commit_term != node_->term()) return;
  if (state_machine_.applied_index() < node_->commit_index()) return;
  seed_checked_term_ = node_->term();
  const state::MembershipState& st = state_machine_.state();
  if (seen_command_ || !st.backends().empty() || !(st.params() == ring::RingParams{})) return;
  if (options_.seed_backends.empty() && options_.seed_params == ring::RingParams{}) return;
  // One entry: the first ring every instance publishes holds the whole seed.
  state::Seed seed{options_.seed_params, options_.seed_backends};
  state::MembershipState probe = st;
  if (Status s = probe.apply(seed); !s) {  // the server checks the seed before it starts
    RL_LOG_ERROR("membership %s: the seed is refused, nothing seeded: %s", options_.node_id.c_str(),
                 s.message().c_str());
    return;
  }
  Result<raft::Index> index = node_->propose(state::encode_command(seed));
  if (!index) {
    RL_LOG_WARN("membership %s: seeding failed: %s", options_.node_id.c_str(),
                index.error().c_str());
    return;
  }
  RL_LOG_INFO("membership %s: seeding the membership with %zu backends", options_.node_id.c_str(),
              options_.seed_backends.size());
}

// ---- service thread: requests -------------------------------------------------------------------

void MembershipService::submit_command(std::string encoded, Done done, uint64_t deadline_ms) {
  if (!failure_.empty()) {
    done(Status::error("membership stopped: " + failure_));
    return;
  }
  if (node_->role() == raft::Role::kLeader) {
    if (!leader_caught_up()) {
      // A new leader's applied state may lack what earlier leaders committed (the seed
      // among it): checked against it, a change to an existing backend would be refused as
      // unknown. It waits for the leader's first commit instead, within its deadline.
      waiting_commands_.push_back(WaitingCommand{std::move(encoded), std::move(done), deadline_ms});
      return;
    }
    Result<state::Command> command = state::decode_command(encoded);
    if (!command) {
      done(Status::refused("invalid command: " + command.error()));
      return;
    }
    // Reject what cannot apply to the state it will meet: the applied state followed by what
    // this leader's log already holds. The applied outcome stays the answer for what passes.
    // A refusal that only the uncommitted entries cause is not final (they are lost if this
    // leader is deposed before they commit): it is an error to retry, not a refusal.
    state::MembershipState probe = projected_state();
    Status s = admissible(probe, *command);
    if (s) s = probe.apply(*command);
    if (!s) {
      state::MembershipState applied = state_machine_.state();
      if (admissible(applied, *command) && applied.apply(*command)) {
        done(Status::error(s.message() + " once the changes not yet committed apply; retry "
                                         "when they have"));
      } else {
        done(Status::refused(s.message()));
      }
      return;
    }
    Result<raft::Index> index = node_->propose(std::move(encoded));
    if (!index) {
      done(Status::error("not proposed: " + index.error()));
      return;
    }
    proposals_.emplace(*index, PendingProposal{node_->term(), std::move(done), deadline_ms});
    return;
  }
  transport::ForwardRequest request;
  request.kind = transport::ForwardKind::kCommand;
  request.command = std::move(encoded);
  forward_to_leader(std::move(request), std::move(done), deadline_ms);
}

Status MembershipService::admissible(const state::MembershipState& projected,
                                     const state::Command& command) {
  if (const auto* set = std::get_if<state::SetRingParams>(&command)) {
    // As a config file's [ring] is held to its [[backends]]. A ring left with fewer backends
    // than replicas by removals is valid (each key is on all there are), so a change that
    // keeps the replicas it has is not refused for it.
    const size_t backends = projected.backends().size();
    if (set->params.replicas > backends && set->params.replicas != projected.params().replicas) {
      return Status::error("replicas = " + std::to_string(set->params.replicas) +
                           " is more than the " + std::to_string(backends) +
                           " backends of the ring: add backends first");
    }
    return Status::ok();
  }
  const auto* add = std::get_if<state::AddBackend>(&command);
  if (add == nullptr) return Status::ok();
  // The state compares addresses as written (its apply must not change with how they are
  // read); the leader also refuses another spelling of one in use, the projected state's
  // included, so concurrent adds through different instances cannot both take one server.
  const std::string wanted = config::canonical_address(add->backend.address);
  for (const ring::Backend& other : projected.backends()) {
    if (other.address != add->backend.address &&
        config::canonical_address(other.address) == wanted) {
      return Status::error("address " + add->backend.address + " is the server of backend \"" +
                           other.name + "\" (" + other.address + ")");
    }
  }
  return Status::ok();
}

bool MembershipService::leader_caught_up() const {
  return node_->role() == raft::Role::kLeader && seed_checked_term_ == node_->term();
}

void MembershipService::submit_waiting_commands() {
  if (waiting_commands_.empty()) return;
  if (node_->role() == raft::Role::kLeader && !leader_caught_up()) return;
  std::vector<WaitingCommand> waiting;
  waiting.swap(waiting_commands_);
  for (WaitingCommand& w : waiting)
    submit_command(std::move(w.encoded), std::move(w.done), w.deadline_ms);
}

state::MembershipState MembershipService::projected_state() const {
  state::MembershipState projected = state_machine_.state();
  const raft::RaftLog& log = node_->log();
  for (raft::Index i = std::max(state_machine_.applied_index() + 1, log.first_index());
       i <= log.last_index(); ++i) {
    const raft::Entry& entry = log.at(i);
    if (entry.type != raft::EntryType::kCommand) continue;
    // As the state machine applies it: a command it refuses leaves the state as it was.
    if (Result<state::Command> command = state::decode_command(entry.data)) {
      (void)projected.apply(*command);
    }
  }
  return projected;
}

void MembershipService::forward_to_leader(transport::ForwardRequest request, Done done,
                                          uint64_t deadline_ms) {
  if (const raft::Index removed_at = removal_at(); removed_at != 0) {
    // No leader will ever be known here again: not a 503 to retry.
    done(Status::refused("this instance was removed from the group (configuration at index " +
                         std::to_string(removed_at) +
                         "); it takes no more changes: send them to a member"));
    return;
  }
  const raft::NodeId& leader = node_->leader();
  if (leader.empty()) {
    done(Status::error("no leader known; retry shortly"));
    return;
  }
  request.request_id = next_request_id_++;
  // The leader gives the request its own deadline and always answers by then, saying what
  // happened ("not proposed, nothing was changed" is not "may still be applied"): its answer
  // gets a second longer to arrive before this instance gives up on it.
  constexpr uint64_t kLeaderAnswerGraceMs = 1000;
  forwarded_.emplace(request.request_id,
                     ForwardedRequest{std::move(done), deadline_ms + kLeaderAnswerGraceMs, leader});
  // Not written after its deadline: the leader would apply a change whose caller has been
  // told it timed out, as late as the link to the leader comes back. Nor proposed by a leader
  // that reads it after the deadline, which the frame carries in wall-clock time.
  const uint64_t now = now_ms();
  request.deadline_unix_ms = unix_now_ms() + (deadline_ms > now ? deadline_ms - now : 0);
  transport_->send_frame(leader, request, deadline_ms);
}

void MembershipService::submit_change(raft::ConfigChange change, std::string address, Done done,
                                      uint64_t deadline_ms) {
  if (!failure_.empty()) {
    done(Status::error("membership stopped: " + failure_));
    return;
  }
  if (change.node.empty() || change.node.size() > raft::kMaxNodeIdLength) {
    done(Status::refused("peer id must be 1..255 bytes"));
    return;
  }
  if (node_->role() == raft::Role::kLeader) {
    if (Result<raft::Configuration> next = raft::apply_change(node_->configuration(), change);
        !next) {
      done(Status::refused(next.error()));
      return;
    }
    if (!address.empty()) {
      if (Status s = address_free_for(change.node, address); !s) {
        done(std::move(s));
        return;
      }
      if (Status s = transport_->set_peer(change.node, address); !s) {
        done(Status::refused(s.message()));
        return;
      }
      change.address = address;  // recorded in the configuration for every instance
    }
    pending_changes_.push_back(PendingChange{std::move(change), std::move(done), deadline_ms, {}});
    try_pending_changes();
    return;
  }
  transport::ForwardRequest request;
  request.kind = transport::ForwardKind::kConfigChange;
  request.change = std::move(change);
  request.address = std::move(address);
  forward_to_leader(std::move(request), std::move(done), deadline_ms);
}

void MembershipService::sync_recorded_addresses() {
  const std::map<raft::NodeId, std::string>& recorded = node_->configuration().addresses;
  if (recorded == synced_addresses_) return;
  synced_addresses_ = recorded;
  const std::map<raft::NodeId, std::string> known = transport_->peers();
  for (const auto& [id, address] : recorded) {
    ever_members_.insert(id);  // recorded: in a configuration (see forget_departed_peers)
    // membership.peers of this instance's config file names where a listed peer is now.
    if (id == options_.node_id || options_.peers.count(id) != 0) continue;
    auto it = known.find(id);
    if (it != known.end() && it->second == address) continue;
    if (Status s = transport_->set_peer(id, address); !s) {
      RL_LOG_WARN("membership %s: peer %s's recorded address %s is unusable: %s",
                  options_.node_id.c_str(), id.c_str(), address.c_str(), s.message().c_str());
    }
  }
}

void MembershipService::forget_departed_peers() {
  const raft::Configuration& config = node_->configuration();
  // Only a committed configuration says who is in the group: an appended one may still be
  // cut from the log by a new leader. Nor does one while the leader has committed entries this
  // instance lacks: catching up, it holds configurations older than the group's.
  if (config.members().empty() || node_->configuration_index() > node_->commit_index() ||
      leader_commit_seen_ > node_->commit_index()) {
    return;
  }
  std::map<raft::NodeId, std::string> known = transport_->peers();
  // Members the transport lacks (one forgotten and added again): contacted again, at the
  // address this instance's membership.peers gives, or the one the group recorded.
  for (const raft::NodeId& id : config.members()) {
    if (id == options_.node_id || known.count(id) != 0) continue;
    auto listed = options_.peers.find(id);
    auto recorded = config.addresses.find(id);
    const std::string* address = listed != options_.peers.end()       ? &listed->second
                                 : recorded != config.addresses.end() ? &recorded->second
                                                                      : nullptr;
    if (address == nullptr) continue;
    if (Status s = transport_->set_peer(id, *address); !s) continue;
    if (departed_.erase(id) != 0) {
      RL_LOG_INFO("membership %s: peer %s (%s) is in the group again", options_.node_id.c_str(),
                  id.c_str(), address->c_str());
    }
    known.emplace(id, *address);
  }
  for (const raft::NodeId& id : config.members())
    ever_members_.insert(id);
  if (!learned_leader_.empty() && !in_group(learned_leader_)) {
    transport_->remove_peer(learned_leader_);  // a leader it followed while joining, gone since
    known.erase(learned_leader_);
    learned_leader_.clear();
  }
  for (const auto& [id, address] : known) {
    if (config.is_member(id) || node_->progress(id)) continue;
    // Never a member as far as this instance knows: an instance that is joining (it dials
    // the group before it is added), not one that left.
    if (ever_members_.count(id) == 0 && options_.peers.count(id) == 0) continue;
    const bool pending = std::any_of(pending_changes_.begin(), pending_changes_.end(),
                                     [&id](const PendingChange& p) { return p.change.node == id; });
    if (pending) continue;
    // A departed instance that still runs may dial in again, and its Hello teaches the
    // transport its address again: dropped again, said once.
    if (departed_.insert(id).second) {
      RL_LOG_INFO("membership %s: peer %s (%s) has left the group; no longer contacted",
                  options_.node_id.c_str(), id.c_str(), address.c_str());
    }
    transport_->remove_peer(id);
  }
}

Status MembershipService::address_free_for(const raft::NodeId& id,
                                           const std::string& address) const {
  // Two spellings of one listener ("localhost:7000", "127.0.0.1:7000") are one address.
  const std::string wanted = config::canonical_address(address);
  auto same = [&wanted](const std::string& other) {
    return config::canonical_address(other) == wanted;
  };
  if (same(options_.listen) || same(transport_->listen_address())) {
    return Status::refused("address " + address + " is already used by peer " + options_.node_id +
                           " (this node)");
  }
  // Members, and peers whose addition is still waiting to be proposed.
  std::vector<raft::NodeId> ids = node_->configuration().members();
  std::map<raft::NodeId, std::string> known = transport_->peers();
  for (const PendingChange& pc : pending_changes_) {
    ids.push_back(pc.change.node);
    auto it = known.find(pc.change.node);
    if (pc.change.node == id && it != known.end() && !same(it->second)) {
      return Status::refused("peer " + id + " is already being added at " + it->second);
    }
  }
  for (const raft::NodeId& other : ids) {
    auto it = known.find(other);
    if (other != id && it != known.end() && same(it->second)) {
      return Status::refused("address " + address + " is already used by peer " + other);
    }
  }
  return Status::ok();
}

void MembershipService::try_pending_changes() {
  Completions completions;
  while (!pending_changes_.empty() && failure_.empty()) {
    PendingChange& pc = pending_changes_.front();
    if (node_->role() != raft::Role::kLeader) {
      for (PendingChange& lost : pending_changes_) {
        completions.emplace_back(std::move(lost.done),
                                 Status::error("lost leadership before proposing the change"));
      }
      pending_changes_.clear();
      break;
    }
    Result<raft::Index> index = node_->propose_config_change(pc.change);
    if (index) {
      proposals_.emplace(*index,
                         PendingProposal{node_->term(), std::move(pc.done), pc.deadline_ms});
      pending_changes_.erase(pending_changes_.begin());
      continue;
    }
    // A change that no longer applies, or that would leave no reachable quorum, fails now;
    // anything else (a configuration change still uncommitted, no entry of this term
    // committed yet, a learner still catching up) is retried on the next tick until the
    // deadline.
    if (Result<raft::Configuration> next = raft::apply_change(node_->configuration(), pc.change);
        !next) {
      completions.emplace_back(std::move(pc.done), Status::refused(next.error()));
      pending_changes_.erase(pending_changes_.begin());
      continue;
    }
    if (index.status().is_refused()) {
      completions.emplace_back(std::move(pc.done), index.status());
      pending_changes_.erase(pending_changes_.begin());
      continue;
    }
    pc.waiting_for = index.error();
    break;
  }
  run_completions(completions);
}

void MembershipService::wait_applied(raft::Index index, Done done, uint64_t deadline_ms) {
  if (index <= state_machine_.applied_index()) {
    done(index);
    return;
  }
  applied_waiters_.emplace(index, Pending{std::move(done), deadline_ms});
}

void MembershipService::resolve_applied_waiters() {
  Completions completions;
  while (!applied_waiters_.empty() &&
         applied_waiters_.begin()->first <= state_machine_.applied_index()) {
    completions.emplace_back(std::move(applied_waiters_.begin()->second.done),
                             applied_waiters_.begin()->first);
    applied_waiters_.erase(applied_waiters_.begin());
  }
  run_completions(completions);
}

void MembershipService::expire_requests() {
  uint64_t now = now_ms();
  Completions completions;
  // The outcome is unknown, not negative: an entry already in a leader's log may still be
  // committed once a quorum is reachable again.
  Status timeout = Status::error("timed out after " + std::to_string(options_.request_timeout_ms) +
                                 " ms (no quorum reachable?); the change may still be applied "
                                 "if a quorum accepts it later");
  auto sweep = [&](auto& map) {
    for (auto it = map.begin(); it != map.end();) {
      if (it->second.deadline_ms <= now) {
        completions.emplace_back(std::move(it->second.done), timeout);
        it = map.erase(it);
      } else {
        ++it;
      }
    }
  };
  sweep(proposals_);
  sweep(forwarded_);
  sweep(reads_);
  sweep(applied_waiters_);
  for (auto it = waiting_commands_.begin(); it != waiting_commands_.end();) {
    if (it->deadline_ms <= now) {
      // Never proposed: nothing will apply it later.
      completions.emplace_back(
          std::move(it->done),
          Status::error("not proposed within " + std::to_string(options_.request_timeout_ms) +
                        " ms, nothing was changed: the leader had not "
                        "caught up with its log (no quorum reachable?)"));
      it = waiting_commands_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = pending_changes_.begin(); it != pending_changes_.end();) {
    if (it->deadline_ms <= now) {
      // Never proposed: nothing will apply it later.
      completions.emplace_back(
          std::move(it->done),
          Status::error(
              "not proposed within " + std::to_string(options_.request_timeout_ms) +
              " ms, nothing was changed: " +
              (it->waiting_for.empty() ? "an earlier change was still waiting" : it->waiting_for)));
      it = pending_changes_.erase(it);
    } else {
      ++it;
    }
  }
  run_completions(completions);
}

// ---- service thread: shutdown and failure -------------------------------------------------------

void MembershipService::begin_shutdown() {
  shutting_down_ = true;
  if (failure_.empty() && node_->role() == raft::Role::kLeader &&
      node_->configuration().voters.size() > 1) {
    Status s = node_->transfer_leadership(std::nullopt);
    if (s) {
      RL_LOG_INFO("membership %s: stopping; handing leadership over", options_.node_id.c_str());
      shutdown_deadline_ms_ = now_ms() + options_.stop_transfer_timeout_ms;
      process_ready();
      return;
    }
    RL_LOG_WARN("membership %s: stopping without a leadership transfer: %s",
                options_.node_id.c_str(), s.message().c_str());
  }
  finish_shutdown();
}

void MembershipService::finish_shutdown() {
  if (closed_) return;
  fail_all("membership service is shutting down");
  closed_ = true;
  transport_->close();
  uv_timer_stop(&tick_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  refresh_status();
}

void MembershipService::fail_storage(const std::string& what) {
  RL_LOG_ERROR("membership %s: %s; this node stops taking part in the group",
               options_.node_id.c_str(), what.c_str());
  failure_ = what;
  fail_all("membership stopped: " + what);
}

void MembershipService::fail_all(const std::string& why) {
  Completions completions;
  Status error = Status::error(why);
  for (auto& [index, p] : proposals_)
    completions.emplace_back(std::move(p.done), error);
  for (auto& [id, p] : forwarded_)
    completions.emplace_back(std::move(p.done), error);
  for (auto& [id, p] : reads_)
    completions.emplace_back(std::move(p.done), error);
  for (auto& [index, p] : applied_waiters_)
    completions.emplace_back(std::move(p.done), error);
  for (PendingChange& pc : pending_changes_)
    completions.emplace_back(std::move(pc.done), error);
  for (WaitingCommand& w : waiting_commands_)
    completions.emplace_back(std::move(w.done), error);
  proposals_.clear();
  forwarded_.clear();
  reads_.clear();
  applied_waiters_.clear();
  pending_changes_.clear();
  waiting_commands_.clear();
  run_completions(completions);
}

void MembershipService::log_leadership(bool stale) {
  const raft::NodeId& leader = node_->leader();
  const auto term = static_cast<unsigned long long>(node_->term());
  if (leader != logged_leader_ || (!leader.empty() && node_->term() != logged_term_)) {
    logged_term_ = node_->term();
    if (leader == options_.node_id) {
      RL_LOG_INFO("membership %s: leader for term %llu", options_.node_id.c_str(), term);
    } else if (!leader.empty()) {
      RL_LOG_INFO("membership %s: %s leads (term %llu)", options_.node_id.c_str(), leader.c_str(),
                  term);
    } else if (!logged_leader_.empty()) {
      RL_LOG_INFO(
          "membership %s: no leader known (term %llu; %s led): changes wait for an "
          "election",
          options_.node_id.c_str(), term, logged_leader_.c_str());
    }
    logged_leader_ = leader;
  }
  if (stale != logged_stale_) {
    logged_stale_ = stale;
    if (stale) {
      RL_LOG_WARN(
          "membership %s: no contact with a leader for over %llu ms: this instance "
          "routes with the last ring it applied (epoch %llu), which may be out of date",
          options_.node_id.c_str(),
          static_cast<unsigned long long>(2 * uint64_t{options_.election_timeout_ms}),
          static_cast<unsigned long long>(std::max(published_epoch_, state_machine_.ring_epoch())));
    } else {
      RL_LOG_INFO("membership %s: in contact with a leader", options_.node_id.c_str());
    }
  }
}

void MembershipService::refresh_status() {
  uint64_t now = now_ms();
  ServiceStatus s;
  s.node_id = options_.node_id;
  s.role = role_name(*node_);
  s.leader = node_->leader();
  s.term = node_->term();
  s.commit_index = node_->commit_index();
  s.applied_index = state_machine_.applied_index();
  s.epoch = published_epoch_;
  // A leader counts as its own contact, so that one deposed by check-quorum becomes stale two
  // election timeouts after it stepped down, like any follower.
  if (node_->role() == raft::Role::kLeader) {
    last_leader_contact_ms_ = now;
    heard_leader_ = true;
    leader_commit_seen_ = std::max(leader_commit_seen_, node_->commit_index());
  }
  s.caught_up = caught_up_;
  s.heard_leader = heard_leader_;
  s.removed_at = removal_at();
  s.removed = s.removed_at != 0;
  if (recovered_ && s.removed_at != removal_logged_at_) {
    if (s.removed) {
      RL_LOG_ERROR(
          "membership %s: removed from the group by the configuration at index %llu; this "
          "instance gets no more membership changes and routes with its last ring (epoch %llu)",
          options_.node_id.c_str(), static_cast<unsigned long long>(s.removed_at),
          static_cast<unsigned long long>(std::max(published_epoch_, state_machine_.ring_epoch())));
    } else if (node_->removal_index() == 0) {
      RL_LOG_INFO("membership %s: in the group again (added back after the removal at index %llu)",
                  options_.node_id.c_str(), static_cast<unsigned long long>(removal_logged_at_));
    }
    if (s.removed || node_->removal_index() == 0) removal_logged_at_ = s.removed_at;
  }
  s.leader_commit = leader_commit_seen_;
  s.stale = node_->role() != raft::Role::kLeader &&
            now - last_leader_contact_ms_ > 2 * uint64_t{options_.election_timeout_ms};
  if (recovered_) log_leadership(s.stale);
  if (node_->vote() == options_.node_id && node_->term() != last_campaign_term_) {
    last_campaign_term_ = node_->term();
    ++elections_;
  }
  s.elections = elections_;
  s.peer_log_losses = peer_log_losses_;
  s.committed_conflicts = committed_conflicts_;
  s.diverged = committed_conflicts_ > 0;
  s.listen_address = listen_address_;
  s.failed = !failure_.empty();
  s.failure = failure_;
  s.transport = transport_->stats();
  s.founders = transport_->founders();
  s.foreign_peers = foreign_peers_;
  std::map<raft::NodeId, std::string> addresses = transport_->peers();
  std::set<raft::NodeId> ids;
  for (const raft::NodeId& id : node_->configuration().members())
    ids.insert(id);
  for (const auto& [id, address] : addresses)
    ids.insert(id);
  ids.erase(options_.node_id);
  const raft::Configuration& config = node_->configuration();
  for (const raft::NodeId& id : ids) {
    PeerStatus p;
    p.id = id;
    auto addr = addresses.find(id);
    if (addr != addresses.end()) p.address = addr->second;
    p.suffrage = config.is_voter(id) ? "voter" : config.is_learner(id) ? "learner" : "none";
    if (std::optional<raft::Progress> pr = node_->progress(id)) p.match_index = pr->match;
    auto heard = last_heard_ms_.find(id);
    if (heard != last_heard_ms_.end()) p.last_contact_ms = now - heard->second;
    p.connected = transport_->connected(id);
    s.peers.push_back(std::move(p));
  }
  std::lock_guard<std::mutex> g(mu_);
  status_ = std::move(s);
  status_refreshed_ = std::chrono::steady_clock::now();
}

}  // namespace ringleader::membership::service
