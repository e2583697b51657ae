#include "proxy/redis/conditional_write.h"

#include "ascii.h"
#include "proxy/redis/encoder.h"
#include "proxy/redis/reply_value.h"

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

std::optional<DerivedWrite> derived_write(std::span<const std::string_view> args) {
  if (args.size() < 2) return std::nullopt;
  if (equals_lowercase(args[0], "spop") && (args.size() == 2 || args.size() == 3)) {
    return DerivedWrite{Derived::kSremPopped, {"SREM", args[1]}};
  }
  return std::nullopt;
}

uint32_t encode_derived(const DerivedWrite& w, std::string& out) {
  const uint32_t at = static_cast<uint32_t>(out.size());
  append_command(out, w.follow_up);  // SREM key: the members come from the reply
  return at;
}

bool complete_derived(Derived kind, std::string& payload, uint32_t at, std::string_view reply) {
  // SPOP's answer: a member, or an array of members.
  Result<ReplyValue> v = parse_reply(reply, {.max_depth = 1});
  if (!v || kind != Derived::kSremPopped) return false;
  std::vector<std::string_view> members;
  if (v->type == ReplyValue::Type::kBulk) {
    members.push_back(v->text);
  } else if (v->type == ReplyValue::Type::kArray) {
    for (const ReplyValue& e : v->elements) {
      if (e.type == ReplyValue::Type::kBulk) members.push_back(e.text);
    }
  }
  if (members.empty()) return false;  // nothing popped
  // payload[at..] is "*2\r\n" SREM key: the count grows by the members.
  const size_t body = payload.find("\r\n", at) + 2;
  std::string out(payload, 0, at);
  append_array_header(out, 2 + members.size());
  out.append(payload, body, std::string::npos);
  for (std::string_view m : members)
    append_bulk(out, m);
  payload.swap(out);
  return true;
}

}  // namespace ringleader::proxy::redis
