// ringleader's version, reported by `ringleader version`, INFO and HELLO.
#pragma once

namespace ringleader {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace ringleader
