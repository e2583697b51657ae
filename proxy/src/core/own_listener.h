// Whether a backend connection came back into this instance. The config check compares
// addresses as written, so it cannot see a host name that resolves to one of the instance's
// listeners (the host's own name, which Debian maps to 127.0.1.1); the connected socket's
// remote address, a number, shows it. A backend there would loop every request back into the
// proxy (or into the admin or Raft listener, which answer no backend protocol), so such a
// connection is refused like a failed connect.
//
// Only what is certain counts: the listener's own address, and loopback behind a wildcard
// listener. Another address of this machine's interfaces behind a wildcard listener is not
// taken for the instance itself: such an address may be a virtual one whose connections the
// kernel forwards elsewhere before any listener sees them (kube-proxy's IPVS service
// addresses sit on a local dummy interface), and refusing a real backend there would be
// worse than the loop's timeouts.
#pragma once

#include <sys/socket.h>

#include <string>

#include "config/config.h"

namespace ringleader::proxy {

// Which of the instance's own listeners (config::own_listener_reached's names: "proxy.listen",
// "admin.listen", "membership.listen", "peer ID's membership listener") a TCP connection to
// `peer` reached; "" when none, and for a peer that is not IPv4 or IPv6.
std::string own_listener_connected(const config::Config& config, const sockaddr_storage& peer);

}  // namespace ringleader::proxy
