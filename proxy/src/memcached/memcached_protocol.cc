#include "memcached_protocol.h"

#include "memcached_session.h"
#include "proxy/memcached/command_table.h"
#include "proxy/memcached/reply_scanner.h"

namespace ringleader::proxy::memcached {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::unique_ptr<Session> MemcachedProtocol::new_session(const SessionEnv& env) {
  return std::make_unique<MemcachedSession>(env);
}

std::unique_ptr<ReplyFramer> MemcachedProtocol::new_framer() {
  return std::make_unique<ScannerFramer<ReplyScanner>>();
}

std::string MemcachedProtocol::error_reply(std::string_view message) {
  return "SERVER_ERROR " + std::string(message) + "\r\n";
}

bool MemcachedProtocol::refuses_connection(std::string_view reply, std::string* why) {
  constexpr std::string_view kLimit = "ERROR Too many open connections";
  if (!reply.starts_with(kLimit)) return false;
  *why = "it refuses new connections (" + std::string(kLimit) + ")";
  return true;
}

bool MemcachedProtocol::is_error_reply(std::string_view reply) {
  return starts_with(reply, "ERROR\r\n") || starts_with(reply, "CLIENT_ERROR ") ||
         starts_with(reply, "SERVER_ERROR ");
}

size_t MemcachedProtocol::command_count() {
  return all_commands().size() + 1;
}

std::string_view MemcachedProtocol::command_name(size_t index) {
  return index == 0 || index > all_commands().size() ? std::string_view("unknown")
                                                     : all_commands()[index - 1].name;
}

}  // namespace ringleader::proxy::memcached
