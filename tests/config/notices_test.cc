// notices(): a valid config says which of its settings are not in force.
#include <gtest/gtest.h>

#include "config/config.h"
#include "error_matchers.h"

namespace ringleader::config {
namespace {

using testing::describe_errors;
using testing::load_with_backend;

TEST(ConfigNotices, NoneForASingleCopyOfEachKey) {
  const LoadResult result = load_with_backend("[ring]\nreplicas = 1\n");
  ASSERT_TRUE(result.ok()) << describe_errors(result);
  EXPECT_TRUE(notices(result.config).empty());
}

TEST(ConfigNotices, ReplicasAboveOneSayRequestsGoToThePrimaryOnly) {
  LoadResult result = load_with_backend("[ring]\nreplicas = 1\n");
  ASSERT_TRUE(result.ok()) << describe_errors(result);
  result.config.ring.replicas = 2;
  const std::vector<std::string> n = notices(result.config);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_NE(n[0].find("ring.replicas = 2"), std::string::npos) << n[0];
  EXPECT_NE(n[0].find("primary only"), std::string::npos) << n[0];
}

}  // namespace
}  // namespace ringleader::config
