// validate_config: rules that relate several keys, checked after every key was decoded.
#include "validate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <algorithm>
#include <string>
#include <vector>

namespace ringleader::config {

namespace {

// twemproxy's ketama places this many points per server; ringleader's ketama does the same.
constexpr uint32_t kKetamaPointsPerServer = 160;

void validate_ring(const Config& config, Diagnostics* diagnostics) {
  const ring::RingParams& params = config.ring;
  const bool ketama =
      params.algorithm == ring::Algorithm::kKetama && !diagnostics->failed("ring.algorithm");
  if (ketama && params.hash == ring::HashKind::kXxh3 && !diagnostics->failed("ring.hash")) {
    if (diagnostics->has_key("ring.hash")) {
      diagnostics->error_at_key(
          "ring.hash",
          "expected \"fnv1a_64\" or \"md5\" with algorithm \"ketama\" (twemproxy's continuum), "
          "got \"xxh3\"");
    } else {
      diagnostics->error_at_key("ring.algorithm",
                                "algorithm \"ketama\" needs ring.hash = \"fnv1a_64\" or \"md5\"; "
                                "the default hash \"xxh3\" is not one twemproxy uses");
    }
  }
  if (ketama && params.balance_factor != 0 && !diagnostics->failed("ring.balance_factor")) {
    diagnostics->error_at_key("ring.balance_factor",
                              "not supported with algorithm \"ketama\" (twemproxy's continuum "
                              "has no load bound); expected 0 or no value");
  }
  const bool maglev =
      params.algorithm == ring::Algorithm::kMaglev && !diagnostics->failed("ring.algorithm");
  if (maglev && params.balance_factor != 0 && !diagnostics->failed("ring.balance_factor")) {
    diagnostics->error_at_key("ring.balance_factor",
                              "not supported with algorithm \"maglev\" (its table already "
                              "spreads keys evenly; the bound applies to vnode placement); "
                              "expected 0 or no value");
  }
  if (ketama && params.vnodes != kKetamaPointsPerServer && diagnostics->has_key("ring.vnodes") &&
      !diagnostics->failed("ring.vnodes")) {
    diagnostics->error_at_key("ring.vnodes",
                              "expected 160 or no value with algorithm \"ketama\" (twemproxy "
                              "places 160 points per server), got " +
                                  std::to_string(params.vnodes));
  }

  const size_t backends = config.backends.size();
  if (backends > 0 && params.replicas > backends && !diagnostics->failed("ring.replicas")) {
    diagnostics->error_at_key("ring.replicas", "expected at most " + std::to_string(backends) +
                                                   " (the number of [[backends]]), got " +
                                                   std::to_string(params.replicas));
  }
  // The ring's own bound on points, reported where the fix goes: ring.vnodes when the file
  // sets it, else the heaviest backend's weight.
  if (params.algorithm == ring::Algorithm::kVnode && !diagnostics->failed("ring.vnodes") &&
      !diagnostics->failed("ring.algorithm")) {
    uint64_t points = 0;
    size_t heaviest = 0;
    for (size_t i = 0; i < backends; ++i) {
      points += uint64_t{config.backends[i].weight} * params.vnodes;
      if (config.backends[i].weight > config.backends[heaviest].weight) heaviest = i;
    }
    if (points > ring::kMaxVnodePoints) {
      const std::string weight_key = "backends[" + std::to_string(heaviest) + "].weight";
      diagnostics->error_at_key(
          diagnostics->has_key("ring.vnodes") || !diagnostics->has_key(weight_key) ? "ring.vnodes"
                                                                                   : weight_key,
          ring::too_many_points(points));
    }
  }
  if (params.maglev_table_size != 0 && params.maglev_table_size < backends &&
      !diagnostics->failed("ring.maglev_table_size")) {
    diagnostics->error_at_key("ring.maglev_table_size",
                              "expected at least the number of [[backends]] (" +
                                  std::to_string(backends) + "), got " +
                                  std::to_string(params.maglev_table_size));
  }
}

bool has_peer(const MembershipConfig& membership, const std::string& id) {
  for (const PeerConfig& peer : membership.peers) {
    if (peer.id == id) return true;
  }
  return false;
}

void validate_membership(const Config& config, Diagnostics* diagnostics) {
  const MembershipConfig& membership = config.membership;
  if (diagnostics->failed("membership.mode")) return;

  const bool all_down =
      !config.backends.empty() &&
      std::all_of(config.backends.begin(), config.backends.end(),
                  [](const ring::Backend& b) { return b.state == ring::BackendState::kDown; });
  if (all_down && !diagnostics->failed("backends")) {
    diagnostics->error_at_key("backends",
                              "every [[backends]] entry has state \"down\", so every request "
                              "would fail: keep at least one \"active\" or \"draining\"");
  }
  if (membership.mode == MembershipMode::kStatic) {
    if (config.backends.empty() && !diagnostics->failed("backends")) {
      diagnostics->error_at_key(
          "backends",
          "at least one [[backends]] entry is required when membership.mode is \"static\"");
    }
  } else {
    const SourcePos mode_pos = diagnostics->position("membership.mode");
    for (const char* key :
         {"membership.node_id", "membership.listen", "membership.peers", "membership.data_dir"}) {
      if (!diagnostics->has_key(key)) {
        diagnostics->error(mode_pos, key, "required when membership.mode is \"raft\"");
      }
    }
    // Instances reach each other by number, never through a resolver, so that a peer's
    // address cannot change under the group. (`serve` would find a name only after writing
    // the group's founders to data_dir.) In static mode [membership] is unused.
    std::string host;
    if (diagnostics->has_key("membership.listen") && !diagnostics->failed("membership.listen") &&
        parse_host_port(membership.listen, &host, nullptr) && !is_numeric_host(host)) {
      diagnostics->error_at_key("membership.listen",
                                "expected host:port with a numeric IP or localhost, such as "
                                "\"127.0.0.1:7401\" or \"[::1]:7401\" (instances reach each "
                                "other by number, never through a resolver), got " +
                                    quote(membership.listen));
    }
    for (const PeerConfig& peer : membership.peers) {
      if (!parse_host_port(peer.address, &host, nullptr) || is_numeric_host(host)) continue;
      diagnostics->error_at_key("membership.peers",
                                "the host of a peer must be a numeric IP or localhost (instances "
                                "reach each other by number, never through a resolver), got " +
                                    quote(peer.id + "@" + peer.address));
    }
    if (!membership.node_id.empty() && diagnostics->has_key("membership.peers") &&
        !diagnostics->failed("membership.peers") && !has_peer(membership, membership.node_id)) {
      std::string ids;
      for (const PeerConfig& peer : membership.peers) {
        ids += ids.empty() ? "" : ", ";
        ids += quote(peer.id);
      }
      diagnostics->error_at_key("membership.peers",
                                "expected an entry for this node (node_id " +
                                    quote(membership.node_id) + "), got " +
                                    (ids.empty() ? std::string("no peers") : "ids " + ids));
    }
    // The other instances dial this node at its peers entry: listening on another port
    // would leave it unreachable (the host may differ: a wildcard, a NAT).
    uint16_t listen_port = 0;
    if (diagnostics->has_key("membership.listen") && !diagnostics->failed("membership.listen") &&
        !diagnostics->failed("membership.peers") &&
        parse_host_port(membership.listen, nullptr, &listen_port)) {
      for (const PeerConfig& peer : membership.peers) {
        uint16_t peer_port = 0;
        if (peer.id == membership.node_id && parse_host_port(peer.address, nullptr, &peer_port) &&
            peer_port != listen_port) {
          diagnostics->error_at_key(
              "membership.listen", "expected port " + std::to_string(peer_port) +
                                       ", as in this node's entry in membership.peers (" + peer.id +
                                       "@" + peer.address + "), got " + quote(membership.listen));
        }
      }
    }
  }

  const uint64_t election = membership.election_timeout_ms;
  const uint64_t heartbeat = membership.heartbeat_ms;
  if (election < 2 * heartbeat && !diagnostics->failed("membership.election_timeout_ms") &&
      !diagnostics->failed("membership.heartbeat_ms")) {
    if (diagnostics->has_key("membership.election_timeout_ms")) {
      diagnostics->error_at_key(
          "membership.election_timeout_ms",
          "expected at least 2 x membership.heartbeat_ms = " + std::to_string(2 * heartbeat) +
              ", got " + std::to_string(election));
    } else {
      diagnostics->error_at_key("membership.heartbeat_ms",
                                "expected at most half of membership.election_timeout_ms (" +
                                    std::to_string(election) +
                                    " by default) = " + std::to_string(election / 2) + ", got " +
                                    std::to_string(heartbeat));
    }
  }
}

// A listener a config asks for: the key it comes from and its host:port.
struct Listener {
  const char* key;
  const std::string* address;
};

bool is_wildcard(std::string_view host) {
  return host == "0.0.0.0" || host == "::";
}

// Whether `host` is certainly not a loopback address: an IP literal outside 127.0.0.0/8 and
// ::1. Names other than localhost are resolved by `serve`, which applies the same rule.
bool surely_not_loopback(const std::string& host) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) != 127;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return v6.s6_addr[12] != 127;
    return !IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

void validate_admin(const Config& config, Diagnostics* diagnostics) {
  std::string host;
  if (config.admin.token.empty() && !diagnostics->failed("admin.listen") &&
      parse_host_port(config.admin.listen, &host, nullptr) && surely_not_loopback(host)) {
    diagnostics->error_at_key("admin.listen",
                              "expected a loopback address while admin.token is empty (anyone "
                              "who reaches " +
                                  config.admin.listen +
                                  " could change the cluster): set admin.token, got " +
                                  quote(config.admin.listen));
  }
  // The same for the Raft transport: without a secret, anyone who reaches it can join the
  // group's traffic and forge its messages.
  if (config.membership.mode == MembershipMode::kRaft && config.membership.secret.empty() &&
      !diagnostics->failed("membership.listen") &&
      parse_host_port(config.membership.listen, &host, nullptr) && surely_not_loopback(host)) {
    diagnostics->error_at_key("membership.listen",
                              "expected a loopback address while membership.secret is empty "
                              "(anyone who reaches " +
                                  config.membership.listen +
                                  " could forge the group's messages): set membership.secret, "
                                  "got " +
                                  quote(config.membership.listen));
  }
  // A token guards changes made through the admin API; a follower forwards its changes to the
  // leader over the Raft transport, which asks for no token. Without a secret, anyone who
  // reaches membership.listen (any local user, on loopback) could change the membership the
  // token is there to guard.
  if (config.membership.mode == MembershipMode::kRaft && config.membership.secret.empty() &&
      !config.admin.token.empty() && !diagnostics->failed("membership.secret")) {
    diagnostics->error_at_key(
        "membership.secret",
        "expected a secret while admin.token is set: without one, anyone who reaches " +
            config.membership.listen +
            " could change the membership through the Raft transport, which asks for no token; "
            "set membership.secret on every instance");
  }
}

void validate_listeners(const Config& config, Diagnostics* diagnostics) {
  std::vector<Listener> listeners = {{"proxy.listen", &config.proxy.listen}};
  if (!config.admin.listen.empty()) listeners.push_back({"admin.listen", &config.admin.listen});
  if (config.membership.mode == MembershipMode::kRaft && !config.membership.listen.empty()) {
    listeners.push_back({"membership.listen", &config.membership.listen});
  }
  for (size_t later = 1; later < listeners.size(); ++later) {
    for (size_t earlier = 0; earlier < later; ++earlier) {
      const Listener& a = listeners[earlier];
      const Listener& b = listeners[later];
      if (diagnostics->failed(a.key) || diagnostics->failed(b.key)) continue;
      if (!listeners_collide(*a.address, *b.address)) continue;
      // Point at the key the operator wrote; a default is not where the fix goes.
      const bool blame_b = diagnostics->has_key(b.key) || !diagnostics->has_key(a.key);
      const Listener& blamed = blame_b ? b : a;
      const Listener& other = blame_b ? a : b;
      diagnostics->error_at_key(blamed.key, "expected an address not used by " +
                                                std::string(other.key) + " (" + *other.address +
                                                "), got " + quote(*blamed.address));
    }
  }
  // A backend at one of the instance's own listeners: at proxy.listen every request for its
  // keys would come back in; the others do not speak a backend's protocol. (A listener whose
  // own key is wrong is reported there only.)
  auto listener_failed = [&](const std::string& reached) {
    return reached.starts_with("peer ") ? diagnostics->failed("membership.peers")
                                        : diagnostics->failed(reached);
  };
  for (size_t i = 0; i < config.backends.size(); ++i) {
    const std::string key = "backends[" + std::to_string(i) + "].address";
    if (diagnostics->failed(key)) continue;
    const std::string& address = config.backends[i].address;
    const std::string reached = own_listener_reached(config, address);
    if (reached.empty() || listener_failed(reached)) continue;
    if (reached == "proxy.listen") {
      diagnostics->error_at_key(key, "expected a backend, got proxy.listen's own address " +
                                         quote(address) +
                                         ": requests for its keys would loop through the proxy");
    } else {
      diagnostics->error_at_key(key, "expected a backend, got " + quote(address) +
                                         ", the address of " + reached +
                                         ": it does not answer a backend's protocol");
    }
  }
  // Another peer's membership listener at this instance's proxy or admin listener: the
  // group's messages would reach the wrong listener.
  if (config.membership.mode != MembershipMode::kRaft || diagnostics->failed("membership.peers")) {
    return;
  }
  for (const PeerConfig& peer : config.membership.peers) {
    if (peer.id == config.membership.node_id) continue;
    for (const Listener& l : listeners) {
      if (std::string_view(l.key) == "membership.listen" || diagnostics->failed(l.key) ||
          !address_reaches_listener(*l.address, peer.address)) {
        continue;
      }
      diagnostics->error_at_key("membership.peers", "expected peer " + peer.id +
                                                        " at an address other than this "
                                                        "instance's " +
                                                        l.key + " (" + *l.address + "), got " +
                                                        quote(peer.address));
    }
  }
}

// The memcached text protocol has no AUTH: a password could be neither asked of clients nor
// given to backends, and silently ignoring one would leave an operator believing it applies.
void validate_protocol(const Config& config, Diagnostics* diagnostics) {
  if (config.proxy.protocol != Protocol::kMemcached || diagnostics->failed("proxy.protocol")) {
    return;
  }
  if (!config.proxy.requirepass.empty()) {
    diagnostics->error_at_key("proxy.requirepass",
                              "not supported with protocol \"memcached\" (its text protocol has "
                              "no authentication); remove it");
  }
  if (!config.backend.password.empty()) {
    diagnostics->error_at_key("backend.password",
                              "not supported with protocol \"memcached\" (its text protocol has "
                              "no authentication); remove it");
  }
  if (!config.backend.username.empty()) {
    diagnostics->error_at_key("backend.username",
                              "not supported with protocol \"memcached\" (its text protocol has "
                              "no authentication); remove it");
  }
  if (config.backend.db != 0) {
    diagnostics->error_at_key("backend.db",
                              "not supported with protocol \"memcached\" (memcached has no "
                              "numbered databases); remove it");
  }
}

// AUTH takes a user name only with a password.
void validate_backend(const Config& config, Diagnostics* diagnostics) {
  if (!config.backend.username.empty() && config.backend.password.empty() &&
      config.proxy.protocol == Protocol::kRedis) {
    diagnostics->error_at_key("backend.username",
                              "needs backend.password: backends authenticate with AUTH "
                              "username password");
  }
}

}  // namespace

