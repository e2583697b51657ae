// Dispatch over RINGLEADER_HASH_FUNCTIONS: names, widths and the hash_key() switch.
#include "ring/hash.h"

namespace ringleader::ring {

std::string_view to_string(HashKind kind) {
  switch (kind) {
#define RL_HASH_NAME(e, name, bits) \
  case HashKind::e:                 \
    return name;
    RINGLEADER_HASH_FUNCTIONS(RL_HASH_NAME)
#undef RL_HASH_NAME
  }
  return "unknown";
}

std::optional<HashKind> parse_hash_kind(std::string_view text) {
#define RL_HASH_PARSE(e, name, bits) \
  if (text == name) return HashKind::e;
  RINGLEADER_HASH_FUNCTIONS(RL_HASH_PARSE)
#undef RL_HASH_PARSE
  return std::nullopt;
}

unsigned hash_bits(HashKind kind) {
  switch (kind) {
#define RL_HASH_BITS(e, name, bits) \
  case HashKind::e:                 \
    return bits;
    RINGLEADER_HASH_FUNCTIONS(RL_HASH_BITS)
#undef RL_HASH_BITS
  }
  return 64;
}

uint64_t hash_key(HashKind kind, std::string_view key) {
  switch (kind) {
    case HashKind::kXxh3:
      return hash_xxh3(key);
    case HashKind::kFnv1a64:
      return hash_fnv1a_64(key);
    case HashKind::kMd5:
      return hash_md5(key);
  }
  return hash_xxh3(key);
}

}  // namespace ringleader::ring
