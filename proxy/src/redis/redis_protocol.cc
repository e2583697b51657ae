#include "redis_protocol.h"

#include <string_view>
#include <vector>

#include "core/text.h"
#include "proxy/redis/command_table.h"
#include "proxy/redis/conditional_write.h"
#include "proxy/redis/encoder.h"
#include "proxy/redis/reply_scanner.h"
#include "redis_session.h"

namespace ringleader::proxy::redis {

std::unique_ptr<Session> RedisProtocol::new_session(const SessionEnv& env) {
  return std::make_unique<RedisSession>(env);
}

std::unique_ptr<ReplyFramer> RedisProtocol::new_framer() {
  return std::make_unique<ScannerFramer<ReplyScanner>>();
}

std::string RedisProtocol::handshake(const config::BackendPoolConfig& backend) {
  std::string out;
  if (!backend.password.empty()) {
    // AUTH [username] password
    std::vector<std::string_view> args{"AUTH"};
    if (!backend.username.empty()) args.push_back(backend.username);
    args.push_back(backend.password);
    append_command(out, args);
  }
  if (backend.db != 0) {
    const std::string db = std::to_string(backend.db);
    std::string_view args[] = {"SELECT", db};
    append_command(out, args);
  }
  return out;
}

size_t RedisProtocol::handshake_replies(const config::BackendPoolConfig& backend) {
  return (backend.password.empty() ? 0 : 1) + (backend.db == 0 ? 0 : 1);
}

bool RedisProtocol::is_miss_reply(std::string_view reply) {
  if (reply == "$-1\r\n" || reply == "*-1\r\n") return true;
  if (reply.size() < 4 || reply[0] != '*') return false;
  const size_t end = reply.find("\r\n");
  if (end == std::string_view::npos || end < 2 || end > 12) return false;
  uint64_t count = 0;
  for (char c : reply.substr(1, end - 1)) {
    if (c < '0' || c > '9') return false;
    count = count * 10 + static_cast<uint64_t>(c - '0');
  }
  constexpr std::string_view kNil = "$-1\r\n";
  std::string_view items = reply.substr(end + 2);
  if (count == 0 || items.size() != count * kNil.size()) return false;
  for (size_t at = 0; at < items.size(); at += kNil.size()) {
    if (items.substr(at, kNil.size()) != kNil) return false;
  }
  return true;
}

bool RedisProtocol::handshake_accepted(std::string_view reply) {
  return !reply.empty() && reply[0] == '+';
}

bool RedisProtocol::refuses_with_error(std::string_view reply, std::string* why) {
  // What a server says on a connection it will not serve: it wants a password, it is at
  // maxclients (it closes the connection after saying so), or it is in protected mode (the
  // same). Each one is a failed connection, never an answer to the request it met.
  std::string_view cause;
  if (reply.starts_with("-NOAUTH")) {
    cause = "it requires a password and backend.password is not set";
  } else if (reply.starts_with("-ERR max number of clients reached")) {
    cause = "it refuses new connections (maxclients)";
  } else if (reply.starts_with("-DENIED")) {
    cause = "it refuses connections (protected mode)";
  } else {
    return false;
  }
  *why = std::string(cause) + " (" + printable(reply_line(reply), 200) + ")";
  return true;
}

bool RedisProtocol::is_refusal(std::string_view reply) {
  if (reply.empty() || reply[0] != '-') return false;
  constexpr std::string_view kRefusals[] = {"OOM ",  "LOADING ",  "READONLY ",   "MISCONF ",
                                            "BUSY ", "NOSCRIPT ", "MASTERDOWN ", "NOREPLICAS "};
  reply.remove_prefix(1);
  for (std::string_view code : kRefusals) {
    if (reply.starts_with(code)) return true;
  }
  return false;
}

bool RedisProtocol::complete_follow_up(Fragment& follow_up, std::string_view decided) {
  return complete_derived(static_cast<Derived>(follow_up.derive), follow_up.payload,
                          follow_up.derive_at, decided);
}

size_t RedisProtocol::command_count() {
  return all_commands().size() + 1;
}

std::string_view RedisProtocol::command_name(size_t index) {
  return index == 0 || index > all_commands().size() ? std::string_view("unknown")
                                                     : all_commands()[index - 1].name;
}

bool RedisProtocol::any_error_is_an_answer(uint16_t command) {
  const std::string_view name = command_name(command);
  return name == "eval" || name == "evalsha" || name == "eval_ro" || name == "evalsha_ro" ||
         name == "fcall" || name == "fcall_ro";
}

std::string RedisProtocol::error_reply(std::string_view message) {
  std::string out;
  append_error(out, "ERR " + std::string(message));
  return out;
}

}  // namespace ringleader::proxy::redis
