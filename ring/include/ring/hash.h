// Key hash functions, chosen from one list. Each lives in its own file under ring/src/hash/.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringleader::ring {

// X(enumerator, config name, bits of the hash value)
#define RINGLEADER_HASH_FUNCTIONS(X) \
  X(kXxh3, "xxh3", 64)               \
  X(kFnv1a64, "fnv1a_64", 32)        \
  X(kMd5, "md5", 32)

enum class HashKind : uint8_t {
#define RL_HASH_ENUM(e, name, bits) e,
  RINGLEADER_HASH_FUNCTIONS(RL_HASH_ENUM)
#undef RL_HASH_ENUM
};

std::string_view to_string(HashKind kind);
std::optional<HashKind> parse_hash_kind(std::string_view name);
// Width of the values hash_key() returns for `kind`: 64, or 32 for the twemproxy-compatible ones.
unsigned hash_bits(HashKind kind);

// Hashes `key` with `kind`; the value fits in hash_bits(kind) bits.
uint64_t hash_key(HashKind kind, std::string_view key);

// XXH3-64 of the bytes.
uint64_t hash_xxh3(std::string_view key);
// twemproxy's "fnv1a_64": FNV-1a with the 64-bit offset basis and prime truncated to 32 bits,
// bytes sign-extended as a signed char would be. Matches nutcracker for every byte value.
uint32_t hash_fnv1a_64(std::string_view key);
// twemproxy's "md5" key hash: the first four digest bytes, little-endian.
uint32_t hash_md5(std::string_view key);

// RFC 1321 MD5 digest.
std::array<uint8_t, 16> md5_digest(std::string_view data);

}  // namespace ringleader::ring
