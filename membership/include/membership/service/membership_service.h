// MembershipService: the running Raft member of one ringleader instance.
//
// It owns a RaftNode, its FileStorage in ServiceOptions::data_dir, the membership state machine
// and a PeerTransport, all driven by one libuv loop on the service's own thread, so the data
// path never waits on Raft. Every committed change is applied locally and published as a new
// ring through the RingSink (epoch = Raft index of the last change applied).
//
// Driving the core (one RaftNode per service):
//   - a uv timer ticks the node every heartbeat_ms; election_ticks = election_timeout_ms /
//     heartbeat_ms (at least 2), heartbeat_ticks = 1;
//   - every Ready is handled completely and in order: hard state, snapshot and entries are
//     persisted (FileStorage fsyncs before persist() returns), then messages are sent, then a
//     leader's snapshot is restored, committed entries applied, the ring published, reads
//     answered; every `snapshot_every` applied entries the log is compacted to a snapshot.
//   - a storage failure stops the node (status().failed, every request fails): Raft must not
//     continue on a state it could not persist.
//
// Bootstrap and seeding:
//   - StartMode::kBootstrap with empty storage: the group's first configuration is the voters
//     in `peers` (every founding member must list the same ids). These founders identify the
//     group: they are recorded in data_dir and named in every transport Hello, and a peer
//     that names other founders is refused (ServiceStatus::foreign_peers). A node that joins
//     learns them from the group's first log entry, or from the leader's Hello when the
//     leader sends a snapshot instead. StartMode::kJoin with empty
//     storage: start with nothing and wait for a leader (add_peer on the group adds the node as
//     a learner); `peers` is then only an address book. With data in data_dir the mode does not
//     matter: the state is recovered from disk (snapshot + log).
//   - Seeding: a leader, once it has applied everything committed before its term, proposes one
//     Seed command (seed_params and every seed backend, applied all at once, so no instance
//     routes with part of the seed) — only when the applied state holds no backend, has default
//     ring parameters and this node has never applied a command (nor recovered a snapshot
//     holding one). The state machine refuses a Seed once it has backends, so two leaders that
//     both seed backends (the first seed not yet applied when leadership moved) seed once. A
//     seed the state would refuse is not proposed (and the server refuses it at start).
//
// Requests (propose, add_peer, promote_peer, remove_peer, read_barrier) are answered through
// `done`, exactly once:
//   - on the service thread when the service is running; the value is the Raft index at which
//     the change was applied locally (so the local ring already has it), or an error: not
//     leader and no leader known, an invalid command or change (e.g. duplicate backend), no
//     answer within request_timeout_ms, lost leadership, shutting down;
//   - on the calling thread, at once, with an error, when the service is stopped or stopping.
// A follower forwards proposals and membership changes to the leader over the transport; the
// leader answers once the entry is applied on the leader, and the follower answers its caller
// once it has applied that index itself. The leader refuses a command at once when the state
// it will meet refuses it: the applied state with every command its log holds after it
// applied too; when only the entries not yet committed make it refuse, the answer is an error
// to retry instead (they are lost if the leader is deposed first). A leader that has not yet
// committed an entry of its term (nor made its seeding decision) holds commands until it has,
// since its state may lack what was committed before.
//
// Threading: start(), stop() and the destructor on any thread but the service thread;
// propose/add_peer/promote_peer/remove_peer/read_barrier/set_blocked/status from any thread
// (including the service thread, i.e. from inside callbacks). The RingSink and every `done`
// run on the service thread and must not block it for long, and must not call stop().
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "membership/raft/raft_node.h"
#include "membership/state/command.h"
#include "membership/state/state_machine.h"
#include "membership/storage/file_storage.h"
#include "membership/transport/peer_transport.h"
#include "ring/backend.h"
#include "ring/params.h"
#include "ring/ring.h"

