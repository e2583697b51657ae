// A minimal, resumable HTTP/1.1 request parser for the admin port.
//
// Accepts origin-form requests ("GET /path?query HTTP/1.1"), header fields and bodies framed by
// Content-Length, and "Expect: 100-continue" (see take_continue(); other expectations: 417).
// Everything else that a small admin API does not need is refused with the status a client should
// see: chunked or other transfer codings (411), header sections over kMaxHeaderBytes (431), bodies
// over kMaxBodyBytes (413), HTTP versions other than 1.0/1.1 (505), and any malformed syntax (400).
// After an error the connection cannot be resynchronised and must be closed once the error response
// is written.
//
// Bytes may arrive split at any offset: feed() consumes what it can and keeps its state.
// Not thread-safe; one parser per connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringleader::proxy::admin {

inline constexpr size_t kMaxHeaderBytes = 8 * 1024;  // request line + header fields
inline constexpr size_t kMaxBodyBytes = 1024 * 1024;

// One parsed request. Header names are lower-cased; values have surrounding spaces trimmed.
struct HttpRequest {
  std::string method;     // case-sensitive token, e.g. "GET"
  std::string target;     // request-target as sent, e.g. "/ring/lookup?key=a%20b"
  std::string path;       // target up to '?', not decoded
  std::string query;      // target after '?', not decoded; empty when absent
  int minor_version = 1;  // HTTP/1.<minor_version>
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only if asked

  // The first value of header `lower_name` (lower-case), or nullptr when absent.
  const std::string* header(std::string_view lower_name) const;
};

// Why a request was refused: the HTTP status to answer with and a message for the client.
struct HttpParseError {
  int status = 400;
  std::string message;
};

class HttpRequestParser {
 public:
  enum class State {
    kIncomplete,  // needs more bytes
    kComplete,    // request() is ready; call reset() before feeding the next request
    kFailed,      // error() says why; the connection must be closed after answering
  };

  // Consumes bytes of the current request from `data` and returns how many it used. It stops
  // at the end of a complete request (the rest belongs to the next, pipelined request) and
  // consumes nothing once complete or failed.
  size_t feed(std::string_view data);

  State state() const { return state_; }
  // Precondition: state() == kComplete. The request may be moved out.
  HttpRequest& request() { return request_; }
  // Precondition: state() == kFailed.
  const HttpParseError& error() const { return error_; }
  // True when no byte of a next request has been received since the last reset().
  bool idle() const { return phase_ == Phase::kHead && head_.empty(); }
  // True once, while the head asked for "Expect: 100-continue" (HTTP/1.1) and the body has not
  // arrived: the client waits for a "100 Continue" before it sends the body. The caller sends
  // it; later calls for the same request answer false.
  bool take_continue() {
    const bool due = continue_due_ && phase_ == Phase::kBody;
    continue_due_ = false;
    return due;
  }

  // Prepares for the next request on the same connection.
  void reset();

 private:
  enum class Phase { kHead, kBody, kDone };

  // Parses the complete head in head_ (request line and fields); fails or moves to kBody/kDone.
  void parse_head();
  bool parse_request_line(std::string_view line);
  bool parse_field_line(std::string_view line);
  bool apply_framing();
  void fail(int status, std::string message);

  State state_ = State::kIncomplete;
  Phase phase_ = Phase::kHead;
  std::string head_;           // bytes of the head received so far, up to kMaxHeaderBytes
  size_t line_start_ = 0;      // offset in head_ where the current line starts
  size_t body_remaining_ = 0;  // body bytes still expected in Phase::kBody
  bool continue_due_ = false;  // see take_continue()
  HttpRequest request_;
  HttpParseError error_;
};

}  // namespace ringleader::proxy::admin
