// What the kernel holds for a connected socket (TCP or Unix stream), by descriptor.
#pragma once

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <cstddef>

namespace ringleader {

// Bytes written and not yet taken by the peer (TCP: not yet acknowledged); 0 when unknown.
inline size_t kernel_unsent_bytes(int fd) {
  int n = 0;
  return ioctl(fd, SIOCOUTQ, &n) == 0 && n > 0 ? static_cast<size_t>(n) : 0;
}

// Bytes received and not yet read; 0 when unknown. Closing a socket with some resets the
// connection, and the reset discards what the peer has not taken of the unsent bytes.
inline size_t kernel_unread_bytes(int fd) {
  int n = 0;
  return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? static_cast<size_t>(n) : 0;
}

}  // namespace ringleader
