// edit_distance and closest_match.
#include "config/suggest.h"

#include <gtest/gtest.h>

#include <array>
#include <string_view>

namespace ringleader::config {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("listen", "listen"), 0u);
  EXPECT_EQ(edit_distance("listn", "listen"), 1u);    // insertion
  EXPECT_EQ(edit_distance("listeen", "listen"), 1u);  // deletion
  EXPECT_EQ(edit_distance("lisren", "listen"), 1u);   // substitution
  EXPECT_EQ(edit_distance("lsiten", "listen"), 1u);   // adjacent swap
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("Listen", "listen"), 1u);
}

constexpr std::array<std::string_view, 4> kKeys = {"listen", "protocol", "workers", "max_clients"};

TEST(ClosestMatch, SuggestsATypo) {
  EXPECT_EQ(closest_match("listn", kKeys), "listen");
  EXPECT_EQ(closest_match("wokrers", kKeys), "workers");
  EXPECT_EQ(closest_match("max_client", kKeys), "max_clients");
}

TEST(ClosestMatch, NothingWhenTooFarOrExactOrEmpty) {
  EXPECT_EQ(closest_match("colour", kKeys), std::nullopt);
  EXPECT_EQ(closest_match("listen", kKeys), std::nullopt);
  EXPECT_EQ(closest_match("x", kKeys), std::nullopt);
  EXPECT_EQ(closest_match("listn", std::span<const std::string_view>{}), std::nullopt);
}

}  // namespace
}  // namespace ringleader::config
