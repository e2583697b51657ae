#include "redis_protocol.h"

#include "proxy/redis/command_table.h"
#include "proxy/redis/encoder.h"
#include "proxy/redis/reply_scanner.h"
#include "redis_session.h"

namespace ringleader::proxy::redis {
namespace {

class RespFramer final : public ReplyFramer {
 public:
  Status scan(std::string_view input, size_t* length, std::string* error) override {
    switch (scanner_.scan(input)) {
      case ParseStatus::kComplete:
        *length = scanner_.length();
        return Status::kComplete;
      case ParseStatus::kNeedMore:
        return Status::kNeedMore;
      case ParseStatus::kError:
        *error = scanner_.error();
        return Status::kError;
    }
    return Status::kError;
  }
  void reset() override { scanner_.reset(); }

 private:
  ReplyScanner scanner_;
};

}  // namespace

std::unique_ptr<Session> RedisProtocol::new_session(const SessionEnv& env) {
  return std::make_unique<RedisSession>(env);
}

std::unique_ptr<ReplyFramer> RedisProtocol::new_framer() {
  return std::make_unique<RespFramer>();
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
