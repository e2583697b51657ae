#include "ring_publisher.h"

#include "common/log.h"

namespace ringleader::proxy {

RingPublisher::RingPublisher(ring::RingSnapshot base) : base_(base), current_(std::move(base)) {}

ring::RingSnapshot RingPublisher::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::vector<std::string> RingPublisher::set_base(ring::RingSnapshot base) {
  std::lock_guard<std::mutex> lock(mu_);
  const ring::RingSnapshot old = std::move(base_);
  base_ = std::move(base);
  std::vector<std::string> readmitted;
  for (auto it = eject_.begin(); base_ && it != eject_.end();) {
    // An ejection is of a server: it ends when the name leaves the ring or names another one.
    const auto now = base_->find(it->first);
    const auto before = old ? old->find(it->first) : std::nullopt;
    if (now && before && base_->backend(*now).address == old->backend(*before).address) {
      ++it;
      continue;
    }
    if (now) readmitted.push_back(it->first);
    it = eject_.erase(it);
  }
  publish_locked();
  return readmitted;
}

bool RingPublisher::eject(const std::string& name, const std::string& address,
                          Clock::time_point until) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!base_ || eject_.count(name)) return false;
  const auto index = base_->find(name);
  if (!index || base_->backend(*index).address != address) return false;
  eject_[name] = until;
  publish_locked();
  return true;
}

std::vector<std::string> RingPublisher::expire(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> readmitted;
  for (auto it = eject_.begin(); it != eject_.end();) {
    if (it->second <= now) {
      readmitted.push_back(it->first);
      it = eject_.erase(it);
    } else {
      ++it;
    }
  }
  if (!readmitted.empty()) publish_locked();
  return readmitted;
}

std::vector<std::string> RingPublisher::ejected() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, until] : eject_)
    names.push_back(name);
  return names;
}

void RingPublisher::publish_locked() {
  if (eject_.empty() || !base_) {
    current_ = base_;
  } else {
    std::vector<ring::Backend> backends = base_->backends();
    for (auto& b : backends) {
      if (eject_.count(b.name)) b.state = ring::BackendState::kDown;
    }
    auto built = ring::Ring::build(std::move(backends), base_->params(), base_->epoch());
    if (built) {
      current_ = built.value();
    } else {
      // Cannot happen for a base that built; keep serving the base rather than nothing.
      RL_LOG_ERROR("ring rebuild with ejections failed: %s", built.error().c_str());
      current_ = base_;
    }
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace ringleader::proxy
