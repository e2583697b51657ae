// Decoding a parsed TOML document into a Config. Internal to the config module.
#pragma once

#include <toml++/toml.h>

#include "config/config.h"
#include "diagnostics.h"

namespace ringleader::config {

// Reads every table of `document` into `config` (which holds the defaults), reporting wrong
// types, out-of-range and malformed values, missing required keys, duplicates within
// [[backends]] and membership.peers, and unknown tables and keys. Records the position of every
// key present for the later cross-key checks.
void decode_document(const toml::table& document, Config* config, Diagnostics* diagnostics);

}  // namespace ringleader::config
