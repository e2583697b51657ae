// Key extraction and arity checks: reads a request's arguments as its KeySpec describes them.
#include <algorithm>
#include <string>
#include <vector>

#include "ascii.h"
#include "proxy/redis/command_table.h"
#include "resp_integer.h"

namespace ringleader::proxy::redis {
namespace {

using Args = std::span<const std::string_view>;

Status arity_error(const CommandSpec& spec) {
  return Status::error("wrong number of arguments for '" + std::string(spec.name) + "' command");
}

Status syntax_error() {
  return Status::error("syntax error");
}

// kRange: first, first+step, ... last (last < 0 counts from the end). With step > 1 and an
// open end (MSET k v k v), the arguments must fill whole steps unless `rule` says otherwise.
Status add_range(const CommandSpec& spec, Args args, KeyPositions& keys,
                 KeyRule rule = KeyRule::kRouting) {
  const KeySpec& ks = spec.keys;
  const int64_t n = static_cast<int64_t>(args.size());
  const int64_t first = ks.first;
  const int64_t last = ks.last >= 0 ? ks.last : n + ks.last;
  if (first <= 0 || ks.step <= 0) return Status::ok();  // no fixed keys
  if (first > last || last >= n) return arity_error(spec);
  if (ks.last < 0 && rule == KeyRule::kRouting && (last + 1 - first) % ks.step != 0) {
    return arity_error(spec);
  }
  keys.reserve(static_cast<size_t>((last - first) / ks.step + 1));
  for (int64_t i = first; i <= last; i += ks.step)
    keys.push_back(static_cast<uint32_t>(i));
  return Status::ok();
}

// kNumkeys: the fixed keys (a destination), then args[numkeys_at] keys after numkeys,
// checked as spec.keys.numkeys_rule says (see NumkeysRule).
Status add_numkeys(const CommandSpec& spec, Args args, KeyPositions& keys) {
  if (Status fixed = add_range(spec, args, keys); !fixed) return fixed;
  const size_t at = static_cast<size_t>(spec.keys.numkeys_at);
  if (at >= args.size()) return arity_error(spec);
  const NumkeysRule rule = spec.keys.numkeys_rule;
  const bool positive_rule = rule == NumkeysRule::kCard || rule == NumkeysRule::kPop;
  const std::optional<int64_t> numkeys = parse_resp_integer(args[at]);
  if (positive_rule && (!numkeys || *numkeys < 1)) {
    return Status::error("numkeys should be greater than 0");
  }
  if (!numkeys) {
    return Status::error(rule == NumkeysRule::kFunction
                             ? "Bad number of keys provided"
                             : "value is not an integer or out of range");
  }
  if (rule == NumkeysRule::kZset && *numkeys < 1) {
    return Status::error("at least 1 input key is needed for '" + std::string(spec.name) +
                         "' command");
  }
  if (*numkeys < 0) return Status::error("Number of keys can't be negative");
  const size_t after = args.size() - at - 1;  // arguments after numkeys
  // kPop needs its direction (LEFT/RIGHT, MIN/MAX) after the keys.
  const size_t room = rule == NumkeysRule::kPop ? (after > 0 ? after - 1 : 0) : after;
  if (static_cast<uint64_t>(*numkeys) > room) {
    return rule == NumkeysRule::kZset || rule == NumkeysRule::kPop
               ? syntax_error()
               : Status::error("Number of keys can't be greater than number of args");
  }
  const size_t count = static_cast<size_t>(*numkeys);
  keys.reserve(keys.size() + count);
  for (size_t i = at + 1; i <= at + count; ++i)
    keys.push_back(static_cast<uint32_t>(i));
  return Status::ok();
}

// kStreams: XREAD [COUNT n] [BLOCK ms] STREAMS k1 .. kN id1 .. idN, and XREADGROUP GROUP g c
// [COUNT n] [BLOCK ms] [NOACK] STREAMS ... Options are read as Redis 7.0 reads them, with its
// errors; an option without its value is the syntax error.
Status add_streams(const CommandSpec& spec, Args args, KeyPositions& keys, KeyRule rule) {
  if (rule == KeyRule::kAsListed) {
    // As Redis's key spec finds them: the first half of what follows the first STREAMS
    // (rounded down), options unchecked.
    for (size_t i = static_cast<size_t>(spec.keys.keywords_from); i < args.size(); ++i) {
      if (!equals_lowercase(args[i], "streams")) continue;
      const size_t count = (args.size() - i - 1) / 2;
      if (count == 0) break;
      for (size_t k = i + 1; k <= i + count; ++k)
        keys.push_back(static_cast<uint32_t>(k));
      return Status::ok();
    }
    return syntax_error();
  }
  const bool group_read = spec.name == "xreadgroup";
  bool block = false;
  bool group = false;
  size_t streams_at = 0;
  for (size_t i = static_cast<size_t>(spec.keys.keywords_from); i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const size_t more = args.size() - i - 1;
    if (equals_lowercase(arg, "block") && more > 0) {
      const std::optional<int64_t> ms = parse_resp_integer(args[++i]);
      if (!ms) return Status::error("timeout is not an integer or out of range");
      if (*ms < 0) return Status::error("timeout is negative");
      block = true;
    } else if (equals_lowercase(arg, "count") && more > 0) {
      if (!parse_resp_integer(args[++i])) {
        return Status::error("value is not an integer or out of range");
      }
    } else if (equals_lowercase(arg, "streams") && more > 0) {
      streams_at = i;
      break;
    } else if (equals_lowercase(arg, "group") && more >= 2) {
      if (!group_read) {
        return Status::error(
            "The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
      }
      group = true;
      i += 2;
    } else if (equals_lowercase(arg, "noack")) {
      if (!group_read) {
        return Status::error(
            "The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
      }
    } else {
      return syntax_error();
    }
  }
  if (streams_at == 0) return syntax_error();
  if (group_read && !group) return Status::error("Missing GROUP option for XREADGROUP");
  if (block) {
    return Status::error("'" + std::string(spec.name) +
                         "' with BLOCK is not supported by ringleader: blocking commands would "
                         "hold a backend connection that other clients share");
  }
  const size_t rest = args.size() - streams_at - 1;
  if (rest == 0) return syntax_error();
  if (rest % 2 != 0) {
    // Redis 7.0's words, XREADGROUP's included.
    return Status::error(
        "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
        "specified.");
  }
  keys.reserve(rest / 2);
  for (size_t i = streams_at + 1; i <= streams_at + rest / 2; ++i) {
    keys.push_back(static_cast<uint32_t>(i));
  }
  return Status::ok();
}

// kSortStore: SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
// [STORE destination]. The keys are the sorted key and the destination, as Redis reports
// them; `patterns` (when given) gets the BY and GET patterns that name keys (with a '*').
Status walk_sort(const CommandSpec& spec, Args args, KeyPositions& keys,
                 std::vector<uint32_t>* patterns, KeyRule rule = KeyRule::kRouting) {
  keys.push_back(static_cast<uint32_t>(spec.keys.first));
  // Listed as Redis lists them, an option short of its values ends the search (the command
  // itself would be refused), and SORT_RO's STORE is no key.
  const bool listing = rule == KeyRule::kAsListed;
  size_t store_at = 0;
  for (size_t i = static_cast<size_t>(spec.keys.keywords_from); i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (equals_lowercase(arg, "by") || equals_lowercase(arg, "get")) {
      if (i + 1 >= args.size()) {
        if (!listing) return syntax_error();
        break;
      }
      ++i;
      if (patterns != nullptr && args[i].find('*') != std::string_view::npos) {
        patterns->push_back(static_cast<uint32_t>(i));
      }
    } else if (equals_lowercase(arg, "limit")) {
      if (i + 2 >= args.size()) {
        if (!listing) return syntax_error();
        break;
      }
      // Redis reads the numbers as it meets them: their error comes before any later one.
      if (!listing && (!parse_resp_integer(args[i + 1]) || !parse_resp_integer(args[i + 2]))) {
        return Status::error("value is not an integer or out of range");
      }
      i += 2;
    } else if (equals_lowercase(arg, "store") && spec.has(CommandFlag::kWrite)) {
      if (i + 1 >= args.size()) {
        if (!listing) return syntax_error();
        break;
      }
      store_at = ++i;
    } else if (equals_lowercase(arg, "store") && !listing) {
      return syntax_error();  // SORT_RO stores nothing
    }
    // ASC, DESC, ALPHA and anything else: no key; the backend checks the syntax.
  }
  if (store_at != 0) keys.push_back(static_cast<uint32_t>(store_at));
  return Status::ok();
}

// kGeoStore: GEORADIUS key ... [STORE key] [STOREDIST key]: every destination given is a key
// (Redis reports both; it stores into the last).
Status add_geo_keys(const CommandSpec& spec, Args args, KeyPositions& keys) {
  keys.push_back(static_cast<uint32_t>(spec.keys.first));
  for (size_t i = static_cast<size_t>(spec.keys.keywords_from); i + 1 < args.size(); ++i) {
    if (equals_lowercase(args[i], "store") || equals_lowercase(args[i], "storedist")) {
      keys.push_back(static_cast<uint32_t>(++i));
    }
  }
  return Status::ok();
}

// kMigrate: MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw]
// [KEYS k...]: the key, or when it is empty, the keys after KEYS (as Redis lists them: past
// AUTH's and AUTH2's values). KEYS after a key that is not empty is an error.
Status add_migrate_keys(const CommandSpec& spec, Args args, KeyPositions& keys) {
  size_t first = static_cast<size_t>(spec.keys.first);
  size_t count = 1;
  for (size_t i = static_cast<size_t>(spec.keys.keywords_from); i < args.size(); ++i) {
    if (equals_lowercase(args[i], "keys")) {
      if (!args[first].empty()) return syntax_error();
      if (i + 1 < args.size()) {  // KEYS with nothing after it: the empty key, as Redis lists it
        first = i + 1;
        count = args.size() - first;
      }
      break;
    }
    if (equals_lowercase(args[i], "auth")) {
      i += 1;
    } else if (equals_lowercase(args[i], "auth2")) {
      i += 2;
    }
  }
  for (size_t i = first; i < first + count; ++i)
    keys.push_back(static_cast<uint32_t>(i));
  return Status::ok();
}

}  // namespace

Status check_arity(const CommandSpec& spec, std::span<const std::string_view> args) {
  const size_t n = args.size();
  const bool ok = spec.arity >= 0 ? n == static_cast<size_t>(spec.arity)
                                  : n >= static_cast<size_t>(-spec.arity);
  return ok ? Status::ok() : arity_error(spec);
}

Result<KeyPositions> key_positions(const CommandSpec& spec, std::span<const std::string_view> args,
                                   KeyRule rule) {
  if (Status arity = check_arity(spec, args); !arity) return arity;
  KeyPositions keys;
  Status found = Status::ok();
  switch (spec.keys.search) {
    case KeySearch::kNone:
      break;
    case KeySearch::kRange:
      found = add_range(spec, args, keys, rule);
      break;
    case KeySearch::kNumkeys:
      found = add_numkeys(spec, args, keys);
      break;
    case KeySearch::kStreams:
      found = add_streams(spec, args, keys, rule);
      break;
    case KeySearch::kSortStore:
      found = walk_sort(spec, args, keys, nullptr, rule);
      break;
    case KeySearch::kGeoStore:
      found = add_geo_keys(spec, args, keys);
      break;
    case KeySearch::kMigrate:
      found = add_migrate_keys(spec, args, keys);
      break;
  }
  if (!found) return found;
  return keys;
}

std::vector<uint32_t> sort_patterns(const CommandSpec& spec,
                                    std::span<const std::string_view> args) {
  std::vector<uint32_t> patterns;
  if (spec.keys.search != KeySearch::kSortStore || !check_arity(spec, args)) return patterns;
  KeyPositions keys;
  if (!walk_sort(spec, args, keys, &patterns)) patterns.clear();
  return patterns;
}

std::string unsupported_message(const CommandSpec& spec, std::span<const std::string_view> args) {
  std::string name(spec.name);
  std::replace(name.begin(), name.end(), '|', ' ');  // a listed subcommand: "command docs"
  // An unlisted subcommand resolves to its container: name the subcommand as sent.
  if (!spec.subcommands.empty() && args.size() >= 2) {
    constexpr size_t kMaxShown = 64;
    name += ' ';
    for (char c : args[1].substr(0, kMaxShown)) {
      name += (c >= 0x20 && c < 0x7f && c != '\'') ? ascii_lower(c) : '?';
    }
  }
  return "'" + name + "' is not supported by ringleader: " + std::string(spec.unsupported_reason);
}

}  // namespace ringleader::proxy::redis