namespace ringleader::membership::service {

// How a node with empty storage starts (see the header comment).
enum class StartMode : uint8_t { kBootstrap, kJoin };

struct ServiceOptions {
  raft::NodeId node_id;
  // host:port peers connect to (membership.listen); port 0 picks a free port.
  std::string listen;
  // id -> peer address. kBootstrap: the founding voters, this node included. kJoin: where to
  // find the group (addresses of nodes that are not listed are learned from their Hellos).
  std::map<raft::NodeId, std::string> peers;
  StartMode start_mode = StartMode::kBootstrap;
  std::string data_dir;
  uint32_t election_timeout_ms = 1000;
  uint32_t heartbeat_ms = 100;
  std::string secret;
  // Seed of the state on the group's first bootstrap only (see the header comment).
  std::vector<ring::Backend> seed_backends;
  ring::RingParams seed_params;
  // Requests fail with a timeout after this long.
  uint32_t request_timeout_ms = 5000;
  // Compact the log into a snapshot every this many applied entries.
  uint64_t snapshot_every = 1000;
  // stop() waits at most this long for a leadership transfer; 0 = 2 election timeouts.
  uint32_t stop_transfer_timeout_ms = 0;
};

// One member of the configuration (or a known address), as this node sees it.
struct PeerStatus {
  std::string id;
  std::string address;   // empty when not known yet
  std::string suffrage;  // "voter", "learner" or "none" (known address, not a member)
  // Leader only: highest log index known replicated on the peer; 0 elsewhere.
  uint64_t match_index = 0;
  // Milliseconds since a frame from this peer arrived; nullopt when never.
  std::optional<uint64_t> last_contact_ms;
  bool connected = false;  // our outbound connection is up
};

struct ServiceStatus {
  std::string node_id;
  std::string role;    // "leader", "follower", "candidate" or "learner"
  std::string leader;  // empty when unknown
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t epoch = 0;  // epoch of the last ring published through the RingSink (0 = none yet)
  // Not a leader and no word from one for more than 2 election timeouts: the instance keeps
  // routing with its last ring, but that ring may be out of date.
  bool stale = false;
  // The membership thread has not refreshed this status for more than 2 election timeouts
  // (stuck: a stalled disk, a long ring build): everything here is that old, and `stale` is
  // set. `unresponsive_ms` is the age.
  bool unresponsive = false;
  uint64_t unresponsive_ms = 0;
  // Has caught up once since this process started: a read barrier through the leader
  // completed, so it applied everything committed when the barrier began. Until then its
  // ring is the one recovered from data_dir, possibly out of date. Once set it stays set for
  // the life of the process; `stale` covers losing the leader later.
  bool caught_up = false;
  bool heard_leader = false;  // a leader's append or snapshot arrived since start, or it leads
  // This node was removed from the group (the removal is committed here): it gets no more
  // changes, and keeps routing with its last ring. `removed_at` is the removal's log index.
  bool removed = false;
  uint64_t removed_at = 0;
  // Highest commit index a leader announced since start (0 before any word from one).
  uint64_t leader_commit = 0;
  std::vector<PeerStatus> peers;  // this node excluded
  uint64_t elections = 0;         // elections this node started (terms it campaigned in)
  // Times, while leading, a peer was found to have lost entries it had acknowledged.
  uint64_t peer_log_losses = 0;
  // A leader's append disagreed with an entry committed here (raft::CommittedConflict, at
  // most one per term): this instance's log is not the group's, it cannot follow the group's
  // changes and routes with its last ring. Set for the life of the process.
  bool diverged = false;
  uint64_t committed_conflicts = 0;
  std::string listen_address;
  // The voters the group was bootstrapped with (sorted); empty until this node knows them
  // (a node that joined learns them from the leader).
  std::vector<std::string> founders;
  // Peers whose connections were refused because their group has other founders, with the
  // founders they named: founding members started with different membership.peers, or two
  // groups under one secret. The first MembershipService::kMaxForeignPeers ids refused.
  std::map<std::string, std::vector<std::string>> foreign_peers;
  bool failed = false;  // storage failed; the node stopped
  std::string failure;
  transport::TransportStats transport;
};

class MembershipService {
 public:
  // Most peers of other groups listed in ServiceStatus::foreign_peers: the ids come from
  // whatever connects.
  static constexpr size_t kMaxForeignPeers = 16;
  // Answer to a request: the applied index, or why not.
  using Done = std::function<void(Result<uint64_t>)>;
  // Receives every new ring (epoch = index of the change that made it), on the service thread,
  // in epoch order.
  // Called once at start when the recovered state has backends, then after every batch of
  // applied entries. Not called while the state has no backend (no ring can be built).
  using RingSink = std::function<void(ring::RingSnapshot)>;

