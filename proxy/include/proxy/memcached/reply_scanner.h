// ReplyScanner: finds where one complete memcached text-protocol reply from a backend ends,
// without copying it, so replies reach clients as the bytes they are.
//
// A reply is either one line (STORED, NOT_FOUND, DELETED, a number, OK, VERSION ..., ERROR,
// CLIENT_ERROR ..., SERVER_ERROR ..., and the meta codes HD, EN, NF, NS, EX, MN, ME ...; any
// other line is an error: the stream is out of step or not memcached's), a
// meta value ("VA <size> <flags>*" and its data block), or a run of "VALUE <key> <flags>
// <bytes> [<cas>]" items, each followed by its data block, ended by "END" — or cut short by an
// error line, which then ends the reply. The scanner needs no knowledge of the request: no
// other reply starts with "VALUE " or "VA ".
// Contract as RequestParser's: resumable, linear, never reads past the input; data blocks are
// skipped, not examined. One scanner per backend connection, used by its thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/memcached/request_parser.h"

namespace ringleader::proxy::memcached {

// The key and <bytes> of a "VALUE <key> <flags> <bytes> [<cas>]" line (without "\r\n"); false
// when the line is not one. The scanner frames with it and merges split gets with it.
bool parse_value_line(std::string_view line, std::string_view* key, size_t* bytes);

// True for a line a memcached server answers with (without "\r\n"): a number (incr/decr),
// or a line whose first word is a reply code (END, STORED, NOT_FOUND, ..., ERROR,
// CLIENT_ERROR, SERVER_ERROR, VERSION, and the meta codes HD, NF, NS, EX, EN, MN, ME).
bool is_reply_line(std::string_view line);

class ReplyScanner {
 public:
  // Lines longer than this (a VALUE line holds at most a 250-byte key and four numbers) are
  // a protocol error rather than something to wait for forever.
  static constexpr size_t kMaxLineBytes = 8192;

  ParseStatus scan(std::string_view input);
  // After kComplete: the size of the whole reply.
  size_t length() const { return length_; }
  // After kError: why (not a client reply line).
  const std::string& error() const { return error_; }
  void reset();

  // For a caller that discards an oversized reply as it streams in: settled() is how many
  // bytes at the start of the input the scan will never look at again (data blocks count as
  // they arrive); after the caller removes n <= settled() of them from what it shows next,
  // drop(n) moves the scanner's offsets along. length() then counts from the new start.
  size_t settled() const { return in_data_ ? std::min(data_end_, seen_) : pos_; }
  void drop(size_t n);
  // While kNeedMore: the reply is at least this long (counted like length()): the bytes
  // scanned, or the end of the data block being read and its "\r\n" as its line declares.
  size_t known_length() const { return in_data_ ? data_end_ + 2 : scanned_; }

 private:
  ParseStatus fail(std::string message);

  size_t pos_ = 0;           // start of the line being looked for (everything before is valid)
  size_t scanned_ = 0;       // where the search for '\n' resumes
  size_t data_end_ = 0;      // inside an item: offset of its data block's "\r\n"
  bool in_data_ = false;     // waiting for an item's data block
  bool meta_value_ = false;  // ... of a meta "VA" reply, which ends with it
  size_t seen_ = 0;          // the input's size at the last scan
  size_t length_ = 0;
  std::string error_;
};

}  // namespace ringleader::proxy::memcached
