// Binary encoding of membership commands, as stored in Raft log entries.
//
//   command = u8 version (1) | u8 tag | fields
//   fields  : strings are u32 length + bytes; integers little-endian u32; enums u8;
//             balance_factor is the IEEE-754 bits as u64.
//   tags    : 1 add_backend(name, address, weight, zone, state)  2 remove_backend(name)
//             3 set_weight(name, weight)  4 set_zone(name, zone)  5 drain(name)  6 undrain(name)
//             7 mark_down(name)  8 set_ring_params(algorithm, hash, vnodes, replicas, hash_tag,
//             balance_factor, maglev_table_size)  9 seed(ring params as in 8, u32 count,
//             count x backend as in 1), count at most kMaxMembershipBackends
//             10 update_backend(name, u8 fields: 1 weight | 2 zone | 4 state, then the weight,
//             zone and state that it names, in that order)
//
// decode_command accepts exactly what encode_command produces: an unknown version or tag, an
// enum out of range, an oversized string, a truncated field or trailing bytes is an error
// value. It never throws, asserts or reads out of bounds.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "membership/state/command.h"

namespace ringleader::membership::state {

inline constexpr uint8_t kCommandEncodingVersion = 1;
// Longest name, address, zone or hash tag a command may carry.
inline constexpr size_t kMaxFieldLength = 255;

std::string encode_command(const Command& command);
Result<Command> decode_command(std::string_view bytes);

}  // namespace ringleader::membership::state
