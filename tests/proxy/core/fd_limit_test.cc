#include "core/fd_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cerrno>

namespace ringleader::proxy {
namespace {

TEST(FdLimit, NeedCountsClientsBackendConnectionsAndReserves) {
  const uint64_t one = descriptors_needed(100, 1, 3, 1);
  EXPECT_GT(one, 100u + 3u);
  // Each client and each backend connection of each worker is one more descriptor.
  EXPECT_EQ(descriptors_needed(101, 1, 3, 1), one + 1);
  EXPECT_EQ(descriptors_needed(100, 1, 3, 2), one + 3);
  EXPECT_EQ(descriptors_needed(100, 1, 4, 1), one + 1);
  EXPECT_GT(descriptors_needed(100, 2, 3, 1), one + 3);
  // connections = 0 is read as 1, as the pools do.
  EXPECT_EQ(descriptors_needed(100, 1, 3, 0), one);
}

// The refused clients allowed to linger are shared among the workers: at 256 workers a
// per-worker 64 reserved 16,384 descriptors, and a limit of 20,000 admitted one client.
TEST(FdLimit, LingeringRefusedClientsAreSharedAmongWorkers) {
  EXPECT_EQ(refused_clients_per_worker(1), kMaxRefusedClientsOpen);
  EXPECT_EQ(refused_clients_per_worker(2), kMaxRefusedClientsOpen / 2);
  EXPECT_EQ(refused_clients_per_worker(3), 21u);  // rounded down: 63 in all
  EXPECT_EQ(refused_clients_per_worker(256), kMinRefusedClientsPerWorker);
  const uint64_t needed = descriptors_needed(10000, 256, 2, 4);
  EXPECT_LT(needed, 20000u);
  EXPECT_EQ(clients_admitted(20000, needed, 10000), 10000u);
}

// The process's reserve holds the admin API's 64 connections, the membership's 64 waiting for
// a Hello and 8 from outside the group, and what the process has open from its start.
TEST(FdLimit, TheProcessReserveCoversTheAdminAndMembershipConnections) {
  EXPECT_GE(descriptors_needed(0, 1, 0, 1) - (8 + kMaxRefusedClientsOpen), 64u + 64u + 8u + 24u);
}

TEST(FdLimit, ClientsAdmittedAreWhatTheLimitLeavesForThem) {
  EXPECT_EQ(clients_admitted(500, 500, 100), 100u);
  EXPECT_EQ(clients_admitted(5000, 500, 100), 100u);
  EXPECT_EQ(clients_admitted(0, 500, 100), 100u);  // the limit could not be read
  EXPECT_EQ(clients_admitted(450, 500, 100), 50u);
  EXPECT_EQ(clients_admitted(401, 500, 100), 1u);
  EXPECT_EQ(clients_admitted(400, 500, 100), 1u);  // nothing left: one, to say why
  EXPECT_EQ(clients_admitted(10, 500, 100), 1u);
}

// Restores the soft limit the test found, whatever the test did to it.
class FdLimitRaise : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved_), 0); }
  void TearDown() override { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  rlimit saved_{};
};

TEST_F(FdLimitRaise, RaisesTheSoftLimitToTheNeedWithinTheHardLimitAndNeverLowersIt) {
  if (saved_.rlim_max != RLIM_INFINITY && saved_.rlim_max < 512) GTEST_SKIP() << "hard limit";
  rlimit low = saved_;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);

  FdLimit raised = raise_fd_limit(400);
  EXPECT_EQ(raised.before, 256u);
  EXPECT_EQ(raised.after, 400u);
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, 400u);

  FdLimit kept = raise_fd_limit(300);
  EXPECT_EQ(kept.before, 400u);
  EXPECT_EQ(kept.after, 400u);

  // Past the hard limit: as far as it goes.
  rlimit capped{256, 480};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &capped), 0);
  FdLimit short_of = raise_fd_limit(1000);
  EXPECT_EQ(short_of.after, 480u);
  EXPECT_EQ(short_of.hard, 480u);
}

TEST(FdLimit, ExhaustionHintNamesTheLimitOnlyForDescriptorErrors) {
  EXPECT_NE(fd_exhaustion_hint(EMFILE).find("the open-file limit is "), std::string::npos);
  EXPECT_NE(fd_exhaustion_hint(ENFILE).find("fs.file-max"), std::string::npos);
  EXPECT_EQ(fd_exhaustion_hint(ECONNREFUSED), "");
}

}  // namespace
}  // namespace ringleader::proxy
