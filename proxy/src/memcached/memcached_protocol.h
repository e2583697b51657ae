// The memcached text protocol behind the proxy's Protocol interface.
#pragma once

#include "core/protocol.h"

namespace ringleader::proxy::memcached {

class MemcachedProtocol final : public Protocol {
 public:
  std::unique_ptr<Session> new_session(const SessionEnv& env) override;
  std::unique_ptr<ReplyFramer> new_framer() override;
  // The text protocol has no authentication: backend connections need no handshake
  // (configuration refuses backend.password with this protocol).
  std::string handshake(const config::BackendPoolConfig&) override { return {}; }
  size_t handshake_replies(const config::BackendPoolConfig&) override { return 0; }
  bool handshake_accepted(std::string_view) override { return true; }
  // memcached at its connection limit says so and closes the connection.
  bool refuses_connection(std::string_view reply, std::string* why) override;
  // A get, gets, gat or gats answered with an item for a key it did not ask for, or with more
  // items than it asked for, in its order (a key asked twice is answered twice).
  bool misanswers(std::string_view payload, std::string_view reply, std::string* why) override;
  std::string error_reply(std::string_view message) override;
  bool is_error_reply(std::string_view reply) override;
  // SERVER_ERROR (out of memory, an item too large for its cache, ...): the command did not run.
  bool is_refusal(std::string_view reply) override { return reply.starts_with("SERVER_ERROR"); }
  // A retrieval that found none of its keys.
  // A get with no hit, and a meta get's (or meta debug's) miss.
  bool is_miss_reply(std::string_view reply) override {
    return reply == "END\r\n" || reply == "EN\r\n" || reply.starts_with("EN ");
  }
  size_t command_count() override;
  std::string_view command_name(size_t index) override;
};

}  // namespace ringleader::proxy::memcached
