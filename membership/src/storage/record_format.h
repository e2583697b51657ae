// On-disk formats of FileStorage. Everything is little-endian and framed as records:
//
//   record  = u32 payload length | u32 CRC-32C of (length bytes + payload) | payload
//
//   log file       = record(log header) record(entry)*
//     log header   = u8 kind=1 | u32 magic "RLLG" | u8 version | u64 index of the first entry
//     entry        = u8 kind=3 | u64 bytes into its write | u64 term | u64 index |
//                    u8 entry type | u32 length | data
//       "bytes into its write": from the first record that the same append (one write, one
//       fdatasync) wrote to this record's start, as written; the scan tells an unsynced
//       write's records from those made durable before it by it. Version 1 logs hold
//       kind=2 entries, which lack the field; they are still read.
//   hardstate file = record(u32 magic "RLHS" | u8 version | u64 term | u32 length | vote |
//                           u64 commit)
//   snapshot file  = record(u32 magic "RLSN" | u8 version | u64 index | u64 term |
//                           u32 length | encoded configuration | u32 length | data)
//   founders file  = record(u32 magic "RLFD" | u8 version | u32 length |
//                           encoded configuration holding only the founding voters)
//
// Decoders never throw or assert: bad bytes are an error value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "membership/raft/snapshot.h"
#include "membership/raft/types.h"

namespace ringleader::membership::storage {

inline constexpr size_t kRecordHeaderBytes = 8;
inline constexpr uint32_t kMaxRecordPayload = 64u << 20;

std::string frame_record(std::string_view payload);

// Why a record could not be read.
enum class RecordDefect : uint8_t {
  kNone,
  kTruncatedHeader,   // fewer than 8 bytes left
  kTruncatedPayload,  // the length runs past the end of the data
  kOversized,         // the length is above kMaxRecordPayload
  kChecksum,          // the CRC does not match
};
std::string_view to_string(RecordDefect defect);

struct ParsedRecord {
  RecordDefect defect = RecordDefect::kNone;
  std::string_view payload;  // valid only when defect == kNone
  // Bytes the record occupies, header included: set when defect is kNone or kChecksum (then
  // as its length field says, which the failed checksum does not vouch for).
  size_t size = 0;
};
// Reads the record at the start of `in`.
ParsedRecord parse_record(std::string_view in);

std::string encode_log_header(raft::Index first_index);
Result<raft::Index> decode_log_header(std::string_view payload);
// An entry record as read: the entry, and how far into its write it was written (absent in a
// version 1 record).
struct StoredEntry {
  raft::Entry entry;
  std::optional<uint64_t> into_write;
};
std::string encode_entry(const raft::Entry& entry, uint64_t into_write);
Result<StoredEntry> decode_entry(std::string_view payload);

std::string encode_hard_state_file(const raft::HardState& hs);
Result<raft::HardState> decode_hard_state_file(std::string_view file);
std::string encode_snapshot_file(const raft::Snapshot& snapshot);
Result<raft::Snapshot> decode_snapshot_file(std::string_view file);
// Founders: at least one voter, nothing else.
std::string encode_founders_file(const std::vector<raft::NodeId>& founders);
Result<std::vector<raft::NodeId>> decode_founders_file(std::string_view file);

}  // namespace ringleader::membership::storage
