// twemproxy's fnv1a_64. Despite the name its state is 32 bits: the FNV-64 offset basis and
// prime truncated to their low 32 bits. Each byte is widened as a *signed* char, so bytes
// >= 0x80 flip the high bits too; that quirk decides placement and is kept on purpose.
#include "ring/hash.h"

namespace ringleader::ring {
namespace {
constexpr uint32_t kOffsetBasisLow32 = 0x84222325u;  // low half of 0xcbf29ce484222325
constexpr uint32_t kPrimeLow32 = 0x000001b3u;        // low half of 0x100000001b3
}  // namespace

uint32_t hash_fnv1a_64(std::string_view key) {
  uint32_t h = kOffsetBasisLow32;
  for (char c : key) {
    h ^= static_cast<uint32_t>(static_cast<int32_t>(static_cast<signed char>(c)));
    h *= kPrimeLow32;
  }
  return h;
}

}  // namespace ringleader::ring
