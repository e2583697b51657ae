#include "ctl_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <string_view>

#include "common/printable.h"

namespace ringleader::app::ctl {
namespace {

constexpr nlohmann::json::error_handler_t kReplace = nlohmann::json::error_handler_t::replace;

bool is_scalar(const nlohmann::json& v) {
  return v.is_primitive();  // null, string, boolean, number
}

// "name  value" lines: first the fields in `first` that are present, then every other scalar
// field of `object` (alphabetical), skipping the names in `skip`.
std::vector<std::vector<std::string>> field_rows(const nlohmann::json& object,
                                                 const std::vector<std::string>& first,
                                                 const std::set<std::string>& skip = {}) {
  std::vector<std::vector<std::string>> rows;
  if (!object.is_object()) return rows;
  for (const std::string& name : first)
    if (auto it = object.find(name); it != object.end()) rows.push_back({name, cell(*it)});
  for (const auto& [name, value] : object.items()) {
    if (std::find(first.begin(), first.end(), name) != first.end() || skip.count(name)) continue;
    if (is_scalar(value) ||
        (value.is_array() && std::all_of(value.begin(), value.end(), is_scalar)))
      rows.push_back({name, cell(value)});
  }
  return rows;
}

// A table of an array of objects: columns `preferred` that occur, then other keys in order of
// first appearance; `header` maps a key to its column title (upper-cased key by default).
std::string object_table(const nlohmann::json& items, const std::vector<std::string>& preferred,
                         const std::set<std::string>& hidden = {}) {
  std::vector<std::string> columns;
  for (const std::string& key : preferred)
    for (const auto& item : items)
      if (item.is_object() && item.contains(key)) {
        columns.push_back(key);
        break;
      }
  for (const auto& item : items) {
    if (!item.is_object()) continue;
    for (const auto& [key, value] : item.items())
      if (!hidden.count(key) && std::find(columns.begin(), columns.end(), key) == columns.end())
        columns.push_back(key);
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  for (const std::string& c : columns) {
    std::string title = c;
    for (char& ch : title)
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    header.push_back(title);
  }
  rows.push_back(header);
  for (const auto& item : items) {
    std::vector<std::string> row;
    if (!item.is_object()) {
      row.push_back(cell(item));
    } else {
      for (const std::string& c : columns)
        row.push_back(item.contains(c) ? cell(item[c]) : "-");
    }
    rows.push_back(row);
  }
  return render_table(rows);
}

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", fraction * 100.0);
  return text;
}

std::string format_ring(const nlohmann::json& body) {
  std::string out =
      render_table(field_rows(body, {"epoch", "algorithm", "replicas"}, {"backends"}));
  const auto backends = body.find("backends");
  if (backends == body.end() || !backends->is_array()) return out;
  out += "\n";
  if (backends->empty()) return out + "no backends\n";
  bool has_share = false;
  for (const auto& b : *backends)
    if (b.is_object() && b.contains("share") && b["share"].is_number()) has_share = true;
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAME", "ADDRESS", "WEIGHT", "ZONE", "STATE"});
  if (has_share) rows[0].push_back("SHARE");
  for (const auto& b : *backends) {
    if (!b.is_object()) continue;
    auto field = [&b](const char* name) { return b.contains(name) ? cell(b[name]) : "-"; };
    std::string state = field("state");
    if (b.contains("ejected") && b["ejected"] == true) state += " (ejected)";
    rows.push_back({field("name"), field("address"), field("weight"), field("zone"), state});
    if (has_share) {
      rows.back().push_back(
          b.contains("share") && b["share"].is_number() ? percent(b["share"].get<double>()) : "-");
    }
  }
  return out + render_table(rows);
}

std::string format_lookup(const nlohmann::json& body) {
  std::vector<std::vector<std::string>> rows =
      field_rows(body, {"key", "hash", "epoch"}, {"replicas"});
  if (auto it = body.find("replicas"); it != body.end() && it->is_array()) {
    std::string names;
    for (size_t i = 0; i < it->size(); ++i) {
      if (i > 0) names += ", ";
      names += cell((*it)[i]);
      if (i == 0) names += " (primary)";
    }
    rows.push_back({"replicas", names.empty() ? "-" : names});
  }
  return render_table(rows);
}

std::string format_cluster(const nlohmann::json& body) {
  std::string out = render_table(
      field_rows(body, {"node_id", "role", "term", "leader", "commit_index", "applied_index"},
                 {"peers", "foreign_peers"}));
  const auto peers = body.find("peers");
  if (peers != body.end() && peers->is_array()) {
    out += "\n";
    out +=
        peers->empty()
            ? "no peers\n"
            : object_table(*peers, {"id", "address", "role", "voter", "match_index", "next_index"});
  }
  const auto foreign = body.find("foreign_peers");
  if (foreign != body.end() && foreign->is_array() && !foreign->empty()) {
    out += "\nrefused: bootstrapped with other founders than this group's\n" +
           object_table(*foreign, {"id", "founders"});
  }
  return out;
}

std::string format_fields(const nlohmann::json& body) {
  if (!body.is_object()) return cell(body) + "\n";
  std::string out = render_table(field_rows(body, {"status", "ready", "epoch"}));
  for (const auto& [name, value] : body.items()) {
    if (value.is_array() && !value.empty() && value.front().is_object()) {
      out += "\n" + name + ":\n" + object_table(value, {"name", "id"});
    } else if (value.is_object()) {
      out += "\n" + name + ":\n" + render_table(field_rows(value, {}));
    }
  }
  return out.empty() ? "ok\n" : out;
}

}  // namespace

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  // Cells are UTF-8 (escaped() leaves nothing else): a column is as wide as its characters,
  // which is what a terminal shows for all but the wide (East Asian) ones.
  const auto width = [](const std::string& text) {
    return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    }));
  };
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], width(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string cell(const nlohmann::json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) {
    // "-" stands for nothing (null, an empty string or list): a string that is "-" itself
    // is escaped, so that the two read differently.
    const auto& text = value.get_ref<const std::string&>();
    return text.empty() ? "-" : text == "-" ? "\\x2d" : escaped(text);
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
      return std::to_string(static_cast<long long>(d));
  }
  if (value.is_array() && std::all_of(value.begin(), value.end(), is_scalar)) {
    std::string out;
    for (const auto& item : value)
      out += (out.empty() ? "" : ", ") + cell(item);
    return out.empty() ? "-" : out;
  }
  return value.dump(-1, ' ', false, kReplace);
}

std::string format_answer(CtlView view, const nlohmann::json& body) {
  switch (view) {
    case CtlView::kRing:
      return format_ring(body);
    case CtlView::kLookup:
      return format_lookup(body);
    case CtlView::kCluster:
      return format_cluster(body);
    case CtlView::kStatus:
    case CtlView::kChange:
    case CtlView::kMetrics:
      return format_fields(body);
  }
  return format_fields(body);
}

}  // namespace ringleader::app::ctl
