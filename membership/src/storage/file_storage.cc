#include "membership/storage/file_storage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "log_scan.h"
#include "posix_file.h"
#include "record_format.h"

namespace ringleader::membership::storage {
namespace {

constexpr const char* kLogName = "log";
constexpr const char* kHardStateName = "hardstate";
constexpr const char* kSnapshotName = "snapshot";
constexpr const char* kLockName = "lock";
constexpr const char* kOwnerName = "node";
constexpr const char* kFoundersName = "founders";

// Locks the directory for this process (flock on dir/lock, released when the fd closes or the
// process dies): two processes appending to one log would interleave their records.
Result<int> lock_directory(const std::string& dir) {
  const std::string path = dir + "/" + kLockName;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_status(path, "open");
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::error("in use by another running instance (it holds the lock on " + path +
                           "): every instance needs a data_dir of its own");
    }
    return errno_status(path, "lock");
  }
  return fd.release();
}

// The directory belongs to the node that first opened it (dir/node holds its id): another
// node's state, say a data_dir copied from one config to the next, is refused.
Status check_owner(const std::string& dir, std::string_view owner) {
  const std::string path = dir + "/" + kOwnerName;
  if (!file_exists(path)) {
    return write_file_atomically(dir, kOwnerName, std::string(owner) + "\n");
  }
  Result<std::string> bytes = read_whole_file(path);
  if (!bytes) return bytes.status();
  std::string_view held = *bytes;
  if (!held.empty() && held.back() == '\n') held.remove_suffix(1);
  if (held != owner) {
    return Status::error("holds the Raft state of node \"" + std::string(held) + "\", not of \"" +
                         std::string(owner) + "\": every instance needs a data_dir of its own");
  }
  return Status::ok();
}

Result<int> open_for_append(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return errno_status(path, "open");
  return fd;
}

Result<std::optional<raft::Snapshot>> read_snapshot(const std::string& dir) {
  std::string path = dir + "/" + kSnapshotName;
  if (!file_exists(path)) return std::optional<raft::Snapshot>();
  Result<std::string> bytes = read_whole_file(path);
  if (!bytes) return bytes.status();
  Result<raft::Snapshot> snap = decode_snapshot_file(*bytes);
  if (!snap) return Status::error(path + ": " + snap.error());
  return std::optional<raft::Snapshot>(std::move(snap).value());
}

Result<std::vector<raft::NodeId>> read_founders(const std::string& dir) {
  std::string path = dir + "/" + kFoundersName;
  if (!file_exists(path)) return std::vector<raft::NodeId>{};
  Result<std::string> bytes = read_whole_file(path);
  if (!bytes) return bytes.status();
  Result<std::vector<raft::NodeId>> founders = decode_founders_file(*bytes);
  if (!founders) return Status::error(path + ": " + founders.error());
  return founders;
}

Result<raft::HardState> read_hard_state(const std::string& dir) {
  std::string path = dir + "/" + kHardStateName;
  if (!file_exists(path)) return raft::HardState{};
  Result<std::string> bytes = read_whole_file(path);
  if (!bytes) return bytes.status();
  Result<raft::HardState> hs = decode_hard_state_file(*bytes);
  if (!hs) return Status::error(path + ": " + hs.error());
  return hs;
}

}  // namespace

FileStorage::FileStorage(std::string dir, int log_fd, int lock_fd)
    : dir_(std::move(dir)), log_fd_(log_fd), lock_fd_(lock_fd) {}

