// Error collection for one config source, and the positions of the keys it contained.
// Internal to the config module.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace ringleader::config {

// A place in the source text, 1-based; line 0 means "no single place".
struct SourcePos {
  uint32_t line = 0;
  uint32_t column = 0;
};

// Where `node` (or `key`) begins in the source; {0, 0} for nodes built without a source.
SourcePos position_of(const toml::node& node);
SourcePos position_of(const toml::key& key);

// `text` as a double-quoted string with '"', '\' and control characters escaped, for messages.
std::string quote(std::string_view text);

// Collects the errors found in one source and remembers where each key was written, so that
// rules checked after decoding (which see only the Config) can point at the right line.
// Not thread-safe; one instance per load.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // Records that `key` (a dotted path) was written at `pos`.
  void record_position(std::string key, SourcePos pos);
  // Whether `key` was written in the source.
  bool has_key(std::string_view key) const;
  // Where `key` was written; {0, 0} when it was not.
  SourcePos position(std::string_view key) const;

  void error(SourcePos pos, std::string key, std::string message);
  // Reports at the position recorded for `key` (or no position when it was not written).
  void error_at_key(std::string key, std::string message);

  // Whether an error was reported for `key` or for anything under it ("ring" covers
  // "ring.vnodes", "backends" covers "backends[2].name").
  bool failed(std::string_view key) const;

  // The errors sorted by position, errors without a position last; leaves the collection empty.
  std::vector<ConfigError> take_errors();

 private:
  std::string file_;
  std::map<std::string, SourcePos, std::less<>> positions_;
  std::vector<ConfigError> errors_;
};

}  // namespace ringleader::config
