// RingReport: what a config file's checks and notices say of a ring, said of the rings the
// membership applies in raft mode, which no file check saw. The group applies what every
// instance agrees on; two things it lets by are only visible here:
//   - fewer backends that are not down than ring.replicas (a removal may leave that: each
//     key then has at most that many copies);
//   - a backend at one of this instance's own listeners (only this instance knows its
//     addresses: at proxy.listen requests for that backend's keys would come back in, at the
//     admin or Raft listener they get no answer a backend gives; all time out).
// Each is logged when it starts, changes or ends, not on every epoch.
#pragma once

#include <string>

#include "config/config.h"
#include "ring/ring.h"

namespace ringleader::proxy {

class RingReport {
 public:
  // `config`: the instance's own, for its listeners (which take a restart to change).
  explicit RingReport(const config::Config& config) : config_(config) {}

  // One call per ring published, in order, from one thread.
  void look(const ring::Ring& ring);

 private:
  config::Config config_;
  std::string shortfall_;  // config::short_of_replicas of the last ring, "" = none
  std::string looping_;    // "name address" of a backend at an own listener, "" = none
};

}  // namespace ringleader::proxy
