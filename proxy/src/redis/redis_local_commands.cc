// Commands the proxy answers itself: PING ECHO QUIT SELECT AUTH HELLO COMMAND CLIENT TIME
// UNWATCH.
#include <time.h>

#include <cstdint>
#include <optional>
#include <utility>

#include "common/version.h"
#include "core/counters.h"
#include "core/text.h"
#include "core/uv_util.h"
#include "proxy/redis/command_reply.h"
#include "proxy/redis/encoder.h"
#include "redis_session.h"
#include "resp_integer.h"

namespace ringleader::proxy::redis {
namespace {

bool password_matches(const std::string& expected, std::string_view given) {
  // Constant-time over the expected length: no early exit on the first differing byte.
  if (expected.size() != given.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < expected.size(); ++i)
    diff |= expected[i] ^ given[i];
  return diff == 0;
}

// Client names as Redis accepts them: printable ASCII without spaces ('!' to '~').
bool valid_client_name(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

constexpr std::string_view kBadClientName =
    "ERR Client names cannot contain spaces, newlines or special characters.";

}  // namespace

void RedisSession::answer_local(const CommandSpec& spec, Args args, PendingRequest& req) {
  (void)spec;
  std::string& out = req.reply;
  req.complete = true;
  const std::string name = lowercase(args[0]);
  const std::string& requirepass = env_.config->proxy.requirepass;

  if (name == "auth") {
    std::string_view user = args.size() == 3 ? args[1] : std::string_view("default");
    std::string_view pass = args.back();
    if (args.size() > 3) {
      append_error(out, "ERR syntax error");
    } else if (requirepass.empty() && args.size() == 2) {
      append_error(out,
                   "ERR AUTH <password> called without any password configured for the default "
                   "user. Are you sure your configuration is correct?");
    } else if (user == "default" && (requirepass.empty() || password_matches(requirepass, pass))) {
      // Without proxy.requirepass the default user takes any password, as in Redis.
      set_authenticated();
      append_simple(out, "OK");
    } else {
      append_error(out, "WRONGPASS invalid username-password pair or user is disabled.");
    }
    return;
  }
  if (name == "hello") {
    size_t i = 1;
    if (args.size() > 1) {
      // As Redis reads integers: no sign but '-', no leading zero.
      const std::optional<int64_t> version = parse_resp_integer(args[1]);
      if (!version) {
        append_error(out, "ERR Protocol version is not an integer or out of range");
        return;
      }
      if (*version != 2) {
        append_error(out, "NOPROTO ringleader speaks RESP2 only (HELLO 2)");
        return;
      }
      i = 2;
    }
    // As Redis: every option is read first (the last AUTH and SETNAME count), then the
    // credentials are checked, then the name; a bad name leaves the client authenticated.
    std::optional<std::pair<std::string_view, std::string_view>> credentials;
    std::optional<std::string_view> new_name;
    for (; i < args.size(); ++i) {
      if (iequals(args[i], "AUTH") && i + 2 < args.size()) {
        credentials.emplace(args[i + 1], args[i + 2]);
        i += 2;
      } else if (iequals(args[i], "SETNAME") && i + 1 < args.size()) {
        new_name = args[++i];
      } else {
        append_error(out, "ERR Syntax error in HELLO option '" + printable(args[i], 40) + "'");
        return;
      }
    }
    if (credentials) {
      if (credentials->first != "default" ||
          (!requirepass.empty() && !password_matches(requirepass, credentials->second))) {
        append_error(out, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
      }
      set_authenticated();
    }
    if (!authenticated_) {
      append_error(out,
                   "NOAUTH HELLO must be called with the client already authenticated, "
                   "otherwise the HELLO AUTH <user> <pass> option can be used to "
                   "authenticate the client and select the RESP protocol version at the same "
                   "time");
      return;
    }
    if (new_name) {
      if (!valid_client_name(*new_name)) {
        append_error(out, std::string(kBadClientName));
        return;
      }
      client_name_ = std::string(*new_name);
    }
    append_array_header(out, 14);
    append_bulk(out, "server");
    append_bulk(out, "ringleader");
    append_bulk(out, "version");
    append_bulk(out, ringleader::kVersion);
    append_bulk(out, "proto");
    append_integer(out, 2);
    append_bulk(out, "id");
    append_integer(out, static_cast<int64_t>(client_id_));
    append_bulk(out, "mode");
    append_bulk(out, "standalone");
    append_bulk(out, "role");
    append_bulk(out, "master");
    append_bulk(out, "modules");
    append_array_header(out, 0);
    return;
  }
  if (name == "quit") {
    append_simple(out, "OK");
    req.close_after = true;
    return;
  }
  if (name == "reset") {
    // What Redis's RESET clears that the proxy keeps: the client name, a transaction, and
    // the authentication when proxy.requirepass is set.
    client_name_.clear();
    in_transaction_ = false;
    if (!requirepass.empty() && authenticated_) {
      authenticated_ = false;
      parser_.set_limits(kLimitsBeforeAuth);
    }
    append_simple(out, "RESET");
    return;
  }
  if (!authenticated_) {
    append_error(out, "NOAUTH Authentication required.");
    return;
  }
  if (name == "ping") {
    if (args.size() > 2) {
      append_error(out, "ERR wrong number of arguments for 'ping' command");
    } else if (args.size() == 2) {
      append_bulk(out, args[1]);
    } else {
      append_simple(out, "PONG");
    }
    return;
  }
  if (name == "echo") {
    append_bulk(out, args[1]);
    return;
  }
  if (name == "select") {
    const std::optional<int64_t> db = parse_resp_integer(args[1]);
    if (!db) {
      append_error(out, "ERR value is not an integer or out of range");
    } else if (*db < INT32_MIN || *db > INT32_MAX) {
      append_error(out, "ERR value is out of range, value must between -2147483648 and 2147483647");
    } else if (*db < 0) {
      append_error(out, "ERR DB index is out of range");
    } else if (*db == 0) {
      append_simple(out, "OK");
    } else {
      append_error(out, "ERR ringleader shards database 0 only; SELECT " + printable(args[1], 20) +
                            " is not supported");
    }
    return;
  }
  if (name == "unwatch") {
    append_simple(out, "OK");  // WATCH is refused: nothing is ever watched
    return;
  }
  if (name == "time") {
    // The proxy's clock: it is the server the client talks to. (Backends on other hosts may
    // differ by their clock skew; scripts that need a backend's clock call TIME themselves.)
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    append_array_header(out, 2);
    append_bulk(out, std::to_string(now.tv_sec));
    append_bulk(out, std::to_string(now.tv_nsec / 1000));
    return;
  }
  if (name == "command") {
    append_command_reply(out, args);
    return;
  }
  if (name == "client") {
    if (args.size() >= 2 && iequals(args[1], "SETNAME") && args.size() == 3) {
      if (!valid_client_name(args[2])) {
        append_error(out, std::string(kBadClientName));
        return;
      }
      client_name_ = std::string(args[2]);
      append_simple(out, "OK");
    } else if (args.size() == 2 && iequals(args[1], "GETNAME")) {
      if (client_name_.empty()) {
        append_null_bulk(out);
      } else {
        append_bulk(out, client_name_);
      }
    } else if (args.size() == 2 && iequals(args[1], "ID")) {
      append_integer(out, static_cast<int64_t>(client_id_));
    } else if (args.size() == 4 && iequals(args[1], "SETINFO")) {
      client_setinfo(args[2], args[3], out);
    } else if (args.size() == 2 && iequals(args[1], "INFO")) {
      append_bulk(out, client_info_line(args));
    } else {
      append_error(out,
                   "ERR ringleader supports CLIENT SETNAME, GETNAME, ID, INFO and SETINFO only");
    }
    return;
  }
  append_error(out, "ERR ringleader cannot answer '" + name + "' locally");
}

void RedisSession::client_setinfo(std::string_view attribute, std::string_view value,
                                  std::string& out) {
  std::string* field = iequals(attribute, "lib-name")  ? &lib_name_
                       : iequals(attribute, "lib-ver") ? &lib_ver_
                                                       : nullptr;
  // Redis names the attribute as the client wrote it (long ones are cut here).
  if (field == nullptr) {
    append_error(out, "ERR Unrecognized option '" + printable(attribute, 256) + "'");
  } else if (!valid_client_name(value)) {
    append_error(out, "ERR " + std::string(attribute) +
                          " cannot contain spaces, newlines or special characters.");
  } else {
    field->assign(value);
    append_simple(out, "OK");
  }
}

std::string RedisSession::client_info_line(Args args) const {
  // Redis 7.2's CLIENT INFO fields, in its order, as they apply to a proxy's client: no
  // pub/sub, transactions or other databases; the buffers are this connection's own (its
  // input buffer grows to the largest input held and is released only when idle, so its size
  // stands for Redis's read buffer peak). Requests are answered in order, so the connection
  // is never idle while it asks.
  std::string addr, laddr;
  int fd = -1;
  uint64_t age_s = 0;
  ClientBuffers buffers;
  if (endpoint_ != nullptr) {
    addr = endpoint_->peer_address();
    laddr = endpoint_->local_address();
    fd = endpoint_->fd();
    age_s = (loop_now_ns() - endpoint_->connected_ns()) / 1'000'000'000;
    buffers = endpoint_->buffers();
  }
  size_t argv_bytes = 0;
  for (std::string_view a : args)
    argv_bytes += a.size();
  auto number = [](uint64_t n) { return std::to_string(n); };
  return "id=" + number(client_id_) + " addr=" + addr + " laddr=" + laddr +
         " fd=" + std::to_string(fd) + " name=" + client_name_ + " age=" + number(age_s) +
         " idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=" + number(buffers.input) +
         " qbuf-free=" + number(buffers.input_free) + " argv-mem=" + number(argv_bytes) +
         " multi-mem=0 rbs=" + number(buffers.input_capacity) +
         " rbp=" + number(buffers.input_capacity) + " obl=" + number(buffers.output) +
         " oll=" + number(buffers.output_chunks) + " omem=" + number(buffers.output_waiting) +
         " tot-mem=" + number(buffers.memory + argv_bytes) +
         " events=r cmd=client|info user=default redir=-1 resp=2 lib-name=" + lib_name_ +
         " lib-ver=" + lib_ver_ + "\n";
}

}  // namespace ringleader::proxy::redis
