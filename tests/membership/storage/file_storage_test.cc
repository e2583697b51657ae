#include "membership/storage/file_storage.h"

#include <gtest/gtest.h>

#include "storage_test_util.h"
#include "temp_dir.h"

namespace ringleader::membership::storage {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::write_file;

std::unique_ptr<FileStorage> open_ok(const std::string& dir) {
  auto s = FileStorage::open(dir);
  EXPECT_TRUE(s.is_ok()) << s.error();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

raft::PersistentState load_ok(const RaftStorage& s) {
  auto state = s.load();
  EXPECT_TRUE(state.is_ok()) << state.error();
  return state.is_ok() ? std::move(state).value() : raft::PersistentState{};
}

std::vector<raft::Index> indexes(const raft::PersistentState& s) {
  std::vector<raft::Index> out;
  for (const raft::Entry& e : s.entries)
    out.push_back(e.index);
  return out;
}

TEST(FileStorage, EmptyDirectoryOpensEmpty) {
  TempDir dir;
  auto s = open_ok(dir.path() + "/data");
  raft::PersistentState state = load_ok(*s);
  EXPECT_EQ(state, raft::PersistentState{});
  EXPECT_FALSE(s->recovery().truncated());
}

TEST(FileStorage, ReopenYieldsTheSameState) {
  TempDir dir;
  raft::PersistentState expected;
  {
    auto s = open_ok(dir.path());
    raft::HardState hs{3, "p2", 2};
    ASSERT_TRUE(persist(*s, &hs, nullptr, make_entries(1, {1, 2, 3})).is_ok());
    raft::HardState hs2{3, "p2", 3};
    ASSERT_TRUE(persist(*s, &hs2, nullptr, make_entries(4, {3, 3})).is_ok());
    expected = load_ok(*s);
    EXPECT_EQ(expected.hard_state, hs2);
    EXPECT_EQ(indexes(expected), (std::vector<raft::Index>{1, 2, 3, 4, 5}));
  }
  auto reopened = open_ok(dir.path());
  EXPECT_FALSE(reopened->recovery().truncated());
  EXPECT_EQ(reopened->recovery().entries_kept, 5u);
  EXPECT_EQ(load_ok(*reopened), expected);
  // Same as the in-memory twin given the same batches.
}

TEST(FileStorage, ConflictingSuffixIsReplaced) {
  TempDir dir;
  auto s = open_ok(dir.path());
  ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(1, {1, 1, 2, 2, 2})).is_ok());
  ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(3, {4})).is_ok());
  raft::PersistentState state = load_ok(*s);
  EXPECT_EQ(indexes(state), (std::vector<raft::Index>{1, 2, 3}));
  EXPECT_EQ(state.entries[2].term, 4u);
  EXPECT_FALSE(persist(*s, nullptr, nullptr, make_entries(9, {4})).is_ok()) << "gap";
  s.reset();
  EXPECT_EQ(load_ok(*open_ok(dir.path())), state);
}

TEST(FileStorage, CrashAtEveryByteOfTheLastRecordRecoversThePrefix) {
  TempDir dir;
  raft::HardState hs{2, "p1", 4};
  uint64_t before = 0;
  std::string full;
  {
    auto s = open_ok(dir.path());
    ASSERT_TRUE(persist(*s, &hs, nullptr, make_entries(1, {1, 1, 2, 2})).is_ok());
    before = read_file(dir.file("log")).size();
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(5, {2})).is_ok());
    full = read_file(dir.file("log"));
  }
  ASSERT_GT(full.size(), before);
  for (uint64_t cut = before; cut < full.size(); ++cut) {
    write_file(dir.file("log"), full.substr(0, cut));
    auto s = open_ok(dir.path());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->recovery().truncated(), cut > before) << "cut at " << cut;
    EXPECT_EQ(s->recovery().truncated_bytes, cut - before);
    EXPECT_EQ(s->recovery().entries_kept, 4u);
    raft::PersistentState state = load_ok(*s);
    EXPECT_EQ(indexes(state), (std::vector<raft::Index>{1, 2, 3, 4})) << "cut at " << cut;
    EXPECT_EQ(state.hard_state, hs);
    // The repaired log takes appends again.
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(5, {3})).is_ok());
    s.reset();
    EXPECT_EQ(indexes(load_ok(*open_ok(dir.path()))), (std::vector<raft::Index>{1, 2, 3, 4, 5}));
  }
}

