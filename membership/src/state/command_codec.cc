#include "membership/state/command_codec.h"

#include "field_codec.h"
#include "membership/state/membership_state.h"

namespace ringleader::membership::state {
namespace {

enum Tag : uint8_t {
  kTagAddBackend = 1,
  kTagRemoveBackend = 2,
  kTagSetWeight = 3,
  kTagSetZone = 4,
  kTagDrain = 5,
  kTagUndrain = 6,
  kTagMarkDown = 7,
  kTagSetRingParams = 8,
  kTagSeed = 9,
  kTagUpdateBackend = 10,
};

// update_backend's field bits.
constexpr uint8_t kHasWeight = 1;
constexpr uint8_t kHasZone = 2;
constexpr uint8_t kHasState = 4;

}  // namespace

std::string_view command_name(const Command& command) {
  static constexpr std::string_view kNames[] = {
      "add_backend", "remove_backend", "set_weight",      "set_zone", "drain",
      "undrain",     "mark_down",      "set_ring_params", "seed",     "update_backend"};
  return kNames[command.index()];
}

std::string encode_command(const Command& command) {
  codec::ByteWriter w;
  w.u8(kCommandEncodingVersion);
  std::visit(
      [&w](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, AddBackend>) {
          w.u8(kTagAddBackend);
          write_backend(w, c.backend);
        } else if constexpr (std::is_same_v<T, RemoveBackend>) {
          w.u8(kTagRemoveBackend);
          w.bytes(c.name);
        } else if constexpr (std::is_same_v<T, SetWeight>) {
          w.u8(kTagSetWeight);
          w.bytes(c.name);
          w.u32(c.weight);
        } else if constexpr (std::is_same_v<T, SetZone>) {
          w.u8(kTagSetZone);
          w.bytes(c.name);
          w.bytes(c.zone);
        } else if constexpr (std::is_same_v<T, DrainBackend>) {
          w.u8(kTagDrain);
          w.bytes(c.name);
        } else if constexpr (std::is_same_v<T, UndrainBackend>) {
          w.u8(kTagUndrain);
          w.bytes(c.name);
        } else if constexpr (std::is_same_v<T, MarkBackendDown>) {
          w.u8(kTagMarkDown);
          w.bytes(c.name);
        } else if constexpr (std::is_same_v<T, SetRingParams>) {
          w.u8(kTagSetRingParams);
          write_params(w, c.params);
        } else if constexpr (std::is_same_v<T, UpdateBackend>) {
          w.u8(kTagUpdateBackend);
          w.bytes(c.name);
          w.u8((c.weight ? kHasWeight : 0) | (c.zone ? kHasZone : 0) | (c.state ? kHasState : 0));
          if (c.weight) w.u32(*c.weight);
          if (c.zone) w.bytes(*c.zone);
          if (c.state) w.u8(static_cast<uint8_t>(*c.state));
        } else {
          static_assert(std::is_same_v<T, Seed>);
          w.u8(kTagSeed);
          write_params(w, c.params);
          w.u32(static_cast<uint32_t>(c.backends.size()));
          for (const ring::Backend& b : c.backends)
            write_backend(w, b);
        }
      },
      command);
  return std::move(w).take();
}

Result<Command> decode_command(std::string_view bytes) {
  codec::ByteReader r(bytes);
  uint8_t version = r.u8();
  if (!r.ok()) return Status::error("command: empty");
  if (version != kCommandEncodingVersion) {
    return Status::error("command: unsupported encoding version " + std::to_string(version));
  }
  uint8_t tag = r.u8();
  Command command;
  switch (tag) {
    case kTagAddBackend:
      command = AddBackend{read_backend(r)};
      break;
    case kTagRemoveBackend:
      command = RemoveBackend{r.bytes(kMaxFieldLength)};
      break;
    case kTagSetWeight: {
      std::string name = r.bytes(kMaxFieldLength);
      command = SetWeight{std::move(name), r.u32()};
      break;
    }
    case kTagSetZone: {
      std::string name = r.bytes(kMaxFieldLength);
      command = SetZone{std::move(name), r.bytes(kMaxFieldLength)};
      break;
    }
    case kTagDrain:
      command = DrainBackend{r.bytes(kMaxFieldLength)};
      break;
    case kTagUndrain:
      command = UndrainBackend{r.bytes(kMaxFieldLength)};
      break;
    case kTagMarkDown:
      command = MarkBackendDown{r.bytes(kMaxFieldLength)};
      break;
    case kTagSetRingParams:
      command = SetRingParams{read_params(r)};
      break;
    case kTagSeed: {
      Seed seed{read_params(r), {}};
      const uint32_t count = r.u32();
      if (!r.ok() || count > kMaxMembershipBackends) {
        return Status::error("command: seed with a malformed or oversized backend count");
      }
      for (uint32_t i = 0; i < count && r.ok(); ++i)
        seed.backends.push_back(read_backend(r));
      command = std::move(seed);
      break;
    }
    case kTagUpdateBackend: {
      UpdateBackend update{r.bytes(kMaxFieldLength), {}, {}, {}};
      const uint8_t fields = r.u8();
      if (r.ok() && (fields & ~(kHasWeight | kHasZone | kHasState)) != 0) {
        return Status::error("command: update_backend with unknown fields");
      }
      if (fields & kHasWeight) update.weight = r.u32();
      if (fields & kHasZone) update.zone = r.bytes(kMaxFieldLength);
      if (fields & kHasState) update.state = read_backend_state(r);
      command = std::move(update);
      break;
    }
    default:
      return Status::error("command: unknown tag " + std::to_string(tag));
  }
  if (!r.ok()) return Status::error("command: truncated or malformed field");
  if (!r.done()) return Status::error("command: trailing bytes");
  return command;
}

}  // namespace ringleader::membership::state
