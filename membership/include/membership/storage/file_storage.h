// FileStorage: RaftStorage in a directory of three files.
//   log       — append-only: a header record, then one record per entry; every record carries
//               its length and a CRC-32C. Appends are fdatasync'ed before persist() returns.
//               Rewritten (atomically) only when a snapshot compacts it.
//   hardstate — term, vote and commit; replaced atomically (temp file, fsync, rename, fsync
//               of the directory).
//   snapshot  — the latest snapshot; replaced atomically.
// And small ones: `lock`, which the open storage holds (flock) so that no second process
// opens the directory; `node`, the id of the node whose state this is; `founders`, the voters
// the node's group was bootstrapped with, once known (replaced atomically).
// On open, a torn or corrupt tail of the log (a crash in the middle of an append) is detected
// by length and checksum, cut off, and described in recovery(); the records before it are
// kept, and so is nothing after it: records of the same append that reached the disk intact
// after a lost page are cut with it (that append had not been synced). A bad record followed
// by an intact one of a later append is damage, not a crash's doing, and fails open(). A
// damaged hardstate or snapshot file (never written in place) fails open().
//
// Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "membership/storage/raft_storage.h"

namespace ringleader::membership::storage {

// What open() found and repaired.
struct RecoveryReport {
  // Bytes cut from the end of the log; 0 when the log was intact.
  uint64_t truncated_bytes = 0;
  // File offset where the first bad record started (valid when truncated_bytes > 0).
  uint64_t truncated_at = 0;
  // Why the record there was rejected, e.g. "record checksum mismatch".
  std::string reason;
  // Entry records kept in the log.
  size_t entries_kept = 0;

  bool truncated() const { return truncated_bytes > 0; }
};

class FileStorage final : public RaftStorage {
 public:
  // Opens the storage in `dir`, creating the directory and an empty log if needed, and cuts
  // a torn log tail. Fails on I/O errors, on damage that is not a torn tail, when another
  // process has the directory open, and when `owner` (a node id; empty: not checked) differs
  // from the node the directory was first opened for.
  static Result<std::unique_ptr<FileStorage>> open(std::string dir, std::string_view owner = {});
  // Whether open() could use or create `dir`, leaving nothing behind: it is a directory, or
  // the nearest part of its path that exists is one, and a directory can be created in that
  // one (a scratch directory, removed at once). Permissions are not checked: they depend on
  // the user, and `check` may run as another one than `serve`.
  static Status check_usable(const std::string& dir);

  ~FileStorage() override;

  const RecoveryReport& recovery() const { return recovery_; }
  const std::string& dir() const { return dir_; }

  // The founding voters recorded in `founders` (sorted); empty when none are recorded.
  const std::vector<raft::NodeId>& founders() const { return founders_; }
  // Records them (sorted, non-empty), durably.
  Status set_founders(std::vector<raft::NodeId> founders);

  Status persist(const PersistBatch& batch) override;
  // Reads the files again.
  Result<raft::PersistentState> load() const override;

 private:
  FileStorage(std::string dir, int log_fd, int lock_fd);

  std::string log_path() const { return dir_ + "/log"; }
  Status write_hard_state(const raft::HardState& hs);
  Status compact_log(const raft::SnapshotMeta& meta);
  Status append_entries(std::span<const raft::Entry> entries);
  raft::Index log_last() const { return log_first_ + entry_offsets_.size() - 1; }

  const std::string dir_;
  std::vector<raft::NodeId> founders_;
  // Open for appending; replaced when compact_log() renames a new log into place.
  int log_fd_;
  // Holds the directory's lock until closed.
  int lock_fd_;
  // Index the first entry record has (or would have). Changes only in compact_log().
  raft::Index log_first_ = 1;
  // Offset in the log file and term of entry log_first_ + k. Invariant: match the file.
  std::vector<uint64_t> entry_offsets_;
  std::vector<raft::Term> entry_terms_;
  // Size of the log file; the next record goes here.
  uint64_t log_size_ = 0;
  // What the hardstate file holds.
  raft::HardState stored_hard_state_;
  RecoveryReport recovery_;
};

}  // namespace ringleader::membership::storage