FileStorage::~FileStorage() {
  if (log_fd_ >= 0) ::close(log_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status FileStorage::check_usable(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(dir, ec);
  if (ec) return Status::error(dir + ": " + ec.message());
  while (path.has_relative_path()) {
    std::filesystem::file_status st = std::filesystem::status(path, ec);
    // A path this user cannot look into (none): nothing to object to.
    if (st.type() == std::filesystem::file_type::none) break;
    if (st.type() == std::filesystem::file_type::directory) {
      // The directory itself, or the nearest one that exists: the instance creates what it
      // needs there, so try it (a read-only file system, /proc). Permissions are left out:
      // they depend on the user, and `check` may run as another one than `serve`.
      std::string probe = (path / ".ringleader-check-XXXXXX").string();
      if (::mkdtemp(probe.data()) != nullptr) {
        ::rmdir(probe.c_str());
      } else if (errno != EACCES && errno != EPERM) {
        return Status::error(dir + ": cannot create anything in " + path.string() + ": " +
                             std::strerror(errno));
      }
      break;
    }
    if (st.type() != std::filesystem::file_type::not_found) {
      return Status::error(dir + ": " + path.string() + " is not a directory");
    }
    path = path.parent_path();
  }
  return Status::ok();
}

Result<std::unique_ptr<FileStorage>> FileStorage::open(std::string dir, std::string_view owner) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) {
    // A new directory: make its entry in the parent durable too.
    std::filesystem::path path = std::filesystem::absolute(dir, ec);
    if (!path.has_filename()) path = path.parent_path();  // "a/b/" names "a/b"
    if (Status s = fsync_dir(path.parent_path().string()); !s) return s;
  }
  if (ec) return Status::error(dir + ": create directory: " + ec.message());
  Result<int> locked = lock_directory(dir);
  if (!locked) return locked.status();
  UniqueFd lock(*locked);
  if (!owner.empty()) {
    if (Status s = check_owner(dir, owner); !s) return s;
  }

  Result<std::optional<raft::Snapshot>> snapshot = read_snapshot(dir);
  if (!snapshot) return snapshot.status();
  Result<raft::HardState> hs = read_hard_state(dir);
  if (!hs) return hs.status();
  Result<std::vector<raft::NodeId>> founders = read_founders(dir);
  if (!founders) return founders.status();

  std::string log_path = dir + "/" + kLogName;
  if (!file_exists(log_path)) {
    raft::Index first = *snapshot ? (*snapshot)->meta.index + 1 : 1;
    if (Status s = write_file_atomically(dir, kLogName, frame_record(encode_log_header(first)));
        !s) {
      return s;
    }
  }
  Result<std::string> bytes = read_whole_file(log_path);
  if (!bytes) return bytes.status();
  Result<LogScan> scan = scan_log(*bytes);
  if (!scan) return Status::error(log_path + ": " + scan.error());

  RecoveryReport report;
  report.entries_kept = scan->entries.size();
  if (scan->valid_bytes < bytes->size()) {
    report.truncated_at = scan->valid_bytes;
    report.truncated_bytes = bytes->size() - scan->valid_bytes;
    report.reason = scan->defect;
    if (::truncate(log_path.c_str(), static_cast<off_t>(scan->valid_bytes)) != 0) {
      return errno_status(log_path, "truncate torn tail");
    }
  }
  Result<int> fd = open_for_append(log_path);
  if (!fd) return fd.status();
  std::unique_ptr<FileStorage> storage(new FileStorage(std::move(dir), *fd, lock.release()));
  if (report.truncated() && ::fsync(storage->log_fd_) != 0) {
    return errno_status(log_path, "fsync after truncation");
  }
  storage->log_first_ = scan->first_index;
  storage->entry_offsets_ = std::move(scan->offsets);
  for (const raft::Entry& e : scan->entries)
    storage->entry_terms_.push_back(e.term);
  storage->log_size_ = scan->valid_bytes;
  storage->stored_hard_state_ = std::move(hs).value();
  storage->founders_ = std::move(founders).value();
  storage->recovery_ = std::move(report);
  return storage;
}

Result<raft::PersistentState> FileStorage::load() const {
  raft::PersistentState state;
  Result<raft::HardState> hs = read_hard_state(dir_);
  if (!hs) return hs.status();
  state.hard_state = std::move(hs).value();
  Result<std::optional<raft::Snapshot>> snapshot = read_snapshot(dir_);
  if (!snapshot) return snapshot.status();
  state.snapshot = std::move(snapshot).value();

  Result<std::string> bytes = read_whole_file(log_path());
  if (!bytes) return bytes.status();
  Result<LogScan> scan = scan_log(*bytes);
  if (!scan) return Status::error(log_path() + ": " + scan.error());
  std::vector<raft::Entry>& entries = scan->entries;
  raft::Index first = scan->first_index;
  raft::Index snap_index = state.snapshot ? state.snapshot->meta.index : 0;
  if (first > snap_index + 1) {
    return Status::error(log_path() + ": log starts at " + std::to_string(first) +
                         " but the snapshot ends at " + std::to_string(snap_index));
  }
  if (state.snapshot && first <= snap_index) {
    // A crash between writing the snapshot and compacting the log: apply the compaction rule.
    raft::Index k = snap_index - first;
    bool keep = k < entries.size() && entries[k].term == state.snapshot->meta.term;
    if (keep) {
      entries.erase(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(k + 1));
    } else {
      entries.clear();
    }
  }
  state.entries = std::move(entries);
  return state;
}

Status FileStorage::write_hard_state(const raft::HardState& hs) {
  if (Status s = write_file_atomically(dir_, kHardStateName, encode_hard_state_file(hs)); !s) {
    return s;
  }
  stored_hard_state_ = hs;
  return Status::ok();
}

