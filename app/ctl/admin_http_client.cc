#include "admin_http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/version.h"

namespace ringleader::app::ctl {
namespace {

constexpr size_t kMaxResponseBytes = 256u << 20;  // a metrics scrape of a huge pool still fits

// Owns a socket descriptor.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string errno_text(int err) {
  return std::strerror(err);
}

// "30 s", "0.5 s".
std::string seconds_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return text;
}

// Connects `fd` to `address` within `timeout`; 0 or an errno value.
int connect_with_timeout(int fd, const addrinfo& address, std::chrono::milliseconds timeout) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int err = 0;
  if (::connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return errno;
    pollfd p{fd, POLLOUT, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) return ETIMEDOUT;
    if (ready < 0) return errno;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return err;
  }
  ::fcntl(fd, F_SETFL, flags);
  return 0;
}

// Milliseconds left until `deadline` (0 once it passed), for poll().
int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

// Waits until `fd` has `events` or `deadline` passes: true when it has them (or an error to
// read), false on timeout.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    return ready != 0;
  }
}

std::string host_header(const std::string& host, uint16_t port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string format_request(const std::string& host, uint16_t port, const AdminRequest& r) {
  std::string out = r.method + " " + r.target + " HTTP/1.1\r\nHost: " + host_header(host, port) +
                    "\r\nUser-Agent: ringleader-ctl/" + kVersion +
                    "\r\nAccept: application/json, text/plain\r\nConnection: close\r\n";
  if (!r.token.empty()) out += "Authorization: Bearer " + r.token + "\r\n";
  if (!r.body.empty() || r.method == "POST" || r.method == "PATCH" || r.method == "PUT") {
    if (!r.body.empty()) out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += r.body;
  return out;
}

// Sends everything by `deadline`; false with *err (ETIMEDOUT when the time ran out).
bool send_all(int fd, std::string_view bytes, std::chrono::steady_clock::time_point deadline,
              int* err) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        *err = ETIMEDOUT;
        return false;
      }
      continue;
    }
    if (n < 0) {
      *err = errno;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Where the final response starts in `raw`: past interim (1xx) responses, which a server may
// send before it (100 Continue). npos while an interim one is still arriving.
size_t final_response_start(std::string_view raw) {
  size_t at = 0;
  while (raw.size() >= at + 13 && raw.compare(at, 5, "HTTP/") == 0) {
    const size_t sp = raw.find(' ', at);
    if (sp == std::string_view::npos || sp + 1 >= raw.size() || raw[sp + 1] != '1') break;
    const size_t end = raw.find("\r\n\r\n", at);
    if (end == std::string_view::npos) return std::string_view::npos;
    at = end + 4;
  }
  return at;
}

// Whether any of the final response has arrived (interim ones are no answer).
bool final_answer_began(std::string_view raw) {
  const size_t start = final_response_start(raw);
  return start != std::string_view::npos && start < raw.size();
}

// A head's fields as (lower-case name, value without leading spaces), in order.
std::vector<std::pair<std::string, std::string_view>> header_fields(std::string_view head) {
  std::vector<std::pair<std::string, std::string_view>> fields;
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos && line < head.size()) {
    line += 2;
    const size_t eol = std::min(head.find("\r\n", line), head.size());
    const std::string_view field = head.substr(line, eol - line);
    const size_t colon = field.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      fields.emplace_back(lower(field.substr(0, colon)), value);
    }
    line = eol;
  }
  return fields;
}

// A Content-Length value: 1 to 18 digits and nothing else; nullopt otherwise (a value that
// overflows, or is signed or empty, frames nothing).
std::optional<size_t> parse_content_length(std::string_view value) {
  if (value.empty() || value.size() > 18) return std::nullopt;
  size_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  return n;
}

// Parses a complete response in `raw` (read until EOF, or as far as its Content-Length) into
// `out`; false with out->error set when it is not a well-formed HTTP/1.x response.
bool parse_response(const std::string& whole, AdminResponse* out) {
  const size_t start = final_response_start(whole);
  if (start == std::string::npos) {
    out->error = "the connection closed before the whole response arrived";
    return false;
  }
  const std::string_view raw = std::string_view(whole).substr(start);
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos) {
    out->error = "the answer is not an HTTP response";
    return false;
  }
  const std::string_view head = raw.substr(0, head_end);
  const size_t sp = head.find(' ');
  if (sp == std::string_view::npos || head.size() < sp + 4) {
    out->error = "malformed HTTP status line";
    return false;
  }
  int status = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (head[i] < '0' || head[i] > '9') {
      out->error = "malformed HTTP status line";
      return false;
    }
    status = status * 10 + (head[i] - '0');
  }
  out->status = status;
  std::optional<size_t> content_length;
  for (const auto& [name, value] : header_fields(head)) {
    if (name == "content-type") out->content_type = std::string(value);
    if (name == "content-length") {
      const std::optional<size_t> length = parse_content_length(value);
      if (length && content_length && *length != *content_length) {
        out->error = "the answer has two different Content-Length values";
        return false;
      }
      content_length = length;
      if (!content_length) {
        out->error = "the answer has a malformed Content-Length";
        return false;
      }
    }
    if (name == "transfer-encoding") {
      out->error = "the server sent a Transfer-Encoding response, which ctl does not read";
      return false;
    }
  }
  out->body = std::string(raw.substr(head_end + 4));
  if (content_length) {
    if (out->body.size() < *content_length) {
      out->error = "the connection closed before the whole response arrived";
      return false;
    }
    out->body.resize(*content_length);
  }
  return true;
}

