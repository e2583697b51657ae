// ringleader: consistent-hashing sharding proxy. Dispatches to subcommands.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "common/malloc_policy.h"
#include "common/version.h"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ringleader COMMAND [ARGS]\n\n"
               "commands:\n"
               "  serve -c FILE                      run the proxy\n"
               "  check -c FILE                      validate a configuration file\n"
               "  lookup -c FILE [--stdin] [KEY...]  show the replica set of keys\n"
               "  ctl [--admin HOST:PORT] COMMAND    talk to a running instance's admin API\n"
               "                                     (ringleader ctl --help for its commands)\n"
               "  version                            print the version\n");
}

}  // namespace

int main(int argc, char** argv) {
  ringleader::keep_large_allocations_in_heap();
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "serve") return ringleader::app::run_serve(args);
  if (command == "check") return ringleader::app::run_check(args);
  if (command == "lookup") return ringleader::app::run_lookup(args);
  if (command == "ctl") return ringleader::app::run_ctl(args);
  if (command == "version" || command == "--version") {
    std::printf("ringleader %s\n", ringleader::kVersion);
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "ringleader: unknown command \"%s\"\n", command.c_str());
  usage(stderr);
  return 2;
}
