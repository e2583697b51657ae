// XXH3-64: the default key hash (libxxhash).
#include <xxhash.h>

#include "ring/hash.h"

namespace ringleader::ring {

uint64_t hash_xxh3(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

}  // namespace ringleader::ring
