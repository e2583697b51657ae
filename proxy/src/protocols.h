// The protocols ringleader speaks, chosen by proxy.protocol.
#pragma once

#include <memory>

#include "common/result.h"
#include "config/config.h"
#include "core/protocol.h"

namespace ringleader::proxy {

Result<std::unique_ptr<Protocol>> make_protocol(config::Protocol protocol);

}  // namespace ringleader::proxy
