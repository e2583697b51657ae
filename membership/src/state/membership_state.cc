#include "membership/state/membership_state.h"

#include <algorithm>

#include "field_codec.h"
#include "membership/state/command_codec.h"

namespace ringleader::membership::state {
namespace {

constexpr uint8_t kStateEncodingVersion = 1;
// Ring::build refuses vnode rings with more points than this (weights x vnodes).

// Whether a text field may be empty (a zone may; a name or address may not).
enum class Emptiness : uint8_t { kForbidden, kAllowed };

Status validate_text(std::string_view what, std::string_view value, Emptiness emptiness) {
  if (value.empty() && emptiness == Emptiness::kForbidden) {
    return Status::error(std::string(what) + " must not be empty");
  }
  if (value.size() > kMaxFieldLength) {
    return Status::error(std::string(what) + " is longer than " + std::to_string(kMaxFieldLength) +
                         " bytes");
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::error(std::string(what) + " contains a control character");
    }
  }
  return Status::ok();
}

Status validate_weight(uint32_t weight) {
  if (weight < 1 || weight > ring::kMaxWeight) {
    return Status::error("weight must be 1.." + std::to_string(ring::kMaxWeight) + ", got " +
                         std::to_string(weight));
  }
  return Status::ok();
}

// Vnode rings place weight x vnodes points per backend; Ring::build caps the total.
// The rules of ring::Ring::build that depend on the backends as well as the parameters: a
// state the membership accepts always builds a ring, so every change it answers is routed.
Status validate_ring_size(const std::vector<ring::Backend>& backends,
                          const ring::RingParams& params) {
  if (params.algorithm == ring::Algorithm::kMaglev && params.maglev_table_size != 0 &&
      params.maglev_table_size < backends.size()) {
    return Status::error("maglev_table_size " + std::to_string(params.maglev_table_size) +
                         " is smaller than the number of backends (" +
                         std::to_string(backends.size()) + ")");
  }
  if (params.algorithm != ring::Algorithm::kVnode) return Status::ok();
  uint64_t points = 0;
  for (const ring::Backend& b : backends)
    points += uint64_t{b.weight} * params.vnodes;
  if (points > ring::kMaxVnodePoints) return Status::error(ring::too_many_points(points));
  return Status::ok();
}

Status unknown(std::string_view name) {
  return Status::error("unknown backend \"" + std::string(name) + "\"");
}

}  // namespace

Command state_command(const std::string& name, ring::BackendState state) {
  switch (state) {
    case ring::BackendState::kActive:
      return UndrainBackend{name};
    case ring::BackendState::kDraining:
      return DrainBackend{name};
    case ring::BackendState::kDown:
      break;
  }
  return MarkBackendDown{name};
}

// The generic text rule is the zone rule config files are held to (ring::is_valid_zone).
static_assert(kMaxFieldLength == ring::kMaxZoneBytes);

Status validate_zone(std::string_view zone) {
  return validate_text("zone", zone, Emptiness::kAllowed);
}

Status validate_ring_params(const ring::RingParams& p) {
  if (p.vnodes < 1 || p.vnodes > ring::kMaxVnodes) {
    return Status::error("vnodes must be 1.." + std::to_string(ring::kMaxVnodes));
  }
  if (p.replicas < 1 || p.replicas > ring::kMaxReplicas) {
    return Status::error("replicas must be 1.." + std::to_string(ring::kMaxReplicas));
  }
  if (!p.hash_tag.empty() && p.hash_tag.size() != 2) {
    return Status::error("hash_tag must be empty or two characters");
  }
  if (!ring::is_valid_balance_factor(p.balance_factor)) {
    return Status::error("balance_factor must be 0 (off) or in [1, 1e6]");
  }
  if (p.algorithm == ring::Algorithm::kKetama) {
    if (p.hash != ring::HashKind::kFnv1a64 && p.hash != ring::HashKind::kMd5) {
      return Status::error("the ketama algorithm needs hash fnv1a_64 or md5");
    }
    if (p.balance_factor != 0) return Status::error("balance_factor cannot be used with ketama");
  }
  if (p.maglev_table_size != 0 &&
      (!ring::is_prime(p.maglev_table_size) || p.maglev_table_size > kMaxMaglevTableSize)) {
    return Status::error("maglev_table_size must be 0 or a prime <= " +
                         std::to_string(kMaxMaglevTableSize));
  }
  return Status::ok();
}