  // Opens the storage, recovers or bootstraps the state, binds membership.listen and starts the
  // thread. Fails (without starting anything) on bad options, storage errors and bind errors.
  static Result<std::unique_ptr<MembershipService>> start(ServiceOptions options, RingSink sink);
  // Calls stop().
  ~MembershipService();
  MembershipService(const MembershipService&) = delete;
  MembershipService& operator=(const MembershipService&) = delete;

  // Proposes a membership command (see state/command.h).
  void propose(state::Command command, Done done);
  // Adds `id` (listening on `address`) as a learner; promote it once it has caught up.
  void add_peer(raft::NodeId id, std::string address, Done done);
  // Turns learner `id` into a voter; waits (up to the request timeout) until it has caught up.
  void promote_peer(raft::NodeId id, Done done);
  // Removes voter or learner `id` from the group.
  void remove_peer(raft::NodeId id, Done done);
  // Linearizable read barrier (ReadIndex): `done` gets an index the leader had committed when
  // the barrier was issued, once the local state has applied it.
  void read_barrier(Done done);

  // A consistent snapshot of the node's state, refreshed after every event on the service
  // thread.
  ServiceStatus status() const;
  // The address peers reach this node at (the bound port when options asked for port 0).
  const std::string& listen_address() const { return listen_address_; }
  const raft::NodeId& node_id() const { return options_.node_id; }

  // Fault hooks, forwarded to the transport: drop everything to and from `peers`, or only what
  // this node sends to them. An empty set heals. They block until in place (after the
  // requests posted before them ran, before any posted after), so they must not be called
  // holding what a `done` callback or the sink takes; on a stopping service they return
  // without effect.
  void set_blocked(std::set<raft::NodeId> peers);
  void set_blocked_outgoing(std::set<raft::NodeId> peers);

  // Graceful stop: a leader first hands leadership to the most up-to-date voter and waits for
  // it (at most stop_transfer_timeout_ms); then pending requests fail with "shutting down",
  // every handle is closed and the thread joined. Idempotent; must not be called from the
  // service thread.
  void stop();

 private:
  struct Pending {
    Done done;
    uint64_t deadline_ms = 0;
  };
  struct PendingProposal {
    raft::Term term = 0;
    Done done;
    uint64_t deadline_ms = 0;
  };
  // A request forwarded to `leader`, which answers it.
  struct ForwardedRequest {
    Done done;
    uint64_t deadline_ms = 0;
    raft::NodeId leader;
  };
  // A command that reached the leader before it caught up (see submit_command).
  struct WaitingCommand {
    std::string encoded;
    Done done;
    uint64_t deadline_ms = 0;
  };
  struct PendingChange {
    raft::ConfigChange change;
    Done done;
    uint64_t deadline_ms = 0;
    std::string waiting_for;  // why the core did not take it at the last try
  };

  MembershipService(ServiceOptions options, RingSink sink);

  // ---- any thread ----
  // Queues `task` for the service thread; false (task not queued) once stopping.
  // Sends `request` (its id assigned here) to the leader; `done` runs when the leader answers,
  // at once when no leader is known. Service thread only.
  void forward_to_leader(transport::ForwardRequest request, Done done, uint64_t deadline_ms);
  // Runs submit_change() on the service thread; `done` fails at once if stopped.
  void post_change(raft::ConfigChange change, std::string address, Done done);
  bool post(std::function<void()> task);
  // Runs `task` on the service thread and returns once it ran (at once on that thread;
  // without running it when the service is stopping).
  void run_on_service_thread(std::function<void()> task);

