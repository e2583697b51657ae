// `ringleader serve -c FILE`: runs the proxy until SIGTERM/SIGINT.
#include <cstdio>

#include "commands.h"
#include "common/log.h"
#include "proxy/server.h"

namespace ringleader::app {

int run_serve(const std::vector<std::string>& args) {
  std::string path;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "-c" || args[i] == "--config") && i + 1 < args.size() && path.empty()) {
      path = args[++i];
    } else {  // one file: with a second -c, which one is in force would be a guess
      std::fprintf(stderr, "usage: ringleader serve -c FILE\n");
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: ringleader serve -c FILE\n");
    return 2;
  }
  config::LoadResult loaded = config::load_file(path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors)
      std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 1;
  }
  if (auto level = log::parse_level(loaded.config.log.level)) log::set_level(*level);
  auto server = proxy::ProxyServer::create(std::move(loaded.config));
  if (!server) {
    RL_LOG_ERROR("%s: %s", path.c_str(), server.error().c_str());
    return 1;
  }
  return server.value()->run();
}

}  // namespace ringleader::app
