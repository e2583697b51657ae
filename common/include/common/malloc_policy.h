// Process-wide allocator policy for a long-running server. Call once at the top of main(),
// before any thread starts.
#pragma once

#include <malloc.h>

namespace ringleader {

// Keeps large blocks in the heap instead of mapping and unmapping them each time. A ring
// build allocates a few MB of arrays; fresh mappings cost a page fault per 4 KiB page, which
// on virtual machines is most of the build time. Freed memory stays reusable by the process
// up to the trim threshold: a heap whose free top grows past 32 MiB is shrunk when a block is
// freed. That is the only way memory at the top of a thread's arena (a worker's, after a
// burst of big values) goes back: malloc_trim() returns free pages inside every arena but
// only the main arena's top. The proxy server gives back the rest (Server::trim_heap).
inline void keep_large_allocations_in_heap() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
}

}  // namespace ringleader