  // ---- service thread ----
  void run_tasks();
  void on_tick();
  void on_message(raft::Message message);
  void on_forward_request(const raft::NodeId& from, transport::ForwardRequest request);
  void on_forward_response(const raft::NodeId& from, transport::ForwardResponse response);
  void process_ready();
  void apply_entry(const raft::Entry& entry);
  void publish_ring();
  void maybe_compact();
  void maybe_seed();
  void submit_command(std::string encoded, Done done, uint64_t deadline_ms);
  // Whether this leader has committed an entry of its term and made its seeding decision,
  // so its state holds everything earlier leaders committed.
  bool leader_caught_up() const;
  // Submits the commands held in waiting_commands_ once the leader caught up (or forwards
  // them, when this node is no longer the leader).
  void submit_waiting_commands();
  // The applied state with every command in the log after it applied too: what a new
  // command will be applied to if this leader commits what it holds.
  state::MembershipState projected_state() const;
  void submit_change(raft::ConfigChange change, std::string address, Done done,
                     uint64_t deadline_ms);
  // Refused when `address` is this node's or another member's than `id`.
  Status address_free_for(const raft::NodeId& id, const std::string& address) const;
  // Leader: what the state machine lets by (its apply must not change with how addresses are
  // read, nor refuse what a removal leads to) but an admin change must not do to `projected`
  // (the applied state, or it followed by this leader's log): add a backend at another
  // spelling of an address in use, or set more replicas than there are backends.
  static Status admissible(const state::MembershipState& projected, const state::Command& command);
  void try_pending_changes();
  void wait_applied(raft::Index index, Done done, uint64_t deadline_ms);
  void resolve_applied_waiters();
  void expire_requests();
  void begin_shutdown();
  void finish_shutdown();
  void fail_storage(const std::string& what);
  // Records the group's founders once known (nothing when `founders` is empty): durably, then
  // in the transport, so that every later Hello names them and every later one is checked.
  // Whether `id` belongs to the group as this instance knows it: a member of its
  // configuration, a peer its file lists, one it replicates to or is adding. (A joining
  // instance knows only its file's peers until it hears from the group: what others send it
  // is still delivered, and a leader its file does not list is in its configuration as soon
  // as the first append or snapshot arrives.)
  bool in_group(const raft::NodeId& id) const;
  void learn_founders(std::vector<raft::NodeId> founders, const char* source);
  void fail_all(const std::string& why);
  void refresh_status();
  // Logs who leads when that changes (elected, another leader, none known), and when this
  // instance goes stale or hears a leader again: what an operator reads after a partition.
  void log_leadership(bool stale);
  uint64_t now_ms() const { return uv_now(&loop_); }
  uint64_t deadline() const { return now_ms() + options_.request_timeout_ms; }
  // Gives the transport the addresses the configuration records for peers that this
  // instance's membership.peers does not list (peers added at runtime).
  void sync_recorded_addresses();
  // Keeps the transport's peers those of the committed configuration: drops the peers that
  // have left the group (members of an earlier configuration or listed in membership.peers,
  // no longer told of their removal: the leader stops after four election timeouts; not the
  // subject of a change waiting to be proposed), and contacts again a member it lacks. Nothing
  // happens while this node knows no configuration (a joining node keeps the peers it was
  // given), or while the latest one is not committed.
  void forget_departed_peers();
  // The index of the configuration that removed this instance (RaftNode::removal_index), or 0
  // while a leader heard within an election timeout has committed entries this log lacks: a
  // node added again replays its earlier removal before its return, and is no removed node.
  raft::Index removal_at() const;
  // For a leader that neither the file nor the configuration this instance holds lists
  // (joining, or catching up): takes the address its Hello gave (PeerTransport::
  // learn_address_of), dropping one taken for an earlier leader that no longer belongs.
  void learn_leader_address(const raft::NodeId& leader);
  // Until this node has caught up (ServiceStatus::caught_up), starts a read barrier through
  // the leader when none is in flight and a leader is known.
  void check_caught_up();
  // Fails forwarded requests whose leader is no longer the leader this node follows: their
  // outcome is unknown, and waiting out the deadline would learn nothing more.
  void fail_forwarded_to_former_leaders();

  const ServiceOptions options_;
  const RingSink sink_;
  std::string listen_address_;

