// What ringleader knows about one Redis command: the entry type of the command table.
// The table itself (command_table.h) is the only place command knowledge lives; routing,
// key extraction, COMMAND replies and arity checks all read it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace ringleader::proxy::redis {

// How the router handles a command.
enum class Routing : uint8_t {
  kSingleKey,       // forward to the owner of its one key
  kSplitKeys,       // MGET DEL UNLINK EXISTS TOUCH: split per owner, merge by `merge`
  kSplitKeyValues,  // MSET: key i is followed by its value; split per owner, merge by `merge`
  kKeysTogether,    // every key must have the same owner: forward there, else refuse naming
                    // the cause (RENAME, SMOVE, SINTERSTORE, ZUNIONSTORE, LMOVE, PFMERGE, ...).
                    // One key (SORT k, PFCOUNT k) is the single-key case.
  kScript,          // EVAL* / FCALL*: keys as kKeysTogether; zero keys cannot be routed: refuse
  kProxyLocal,      // answered by the proxy itself (PING ECHO QUIT SELECT AUTH HELLO COMMAND ...)
  kFanout,          // sent to every backend, replies merged by `merge` (DBSIZE SCAN FLUSHDB ...)
  kUnsupported,     // refused with `unsupported_reason`
};

// How the replies of the parts of a split or fanned-out command become the client's reply.
enum class Merge : uint8_t {
  kNone,             // one backend answers; its reply is the client's
  kArrayInKeyOrder,  // MGET: element i of the reply answers key i of the request
  kIntegerSum,       // DEL UNLINK EXISTS TOUCH DBSIZE: sum of the integer replies
  kAllOk,            // MSET FLUSHDB FLUSHALL SCRIPT FLUSH: +OK when every part said +OK,
                     // else the first error
  kArrayConcat,      // KEYS: the concatenation of every backend's array
  kAllEqual,         // SCRIPT LOAD, FUNCTION LOAD: every backend's reply, when all are equal
                     // (the SHA1 / library name), else the first error or a mismatch error
  kArrayAnd,         // SCRIPT EXISTS: element i is 1 when every backend answered 1 for it
  kScanCursor,       // SCAN: the client's cursor encodes (backend, backend cursor)
  kInfo,             // INFO: the proxy's own sections plus the backends' figures summed
};

// How a command's key arguments are found (all positions are indexes into the arguments,
// the command name being 0).
enum class KeySearch : uint8_t {
  kNone,       // no keys
  kRange,      // keys at first, first+step, ... up to last (last < 0 counts from the end:
               // -1 is the last argument)
  kNumkeys,    // the keys of the range (if any: a destination), then args[numkeys_at] keys
               // right after args[numkeys_at] (EVAL, ZUNIONSTORE, SINTERCARD, LMPOP, ...)
  kStreams,    // XREAD/XREADGROUP: after the STREAMS keyword, the first half of what follows
  kSortStore,  // SORT: key `first`, plus the STORE destination; BY/GET patterns refused
  kGeoStore,   // GEORADIUS*: key `first`, plus each STORE/STOREDIST destination
  kMigrate,    // MIGRATE: key `first`, or when it is empty, every argument after KEYS
};

// How a kNumkeys command checks its numkeys, with Redis 7.0's error for each family:
//   kScript    EVAL*:  any integer >= 0; "Number of keys can't be negative", "... greater
//              than number of args"; not an integer: "value is not an integer ...".
//   kFunction  FCALL*: as kScript, but not an integer is "Bad number of keys provided".
//   kZset      ZUNION*/ZINTER*/ZDIFF*: >= 1, "at least 1 input key is needed for '<name>'
//              command"; more keys than arguments is "syntax error".
//   kCard      SINTERCARD: not an integer or < 1: "numkeys should be greater than 0"; more
//              keys than arguments: "Number of keys can't be greater than number of args".
//   kPop       LMPOP/ZMPOP (and their blocking forms): as kCard, but more keys than
//              arguments, or no direction after the keys, is "syntax error".
enum class NumkeysRule : uint8_t { kScript, kFunction, kZset, kCard, kPop };

struct KeySpec {
  KeySearch search = KeySearch::kNone;
  // The legacy COMMAND first/last/step: the keys every form of the command has (0 0 0: none).
  int8_t first = 0;
  int8_t last = 0;
  int8_t step = 0;
  int8_t numkeys_at = 0;                            // kNumkeys: index of the numkeys argument
  NumkeysRule numkeys_rule = NumkeysRule::kScript;  // kNumkeys: how numkeys is checked
  int8_t keywords_from = 0;  // kStreams/kSortStore/kGeoStore/kMigrate: first index searched for
                             // keywords
};

// Flags: Redis's own (reported by COMMAND) and ringleader's (derived from the key spec).
enum class CommandFlag : uint32_t {
  kNone = 0,
  kRead = 1u << 0,          // "readonly"
  kWrite = 1u << 1,         // "write"
  kDenyOom = 1u << 2,       // "denyoom"
  kAdmin = 1u << 3,         // "admin"
  kPubSub = 1u << 4,        // "pubsub"
  kNoScript = 1u << 5,      // "noscript"
  kBlocking = 1u << 6,      // "blocking"
  kLoading = 1u << 7,       // "loading"
  kStale = 1u << 8,         // "stale"
  kFast = 1u << 9,          // "fast"
  kNoAuth = 1u << 10,       // "no_auth"
  kMovableKeys = 1u << 11,  // "movablekeys": keys are not all at fixed positions
  kMultiKey = 1u << 16,     // ringleader: may take more than one key
  kNoKey = 1u << 17,        // ringleader: takes no key
  // ringleader: changes the servers though Redis does not flag it "write" (SCRIPT LOAD and
  // FLUSH; TOUCH, which updates access times): sent even for a client that has gone, and a
  // part that failed while others succeeded is reported as a partial change.
  kChanges = 1u << 18,
};

constexpr CommandFlag operator|(CommandFlag a, CommandFlag b) {
  return static_cast<CommandFlag>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b));
}
constexpr bool has_flag(CommandFlag set, CommandFlag flag) {
  return (static_cast<uint32_t>(set) & static_cast<uint32_t>(flag)) != 0;
}

struct CommandSpec {
  std::string_view name;  // lowercase; a subcommand is "container|sub" ("object|encoding")
  int16_t arity = 0;      // Redis arity: N = exactly N arguments, -N = at least N (name included)
  CommandFlag flags = CommandFlag::kNone;
  KeySpec keys;
  Routing routing = Routing::kUnsupported;
  Merge merge = Merge::kNone;
  // kUnsupported: why, as unsupported_message() puts it after "... is not supported by
  // ringleader: ". Containers: also what their listed subcommands are.
  std::string_view unsupported_reason;
  // A container (CLIENT, OBJECT, XINFO, ...): the subcommands ringleader knows. The container's
  // own routing applies to a subcommand not listed.
  std::span<const CommandSpec> subcommands;

  bool has(CommandFlag flag) const { return has_flag(flags, flag); }
  // The name after "container|" for a subcommand; the name otherwise.
  std::string_view subcommand_name() const {
    const size_t bar = name.find('|');
    return bar == std::string_view::npos ? name : name.substr(bar + 1);
  }
};

}  // namespace ringleader::proxy::redis
