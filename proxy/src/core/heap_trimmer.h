// HeapTrimmer: gives the freed memory a burst left resident back to the system, when
// HeapTrimRule (heap_trim_rule.h) says it is due.
//
// look() samples this process (its resident set from /proc/self/statm, malloc's bytes in use
// from mallinfo2) and trims with malloc_trim(). Call start() once, then look() every few
// seconds, both from one thread (not a worker's). mallinfo2 and malloc_trim take each arena's
// lock in turn and walk its free chunks (about a millisecond after a burst of 20 KB
// values), which is why this is not done on every free. trims(), returned_bytes() and
// in_use_at_last_look() may be read from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/heap_trim_rule.h"

namespace ringleader::proxy {

class HeapTrimmer {
 public:
  HeapTrimmer(size_t trim_bytes, size_t settled_bytes) : rule_(trim_bytes, settled_bytes) {}

  // The sample at rest the rule counts from; call once, before the load starts.
  void start();

  // Trims if due; true when it did.
  bool look();

  uint64_t trims() const { return trims_.load(std::memory_order_relaxed); }
  // Resident bytes the trims gave back, from the resident set before and after each.
  uint64_t returned_bytes() const { return returned_bytes_.load(std::memory_order_relaxed); }
  // Bytes malloc had handed out at the last sample (start(), or the last look()).
  uint64_t in_use_at_last_look() const { return in_use_.load(std::memory_order_relaxed); }

  // This process's resident bytes; 0 when /proc cannot be read.
  static size_t resident_bytes();
  // Bytes malloc has handed out, in its arenas and in chunks it mapped on their own.
  static size_t in_use_bytes();

 private:
  HeapTrimRule rule_;
  std::atomic<uint64_t> trims_{0};
  std::atomic<uint64_t> returned_bytes_{0};
  std::atomic<uint64_t> in_use_{0};
};

}  // namespace ringleader::proxy
