#include "memcached_protocol.h"

#include "core/text.h"
#include "memcached_session.h"
#include "proxy/memcached/command_table.h"
#include "proxy/memcached/reply_scanner.h"

namespace ringleader::proxy::memcached {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The next space-separated word of `line` from *at (memcached skips repeated spaces); empty
// at its end.
std::string_view next_word(std::string_view line, size_t* at) {
  while (*at < line.size() && line[*at] == ' ')
    ++*at;
  const size_t start = *at;
  while (*at < line.size() && line[*at] != ' ')
    ++*at;
  return line.substr(start, *at - start);
}

}  // namespace

bool MemcachedProtocol::misanswers(std::string_view payload, std::string_view reply,
                                   std::string* why) {
  size_t skip = 0;  // words before the keys: the command, and gat's exptime
  if (starts_with(payload, "get ") || starts_with(payload, "gets ")) {
    skip = 1;
  } else if (starts_with(payload, "gat ") || starts_with(payload, "gats ")) {
    skip = 2;
  } else {
    return false;
  }
  if (!starts_with(reply, "VALUE ")) return false;  // END, or an error line: no item to match
  const std::string_view asked = payload.substr(0, payload.find("\r\n"));
  size_t word = 0;
  for (size_t i = 0; i < skip; ++i)
    next_word(asked, &word);
  size_t pos = 0;
  while (pos < reply.size()) {
    const size_t eol = reply.find("\r\n", pos);
    if (eol == std::string_view::npos) return false;
    const std::string_view line = reply.substr(pos, eol - pos);
    std::string_view key;
    size_t bytes = 0;
    // The framer checked the shape: what is not an item line is the END that ends it.
    if (!parse_value_line(line, &key, &bytes)) return false;
    std::string_view next = next_word(asked, &word);
    while (!next.empty() && next != key)
      next = next_word(asked, &word);
    if (next.empty()) {
      *why = "an item for key '" + printable(key, 64) +
             "' that the request did not ask for (or not then)";
      return true;
    }
    if (bytes > reply.size() - eol - 2) return false;
    pos = eol + 2 + bytes + 2;
  }
  return false;
}

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
