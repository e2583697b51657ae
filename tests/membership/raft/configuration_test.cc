#include "membership/raft/configuration.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

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
  EXPECT_EQ(apply_change(c, {ConfigChangeType::kPromoteLearner, "p1"}).error(),
            "node p1 is already a voter");
  EXPECT_EQ(apply_change(c, {ConfigChangeType::kPromoteLearner, "p9"}).error(),
            "node p9 is not a member: add it as a learner first");
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

// Peers added with an address keep it in the configuration, so instances whose config file
// never listed them can reach them; a removal forgets it.
TEST(Configuration, AdditionsRecordTheirAddress) {
  Configuration c = config({"p1", "p2", "p3"});
  auto learner = apply_change(c, {ConfigChangeType::kAddLearner, "p4", "10.0.0.4:7400"});
  ASSERT_TRUE(learner.is_ok());
  EXPECT_EQ(learner->addresses, (std::map<NodeId, std::string>{{"p4", "10.0.0.4:7400"}}));
  auto promoted = apply_change(*learner, {ConfigChangeType::kPromoteLearner, "p4"});
  ASSERT_TRUE(promoted.is_ok());
  EXPECT_EQ(promoted->addresses.at("p4"), "10.0.0.4:7400");
  auto voter = apply_change(*promoted, {ConfigChangeType::kAddVoter, "p5", "10.0.0.5:7400"});
  ASSERT_TRUE(voter.is_ok());
  EXPECT_EQ(voter->addresses.size(), 2u);
  auto removed = apply_change(*voter, {ConfigChangeType::kRemove, "p4"});
  ASSERT_TRUE(removed.is_ok());
  EXPECT_EQ(removed->addresses, (std::map<NodeId, std::string>{{"p5", "10.0.0.5:7400"}}));
  EXPECT_FALSE(
      apply_change(c, {ConfigChangeType::kAddLearner, "p6", std::string(301, 'a')}).is_ok());

  const std::string bytes = encode_configuration(*removed);
  auto back = decode_configuration(bytes);
  ASSERT_TRUE(back.is_ok()) << back.error();
  EXPECT_EQ(*back, *removed);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_configuration(bytes.substr(0, n)).is_ok()) << "prefix " << n;
  }
  // An address for a node that is not a member is invalid.
  Configuration stray = config({"p1"});
  stray.addresses["p9"] = "10.0.0.9:7400";
  EXPECT_FALSE(decode_configuration(encode_configuration(stray)).is_ok());
}

// Entries written by earlier releases (version 1, no addresses) still decode.
TEST(Configuration, DecodesTheEncodingWithoutAddresses) {
  std::string v1;
  v1 += '\x01';
  auto u32 = [&](uint32_t n) {
    for (int shift = 0; shift < 32; shift += 8)  // little-endian, as ByteWriter writes
      v1 += static_cast<char>((n >> shift) & 0xff);
  };
  u32(2);
  for (const char* id : {"p1", "p2"}) {
    u32(2);
    v1 += id;
  }
  u32(0);
  auto decoded = decode_configuration(v1);
  ASSERT_TRUE(decoded.is_ok()) << decoded.error();
  EXPECT_EQ(*decoded, config({"p1", "p2"}));
}

}  // namespace
}  // namespace ringleader::membership::raft
