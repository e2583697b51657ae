// The Raft simulator: for each seed, a cluster of 3 to 5 nodes runs under random faults —
// message loss, duplication, reordering and delay; symmetric and one-way partitions; crashes
// and restarts (some in the middle of persisting, tearing the log tail); voter changes,
// leadership transfers, compactions and reads — while every step is checked (see
// harness/cluster.h and cluster_checker.h). After each round all faults heal, and a leader must
// be elected and a new proposal committed within a bounded number of ticks.
//
// Environment:
//   RAFT_SIM_SEEDS=N        seeds to run in total (default 2000; 64 in sanitizer builds),
//                           split over the shards
//   RAFT_SIM_FIRST_SEED=S   first seed (default 1)
//   RAFT_SIM_SEED=S         replay one seed with a full trace (RaftSimReplay.Seed)
// A long run: RAFT_SIM_SEEDS=100000 build/tests/membership/raft_sim_test
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "cluster.h"

namespace ringleader::membership::testing {
namespace {

constexpr int kShards = 8;
#ifndef RAFT_SIM_DEFAULT_SEEDS
#define RAFT_SIM_DEFAULT_SEEDS \
  2000  // sanitizer builds define fewer (tests/membership/CMakeLists.txt)
#endif
constexpr uint64_t kDefaultSeeds = RAFT_SIM_DEFAULT_SEEDS;
constexpr uint32_t kRounds = 3;
constexpr uint32_t kFaultTicks = 500;
constexpr uint32_t kElectionTicks = 10;
// After healing: time to elect a leader (a few election timeouts, even with unlucky split
// votes and leases still running), replicate and commit. Generous but finite.
constexpr uint32_t kLivenessTicks = 30 * kElectionTicks;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

std::string self_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "raft_sim_test";
}

std::string replay_command(uint64_t seed) {
  return "RAFT_SIM_SEED=" + std::to_string(seed) + " " + self_path() +
         " --gtest_filter=RaftSimReplay.Seed";
}

struct SeedStats {
  uint64_t ticks = 0;
  uint64_t messages = 0;
  uint64_t restarts = 0;
  uint64_t commands = 0;
  uint64_t config_changes = 0;
};

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x2545F4914F6CDD1DULL + 1) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
  bool per_mille(uint32_t p) { return below(1000) < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(static_cast<uint32_t>(v.size()))];
  }

 private:
  uint64_t state_;
};

// Runs one seed; returns an empty string or what went wrong.
std::string run_seed(uint64_t seed, bool trace, SeedStats& stats) {
  Rng rng(seed);
  const std::vector<NodeId> all = {"p1", "p2", "p3", "p4", "p5"};
  uint32_t n = 3 + rng.below(3);
  uint32_t founders = n == 3 ? 3 : 3 + rng.below(n - 2);
  ClusterOptions o;
  o.founders.assign(all.begin(), all.begin() + founders);
  o.spares.assign(all.begin() + founders, all.begin() + n);
  o.seed = seed;
  o.election_ticks = kElectionTicks;
  o.heartbeat_ticks = 1 + rng.below(3);
  o.max_entries_per_append = 1 + rng.below(8);
  o.max_uncommitted_entries = 32;
  Cluster c(o);
  c.set_trace(trace);
  std::vector<NodeId> ids = c.ids();

  // How hostile this seed is.
  Faults faults;
  faults.loss = rng.below(150);
  faults.duplicate = rng.below(100);
  // Now and then messages linger for longer than an election timeout.
  faults.max_delay = 1 + (rng.below(4) == 0 ? rng.below(2 * kElectionTicks) : rng.below(5));
  faults.torn_crash = rng.below(6);
  uint32_t partition_rate = 5 + rng.below(20);  // per mille per tick
  uint32_t crash_rate = 2 + rng.below(10);
  uint32_t compact_every = 8 + rng.below(40);
  uint64_t next_command = 0;
  uint64_t next_read = 0;

  auto describe_state = [&] {
    std::string s = "\n  seed " + std::to_string(seed) + ", tick " + std::to_string(c.now());
    for (const NodeId& id : ids) {
      s += "\n  " + id + ": ";
      if (!c.is_up(id)) {
        s += "down";
        continue;
      }
      const raft::RaftNode& nd = c.node(id);
      s += std::string(raft::to_string(nd.role())) + " term " + std::to_string(nd.term()) +
           " leader '" + nd.leader() + "' commit " + std::to_string(nd.commit_index()) + " last " +
           std::to_string(nd.log().last_index()) + " voters";
      for (const NodeId& v : nd.configuration().voters)
        s += " " + v;
      s += " learners";
      for (const NodeId& l : nd.configuration().learners)
        s += " " + l;
    }
    return s;
  };

  for (uint32_t round = 0; round < kRounds; ++round) {
    c.set_faults(faults);
    for (uint32_t t = 0; t < kFaultTicks; ++t) {
      // Faults.
      if (rng.per_mille(partition_rate)) {
        std::vector<NodeId> shuffled = ids;
        for (size_t i = shuffled.size(); i > 1; --i) {
          std::swap(shuffled[i - 1], shuffled[rng.below(static_cast<uint32_t>(i))]);
        }
        size_t cut = 1 + rng.below(static_cast<uint32_t>(shuffled.size() - 1));
        c.heal();
        c.partition({std::vector<NodeId>(shuffled.begin(), shuffled.begin() + cut),
                     std::vector<NodeId>(shuffled.begin() + cut, shuffled.end())});
      }
      if (rng.per_mille(partition_rate)) {
        NodeId a = rng.pick(ids);
        NodeId b = rng.pick(ids);
        if (a != b) c.block(a, b);  // one way
      }
      if (rng.per_mille(2 * partition_rate)) c.heal();
      if (rng.per_mille(crash_rate)) c.crash(rng.pick(ids));
      for (const NodeId& id : ids) {
        if (!c.is_up(id) && rng.per_mille(60)) c.restart(id);
      }

      // Clients and operators.
      if (std::optional<NodeId> leader = c.leader()) {
        if (rng.below(3) == 0) {
          (void)c.propose(*leader,
                          "s" + std::to_string(seed) + "-" + std::to_string(next_command++));
        }
        if (rng.per_mille(40)) {
          static constexpr raft::ConfigChangeType kTypes[] = {
              raft::ConfigChangeType::kAddLearner, raft::ConfigChangeType::kPromoteLearner,
              raft::ConfigChangeType::kAddVoter, raft::ConfigChangeType::kRemove};
          raft::ConfigChange change{kTypes[rng.below(4)], rng.pick(ids)};
          if (c.change_config(*leader, change)) ++stats.config_changes;
        }
        if (rng.per_mille(8)) {
          std::optional<NodeId> target;
          if (rng.below(2) == 0) target = rng.pick(ids);
          (void)c.transfer(*leader, target);
        }
      }
      if (rng.per_mille(100)) {
        NodeId reader = rng.pick(ids);
        if (c.is_up(reader)) c.read(reader, ++next_read);
      }
      for (const NodeId& id : ids) {
        if (c.is_up(id) &&
            c.applied_index(id) >= c.node(id).log().snapshot_index() + compact_every) {
          (void)c.compact(id);
        }
      }

      c.tick();
      if (!c.violation().empty()) return c.violation() + describe_state();
    }

    // Heal everything; the cluster must elect a leader and commit a new proposal in time.
    c.heal();
    for (const NodeId& id : ids)
      c.restart(id);
    Faults calm;
    calm.max_delay = std::min<uint32_t>(faults.max_delay, 3);
    c.set_faults(calm);
    std::optional<std::pair<NodeId, raft::Index>> pending;
    Term pending_term = 0;
    bool committed = false;
    for (uint32_t t = 0; t < kLivenessTicks && !committed; ++t) {
      std::optional<NodeId> leader = c.leader();
      if (leader &&
          (!pending || pending->first != *leader || c.node(*leader).term() != pending_term)) {
        Result<raft::Index> index = c.propose(*leader, "round " + std::to_string(round));
        if (index) {
          pending = std::make_pair(*leader, *index);
          pending_term = c.node(*leader).term();
        }
      }
      c.tick();
      if (!c.violation().empty()) return c.violation() + describe_state();
      if (pending && c.is_up(pending->first)) {
        const raft::RaftNode& l = c.node(pending->first);
        committed = l.commit_index() >= pending->second &&
                    l.log().term_at(pending->second).value_or(pending_term) == pending_term;
      }
    }
    if (!committed) {
      return "liveness: no proposal committed within " + std::to_string(kLivenessTicks) +
             " ticks after healing (round " + std::to_string(round) + ")" + describe_state();
    }
  }
  stats.ticks += c.now();
  stats.messages += c.messages_delivered();
  stats.restarts += c.restarts();
  stats.commands += c.committed_commands().size();
  return "";
}

