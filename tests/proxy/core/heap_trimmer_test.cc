// HeapTrimmer on this process's own heap: freed memory that malloc keeps resident (chunks it
// cannot give back by itself, held apart by small live ones) is given back by a look, counted,
// and not trimmed for again.
#include "core/heap_trimmer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace ringleader::proxy {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kGlibcMalloc = false;  // the sanitizer's allocator replaces glibc's
#else
constexpr bool kGlibcMalloc = true;
#endif

TEST(HeapTrimmerTest, FreedChunksMallocKeepsAreGivenBackOnce) {
  if (!kGlibcMalloc) GTEST_SKIP() << "a sanitizer's allocator replaces glibc's here";
  HeapTrimmer trimmer(16 * kMiB, 1 * kMiB);
  trimmer.start();
  // 64 MiB in 96 KiB blocks (below malloc's mapping threshold, so they come from the heap),
  // each followed by a small block that stays: freed, they cannot merge into the heap's top,
  // which is the only part malloc shrinks by itself.
  constexpr size_t kBlock = 96 * 1024;
  std::vector<char*> blocks, pins;
  for (size_t i = 0; i < 64 * kMiB / kBlock; ++i) {
    blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
    std::memset(blocks.back(), 1, kBlock);
    pins.push_back(static_cast<char*>(std::malloc(64)));
  }
  EXPECT_FALSE(trimmer.look());  // in use: nothing to give back
  EXPECT_GE(trimmer.in_use_at_last_look(), 64 * kMiB);
  const size_t in_use = HeapTrimmer::resident_bytes();
  for (char* b : blocks)
    std::free(b);
  ASSERT_GT(HeapTrimmer::resident_bytes() + 8 * kMiB, in_use) << "malloc gave them back itself";

  EXPECT_TRUE(trimmer.look());
  EXPECT_LT(trimmer.in_use_at_last_look(), 16 * kMiB);
  EXPECT_EQ(trimmer.trims(), 1u);
  EXPECT_GE(trimmer.returned_bytes(), 48 * kMiB);
  EXPECT_LT(HeapTrimmer::resident_bytes() + 48 * kMiB, in_use);
  EXPECT_FALSE(trimmer.look());  // what is left is the new floor
  EXPECT_EQ(trimmer.trims(), 1u);
  for (char* p : pins)
    std::free(p);
}

}  // namespace
}  // namespace ringleader::proxy
