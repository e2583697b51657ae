// Feeding a reply scanner the way a backend connection discards an oversized reply: in reads
// of `piece` bytes, dropping what the scanner has settled after every one that needs more
// (or, with drop = false, the way it reads a reply it keeps).
// Shared by the Redis and memcached codec tests; `Scanner` is either codec's ReplyScanner.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace ringleader::proxy::testing {

struct DiscardRun {
  bool complete = false;  // the scanner found the end of the first reply
  size_t length = 0;      // where, counted from the input's start (dropped bytes included)
  size_t most_held = 0;   // the most bytes held at once
  // The largest known_length() reported on the way, counted from the input's start: a lower
  // bound on the reply's length, so never more than `length` (or a fitting reply is refused).
  size_t most_known = 0;
};

template <class Scanner>
DiscardRun scan_discarding(std::string_view input, size_t piece, bool drop = true) {
  Scanner scanner;
  using Status = decltype(scanner.scan(std::string_view()));
  std::string buffer;
  size_t dropped = 0;
  DiscardRun run;
  Status status = Status::kNeedMore;
  for (size_t offset = 0; offset < input.size() && status == Status::kNeedMore;) {
    const size_t n = std::min(piece, input.size() - offset);
    buffer.append(input.substr(offset, n));
    offset += n;
    run.most_held = std::max(run.most_held, buffer.size());
    status = scanner.scan(buffer);
    if (status == Status::kNeedMore) {
      run.most_known = std::max(run.most_known, dropped + scanner.known_length());
      if (!drop) continue;
      const size_t settled = scanner.settled();
      if (settled > buffer.size()) return run;  // a broken contract: not complete
      buffer.erase(0, settled);
      scanner.drop(settled);
      dropped += settled;
    }
  }
  run.complete = status == Status::kComplete;
  run.length = dropped + scanner.length();
  return run;
}

// The most known_length() said before the end of `input`'s first reply, read a byte at a time
// both as kept and as discarded: a lower bound on that reply's length, or it is a bug.
template <class Scanner>
size_t most_known_length(std::string_view input) {
  size_t most = 0;
  for (bool drop : {false, true})
    most = std::max(most, scan_discarding<Scanner>(input, 1, drop).most_known);
  return most;
}

}  // namespace ringleader::proxy::testing
