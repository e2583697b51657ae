// Minimal leveled logging to stderr. The level is process-wide and set once at startup
// (before any worker thread exists); reading it afterwards is race-free.
#pragma once

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string_view>

namespace ringleader::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

inline Level& threshold() {
  static Level level = Level::kInfo;
  return level;
}

// Sets the threshold; call once at startup, before threads start.
inline void set_level(Level level) {
  threshold() = level;
}

inline std::optional<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn") return Level::kWarn;
  if (name == "error") return Level::kError;
  return std::nullopt;
}

inline bool enabled(Level level) {
  return level >= threshold();
}

// printf-style message with a UTC timestamp and level tag; one write per line.
__attribute__((format(printf, 2, 3))) inline void write(Level level, const char* fmt, ...) {
  if (!enabled(level)) return;
  static constexpr const char* kTags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  char line[2048];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  int n = static_cast<int>(std::strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm));
  n += std::snprintf(line + n, sizeof(line) - n, "%-5s ", kTags[static_cast<int>(level)]);
  va_list args;
  va_start(args, fmt);
  int m = std::vsnprintf(line + n, sizeof(line) - n - 1, fmt, args);
  va_end(args);
  n = (m < 0) ? n : std::min<int>(n + m, sizeof(line) - 2);
  line[n++] = '\n';
  std::fwrite(line, 1, n, stderr);
}

}  // namespace ringleader::log

#define RL_LOG_DEBUG(...) ::ringleader::log::write(::ringleader::log::Level::kDebug, __VA_ARGS__)
#define RL_LOG_INFO(...) ::ringleader::log::write(::ringleader::log::Level::kInfo, __VA_ARGS__)
#define RL_LOG_WARN(...) ::ringleader::log::write(::ringleader::log::Level::kWarn, __VA_ARGS__)
#define RL_LOG_ERROR(...) ::ringleader::log::write(::ringleader::log::Level::kError, __VA_ARGS__)
