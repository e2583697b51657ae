// TCP keepalive as Redis sets it (its tcp-keepalive): the first probe after `idle_s` seconds of
// silence, then one every idle_s / 3 seconds (at least 1), and the kernel resets the
// connection after 3 unanswered probes. A peer that vanished without closing (its host gone,
// its state dropped by a firewall) is thus found within about twice idle_s, and an idle
// connection's steady probes keep middleboxes from forgetting it. (libuv's uv_tcp_keepalive
// sets only the idle time, leaving the kernel's 75 s interval and 9 probes.)
#pragma once

#include <uv.h>

#include <cstdint>

namespace ringleader::proxy {

// Turns keepalive on for a connected TCP socket; idle_s 0 leaves it off. Returns 0, or the
// errno of the option that could not be set (the connection works without it).
int enable_tcp_keepalive(uv_tcp_t* tcp, uint32_t idle_s);

}  // namespace ringleader::proxy
