// COMMAND replies, built from the command table.
#include "proxy/redis/command_reply.h"

#include <string>

#include "ascii.h"
#include "proxy/redis/command_table.h"
#include "proxy/redis/encoder.h"

namespace ringleader::proxy::redis {
namespace {

using Args = std::span<const std::string_view>;

// Redis's name for each flag COMMAND reports, in Redis's order.
struct FlagName {
  CommandFlag flag;
  std::string_view name;
};
constexpr FlagName kFlagNames[] = {
    {CommandFlag::kWrite, "write"},       {CommandFlag::kRead, "readonly"},
    {CommandFlag::kDenyOom, "denyoom"},   {CommandFlag::kAdmin, "admin"},
    {CommandFlag::kPubSub, "pubsub"},     {CommandFlag::kNoScript, "noscript"},
    {CommandFlag::kBlocking, "blocking"}, {CommandFlag::kLoading, "loading"},
    {CommandFlag::kStale, "stale"},       {CommandFlag::kFast, "fast"},
    {CommandFlag::kNoAuth, "no_auth"},    {CommandFlag::kMovableKeys, "movablekeys"},
};

bool served(const CommandSpec& spec) {
  if (spec.routing != Routing::kUnsupported) return true;
  for (const CommandSpec& sub : spec.subcommands) {
    if (sub.routing != Routing::kUnsupported) return true;
  }
  return false;
}

// The spec COMMAND INFO describes for `name` ("get" or "object|encoding"), if served.
const CommandSpec* served_spec(std::string_view name) {
  const size_t bar = name.find('|');
  const CommandSpec* spec = find_command(name.substr(0, bar));
  if (spec != nullptr && bar != std::string_view::npos) {
    spec = find_subcommand(*spec, name.substr(bar + 1));
  }
  return spec != nullptr && served(*spec) ? spec : nullptr;
}

void append_error_message(std::string& out, std::string_view message) {
  append_error(out, "ERR " + std::string(message));
}

// name, arity, flags, first key, last key, step
void append_entry(std::string& out, const CommandSpec& spec) {
  append_array_header(out, 6);
  append_bulk(out, spec.name);
  append_integer(out, spec.arity);
  size_t flag_count = 0;
  for (const FlagName& flag : kFlagNames)
    flag_count += spec.has(flag.flag) ? 1 : 0;
  append_array_header(out, flag_count);
  for (const FlagName& flag : kFlagNames) {
    if (spec.has(flag.flag)) append_simple(out, flag.name);
  }
  append_integer(out, spec.keys.first);
  append_integer(out, spec.keys.last);
  append_integer(out, spec.keys.step);
}

size_t served_count() {
  size_t count = 0;
  for (const CommandSpec& spec : all_commands())
    count += served(spec) ? 1 : 0;
  return count;
}

}  // namespace

void append_command_all(std::string& out) {
  append_array_header(out, served_count());
  for (const CommandSpec& spec : all_commands()) {
    if (served(spec)) append_entry(out, spec);
  }
}

void append_command_count(std::string& out) {
  append_integer(out, static_cast<int64_t>(served_count()));
}

void append_command_info(std::string& out, std::span<const std::string_view> names) {
  append_array_header(out, names.size());
  for (std::string_view name : names) {
    if (const CommandSpec* spec = served_spec(name)) {
      append_entry(out, *spec);
    } else {
      append_null_bulk(out);
    }
  }
}

void append_command_list(std::string& out) {
  size_t count = 0;
  for (const CommandSpec& spec : all_commands()) {
    if (!served(spec)) continue;
    ++count;
    for (const CommandSpec& sub : spec.subcommands)
      count += served(sub) ? 1 : 0;
  }
  append_array_header(out, count);
  for (const CommandSpec& spec : all_commands()) {
    if (!served(spec)) continue;
    append_bulk(out, spec.name);
    for (const CommandSpec& sub : spec.subcommands) {
      if (served(sub)) append_bulk(out, sub.name);
    }
  }
}

void append_command_getkeys(std::string& out, std::span<const std::string_view> command_args) {
  const CommandSpec* spec = resolve_command(command_args);
  if (spec == nullptr) return append_error_message(out, "Invalid command specified");
  // As Redis, in its order: a command that takes no keys is an error (pub/sub channels are
  // not keys, though a sharded channel is placed as one); one that takes a count of them may
  // be given none (EVAL s 0) and has an empty list.
  if (spec->keys.search == KeySearch::kNone || spec->has(CommandFlag::kPubSub)) {
    return append_error_message(out, "The command has no key arguments");
  }
  if (!check_arity(*spec, command_args)) {
    return append_error_message(out, "Invalid number of arguments specified for command");
  }
  const Result<KeyPositions> keys = key_positions(*spec, command_args, KeyRule::kAsListed);
  if (!keys || (keys->empty() && spec->routing != Routing::kScript)) {
    // Redis does not say what is wrong here; a script or function call, whose keys are
    // optional, has none then.
    if (spec->routing == Routing::kScript) return append_array_header(out, 0);
    return append_error_message(out, "Invalid arguments specified for command");
  }
  append_array_header(out, keys->size());
  for (uint32_t index : *keys)
    append_bulk(out, command_args[index]);
}

void append_command_reply(std::string& out, std::span<const std::string_view> args) {
  static const std::string kServed =
      "ringleader answers COMMAND, COMMAND COUNT, COMMAND GETKEYS, COMMAND INFO and COMMAND LIST";
  if (args.size() <= 1) return append_command_all(out);
  const CommandSpec* spec = resolve_command(args);
  if (spec == nullptr || spec->subcommands.size() != 0) {  // COMMAND itself: not a listed sub
    constexpr size_t kMaxShown = 64;
    std::string shown(args[1].substr(0, kMaxShown));
    return append_error_message(out, "unknown subcommand '" + shown + "'. " + kServed);
  }
  if (spec->routing == Routing::kUnsupported) {
    return append_error_message(out, unsupported_message(*spec, args));
  }
  if (Status arity = check_arity(*spec, args); !arity) {
    return append_error_message(out, arity.message());
  }
  const std::string_view sub = spec->subcommand_name();
  if (sub == "count") return append_command_count(out);
  if (sub == "info") {
    if (args.size() == 2) return append_command_all(out);
    return append_command_info(out, args.subspan(2));
  }
  if (sub == "list") {
    // COMMAND LIST FILTERBY MODULE|ACLCAT|PATTERN x is not served; any other form is
    // Redis's syntax error.
    const bool filter =
        args.size() == 5 && equals_lowercase(args[2], "filterby") &&
        (equals_lowercase(args[3], "module") || equals_lowercase(args[3], "aclcat") ||
         equals_lowercase(args[3], "pattern"));
    if (filter) {
      return append_error_message(out, "COMMAND LIST FILTERBY is not supported by ringleader");
    }
    if (args.size() > 2) return append_error_message(out, "syntax error");
    return append_command_list(out);
  }
  if (sub == "getkeys") return append_command_getkeys(out, args.subspan(2));
  append_error_message(out, "unknown subcommand '" + std::string(sub) + "'. " + kServed);
}

}  // namespace ringleader::proxy::redis
