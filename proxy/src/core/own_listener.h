// Whether a backend connection came back into this instance. The config check compares
// addresses as written, so it cannot see a host name that resolves to this machine (the
// host's own name, which Debian maps to 127.0.1.1), or an address of one of its interfaces
// behind a wildcard listener; the connected socket's remote address shows both. A backend
// there would loop every request back into the proxy (or into the admin or Raft listener,
// which answer no backend protocol), so such a connection is refused like a failed connect.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "config/config.h"

namespace ringleader::proxy {

// Which of the instance's own listeners (config::own_listener_reached's names: "proxy.listen",
// "admin.listen", "membership.listen", "peer ID's membership listener") a TCP connection to
// `peer` reached; "" when none. `local_hosts` are this machine's interface addresses
// (canonical hosts): a wildcard listener takes those of its family too (an IPv6 one, any).
std::string own_listener_connected(const config::Config& config, const sockaddr_storage& peer,
                                   const std::vector<std::string>& local_hosts);

// The same with this machine's interface addresses, read only when `peer`'s port is one
// that a wildcard listener of the instance holds.
std::string own_listener_connected(const config::Config& config, const sockaddr_storage& peer);

// This machine's interface addresses (getifaddrs) as canonical hosts; empty when they cannot
// be read.
std::vector<std::string> local_interface_hosts();

}  // namespace ringleader::proxy