bool listeners_collide(const std::string& a, const std::string& b) {
  if (parse_unix_address(a, nullptr) && parse_unix_address(b, nullptr)) {
    return canonical_address(a) == canonical_address(b);
  }
  std::string host_a, host_b;
  uint16_t port_a = 0, port_b = 0;
  if (!parse_host_port(a, &host_a, &port_a) || !parse_host_port(b, &host_b, &port_b)) {
    return false;
  }
  host_a = canonical_host(host_a);
  host_b = canonical_host(host_b);
  return port_a == port_b && (host_a == host_b || is_wildcard(host_a) || is_wildcard(host_b));
}

namespace {

bool is_v4_loopback(const std::string& host) {
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

// The hosts a name may stand for: "localhost" resolves to 127.0.0.1 or ::1 (the first answer
// of the resolver, which /etc/hosts decides); any other host is itself (canonical_host).
std::vector<std::string> hosts_of(const std::string& host) {
  if (strcasecmp(host.c_str(), "localhost") == 0) return {"127.0.0.1", "::1"};
  return {canonical_host(host)};
}

// Whether connecting to `host` reaches a listener bound to `listen` (both canonical hosts),
// as Linux routes it: a connection to 0.0.0.0 goes to 127.0.0.1 and one to :: to ::1; an
// IPv4 wildcard listener takes IPv4 loopback only, an IPv6 one (dual-stack) any loopback.
// Which other addresses are this machine's is not known here (a config may be checked
// elsewhere): only those local on every machine count.
bool host_reaches(const std::string& listen, const std::string& host) {
  const std::string to = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host;
  if (listen == to) return true;
  if (listen == "0.0.0.0") return is_v4_loopback(to);
  if (listen == "::") return is_v4_loopback(to) || to == "::1";
  return false;
}

}  // namespace

bool address_reaches_listener(const std::string& listen, const std::string& address) {
  if (parse_unix_address(listen, nullptr) || parse_unix_address(address, nullptr)) {
    return listeners_collide(listen, address);
  }
  std::string listen_host, host;
  uint16_t listen_port = 0, port = 0;
  if (!parse_host_port(listen, &listen_host, &listen_port) ||
      !parse_host_port(address, &host, &port) || port != listen_port) {
    return false;
  }
  for (const std::string& l : hosts_of(listen_host)) {
    for (const std::string& h : hosts_of(host)) {
      if (host_reaches(l, h)) return true;
    }
  }
  return false;
}

std::string own_listener_reached(const Config& config, const std::string& address) {
  if (address_reaches_listener(config.proxy.listen, address)) return "proxy.listen";
  if (!config.admin.listen.empty() && address_reaches_listener(config.admin.listen, address)) {
    return "admin.listen";
  }
  if (config.membership.mode != MembershipMode::kRaft) return "";
  if (!config.membership.listen.empty() &&
      address_reaches_listener(config.membership.listen, address)) {
    return "membership.listen";
  }
  for (const PeerConfig& peer : config.membership.peers) {
    if (peer.id != config.membership.node_id && address_reaches_listener(peer.address, address)) {
      return "peer " + peer.id + "'s membership listener";
    }
  }
  return "";
}

const ring::Backend* backend_at_own_listener(const Config& config,
                                             const std::vector<ring::Backend>& backends,
                                             std::string* which) {
  for (const ring::Backend& b : backends) {
    if (std::string reached = own_listener_reached(config, b.address); !reached.empty()) {
      *which = std::move(reached);
      return &b;
    }
  }
  return nullptr;
}

void validate_config(const Config& config, Diagnostics* diagnostics) {
  validate_protocol(config, diagnostics);
  validate_backend(config, diagnostics);
  validate_ring(config, diagnostics);
  validate_membership(config, diagnostics);
  validate_listeners(config, diagnostics);
  validate_admin(config, diagnostics);
}

}  // namespace ringleader::config
