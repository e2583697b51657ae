#include "log_scan.h"

#include "record_format.h"

namespace ringleader::membership::storage {

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
      break;
    }
    Result<raft::Entry> e = decode_entry(r.payload);
    if (!e) {
      scan.defect = e.error();
      break;
    }
    raft::Index expected = scan.first_index + scan.entries.size();
    if (e->index != expected) {
      scan.defect =
          "entry index " + std::to_string(e->index) + ", expected " + std::to_string(expected);
      break;
    }
    if (e->term < prev_term) {
      scan.defect = "entry term goes back at index " + std::to_string(e->index);
      break;
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
