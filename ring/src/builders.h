// Where each algorithm puts its points; the Ring assembles the Placement from them.
#pragma once

#include <memory>
#include <vector>

#include "continuum.h"
#include "ring/backend.h"

namespace ringleader::ring {

// vnode: weight × vnodes points per backend at XXH3-64(name, seed = point number).
// Every backend is placed whatever its state: states only affect who may own a point.
std::vector<ContinuumPoint> vnode_points(const std::vector<Backend>& backends, uint32_t vnodes);

// ketama: twemproxy's continuum. Backend i gets floor(w_i / W × 40 × n) × 4 points, four
// from each MD5 of "NAME-K" (K = 0, 1, ...), each read as a little-endian 32-bit value and
// placed at value << 32 (the Ring shifts 32-bit key hashes the same way).
std::vector<ContinuumPoint> ketama_points(const std::vector<Backend>& backends);

// Smallest prime >= max(65537, 100 × backends): the default Maglev table size.
uint32_t default_maglev_size(size_t backends);
bool is_prime(uint32_t n);

// Maglev lookup table of `table_size` slots (a prime >= number of backends).
std::unique_ptr<Placement> build_maglev(const std::vector<Backend>& backends, PickerInputs inputs,
                                        uint32_t table_size);

}  // namespace ringleader::ring
