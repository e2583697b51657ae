// ReplyScanner: finds where one complete RESP2 reply from a backend ends, without copying or
// building anything — so replies can be forwarded to clients as the bytes they are.
//
// Threading: one scanner per backend connection, used by the thread that owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/redis/parse_status.h"

namespace ringleader::proxy::redis {

// More values than this still expected in one reply (array lengths add up beyond it) is a
// protocol error: no reply that fits in memory declares as many.
inline constexpr uint64_t kMaxPendingReplyValues = uint64_t{1} << 62;

class ReplyScanner {
 public:
  ReplyScanner() = default;

  // Scans the reply at the start of `input`, under the same contract as RequestParser::parse:
  // input starts at the reply's first byte; bytes shown before are unchanged on the next call
  // (the buffer may have moved); resumable, so the total work is linear in the reply's size
  // however it is split — bulk bodies are skipped, not examined.
  // Accepts every RESP2 type: +simple, -error, :integer, $bulk (and $-1), *array (and *-1),
  // arrays nested to any depth: it only counts the values still expected (an array of n
  // stands for n of them), so its memory does not grow with the reply's shape.
  // kComplete: length() is the size of the whole reply; call reset() before the next one.
  // kError: error() says why; the stream cannot be resynchronised. Never reads past input.
  ParseStatus scan(std::string_view input);

  size_t length() const { return length_; }
  const std::string& error() const { return error_; }
  // Forgets the current reply; keeps allocated capacity.
  void reset();

  // For a caller that discards an oversized reply as it streams in: settled() is how many
  // bytes at the start of the input the scan will never look at again (bulk bodies count as
  // they arrive); after the caller removes n <= settled() of them from what it shows next,
  // drop(n) moves the scanner's offsets along. length() then counts from the new start.
  size_t settled() const;
  void drop(size_t n);
  // While kNeedMore: the reply is at least this long (counted like length()): the bytes
  // scanned, plus the rest of the bulk being read and its CRLF as its header declares them.
  size_t known_length() const;

 private:
  enum class State : uint8_t {
    kType,      // at the type byte of the next value
    kTextLine,  // inside a +simple or -error line starting at pos_
    kBulkBody,  // at the first byte of a bulk body of bulk_length_ bytes
    kDone,      // kComplete returned
    kFailed,    // kError returned
  };
  enum class Step : uint8_t { kContinue, kNeedMore, kComplete, kError };

  Step fail(std::string message);
  Step value_done();
  Step scan_type(std::string_view input);
  Step scan_text_line(std::string_view input);
  Step scan_bulk_body(std::string_view input);

  State state_ = State::kType;
  size_t pos_ = 0;          // offset of the next unprocessed byte; everything before is valid
  size_t line_scan_ = 0;    // kTextLine: where the search for '\r' resumes
  size_t bulk_length_ = 0;  // kBulkBody
  // Values still to scan before the reply is complete, the one at pos_ included: 1 at the
  // start; a scalar takes one off, an array of n replaces one by n. Invariant: > 0 until
  // kDone, and at most kMaxPendingReplyValues.
  uint64_t pending_ = 1;
  size_t length_ = 0;
  std::string error_;
};

}  // namespace ringleader::proxy::redis
