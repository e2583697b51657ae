// Maglev lookup table (Eisenbud et al., NSDI 2016) with weights.
//
// Each populating backend walks its own permutation of the slots, (offset + j × skip) mod M,
// and claims the first free slot on each of its turns; turns are handed out in proportion to
// weight. Active backends populate the table; when none is active, draining ones do.
// A position maps to slot floor(position × M / 2^64). Replicas walk the slots forward.
// Backends take their turns in name order, so the table depends on the set of backends, not
// on the order a config file lists them in.
#include <xxhash.h>

#include <algorithm>

#include "builders.h"
#include "common/assert.h"
#include "common/uint128.h"

namespace ringleader::ring {
namespace {

constexpr uint64_t kOffsetSeed = 0x6d61676c65762d6fULL;  // "maglev-o"
constexpr uint64_t kSkipSeed = 0x6d61676c65762d73ULL;    // "maglev-s"
constexpr uint32_t kMinTableSize = 65537;

class MaglevTable final : public Placement {
 public:
  MaglevTable(std::vector<BackendIndex> table, PickerInputs inputs, uint32_t populated,
              std::vector<BackendIndex> by_name)
      : table_(std::move(table)),
        inputs_(std::move(inputs)),
        populated_(populated),
        by_name_(std::move(by_name)) {}

  BackendIndex primary(uint64_t position) const override { return table_[slot(position)]; }

  ReplicaSet replicas(uint64_t position, uint32_t count) const override {
    ReplicaPicker picker(inputs_, count);
    size_t m = table_.size();
    size_t s = slot(position);
    for (size_t step = 0; step < m; ++step) {
      if (picker.offer(table_[s]) || picker.distinct_seen() >= populated_) break;
      if (++s == m) s = 0;
    }
    // Backends that do not populate the table (draining ones) come last, by name.
    for (BackendIndex b : by_name_) {
      if (picker.exhausted() || picker.offer(b)) break;
    }
    return picker.finish();
  }

  void boundaries(std::vector<uint64_t>& out) const override {
    // Slot s covers positions [ceil(s × 2^64 / M), ceil((s + 1) × 2^64 / M)).
    uint128 m = table_.size();
    for (size_t s = 0; s < table_.size(); ++s) {
      uint128 start = ((static_cast<uint128>(s) << 64) + m - 1) / m;
      out.push_back(static_cast<uint64_t>(start));
    }
  }

  size_t size() const override { return table_.size(); }

 private:
  size_t slot(uint64_t position) const {
    return static_cast<size_t>((static_cast<uint128>(position) * table_.size()) >> 64);
  }

  std::vector<BackendIndex> table_;
  PickerInputs inputs_;
  uint32_t populated_;                 // distinct backends in the table
  std::vector<BackendIndex> by_name_;  // every backend's index, in name order
};

}  // namespace

uint32_t default_maglev_size(size_t backends) {
  uint64_t want = std::max<uint64_t>(kMinTableSize, uint64_t{100} * backends);
  auto m = static_cast<uint32_t>(want);
  while (!is_prime(m))
    ++m;
  return m;
}

std::unique_ptr<Placement> build_maglev(const std::vector<Backend>& backends, PickerInputs inputs,
                                        uint32_t table_size) {
  const uint32_t m = table_size;
  RL_CHECK(is_prime(m) && m >= backends.size());
  std::vector<BackendIndex> by_name(backends.size());
  for (BackendIndex i = 0; i < backends.size(); ++i)
    by_name[i] = i;
  std::sort(by_name.begin(), by_name.end(),
            [&](BackendIndex a, BackendIndex b) { return backends[a].name < backends[b].name; });
  std::vector<BackendIndex> members;
  for (BackendState wanted : {BackendState::kActive, BackendState::kDraining}) {
    for (BackendIndex i : by_name) {
      if (backends[i].state == wanted) members.push_back(i);
    }
    if (!members.empty()) break;
  }
  std::vector<BackendIndex> table(m, kNoBackend);
  if (members.empty()) {
    return std::make_unique<MaglevTable>(std::move(table), std::move(inputs), 0,
                                         std::move(by_name));
  }

  struct Cursor {
    BackendIndex backend;
    uint64_t offset, skip, next;  // permutation state: slot j is (offset + j × skip) mod m
    double credit;                // turns earned, by weight
    double rate;                  // weight / max weight
  };
  uint32_t max_weight = 0;
  for (BackendIndex i : members)
    max_weight = std::max(max_weight, backends[i].weight);
  std::vector<Cursor> cursors;
  for (BackendIndex i : members) {
    const std::string& name = backends[i].name;
    uint64_t offset = XXH3_64bits_withSeed(name.data(), name.size(), kOffsetSeed) % m;
    uint64_t skip = XXH3_64bits_withSeed(name.data(), name.size(), kSkipSeed) % (m - 1) + 1;
    cursors.push_back({i, offset, skip, 0, 0.0, double(backends[i].weight) / max_weight});
  }

  uint32_t filled = 0;
  while (filled < m) {
    for (Cursor& c : cursors) {
      c.credit += c.rate;
      if (c.credit < 1.0) continue;
      c.credit -= 1.0;
      uint64_t s;
      do {
        s = (c.offset + c.next * c.skip) % m;
        ++c.next;
      } while (table[s] != kNoBackend);
      table[s] = c.backend;
      if (++filled == m) break;
    }
  }
  auto populated = static_cast<uint32_t>(members.size());
  return std::make_unique<MaglevTable>(std::move(table), std::move(inputs), populated,
                                       std::move(by_name));
}

}  // namespace ringleader::ring
