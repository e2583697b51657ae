// Encoding of the ring types shared by commands and state snapshots.
#pragma once

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"
#include "ring/backend.h"
#include "ring/params.h"

namespace ringleader::membership::state {

void write_backend(codec::ByteWriter& w, const ring::Backend& b);
// Reads a backend; on malformed input marks `r` failed.
ring::Backend read_backend(codec::ByteReader& r);
void write_params(codec::ByteWriter& w, const ring::RingParams& p);
ring::RingParams read_params(codec::ByteReader& r);
// Reads a backend state; on a value out of range marks `r` failed.
ring::BackendState read_backend_state(codec::ByteReader& r);

}  // namespace ringleader::membership::state
