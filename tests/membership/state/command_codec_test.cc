#include "membership/state/command_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <tuple>

namespace ringleader::membership::state {
namespace {

std::vector<Command> every_command() {
  ring::RingParams params;
  params.algorithm = ring::Algorithm::kMaglev;
  params.hash = ring::HashKind::kFnv1a64;
  params.vnodes = 40;
  params.replicas = 3;
  params.hash_tag = "[]";
  params.balance_factor = 1.25;
  params.maglev_table_size = 65537;
  return {
      AddBackend{ring::Backend{"r1", "10.0.0.1:6379", 3, "eu-1a", ring::BackendState::kDraining}},
      RemoveBackend{"r1"},
      SetWeight{"r2", 10000},
      SetZone{"r2", ""},
      DrainBackend{"r3"},
      UndrainBackend{"r3"},
      MarkBackendDown{"r4"},
      SetRingParams{params},
      Seed{params,
           {ring::Backend{"s1", "10.0.0.2:6379", 1, "", ring::BackendState::kActive},
            ring::Backend{"s2", "10.0.0.3:6379", 7, "eu-1b", ring::BackendState::kActive}}},
      UpdateBackend{"r5", 9, "eu-1c", ring::BackendState::kDown},
      UpdateBackend{"r5", std::nullopt, "", std::nullopt},
      UpdateBackend{"r5", 2, std::nullopt, ring::BackendState::kActive},
  };
}

bool same(const Command& a, const Command& b) {
  return encode_command(a) == encode_command(b) && a.index() == b.index();
}

TEST(CommandCodec, RoundTripsEveryCommand) {
  for (const Command& c : every_command()) {
    std::string bytes = encode_command(c);
    auto back = decode_command(bytes);
    ASSERT_TRUE(back.is_ok()) << command_name(c) << ": " << back.error();
    EXPECT_TRUE(same(*back, c)) << command_name(c);
  }
  auto add = decode_command(encode_command(every_command()[0]));
  const ring::Backend& b = std::get<AddBackend>(*add).backend;
  EXPECT_EQ(b, (ring::Backend{"r1", "10.0.0.1:6379", 3, "eu-1a", ring::BackendState::kDraining}));
  auto params = decode_command(encode_command(every_command()[7]));
  EXPECT_EQ(std::get<SetRingParams>(*params).params.balance_factor, 1.25);
  auto seed = decode_command(encode_command(every_command()[8]));
  EXPECT_EQ(std::get<Seed>(*seed).params.replicas, 3u);
  ASSERT_EQ(std::get<Seed>(*seed).backends.size(), 2u);
  EXPECT_EQ(std::get<Seed>(*seed).backends[1].zone, "eu-1b");
  for (size_t i = 9; i < 12; ++i) {
    const UpdateBackend want =
        std::get<UpdateBackend>(every_command()[i]);  // a copy: the list is a temporary
    auto got = decode_command(encode_command(want));
    const auto& update = std::get<UpdateBackend>(*got);
    EXPECT_EQ(std::tie(update.name, update.weight, update.zone, update.state),
              std::tie(want.name, want.weight, want.zone, want.state));
  }
}

TEST(CommandCodec, EveryTruncationAndTrailingByteIsAnError) {
  for (const Command& c : every_command()) {
    std::string bytes = encode_command(c);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(decode_command(bytes.substr(0, n)).is_ok()) << command_name(c) << " cut " << n;
    }
    EXPECT_FALSE(decode_command(bytes + '\0').is_ok()) << command_name(c);
  }
}

TEST(CommandCodec, UnknownVersionTagAndEnumsAreErrors) {
  std::string bytes = encode_command(every_command()[0]);
  std::string bad_version = bytes;
  bad_version[0] = 9;
  EXPECT_NE(decode_command(bad_version).error().find("version"), std::string::npos);
  std::string bad_tag = bytes;
  bad_tag[1] = 99;
  EXPECT_NE(decode_command(bad_tag).error().find("tag"), std::string::npos);
  std::string bad_state = bytes;
  bad_state.back() = 7;  // backend state is the last field of add_backend
  EXPECT_FALSE(decode_command(bad_state).is_ok());
  std::string params = encode_command(every_command()[7]);
  params[2] = 42;  // algorithm
  EXPECT_FALSE(decode_command(params).is_ok());
  // A seed claiming more backends than a membership may hold (nothing is read for them).
  Seed big{ring::RingParams{}, {}};
  std::string many = encode_command(big);
  many[many.size() - 4] = static_cast<char>(0xff);  // the count: little-endian u32
  many[many.size() - 3] = static_cast<char>(0xff);
  EXPECT_NE(decode_command(many).error().find("backend count"), std::string::npos);
  // An update naming a field this release does not know, or a state out of range.
  std::string update =
      encode_command(UpdateBackend{"r5", std::nullopt, std::nullopt, ring::BackendState::kDown});
  std::string unknown_field = update;
  unknown_field[unknown_field.size() - 2] |= 8;  // the field bits, before the state
  EXPECT_NE(decode_command(unknown_field).error().find("unknown fields"), std::string::npos);
  std::string bad_update_state = update;
  bad_update_state.back() = 3;
  EXPECT_FALSE(decode_command(bad_update_state).is_ok());
  // A length field claiming more than the field limit.
  std::string long_name = encode_command(RemoveBackend{std::string(300, 'x')});
  EXPECT_FALSE(decode_command(long_name).is_ok());
}

TEST(CommandCodec, RandomGarbageNeverCrashes) {
  std::mt19937_64 rng(12345);
  std::vector<std::string> seeds;
  for (const Command& c : every_command())
    seeds.push_back(encode_command(c));
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      size_t len = rng() % 40;
      for (size_t k = 0; k < len; ++k)
        bytes.push_back(static_cast<char>(rng()));
    } else {  // mutate a valid command
      bytes = seeds[rng() % seeds.size()];
      for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) {
        bytes[rng() % bytes.size()] = static_cast<char>(rng());
      }
    }
    auto r = decode_command(bytes);
    if (r.is_ok()) {
      ++decoded;
      EXPECT_EQ(encode_command(*r), bytes) << "a decoded command re-encodes to the same bytes";
    }
  }
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace ringleader::membership::state
