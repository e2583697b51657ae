#include "info_reply.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "common/version.h"
#include "core/text.h"

namespace ringleader::proxy::redis {
namespace {

// INFO with no section, "all" or "everything": every section the proxy has.
bool shows_every_section(std::string_view section) {
  return section == "default" || section == "all" || section == "everything";
}

// The backend-derived sections, in the order a backend's default INFO has them.
constexpr std::string_view kBackendSections[] = {"server", "memory", "stats", "keyspace"};

void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ':';
  out += value;
  out += "\r\n";
}

void field(std::string& out, std::string_view name, uint64_t value) {
  field(out, name, std::to_string(value));
}

// Sums of the numeric fields of the backends' INFO texts.
class BackendTotals {
 public:
  explicit BackendTotals(const InfoSources& in) : in_(in) {}

  uint64_t sum(std::string_view name) const {
    uint64_t total = 0;
    for (std::string_view text : in_.backend_texts) {
      uint64_t v = 0;
      if (parse_u64(info_field(text, name), &v)) total += v;
    }
    return total;
  }
  // The common value of a field, or empty when the backends disagree or none has it.
  std::string_view common(std::string_view name) const {
    std::string_view agreed;
    for (size_t i = 0; i < in_.backend_texts.size(); ++i) {
      std::string_view v = info_field(in_.backend_texts[i], name);
      if (i == 0) {
        agreed = v;
      } else if (v != agreed) {
        return {};
      }
    }
    return agreed;
  }
  // A comment line naming what the sums lack, when some backends did not answer.
  void note_missing(std::string& out, std::string_view what) const {
    size_t missing = in_.backends - in_.backend_texts.size();
    if (missing == 0) return;
    out += "# ringleader: " + std::to_string(missing) + " of " + std::to_string(in_.backends) +
           " backends gave no " + std::string(what) + "; theirs is not counted\r\n";
  }

 private:
  const InfoSources& in_;
};

void server_section(const InfoSources& in, std::string& out) {
  std::string_view version;
  for (std::string_view text : in.backend_texts)
    version = lower_version(version, info_field(text, "redis_version"));
  out += "# Server\r\n";
  if (!version.empty()) field(out, "redis_version", version);
  field(out, "ringleader_version", ringleader::kVersion);
  field(out, "redis_mode", "proxy");
  field(out, "arch_bits", sizeof(void*) * 8);
  field(out, "process_id", static_cast<uint64_t>(::getpid()));
  field(out, "uptime_in_seconds", in.uptime_s);
  field(out, "uptime_in_days", in.uptime_s / 86400);
  field(out, "ring_epoch", in.ring_epoch);
  field(out, "ring_backends", in.backends);
}

void clients_section(const InfoSources& in, std::string& out) {
  out += "# Clients\r\n";
  field(out, "connected_clients",
        static_cast<uint64_t>(std::max<int64_t>(0, in.totals.client_connections)));
  field(out, "blocked_clients", 0);  // blocking commands are refused
  field(out, "maxclients", in.max_clients);
}

void memory_section(const InfoSources& in, std::string& out) {
  BackendTotals b(in);
  out += "# Memory\r\n";
  b.note_missing(out, "memory figures");
  for (std::string_view name : {"used_memory", "used_memory_rss", "used_memory_peak"}) {
    uint64_t v = b.sum(name);
    field(out, name, v);
    field(out, std::string(name) + "_human", human_bytes(v));
  }
  // One backend without a limit (0) leaves the whole keyspace without one.
  uint64_t maxmemory = 0;
  bool limited = !in.backend_texts.empty();
  for (std::string_view text : in.backend_texts) {
    uint64_t v = 0;
    limited = limited && parse_u64(info_field(text, "maxmemory"), &v) && v > 0;
    maxmemory += v;
  }
  if (!limited) maxmemory = 0;
  field(out, "maxmemory", maxmemory);
  field(out, "maxmemory_human", human_bytes(maxmemory));
  std::string_view policy = b.common("maxmemory_policy");
  if (!policy.empty()) field(out, "maxmemory_policy", policy);
}

void stats_section(const InfoSources& in, std::string& out) {
  const CounterTotals& t = in.totals;
  BackendTotals b(in);
  out += "# Stats\r\n";
  field(out, "total_connections_received", t.clients_accepted);
  field(out, "total_commands_processed", t.requests);
  field(out, "rejected_connections", t.clients_rejected);
  field(out, "total_net_input_bytes", t.bytes_from_clients);
  field(out, "total_net_output_bytes", t.bytes_to_clients);
  b.note_missing(out, "keyspace statistics");
  for (std::string_view name : {"keyspace_hits", "keyspace_misses", "expired_keys", "evicted_keys"})
    field(out, name, b.sum(name));
  field(out, "backend_requests", t.fragments_sent);
  field(out, "backend_failures", t.fragments_failed);
  field(out, "backend_timeouts", t.backend_timeouts);
  field(out, "read_failovers", t.read_failovers);
  field(out, "replica_write_failures", t.replica_write_failures);
}

void replication_section(std::string& out) {
  // To its clients the proxy is one writable server; replicas are its own business.
  out += "# Replication\r\n";
  field(out, "role", "master");
  field(out, "connected_slaves", 0);
}

void cpu_section(std::string& out) {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  char buf[64];
  out += "# CPU\r\n";
  std::snprintf(buf, sizeof buf, "%ld.%06ld", static_cast<long>(ru.ru_stime.tv_sec),
                static_cast<long>(ru.ru_stime.tv_usec));
  field(out, "used_cpu_sys", buf);
  std::snprintf(buf, sizeof buf, "%ld.%06ld", static_cast<long>(ru.ru_utime.tv_sec),
                static_cast<long>(ru.ru_utime.tv_usec));
  field(out, "used_cpu_user", buf);
}

void keyspace_section(const InfoSources& in, std::string& out) {
  // Sum "dbN:keys=K,expires=E,avg_ttl=T" over backends, N being backend.db, which clients
  // see as db0. The average TTL is the backends' averages weighted by their keys with an
  // expiry (a backend that has not sampled its TTLs yet says 0, and counts as 0, as its own
  // INFO does).
  uint64_t keys = 0, expires = 0;
  long double ttl_sum = 0;
  const std::string db = "db" + std::to_string(in.backend_db);
  for (std::string_view text : in.backend_texts) {
    uint64_t k = 0, e = 0, ttl = 0;
    std::string line(info_field(text, db));
    const int read = std::sscanf(line.c_str(), "keys=%lu,expires=%lu,avg_ttl=%lu", &k, &e, &ttl);
    if (read >= 2) {
      keys += k;
      expires += e;
      if (read == 3) ttl_sum += static_cast<long double>(ttl) * static_cast<long double>(e);
    }
  }
  out += "# Keyspace\r\n";
  BackendTotals(in).note_missing(out, "keyspace");
  if (keys > 0) {
    const uint64_t avg_ttl =
        expires > 0 ? static_cast<uint64_t>(ttl_sum / static_cast<long double>(expires)) : 0;
    out += "db0:keys=" + std::to_string(keys) + ",expires=" + std::to_string(expires) +
           ",avg_ttl=" + std::to_string(avg_ttl) + "\r\n";
  }
}

}  // namespace

