// Process-wide allocator policy for a long-running server. Call once at the top of main(),
// before any thread starts.
#pragma once

#include <malloc.h>

namespace ringleader {

// Keeps large blocks in the heap instead of mapping and unmapping them each time. A ring
// build allocates a few MB of arrays; fresh mappings cost a page fault per 4 KiB page, which
// on virtual machines is most of the build time. Freed memory stays reusable by the process;
// the proxy server gives back what a burst of traffic left free (Server::trim_heap).
inline void keep_large_allocations_in_heap() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace ringleader
