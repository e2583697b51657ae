#include "own_listener.h"

#include "common/socket_address.h"

namespace ringleader::proxy {

std::string own_listener_connected(const config::Config& config, const sockaddr_storage& peer) {
  if (peer.ss_family != AF_INET && peer.ss_family != AF_INET6) return "";
  return config::own_listener_reached(config, format_socket_address(peer));
}

}  // namespace ringleader::proxy
