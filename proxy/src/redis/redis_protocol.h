// Redis (RESP2) as a ringleader protocol: sessions for clients, reply framing and AUTH for
// backend connections.
#pragma once

#include "core/protocol.h"

namespace ringleader::proxy::redis {

class RedisProtocol final : public Protocol {
 public:
  std::unique_ptr<Session> new_session(const SessionEnv& env) override;
  std::unique_ptr<ReplyFramer> new_framer() override;
  std::string handshake(const config::BackendPoolConfig& backend) override;
  size_t handshake_replies(const config::BackendPoolConfig& backend) override;
  bool handshake_accepted(std::string_view reply) override;
  bool refuses_connection(std::string_view reply, std::string* why) override {
    return !reply.empty() && reply[0] == '-' && refuses_with_error(reply, why);
  }
  // EVAL, EVALSHA, FCALL and their _RO forms: a script's error_reply says anything.
  bool any_error_is_an_answer(uint16_t command) override;
  std::string error_reply(std::string_view message) override;
  bool is_error_reply(std::string_view reply) override { return !reply.empty() && reply[0] == '-'; }
  // -OOM, -LOADING, -READONLY, -MISCONF, -BUSY, -NOSCRIPT, -MASTERDOWN, -NOREPLICAS.
  bool is_refusal(std::string_view reply) override;
  // The RESP2 nulls: a nil bulk string (GET, HGET, ...) and a nil array; and an array of
  // nothing but nil bulk strings (MGET's part, HMGET), where every key asked is missing, as
  // a memcached get that finds none of its keys is a miss.
  bool is_miss_reply(std::string_view reply) override;
  bool complete_follow_up(Fragment& follow_up, std::string_view decided) override;
  size_t command_count() override;
  std::string_view command_name(size_t index) override;

 private:
  // refuses_connection() for an error reply: -NOAUTH (the password backend.password lacks),
  // maxclients reached, protected mode.
  static bool refuses_with_error(std::string_view reply, std::string* why);
};

}  // namespace ringleader::proxy::redis
