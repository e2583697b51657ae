// Ring parameters: how keys are hashed and placed. Part of the replicated membership state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ring/hash.h"

namespace ringleader::ring {

// X(enumerator, config name)
#define RINGLEADER_RING_ALGORITHMS(X) \
  X(kVnode, "vnode")                  \
  X(kMaglev, "maglev")                \
  X(kKetama, "ketama")

// vnode  — weighted virtual nodes on a 64-bit circle (default).
// maglev — Maglev lookup table; replicas walk the table.
// ketama — twemproxy's ketama continuum, point for point (with hash fnv1a_64 or md5).
enum class Algorithm : uint8_t {
#define RL_ALGO_ENUM(e, name) e,
  RINGLEADER_RING_ALGORITHMS(RL_ALGO_ENUM)
#undef RL_ALGO_ENUM
};

std::string_view to_string(Algorithm algorithm);
std::optional<Algorithm> parse_algorithm(std::string_view name);

inline constexpr uint32_t kMaxReplicas = 8;
inline constexpr uint32_t kMaxVnodes = 10000;
inline constexpr uint32_t kMaxWeight = 10000;
// Most points a vnode ring holds (weights x vnodes, summed over backends): about 0.2 s and
// 80 MB to build on a 2-core VM. In raft mode every instance builds each new ring on its
// membership thread, so a bigger ring would hold up heartbeats and start needless elections.
// Weights are relative: big weights want fewer vnodes.
inline constexpr uint64_t kMaxVnodePoints = uint64_t{1} << 22;
// The error for a vnode ring of `points` > kMaxVnodePoints.
inline std::string too_many_points(uint64_t points) {
  return "too many ring points (weights x vnodes = " + std::to_string(points) + ", at most " +
         std::to_string(kMaxVnodePoints) + "): weights are relative, so lower them or ring.vnodes";
}
// Largest Maglev lookup table (entries): building one takes time and memory in proportion,
// on every instance, at every ring change.
inline constexpr uint32_t kMaxMaglevTableSize = 1u << 24;
// Smallest Maglev table a config file or PATCH /ring may ask for: in a table of a few slots per
// backend, a backend of low weight can get no slot at all, so no keys. (Rings built from a
// replicated log take any prime: entries written under an older rule must still apply.)
inline constexpr uint32_t kMinMaglevTableSize = 1031;
// Largest balance_factor: above it the cap never binds (a share can be at most 1).
inline constexpr double kMaxBalanceFactor = 1e6;

bool is_prime(uint32_t n);
// Whether ring.maglev_table_size may be `n`: 0 (sized automatically) or a prime in
// [kMinMaglevTableSize, kMaxMaglevTableSize]. The reason when it may not ("" when it may).
std::string maglev_table_size_problem(uint32_t n);
// Whether ring.balance_factor may be `f`: 0 (off) or in [1, kMaxBalanceFactor].
bool is_valid_balance_factor(double f);

struct RingParams {
  Algorithm algorithm = Algorithm::kVnode;
  HashKind hash = HashKind::kXxh3;
  uint32_t vnodes = 160;           // points per unit of weight (vnode); ketama always uses 160
  uint32_t replicas = 1;           // size of a key's replica set, 1..kMaxReplicas
  std::string hash_tag = "{}";     // two characters, or empty for no hash tags
  double balance_factor = 0;       // 0 = off; else >= 1: cap on a primary's share / average share
  uint32_t maglev_table_size = 0;  // 0 = smallest prime >= max(65537, 100 x backends)

  bool operator==(const RingParams&) const = default;
};

}  // namespace ringleader::ring
