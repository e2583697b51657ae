#include "fd_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>

namespace ringleader::proxy {
namespace {
constexpr uint64_t kPerWorkerReserve = 8;  // epoll, eventfds, io_uring, listener
// The admin API's 64 connections (AdminServer's max_connections); the membership's 64
// connections waiting for a Hello (TransportOptions::max_unidentified) and 8 from ids outside
// the group (max_strangers), its listener and peers; the log, data_dir files, signal handles,
// and the two dozen or so descriptors the process holds from its start (standard streams,
// loops, pipes).
constexpr uint64_t kProcessReserve = 64 + 64 + 8 + 56;

uint64_t as_count(rlim_t v) {
  return v == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(v);
}
}  // namespace

uint64_t descriptors_needed(uint32_t max_clients, uint32_t workers, uint64_t backends,
                            uint32_t backend_connections) {
  const uint64_t per_worker = backends * std::max<uint32_t>(1, backend_connections) +
                              kPerWorkerReserve + refused_clients_per_worker(workers);
  return uint64_t{max_clients} + uint64_t{workers} * per_worker + kProcessReserve;
}

uint32_t clients_admitted(uint64_t limit, uint64_t needed, uint32_t max_clients) {
  if (limit == 0 || limit >= needed) return max_clients;
  const uint64_t others = needed - max_clients;
  return limit > others ? static_cast<uint32_t>(std::min<uint64_t>(limit - others, max_clients))
                        : 1;
}

FdLimit raise_fd_limit(uint64_t needed) {
  FdLimit out;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return out;
  out.before = out.after = as_count(rl.rlim_cur);
  out.hard = as_count(rl.rlim_max);
  if (out.before >= needed) return out;
  rlimit raised = rl;
  raised.rlim_cur = static_cast<rlim_t>(std::min(needed, out.hard));
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) out.after = as_count(raised.rlim_cur);
  return out;
}

std::string fd_exhaustion_hint(int err) {
  if (err == ENFILE) return " (the system's open-file table is full: fs.file-max)";
  if (err != EMFILE) return "";
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return " (out of file descriptors)";
  return " (the open-file limit is " + std::to_string(as_count(rl.rlim_cur)) +
         ": raise it with ulimit -n or LimitNOFILE=, or lower proxy.workers or "
         "proxy.max_clients)";
}

}  // namespace ringleader::proxy
