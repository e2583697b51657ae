// ProxyServer: the running proxy. Owns the workers, the ring publisher and the control loop
// (signals, ejection bookkeeping) on the thread that calls run().
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "config/config.h"

namespace ringleader::proxy {

class ProxyServer {
 public:
  // What the config needs at runtime beyond its own rules: a listen address, backends that
  // form a ring (in raft mode, a seed the membership accepts), a protocol. Builds nothing;
  // `ringleader check` runs it too.
  static Status validate(const config::Config& config);
  // validate(), then builds the initial ring; starts nothing.
  static Result<std::unique_ptr<ProxyServer>> create(config::Config config);
  virtual ~ProxyServer() = default;

  // Binds, starts the workers and serves until SIGTERM or SIGINT; then stops accepting,
  // lets in-flight requests finish (up to the shutdown grace) and returns the exit code.
  // SIGHUP re-reads the config file: backends and ring parameters take effect; the log says
  // which other changes need a restart.
  virtual int run() = 0;
};

}  // namespace ringleader::proxy
