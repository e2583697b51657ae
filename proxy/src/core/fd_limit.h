// The open-file limit (RLIMIT_NOFILE) against what the proxy needs: every client, every
// backend connection of every worker, and the listeners, timers and admin connections.
// Running out means accept() fails and clients are dropped, so `serve` raises the soft limit
// toward the need at start (as far as the hard limit allows) and warns when it falls short.
#pragma once

#include <cstdint>
#include <string>

namespace ringleader::proxy {

// Clients refused over max_clients that the workers let linger (to deliver the error before
// closing) at once, over all of them; past it a refused client is closed as soon as its error
// is written. Each worker takes an equal share (rounded down), at least
// kMinRefusedClientsPerWorker.
inline constexpr uint32_t kMaxRefusedClientsOpen = 64;
inline constexpr uint32_t kMinRefusedClientsPerWorker = 4;
inline uint32_t refused_clients_per_worker(uint32_t workers) {
  const uint32_t share = workers == 0 ? kMaxRefusedClientsOpen : kMaxRefusedClientsOpen / workers;
  return share > kMinRefusedClientsPerWorker ? share : kMinRefusedClientsPerWorker;
}

// Descriptors `serve` may hold at once: `max_clients` clients, `backend_connections` per
// backend per worker, and a fixed reserve per worker (listener, event loop, io_uring, wakeup,
// refused clients lingering: their share) and for the process (the admin API's connections,
// Raft peers, log, data_dir, and what it holds from its start).
uint64_t descriptors_needed(uint32_t max_clients, uint32_t workers, uint64_t backends,
                            uint32_t backend_connections);

struct FdLimit {
  uint64_t before = 0;  // soft limit found
  uint64_t after = 0;   // soft limit now
  uint64_t hard = 0;
};

// Clients the descriptors can hold: all `max_clients` when the limit `fds.after` covers
// `needed` (descriptors_needed for them), else as many as the limit leaves after everything
// else, at least 1 (0 from getrlimit, as for an unreadable limit, means no cap). One more
// then gets the max_clients error reply rather than being closed without a word when
// accept() runs out of descriptors.
uint32_t clients_admitted(uint64_t limit, uint64_t needed, uint32_t max_clients);

// Raises the soft limit to min(needed, hard) when it is below `needed`; never lowers it.
FdLimit raise_fd_limit(uint64_t needed);

// For an errno from socket() or accept(): when it says the process (EMFILE) or the system
// (ENFILE) ran out of descriptors, " (...)" naming the limit and what to change; else "".
std::string fd_exhaustion_hint(int err);

}  // namespace ringleader::proxy
