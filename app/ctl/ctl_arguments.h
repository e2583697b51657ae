// `ringleader ctl` command lines: parsing the options and turning a command into the admin
// API request it stands for. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "admin_http_client.h"
#include "common/result.h"

namespace ringleader::app::ctl {

inline constexpr const char* kDefaultAdminAddress = "127.0.0.1:9180";
inline constexpr const char* kTokenEnvironmentVariable = "RINGLEADER_ADMIN_TOKEN";
inline constexpr uint32_t kMaxTimeoutSeconds = 3600;

// Everything on the command line. Options may appear before or after the command words.
struct CtlOptions {
  std::string admin = kDefaultAdminAddress;  // --admin HOST:PORT
  std::string token;                         // --token, else $RINGLEADER_ADMIN_TOKEN
  bool json = false;                         // --json: print the server's JSON as is
  uint32_t timeout_s = 30;                   // --timeout SECONDS: for the whole answer
  bool help = false;                         // -h / --help
  bool consistent = false;                   // ring --consistent
  std::optional<uint32_t> weight;            // backends add/set --weight N
  std::optional<std::string> zone;           // backends add/set --zone Z
  std::optional<std::string> state;          // backends set --state active|draining|down
  std::vector<std::string> words;            // the command and its operands
};

// Parses `args` (what follows "ctl"); `env_token` is $RINGLEADER_ADMIN_TOKEN or empty. The
// error is a usage message (exit code 2).
Result<CtlOptions> parse_ctl_arguments(const std::vector<std::string>& args,
                                       const std::string& env_token);

// How an answer is shown to people.
enum class CtlView { kRing, kLookup, kCluster, kStatus, kMetrics, kChange };

struct CtlCall {
  AdminRequest request;
  CtlView view = CtlView::kChange;
};

// The request for the command in `options.words`; the error is a usage message (exit 2).
Result<CtlCall> plan_call(const CtlOptions& options);

// The usage text of `ringleader ctl`.
const char* ctl_usage();

}  // namespace ringleader::app::ctl
