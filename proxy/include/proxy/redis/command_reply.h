// Replies to the COMMAND command, built from the command table, in the RESP2 format redis-cli
// and redis-py read: one 6-element array per command (name, arity, flags, first key, last key,
// step). Only commands ringleader serves are described (routing != kUnsupported; a container
// when any of its subcommands is served) — COMMAND INFO of any other name is nil.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace ringleader::proxy::redis {

// Answers a whole COMMAND request (args[0] is "COMMAND" in any case):
//   COMMAND                      every served command
//   COMMAND COUNT                how many top-level commands COMMAND lists
//   COMMAND INFO [name ...]      one entry per name ("container|sub" too), nil when not served;
//                                no name: every served command
//   COMMAND LIST                 names of every served command and subcommand
//   COMMAND GETKEYS cmd arg ...  the key arguments of that request, by the table
// anything else gets an error reply. Appends exactly one reply to `out`.
void append_command_reply(std::string& out, std::span<const std::string_view> args);

// The pieces, for callers that want them directly.
void append_command_all(std::string& out);
void append_command_count(std::string& out);
void append_command_info(std::string& out, std::span<const std::string_view> names);
void append_command_list(std::string& out);
void append_command_getkeys(std::string& out, std::span<const std::string_view> command_args);

}  // namespace ringleader::proxy::redis
