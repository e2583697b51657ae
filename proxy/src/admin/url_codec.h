// Percent-decoding of request targets (RFC 3986) and application/x-www-form-urlencoded
// query strings, as the admin API needs them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringleader::proxy::admin {

enum class PlusMeans { kPlus, kSpace };

// Decodes %XX escapes (and '+' as a space when `plus` is kSpace, as in query strings).
// nullopt when a '%' is not followed by two hex digits. The result may hold any byte.
std::optional<std::string> url_decode(std::string_view text, PlusMeans plus);

// "a=1&b=x%20y&flag" → {{"a","1"},{"b","x y"},{"flag",""}}, names and values decoded with
// '+' as a space; empty pieces ("a=1&&b=2") are skipped. nullopt on a bad escape.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
std::optional<QueryParams> parse_query(std::string_view query);

// The value of the first parameter called `name`, or nullptr.
const std::string* find_param(const QueryParams& params, std::string_view name);

}  // namespace ringleader::proxy::admin
