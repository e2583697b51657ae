#include "membership/storage/memory_storage.h"

#include <gtest/gtest.h>

#include "storage_test_util.h"

namespace ringleader::membership::storage {
namespace {

TEST(MemoryStorage, AppendsReplacesAndRefusesGaps) {
  MemoryStorage s;
  raft::HardState hs{2, "p1", 1};
  ASSERT_TRUE(persist(s, &hs, nullptr, make_entries(1, {1, 1, 2})).is_ok());
  ASSERT_TRUE(persist(s, nullptr, nullptr, make_entries(3, {3, 3})).is_ok());
  auto state = s.load();
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(state->hard_state, hs);
  ASSERT_EQ(state->entries.size(), 4u);
  EXPECT_EQ(state->entries[2].term, 3u);
  EXPECT_FALSE(persist(s, nullptr, nullptr, make_entries(6, {3})).is_ok());
}

TEST(MemoryStorage, SnapshotKeepsAMatchingSuffixOnly) {
  MemoryStorage s;
  ASSERT_TRUE(persist(s, nullptr, nullptr, make_entries(1, {1, 1, 2, 2})).is_ok());
  raft::Snapshot matching = make_snapshot(2, 1);
  ASSERT_TRUE(persist(s, nullptr, &matching, {}).is_ok());
  ASSERT_EQ(s.state().entries.size(), 2u);
  EXPECT_EQ(s.state().entries[0].index, 3u);

  raft::Snapshot conflicting = make_snapshot(3, 5);
  ASSERT_TRUE(persist(s, nullptr, &conflicting, make_entries(4, {5})).is_ok());
  ASSERT_EQ(s.state().entries.size(), 1u);
  EXPECT_EQ(s.state().entries[0].index, 4u);
  EXPECT_EQ(s.state().snapshot->meta.index, 3u);
}

}  // namespace
}  // namespace ringleader::membership::storage
