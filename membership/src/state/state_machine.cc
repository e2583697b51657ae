#include "membership/state/state_machine.h"

#include "membership/state/command_codec.h"

namespace ringleader::membership::state {

Result<MembershipStateMachine> MembershipStateMachine::restore(const raft::Snapshot& snapshot) {
  MembershipStateMachine sm;
  if (snapshot.meta.index == 0 && snapshot.data.empty()) return sm;
  Result<MembershipState> state = MembershipState::decode(snapshot.data);
  if (!state) return state.status();
  sm.state_ = std::move(state).value();
  sm.applied_index_ = snapshot.meta.index;
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
  return state_.apply(*command);
}

}  // namespace ringleader::membership::state
