// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI and ext4.
// crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringleader::membership::storage {

// CRC-32C of `data`, continuing from `crc` (the CRC of the bytes before `data`; 0 to start).
uint32_t crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace ringleader::membership::storage
