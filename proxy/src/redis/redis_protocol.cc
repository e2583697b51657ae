#include "redis_protocol.h"

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
    std::string_view args[] = {"AUTH", backend.password};
    append_command(out, args);
  }
  return out;
}

size_t RedisProtocol::handshake_replies(const config::BackendPoolConfig& backend) {
  return backend.password.empty() ? 0 : 1;
}

bool RedisProtocol::handshake_accepted(std::string_view reply) {
  return !reply.empty() && reply[0] == '+';
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

std::string RedisProtocol::error_reply(std::string_view message) {
  std::string out;
  append_error(out, "ERR " + std::string(message));
  return out;
}

}  // namespace ringleader::proxy::redis
