// `ringleader ctl ...`: the admin API client (app/ctl), with the token from the environment.
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "ctl/ctl_arguments.h"
#include "ctl/ctl_main.h"

namespace ringleader::app {

int run_ctl(const std::vector<std::string>& args) {
  const char* token = std::getenv(ctl::kTokenEnvironmentVariable);
  return ctl::run(args, token == nullptr ? "" : token, std::cout, std::cerr);
}

}  // namespace ringleader::app
