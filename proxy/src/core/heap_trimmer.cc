#include "core/heap_trimmer.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>

namespace ringleader::proxy {

size_t HeapTrimmer::resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  const int read = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return read == 2 ? resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

size_t HeapTrimmer::in_use_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

void HeapTrimmer::start() {
  const size_t in_use = in_use_bytes();
  in_use_.store(in_use, std::memory_order_relaxed);
  rule_.at_rest(resident_bytes(), in_use);
}

bool HeapTrimmer::look() {
  const size_t before = resident_bytes();
  const size_t in_use_before = in_use_bytes();
  in_use_.store(in_use_before, std::memory_order_relaxed);
  if (!rule_.due(before, in_use_before)) return false;
  malloc_trim(0);
  const size_t after = resident_bytes();
  const size_t in_use_after = in_use_bytes();
  in_use_.store(in_use_after, std::memory_order_relaxed);
  rule_.trimmed(after, in_use_before, in_use_after);
  trims_.fetch_add(1, std::memory_order_relaxed);
  if (before > after) returned_bytes_.fetch_add(before - after, std::memory_order_relaxed);
  return true;
}

}  // namespace ringleader::proxy
