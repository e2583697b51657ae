#include "field_codec.h"

#include "membership/state/command_codec.h"

namespace ringleader::membership::state {
namespace {

constexpr uint8_t kLastBackendState = static_cast<uint8_t>(ring::BackendState::kDown);
constexpr uint8_t kLastAlgorithm = static_cast<uint8_t>(ring::Algorithm::kKetama);
constexpr uint8_t kLastHash = static_cast<uint8_t>(ring::HashKind::kMd5);

}  // namespace

void write_backend(codec::ByteWriter& w, const ring::Backend& b) {
  w.bytes(b.name);
  w.bytes(b.address);
  w.u32(b.weight);
  w.bytes(b.zone);
  w.u8(static_cast<uint8_t>(b.state));
}

ring::Backend read_backend(codec::ByteReader& r) {
  ring::Backend b;
  b.name = r.bytes(kMaxFieldLength);
  b.address = r.bytes(kMaxFieldLength);
  b.weight = r.u32();
  b.zone = r.bytes(kMaxFieldLength);
  b.state = read_backend_state(r);
  return b;
}

ring::BackendState read_backend_state(codec::ByteReader& r) {
  uint8_t state = r.u8();
  if (state > kLastBackendState) r.fail();
  return static_cast<ring::BackendState>(r.ok() ? state : 0);
}

void write_params(codec::ByteWriter& w, const ring::RingParams& p) {
  w.u8(static_cast<uint8_t>(p.algorithm));
  w.u8(static_cast<uint8_t>(p.hash));
  w.u32(p.vnodes);
  w.u32(p.replicas);
  w.bytes(p.hash_tag);
  w.f64(p.balance_factor);
  w.u32(p.maglev_table_size);
}

ring::RingParams read_params(codec::ByteReader& r) {
  ring::RingParams p;
  uint8_t algorithm = r.u8();
  uint8_t hash = r.u8();
  if (algorithm > kLastAlgorithm || hash > kLastHash) r.fail();
  if (r.ok()) {
    p.algorithm = static_cast<ring::Algorithm>(algorithm);
    p.hash = static_cast<ring::HashKind>(hash);
  }
  p.vnodes = r.u32();
  p.replicas = r.u32();
  p.hash_tag = r.bytes(kMaxFieldLength);
  p.balance_factor = r.f64();
  p.maglev_table_size = r.u32();
  return p;
}

}  // namespace ringleader::membership::state
