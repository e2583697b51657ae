// A TCP listener on 127.0.0.1 at a port the kernel picks, for core tests that play a backend
// with plain sockets.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace ringleader::proxy::testing {

// The listening socket (its port in *port), or -1 when one cannot be made.
inline int loopback_listener(uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof at;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || ::listen(fd, 4) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &length) != 0) {
    ::close(fd);
    return -1;
  }
  *port = ntohs(at.sin_port);
  return fd;
}

}  // namespace ringleader::proxy::testing
