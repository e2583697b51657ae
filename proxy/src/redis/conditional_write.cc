#include "proxy/redis/conditional_write.h"

#include "ascii.h"

namespace ringleader::proxy::redis {

std::optional<ConditionalWrite> conditional_write(std::span<const std::string_view> args) {
  if (args.empty()) return std::nullopt;
  const std::string_view name = args[0];
  if (equals_lowercase(name, "setnx") && args.size() == 3) {
    return ConditionalWrite{":1", {"SET", args[1], args[2]}};
  }
  if (equals_lowercase(name, "hsetnx") && args.size() == 4) {
    return ConditionalWrite{":1", {"HSET", args[1], args[2], args[3]}};
  }
  if (!equals_lowercase(name, "set") || args.size() < 4) return std::nullopt;
  // SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]: the same without NX/XX.
  // Any other option (newer conditions such as IFEQ take a value) leaves it to each replica.
  ConditionalWrite w{"+OK", {"SET", args[1], args[2]}};
  bool conditional = false, absent = false, keep_ttl = false;
  for (size_t i = 3; i < args.size(); ++i) {
    const std::string_view option = args[i];
    if (equals_lowercase(option, "nx") || equals_lowercase(option, "xx")) {
      conditional = true;
      absent = absent || equals_lowercase(option, "nx");
    } else if (equals_lowercase(option, "keepttl")) {
      keep_ttl = true;
    } else if ((equals_lowercase(option, "ex") || equals_lowercase(option, "px") ||
                equals_lowercase(option, "exat") || equals_lowercase(option, "pxat")) &&
               i + 1 < args.size()) {
      w.follow_up.push_back(option);
      w.follow_up.push_back(args[++i]);
    } else {
      return std::nullopt;  // GET (its reply does not say whether it wrote), or unknown
    }
  }
  // NX applied: the key was absent on the primary, so it has no TTL to keep; a replica's stale
  // copy must not lend it one.
  if (keep_ttl && !absent) w.follow_up.push_back("KEEPTTL");
  if (!conditional) return std::nullopt;
  return w;
}

}  // namespace ringleader::proxy::redis
