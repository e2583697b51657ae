// Socket addresses as text, the way Redis and the logs write them: "127.0.0.1:6379",
// "[::1]:6379" (brackets around an IPv6 host, so the port stays unambiguous) and
// "/run/redis.sock:0" (a Unix-domain socket's path, port 0).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace ringleader {

// An AF_UNIX address for the socket at `path`; nullopt when the path is empty or does not fit
// (sun_path holds 107 bytes and a NUL).
inline std::optional<sockaddr_storage> unix_socket_address(std::string_view path) {
  sockaddr_storage storage{};
  auto* un = reinterpret_cast<sockaddr_un*>(&storage);
  if (path.empty() || path.size() >= sizeof un->sun_path) return std::nullopt;
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  return storage;
}

// The path of an AF_UNIX address; empty for an unnamed or abstract one, or another family.
inline std::string unix_socket_path(const sockaddr_storage& address) {
  if (address.ss_family != AF_UNIX) return {};
  const auto* un = reinterpret_cast<const sockaddr_un*>(&address);
  return std::string(un->sun_path, ::strnlen(un->sun_path, sizeof un->sun_path));
}

// The port of an AF_INET or AF_INET6 address (0 for any other family).
inline uint16_t socket_address_port(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  }
  return 0;
}

// "host:port" for AF_INET, "[host]:port" for AF_INET6, "path:0" for a named AF_UNIX socket;
// "?" for anything else.
inline std::string format_socket_address(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (address.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, host,
                sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(socket_address_port(address));
  }
  if (address.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, host,
                sizeof(host));
    return std::string(host) + ":" + std::to_string(socket_address_port(address));
  }
  if (address.ss_family == AF_UNIX) {
    // An unnamed socket, or an abstract one (leading NUL), has no path to show.
    if (const std::string path = unix_socket_path(address); !path.empty()) return path + ":0";
  }
  return "?";
}

}  // namespace ringleader
