#include "proxy/redis/request_parser.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "common/assert.h"
#include "inline_args.h"
#include "resp_integer.h"

namespace ringleader::proxy::redis {
namespace {

// Room reserved up front for announced arguments: `*1000000` alone must not allocate much.
constexpr size_t kMaxArgsReserved = 1024;

// A byte as it may appear in a one-line client message: itself when printable, else \xHH.
std::string printable_byte(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, c);
  char text[8];
  std::snprintf(text, sizeof text, "\\x%02x", static_cast<unsigned char>(c));
  return text;
}

}  // namespace

RequestParser::RequestParser(ParseLimits limits) : limits_(limits) {}

void RequestParser::reset() {
  state_ = State::kStart;
  pos_ = 0;
  request_begin_ = 0;
  inline_scan_ = 0;
  args_expected_ = 0;
  bulk_length_ = 0;
  ranges_.clear();
  args_.clear();
  unescaped_.clear();
  consumed_ = 0;
  error_.clear();
}

void RequestParser::release_memory() {
  if (state_ != State::kStart || pos_ != 0) return;  // a request is partly parsed
  std::vector<detail::ArgRange>().swap(ranges_);
  std::vector<std::string_view>().swap(args_);
  std::string().swap(unescaped_);
  std::string().swap(error_);
}

