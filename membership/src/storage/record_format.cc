#include "record_format.h"

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"
#include "membership/raft/configuration.h"
#include "membership/storage/crc32c.h"

namespace ringleader::membership::storage {
namespace {

constexpr uint8_t kKindLogHeader = 1;
constexpr uint8_t kKindEntryV1 = 2;  // without its offset into its write
constexpr uint8_t kKindEntry = 3;
constexpr uint32_t kLogMagic = 0x474c4c52;        // "RLLG"
constexpr uint32_t kHardStateMagic = 0x53484c52;  // "RLHS"
constexpr uint32_t kSnapshotMagic = 0x4e534c52;   // "RLSN"
constexpr uint32_t kFoundersMagic = 0x44464c52;   // "RLFD"
constexpr uint8_t kFormatVersion = 1;
// The log's own version: 2 since entries record their offset into their write. Version 1
// logs are read (and appended to) as they are.
constexpr uint8_t kLogFormatVersion = 2;

uint32_t record_crc(std::string_view length_bytes, std::string_view payload) {
  return crc32c(payload, crc32c(length_bytes));
}

// The single record a whole file consists of (hardstate, snapshot).
Result<std::string_view> sole_record(std::string_view file, std::string_view what) {
  ParsedRecord r = parse_record(file);
  if (r.defect != RecordDefect::kNone) {
    return Status::error(std::string(what) + ": " + std::string(to_string(r.defect)));
  }
  if (r.size != file.size()) return Status::error(std::string(what) + ": trailing bytes");
  return r.payload;
}

}  // namespace

std::string_view to_string(RecordDefect defect) {
  switch (defect) {
    case RecordDefect::kNone:
      return "ok";
    case RecordDefect::kTruncatedHeader:
      return "truncated record header";
    case RecordDefect::kTruncatedPayload:
      return "truncated record payload";
    case RecordDefect::kOversized:
      return "record length out of range";
    case RecordDefect::kChecksum:
      return "record checksum mismatch";
  }
  return "unknown";
}

std::string frame_record(std::string_view payload) {
  codec::ByteWriter len;
  len.u32(static_cast<uint32_t>(payload.size()));
  codec::ByteWriter w;
  w.raw(len.view());
  w.u32(record_crc(len.view(), payload));
  w.raw(payload);
  return std::move(w).take();
}

ParsedRecord parse_record(std::string_view in) {
  ParsedRecord r;
  if (in.size() < kRecordHeaderBytes) {
    r.defect = RecordDefect::kTruncatedHeader;
    return r;
  }
  codec::ByteReader header(in.substr(0, kRecordHeaderBytes));
  uint32_t length = header.u32();
  uint32_t crc = header.u32();
  if (length > kMaxRecordPayload) {
    r.defect = RecordDefect::kOversized;
    return r;
  }
  if (length > in.size() - kRecordHeaderBytes) {
    r.defect = RecordDefect::kTruncatedPayload;
    return r;
  }
  std::string_view payload = in.substr(kRecordHeaderBytes, length);
  r.size = kRecordHeaderBytes + length;  // as its length says, even when it fails the check
  if (record_crc(in.substr(0, 4), payload) != crc) {
    r.defect = RecordDefect::kChecksum;
    return r;
  }
  r.payload = payload;
  return r;
}

std::string encode_log_header(raft::Index first_index) {
  codec::ByteWriter w;
  w.u8(kKindLogHeader);
  w.u32(kLogMagic);
  w.u8(kLogFormatVersion);
  w.u64(first_index);
  return std::move(w).take();
}

Result<raft::Index> decode_log_header(std::string_view payload) {
  codec::ByteReader r(payload);
  uint8_t kind = r.u8();
  uint32_t magic = r.u32();
  uint8_t version = r.u8();
  raft::Index first = r.u64();
  if (!r.done() || kind != kKindLogHeader || magic != kLogMagic) {
    return Status::error("not a ringleader raft log");
  }
  if (version != 1 && version != kLogFormatVersion) {
    return Status::error("unsupported log format version " + std::to_string(version));
  }
  if (first == 0) return Status::error("log header: first index 0");
  return first;
}

std::string encode_entry(const raft::Entry& entry, uint64_t into_write) {
  codec::ByteWriter w;
  w.u8(kKindEntry);
  w.u64(into_write);
  w.u64(entry.term);
  w.u64(entry.index);
  w.u8(static_cast<uint8_t>(entry.type));
  w.bytes(entry.data);
  return std::move(w).take();
}

Result<StoredEntry> decode_entry(std::string_view payload) {
  codec::ByteReader r(payload);
  StoredEntry out;
  raft::Entry& e = out.entry;
  uint8_t kind = r.u8();
  if (kind == kKindEntry) out.into_write = r.u64();
  e.term = r.u64();
  e.index = r.u64();
  uint8_t type = r.u8();
  e.data = r.bytes(kMaxRecordPayload);
  if (!r.done() || (kind != kKindEntry && kind != kKindEntryV1)) {
    return Status::error("malformed entry record");
  }
  if (type > static_cast<uint8_t>(raft::EntryType::kConfig)) {
    return Status::error("unknown entry type " + std::to_string(type));
  }
  e.type = static_cast<raft::EntryType>(type);
  return out;
}

std::string encode_hard_state_file(const raft::HardState& hs) {
  codec::ByteWriter w;
  w.u32(kHardStateMagic);
  w.u8(kFormatVersion);
  w.u64(hs.term);
  w.bytes(hs.vote);
  w.u64(hs.commit);
  return frame_record(w.view());
}

std::string encode_founders_file(const std::vector<raft::NodeId>& founders) {
  codec::ByteWriter w;
  w.u32(kFoundersMagic);
  w.u8(kFormatVersion);
  w.bytes(raft::encode_configuration(raft::Configuration{founders, {}}));
  return frame_record(w.view());
}

Result<std::vector<raft::NodeId>> decode_founders_file(std::string_view file) {
  Result<std::string_view> payload = sole_record(file, "founders");
  if (!payload) return payload.status();
  codec::ByteReader r(*payload);
  uint32_t magic = r.u32();
  uint8_t version = r.u8();
  std::string config = r.bytes(kMaxRecordPayload);
  if (!r.done() || magic != kFoundersMagic || version != kFormatVersion) {
    return Status::error("founders: malformed or unsupported version");
  }
  Result<raft::Configuration> decoded = raft::decode_configuration(config);
  if (!decoded) return Status::error("founders: " + decoded.error());
  if (decoded->voters.empty() || !decoded->learners.empty() || !decoded->addresses.empty()) {
    return Status::error("founders: not a list of voters");
  }
  return std::move(decoded->voters);
}

Result<raft::HardState> decode_hard_state_file(std::string_view file) {
  Result<std::string_view> payload = sole_record(file, "hardstate");
  if (!payload) return payload.status();
  codec::ByteReader r(*payload);
  raft::HardState hs;
  uint32_t magic = r.u32();
  uint8_t version = r.u8();
  hs.term = r.u64();
  hs.vote = r.bytes(raft::kMaxNodeIdLength);
  hs.commit = r.u64();
  if (!r.done() || magic != kHardStateMagic || version != kFormatVersion) {
    return Status::error("hardstate: malformed or unsupported version");
  }
  return hs;
}

std::string encode_snapshot_file(const raft::Snapshot& snapshot) {
  codec::ByteWriter w;
  w.u32(kSnapshotMagic);
  w.u8(kFormatVersion);
  w.u64(snapshot.meta.index);
  w.u64(snapshot.meta.term);
  w.bytes(raft::encode_configuration(snapshot.meta.config));
  w.bytes(snapshot.data);
  return frame_record(w.view());
}

Result<raft::Snapshot> decode_snapshot_file(std::string_view file) {
  Result<std::string_view> payload = sole_record(file, "snapshot");
  if (!payload) return payload.status();
  codec::ByteReader r(*payload);
  raft::Snapshot snap;
  uint32_t magic = r.u32();
  uint8_t version = r.u8();
  snap.meta.index = r.u64();
  snap.meta.term = r.u64();
  std::string config = r.bytes(kMaxRecordPayload);
  snap.data = r.bytes(kMaxRecordPayload);
  if (!r.done() || magic != kSnapshotMagic || version != kFormatVersion) {
    return Status::error("snapshot: malformed or unsupported version");
  }
  Result<raft::Configuration> c = raft::decode_configuration(config);
  if (!c) return Status::error("snapshot: " + c.error());
  snap.meta.config = std::move(c).value();
  return snap;
}

}  // namespace ringleader::membership::storage
