#include "cluster.h"

#include <algorithm>
#include <cstdio>

#include "common/assert.h"

namespace ringleader::membership::testing {
namespace {

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool later(const auto& a, const auto& b) {
  return a.at != b.at ? a.at > b.at : a.seq > b.seq;
}

std::string describe(const raft::Message& m) {
  std::string s = m.from + "->" + m.to + " t" + std::to_string(m.term) + " " +
                  std::string(raft::payload_name(m.payload));
  if (const auto* a = std::get_if<raft::AppendRequest>(&m.payload)) {
    s += " prev=" + std::to_string(a->prev_index) + "/" + std::to_string(a->prev_term) +
         " n=" + std::to_string(a->entries.size()) + " commit=" + std::to_string(a->leader_commit);
  } else if (const auto* r = std::get_if<raft::AppendResponse>(&m.payload)) {
    s += r->verdict == raft::Verdict::kGranted
             ? " ok match=" + std::to_string(r->match_index)
             : " reject prev=" + std::to_string(r->rejected_prev_index) +
                   " hint=" + std::to_string(r->conflict_index) + "/" +
                   std::to_string(r->conflict_term);
  } else if (const auto* v = std::get_if<raft::VoteRequest>(&m.payload)) {
    s += std::string(v->kind == raft::VoteKind::kPreVote ? " pre" : "") +
         " last=" + std::to_string(v->last_log_index) + "/" + std::to_string(v->last_log_term);
  } else if (const auto* vr = std::get_if<raft::VoteResponse>(&m.payload)) {
    s += std::string(vr->kind == raft::VoteKind::kPreVote ? " pre" : "") +
         (vr->verdict == raft::Verdict::kGranted ? " granted" : " rejected");
  } else if (const auto* sn = std::get_if<raft::SnapshotRequest>(&m.payload)) {
    s += " index=" + std::to_string(sn->snapshot.meta.index);
  }
  return s;
}

}  // namespace

struct Cluster::SimNode {
  NodeId id;
  uint64_t number = 0;
  uint64_t incarnation = 0;
  std::unique_ptr<raft::RaftNode> raft;  // null while down
  storage::MemoryStorage storage;
  std::optional<raft::InvariantTracker> tracker;
  // The state machine: a hash chain over the applied entries.
  Index applied = 0;
  uint64_t chain = 0;
  std::vector<raft::ReadState> reads;
  // Read request id -> highest committed index when it was issued.
  std::map<uint64_t, Index> read_started;
  // A crash planned for the next persist: (step it happens in, entries written by then).
  std::optional<std::pair<storage::PersistStep, size_t>> scheduled_crash;
};

Cluster::Cluster(ClusterOptions options)
    : options_(std::move(options)), rng_state_(options_.seed ^ 0x5eed5eed5eedULL) {
  raft::Configuration initial;
  initial.voters = options_.founders;
  std::sort(initial.voters.begin(), initial.voters.end());
  uint64_t number = 0;
  for (const NodeId& id : options_.founders) {
    auto s = std::make_unique<SimNode>();
    s->id = id;
    s->number = number++;
    s->storage = storage::MemoryStorage(raft::bootstrap_state(initial));
    ids_.push_back(id);
    nodes_.emplace(id, std::move(s));
  }
  for (const NodeId& id : options_.spares) {
    auto s = std::make_unique<SimNode>();
    s->id = id;
    s->number = number++;
    ids_.push_back(id);
    nodes_.emplace(id, std::move(s));
  }
  for (const NodeId& id : ids_)
    start_node(sim(id));
}

Cluster::~Cluster() = default;

Cluster::SimNode& Cluster::sim(const NodeId& id) {
  auto it = nodes_.find(id);
  RL_CHECK(it != nodes_.end());
  return *it->second;
}

const Cluster::SimNode& Cluster::sim(const NodeId& id) const {
  auto it = nodes_.find(id);
  RL_CHECK(it != nodes_.end());
  return *it->second;
}

uint64_t Cluster::random() {
  return splitmix(rng_state_);
}

void Cluster::fail(const std::string& what) {
  if (!violation_.empty()) return;
  violation_ = "tick " + std::to_string(now_) + ": " + what;
  trace("VIOLATION " + violation_);
}

void Cluster::trace(const std::string& line) const {
  if (trace_)
    std::fprintf(stderr, "[%6llu] %s\n", static_cast<unsigned long long>(now_), line.c_str());
}

// ---- nodes ------------------------------------------------------------------------------------

void Cluster::start_node(SimNode& s) {
  Result<raft::PersistentState> state = s.storage.load();
  RL_CHECK(state.is_ok());
  raft::RaftOptions o;
  o.id = s.id;
  o.election_ticks = options_.election_ticks;
  o.heartbeat_ticks = options_.heartbeat_ticks;
  o.max_entries_per_append = options_.max_entries_per_append;
  o.max_uncommitted_entries = options_.max_uncommitted_entries;
  o.pre_vote = options_.pre_vote;
  o.check_quorum = options_.check_quorum;
  uint64_t seed_state = options_.seed * 1000003 + s.number * 7919 + s.incarnation;
  o.random_seed = splitmix(seed_state);
  s.applied = 0;
  s.chain = 0;
  if (state->snapshot) {
    s.applied = state->snapshot->meta.index;
    s.chain = s.applied == 0 ? 0 : std::stoull(state->snapshot->data);
    if (Status st = checker_.on_restore(s.id, s.applied, state->snapshot->meta.term, s.chain);
        !st) {
      fail(st.message());
    }
  }
  Result<std::unique_ptr<raft::RaftNode>> node =
      raft::RaftNode::create(o, std::move(state).value());
  if (!node) {
    fail(s.id + " cannot restart: " + node.error());
    return;
  }
  s.raft = std::move(node).value();
  s.tracker.emplace();
  trace(s.id + " starts (incarnation " + std::to_string(s.incarnation) + ")");
  drive(s);
}

void Cluster::crash(const NodeId& id) {
  SimNode& s = sim(id);
  if (!s.raft) return;
  trace(id + " crashes");
  s.raft.reset();
  s.tracker.reset();
  checker_.on_crash(id);
}

void Cluster::restart(const NodeId& id) {
  SimNode& s = sim(id);
  if (s.raft) return;
  ++s.incarnation;
  ++restarts_;
  start_node(s);
}

bool Cluster::is_up(const NodeId& id) const {
  return sim(id).raft != nullptr;
}

const raft::RaftNode& Cluster::node(const NodeId& id) const {
  const SimNode& s = sim(id);
  RL_CHECK(s.raft != nullptr);
  return *s.raft;
}

std::optional<NodeId> Cluster::leader() const {
  std::optional<NodeId> best;
  Term best_term = 0;
  for (const NodeId& id : ids_) {
    const SimNode& s = sim(id);
    if (s.raft && s.raft->role() == raft::Role::kLeader && (!best || s.raft->term() > best_term)) {
      best = id;
      best_term = s.raft->term();
    }
  }
  return best;
}

Index Cluster::applied_index(const NodeId& id) const {
  return sim(id).applied;
}

std::vector<std::string> Cluster::committed_commands() const {
  std::vector<std::string> out;
  for (const ClusterChecker::Applied& a : checker_.sequence()) {
    if (a.type == raft::EntryType::kCommand) out.push_back(a.data);
  }
  return out;
}

const std::vector<raft::ReadState>& Cluster::reads(const NodeId& id) const {
  return sim(id).reads;
}

const storage::MemoryStorage& Cluster::storage(const NodeId& id) const {
  return sim(id).storage;
}

// ---- driving ----------------------------------------------------------------------------------

void Cluster::drive(SimNode& s) {
  while (s.raft && s.raft->has_ready()) {
    handle_ready(s, s.raft->take_ready());
  }
  if (!s.raft) return;
  if (Status st = s.tracker->check(*s.raft); !st) fail(st.message());
  if (Status st = checker_.after_step(*s.raft); !st) fail(st.message());
}

void Cluster::persist_torn(SimNode& s, const raft::Ready& r, storage::PersistStep crash_at,
                           size_t entries_written) {
  size_t written = 0;
  if (crash_at == storage::PersistStep::kEntries) {
    written = std::min(entries_written, r.entries.size());
  } else if (crash_at > storage::PersistStep::kEntries) {
    written = r.entries.size();
  }
  std::span<const raft::Entry> landed(r.entries.data(), written);
  if (Status st = checker_.on_persist(*s.raft, landed); !st) fail(st.message());
  trace(s.id + " crashes while persisting (step " + std::to_string(static_cast<int>(crash_at)) +
        ", " + std::to_string(written) + "/" + std::to_string(r.entries.size()) + " entries)");
  Status st = s.storage.persist_interrupted(storage::PersistBatch::of(r), crash_at, written);
  RL_CHECK(st.is_ok());
}

void Cluster::crash_during_next_persist(const NodeId& id, storage::PersistStep crash_at,
                                        size_t entries_written) {
  sim(id).scheduled_crash = std::make_pair(crash_at, entries_written);
}

void Cluster::handle_ready(SimNode& s, raft::Ready r) {
  bool persists = r.hard_state || r.snapshot || !r.entries.empty();
  if (persists && (s.scheduled_crash || chance(faults_.torn_crash))) {
    if (!s.scheduled_crash) {
      // Crash inside one of persist's steps; inside the entries step, after a random prefix.
      s.scheduled_crash = std::make_pair(
          static_cast<storage::PersistStep>(
              random_below(static_cast<uint32_t>(storage::PersistStep::kDone))),
          static_cast<size_t>(random_below(static_cast<uint32_t>(r.entries.size() + 1))));
    }
    persist_torn(s, r, s.scheduled_crash->first, s.scheduled_crash->second);
    s.scheduled_crash.reset();
    crash(s.id);
    return;
  }
  if (Status st = checker_.on_persist(*s.raft, r.entries); !st) fail(st.message());
  if (Status st = s.storage.persist(storage::PersistBatch::of(r)); !st) {
    fail(s.id + " persist failed: " + st.message());
    return;
  }
  for (raft::Message& m : r.messages)
    send(std::move(m));
  // Storage here never loses what it persisted, so no leader can contradict a committed entry.
  for (const raft::CommittedConflict& c : r.committed_conflicts) {
    fail(s.id + " reports leader " + c.leader + " (term " + std::to_string(c.leader_term) +
         ") contradicting committed entry " + std::to_string(c.index));
  }
  if (r.snapshot && r.snapshot_origin == raft::SnapshotOrigin::kFromLeader) {
    s.applied = r.snapshot->meta.index;
    s.chain = std::stoull(r.snapshot->data);
    trace(s.id + " installs snapshot at " + std::to_string(s.applied));
    if (Status st = checker_.on_restore(s.id, s.applied, r.snapshot->meta.term, s.chain); !st) {
      fail(st.message());
    }
  }
  for (const raft::Entry& e : r.committed_entries) {
    if (e.index != s.applied + 1) {
      fail(s.id + " got entry " + std::to_string(e.index) + " to apply after " +
           std::to_string(s.applied));
      return;
    }
    s.chain = chain_hash(s.chain, e);
    s.applied = e.index;
    if (Status st = checker_.on_apply(s.id, e, s.chain); !st) fail(st.message());
  }
  for (const raft::ReadState& rs : r.reads) {
    auto it = s.read_started.find(rs.request_id);
    Index started = it == s.read_started.end() ? 0 : it->second;
    if (Status st = checker_.on_read(s.id, rs, started); !st) fail(st.message());
    s.reads.push_back(rs);
  }
}

// ---- network ----------------------------------------------------------------------------------

bool Cluster::blocked(const NodeId& from, const NodeId& to) const {
  return blocked_.count({from, to}) != 0;
}

void Cluster::send(raft::Message message) {
  if (blocked(message.from, message.to) || chance(faults_.loss)) {
    trace("drop " + describe(message));
    return;
  }
  uint32_t spread = faults_.max_delay - faults_.min_delay + 1;
  int copies = chance(faults_.duplicate) ? 2 : 1;
  for (int c = 0; c < copies; ++c) {
    uint64_t at = now_ + faults_.min_delay + random_below(spread);
    queue_.push_back(InFlight{at, next_seq_++, c + 1 < copies ? message : std::move(message)});
    std::push_heap(queue_.begin(), queue_.end(),
                   [](const auto& a, const auto& b) { return later(a, b); });
  }
}

void Cluster::deliver_one(InFlight item) {
  raft::Message& m = item.message;
  auto it = nodes_.find(m.to);
  if (it == nodes_.end() || !it->second->raft || blocked(m.from, m.to)) {
    trace("lost " + describe(m));
    return;
  }
  ++delivered_;
  trace(describe(m));
  if (observer_) observer_(m);
  SimNode& s = *it->second;
  s.raft->step(m);
  drive(s);
}

void Cluster::tick() {
  if (!violation_.empty()) return;
  ++now_;
  for (const NodeId& id : ids_) {
    SimNode& s = sim(id);
    if (!s.raft) continue;
    raft::Role before = s.raft->role();
    s.raft->tick();
    if (trace_ && s.raft->role() != before) {
      trace(id + " becomes " + std::string(raft::to_string(s.raft->role())) + " in term " +
            std::to_string(s.raft->term()));
    }
    drive(s);
  }
  auto cmp = [](const auto& a, const auto& b) { return later(a, b); };
  while (!queue_.empty() && queue_.front().at <= now_ && violation_.empty()) {
    std::pop_heap(queue_.begin(), queue_.end(), cmp);
    InFlight item = std::move(queue_.back());
    queue_.pop_back();
    deliver_one(std::move(item));
  }
}

void Cluster::run(uint32_t ticks) {
  for (uint32_t i = 0; i < ticks && violation_.empty(); ++i)
    tick();
}

bool Cluster::run_until(const std::function<bool()>& done, uint32_t max_ticks) {
  for (uint32_t i = 0; i < max_ticks; ++i) {
    if (done()) return true;
    if (!violation_.empty()) return false;
    tick();
  }
  return done();
}

void Cluster::settle() {
  auto cmp = [](const auto& a, const auto& b) { return later(a, b); };
  for (int n = 0; !queue_.empty() && violation_.empty(); ++n) {
    if (n > 1000000) {
      fail("settle(): messages keep flowing");
      return;
    }
    std::pop_heap(queue_.begin(), queue_.end(), cmp);
    InFlight item = std::move(queue_.back());
    queue_.pop_back();
    deliver_one(std::move(item));
  }
}

// ---- client calls -----------------------------------------------------------------------------

Result<Index> Cluster::propose(const NodeId& id, std::string command) {
  SimNode& s = sim(id);
  if (!s.raft) return Status::error(id + " is down");
  Result<Index> r = s.raft->propose(std::move(command));
  drive(s);
  return r;
}

Result<Index> Cluster::change_config(const NodeId& id, const raft::ConfigChange& change) {
  SimNode& s = sim(id);
  if (!s.raft) return Status::error(id + " is down");
  Result<Index> r = s.raft->propose_config_change(change);
  trace(id + " config " + std::string(raft::to_string(change.type)) + " " + change.node + ": " +
        (r ? "index " + std::to_string(*r) : r.error()));
  drive(s);
  return r;
}

Status Cluster::transfer(const NodeId& id, std::optional<NodeId> target) {
  SimNode& s = sim(id);
  if (!s.raft) return Status::error(id + " is down");
  Status st = s.raft->transfer_leadership(std::move(target));
  drive(s);
  return st;
}

void Cluster::read(const NodeId& id, uint64_t request_id) {
  SimNode& s = sim(id);
  if (!s.raft) return;
  s.read_started[request_id] = checker_.highest_committed();
  s.raft->read_index(request_id);
  drive(s);
}

Status Cluster::compact(const NodeId& id) {
  SimNode& s = sim(id);
  if (!s.raft) return Status::error(id + " is down");
  Status st = s.raft->compact(s.applied, std::to_string(s.chain));
  drive(s);
  return st;
}

void Cluster::deliver(const raft::Message& message) {
  deliver_one(InFlight{now_, next_seq_++, message});
}

// ---- faults -----------------------------------------------------------------------------------

void Cluster::isolate(const NodeId& id) {
  for (const NodeId& other : ids_) {
    if (other == id) continue;
    blocked_.insert({id, other});
    blocked_.insert({other, id});
  }
}

void Cluster::partition(const std::vector<std::vector<NodeId>>& groups) {
  std::map<NodeId, size_t> group_of;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const NodeId& id : groups[g])
      group_of[id] = g;
  }
  for (const NodeId& a : ids_) {
    for (const NodeId& b : ids_) {
      if (a != b && group_of.count(a) && group_of.count(b) && group_of[a] != group_of[b]) {
        blocked_.insert({a, b});
      }
    }
  }
}

void Cluster::block(const NodeId& from, const NodeId& to) {
  blocked_.insert({from, to});
}

void Cluster::heal() {
  blocked_.clear();
}

}  // namespace ringleader::membership::testing