ParseStatus RequestParser::parse(std::string_view input) {
  // A caller contract, not untrusted input: the bytes shown before are still there.
  RL_CHECK(input.size() >= pos_);
  while (true) {
    Step step = Step::kContinue;
    switch (state_) {
      case State::kDone:
        step = complete(input, consumed_);
        break;
      case State::kFailed:
        return ParseStatus::kError;
      case State::kStart:
        request_begin_ = pos_;
        if (pos_ == input.size()) {
          step = need_more(input);
        } else {
          state_ = input[pos_] == '*' ? State::kMultibulkCount : State::kInline;
          inline_scan_ = pos_;
        }
        break;
      case State::kMultibulkCount:
        step = parse_multibulk_count(input);
        break;
      case State::kBulkLength:
        step = parse_bulk_length(input);
        break;
      case State::kBulkBody:
        step = parse_bulk_body(input);
        break;
      case State::kInline:
        step = parse_inline(input);
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

RequestParser::Step RequestParser::fail(std::string message) {
  state_ = State::kFailed;
  error_ = std::move(message);
  args_.clear();
  return Step::kError;
}

// Every byte shown from request_begin_ on belongs to the unfinished request.
RequestParser::Step RequestParser::need_more(std::string_view input) {
  if (input.size() - request_begin_ > limits_.max_request_bytes) {
    return fail("Protocol error: request exceeds " + std::string(limits_.bytes_name) + " (" +
                std::to_string(limits_.max_request_bytes) + ")");
  }
  return Step::kNeedMore;
}

RequestParser::Step RequestParser::complete(std::string_view input, size_t end) {
  if (end - request_begin_ > limits_.max_request_bytes) {
    return fail("Protocol error: request exceeds " + std::string(limits_.bytes_name) + " (" +
                std::to_string(limits_.max_request_bytes) + ")");
  }
  args_.clear();
  args_.reserve(ranges_.size());
  const std::string_view unescaped = unescaped_;
  for (const detail::ArgRange& range : ranges_) {
    args_.push_back(range.in_unescaped ? unescaped.substr(range.offset, range.length)
                                       : input.substr(range.offset, range.length));
  }
  consumed_ = end;
  pos_ = end;
  state_ = State::kDone;
  return Step::kComplete;
}

RequestParser::Step RequestParser::parse_multibulk_count(std::string_view input) {
  const NumberLine line = read_number_line(input, pos_);
  if (line.status == NumberLine::Status::kNeedMore) return need_more(input);
  if (line.status == NumberLine::Status::kError) {
    return fail("Protocol error: invalid multibulk length");
  }
  if (line.value <= 0) {  // `*0`, `*-1` or any negative count: an empty request, skipped
    pos_ = line.next;
    state_ = State::kStart;
    return Step::kContinue;
  }
  if (static_cast<uint64_t>(line.value) > limits_.max_args) {
    return fail("Protocol error: request has more than " + std::string(limits_.args_name) + " (" +
                std::to_string(limits_.max_args) + ") arguments");
  }
  args_expected_ = static_cast<size_t>(line.value);
  ranges_.reserve(std::min(args_expected_, kMaxArgsReserved));
  pos_ = line.next;
  state_ = State::kBulkLength;
  return Step::kContinue;
}

RequestParser::Step RequestParser::parse_bulk_length(std::string_view input) {
  if (pos_ == input.size()) return need_more(input);
  if (input[pos_] != '$') {
    return fail("Protocol error: expected '$', got '" + printable_byte(input[pos_]) + "'");
  }
  const NumberLine line = read_number_line(input, pos_);
  if (line.status == NumberLine::Status::kNeedMore) return need_more(input);
  if (line.status == NumberLine::Status::kError || line.value < 0) {
    return fail("Protocol error: invalid bulk length");
  }
  // Refuse an oversized request as soon as its size is announced, before buffering it.
  const uint64_t length = static_cast<uint64_t>(line.value);
  if (length > limits_.max_request_bytes ||
      line.next - request_begin_ + length + 2 > limits_.max_request_bytes) {
    return fail("Protocol error: request exceeds " + std::string(limits_.bytes_name) + " (" +
                std::to_string(limits_.max_request_bytes) + ")");
  }
  bulk_length_ = static_cast<size_t>(length);
  pos_ = line.next;
  state_ = State::kBulkBody;
  return Step::kContinue;
}

RequestParser::Step RequestParser::parse_bulk_body(std::string_view input) {
  if (input.size() - pos_ < bulk_length_ + 2) return need_more(input);
  const size_t end = pos_ + bulk_length_;
  if (input[end] != '\r' || input[end + 1] != '\n') {
    return fail("Protocol error: bulk data is not followed by CRLF (longer than its length?)");
  }
  ranges_.push_back({pos_, bulk_length_, false});
  pos_ = end + 2;
  if (ranges_.size() == args_expected_) return complete(input, pos_);
  state_ = State::kBulkLength;
  return Step::kContinue;
}

RequestParser::Step RequestParser::parse_inline(std::string_view input) {
  // The '\n' may follow max_inline_bytes of text and a '\r'.
  const size_t window_end = std::min(input.size(), pos_ + limits_.max_inline_bytes + 2);
  const size_t newline = input.substr(0, window_end).find('\n', inline_scan_);
  if (newline == std::string_view::npos || newline >= window_end) {
    if (window_end == pos_ + limits_.max_inline_bytes + 2) {
      return fail("Protocol error: too big inline request");
    }
    inline_scan_ = window_end;
    return need_more(input);
  }
  size_t line_end = newline;
  if (line_end > pos_ && input[line_end - 1] == '\r') --line_end;
  if (line_end - pos_ > limits_.max_inline_bytes) {
    return fail("Protocol error: too big inline request");
  }
  const std::string_view line = input.substr(pos_, line_end - pos_);
  // Redis reads an inline line as a C string: past a NUL it never finds the newline and never
  // answers. Said and closed here rather than guessed at.
  if (line.find('\0') != std::string_view::npos) {
    return fail("Protocol error: NUL byte in inline request");
  }
  switch (split_inline_args(line, pos_, limits_.max_args, ranges_, unescaped_)) {
    case InlineSplit::kOk:
      break;
    case InlineSplit::kUnbalancedQuotes:
      return fail("Protocol error: unbalanced quotes in request");
    case InlineSplit::kTooManyArgs:
      return fail("Protocol error: request has more than " + std::string(limits_.args_name) + " (" +
                  std::to_string(limits_.max_args) + ") arguments");
  }
  if (ranges_.empty()) {  // a blank line: skipped
    pos_ = newline + 1;
    state_ = State::kStart;
    return Step::kContinue;
  }
  return complete(input, newline + 1);
}

}  // namespace ringleader::proxy::redis
