// Reads the keys of one TOML table into struct fields, checking type and range.
// Internal to the config module.
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "diagnostics.h"

namespace ringleader::config {

// A constraint on a string value beyond its type. `expected` completes "expected ..." in the
// error message, e.g. "host:port such as \"127.0.0.1:6379\"".
struct StringRule {
  bool (*accepts)(std::string_view value);
  std::string_view expected;
};

// One allowed value of an enumerated key.
template <typename T>
struct Choice {
  std::string_view name;
  T value;
};

// Reads one table. The keys asked for through read_*/table/array/require form the table's
// schema: report_unknown_keys() flags every other key. Each read_* leaves the output untouched
// when the key is absent or its value is rejected (after reporting why), and returns true only
// when the value was present and accepted. Every present key's position is recorded in the
// Diagnostics under its full path. The table and the Diagnostics must outlive the reader.
class TableReader {
 public:
  // `path` is the dotted path of `table` itself: "" for the document root, "proxy",
  // "backends[2]".
  TableReader(const toml::table& table, std::string path, Diagnostics* diagnostics);

  bool read_string(std::string_view key, std::string* out, const StringRule* rule = nullptr);
  // Integers outside [min, max] are range errors; nothing is truncated.
  bool read_integer(std::string_view key, int64_t min, int64_t max, int64_t* out);
  template <typename T>
  bool read_unsigned(std::string_view key, T min, T max, T* out);
  // A float or an integer; NaN and infinities are rejected.
  bool read_number(std::string_view key, double* out);
  // A TOML boolean.
  bool read_bool(std::string_view key, bool* out);
  template <typename T, size_t N>
  bool read_choice(std::string_view key, const Choice<T> (&choices)[N], T* out);

  // The sub-table at `key`, or null when absent or not a table (reported).
  const toml::table* table(std::string_view key);
  // The array at `key`, or null when absent or not an array (reported). `expected` names what
  // the array should hold, e.g. "an array of strings".
  const toml::array* array(std::string_view key, std::string_view expected);

  // Reports `key` as missing when it is absent, positioned at this table. Returns whether the
  // key is present.
  bool require(std::string_view key);

  // Reports a problem with the value at `key` (which must be present).
  void error(std::string_view key, std::string message);

  // Reports each key of the table that is not part of the schema, suggesting the closest
  // known key. Call after every read.
  void report_unknown_keys();

 private:
  // The full path of `key` in this table ("proxy.listen").
  std::string path_of(std::string_view key) const;
  // The node at `key`, after declaring `key` part of the schema and recording its position.
  const toml::node* find(std::string_view key);
  // Reports the value at `key` as not of the `expected` type.
  void type_error(std::string_view key, const toml::node& node, std::string_view expected);
  // The index of the name that matches the string at `key`; -1 when absent or rejected.
  int read_choice_index(std::string_view key, std::span<const std::string_view> names);

  const toml::table& table_;
  std::string path_;
  Diagnostics* diagnostics_;
  std::vector<std::string> known_keys_;
};

// "a string", "an integer", ... for messages.
std::string_view describe_type(toml::node_type type);

template <typename T>
bool TableReader::read_unsigned(std::string_view key, T min, T max, T* out) {
  static_assert(std::is_unsigned_v<T>);
  constexpr auto kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const auto max64 = static_cast<int64_t>(std::min<uint64_t>(max, kInt64Max));
  int64_t value = 0;
  if (!read_integer(key, static_cast<int64_t>(min), max64, &value)) return false;
  *out = static_cast<T>(value);
  return true;
}

template <typename T, size_t N>
bool TableReader::read_choice(std::string_view key, const Choice<T> (&choices)[N], T* out) {
  std::string_view names[N];
  for (size_t i = 0; i < N; ++i)
    names[i] = choices[i].name;
  const int index = read_choice_index(key, names);
  if (index < 0) return false;
  *out = choices[static_cast<size_t>(index)].value;
  return true;
}

}  // namespace ringleader::config