// Whether `raw` holds all ctl will read of the response: the whole of one framed by
// Content-Length (so a server that keeps the connection open despite "Connection: close" does
// not stall ctl), or a head that parse_response refuses (Transfer-Encoding, a malformed
// Content-Length or two different ones), which reading on would not change.
bool response_complete(const std::string& whole) {
  const size_t start = final_response_start(whole);
  if (start == std::string::npos) return false;
  const std::string_view raw = std::string_view(whole).substr(start);
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  std::optional<size_t> content_length;
  for (const auto& [name, value] : header_fields(raw.substr(0, head_end))) {
    if (name == "transfer-encoding") return true;
    if (name == "content-length") {
      const std::optional<size_t> length = parse_content_length(value);
      if (!length || (content_length && *content_length != *length)) return true;
      content_length = length;
    }
  }
  return content_length && raw.size() >= head_end + 4 + *content_length;
}

}  // namespace

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

AdminResponse call_admin(const std::string& host, uint16_t port, const AdminRequest& request,
                         ClientTimeouts timeouts) {
  // One deadline for the whole exchange, connecting included: --timeout is what ctl waits.
  const auto deadline = std::chrono::steady_clock::now() + timeouts.exchange;
  AdminResponse response;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string port_text = std::to_string(port);
  if (int err = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &addresses); err != 0) {
    response.outcome = AdminResponse::Outcome::kConnectFailed;
    response.error = std::string("cannot resolve ") + host + ": " + gai_strerror(err);
    return response;
  }
  int fd = -1;
  int last_error = 0;
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    const std::chrono::milliseconds left{remaining_ms(deadline)};
    if (left.count() == 0) {
      last_error = ETIMEDOUT;
      break;
    }
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    last_error = connect_with_timeout(fd, *a, std::min(timeouts.connect, left));
    if (last_error == 0) break;
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(addresses);
  if (fd < 0) {
    response.outcome = AdminResponse::Outcome::kConnectFailed;
    response.error = errno_text(last_error);
    return response;
  }
  Socket socket(fd);
  const std::string no_answer = "no answer within " + seconds_text(timeouts.exchange);

  int err = 0;
  if (!send_all(fd, format_request(host, port, request), deadline, &err)) {
    response.outcome =
        err == ETIMEDOUT ? AdminResponse::Outcome::kNoAnswer : AdminResponse::Outcome::kFailed;
    response.error =
        err == ETIMEDOUT ? no_answer : "sending the request failed: " + errno_text(err);
    return response;
  }
  std::string raw;
  char chunk[16384];
  while (true) {
    if (!wait_for(fd, POLLIN, deadline)) {
      response.outcome = AdminResponse::Outcome::kNoAnswer;
      response.error = raw.empty() ? no_answer : no_answer + " (part of it arrived)";
      return response;
    }
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if ((n < 0 || n == 0) && !final_answer_began(raw)) {
      // The server took the request and went away without a word: whether it acted on it is
      // unknown, as when no answer comes in time.
      response.outcome = AdminResponse::Outcome::kLost;
      response.error = n == 0 ? "the connection closed before any answer"
                              : "the connection failed before any answer: " + errno_text(errno);
      return response;
    }
    if (n < 0) {
      response.outcome = AdminResponse::Outcome::kFailed;
      response.error = "reading the answer failed: " + errno_text(errno);
      return response;
    }
    if (n == 0) break;
    raw.append(chunk, static_cast<size_t>(n));
    // Something other than HTTP (a Redis port, say) may never close: say so at once.
    if (!std::string_view("HTTP/").starts_with(std::string_view(raw).substr(0, 5))) {
      response.outcome = AdminResponse::Outcome::kFailed;
      response.error = "the answer is not an HTTP response (is this the admin port?)";
      return response;
    }
    if (response_complete(raw)) break;
    if (raw.size() > kMaxResponseBytes) {
      response.outcome = AdminResponse::Outcome::kFailed;
      response.error = "the answer is larger than " + std::to_string(kMaxResponseBytes) + " bytes";
      return response;
    }
  }
  if (!parse_response(raw, &response)) response.outcome = AdminResponse::Outcome::kFailed;
  return response;
}

}  // namespace ringleader::app::ctl
