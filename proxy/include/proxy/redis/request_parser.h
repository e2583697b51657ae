// RequestParser: incremental, zero-copy parser for RESP2 client requests — multibulk
// (`*N\r\n$len\r\n...`) and inline commands (`SET k v\r\n`, with redis-cli's quoting rules).
//
// Threading: one parser per client connection, used by the thread that owns that connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/redis/parse_status.h"

namespace ringleader::proxy::redis {

namespace detail {
// Where one parsed argument lives: in the input, or in the parser's unescaped storage
// (quoted inline arguments). Offsets, because the input buffer may move between calls.
struct ArgRange {
  size_t offset;
  size_t length;
  bool in_unescaped;
};
}  // namespace detail

class RequestParser {
 public:
  explicit RequestParser(ParseLimits limits = {});

  // Parses one request at the start of `input`, which always begins at the first byte not yet
  // consumed; bytes already shown to the parser are unchanged on the next call, but the buffer
  // may have moved (grown/compacted) — so the parser keeps offsets, never pointers, across calls.
  //
  // kComplete: args() holds the request's arguments (never empty) and consumed() its length in
  //   bytes. Empty requests (`*0\r\n`, `*-1\r\n`, blank inline lines) are skipped as Redis does:
  //   their bytes are counted in the consumed() of the request that follows them.
  //   Call reset() before parsing the next request.
  // kNeedMore: call again with the same bytes plus more; the work done so far is kept, so
  //   feeding a request one byte at a time costs linear time overall. Or, when skipped() > 0,
  //   drop that many leading bytes (empty requests), reset(), and call with what follows them.
  // ParseLimits::max_request_bytes counts the bytes of one request, skipped ones excluded: a
  // caller that keeps feeding them instead of dropping them bounds its buffer itself.
  // kError: error() says why, in a form fit for the client after an "ERR " prefix
  //   ("Protocol error: invalid bulk length"). The stream cannot be resynchronised; further
  //   calls return kError until reset().
  // Never reads input[input.size()] or beyond.
  ParseStatus parse(std::string_view input);

  // Valid after kComplete. Each view points into the `input` of the last parse() call, except
  // inline arguments that used quotes or escapes, which point into storage owned by this
  // parser. All views are valid until the caller changes that buffer, or until the next
  // parse() or reset().
  std::span<const std::string_view> args() const { return args_; }
  // Valid after kComplete: bytes of input taken by the request (skipped empty requests included).
  size_t consumed() const { return consumed_; }
  // Valid after kComplete and kNeedMore: how many leading bytes were skipped empty requests.
  // After kComplete the request itself is input.substr(skipped(), consumed() - skipped()).
  size_t skipped() const { return request_begin_; }
  // Valid after kError.
  const std::string& error() const { return error_; }

  // Forgets the current request; keeps allocated capacity for the next one.
  void reset();
  // Between requests (after reset(), before the next input): gives back the capacity reset()
  // keeps, for a client gone quiet. A request of 100,000 arguments leaves megabytes here.
  void release_memory();
  // Limits for the requests parsed from now on (between requests: after reset()).
  void set_limits(const ParseLimits& limits) { limits_ = limits; }

 private:
  enum class State : uint8_t {
    kStart,           // at the first byte of a request
    kMultibulkCount,  // at the `*` of `*N\r\n`
    kBulkLength,      // at the `$` of `$len\r\n`
    kBulkBody,        // at the first byte of a bulk body of bulk_length_ bytes
    kInline,          // inside an inline line that starts at pos_
    kDone,            // kComplete returned
    kFailed,          // kError returned
  };

  // What one parsing step found: kContinue means the state changed and parsing goes on.
  enum class Step : uint8_t { kContinue, kNeedMore, kComplete, kError };

  Step fail(std::string message);
  Step need_more(std::string_view input);
  Step complete(std::string_view input, size_t end);
  Step parse_multibulk_count(std::string_view input);
  Step parse_bulk_length(std::string_view input);
  Step parse_bulk_body(std::string_view input);
  Step parse_inline(std::string_view input);

  ParseLimits limits_;
  State state_ = State::kStart;
  // Offset in input of the next unprocessed byte: the start of the current line or bulk body.
  // Everything before it has been validated. Invariant: pos_ <= the size of every input shown.
  size_t pos_ = 0;
  // Offset of the current request's first byte (after any skipped empty requests).
  size_t request_begin_ = 0;
  // kInline: offset where the search for the line's '\n' resumes (pos_ <= inline_scan_).
  size_t inline_scan_ = 0;
  // kBulkLength/kBulkBody: arguments announced by `*N`.
  size_t args_expected_ = 0;
  // kBulkBody: length of the current bulk body.
  size_t bulk_length_ = 0;
  std::vector<detail::ArgRange> ranges_;  // arguments found so far (offsets, not views)
  std::vector<std::string_view> args_;    // kComplete: views built from ranges_
  std::string unescaped_;                 // bytes of quoted inline arguments
  size_t consumed_ = 0;
  std::string error_;
};

}  // namespace ringleader::proxy::redis
