#include "membership/storage/file_storage.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "membership/storage/crc32c.h"
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

// A log written in two appends (two writes, each synced): its bytes, and where the second
// write starts.
struct TwoWrites {
  uint64_t second_at = 0;
  std::string log;
};
TwoWrites write_twice(const TempDir& dir, const std::vector<raft::Entry>& first,
                      const std::vector<raft::Entry>& second) {
  TwoWrites out;
  auto s = open_ok(dir.path());
  EXPECT_TRUE(persist(*s, nullptr, nullptr, first).is_ok());
  out.second_at = read_file(dir.file("log")).size();
  EXPECT_TRUE(persist(*s, nullptr, nullptr, second).is_ok());
  out.log = read_file(dir.file("log"));
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
  const auto [before, full] = write_twice(dir, make_entries(1, {1, 1, 1}), make_entries(4, {1}));
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
  const auto [before, full] = write_twice(dir, make_entries(1, {1, 1}), make_entries(3, {1, 1}));
  std::string torn = full.substr(0, before + 12) + std::string(full.size() - before - 12, '\0');
  torn[before + 9] = static_cast<char>(torn[before + 9] ^ 0x20);  // entry 3 fails its checksum
  write_file(dir.file("log"), torn);
  auto s = open_ok(dir.path());
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->recovery().truncated());
  EXPECT_EQ(indexes(load_ok(*s)), (std::vector<raft::Index>{1, 2}));
}

std::vector<raft::Entry> big_entries(raft::Index first, size_t n, size_t bytes) {
  std::vector<raft::Entry> out = make_entries(first, std::vector<raft::Term>(n, 1));
  for (raft::Entry& e : out)
    e.data.resize(bytes, static_cast<char>('a' + e.index % 26));
  return out;
}

// The pages of one write reach the disk in any order: a crash in the middle of it can leave a
// page of zeros with intact records of the same write after it. Nothing of that write was
// durable (its fdatasync had not returned), so it is a torn tail, cut from the first bad
// record, wherever the lost page falls.
TEST(FileStorage, ALostPageInTheLastWriteIsATornTailEvenWithIntactRecordsAfterIt) {
  TempDir dir;
  const auto [before, full] = write_twice(dir, make_entries(1, {1, 1}), big_entries(3, 3, 10000));
  // Where each record of the last write starts (entries 3, 4, 5: equal sizes).
  const uint64_t record = (full.size() - before) / 3;
  ASSERT_EQ(before + 3 * record, full.size());
  constexpr uint64_t kPage = 4096;
  int pages = 0;
  for (uint64_t page = (before + kPage - 1) / kPage * kPage; page < full.size(); page += kPage) {
    std::string torn = full;
    std::fill(torn.begin() + static_cast<ptrdiff_t>(page),
              torn.begin() + static_cast<ptrdiff_t>(std::min(page + kPage, full.size())), '\0');
    write_file(dir.file("log"), torn);
    auto s = FileStorage::open(dir.path());
    ASSERT_TRUE(s.is_ok()) << "page at " << page << ": " << s.error();
    const uint64_t first_bad = (page - before) / record;  // 0 for entry 3
    EXPECT_EQ((*s)->recovery().truncated_at, before + first_bad * record) << "page " << page;
    std::vector<raft::Index> kept{1, 2};
    for (uint64_t k = 0; k < first_bad; ++k)
      kept.push_back(3 + k);
    EXPECT_EQ(indexes(load_ok(**s)), kept) << "page at " << page;
    ++pages;
  }
  EXPECT_GE(pages, 6);  // among them pages inside entries 3 and 4, with intact records after
}

// A compaction copies the records it keeps as they are, so a kept write's first records may be
// gone; a bad record in it is still told from the later writes after it.
TEST(FileStorage, AfterACompactionABadRecordBeforeALaterWriteStillFailsOpen) {
  TempDir dir;
  std::string full;
  uint64_t entry_3 = 0;
  {
    auto s = open_ok(dir.path());
    ASSERT_TRUE(persist(*s, nullptr, nullptr, big_entries(1, 4, 100)).is_ok());
    raft::Snapshot snap = make_snapshot(2, 1);
    ASSERT_TRUE(persist(*s, nullptr, &snap, {}).is_ok());
    entry_3 = read_file(dir.file("log")).size() - 2 * (8 + 1 + 8 + 8 + 8 + 1 + 4 + 100);
    ASSERT_TRUE(persist(*s, nullptr, nullptr, big_entries(5, 2, 100)).is_ok());
    full = read_file(dir.file("log"));
    ASSERT_EQ(indexes(load_ok(*s)), (std::vector<raft::Index>{3, 4, 5, 6}));
  }
  std::string damaged = full;
  damaged[entry_3 + 60] = static_cast<char>(damaged[entry_3 + 60] ^ 0x20);  // entry 3's data
  write_file(dir.file("log"), damaged);
  auto s = FileStorage::open(dir.path());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.error().find("entry 5 follows it intact, written after it was made durable"),
            std::string::npos)
      << s.error();
  EXPECT_EQ(read_file(dir.file("log")), damaged);

  // Entry 4, of the same (compacted, durable) write, is the one damaged: the same.
  damaged = full;
  const uint64_t entry_4 = entry_3 + (8 + 1 + 8 + 8 + 8 + 1 + 4 + 100);
  damaged[entry_4 + 60] = static_cast<char>(damaged[entry_4 + 60] ^ 0x20);
  write_file(dir.file("log"), damaged);
  s = FileStorage::open(dir.path());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.error().find("entry 5 follows it intact"), std::string::npos) << s.error();
}

// Little-endian framing as record_format.h describes it, written out by hand so that a log of
// the earlier format can be built.
std::string le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}
std::string record(const std::string& payload) {
  const std::string length = le(payload.size(), 4);
  return length + le(crc32c(payload, crc32c(length)), 4) + payload;
}
std::string version_1_entry(raft::Term term, raft::Index index, const std::string& data) {
  return record(le(2, 1) + le(term, 8) + le(index, 8) + le(0, 1) + le(data.size(), 4) + data);
}

// A log of format version 1 (entries without their offset into their write) opens as it is,
// takes appends, and keeps the old rule for a bad record: the intact entry after it fails open.
TEST(FileStorage, AVersion1LogIsStillRead) {
  TempDir dir;
  const std::string header = record(le(1, 1) + le(0x474c4c52, 4) + le(1, 1) + le(1, 8));
  const std::string v1 = header + version_1_entry(1, 1, "one") + version_1_entry(1, 2, "two");
  write_file(dir.file("log"), v1);
  {
    auto s = open_ok(dir.path());
    ASSERT_NE(s, nullptr);
    raft::PersistentState state = load_ok(*s);
    ASSERT_EQ(indexes(state), (std::vector<raft::Index>{1, 2}));
    EXPECT_EQ(state.entries[1].data, "two");
    ASSERT_TRUE(persist(*s, nullptr, nullptr, make_entries(3, {2})).is_ok());
  }
  EXPECT_EQ(indexes(load_ok(*open_ok(dir.path()))), (std::vector<raft::Index>{1, 2, 3}));

  std::string damaged = v1;
  damaged[header.size() + 20] = static_cast<char>(damaged[header.size() + 20] ^ 0x20);
  write_file(dir.file("log"), damaged);
  auto s = FileStorage::open(dir.path());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.error().find("entry 2 follows it intact"), std::string::npos) << s.error();
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
