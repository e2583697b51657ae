// Assertions for programming errors only: invariants the code itself guarantees.
// Untrusted input never reaches an assertion; it produces an error value instead.
#pragma once

#include <cstdio>
#include <cstdlib>

// RL_CHECK is active in every build type: a broken invariant aborts with its location.
#define RL_CHECK(cond)                                                                    \
  do {                                                                                    \
    if (!(cond)) [[unlikely]] {                                                           \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