TEST(FileStorage, FlippedByteInTheTailIsDetected) {
  TempDir dir;
  uint64_t before = 0;
  std::string full;
  {
    auto s = open_ok(dir.path());
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(1, {1, 1, 1})).is_ok());
    before = read_file(dir.file("log")).size();
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(4, {1})).is_ok());
    full = read_file(dir.file("log"));
  }
  for (uint64_t at = before; at < full.size(); ++at) {
    std::string damaged = full;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    write_file(dir.file("log"), damaged);
    auto s = open_ok(dir.path());
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->recovery().truncated()) << "flip at " << at;
    EXPECT_EQ(s->recovery().truncated_at, before);
    EXPECT_FALSE(s->recovery().reason.empty());
    EXPECT_EQ(indexes(load_ok(*s)), (std::vector<raft::Index>{1, 2, 3}));
  }
}

// A record failing its checksum with intact entries after it was not torn by a crash: the
// entries after it were written later and may have been acknowledged. Cutting them could lose
// committed entries (the group then elects a leader without them), so open fails instead.
TEST(FileStorage, FlippedByteBeforeIntactEntriesFailsOpenInsteadOfCutting) {
  TempDir dir;
  uint64_t first_two = 0, first_three = 0;
  std::string full;
  {
    auto s = open_ok(dir.path());
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(1, {1, 1})).is_ok());
    first_two = read_file(dir.file("log")).size();
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(3, {1})).is_ok());
    first_three = read_file(dir.file("log")).size();
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(4, {1, 1})).is_ok());
    full = read_file(dir.file("log"));
  }
  uint64_t refused = 0;
  for (uint64_t at = first_two; at < first_three; ++at) {
    std::string damaged = full;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    write_file(dir.file("log"), damaged);
    auto s = FileStorage::open(dir.path());
    refused += s.is_ok() ? 0 : 1;
    if (s.is_ok()) {
      // The flip hit the record's length: what follows no longer frames as entry 4. Cut
      // as a torn tail, which is all a scan can tell.
      EXPECT_EQ(indexes(load_ok(**s)), (std::vector<raft::Index>{1, 2})) << "flip at " << at;
      continue;
    }
    EXPECT_NE(s.error().find("entry 4 follows it intact"), std::string::npos) << s.error();
    EXPECT_NE(s.error().find("the log is damaged, not torn"), std::string::npos) << s.error();
    EXPECT_EQ(read_file(dir.file("log")), damaged) << "flip at " << at;
  }
  // Only the 4 bytes of the length can hide what follows; every other flip is refused.
  EXPECT_EQ(refused, first_three - first_two - 4);
}

// Where the file grew but its data never reached the disk, a crash leaves zeros after the
// torn record; they frame as an empty record, which is no entry: still a torn tail.
TEST(FileStorage, ZerosAfterATornRecordAreATornTail) {
  TempDir dir;
  uint64_t before = 0;
  std::string full;
  {
    auto s = open_ok(dir.path());
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(1, {1, 1})).is_ok());
    before = read_file(dir.file("log")).size();
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(3, {1, 1})).is_ok());
    full = read_file(dir.file("log"));
  }
  std::string torn = full.substr(0, before + 12) + std::string(full.size() - before - 12, '\0');
  torn[before + 9] = static_cast<char>(torn[before + 9] ^ 0x20);  // entry 3 fails its checksum
  write_file(dir.file("log"), torn);
  auto s = open_ok(dir.path());
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->recovery().truncated());
  EXPECT_EQ(indexes(load_ok(*s)), (std::vector<raft::Index>{1, 2}));
}

