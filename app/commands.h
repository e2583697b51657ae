// Subcommands of the ringleader binary. Each takes the arguments after its name and returns
// the process exit code: 0 success, 1 failure, 2 usage error.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "ring/ring.h"

namespace ringleader::app {

int run_serve(const std::vector<std::string>& args);
int run_check(const std::vector<std::string>& args);
int run_lookup(const std::vector<std::string>& args);
// `ringleader ctl`: exit codes 0 ok, 1 the server answered with an error, 2 usage, 3 cannot
// connect to the admin address.
int run_ctl(const std::vector<std::string>& args);

// The ring a static configuration describes (epoch 0).
Result<ring::RingSnapshot> ring_from_config(const config::Config& config);

}  // namespace ringleader::app
