// `ringleader ctl`: the command-line client of the admin HTTP API.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ringleader::app::ctl {

// Exit codes of `ringleader ctl`.
inline constexpr int kExitOk = 0;
// The server answered with an error (or garbage), or the answer could not be written out.
inline constexpr int kExitServerError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNoConnection = 3;  // could not connect to the admin address
// Sent, but no answer in time, or the connection ended before one: a change's outcome is
// unknown.
inline constexpr int kExitNoAnswer = 4;

// Runs `ringleader ctl ARGS...`: answers go to `out`, problems to `err`. `env_token` is the
// value of $RINGLEADER_ADMIN_TOKEN (empty when unset). Returns the exit code.
int run(const std::vector<std::string>& args, const std::string& env_token, std::ostream& out,
        std::ostream& err);

}  // namespace ringleader::app::ctl