Status FileStorage::compact_log(const raft::SnapshotMeta& meta) {
  // Which entry records survive: those after the snapshot, if the log agrees with it there.
  uint64_t keep_from = log_size_;  // byte offset of the first kept record
  size_t keep_first_k = entry_offsets_.size();
  if (meta.index + 1 >= log_first_ && meta.index <= log_last()) {
    bool agrees =
        meta.index + 1 == log_first_ || entry_terms_[meta.index - log_first_] == meta.term;
    if (agrees) {
      keep_first_k = meta.index + 1 - log_first_;
      if (keep_first_k < entry_offsets_.size()) keep_from = entry_offsets_[keep_first_k];
    }
  }
  std::string kept;
  if (keep_from < log_size_) {
    Result<std::string> bytes = read_whole_file(log_path());
    if (!bytes) return bytes.status();
    if (bytes->size() < log_size_) return Status::error(log_path() + ": shorter than expected");
    kept = bytes->substr(keep_from, log_size_ - keep_from);
  }
  std::string header = frame_record(encode_log_header(meta.index + 1));
  if (Status s = write_file_atomically(dir_, kLogName, header + kept); !s) return s;

  Result<int> fd = open_for_append(log_path());
  if (!fd) return fd.status();
  ::close(log_fd_);
  log_fd_ = *fd;
  std::vector<uint64_t> offsets;
  std::vector<raft::Term> terms;
  for (size_t k = keep_first_k; k < entry_offsets_.size(); ++k) {
    offsets.push_back(entry_offsets_[k] - keep_from + header.size());
    terms.push_back(entry_terms_[k]);
  }
  entry_offsets_ = std::move(offsets);
  entry_terms_ = std::move(terms);
  log_first_ = meta.index + 1;
  log_size_ = header.size() + kept.size();
  return Status::ok();
}

Status FileStorage::append_entries(std::span<const raft::Entry> entries) {
  raft::Index first = entries.front().index;
  if (first < log_first_ || first > log_last() + 1) {
    return Status::error("entries starting at " + std::to_string(first) +
                         " do not follow the stored log [" + std::to_string(log_first_) + ", " +
                         std::to_string(log_last() + 1) + ")");
  }
  if (first <= log_last()) {
    uint64_t cut = entry_offsets_[first - log_first_];
    if (::ftruncate(log_fd_, static_cast<off_t>(cut)) != 0) {
      return errno_status(log_path(), "truncate conflicting entries");
    }
    // Durable before the new records are written, so that a crash cannot leave the old
    // records' bytes after a torn new one: the scan would take those for a later write's.
    if (::fdatasync(log_fd_) != 0) return errno_status(log_path(), "fdatasync after truncation");
    entry_offsets_.resize(first - log_first_);
    entry_terms_.resize(first - log_first_);
    log_size_ = cut;
  }
  std::string buf;
  std::vector<uint64_t> offsets;
  for (const raft::Entry& e : entries) {
    if (e.index != first + offsets.size()) return Status::error("entries are not contiguous");
    offsets.push_back(log_size_ + buf.size());
    buf += frame_record(encode_entry(e, buf.size()));
  }
  if (Status s = write_all(log_fd_, buf, log_path()); !s) return s;
  if (::fdatasync(log_fd_) != 0) return errno_status(log_path(), "fdatasync");
  entry_offsets_.insert(entry_offsets_.end(), offsets.begin(), offsets.end());
  for (const raft::Entry& e : entries)
    entry_terms_.push_back(e.term);
  log_size_ += buf.size();
  return Status::ok();
}

Status FileStorage::set_founders(std::vector<raft::NodeId> founders) {
  if (founders.empty() || !std::is_sorted(founders.begin(), founders.end()) ||
      std::adjacent_find(founders.begin(), founders.end()) != founders.end()) {
    return Status::error("founders must be sorted, distinct and at least one");
  }
  if (Status s = write_file_atomically(dir_, kFoundersName, encode_founders_file(founders)); !s) {
    return s;
  }
  founders_ = std::move(founders);
  return Status::ok();
}

Status FileStorage::persist(const PersistBatch& batch) {
  if (batch.hard_state && (batch.hard_state->term != stored_hard_state_.term ||
                           batch.hard_state->vote != stored_hard_state_.vote)) {
    raft::HardState first = *batch.hard_state;
    first.commit = stored_hard_state_.commit;  // the commit may refer to entries below
    if (Status s = write_hard_state(first); !s) return s;
  }
  if (batch.snapshot) {
    if (Status s =
            write_file_atomically(dir_, kSnapshotName, encode_snapshot_file(*batch.snapshot));
        !s) {
      return s;
    }
    if (Status s = compact_log(batch.snapshot->meta); !s) return s;
  }
  if (!batch.entries.empty()) {
    if (Status s = append_entries(batch.entries); !s) return s;
  }
  if (batch.hard_state && *batch.hard_state != stored_hard_state_) {
    if (Status s = write_hard_state(*batch.hard_state); !s) return s;
  }
  return Status::ok();
}

}  // namespace ringleader::membership::storage