bool info_shows(std::string_view sections, std::string_view section) {
  while (!sections.empty()) {
    const size_t space = sections.find(' ');
    const std::string_view s = sections.substr(0, space);
    if (s == section || shows_every_section(s)) return true;
    if (space == std::string_view::npos) break;
    sections.remove_prefix(space + 1);
  }
  return false;
}

bool backend_info_section(std::string_view sections, std::string_view* backend_section) {
  size_t needed = 0;
  for (std::string_view s : kBackendSections) {
    if (info_shows(sections, s)) {
      ++needed;
      *backend_section = s;
    }
  }
  if (needed > 1) *backend_section = {};
  return needed > 0;
}

std::string info_text(const InfoSources& in) {
  std::string out;
  auto section = [&](std::string_view name, auto&& build) {
    if (!info_shows(in.sections, name)) return;
    if (!out.empty()) out += "\r\n";
    build();
  };
  section("server", [&] { server_section(in, out); });
  section("clients", [&] { clients_section(in, out); });
  section("memory", [&] { memory_section(in, out); });
  section("stats", [&] { stats_section(in, out); });
  section("replication", [&] { replication_section(out); });
  section("cpu", [&] { cpu_section(out); });
  section("keyspace", [&] { keyspace_section(in, out); });
  return out;
}

std::string_view info_field(std::string_view text, std::string_view name) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        line[name.size()] == ':') {
      return line.substr(name.size() + 1);
    }
    at = end + 1;
  }
  return {};
}

std::string_view lower_version(std::string_view a, std::string_view b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  // Compare the dot-separated numbers in turn; a missing one counts as 0.
  std::string_view x = a, y = b;
  while (!x.empty() || !y.empty()) {
    auto next = [](std::string_view& s) {
      size_t dot = s.find('.');
      std::string_view part = s.substr(0, dot);
      s = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
      uint64_t v = 0;
      return parse_u64(part, &v) ? v : 0;
    };
    uint64_t vx = next(x), vy = next(y);
    if (vx != vy) return vx < vy ? a : b;
  }
  return a;
}

std::string human_bytes(uint64_t bytes) {
  constexpr const char* kUnits = "KMGTPE";
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double v = static_cast<double>(bytes);
  int unit = -1;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%c", v, kUnits[unit]);
  return buf;
}

}  // namespace ringleader::proxy::redis
