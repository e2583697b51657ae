#include "ctl_main.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <nlohmann/json.hpp>

#include "admin_http_client.h"
#include "common/printable.h"
#include "config/config.h"
#include "ctl_arguments.h"
#include "ctl_format.h"

namespace ringleader::app::ctl {
namespace {

// The message to show for an error answer: its "error" field, else the body, made printable
// (a server other than the admin API may send anything, terminal escapes included).
std::string error_message(const AdminResponse& response, const nlohmann::json& body) {
  if (body.is_object() && body.contains("error") && body["error"].is_string())
    return printable(body["error"].get<std::string>(), 2000);
  if (!response.body.empty()) return printable(response.body, 400);
  return "HTTP status " + std::to_string(response.status);
}

// What to run to see whether a change whose answer was lost took effect.
std::string where_to_look(const AdminRequest& request) {
  return request.target.starts_with("/cluster/peers") ? "ringleader ctl cluster status"
                                                      : "ringleader ctl ring";
}

int run_call(const std::vector<std::string>& args, const std::string& env_token, std::ostream& out,
             std::ostream& err) {
  auto options = parse_ctl_arguments(args, env_token);
  if (!options) {
    err << "ringleader ctl: " << options.error() << "\n\n" << ctl_usage();
    return kExitUsage;
  }
  if (options->help) {
    out << ctl_usage();
    return kExitOk;
  }
  auto planned = plan_call(*options);
  if (!planned) {
    err << "ringleader ctl: " << planned.error() << "\n";
    return kExitUsage;
  }
  CtlCall& call = planned.value();
  call.request.token = options->token;

  std::string host;
  uint16_t port = 0;
  config::parse_host_port(options->admin, &host, &port);  // validated by parse_ctl_arguments
  const std::chrono::milliseconds timeout{uint64_t{options->timeout_s} * 1000};
  const AdminResponse response =
      call_admin(host, port, call.request, {std::min(timeout, ClientTimeouts{}.connect), timeout});
  if (response.outcome == AdminResponse::Outcome::kConnectFailed) {
    err << "ringleader ctl: cannot connect to the admin API at " << options->admin << ": "
        << response.error << " (is ringleader running with admin.listen = \"" << options->admin
        << "\"? use --admin HOST:PORT)\n";
    return kExitNoConnection;
  }
  if (response.outcome == AdminResponse::Outcome::kNoAnswer ||
      response.outcome == AdminResponse::Outcome::kLost) {
    err << "ringleader ctl: " << call.request.method << " " << call.request.target << " on "
        << options->admin << ": " << response.error;
    if (call.request.method != "GET") {
      err << "; the change may still be applied (" << where_to_look(call.request)
          << " shows whether it was)";
    }
    if (response.outcome == AdminResponse::Outcome::kNoAnswer)
      err << "; use --timeout SECONDS to wait longer";
    err << "\n";
    return kExitNoAnswer;
  }
  if (response.outcome == AdminResponse::Outcome::kFailed) {
    err << "ringleader ctl: " << call.request.method << " " << call.request.target << " on "
        << options->admin << ": " << response.error << "\n";
    return kExitServerError;
  }

  const bool ok = response.status >= 200 && response.status < 300;
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  const bool is_json = !body.is_discarded();
  if (ok && call.view != CtlView::kMetrics && !body.is_object()) {
    // Every answer of the admin API is a JSON object: anything else did not come from it
    // whole (another server on the port, a proxy in between), and says nothing of the outcome.
    err << "ringleader ctl: " << call.request.method << " " << call.request.target << " on "
        << options->admin << ": the answer (HTTP " << response.status
        << ") is not a JSON object: " << printable(response.body, 200);
    if (call.request.method == "GET") {
      err << "\n";
      return kExitServerError;
    }
    err << "; the change may still be applied (" << where_to_look(call.request)
        << " shows whether it was)\n";
    return kExitNoAnswer;
  }
  if (options->json || call.view == CtlView::kMetrics || !is_json) {
    if (ok || options->json) {
      out << response.body;
      if (!response.body.empty() && response.body.back() != '\n') out << "\n";
    }
  } else if (ok) {
    try {
      out << format_answer(call.view, body);
    } catch (const std::exception&) {  // a field of an unexpected type: show the JSON itself
      out << body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
  }
  if (!ok) {
    err << "ringleader ctl: " << error_message(response, is_json ? body : nlohmann::json())
        << " (HTTP " << response.status << ")\n";
    return kExitServerError;
  }
  return kExitOk;
}

}  // namespace

int run(const std::vector<std::string>& args, const std::string& env_token, std::ostream& out,
        std::ostream& err) {
  const int code = run_call(args, env_token, out, err);
  // An answer that could not be written (a full disk, a closed pipe) is no success.
  out.flush();
  if (!out && code == kExitOk) {
    err << "ringleader ctl: the answer could not be written to standard output\n";
    return kExitServerError;
  }
  return code;
}

}  // namespace ringleader::app::ctl