const ring::Backend* MembershipState::find(std::string_view name) const {
  for (const ring::Backend& b : backends_) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

ring::Backend* MembershipState::find_mutable(std::string_view name) {
  return const_cast<ring::Backend*>(std::as_const(*this).find(name));
}

Status MembershipState::apply(const Command& command) {
  MembershipState next = *this;
  if (Status s = next.apply_one(command); !s) return s;
  const bool none_up = !next.backends_.empty() &&
                       std::all_of(next.backends_.begin(), next.backends_.end(), [](const auto& b) {
                         return b.state == ring::BackendState::kDown;
                       });
  if (none_up) {
    return Status::error(
        "every backend would be down, and every request would fail: keep at least one backend "
        "active or draining");
  }
  *this = std::move(next);
  return Status::ok();
}

Status MembershipState::apply_one(const Command& command) {
  return std::visit(
      [this](const auto& c) -> Status {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, AddBackend>) {
          const ring::Backend& b = c.backend;
          if (Status s = validate_text("backend name", b.name, Emptiness::kForbidden); !s) return s;
          if (Status s = validate_text("address", b.address, Emptiness::kForbidden); !s) return s;
          if (Status s = validate_zone(b.zone); !s) return s;
          if (Status s = validate_weight(b.weight); !s) return s;
          if (find(b.name)) return Status::error("backend \"" + b.name + "\" already exists");
          for (const ring::Backend& other : backends_) {
            if (other.address == b.address) {
              return Status::error("address " + b.address + " is already used by backend \"" +
                                   other.name + "\"");
            }
          }
          if (backends_.size() >= kMaxMembershipBackends) {
            return Status::error("at most " + std::to_string(kMaxMembershipBackends) + " backends");
          }
          std::vector<ring::Backend> next = backends_;
          next.push_back(b);
          if (Status s = validate_ring_size(next, params_); !s) return s;
          backends_ = std::move(next);
          return Status::ok();
        } else if constexpr (std::is_same_v<T, RemoveBackend>) {
          auto it = std::find_if(backends_.begin(), backends_.end(),
                                 [&](const ring::Backend& b) { return b.name == c.name; });
          if (it == backends_.end()) return unknown(c.name);
          if (backends_.size() == 1) return Status::error("cannot remove the last backend");
          backends_.erase(it);
          return Status::ok();
        } else if constexpr (std::is_same_v<T, SetWeight>) {
          ring::Backend* b = find_mutable(c.name);
          if (!b) return unknown(c.name);
          if (Status s = validate_weight(c.weight); !s) return s;
          std::vector<ring::Backend> next = backends_;
          for (ring::Backend& nb : next) {
            if (nb.name == c.name) nb.weight = c.weight;
          }
          if (Status s = validate_ring_size(next, params_); !s) return s;
          b->weight = c.weight;
          return Status::ok();
        } else if constexpr (std::is_same_v<T, SetZone>) {
          ring::Backend* b = find_mutable(c.name);
          if (!b) return unknown(c.name);
          if (Status s = validate_zone(c.zone); !s) return s;
          b->zone = c.zone;
          return Status::ok();
        } else if constexpr (std::is_same_v<T, DrainBackend>) {
          ring::Backend* b = find_mutable(c.name);
          if (!b) return unknown(c.name);
          if (b->state == ring::BackendState::kDown) {
            return Status::error("backend \"" + c.name + "\" is down; undrain it first");
          }
          b->state = ring::BackendState::kDraining;
          return Status::ok();
        } else if constexpr (std::is_same_v<T, UndrainBackend>) {
          ring::Backend* b = find_mutable(c.name);
          if (!b) return unknown(c.name);
          b->state = ring::BackendState::kActive;
          return Status::ok();
        } else if constexpr (std::is_same_v<T, MarkBackendDown>) {
          ring::Backend* b = find_mutable(c.name);
          if (!b) return unknown(c.name);
          b->state = ring::BackendState::kDown;
          return Status::ok();
        } else if constexpr (std::is_same_v<T, SetRingParams>) {
          if (Status s = validate_ring_params(c.params); !s) return s;
          if (Status s = validate_ring_size(backends_, c.params); !s) return s;
          params_ = c.params;
          return Status::ok();
        } else if constexpr (std::is_same_v<T, UpdateBackend>) {
          if (!find(c.name)) return unknown(c.name);
          MembershipState next = *this;
          if (c.weight) {
            if (Status s = next.apply_one(SetWeight{c.name, *c.weight}); !s) return s;
          }
          if (c.zone) {
            if (Status s = next.apply_one(SetZone{c.name, *c.zone}); !s) return s;
          }
          if (c.state) {
            if (Status s = next.apply_one(state_command(c.name, *c.state)); !s) return s;
          }
          *this = std::move(next);
          return Status::ok();
        } else {
          static_assert(std::is_same_v<T, Seed>);
          if (!backends_.empty()) {
            return Status::error(
                "the membership already has backends: a seed applies only to "
                "an empty one");
          }
          MembershipState seeded;
          if (Status s = seeded.apply_one(SetRingParams{c.params}); !s) return s;
          for (const ring::Backend& b : c.backends) {
            if (Status s = seeded.apply_one(AddBackend{b}); !s) {
              return Status::error("backend \"" + b.name + "\": " + s.message());
            }
          }
          *this = std::move(seeded);
          return Status::ok();
        }
      },
      command);
}

Result<ring::RingSnapshot> MembershipState::build_ring(uint64_t epoch) const {
  return ring::Ring::build(backends_, params_, epoch);
}

std::string MembershipState::encode() const {
  codec::ByteWriter w;
  w.u8(kStateEncodingVersion);
  write_params(w, params_);
  w.u32(static_cast<uint32_t>(backends_.size()));
  for (const ring::Backend& b : backends_)
    write_backend(w, b);
  return std::move(w).take();
}

Result<MembershipState> MembershipState::decode(std::string_view bytes) {
  codec::ByteReader r(bytes);
  uint8_t version = r.u8();
  if (!r.ok() || version != kStateEncodingVersion) {
    return Status::error("membership state: unsupported encoding version");
  }
  ring::RingParams params = read_params(r);
  uint32_t count = r.u32();
  if (!r.ok() || count > kMaxMembershipBackends) {
    return Status::error("membership state: malformed header");
  }
  if (Status s = validate_ring_params(params); !s) {
    return Status::error("membership state: " + s.message());
  }
  MembershipState state;
  state.params_ = std::move(params);
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    ring::Backend b = read_backend(r);
    if (!r.ok()) break;
    // Rebuilt through the rules commands obey, one backend at a time; the rule that some
    // backend is up held for the whole state when it was made (a backend before the first one
    // up may be down), and a snapshot of an older release may hold none up.
    if (Status s = state.apply_one(AddBackend{std::move(b)}); !s) {
      return Status::error("membership state: " + s.message());
    }
  }
  if (!r.done()) return Status::error("membership state: truncated or trailing bytes");
  return state;
}

}  // namespace ringleader::membership::state
