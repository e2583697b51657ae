// An HTTP response of the admin API and its HTTP/1.1 wire form.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringleader::proxy::admin {

inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

struct HttpResponse {
  int status = 200;
  std::string content_type = std::string(kJsonContentType);
  std::string body;
  // Extra header fields, e.g. {"Allow", "GET"}; framing fields are added by serialize().
  std::vector<std::pair<std::string, std::string>> headers;
};

// A JSON response. Never throws: strings that are not valid UTF-8 are written with U+FFFD
// in place of the bad bytes.
HttpResponse json_response(int status, const nlohmann::json& body);

// {"error": message} with `status`.
HttpResponse error_response(int status, std::string_view message);

// The standard reason phrase of `status` ("OK", "Not Found"), or "Unknown".
std::string_view reason_phrase(int status);

// The bytes to write: status line, the response's headers, Content-Type, Content-Length,
// Connection (close unless `keep_alive`), the blank line and the body, which is left out for
// the answer to a HEAD request (kHeadOnly; Content-Length still gives the body's size).
enum class BodyMode { kWithBody, kHeadOnly };
std::string serialize(const HttpResponse& response, bool keep_alive, BodyMode mode);

}  // namespace ringleader::proxy::admin
