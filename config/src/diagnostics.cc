// Error collection and key positions for one config source.
#include "diagnostics.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace ringleader::config {

namespace {

SourcePos position_of_region(const toml::source_region& region) {
  return SourcePos{region.begin.line, region.begin.column};
}

}  // namespace

SourcePos position_of(const toml::node& node) {
  return position_of_region(node.source());
}

SourcePos position_of(const toml::key& key) {
  return position_of_region(key.source());
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

void Diagnostics::record_position(std::string key, SourcePos pos) {
  positions_.insert_or_assign(std::move(key), pos);
}

bool Diagnostics::has_key(std::string_view key) const {
  return positions_.find(key) != positions_.end();
}

SourcePos Diagnostics::position(std::string_view key) const {
  const auto it = positions_.find(key);
  return it == positions_.end() ? SourcePos{} : it->second;
}

void Diagnostics::error(SourcePos pos, std::string key, std::string message) {
  errors_.push_back(ConfigError{file_, pos.line, pos.column, std::move(key), std::move(message)});
}

void Diagnostics::error_at_key(std::string key, std::string message) {
  const SourcePos pos = position(key);
  error(pos, std::move(key), std::move(message));
}

bool Diagnostics::failed(std::string_view key) const {
  return std::any_of(errors_.begin(), errors_.end(), [key](const ConfigError& e) {
    if (!std::string_view(e.key).starts_with(key)) return false;
    if (e.key.size() == key.size()) return true;
    const char next = e.key[key.size()];
    return next == '.' || next == '[';
  });
}

std::vector<ConfigError> Diagnostics::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    // Line 0 (no position) sorts after every real line.
    const auto rank = [](const ConfigError& e) {
      return std::pair<uint64_t, uint32_t>(e.line == 0 ? UINT64_MAX : e.line, e.column);
    };
    return rank(a) < rank(b);
  });
  return std::exchange(errors_, {});
}

}  // namespace ringleader::config
