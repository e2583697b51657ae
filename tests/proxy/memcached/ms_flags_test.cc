// ms_flags_error: an ms line's flags checked as memcached 1.6.18 checks them before it sizes
// the item. Each expectation is what memcached answered to an ms of more than its item size
// with these flags ("" where it answered "object too large" and so accepted them).
#include "proxy/memcached/ms_flags.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace ringleader::proxy::memcached {
namespace {

// "ms <key> 1100000 <flags>" split into words.
std::string error_for(std::string_view flags, std::string_view key = "k") {
  std::vector<std::string_view> t = {"ms", key, "1100000"};
  size_t i = 0;
  while (i < flags.size()) {
    size_t end = flags.find(' ', i);
    if (end == std::string_view::npos) end = flags.size();
    t.push_back(flags.substr(i, end - i));
    i = end + 1;
  }
  return std::string(ms_flags_error(t));
}

constexpr std::string_view kBadToken = "CLIENT_ERROR bad token in command line format";

TEST(MsFlags, AcceptsWhatMemcachedTakes) {
  for (std::string_view flags : {"",
                                 "T5",
                                 "T-1",
                                 "T+5",
                                 "T-0",
                                 "T2147483648",
                                 "T99999999999",
                                 "C+5",
                                 "C0",
                                 "F+1",
                                 "F-0",
                                 "F4294967296",
                                 "F18446744073709551615",
                                 "J+1",
                                 "J18446744073709551615",
                                 "D-0",
                                 "ME",
                                 "MA",
                                 "MP",
                                 "MR",
                                 "MS",
                                 "I",
                                 "O",
                                 "Oaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                 "k",
                                 "c",
                                 "q",
                                 "l h u t f s v P L",
                                 "C5 ME",
                                 "I ME",
                                 "N5 T0 R0 F3 C7"}) {
    EXPECT_EQ(error_for(flags), "") << flags;
  }
  EXPECT_EQ(error_for("b", "Zm9v"), "");
}

TEST(MsFlags, RefusesBadNumbersWithTheFlagsOwnError) {
  for (std::string_view flags :
       {"T", "Tx", "T0x", "T99999999999999999999", "T-99999999999999999999", "N", "Nx", "R", "Rx",
        "C", "Cx", "C-1", "C18446744073709551616"}) {
    EXPECT_EQ(error_for(flags), kBadToken) << flags;
  }
  for (std::string_view flags : {"F", "F-1", "F99999999999999999999"})
    EXPECT_EQ(error_for(flags), "CLIENT_ERROR bad command line format") << flags;
  for (std::string_view flags : {"J", "Jx", "J-1"})
    EXPECT_EQ(error_for(flags), "CLIENT_ERROR invalid numeric initial value") << flags;
  for (std::string_view flags : {"D", "Dx"})
    EXPECT_EQ(error_for(flags), "CLIENT_ERROR invalid numeric delta value") << flags;
  EXPECT_EQ(error_for("b"), "CLIENT_ERROR error decoding key");  // "k" is no base64
}

TEST(MsFlags, RefusesUnknownAndRepeatedFlags) {
  for (std::string_view flags : {"S", "S5", "x", "Z", "E", "E5", "! Tx", "Tx !"})
    EXPECT_EQ(error_for(flags), "CLIENT_ERROR invalid flag") << flags;
  for (std::string_view flags : {"q q", "T T", "N5 N5", "\x7f", "\x80", "q \xc3\xa9"})
    EXPECT_EQ(error_for(flags), "CLIENT_ERROR duplicate flag") << flags;
}

TEST(MsFlags, ModeAndOpaque) {
  for (std::string_view flags : {"M", "MEE"})
    EXPECT_EQ(error_for(flags), "CLIENT_ERROR incorrect length for M token") << flags;
  for (std::string_view flags : {"MX", "Ms", "Me", "Ma", "Mp", "Mr", "MI", "Mi", "MD", "T5 MI"})
    EXPECT_EQ(error_for(flags), "CLIENT_ERROR invalid mode for ms M token") << flags;
  EXPECT_EQ(error_for("Oaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "CLIENT_ERROR opaque token too long");
}

TEST(MsFlags, SeveralFaultsAnswerAsMemcachedDoes) {
  EXPECT_EQ(error_for("Tx MEE"), "CLIENT_ERROR incorrect length for M token");  // the last one
  EXPECT_EQ(error_for("MEE Tx"), kBadToken);
  EXPECT_EQ(error_for("b Tx"), kBadToken);
  EXPECT_EQ(error_for("Tx b"), "CLIENT_ERROR error decoding key");
  EXPECT_EQ(error_for("MX Tx"), kBadToken);  // a bad flag before the mode is looked at
  EXPECT_EQ(error_for("Tx MX"), kBadToken);
  // The mode before the opaque's length, whichever comes first on the line.
  EXPECT_EQ(error_for("Oaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab MX"),
            "CLIENT_ERROR invalid mode for ms M token");
  EXPECT_EQ(error_for("MX Oaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"),
            "CLIENT_ERROR invalid mode for ms M token");
}

}  // namespace
}  // namespace ringleader::proxy::memcached
