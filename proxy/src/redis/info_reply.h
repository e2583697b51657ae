// INFO through the proxy: the text a client gets back.
//
// Sections that describe the server a client talks to (clients, the proxy's request
// statistics, replication role, CPU) are the proxy's own. Sections that describe the data
// are built from the backends' INFO: memory and keyspace are sums, the keyspace hit and miss
// counters are sums, and `redis_version` is the lowest version among the backends, the one
// every key is served by at least. Backends that did not answer are named in a comment line
// of each section they would have counted in, never silently left out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/counters.h"

namespace ringleader::proxy::redis {

struct InfoSources {
  // Lowercase, space-separated section names; "default" when the client named none.
  std::string_view sections;
  // The INFO replies (bulk text) of the backends that answered.
  std::vector<std::string_view> backend_texts;
  // Backends in the ring: those that answered plus those that did not or were not asked.
  size_t backends = 0;
  CounterTotals totals;
  uint64_t uptime_s = 0;
  uint64_t ring_epoch = 0;
  uint32_t max_clients = 0;
  // The backends' database that clients see as db 0 (backend.db).
  uint32_t backend_db = 0;
};

// Whether INFO's `sections` include `section`, by name or by asking for every section.
bool info_shows(std::string_view sections, std::string_view section);

// False when `sections` need nothing from the backends. Otherwise true, with the section to
// ask each backend for in *backend_section: one name, or "" for INFO's default sections
// (which hold every field the proxy reads) when several are needed.
bool backend_info_section(std::string_view sections, std::string_view* backend_section);

// The INFO text for `in` (without the bulk framing).
std::string info_text(const InfoSources& in);

// The value of `field` in an INFO text ("field:value" lines), or empty when absent.
std::string_view info_field(std::string_view text, std::string_view field);

// Lower of two dotted versions ("7.0.15" < "7.2.4"); an empty one counts as absent.
std::string_view lower_version(std::string_view a, std::string_view b);

// Bytes as Redis prints them in *_human fields: "512B", "1.50K", "2.00M", "3.25G".
std::string human_bytes(uint64_t bytes);

}  // namespace ringleader::proxy::redis
