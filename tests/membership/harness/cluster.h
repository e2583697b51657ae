// Cluster: RaftNodes over a simulated network, driven deterministically. Shared by the focused
// unit tests (no faults, explicit partitions) and the randomized simulator.
//
// Each node has a MemoryStorage that survives crash(); the driver handles every Ready in the
// documented order (persist, then send, then apply). The replicated state machine is a hash
// chain over the applied entries, so every node's applied sequence can be compared with the
// one global sequence. After every step (a tick, a delivered message, a client call) the
// cluster checks the node's own invariants (InvariantTracker) and the cluster-wide ones
// (ClusterChecker); the first violation is kept in violation().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster_checker.h"
#include "membership/raft/invariant_tracker.h"
#include "membership/raft/raft_node.h"
#include "membership/storage/memory_storage.h"

namespace ringleader::membership::testing {

using raft::Index;
using raft::NodeId;
using raft::Term;

struct ClusterOptions {
  // Start from bootstrap_state() with these voters.
  std::vector<NodeId> founders = {"p1", "p2", "p3"};
  // Start empty; they join when a leader adds them.
  std::vector<NodeId> spares;
  uint64_t seed = 1;
  uint32_t election_ticks = 10;
  uint32_t heartbeat_ticks = 2;
  uint32_t max_entries_per_append = 16;
  uint32_t max_uncommitted_entries = 64;
  raft::PreVote pre_vote = raft::PreVote::kOn;
  raft::CheckQuorum check_quorum = raft::CheckQuorum::kOn;
};

// Network and crash faults, in per-mille. Delays are in ticks (>= 1).
struct Faults {
  uint32_t loss = 0;
  uint32_t duplicate = 0;
  uint32_t min_delay = 1;
  uint32_t max_delay = 1;
  // Chance per Ready that the node crashes halfway through persisting it (torn write).
  uint32_t torn_crash = 0;
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();

  // ---- time ---------------------------------------------------------------------------------
  // Ticks every up node once, then delivers every message due by now.
  void tick();
  void run(uint32_t ticks);
  // Ticks until `done` holds (checked before each tick); false after max_ticks.
  bool run_until(const std::function<bool()>& done, uint32_t max_ticks);
  // Delivers every queued message (and the ones they cause), ignoring delays, without ticking.
  void settle();
  uint64_t now() const { return now_; }

  // ---- nodes --------------------------------------------------------------------------------
  const std::vector<NodeId>& ids() const { return ids_; }
  bool is_up(const NodeId& id) const;
  // Precondition: is_up(id).
  const raft::RaftNode& node(const NodeId& id) const;
  // The up leader with the highest term, if any.
  std::optional<NodeId> leader() const;
  // Index applied to the node's state machine.
  Index applied_index(const NodeId& id) const;
  // Commands of the global applied sequence, in order (no-ops and config entries left out).
  std::vector<std::string> committed_commands() const;
  const std::vector<raft::ReadState>& reads(const NodeId& id) const;
  const storage::MemoryStorage& storage(const NodeId& id) const;

  // ---- client calls (each is a step: the node's Ready is handled and checked) ---------------
  Result<Index> propose(const NodeId& id, std::string command);
  Result<Index> change_config(const NodeId& id, const raft::ConfigChange& change);
  Status transfer(const NodeId& id, std::optional<NodeId> target);
  void read(const NodeId& id, uint64_t request_id);
  // Compacts the node's log up to its applied index.
  Status compact(const NodeId& id);
  // Gives the node an arbitrary message (for tests of stale or odd messages).
  void deliver(const raft::Message& message);

  // ---- faults -------------------------------------------------------------------------------
  void set_faults(const Faults& faults) { faults_ = faults; }
  // Cuts `id` off from everyone, both ways.
  void isolate(const NodeId& id);
  // Only nodes in the same group can talk.
  void partition(const std::vector<std::vector<NodeId>>& groups);
  // Drops messages from -> to (one way).
  void block(const NodeId& from, const NodeId& to);
  void heal();
  // The node's next Ready that persists anything crashes it inside persist(): the steps before
  // `crash_at` land, and `entries_written` entries when crash_at is kEntries.
  void crash_during_next_persist(const NodeId& id, storage::PersistStep crash_at,
                                 size_t entries_written);
  // The node stops; unsent messages and unpersisted state are lost, storage survives.
  void crash(const NodeId& id);
  void restart(const NodeId& id);

  // ---- checking -----------------------------------------------------------------------------
  // The first invariant violation seen, or empty.
  const std::string& violation() const { return violation_; }
  // Called with every message just before it is delivered.
  void set_observer(std::function<void(const raft::Message&)> observer) {
    observer_ = std::move(observer);
  }
  // Prints every step to stderr.
  void set_trace(bool on) { trace_ = on; }
  // Counters for test output.
  uint64_t messages_delivered() const { return delivered_; }
  uint64_t restarts() const { return restarts_; }

 private:
  struct SimNode;
  struct InFlight {
    uint64_t at;
    uint64_t seq;
    raft::Message message;
  };

  SimNode& sim(const NodeId& id);
  const SimNode& sim(const NodeId& id) const;
  uint64_t random();
  uint32_t random_below(uint32_t n) { return static_cast<uint32_t>(random() % n); }
  bool chance(uint32_t per_mille) { return per_mille > 0 && random_below(1000) < per_mille; }
  void start_node(SimNode& s);
  // Handles every Ready the node has, then checks invariants.
  void drive(SimNode& s);
  void handle_ready(SimNode& s, raft::Ready ready);
  void persist_torn(SimNode& s, const raft::Ready& ready, storage::PersistStep crash_at,
                    size_t entries_written);
  void send(raft::Message message);
  void deliver_one(InFlight item);
  bool blocked(const NodeId& from, const NodeId& to) const;
  void fail(const std::string& what);
  void trace(const std::string& line) const;

  ClusterOptions options_;
  std::vector<NodeId> ids_;
  std::map<NodeId, std::unique_ptr<SimNode>> nodes_;
  uint64_t rng_state_;
  uint64_t now_ = 0;
  uint64_t next_seq_ = 0;
  std::vector<InFlight> queue_;  // min-heap on (at, seq)
  std::set<std::pair<NodeId, NodeId>> blocked_;
  Faults faults_;
  ClusterChecker checker_;
  std::string violation_;
  bool trace_ = false;
  std::function<void(const raft::Message&)> observer_;
  uint64_t delivered_ = 0;
  uint64_t restarts_ = 0;
};

}  // namespace ringleader::membership::testing
