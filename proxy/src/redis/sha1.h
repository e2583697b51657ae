// SHA-1 (FIPS 180-4), for the one place Redis uses it: a script's name is the SHA-1 of its
// body, in 40 lowercase hex digits (SCRIPT LOAD's answer, EVALSHA's argument).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringleader::proxy::redis {

std::array<uint8_t, 20> sha1_digest(std::string_view data);
// The digest as Redis names a script: 40 lowercase hex digits.
std::string sha1_hex(std::string_view data);

}  // namespace ringleader::proxy::redis