TEST(FileStorage, SnapshotCompactsTheLog) {
  TempDir dir;
  auto s = open_ok(dir.path());
  ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(1, {1, 1, 2, 2, 3, 3})).is_ok());
  raft::Snapshot snap = make_snapshot(4, 2);
  ASSERT_TRUE(persist(*s, nullptr, &snap, {}).is_ok());
  raft::PersistentState state = load_ok(*s);
  ASSERT_TRUE(state.snapshot.has_value());
  EXPECT_EQ(*state.snapshot, snap);
  EXPECT_EQ(indexes(state), (std::vector<raft::Index>{5, 6}));
  ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(6, {4, 4})).is_ok());
  EXPECT_EQ(indexes(load_ok(*s)), (std::vector<raft::Index>{5, 6, 7}));

  // A snapshot that disagrees with the log (from a leader) replaces all of it.
  raft::Snapshot other = make_snapshot(9, 5);
  ASSERT_TRUE(persist(*s, nullptr, &other, make_entries(10, {5})).is_ok());
  s.reset();
  auto reopened = open_ok(dir.path());
  state = load_ok(*reopened);
  EXPECT_EQ(state.snapshot->meta.index, 9u);
  EXPECT_EQ(indexes(state), (std::vector<raft::Index>{10}));
}

TEST(FileStorage, CrashBetweenSnapshotAndLogRewriteAppliesTheSameRule) {
  TempDir dir;
  std::string old_log;
  {
    auto s = open_ok(dir.path());
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(1, {1, 1, 2, 2, 3})).is_ok());
    old_log = read_file(dir.file("log"));
    raft::Snapshot snap = make_snapshot(3, 2);
    ASSERT_TRUE(persist(*s, nullptr, &snap, {}).is_ok());
  }
  write_file(dir.file("log"), old_log);  // as if the rewrite never happened
  raft::PersistentState state = load_ok(*open_ok(dir.path()));
  EXPECT_EQ(indexes(state), (std::vector<raft::Index>{4, 5}));

  // Same, but the snapshot's term disagrees with the stored entry at its index.
  {
    auto s = open_ok(dir.path());
    raft::Snapshot snap = make_snapshot(3, 7);
    ASSERT_TRUE(persist(*s, nullptr, &snap, {}).is_ok());
  }
  write_file(dir.file("log"), old_log);
  state = load_ok(*open_ok(dir.path()));
  EXPECT_TRUE(state.entries.empty());
  EXPECT_EQ(state.snapshot->meta.term, 7u);
}

TEST(FileStorage, DamagedHardStateFailsOpenInsteadOfGuessing) {
  TempDir dir;
  {
    auto s = open_ok(dir.path());
    raft::HardState hs{5, "p3", 0};
    ASSERT_TRUE(persist(*s, &hs, nullptr, {}).is_ok());
  }
  std::string bytes = read_file(dir.file("hardstate"));
  bytes[bytes.size() - 1] ^= 1;
  write_file(dir.file("hardstate"), bytes);
  auto s = FileStorage::open(dir.path());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.error().find("hardstate"), std::string::npos) << s.error();
}