class RaftSim : public ::testing::TestWithParam<int> {};

TEST_P(RaftSim, Seeds) {
  if (std::getenv("RAFT_SIM_SEED") != nullptr) GTEST_SKIP() << "replaying one seed instead";
  uint64_t first = env_u64("RAFT_SIM_FIRST_SEED", 1);
  uint64_t total = env_u64("RAFT_SIM_SEEDS", kDefaultSeeds);
  SeedStats stats;
  uint64_t ran = 0;
  for (uint64_t k = static_cast<uint64_t>(GetParam()); k < total; k += kShards) {
    uint64_t seed = first + k;
    std::string failure = run_seed(seed, false, stats);
    ++ran;
    ASSERT_EQ(failure, "") << "seed " << seed << " failed. Replay with:\n  "
                           << replay_command(seed);
  }
  std::printf(
      "shard %d: %llu seeds, %llu ticks, %llu messages, %llu restarts, %llu commands, "
      "%llu config changes\n",
      GetParam(), static_cast<unsigned long long>(ran),
      static_cast<unsigned long long>(stats.ticks), static_cast<unsigned long long>(stats.messages),
      static_cast<unsigned long long>(stats.restarts),
      static_cast<unsigned long long>(stats.commands),
      static_cast<unsigned long long>(stats.config_changes));
}

INSTANTIATE_TEST_SUITE_P(Shards, RaftSim, ::testing::Range(0, kShards));

TEST(RaftSimReplay, Seed) {
  const char* seed_text = std::getenv("RAFT_SIM_SEED");
  if (seed_text == nullptr) GTEST_SKIP() << "set RAFT_SIM_SEED=N to replay seed N with a trace";
  uint64_t seed = std::strtoull(seed_text, nullptr, 10);
  SeedStats stats;
  std::string failure = run_seed(seed, std::getenv("RAFT_SIM_QUIET") == nullptr, stats);
  EXPECT_EQ(failure, "") << "seed " << seed;
}

TEST(RaftSimReplay, SameSeedSameRun) {
  SeedStats a;
  SeedStats b;
  EXPECT_EQ(run_seed(42, false, a), "");
  EXPECT_EQ(run_seed(42, false, b), "");
  EXPECT_EQ(a.ticks, b.ticks);
  EXPECT_EQ(a.messages, b.messages);
  EXPECT_EQ(a.commands, b.commands);
}

}  // namespace
}  // namespace ringleader::membership::testing
