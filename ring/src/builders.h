// Where each algorithm puts its points; the Ring assembles the Placement from them.
#pragma once

#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "continuum.h"
#include "ring/backend.h"

namespace ringleader::ring {

// vnode: weight × vnodes points per backend. Point k of backend NAME sits at
// SplitMix64(XXH3-64(NAME) + (k + 1) × 0x9e3779b97f4a7c15), tagged with the owner. Two
// backends' counter sequences overlap only if their name hashes differ by a small multiple
// of the increment (probability ~ points² / 2^64). Every backend is placed whatever its
// state: states only decide who may own a point.
uint64_t vnode_position(uint64_t name_hash, uint64_t k);
ContinuumArrays vnode_arrangement(const std::vector<Backend>& backends, uint32_t vnodes,
                                  const PickerInputs& inputs);

// ketama: twemproxy's continuum. Backend i gets floor(w_i / W × 40 × n) × 4 points, four
// from each MD5 of "NAME-K" (K = 0, 1, ...), each read as a little-endian 32-bit value and
// placed at value << 32 (the Ring shifts 32-bit key hashes the same way), tagged in the low
// bits: a key hash h still finds the first point with value >= h, as in twemproxy.
ContinuumArrays ketama_arrangement(const std::vector<Backend>& backends,
                                   const PickerInputs& inputs);

// Smallest prime >= max(65537, 100 × backends): the default Maglev table size.
uint32_t default_maglev_size(size_t backends);

// Maglev lookup table of `table_size` slots (a prime >= number of backends).
std::unique_ptr<Placement> build_maglev(const std::vector<Backend>& backends, PickerInputs inputs,
                                        uint32_t table_size);

}  // namespace ringleader::ring
