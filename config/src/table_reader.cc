// TableReader: typed, range-checked reads of one TOML table, and unknown-key detection.
#include "table_reader.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "config/suggest.h"

namespace ringleader::config {

namespace {

// "one of \"a\", \"b\", \"c\"".
std::string list_names(std::span<const std::string_view> names) {
  std::string out = "one of ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += quote(names[i]);
  }
  return out;
}

std::string format_double(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

std::string_view describe_type(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown value";
}

TableReader::TableReader(const toml::table& table, std::string path, Diagnostics* diagnostics)
    : table_(table), path_(std::move(path)), diagnostics_(diagnostics) {}

std::string TableReader::path_of(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  std::string out = path_;
  out += '.';
  out += key;
  return out;
}

const toml::node* TableReader::find(std::string_view key) {
  if (std::find(known_keys_.begin(), known_keys_.end(), key) == known_keys_.end()) {
    known_keys_.emplace_back(key);
  }
  const toml::node* node = table_.get(key);
  if (node != nullptr) diagnostics_->record_position(path_of(key), position_of(*node));
  return node;
}

void TableReader::type_error(std::string_view key, const toml::node& node,
                             std::string_view expected) {
  std::string message = "expected ";
  message += expected;
  message += ", got ";
  message += describe_type(node.type());
  diagnostics_->error(position_of(node), path_of(key), std::move(message));
}

void TableReader::error(std::string_view key, std::string message) {
  const toml::node* node = table_.get(key);
  const SourcePos pos = node != nullptr ? position_of(*node) : SourcePos{};
  diagnostics_->error(pos, path_of(key), std::move(message));
}

bool TableReader::read_string(std::string_view key, std::string* out, const StringRule* rule) {
  const toml::node* node = find(key);
  if (node == nullptr) return false;
  const toml::value<std::string>* value = node->as_string();
  if (value == nullptr) {
    type_error(key, *node, "a string");
    return false;
  }
  const std::string& text = value->get();
  if (rule != nullptr && !rule->accepts(text)) {
    std::string message = "expected ";
    message += rule->expected;
    message += ", got ";
    message += quote(text);
    error(key, std::move(message));
    return false;
  }
  *out = text;
  return true;
}

bool TableReader::read_integer(std::string_view key, int64_t min, int64_t max, int64_t* out) {
  const toml::node* node = find(key);
  if (node == nullptr) return false;
  const toml::value<int64_t>* value = node->as_integer();
  if (value == nullptr) {
    type_error(key, *node, "an integer");
    return false;
  }
  const int64_t number = value->get();
  if (number < min || number > max) {
    std::string message = "expected an integer ";
    if (max == std::numeric_limits<int64_t>::max()) {
      message += ">= " + std::to_string(min);
    } else {
      message += "between " + std::to_string(min) + " and " + std::to_string(max);
    }
    message += ", got " + std::to_string(number);
    error(key, std::move(message));
    return false;
  }
  *out = number;
  return true;
}

bool TableReader::read_number(std::string_view key, double* out) {
  const toml::node* node = find(key);
  if (node == nullptr) return false;
  double number = 0;
  if (const toml::value<double>* floating = node->as_floating_point()) {
    number = floating->get();
  } else if (const toml::value<int64_t>* integer = node->as_integer()) {
    number = static_cast<double>(integer->get());
  } else {
    type_error(key, *node, "a number");
    return false;
  }
  if (!std::isfinite(number)) {
    error(key, "expected a finite number, got " + format_double(number));
    return false;
  }
  *out = number;
  return true;
}

bool TableReader::read_bool(std::string_view key, bool* out) {
  const toml::node* node = find(key);
  if (node == nullptr) return false;
  const toml::value<bool>* value = node->as_boolean();
  if (value == nullptr) {
    type_error(key, *node, "a boolean (true or false)");
    return false;
  }
  *out = value->get();
  return true;
}

int TableReader::read_choice_index(std::string_view key, std::span<const std::string_view> names) {
  const toml::node* node = find(key);
  if (node == nullptr) return -1;
  const toml::value<std::string>* value = node->as_string();
  if (value == nullptr) {
    type_error(key, *node, "a string (" + list_names(names) + ")");
    return -1;
  }
  const std::string& text = value->get();
  const auto it = std::find(names.begin(), names.end(), text);
  if (it != names.end()) return static_cast<int>(it - names.begin());
  std::string message = "expected " + list_names(names) + ", got " + quote(text);
  if (const auto suggestion = closest_match(text, names)) {
    message += "; did you mean " + quote(*suggestion) + "?";
  }
  error(key, std::move(message));
  return -1;
}

const toml::table* TableReader::table(std::string_view key) {
  const toml::node* node = find(key);
  if (node == nullptr) return nullptr;
  const toml::table* sub_table = node->as_table();
  if (sub_table == nullptr) type_error(key, *node, "a table");
  return sub_table;
}

const toml::array* TableReader::array(std::string_view key, std::string_view expected) {
  const toml::node* node = find(key);
  if (node == nullptr) return nullptr;
  const toml::array* sub_array = node->as_array();
  if (sub_array == nullptr) type_error(key, *node, expected);
  return sub_array;
}

bool TableReader::require(std::string_view key) {
  if (find(key) != nullptr) return true;
  diagnostics_->error(position_of(table_), path_of(key), "required key is missing");
  return false;
}

void TableReader::report_unknown_keys() {
  std::vector<std::string_view> known(known_keys_.begin(), known_keys_.end());
  for (const auto& [key, node] : table_) {
    const std::string_view name = key.str();
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    const bool is_table = node.is_table() || node.is_array_of_tables();
    std::string message = is_table ? "unknown table" : "unknown key";
    if (const auto suggestion = closest_match(name, known)) {
      message += "; did you mean " + quote(*suggestion) + "?";
    }
    diagnostics_->error(position_of(key), path_of(name), std::move(message));
  }
}

}  // namespace ringleader::config
