#include "proxy/memcached/request_parser.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "decimal.h"

namespace ringleader::proxy::memcached {

bool has_data_block(std::string_view command, size_t* length_token) {
  // set/add/replace/append/prepend <key> <flags> <exptime> <bytes> [noreply]
  // cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
  static constexpr std::string_view kStorage[] = {"set",    "add",     "replace",
                                                  "append", "prepend", "cas"};
  for (std::string_view name : kStorage) {
    if (command == name) {
      *length_token = 4;
      return true;
    }
  }
  // ms <key> <datalen> <flags>*
  if (command == "ms") {
    *length_token = 2;
    return true;
  }
  return false;
}

bool may_exceed_line_limit(std::string_view line) {
  const size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos || start > 100) return false;
  const size_t end = line.find(' ', start);
  if (end == std::string_view::npos) return false;
  const std::string_view first = line.substr(start, end - start);
  return first == "get" || first == "gets" || first == "gat" || first == "gats" || first == "bget";
}

constexpr std::string_view kLineTooLong =
    "CLIENT_ERROR ringleader: command line longer than 16384 bytes (only get, gets, gat, gats "
    "and bget lines may be)";

void RequestParser::release_memory() {
  if (scanned_ != 0 || line_found_ || discard_ != 0) return;  // a request is partly read
  std::vector<std::pair<size_t, size_t>>().swap(token_spans_);
  std::vector<std::string_view>().swap(tokens_);
  std::string().swap(error_);
}

void RequestParser::reset() {
  scanned_ = 0;
  line_length_ = 0;
  line_end_ = 0;
  data_length_ = 0;
  line_found_ = false;
  has_data_ = false;
  crlf_ = false;
  discard_ = 0;
  token_spans_.clear();
  tokens_.clear();
  data_ = {};
  consumed_ = 0;
  error_.clear();
}

ParseStatus RequestParser::fail(std::string line) {
  error_ = std::move(line);
  error_ += "\r\n";
  return ParseStatus::kError;
}

bool RequestParser::tokenize(std::string_view line) {
  token_spans_.clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ')
      ++i;
    if (i == line.size()) break;
    size_t start = i;
    while (i < line.size() && line[i] != ' ')
      ++i;
    if (token_spans_.size() == limits_.max_tokens) {
      error_ = "CLIENT_ERROR ringleader: too many words on one command line (limit " +
               std::to_string(limits_.max_tokens) + ")\r\n";
      return false;
    }
    token_spans_.emplace_back(start, i - start);
  }
  return true;
}

ParseStatus RequestParser::parse(std::string_view input) {
  // A binary-protocol request starts with its magic byte; no text command does. Its client
  // would wait for a binary reply that never comes (nothing in it ends a text line): say
  // so and close instead.
  if (!text_seen_ && !line_found_ && scanned_ == 0 && !input.empty() &&
      static_cast<unsigned char>(input[0]) == kBinaryRequestMagic) {
    return fail(
        "CLIENT_ERROR ringleader speaks memcached's text protocol only, not the binary one");
  }
  if (!line_found_) {
    const size_t limit = std::min(input.size(), limits_.max_request_bytes);
    const void* nl =
        scanned_ < limit ? std::memchr(input.data() + scanned_, '\n', limit - scanned_) : nullptr;
    if (nl == nullptr) {
      scanned_ = limit;
      if (input.size() >= limits_.max_request_bytes) {
        return fail("CLIENT_ERROR ringleader: command line longer than proxy.max_request_bytes");
      }
      // A '\r' at the end may be the terminator's first byte.
      const size_t text = limit > 0 && input[limit - 1] == '\r' ? limit - 1 : limit;
      if (text > kMaxCommandLineBytes && !may_exceed_line_limit(input)) {
        return fail(std::string(kLineTooLong));
      }
      return ParseStatus::kNeedMore;
    }
    size_t at = static_cast<size_t>(static_cast<const char*>(nl) - input.data());
    crlf_ = at > 0 && input[at - 1] == '\r';
    line_length_ = crlf_ ? at - 1 : at;
    if (line_length_ > kMaxCommandLineBytes &&
        !may_exceed_line_limit(input.substr(0, line_length_))) {
      return fail(std::string(kLineTooLong));
    }
    line_end_ = at + 1;
    line_found_ = true;
    text_seen_ = true;
    if (!tokenize(input.substr(0, line_length_))) return ParseStatus::kError;
    size_t length_token = 0;
    if (!token_spans_.empty()) {
      auto [off, len] = token_spans_[0];
      // A storage line without its length word has no data block for memcached either (it
      // answers the line, ERROR for a word count set does not take): the session does.
      if (has_data_block(input.substr(off, len), &length_token) &&
          length_token < token_spans_.size()) {
        auto [loff, llen] = token_spans_[length_token];
        // A storage command whose length is unreadable leaves the stream where no one can
        // tell the data from the next command: the connection cannot continue. memcached
        // refuses a negative one, or one past INT_MAX - 2, without skipping anything: such a
        // length cannot be skipped either.
        if (!parse_data_length(input.substr(loff, llen), &data_length_)) {
          return fail("CLIENT_ERROR bad command line format");
        }
        if (data_length_ > kMaxDataBytes || data_length_ > limits_.max_request_bytes ||
            line_end_ + data_length_ + 2 > limits_.max_request_bytes) {
          discard_ = data_length_ + 2;
        } else {
          has_data_ = true;
        }
      }
    }
  }
  if (has_data_) {
    const size_t end = line_end_ + data_length_;
    if (input.size() < end + 2) return ParseStatus::kNeedMore;
    tokens_.clear();
    for (auto [off, len] : token_spans_)
      tokens_.push_back(input.substr(off, len));
    // (The words stay readable: the error is silent when the line asked for noreply.)
    if (input[end] != '\r' || input[end + 1] != '\n') return fail("CLIENT_ERROR bad data chunk");
    data_ = input.substr(line_end_, data_length_);
    consumed_ = end + 2;
    return ParseStatus::kComplete;
  }
  consumed_ = line_end_;
  tokens_.clear();
  for (auto [off, len] : token_spans_)
    tokens_.push_back(input.substr(off, len));
  return ParseStatus::kComplete;
}

}  // namespace ringleader::proxy::memcached
