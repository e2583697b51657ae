#include "proxy/memcached/reply_scanner.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "decimal.h"

namespace ringleader::proxy::memcached {

bool parse_value_line(std::string_view line, std::string_view* key, size_t* bytes) {
  if (line.substr(0, 6) != "VALUE ") return false;
  // Words split on runs of spaces: VALUE, key, flags, bytes, and an optional cas.
  std::string_view words[4];
  size_t word = 0, i = 0;
  while (i < line.size() && word < 4) {
    while (i < line.size() && line[i] == ' ')
      ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ')
      ++i;
    if (start == i) break;
    words[word++] = line.substr(start, i - start);
  }
  if (word < 4 || !parse_length(words[3], bytes)) return false;
  *key = words[1];
  return true;
}

bool is_reply_line(std::string_view line) {
  if (!line.empty() &&
      std::all_of(line.begin(), line.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return true;  // incr/decr
  }
  static constexpr std::string_view kWords[] = {
      "END", "STORED", "NOT_STORED",   "EXISTS",       "NOT_FOUND", "DELETED", "TOUCHED",
      "OK",  "ERROR",  "CLIENT_ERROR", "SERVER_ERROR", "VERSION",   "HD",      "NF",
      "NS",  "EX",     "EN",           "MN",           "ME"};
  const std::string_view word = line.substr(0, line.find(' '));
  return std::find(std::begin(kWords), std::end(kWords), word) != std::end(kWords);
}

void ReplyScanner::reset() {
  pos_ = 0;
  scanned_ = 0;
  data_end_ = 0;
  in_data_ = false;
  meta_value_ = false;
  seen_ = 0;
  length_ = 0;
  error_.clear();
}

void ReplyScanner::drop(size_t n) {
  pos_ = pos_ > n ? pos_ - n : 0;  // inside a data block the line start is not needed
  scanned_ = scanned_ > n ? scanned_ - n : 0;
  if (in_data_) data_end_ -= n;  // n <= settled() <= data_end_
  seen_ -= n;
}

ParseStatus ReplyScanner::fail(std::string message) {
  error_ = std::move(message);
  return ParseStatus::kError;
}

ParseStatus ReplyScanner::scan(std::string_view input) {
  seen_ = input.size();
  for (;;) {
    if (in_data_) {
      if (input.size() < data_end_ + 2) return ParseStatus::kNeedMore;
      if (input[data_end_] != '\r' || input[data_end_ + 1] != '\n') {
        return fail("a VALUE data block is not followed by \\r\\n");
      }
      in_data_ = false;
      pos_ = scanned_ = data_end_ + 2;
      if (meta_value_) {  // a meta "VA" reply is one line and its data block
        meta_value_ = false;
        length_ = pos_;
        return ParseStatus::kComplete;
      }
    }
    const void* nl = scanned_ < input.size()
                         ? std::memchr(input.data() + scanned_, '\n', input.size() - scanned_)
                         : nullptr;
    if (nl == nullptr) {
      scanned_ = input.size();
      if (scanned_ - pos_ > kMaxLineBytes) return fail("reply line longer than 8 KiB");
      return ParseStatus::kNeedMore;
    }
    const size_t at = static_cast<size_t>(static_cast<const char*>(nl) - input.data());
    if (at == pos_ || input[at - 1] != '\r') return fail("reply line not ended by \\r\\n");
    std::string_view line = input.substr(pos_, at - 1 - pos_);
    if (line.size() >= 6 && std::memcmp(line.data(), "VALUE ", 6) == 0) {
      std::string_view key;
      size_t bytes = 0;
      if (!parse_value_line(line, &key, &bytes)) return fail("malformed VALUE line");
      if (bytes > kMaxDataBytes) return fail("VALUE data block larger than 1 GiB");
      in_data_ = true;
      data_end_ = at + 1 + bytes;
      continue;
    }
    if (line.size() >= 3 && std::memcmp(line.data(), "VA ", 3) == 0 && pos_ == 0) {
      // VA <size> <flags>*: a meta command's value, its data block follows.
      size_t end = line.find(' ', 3);
      size_t bytes = 0;
      if (!parse_length(line.substr(3, end == std::string_view::npos ? end : end - 3), &bytes)) {
        return fail("malformed VA line");
      }
      if (bytes > kMaxDataBytes) return fail("VA data block larger than 1 GiB");
      in_data_ = true;
      meta_value_ = true;
      data_end_ = at + 1 + bytes;
      continue;
    }
    // END closes a run of items; any other reply line is a whole reply, or cuts the run
    // short. A line that is none (garbage, a stream out of step) is an error.
    if (!is_reply_line(line)) return fail("unexpected reply line");
    length_ = at + 1;
    return ParseStatus::kComplete;
  }
}

}  // namespace ringleader::proxy::memcached
