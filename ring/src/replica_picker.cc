#include "replica_picker.h"

#include <algorithm>
#include <unordered_map>

#include "common/assert.h"

namespace ringleader::ring {

PickerInputs PickerInputs::from(const std::vector<Backend>& backends) {
  PickerInputs in;
  in.states.reserve(backends.size());
  in.zone_ids.reserve(backends.size());
  std::unordered_map<std::string, uint32_t> ids;
  uint32_t next_id = 0;
  for (const Backend& b : backends) {
    in.states.push_back(b.state);
    if (b.zone.empty()) {
      in.zone_ids.push_back(next_id++);
    } else {
      auto [it, inserted] = ids.emplace(b.zone, next_id);
      if (inserted) ++next_id;
      in.zone_ids.push_back(it->second);
    }
    if (b.state != BackendState::kDown) ++in.eligible;
  }
  std::vector<uint32_t> active;
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i].state == BackendState::kActive) active.push_back(in.zone_ids[i]);
  }
  std::sort(active.begin(), active.end());
  in.active_zones =
      static_cast<uint32_t>(std::unique(active.begin(), active.end()) - active.begin());
  return in;
}

ReplicaPicker::ReplicaPicker(const PickerInputs& inputs, uint32_t count)
    : inputs_(inputs), target_(std::min(count, inputs.eligible)) {
  RL_CHECK(count >= 1 && count <= kMaxReplicas);
  if (inputs.states.size() > kInlineBackends) {
    seen_heap_.assign((inputs.states.size() + 63) / 64, 0);
  }
  zones_exhausted_ = inputs.active_zones == 0;
}

bool ReplicaPicker::mark_seen(BackendIndex b) {
  uint64_t* words = seen_heap_.empty() ? seen_inline_ : seen_heap_.data();
  uint64_t bit = uint64_t{1} << (b % 64);
  if (words[b / 64] & bit) return false;
  words[b / 64] |= bit;
  ++distinct_seen_;
  if (inputs_.states[b] != BackendState::kDown) ++eligible_seen_;
  return true;
}

bool ReplicaPicker::zone_used(BackendIndex b) const {
  for (BackendIndex c : chosen_) {
    if (inputs_.zone_ids[c] == inputs_.zone_ids[b]) return true;
  }
  return false;
}

void ReplicaPicker::choose(BackendIndex b) {
  if (inputs_.states[b] == BackendState::kActive && !zone_used(b)) {
    ++zones_used_;
    if (zones_used_ >= inputs_.active_zones) zones_exhausted_ = true;
  }
  chosen_.push_back(b);
}

void ReplicaPicker::flush_active_held() {
  for (uint32_t i = 0; i < n_active_held_ && !complete(); ++i)
    chosen_.push_back(active_held_[i]);
  n_active_held_ = 0;
}

void ReplicaPicker::set_primary(BackendIndex b) {
  if (b == kNoBackend || inputs_.states[b] == BackendState::kDown) return;
  mark_seen(b);
  choose(b);
}

bool ReplicaPicker::offer(BackendIndex b) {
  if (complete()) return true;
  if (!mark_seen(b)) return false;
  BackendState state = inputs_.states[b];
  if (state == BackendState::kDown) return false;
  if (state == BackendState::kDraining) {
    if (n_draining_held_ < kMaxReplicas) draining_held_[n_draining_held_++] = b;
    return false;
  }
  // Active.
  if (chosen_.empty()) {
    choose(b);
  } else if (zones_exhausted_) {
    flush_active_held();
    if (!complete()) chosen_.push_back(b);
  } else if (!zone_used(b)) {
    choose(b);
    if (zones_exhausted_) flush_active_held();
  } else if (n_active_held_ < kMaxReplicas) {
    active_held_[n_active_held_++] = b;
  }
  return complete();
}

ReplicaSet ReplicaPicker::finish() {
  if (chosen_.empty() && n_draining_held_ > 0) {
    // No active backend met: the first draining one is primary.
    chosen_.push_back(draining_held_[0]);
    std::copy(draining_held_ + 1, draining_held_ + n_draining_held_, draining_held_);
    --n_draining_held_;
  }
  flush_active_held();
  for (uint32_t i = 0; i < n_draining_held_ && !complete(); ++i) {
    chosen_.push_back(draining_held_[i]);
  }
  return chosen_;
}

}  // namespace ringleader::ring
