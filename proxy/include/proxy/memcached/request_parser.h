// RequestParser: incremental, zero-copy parser of memcached text-protocol requests: a command
// line and, for storage commands, the data block that follows it.
//
// Contract (the same as the Redis codec's): `input` starts at the request's first byte; bytes
// shown on an earlier call are unchanged on the next one (the buffer may have moved), so the
// parser resumes and the total work is linear in the request's size however it arrives —
// data blocks are skipped, not examined. The parser never reads past `input`.
// Threading: one parser per client connection, used by the thread that owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringleader::proxy::memcached {

enum class ParseStatus : uint8_t {
  kComplete,  // one whole request is at the start of the input
  kNeedMore,  // the input ends inside it: call again with the same bytes plus more
  kError,     // the stream cannot be resynchronised: error() is the reply line to send
};

// Bounds on what one request may cost the proxy. Exceeding one is a kError.
struct ParseLimits {
  size_t max_request_bytes = size_t{64} << 20;  // command line plus data block
  size_t max_tokens = size_t{1} << 16;          // words on one command line
};

// memcached's own limit on key length; longer keys are refused.
// The first byte of every request of memcached's binary protocol.
inline constexpr unsigned char kBinaryRequestMagic = 0x80;
inline constexpr size_t kMaxKeyBytes = 250;
// memcached's largest item (its -I limit) is 1 GiB, and it reads <bytes> into a 32-bit int: a
// longer data block is refused whatever proxy.max_request_bytes says.
inline constexpr size_t kMaxDataBytes = size_t{1} << 30;

// memcached reads a connection 16 KiB at a time and closes it when a full read holds no
// newline, unless the line is a get or gets: no other command line longer than this is ever
// answered by it. The parser refuses such a line, whole or in part (a rule on the bytes alone,
// whatever way they arrive), unless it is a retrieval of many keys the proxy takes: get, gets,
// and gat, gats and bget, which it cuts into lines a backend reads.
inline constexpr size_t kMaxCommandLineBytes = 16384;

// Whether a command line starting with `line` may be longer than kMaxCommandLineBytes: its
// first word (after at most 100 spaces, as memcached skips) names a retrieval and is followed
// by a space.
bool may_exceed_line_limit(std::string_view line);

// Whether `command` is followed by a data block, and which token holds its length.
bool has_data_block(std::string_view command, size_t* length_token);

class RequestParser {
 public:
  explicit RequestParser(ParseLimits limits = {}) : limits_(limits) {}

  ParseStatus parse(std::string_view input);

  // After kComplete, until reset() (views into the last input):
  // the command line's words (split on spaces, empty words dropped; may be empty). Also
  // after a kError for a data block not ended by "\r\n": the words of its storage line.
  std::span<const std::string_view> tokens() const { return tokens_; }
  // The data block without its "\r\n"; empty for commands without one.
  std::string_view data() const { return data_; }
  bool has_data() const { return has_data_; }
  // Whether the line ended in "\r\n" (memcached also accepts a bare "\n").
  bool crlf() const { return crlf_; }
  // The command line's length, terminator excluded.
  size_t line_size() const { return line_length_; }
  // A storage command whose data block is over the limits: the request is the line alone
  // (has_data() is false), and the caller must drop the next discard() bytes of input (the
  // block and its "\r\n", which memcached itself skips unread) before the next request.
  size_t discard() const { return discard_; }
  // Bytes the request took: line, terminator, data block and its terminator.
  size_t consumed() const { return consumed_; }
  // After kError: the whole reply line for the client, "\r\n" included.
  const std::string& error() const { return error_; }

  // Forgets the current request; keeps allocated capacity.
  void reset();
  // Between requests (after reset(), before the next input): gives back the capacity reset()
  // keeps, for a client gone quiet. A get of 100,000 keys leaves megabytes here.
  void release_memory();

 private:
  ParseStatus fail(std::string line);
  // Splits the line [0, line_length_) into token_spans_; false (with error_) when invalid.
  bool tokenize(std::string_view line);

  ParseLimits limits_;
  size_t scanned_ = 0;      // where the search for '\n' resumes
  size_t line_length_ = 0;  // without the terminator; valid once line_found_
  size_t line_end_ = 0;     // offset just past the terminator
  size_t data_length_ = 0;  // announced data block size, when has_data_
  bool line_found_ = false;
  // A text command line was found on this connection: a binary client's magic byte can only
  // come first, and later a 0x80 is an unknown command like any other.
  bool text_seen_ = false;
  bool has_data_ = false;
  bool crlf_ = false;
  size_t discard_ = 0;
  std::vector<std::pair<size_t, size_t>> token_spans_;  // (offset, length) in the line
  std::vector<std::string_view> tokens_;
  std::string_view data_;
  size_t consumed_ = 0;
  std::string error_;
};

}  // namespace ringleader::proxy::memcached
