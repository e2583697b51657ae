// Reads a FileStorage log file: the header, then entry records until the end or a torn tail
// (a record cut short or failing its checksum).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "membership/raft/types.h"

namespace ringleader::membership::storage {

struct LogScan {
  raft::Index first_index = 1;
  std::vector<raft::Entry> entries;
  std::vector<uint64_t> offsets;  // file offset of each entry's record
  uint64_t valid_bytes = 0;       // the header and every good record
  std::string defect;             // why scanning stopped early; empty when it reached the end
};

// Fails when the header is unreadable (it is never written in place) and when the log is
// damaged rather than torn: a record that passes its checksum but does not decode, or entries
// out of sequence.
Result<LogScan> scan_log(std::string_view file);

}  // namespace ringleader::membership::storage
