#include "membership/state/state_machine.h"

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"
#include "membership/state/command_codec.h"

namespace ringleader::membership::state {
namespace {

// Snapshot data: kSnapshotVersion, the ring epoch (u64), then MembershipState::encode(). Data
// that starts with the state's own version byte (1) holds the state alone, as written before
// the epoch was kept apart from the applied index: its epoch is the snapshot's index.
constexpr uint8_t kSnapshotVersion = 2;
constexpr uint8_t kStateOnlySnapshot = 1;

}  // namespace

std::string MembershipStateMachine::snapshot_data() const {
  codec::ByteWriter w;
  w.u8(kSnapshotVersion);
  w.u64(ring_epoch_);
  w.raw(state_.encode());
  return std::move(w).take();
}

Result<MembershipStateMachine> MembershipStateMachine::restore(const raft::Snapshot& snapshot) {
  MembershipStateMachine sm;
  if (snapshot.meta.index == 0 && snapshot.data.empty()) return sm;
  std::string_view state_bytes = snapshot.data;
  raft::Index epoch = snapshot.meta.index;
  if (!state_bytes.empty() && static_cast<uint8_t>(state_bytes[0]) != kStateOnlySnapshot) {
    codec::ByteReader r(state_bytes);
    uint8_t version = r.u8();
    epoch = r.u64();
    if (!r.ok() || version != kSnapshotVersion) {
      return Status::error("membership snapshot: unsupported encoding version");
    }
    if (epoch > snapshot.meta.index) {
      return Status::error("membership snapshot: ring epoch " + std::to_string(epoch) +
                           " after the snapshot's index " + std::to_string(snapshot.meta.index));
    }
    state_bytes.remove_prefix(1 + 8);
  }
  Result<MembershipState> state = MembershipState::decode(state_bytes);
  if (!state) return state.status();
  sm.state_ = std::move(state).value();
  sm.applied_index_ = snapshot.meta.index;
  sm.ring_epoch_ = epoch;
  return sm;
}

Status MembershipStateMachine::apply(const raft::Entry& entry) {
  if (entry.index != applied_index_ + 1) {
    return Status::error("entry " + std::to_string(entry.index) + " applied after " +
                         std::to_string(applied_index_));
  }
  applied_index_ = entry.index;
  if (entry.type != raft::EntryType::kCommand) return Status::ok();
  Result<Command> command = decode_command(entry.data);
  if (!command) return command.status();
  const MembershipState before = state_;  // small, and changes are rare
  Status s = state_.apply(*command);
  if (s && !(state_ == before)) ring_epoch_ = entry.index;
  return s;
}

}  // namespace ringleader::membership::state
