// Rules that span several keys or tables. Internal to the config module.
#pragma once

#include "config/config.h"
#include "diagnostics.h"

namespace ringleader::config {

// Checks the rules no single key can: algorithm/hash pairing, replicas against the number of
// backends, the keys raft mode requires, timeouts against each other, listeners that collide.
// Reports at the positions decode_document recorded. A rule that involves a key already
// reported as invalid is skipped, so one mistake gives one error.
void validate_config(const Config& config, Diagnostics* diagnostics);

}  // namespace ringleader::config
