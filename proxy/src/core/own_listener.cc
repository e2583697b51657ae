#include "own_listener.h"

#include <sys/stat.h>

#include "common/socket_address.h"

namespace ringleader::proxy {
namespace {

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  return !a.empty() && !b.empty() && ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

std::string own_listener_connected(const config::Config& config, const sockaddr_storage& peer) {
  if (peer.ss_family == AF_UNIX) {
    const std::string& listen = config.proxy.listen;
    if (!config::is_unix_address(listen)) return "";
    return same_file(unix_socket_path(peer), listen.substr(config::kUnixAddressPrefix.size()))
               ? "proxy.listen"
               : "";
  }
  if (peer.ss_family != AF_INET && peer.ss_family != AF_INET6) return "";
  return config::own_listener_reached(config, format_socket_address(peer));
}

}  // namespace ringleader::proxy