TEST(FileStorage, FoundersAreKeptAcrossReopensAndCheckedOnWrite) {
  TempDir dir;
  {
    auto s = open_ok(dir.path());
    EXPECT_TRUE(s->founders().empty()) << "none recorded";
    EXPECT_FALSE(s->set_founders({}).is_ok());
    EXPECT_FALSE(s->set_founders({"p2", "p1"}).is_ok()) << "unsorted";
    EXPECT_FALSE(s->set_founders({"p1", "p1"}).is_ok()) << "twice";
    EXPECT_TRUE(s->founders().empty()) << "a refused list is not kept";
    ASSERT_TRUE(s->set_founders({"p1", "p2", "p3"}).is_ok());
    EXPECT_EQ(s->founders(), (std::vector<raft::NodeId>{"p1", "p2", "p3"}));
  }
  EXPECT_EQ(open_ok(dir.path())->founders(), (std::vector<raft::NodeId>{"p1", "p2", "p3"}));

  std::string bytes = read_file(dir.file("founders"));
  bytes[bytes.size() - 1] ^= 1;
  write_file(dir.file("founders"), bytes);
  auto s = FileStorage::open(dir.path());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.error().find("founders"), std::string::npos) << s.error();
}

TEST(FileStorage, OneProcessAtATimeHasTheDirectory) {
  TempDir dir;
  auto first = open_ok(dir.path());
  auto second = FileStorage::open(dir.path());
  ASSERT_FALSE(second.is_ok());
  EXPECT_NE(second.error().find("in use by another running instance"), std::string::npos)
      << second.error();
  first.reset();  // closing releases it
  EXPECT_NE(open_ok(dir.path()), nullptr);
}

TEST(FileStorage, TheDirectoryBelongsToTheNodeThatFirstOpenedIt) {
  TempDir dir;
  {
    auto s = FileStorage::open(dir.path(), "n1");
    ASSERT_TRUE(s.is_ok()) << s.error();
    ASSERT_TRUE(persist(**s, nullptr, nullptr, make_entries(1, {1, 1})).is_ok());
  }
  EXPECT_EQ(read_file(dir.file("node")), "n1\n");
  auto other = FileStorage::open(dir.path(), "n2");
  ASSERT_FALSE(other.is_ok());
  EXPECT_NE(other.error().find("holds the Raft state of node \"n1\", not of \"n2\""),
            std::string::npos)
      << other.error();
  auto again = FileStorage::open(dir.path(), "n1");
  ASSERT_TRUE(again.is_ok()) << again.error();
  EXPECT_EQ(indexes(load_ok(**again)), (std::vector<raft::Index>{1, 2}));
}

// Records that pass their checksum but come out of sequence are no crash's doing (two
// processes appended to one log): open fails and cuts nothing.
TEST(FileStorage, IntactRecordsOutOfSequenceFailOpenInsteadOfBeingCut) {
  TempDir dir;
  std::string first_writer;
  {
    auto s = open_ok(dir.path());
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(1, {1, 1, 1})).is_ok());
    first_writer = read_file(dir.file("log"));
  }
  TempDir other;
  {
    auto s = open_ok(other.path());
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(1, {1, 1, 1, 1, 1})).is_ok());
  }
  // The other log's records 4 and 5 appended twice: index 4, 5, then 4 again.
  const std::string other_log = read_file(other.file("log"));
  const std::string tail = other_log.substr(first_writer.size());
  write_file(dir.file("log"), first_writer + tail + tail);
  auto s = FileStorage::open(dir.path());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.error().find("the log is damaged, not torn"), std::string::npos) << s.error();
  EXPECT_EQ(read_file(dir.file("log")), first_writer + tail + tail);
}

TEST(FileStorage, TermIsWrittenBeforeEntriesAndCommitAfter) {
  // Both hard state writes happen when term and commit change together; the file ends up with
  // the full hard state.
  TempDir dir;
  auto s = open_ok(dir.path());
  raft::HardState hs{4, "p1", 2};
  ASSERT_TRUE(persist(*s, &hs, nullptr, make_entries(1, {4, 4})).is_ok());
  EXPECT_EQ(load_ok(*s).hard_state, hs);
  raft::HardState commit_only{4, "p1", 1};
  ASSERT_TRUE(persist(*s, &commit_only, nullptr, {}).is_ok());
  s.reset();
  EXPECT_EQ(load_ok(*open_ok(dir.path())).hard_state, commit_only);
}

}  // namespace
}  // namespace ringleader::membership::storage
