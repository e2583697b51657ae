// RingReport: what a config file's checks and notices say of a ring, said of the rings the
// membership applies in raft mode, which no file check saw. The group applies what every
// instance agrees on; two things it lets by are only visible here:
//   - fewer backends that are not down than ring.replicas (a removal may leave that: each
//     key then has at most that many copies);
//   - a backend at this instance's own proxy.listen (only this instance knows its address:
//     requests for that backend's keys would come back in and time out).
// Each is logged when it starts, changes or ends, not on every epoch.
#pragma once

#include <string>

#include "ring/ring.h"

namespace ringleader::proxy {

class RingReport {
 public:
  explicit RingReport(std::string own_listen) : own_listen_(std::move(own_listen)) {}

  // One call per ring published, in order, from one thread.
  void look(const ring::Ring& ring);

 private:
  std::string own_listen_;
  std::string shortfall_;  // config::short_of_replicas of the last ring, "" = none
  std::string looping_;    // "name address" of a backend at own_listen_, "" = none
};

}  // namespace ringleader::proxy
