// Assertions on the errors a config load reports.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace ringleader::config::testing {

// Every error of `result`, one per line, for failure messages.
inline std::string describe_errors(const LoadResult& result) {
  std::string out;
  for (const ConfigError& error : result.errors)
    out += "  " + error.to_string() + "\n";
  return out.empty() ? "  (no errors)\n" : out;
}

// Passes when `result` has exactly one error, with key `key`, on line `line`, whose message
// contains `message_part`.
inline ::testing::AssertionResult HasOnlyError(const LoadResult& result, std::string_view key,
                                               uint32_t line, std::string_view message_part) {
  if (result.errors.size() != 1) {
    return ::testing::AssertionFailure()
           << "expected exactly one error, got " << result.errors.size() << ":\n"
           << describe_errors(result);
  }
  const ConfigError& error = result.errors[0];
  if (error.key != key || error.line != line ||
      error.message.find(message_part) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "expected key \"" << key << "\", line " << line << ", message containing \""
           << message_part << "\"; got:\n"
           << describe_errors(result);
  }
  return ::testing::AssertionSuccess();
}

// Passes when `result` has an error (among others) with this key, line and message part.
inline ::testing::AssertionResult HasError(const LoadResult& result, std::string_view key,
                                           uint32_t line, std::string_view message_part) {
  for (const ConfigError& error : result.errors) {
    if (error.key == key && error.line == line &&
        error.message.find(message_part) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no error with key \"" << key << "\", line " << line
                                       << ", message containing \"" << message_part << "\" among:\n"
                                       << describe_errors(result);
}

// A [[backends]] entry that makes a static config valid; append it after the lines under test
// so their line numbers stay those of the literal.
inline constexpr std::string_view kOneBackend = R"(
[[backends]]
name = "a"
address = "127.0.0.1:7001"
)";

// Loads `text` followed by kOneBackend, as "test.toml".
inline LoadResult load_with_backend(std::string_view text) {
  std::string full(text);
  full += kOneBackend;
  return load_string(full, "test.toml");
}

}  // namespace ringleader::config::testing
