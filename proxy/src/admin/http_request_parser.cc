#include "http_request_parser.h"

#include <algorithm>
#include <cstdint>

namespace ringleader::proxy::admin {
namespace {

// RFC 9110 tchar: the characters of a token (methods, header names).
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

// Visible ASCII, no spaces or controls: what a request-target may contain.
bool is_target_char(char c) {
  return c > 0x20 && c < 0x7f;
}

// Field values: visible characters, spaces and tabs, and obs-text (bytes >= 0x80).
bool is_field_value_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// Whether the comma-separated list `value` contains `token` (case-insensitive).
bool list_contains(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (lower(item) == token) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Content-Length: 1*DIGIT without overflow; false when malformed or above `limit` (+1 so the
// caller can tell "too large" from "malformed" by comparing with the limit).
bool parse_content_length(std::string_view text, uint64_t limit, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > limit) value = limit + 1;  // saturate: no overflow, still "too large"
  }
  *out = value;
  return true;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return &value;
  return nullptr;
}

void HttpRequestParser::reset() {
  state_ = State::kIncomplete;
  phase_ = Phase::kHead;
  head_.clear();
  line_start_ = 0;
  body_remaining_ = 0;
  continue_due_ = false;
  request_ = HttpRequest{};
  error_ = HttpParseError{};
}

void HttpRequestParser::fail(int status, std::string message) {
  state_ = State::kFailed;
  phase_ = Phase::kDone;
  error_ = HttpParseError{status, std::move(message)};
}

size_t HttpRequestParser::feed(std::string_view data) {
  size_t used = 0;
  while (used < data.size() && state_ == State::kIncomplete) {
    if (phase_ == Phase::kHead) {
      // Copy up to the end of the current line, then decide what the line means.
      const std::string_view rest = data.substr(used);
      const size_t nl = rest.find('\n');
      const size_t take = nl == std::string_view::npos ? rest.size() : nl + 1;
      if (head_.size() + take > kMaxHeaderBytes) {
        fail(431, "request line and headers exceed " + std::to_string(kMaxHeaderBytes) + " bytes");
        break;
      }
      head_.append(rest.substr(0, take));
      used += take;
      if (nl == std::string_view::npos) break;
      std::string_view line(head_.data() + line_start_, head_.size() - line_start_);
      const bool empty_line = line == "\n" || line == "\r\n";
      if (empty_line && line_start_ == 0) {
        head_.clear();  // RFC 9112 2.2: ignore empty lines before the request line
        continue;
      }
      line_start_ = head_.size();
      if (empty_line) parse_head();
    } else if (phase_ == Phase::kBody) {
      const size_t take = std::min(body_remaining_, data.size() - used);
      request_.body.append(data.substr(used, take));
      used += take;
      body_remaining_ -= take;
      if (body_remaining_ == 0) {
        phase_ = Phase::kDone;
        state_ = State::kComplete;
      }
    }
  }
  return used;
}

void HttpRequestParser::parse_head() {
  std::string_view head(head_);
  bool first = true;
  while (!head.empty()) {
    const size_t nl = head.find('\n');  // every line in head_ ends with '\n'
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) {
      fail(400, "bare CR in the request head");
      return;
    }
    if (line.empty()) break;  // the blank line that ends the head
    if (first ? !parse_request_line(line) : !parse_field_line(line)) return;
    first = false;
  }
  head_.clear();
  head_.shrink_to_fit();
  if (!apply_framing()) return;
  if (body_remaining_ == 0) {
    phase_ = Phase::kDone;
    state_ = State::kComplete;
  } else {
    phase_ = Phase::kBody;
    request_.body.reserve(body_remaining_);
  }
}

bool HttpRequestParser::parse_request_line(std::string_view line) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    fail(400, "malformed request line: expected \"METHOD /path HTTP/1.1\"");
    return false;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) {
    fail(400, "malformed request line: the method is not a token");
    return false;
  }
  if (target.empty() || target.front() != '/' ||
      !std::all_of(target.begin(), target.end(), is_target_char)) {
    fail(400, "malformed request target: expected a path starting with '/'");
    return false;
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    fail(400, "malformed request line: expected the version HTTP/1.1");
    return false;
  }
  if (version[5] != '1') {
    fail(505, "HTTP version " + std::string(version.substr(5)) + " is not supported; use 1.1");
    return false;
  }
  request_.method = std::string(method);
  request_.target = std::string(target);
  const size_t q = target.find('?');
  request_.path = std::string(target.substr(0, q));
  request_.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  request_.minor_version = version[7] - '0';
  return true;
}

bool HttpRequestParser::parse_field_line(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    fail(400, "obsolete line folding in headers is not accepted");
    return false;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
    fail(400, "malformed header line: expected \"Name: value\"");
    return false;
  }
  const std::string_view value = trim(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), is_field_value_char)) {
    fail(400, "control character in header " + std::string(line.substr(0, colon)));
    return false;
  }
  request_.headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
  return true;
}

bool HttpRequestParser::apply_framing() {
  if (request_.header("transfer-encoding") != nullptr) {
    fail(411, "Transfer-Encoding (chunked) bodies are not supported; send Content-Length");
    return false;
  }
  bool seen_length = false;
  uint64_t length = 0;
  for (const auto& [name, value] : request_.headers) {
    if (name != "content-length") continue;
    uint64_t parsed = 0;
    if (!parse_content_length(value, kMaxBodyBytes, &parsed)) {
      fail(400, "malformed Content-Length \"" + value + "\": expected a decimal byte count");
      return false;
    }
    if (seen_length && parsed != length) {
      fail(400, "conflicting Content-Length headers");
      return false;
    }
    seen_length = true;
    length = parsed;
  }
  if (length > kMaxBodyBytes) {
    fail(413, "request body exceeds " + std::to_string(kMaxBodyBytes) + " bytes");
    return false;
  }
  body_remaining_ = static_cast<size_t>(length);
  if (const std::string* expect = request_.header("expect")) {
    // The only expectation HTTP defines (RFC 9110 10.1.1); a client that asks it waits for
    // the interim answer, or a final one, before sending its body.
    if (lower(trim(*expect)) != "100-continue") {
      fail(417, "unsupported Expect \"" + *expect + "\": only 100-continue is understood");
      return false;
    }
    continue_due_ = request_.minor_version >= 1 && length > 0;
  }

  const std::string* connection = request_.header("connection");
  if (request_.minor_version == 0) {
    request_.keep_alive = connection != nullptr && list_contains(*connection, "keep-alive");
  } else {
    request_.keep_alive = connection == nullptr || !list_contains(*connection, "close");
  }
  return true;
}

}  // namespace ringleader::proxy::admin
