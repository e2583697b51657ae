#include "membership/state/membership_state.h"

#include <gtest/gtest.h>

#include "membership/state/command_codec.h"

namespace ringleader::membership::state {
namespace {

ring::Backend backend(const std::string& name, uint32_t weight = 1, const std::string& zone = "") {
  return ring::Backend{name, "10.0.0." + name.substr(1) + ":6379", weight, zone,
                       ring::BackendState::kActive};
}

MembershipState three_backends() {
  MembershipState s;
  for (const char* name : {"b1", "b2", "b3"}) {
    Status st = s.apply(AddBackend{backend(name)});
    EXPECT_TRUE(st.is_ok()) << st.message();
  }
  return s;
}

// Applies `command`, expects an error mentioning `what`, and checks nothing changed.
void expect_refused(MembershipState& s, const Command& command, const std::string& what) {
  MembershipState before = s;
  Status st = s.apply(command);
  ASSERT_FALSE(st.is_ok()) << command_name(command);
  EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
  EXPECT_EQ(s, before) << "an invalid command changes nothing";
}

TEST(MembershipState, AppliesValidCommands) {
  MembershipState s = three_backends();
  ASSERT_TRUE(s.apply(SetWeight{"b2", 5}).is_ok());
  ASSERT_TRUE(s.apply(SetZone{"b2", "zone-b"}).is_ok());
  ASSERT_TRUE(s.apply(DrainBackend{"b3"}).is_ok());
  ASSERT_TRUE(s.apply(DrainBackend{"b3"}).is_ok()) << "drain is idempotent";
  EXPECT_EQ(s.find("b3")->state, ring::BackendState::kDraining);
  ASSERT_TRUE(s.apply(UndrainBackend{"b3"}).is_ok());
  EXPECT_EQ(s.find("b3")->state, ring::BackendState::kActive);
  ASSERT_TRUE(s.apply(MarkBackendDown{"b1"}).is_ok());
  EXPECT_EQ(s.find("b1")->state, ring::BackendState::kDown);
  ASSERT_TRUE(s.apply(RemoveBackend{"b1"}).is_ok());
  EXPECT_EQ(s.backends().size(), 2u);
  EXPECT_EQ(s.find("b2")->weight, 5u);
  EXPECT_EQ(s.find("b2")->zone, "zone-b");
  ring::RingParams p;
  p.replicas = 2;
  ASSERT_TRUE(s.apply(SetRingParams{p}).is_ok());
  EXPECT_EQ(s.params().replicas, 2u);
}

// A seed fills an empty membership in one step, all or nothing, and only an empty one.
TEST(MembershipState, SeedFillsOnlyAnEmptyMembershipAllOrNothing) {
  ring::RingParams p;
  p.replicas = 2;
  MembershipState s;
  ASSERT_TRUE(s.apply(Seed{p, {backend("b1"), backend("b2", 3)}}).is_ok());
  EXPECT_EQ(s.params().replicas, 2u);
  ASSERT_EQ(s.backends().size(), 2u);
  EXPECT_EQ(s.find("b2")->weight, 3u);
  // Not twice: a second leader's seed, proposed before the first was applied, changes nothing.
  expect_refused(s, Seed{ring::RingParams{}, {backend("b3")}}, "already has backends");

  MembershipState empty;
  expect_refused(empty, Seed{p, {backend("b1"), backend("b1")}}, "already exists");
  ring::RingParams bad = p;
  bad.vnodes = 0;
  expect_refused(empty, Seed{bad, {backend("b1")}}, "vnodes");
  EXPECT_TRUE(empty.backends().empty());
}

TEST(MembershipState, InvalidCommandsAreDeterministicNoOps) {
  MembershipState s = three_backends();
  expect_refused(s, AddBackend{backend("b1")}, "already exists");
  ring::Backend same_address = backend("b9");
  same_address.address = s.find("b1")->address;
  expect_refused(s, AddBackend{same_address}, "already used");
  expect_refused(s, AddBackend{backend("b4", 0)}, "weight");
  expect_refused(s, AddBackend{backend("b4", ring::kMaxWeight + 1)}, "weight");
  ring::Backend no_name = backend("b4");
  no_name.name = "";
  expect_refused(s, AddBackend{no_name}, "name");
  ring::Backend control = backend("b4");
  control.name = "b\n4";
  expect_refused(s, AddBackend{control}, "control character");
  expect_refused(s, RemoveBackend{"nope"}, "unknown backend");
  expect_refused(s, SetWeight{"nope", 2}, "unknown backend");
  expect_refused(s, SetWeight{"b1", 0}, "weight");
  expect_refused(s, SetZone{"nope", "z"}, "unknown backend");
  expect_refused(s, DrainBackend{"nope"}, "unknown backend");
  expect_refused(s, UndrainBackend{"nope"}, "unknown backend");
  ASSERT_TRUE(s.apply(MarkBackendDown{"b3"}).is_ok());
  expect_refused(s, DrainBackend{"b3"}, "is down");

  ring::RingParams p;
  p.replicas = 0;
  expect_refused(s, SetRingParams{p}, "replicas");
  p = ring::RingParams{};
  p.vnodes = ring::kMaxVnodes + 1;
  expect_refused(s, SetRingParams{p}, "vnodes");
  p = ring::RingParams{};
  p.hash_tag = "{";
  expect_refused(s, SetRingParams{p}, "hash_tag");
  p = ring::RingParams{};
  p.balance_factor = 0.5;
  expect_refused(s, SetRingParams{p}, "balance_factor");
  p = ring::RingParams{};
  p.algorithm = ring::Algorithm::kKetama;
  expect_refused(s, SetRingParams{p}, "ketama");
  p = ring::RingParams{};
  p.maglev_table_size = 65536;
  expect_refused(s, SetRingParams{p}, "prime");
  // A table smaller than the backends builds no ring: refused, whichever command makes it.
  p = ring::RingParams{};
  p.algorithm = ring::Algorithm::kMaglev;
  p.maglev_table_size = 2;
  expect_refused(s, SetRingParams{p}, "smaller than the number of backends (3)");
  p.maglev_table_size = 3;
  ASSERT_TRUE(s.apply(SetRingParams{p}).is_ok());
  ASSERT_TRUE(s.build_ring(1).is_ok());
  expect_refused(s, AddBackend{backend("b4")}, "smaller than the number of backends (4)");
  p = ring::RingParams{};
  ASSERT_TRUE(s.apply(SetRingParams{p}).is_ok());
  p.vnodes = ring::kMaxVnodes;
  ASSERT_TRUE(s.apply(SetWeight{"b1", ring::kMaxWeight}).is_ok());
  expect_refused(s, SetRingParams{p}, "ring points");
  // The cap is exact: (10000 + 1 + 1) x 419 points fit in 2^22, x 420 do not.
  p.vnodes = 419;
  ASSERT_TRUE(s.apply(SetRingParams{p}).is_ok());
  p.vnodes = 420;
  expect_refused(s, SetRingParams{p}, "at most 4194304");

  MembershipState one;
  ASSERT_TRUE(one.apply(AddBackend{backend("b1")}).is_ok());
  expect_refused(one, RemoveBackend{"b1"}, "last backend");
}

// A change that would leave every backend down is refused whichever command makes it; a
// draining backend still takes requests.
TEST(MembershipState, SomeBackendStaysUp) {
  MembershipState s = three_backends();
  ASSERT_TRUE(s.apply(MarkBackendDown{"b1"}).is_ok());
  ASSERT_TRUE(s.apply(DrainBackend{"b2"}).is_ok());
  ASSERT_TRUE(s.apply(MarkBackendDown{"b3"}).is_ok());
  const MembershipState before = s;
  expect_refused(s, MarkBackendDown{"b2"}, "every backend would be down");
  EXPECT_EQ(s, before) << "a refused change changes nothing";
  ASSERT_TRUE(s.apply(UndrainBackend{"b3"}).is_ok());
  ASSERT_TRUE(s.apply(MarkBackendDown{"b2"}).is_ok());
  expect_refused(s, RemoveBackend{"b3"}, "every backend would be down");

  ring::Backend down = backend("d7");
  down.state = ring::BackendState::kDown;
  MembershipState empty;
  expect_refused(empty, AddBackend{down}, "every backend would be down");
  ring::Backend down2 = backend("d8");
  down2.state = ring::BackendState::kDown;
  expect_refused(empty, Seed{ring::RingParams{}, {down, down2}}, "every backend would be down");
  // Checked once the whole seed is in: its first backend may be down.
  ASSERT_TRUE(empty.apply(Seed{ring::RingParams{}, {down, backend("b1")}}).is_ok());
  EXPECT_EQ(empty.backends().size(), 2u);
}

TEST(MembershipState, UpdateBackendAppliesEveryFieldOrNone) {
  MembershipState s = three_backends();
  ASSERT_TRUE(s.apply(UpdateBackend{"b2", 4, "zone-b", ring::BackendState::kDraining}).is_ok());
  EXPECT_EQ(*s.find("b2"),
            (ring::Backend{"b2", "10.0.0.2:6379", 4, "zone-b", ring::BackendState::kDraining}));
  ASSERT_TRUE(s.apply(UpdateBackend{"b2", std::nullopt, "", std::nullopt}).is_ok());
  EXPECT_EQ(s.find("b2")->zone, "");
  EXPECT_EQ(s.find("b2")->weight, 4u) << "a field not named keeps its value";
  // A refused step refuses the whole: the weight and zone before it stay as they were.
  ASSERT_TRUE(s.apply(MarkBackendDown{"b1"}).is_ok());
  ASSERT_TRUE(s.apply(MarkBackendDown{"b2"}).is_ok());
  expect_refused(s, UpdateBackend{"b3", 5, "zz", ring::BackendState::kDown},
                 "every backend would be down");
  expect_refused(s, UpdateBackend{"b1", 5, "zz", ring::BackendState::kDraining},
                 "is down; undrain it first");
  expect_refused(s, UpdateBackend{"b3", 0, "zz", std::nullopt}, "weight must be");
  expect_refused(s, UpdateBackend{"b3", 5, "z\x01", std::nullopt}, "control character");
  expect_refused(s, UpdateBackend{"b9", 5, std::nullopt, std::nullopt}, "unknown backend");
  ring::RingParams params;
  params.vnodes = 1000;
  ASSERT_TRUE(s.apply(SetRingParams{params}).is_ok());
  expect_refused(s, UpdateBackend{"b3", ring::kMaxWeight, "zz", std::nullopt}, "points");
}

TEST(MembershipState, EncodingRoundTripsAndRejectsGarbage) {
  MembershipState s = three_backends();
  ASSERT_TRUE(s.apply(SetZone{"b1", "z1"}).is_ok());
  ASSERT_TRUE(s.apply(DrainBackend{"b2"}).is_ok());
  ring::RingParams p;
  p.algorithm = ring::Algorithm::kMaglev;
  ASSERT_TRUE(s.apply(SetRingParams{p}).is_ok());
  std::string bytes = s.encode();
  auto back = MembershipState::decode(bytes);
  ASSERT_TRUE(back.is_ok()) << back.error();
  EXPECT_EQ(*back, s);
  EXPECT_EQ(back->backends()[1].name, "b2") << "order is preserved";
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(MembershipState::decode(bytes.substr(0, n)).is_ok()) << n;
  }
  EXPECT_FALSE(MembershipState::decode(bytes + "x").is_ok());
  EXPECT_TRUE(MembershipState::decode(MembershipState().encode()).is_ok());
}

// Whatever order the backends were added in, a state that some command made decodes: here
// the first backend is down, which no prefix of the backends would allow on its own.
TEST(MembershipState, DecodesAStateWhoseFirstBackendsAreDown) {
  MembershipState s = three_backends();
  ASSERT_TRUE(s.apply(MarkBackendDown{"b1"}).is_ok());
  ASSERT_TRUE(s.apply(MarkBackendDown{"b2"}).is_ok());
  auto back = MembershipState::decode(s.encode());
  ASSERT_TRUE(back.is_ok()) << back.error();
  EXPECT_EQ(*back, s);
  ASSERT_TRUE(back->build_ring(7).is_ok());
}

}  // namespace
}  // namespace ringleader::membership::state
