#include "tcp_keepalive.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace ringleader::proxy {

int enable_tcp_keepalive(uv_tcp_t* tcp, uint32_t idle_s) {
  if (idle_s == 0) return 0;
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(tcp), &fd) != 0) return EBADF;
  const int on = 1;
  const int idle = static_cast<int>(idle_s);
  const int interval = std::max(1, idle / 3);
  const int probes = 3;
  const struct {
    int level;
    int name;
    const int* value;
  } options[] = {{SOL_SOCKET, SO_KEEPALIVE, &on},
                 {IPPROTO_TCP, TCP_KEEPIDLE, &idle},
                 {IPPROTO_TCP, TCP_KEEPINTVL, &interval},
                 {IPPROTO_TCP, TCP_KEEPCNT, &probes}};
  for (const auto& o : options) {
    if (::setsockopt(fd, o.level, o.name, o.value, sizeof(int)) != 0) return errno;
  }
  return 0;
}

}  // namespace ringleader::proxy
