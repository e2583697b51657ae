#include "log_scan.h"

#include "record_format.h"

namespace ringleader::membership::storage {

namespace {

// A crash in the middle of an append leaves a torn tail: records cut short or failing their
// checksum, then nothing or garbage (zeros where the file grew but its data never reached the
// disk). The pages of one write reach the disk in any order, so records of the write that was
// in progress can be intact after one that is not; none of that write was durable, so none of
// it was acknowledged. A record that passes its checksum but does not decode, or comes out of
// sequence, is no crash's doing: the log was damaged (or written by two processes). So is a
// record failing its checksum with an intact record of a later write after it: that write's
// fdatasync made the bad record durable before, and its entries may have been acknowledged;
// cutting them could lose committed entries, so nothing is cut.
Status damaged(uint64_t offset, const std::string& what) {
  return Status::error("record at offset " + std::to_string(offset) + ": " + what +
                       ": the log is damaged, not torn by a crash (two processes writing it, or "
                       "the disk); nothing was cut. Move this data_dir away and add the "
                       "instance back as a new peer");
}

// The record at `bad` fails its checksum and its length says it ends at `next`. Follows the
// records after it for as long as they frame: fails when one of them was written by a later
// write than the one that wrote `bad` (or, in a version 1 log, which does not say, when the
// first one is an entry at or past `expected`).
Status check_after_bad_record(std::string_view file, uint64_t bad, uint64_t next,
                              raft::Index expected) {
  for (uint64_t at = next; at < file.size();) {
    ParsedRecord r = parse_record(file.substr(at));
    if (r.defect != RecordDefect::kNone) return Status::ok();
    Result<StoredEntry> later = decode_entry(r.payload);
    if (!later) return Status::ok();
    const raft::Index index = later->entry.index;
    if (!later->into_write) {
      return index >= expected ? damaged(bad, "fails its checksum, and entry " +
                                                  std::to_string(index) + " follows it intact")
                               : Status::ok();
    }
    // Its write began after `bad`: the bad record had been made durable before it. (A write
    // that began before the file's first record was cut away by compaction, which rewrote
    // the file durably.)
    if (*later->into_write <= at && at - *later->into_write > bad) {
      return damaged(bad, "fails its checksum, and entry " + std::to_string(index) +
                              " follows it intact, written after it was made durable");
    }
    at += r.size;
  }
  return Status::ok();
}

}  // namespace

Result<LogScan> scan_log(std::string_view file) {
  LogScan scan;
  ParsedRecord header = parse_record(file);
  if (header.defect != RecordDefect::kNone) {
    return Status::error("log header: " + std::string(to_string(header.defect)));
  }
  Result<raft::Index> first = decode_log_header(header.payload);
  if (!first) return first.status();
  scan.first_index = *first;
  uint64_t offset = header.size;
  raft::Term prev_term = 0;
  while (offset < file.size()) {
    ParsedRecord r = parse_record(file.substr(offset));
    if (r.defect != RecordDefect::kNone) {
      scan.defect = std::string(to_string(r.defect));
      const raft::Index expected = scan.first_index + scan.entries.size();
      if (r.defect == RecordDefect::kChecksum) {
        if (Status s = check_after_bad_record(file, offset, offset + r.size, expected); !s) {
          return s;
        }
      }
      break;
    }
    Result<StoredEntry> stored = decode_entry(r.payload);
    if (!stored) return damaged(offset, stored.error());
    raft::Entry& e = stored->entry;
    raft::Index expected = scan.first_index + scan.entries.size();
    if (e.index != expected) {
      return damaged(offset, "entry index " + std::to_string(e.index) + ", expected " +
                                 std::to_string(expected));
    }
    if (e.term < prev_term) {
      return damaged(offset, "entry term goes back at index " + std::to_string(e.index));
    }
    prev_term = e.term;
    scan.offsets.push_back(offset);
    scan.entries.push_back(std::move(e));
    offset += r.size;
  }
  scan.valid_bytes = offset;
  return scan;
}

}  // namespace ringleader::membership::storage