  // ---- owned by the service thread (set up in start() before the thread exists) ----
  uv_loop_t loop_{};
  uv_timer_t tick_timer_{};
  uv_async_t wake_{};
  std::thread thread_;
  std::atomic<std::thread::id> service_thread_id_{};  // set by the thread itself
  std::unique_ptr<storage::FileStorage> storage_;
  std::unique_ptr<raft::RaftNode> node_;
  // Applied state; applied_index() trails node_->commit_index() only inside process_ready().
  state::MembershipStateMachine state_machine_;
  std::unique_ptr<transport::PeerTransport> transport_;
  // Epoch of the last ring handed to the sink; 0 before the first.
  uint64_t published_epoch_ = 0;
  // Some command was ever applied here (or recovered in a non-empty snapshot); see seeding.
  bool seen_command_ = false;
  // Term in which this node last considered seeding as leader (at most once per term).
  raft::Term seed_checked_term_ = 0;
  // Local proposals by log index, waiting to be applied (leader, or formerly leader).
  std::map<raft::Index, PendingProposal> proposals_;
  // Membership changes waiting until the leader may propose them (one config change at a time).
  std::vector<PendingChange> pending_changes_;
  // Commands held while this leader catches up, in arrival order.
  std::vector<WaitingCommand> waiting_commands_;
  // Proposals forwarded to the leader, by request id.
  std::map<uint64_t, ForwardedRequest> forwarded_;
  // Read barriers waiting for their ReadState, by request id.
  std::map<uint64_t, Pending> reads_;
  // Callers waiting until the applied index reaches the key.
  std::multimap<raft::Index, Pending> applied_waiters_;
  uint64_t next_request_id_ = 1;
  // When a message from the current leader last arrived (or the service started).
  uint64_t last_leader_contact_ms_ = 0;
  std::map<raft::NodeId, uint64_t> last_heard_ms_;  // of peers in_group() only: ids are made up
  // Highest commit index announced by a leader since start (appends, snapshots, the
  // catch-up barrier); a leader's own commit index counts once it leads.
  uint64_t leader_commit_seen_ = 0;
  bool heard_leader_ = false;
  bool caught_up_ = false;         // see ServiceStatus::caught_up
  bool catch_up_pending_ = false;  // a catch-up read barrier is in flight
  // The removal last logged (removal_at()); 0 before any, or once a member again.
  raft::Index removal_logged_at_ = 0;
  // The leader whose address this instance took while joining (learn_leader_address).
  raft::NodeId learned_leader_;
  // The recovered log has been applied (on the service thread, at start): only then does the
  // state say which ring this instance routes with.
  bool recovered_ = false;
  raft::Term last_campaign_term_ = 0;
  uint64_t elections_ = 0;
  // What the log last said of the leader and of staleness (log_leadership()).
  raft::NodeId logged_leader_;
  raft::Term logged_term_ = 0;
  bool logged_stale_ = false;
  uint64_t peer_log_losses_ = 0;
  uint64_t committed_conflicts_ = 0;
  std::map<raft::NodeId, std::vector<raft::NodeId>> foreign_peers_;  // see ServiceStatus
  std::map<raft::NodeId, std::string> synced_addresses_;  // see sync_recorded_addresses()
  std::set<raft::NodeId> departed_;      // peers forget_departed_peers() dropped (said once each)
  std::set<raft::NodeId> ever_members_;  // members of every committed configuration seen
  // Shutdown: the transfer phase runs until the node is no longer leader or this deadline.
  bool shutting_down_ = false;
  uint64_t shutdown_deadline_ms_ = 0;
  bool closed_ = false;
  std::string failure_;

  // ---- shared between threads ----
  mutable std::mutex mu_;
  // Guarded by mu_: tasks for the service thread, and whether new ones are accepted.
  std::vector<std::function<void()>> tasks_;
  bool accepting_ = true;
  bool stop_requested_ = false;
  // Guarded by mu_: written by refresh_status() on the service thread.
  ServiceStatus status_;
  std::chrono::steady_clock::time_point status_refreshed_;  // under mu_, with status_
  // Guarded by stop_mu_: serialises stop() callers.
  std::mutex stop_mu_;
  bool stopped_ = false;
};

}  // namespace ringleader::membership::service
