// 128-bit unsigned arithmetic (a GCC/Clang extension) for exact sums over the 2^64 circle.
#pragma once

namespace ringleader {
__extension__ typedef unsigned __int128 uint128;
}  // namespace ringleader
