// The memcached text-protocol commands ringleader knows, and how each is handled. Command
// names are case-sensitive, as memcached's are.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace ringleader::proxy::memcached {

enum class CommandKind : uint8_t {
  kStorage,         // set add replace append prepend <key> <flags> <exptime> <bytes> [noreply]
  kCas,             // cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
  kRetrieval,       // get gets <key>+ : split per backend, hits in the client's key order
  kRetrievalTouch,  // gat gats <exptime> <key>+ : as kRetrieval
  kDelete,          // delete <key> [0] [noreply]
  kArithmetic,      // incr decr <key> <delta> [noreply]
  kTouch,           // touch <key> <exptime> [noreply]
  kFlushAll,        // flush_all [delay] [noreply] : every backend, OK when all are
  kVersion,         // answered by the proxy
  kVerbosity,       // answered by the proxy (backends keep their own)
  kQuit,            // closes the connection
  kStats,           // stats: the proxy's own figures; per-server subcommands refused
  kMeta,            // mg ms md ma me <key> <flags>* (ms: <key> <datalen> <flags>*, then data)
  kMetaNoop,        // mn: answered by the proxy, in order, as "MN"
  kUnsupported,     // refused with a CLIENT_ERROR naming the command and `reason`
};

struct CommandSpec {
  std::string_view name;
  CommandKind kind;
  std::string_view reason;  // kUnsupported: why, for the error line
};

std::span<const CommandSpec> all_commands();
// nullptr when `name` is not a memcached command.
const CommandSpec* find_command(std::string_view name);

}  // namespace ringleader::proxy::memcached
