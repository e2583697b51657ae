#include "membership/raft/configuration.h"

#include <gtest/gtest.h>

namespace ringleader::membership::raft {
namespace {

Configuration config(std::vector<NodeId> v, std::vector<NodeId> l = {}) {
  return Configuration{std::move(v), std::move(l)};
}

TEST(Configuration, SingleServerChanges) {
  Configuration c = config({"p1", "p2", "p3"});
  EXPECT_EQ(c.quorum(), 2u);

  auto learner = apply_change(c, {ConfigChangeType::kAddLearner, "p4"});
  ASSERT_TRUE(learner.is_ok());
  EXPECT_EQ(*learner, config({"p1", "p2", "p3"}, {"p4"}));
  EXPECT_EQ(learner->quorum(), 2u);  // learners do not count

  auto promoted = apply_change(*learner, {ConfigChangeType::kPromoteLearner, "p4"});
  ASSERT_TRUE(promoted.is_ok());
  EXPECT_EQ(*promoted, config({"p1", "p2", "p3", "p4"}));
  EXPECT_EQ(promoted->quorum(), 3u);

  auto removed = apply_change(*promoted, {ConfigChangeType::kRemove, "p2"});
  ASSERT_TRUE(removed.is_ok());
  EXPECT_EQ(*removed, config({"p1", "p3", "p4"}));
}

TEST(Configuration, RefusesChangesThatDoNotApply) {
  Configuration c = config({"p1"}, {"p2"});
  EXPECT_FALSE(apply_change(c, {ConfigChangeType::kAddLearner, "p1"}).is_ok());
  EXPECT_FALSE(apply_change(c, {ConfigChangeType::kAddVoter, "p2"}).is_ok());
  EXPECT_FALSE(apply_change(c, {ConfigChangeType::kPromoteLearner, "p1"}).is_ok());
  EXPECT_FALSE(apply_change(c, {ConfigChangeType::kRemove, "p9"}).is_ok());
  EXPECT_FALSE(apply_change(c, {ConfigChangeType::kRemove, "p1"}).is_ok());  // last voter
  EXPECT_FALSE(apply_change(c, {ConfigChangeType::kAddVoter, ""}).is_ok());
  EXPECT_TRUE(apply_change(c, {ConfigChangeType::kRemove, "p2"}).is_ok());
}

TEST(Configuration, EncodingRoundTripsAndRejectsGarbage) {
  Configuration c = config({"p1", "p2"}, {"p3"});
  std::string bytes = encode_configuration(c);
  auto back = decode_configuration(bytes);
  ASSERT_TRUE(back.is_ok()) << back.error();
  EXPECT_EQ(*back, c);

  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_configuration(bytes.substr(0, n)).is_ok()) << "prefix " << n;
  }
  EXPECT_FALSE(decode_configuration(bytes + "x").is_ok());
  // Unsorted or overlapping member lists are invalid.
  EXPECT_FALSE(decode_configuration(encode_configuration(config({"p2", "p1"}))).is_ok());
  EXPECT_FALSE(decode_configuration(encode_configuration(config({"p1"}, {"p1"}))).is_ok());
  std::string huge_count = bytes;
  huge_count[1] = '\xff';
  huge_count[2] = '\xff';
  EXPECT_FALSE(decode_configuration(huge_count).is_ok());
}

}  // namespace
}  // namespace ringleader::membership::raft
