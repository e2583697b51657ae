// Replication rules: write acknowledgements and the order reads try replicas in.
#include "core/replication.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringleader::proxy {
namespace {

using config::ReadPolicy;
using config::WriteAck;

TEST(AcksNeeded, OneMajorityOrAll) {
  EXPECT_EQ(acks_needed(WriteAck::kOne, 3), 1u);
  EXPECT_EQ(acks_needed(WriteAck::kQuorum, 1), 1u);
  EXPECT_EQ(acks_needed(WriteAck::kQuorum, 2), 2u);
  EXPECT_EQ(acks_needed(WriteAck::kQuorum, 3), 2u);
  EXPECT_EQ(acks_needed(WriteAck::kQuorum, 4), 3u);
  EXPECT_EQ(acks_needed(WriteAck::kQuorum, 5), 3u);
  EXPECT_EQ(acks_needed(WriteAck::kAll, 3), 3u);
  EXPECT_EQ(acks_needed(WriteAck::kAll, 0), 0u);
}

TEST(WriteVerdict, AckedAtOnceFailedOnlyWhenEveryCopyFinished) {
  // quorum of 3: 2 needed.
  EXPECT_EQ(write_verdict(0, 0, 2, 3), WriteVerdict::kPending);
  EXPECT_EQ(write_verdict(1, 0, 2, 3), WriteVerdict::kPending);
  EXPECT_EQ(write_verdict(1, 1, 2, 3), WriteVerdict::kPending);
  EXPECT_EQ(write_verdict(2, 0, 2, 3), WriteVerdict::kAcked);
  EXPECT_EQ(write_verdict(0, 2, 2, 3), WriteVerdict::kPending);  // the third may still answer
  EXPECT_EQ(write_verdict(1, 2, 2, 3), WriteVerdict::kFailed);
  // all of 3: a failure makes success impossible, but the others are waited for.
  EXPECT_EQ(write_verdict(2, 0, 3, 3), WriteVerdict::kPending);
  EXPECT_EQ(write_verdict(0, 1, 3, 3), WriteVerdict::kPending);
  EXPECT_EQ(write_verdict(2, 1, 3, 3), WriteVerdict::kFailed);
  // one of 3: the first acknowledgement decides; only three failures fail it.
  EXPECT_EQ(write_verdict(1, 0, 1, 3), WriteVerdict::kAcked);
  EXPECT_EQ(write_verdict(0, 2, 1, 3), WriteVerdict::kPending);
  EXPECT_EQ(write_verdict(0, 3, 1, 3), WriteVerdict::kFailed);
}

TEST(WriteFailure, SaysHowManyAcknowledgedAndWhy) {
  EXPECT_EQ(write_failure(1, 3, 2, "backend b (127.0.0.1:2): timeout after 5 ms"),
            "write acknowledged by 1 of 3 replicas (2 needed): backend b (127.0.0.1:2): timeout "
            "after 5 ms");
}

class ReadOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<ring::Backend> backends;
    for (int i = 0; i < 4; ++i) {
      backends.push_back({"b" + std::to_string(i), "127.0.0.1:" + std::to_string(7000 + i), 1,
                          i % 2 == 0 ? "east" : "west", ring::BackendState::kActive});
    }
    ring::RingParams params;
    params.replicas = 3;
    ring_ = ring::Ring::build(backends, params, 1).value();
    set_ = ring_->replicas_for_key("some key");
    ASSERT_EQ(set_.size(), 3u);
  }
  std::vector<ring::BackendIndex> order(ReadPolicy read, const std::string& zone, uint64_t turn) {
    ReplicationPolicy policy;
    policy.read = read;
    policy.zone = zone;
    return listed(read_order(set_, *ring_, policy, turn));
  }
  std::vector<ring::BackendIndex> given() const { return listed(set_); }
  static std::vector<ring::BackendIndex> listed(const ring::ReplicaSet& set) {
    std::vector<ring::BackendIndex> out;
    out.reserve(ring::kMaxReplicas);
    for (uint32_t i = 0; i < set.size(); ++i)
      out.push_back(set[i]);
    return out;
  }

  ring::RingSnapshot ring_;
  ring::ReplicaSet set_;
};

TEST_F(ReadOrderTest, PrimaryKeepsTheReplicaOrder) {
  EXPECT_EQ(order(ReadPolicy::kPrimary, "west", 7), given());
}

TEST_F(ReadOrderTest, AnyRotatesThroughEveryReplica) {
  const auto g = given();
  EXPECT_EQ(order(ReadPolicy::kAny, "", 0), g);
  EXPECT_EQ(order(ReadPolicy::kAny, "", 1), (std::vector{g[1], g[2], g[0]}));
  EXPECT_EQ(order(ReadPolicy::kAny, "", 2), (std::vector{g[2], g[0], g[1]}));
  EXPECT_EQ(order(ReadPolicy::kAny, "", 3), g);
}

TEST_F(ReadOrderTest, NearestPutsTheInstancesZoneFirstAndKeepsTheRest) {
  for (const std::string zone : {"east", "west"}) {
    const auto got = order(ReadPolicy::kNearest, zone, 0);
    ASSERT_EQ(got.size(), 3u);
    // Every replica still appears once, the zone's first, each group in replica order.
    std::vector<ring::BackendIndex> expected;
    size_t in_zone = 0;
    for (ring::BackendIndex b : given()) {
      if (ring_->backend(b).zone == zone) {
        expected.insert(expected.begin() + static_cast<std::ptrdiff_t>(in_zone++), b);
      } else {
        expected.push_back(b);
      }
    }
    EXPECT_EQ(got, expected) << zone;
    EXPECT_GT(in_zone, 0u) << "replica sets prefer distinct zones";
  }
}

TEST_F(ReadOrderTest, NearestWithoutAZoneReadsThePrimaryFirst) {
  EXPECT_EQ(order(ReadPolicy::kNearest, "", 5), given());
  EXPECT_EQ(order(ReadPolicy::kNearest, "north", 5), given());
}

TEST(ReplicaSetOrder, ComparesByBackendsInOrder) {
  ring::ReplicaSet a, b, c;
  a.push_back(1);
  a.push_back(2);
  b.push_back(1);
  b.push_back(2);
  c.push_back(2);
  c.push_back(1);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_TRUE(a < c);
  EXPECT_FALSE(c < a);
  EXPECT_FALSE(a < b);
}

}  // namespace
}  // namespace ringleader::proxy
