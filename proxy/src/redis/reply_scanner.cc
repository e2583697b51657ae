#include "proxy/redis/reply_scanner.h"

#include <cstdio>
#include <string>
#include <utility>

#include "common/assert.h"
#include "resp_integer.h"

namespace ringleader::proxy::redis {

void ReplyScanner::reset() {
  state_ = State::kType;
  pos_ = 0;
  line_scan_ = 0;
  bulk_length_ = 0;
  pending_ = 1;
  length_ = 0;
  error_.clear();
}

size_t ReplyScanner::settled() const {
  return state_ == State::kTextLine ? line_scan_ : pos_;
}

size_t ReplyScanner::known_length() const {
  return state_ == State::kBulkBody ? pos_ + bulk_length_ + 2 : settled();
}

void ReplyScanner::drop(size_t n) {
  RL_CHECK(n <= settled());
  pos_ = pos_ > n ? pos_ - n : 0;  // a text line's start is not needed once dropped
  line_scan_ = line_scan_ > n ? line_scan_ - n : 0;
}

ParseStatus ReplyScanner::scan(std::string_view input) {
  // A caller contract, not untrusted input: the bytes shown before are still there.
  RL_CHECK(input.size() >= pos_);
  while (true) {
    Step step = Step::kContinue;
    switch (state_) {
      case State::kDone:
        return ParseStatus::kComplete;
      case State::kFailed:
        return ParseStatus::kError;
      case State::kType:
        step = scan_type(input);
        break;
      case State::kTextLine:
        step = scan_text_line(input);
        break;
      case State::kBulkBody:
        step = scan_bulk_body(input);
        break;
    }
    switch (step) {
      case Step::kContinue:
        continue;
      case Step::kNeedMore:
        return ParseStatus::kNeedMore;
      case Step::kComplete:
        return ParseStatus::kComplete;
      case Step::kError:
        return ParseStatus::kError;
    }
  }
}

ReplyScanner::Step ReplyScanner::fail(std::string message) {
  state_ = State::kFailed;
  error_ = std::move(message);
  return Step::kError;
}

// One value ended at pos_: one fewer to go.
ReplyScanner::Step ReplyScanner::value_done() {
  if (--pending_ > 0) {
    state_ = State::kType;
    return Step::kContinue;
  }
  length_ = pos_;
  state_ = State::kDone;
  return Step::kComplete;
}

ReplyScanner::Step ReplyScanner::scan_type(std::string_view input) {
  if (pos_ == input.size()) return Step::kNeedMore;
  const char type = input[pos_];
  switch (type) {
    case '+':
    case '-':
      state_ = State::kTextLine;
      line_scan_ = pos_ + 1;
      return Step::kContinue;
    case ':':
    case '$':
    case '*':
      break;
    default: {
      char text[64];
      std::snprintf(text, sizeof text, "Protocol error: invalid reply type byte 0x%02x",
                    static_cast<unsigned char>(type));
      return fail(text);
    }
  }
  const NumberLine line = read_number_line(input, pos_);
  if (line.status == NumberLine::Status::kNeedMore) return Step::kNeedMore;
  if (line.status == NumberLine::Status::kError) {
    return fail(type == ':'   ? "Protocol error: invalid integer reply"
                : type == '$' ? "Protocol error: invalid bulk length"
                              : "Protocol error: invalid multibulk length");
  }
  pos_ = line.next;
  if (type == ':') return value_done();
  if (line.value < -1) {
    return fail(type == '$' ? "Protocol error: invalid bulk length"
                            : "Protocol error: invalid multibulk length");
  }
  if (type == '$') {
    if (line.value == -1) return value_done();  // null bulk
    bulk_length_ = static_cast<size_t>(line.value);
    state_ = State::kBulkBody;
    return Step::kContinue;
  }
  if (line.value <= 0) return value_done();  // null or empty array
  // The array stands for its elements.
  const uint64_t elements = static_cast<uint64_t>(line.value);
  if (elements - 1 > kMaxPendingReplyValues - pending_) {
    return fail("Protocol error: reply arrays declare more than 2^62 elements");
  }
  pending_ += elements - 1;
  state_ = State::kType;
  return Step::kContinue;
}

ReplyScanner::Step ReplyScanner::scan_text_line(std::string_view input) {
  const size_t cr = input.find('\r', line_scan_);
  if (cr == std::string_view::npos) {
    line_scan_ = input.size();
    return Step::kNeedMore;
  }
  if (cr + 1 == input.size()) {
    line_scan_ = cr;
    return Step::kNeedMore;
  }
  if (input[cr + 1] != '\n') return fail("Protocol error: CR without LF in a status/error reply");
  pos_ = cr + 2;
  return value_done();
}

ReplyScanner::Step ReplyScanner::scan_bulk_body(std::string_view input) {
  const size_t available = input.size() - pos_;
  if (available < bulk_length_ || available - bulk_length_ < 2) {
    // Step over the part of the body that is here: it is never examined, and a caller
    // discarding the reply may drop it (settled()).
    const size_t skip = available < bulk_length_ ? available : bulk_length_;
    pos_ += skip;
    bulk_length_ -= skip;
    return Step::kNeedMore;
  }
  const size_t end = pos_ + bulk_length_;
  if (input[end] != '\r' || input[end + 1] != '\n') {
    return fail("Protocol error: bulk data is not followed by CRLF");
  }
  pos_ = end + 2;
  return value_done();
}

}  // namespace ringleader::proxy::redis
