// A blocking HTTP/1.1 client for the admin API: one request per connection
// ("Connection: close"), over a plain TCP socket, no TLS. Used by `ringleader ctl`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ringleader::app::ctl {

struct AdminRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form, already URL-encoded: "/ring/lookup?key=a%20b"
  std::string token;   // sent as "Authorization: Bearer TOKEN" when not empty
  std::string body;    // sent as application/json when not empty
};

struct AdminResponse {
  // kConnectFailed: no connection could be made (resolve, refused, timeout); nothing was sent.
  // kNoAnswer: the request was sent, and no whole answer came within the exchange timeout.
  // kLost: the request was sent and the connection ended before any byte of an answer: the
  // outcome is as unknown as with kNoAnswer.
  // kFailed: connected, but the exchange failed (not HTTP, cut short). kOk: a response.
  enum class Outcome { kOk, kConnectFailed, kNoAnswer, kLost, kFailed };
  Outcome outcome = Outcome::kOk;
  std::string error;  // what went wrong, when outcome != kOk
  int status = 0;
  std::string content_type;
  std::string body;
};

struct ClientTimeouts {
  std::chrono::milliseconds connect{5'000};
  // The whole exchange: connecting, sending the request and reading the answer.
  std::chrono::milliseconds exchange{30'000};
};

// Sends `request` to `host`:`port` (an IP literal or a name; IPv6 without brackets) and reads
// the whole response. Never throws.
AdminResponse call_admin(const std::string& host, uint16_t port, const AdminRequest& request,
                         ClientTimeouts timeouts = {});

// Percent-encodes everything except RFC 3986 unreserved characters (for keys and names).
std::string url_encode(std::string_view text);

}  // namespace ringleader::app::ctl
