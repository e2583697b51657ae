#include "log_scan.h"

#include "record_format.h"

namespace ringleader::membership::storage {

namespace {

// A crash in the middle of an append leaves a torn tail: records cut short or failing their
// checksum, then nothing or garbage (zeros where the file grew but its data never reached the
// disk). A record that passes its checksum but does not decode, or comes out of sequence, is
// no crash's doing: the log was damaged (or written by two processes). So is a record failing
// its checksum with later entries intact after it: those were written, and may have been
// acknowledged, after it; cutting them could lose committed entries, so nothing is cut.
Status damaged(uint64_t offset, const std::string& what) {
  return Status::error("record at offset " + std::to_string(offset) + ": " + what +
                       ": the log is damaged, not torn by a crash (two processes writing it, or "
                       "the disk); nothing was cut. Move this data_dir away and add the "
                       "instance back as a new peer");
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
      if (r.defect == RecordDefect::kChecksum && offset + r.size < file.size()) {
        ParsedRecord next = parse_record(file.substr(offset + r.size));
        Result<raft::Entry> later =
            next.defect == RecordDefect::kNone ? decode_entry(next.payload) : Status::error("");
        if (later && later->index >= expected) {
          return damaged(offset, "fails its checksum, and entry " + std::to_string(later->index) +
                                     " follows it intact");
        }
      }
      break;
    }
    Result<raft::Entry> e = decode_entry(r.payload);
    if (!e) return damaged(offset, e.error());
    raft::Index expected = scan.first_index + scan.entries.size();
    if (e->index != expected) {
      return damaged(offset, "entry index " + std::to_string(e->index) + ", expected " +
                                 std::to_string(expected));
    }
    if (e->term < prev_term) {
      return damaged(offset, "entry term goes back at index " + std::to_string(e->index));
    }
    prev_term = e->term;
    scan.offsets.push_back(offset);
    scan.entries.push_back(std::move(e).value());
    offset += r.size;
  }
  scan.valid_bytes = offset;
  return scan;
}

}  // namespace ringleader::membership::storage
