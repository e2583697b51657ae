// The Redis command table: every command ringleader knows, with its arity, key positions,
// flags, routing and merge rule — one table that routing, key extraction and COMMAND all read.
// The table is constant data (no mutable globals); every function here is safe on any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "proxy/redis/command_spec.h"
#include "proxy/redis/key_positions.h"

namespace ringleader::proxy::redis {

// Every top-level command ringleader knows (supported or not), in no particular order.
std::span<const CommandSpec> all_commands();

// The top-level command called `name`, in any letter case; nullptr if unknown.
// Allocation-free: a lowercase copy on the stack and a binary search.
const CommandSpec* find_command(std::string_view name);

// The subcommand `name` (any case) of a container command; nullptr if not listed.
const CommandSpec* find_subcommand(const CommandSpec& container, std::string_view name);

// The spec that governs a request: args[0]'s command, or for a container with args[1], that
// subcommand when listed (else the container, whose routing covers unlisted subcommands).
// nullptr when args is empty or args[0] is unknown.
const CommandSpec* resolve_command(std::span<const std::string_view> args);

// Checks the argument count against spec.arity.
// Error: "wrong number of arguments for 'get' command".
Status check_arity(const CommandSpec& spec, std::span<const std::string_view> args);

// The indexes of the key arguments of `args` (a request for `spec`), in request order,
// duplicates kept. Checks the arity first. Errors (fit for the client after "ERR "):
// wrong arity, bad numkeys ("Number of keys can't be greater than number of args"),
// unbalanced XREAD streams, and options ringleader refuses — XREAD/XREADGROUP with BLOCK
// (blocking). For kSplitKeyValues, the value of the key at index i is at i + 1. SORT's keys
// are the sorted key and a STORE destination, as Redis reports them: the keys its BY and
// GET patterns name are not known before it runs (see sort_patterns).
//
// KeyRule::kAsListed reads the keys as Redis's COMMAND GETKEYS lists them: a range with a
// step (MSET k v k v) gives every step-th argument, whether or not the last step is whole
// (MSET a 1 b: a, b), and options routing refuses (XREAD BLOCK) are read past. Routing uses
// kRouting, under which the first is an arity error and the second a refusal.
enum class KeyRule { kRouting, kAsListed };
Result<KeyPositions> key_positions(const CommandSpec& spec, std::span<const std::string_view> args,
                                   KeyRule rule = KeyRule::kRouting);

// The indexes of a SORT's (kSortStore) BY and GET patterns that name keys (those with a '*',
// which each element substitutes); empty for other commands and for malformed requests.
std::vector<uint32_t> sort_patterns(const CommandSpec& spec,
                                    std::span<const std::string_view> args);

// The error text for a request refused because resolve_command(args) gave a kUnsupported
// spec, naming the command (and an unlisted subcommand) and the reason:
// "'blpop' is not supported by ringleader: blocking commands ...". Prefix "ERR " to send it.
std::string unsupported_message(const CommandSpec& spec,
                                std::span<const std::string_view> args = {});

}  // namespace ringleader::proxy::redis
