// How `ringleader ctl` shows the admin API's JSON answers to people: aligned tables and
// "name  value" lists. Tolerant of missing or extra fields (the server may add fields).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ctl_arguments.h"

namespace ringleader::app::ctl {

// Rows of cells aligned in columns two spaces apart; no trailing spaces. The first row is the
// header when the caller wants one.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

// A JSON value as one cell: strings escaped() (the string "-" as "\x2d"), null, "" and [] as
// "-", numbers and booleans as JSON, arrays of scalars joined by ", ", anything else as compact
// JSON.
std::string cell(const nlohmann::json& value);

// The answer `body` laid out for `view` (not kMetrics, which is printed raw). May throw
// nlohmann::json::exception on a field of an unexpected type; the caller falls back to JSON.
std::string format_answer(CtlView view, const nlohmann::json& body);

}  // namespace ringleader::app::ctl
