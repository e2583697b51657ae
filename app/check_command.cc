// `ringleader check -c FILE`: validates a configuration without starting anything.
#include <cstdio>

#include "commands.h"
#include "proxy/server.h"

namespace ringleader::app {

int run_check(const std::vector<std::string>& args) {
  std::string path;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "-c" || args[i] == "--config") && i + 1 < args.size() && path.empty()) {
      path = args[++i];
    } else {  // one file per check: a second -c would hide which one was checked
      std::fprintf(stderr, "usage: ringleader check -c FILE\n");
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: ringleader check -c FILE\n");
    return 2;
  }
  config::LoadResult loaded = config::load_file(path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors)
      std::fprintf(stderr, "%s\n", e.to_string().c_str());
    std::fprintf(stderr, "%s: %zu error%s\n", path.c_str(), loaded.errors.size(),
                 loaded.errors.size() == 1 ? "" : "s");
    return 1;
  }
  // What serve needs beyond the file's own rules: backends that form a ring (in raft mode,
  // a seed the membership accepts), a listen address, a protocol.
  if (Status s = proxy::ProxyServer::validate(loaded.config); !s) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), s.message().c_str());
    return 1;
  }
  for (const std::string& notice : config::notices(loaded.config))
    std::fprintf(stderr, "%s: note: %s\n", path.c_str(), notice.c_str());
  std::printf("%s: OK\n", path.c_str());
  return 0;
}

}  // namespace ringleader::app
