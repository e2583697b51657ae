// RingPublisher: the process's current ring. Holds the base ring (from the config or the
// membership) and this instance's ejections (backends that failed failure_limit times in a
// row), and publishes base-plus-ejections as one snapshot.
//
// Threading: any thread may call every method. Workers poll version() once per loop
// iteration and call current() only when it changed, so the data path takes no lock.
// Rebuilding happens in the caller of set_base()/eject()/expire(), which is the control
// thread: workers ask for an ejection through the control loop, never build rings.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ring/ring.h"

namespace ringleader::proxy {

class RingPublisher {
 public:
  using Clock = std::chrono::steady_clock;

  // `base` may be null: then current() is null until the first set_base() (raft mode, before
  // the membership state has been applied).
  explicit RingPublisher(ring::RingSnapshot base);

  ring::RingSnapshot current() const;
  // Increases on every publish.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // Replaces the base ring (reload, membership change); ejections of backends that still
  // exist at the same address carry over. Returns the ejected backends readmitted because
  // their address changed.
  std::vector<std::string> set_base(ring::RingSnapshot base);
  // Marks `name` down until `until` if it is still at `address` (the failures were of that
  // server). False when unknown, elsewhere now, or already ejected.
  bool eject(const std::string& name, const std::string& address, Clock::time_point until);
  // Re-admits every backend whose ejection ended by `now`; returns their names.
  std::vector<std::string> expire(Clock::time_point now);
  std::vector<std::string> ejected() const;

 private:
  void publish_locked();

  mutable std::mutex mu_;
  ring::RingSnapshot base_;                         // guarded by mu_
  ring::RingSnapshot current_;                      // guarded by mu_
  std::map<std::string, Clock::time_point> eject_;  // name -> retry time; guarded by mu_
  std::atomic<uint64_t> version_{1};
};

}  // namespace ringleader::proxy
