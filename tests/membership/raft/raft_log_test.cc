#include "membership/raft/raft_log.h"

#include <gtest/gtest.h>

namespace ringleader::membership::raft {
namespace {

RaftLog log_with_terms(std::vector<Term> terms) {
  RaftLog log;
  Index i = 1;
  for (Term t : terms)
    log.append(Entry{t, i++, EntryType::kCommand, {}});
  return log;
}

TEST(RaftLog, TermsAndBounds) {
  RaftLog log = log_with_terms({1, 1, 2, 2, 2, 4});
  EXPECT_EQ(log.first_index(), 1u);
  EXPECT_EQ(log.last_index(), 6u);
  EXPECT_EQ(log.last_term(), 4u);
  EXPECT_EQ(log.term_at(0), 0u);
  EXPECT_EQ(log.term_at(3), 2u);
  EXPECT_FALSE(log.term_at(7).has_value());
  EXPECT_EQ(log.first_index_of_run(5), 3u);
  EXPECT_EQ(log.first_index_of_run(1), 1u);
  EXPECT_EQ(log.last_index_of_term(2), 5u);
  EXPECT_FALSE(log.last_index_of_term(3).has_value());
  EXPECT_TRUE(log.check().is_ok());
}

TEST(RaftLog, UpToDateComparesLastTermThenIndex) {
  RaftLog log = log_with_terms({1, 2, 2});
  EXPECT_TRUE(log.is_up_to_date(3, 2));
  EXPECT_TRUE(log.is_up_to_date(1, 3));
  EXPECT_FALSE(log.is_up_to_date(2, 2));
  EXPECT_FALSE(log.is_up_to_date(9, 1));
}

TEST(RaftLog, TruncateCompactReset) {
  RaftLog log = log_with_terms({1, 1, 2, 3, 3});
  log.truncate_after(3);
  EXPECT_EQ(log.last_index(), 3u);
  log.compact(2);
  EXPECT_EQ(log.snapshot_index(), 2u);
  EXPECT_EQ(log.snapshot_term(), 1u);
  EXPECT_EQ(log.first_index(), 3u);
  EXPECT_EQ(log.term_at(2), 1u);
  EXPECT_FALSE(log.term_at(1).has_value());
  EXPECT_EQ(log.slice(3, 9, 10).size(), 1u);
  log.reset(10, 5);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(log.last_index(), 10u);
  EXPECT_EQ(log.last_term(), 5u);
  EXPECT_TRUE(log.check().is_ok());
}

}  // namespace
}  // namespace ringleader::membership::raft
