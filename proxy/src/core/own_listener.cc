#include "own_listener.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/socket_address.h"

namespace ringleader::proxy {
namespace {

// The instance's own listeners that bind a wildcard host, with the port they hold:
// (name as own_listener_reached gives it, canonical host "0.0.0.0" or "::", port).
struct WildcardListener {
  const char* name;
  std::string host;
  uint16_t port;
};

std::vector<WildcardListener> wildcard_listeners(const config::Config& config) {
  std::vector<std::pair<const char*, const std::string*>> own = {
      {"proxy.listen", &config.proxy.listen}, {"admin.listen", &config.admin.listen}};
  if (config.membership.mode == config::MembershipMode::kRaft) {
    own.emplace_back("membership.listen", &config.membership.listen);
  }
  std::vector<WildcardListener> out;
  for (const auto& [name, listen] : own) {
    std::string host;
    uint16_t port = 0;
    if (listen->empty() || !config::parse_host_port(*listen, &host, &port)) continue;
    host = config::canonical_host(host);
    if (host == "0.0.0.0" || host == "::") out.push_back({name, host, port});
  }
  return out;
}

}  // namespace

std::string own_listener_connected(const config::Config& config, const sockaddr_storage& peer,
                                   const std::vector<std::string>& local_hosts) {
  if (peer.ss_family != AF_INET && peer.ss_family != AF_INET6) return "";
  const std::string address = format_socket_address(peer);
  if (std::string reached = config::own_listener_reached(config, address); !reached.empty()) {
    return reached;
  }
  std::string host;
  uint16_t port = 0;
  if (!config::parse_host_port(address, &host, &port)) return "";
  host = config::canonical_host(host);  // an IPv4-mapped peer as its IPv4 address
  if (std::find(local_hosts.begin(), local_hosts.end(), host) == local_hosts.end()) return "";
  const bool v4 = host.find(':') == std::string::npos;
  for (const WildcardListener& l : wildcard_listeners(config)) {
    // An IPv4 wildcard takes IPv4 only; an IPv6 one (dual-stack) takes both.
    if (l.port == port && (l.host == "::" || v4)) return l.name;
  }
  return "";
}

std::string own_listener_connected(const config::Config& config, const sockaddr_storage& peer) {
  const uint16_t port = socket_address_port(peer);
  const std::vector<WildcardListener> wildcards = wildcard_listeners(config);
  const bool may_be_interface = std::any_of(wildcards.begin(), wildcards.end(),
                                            [port](const auto& l) { return l.port == port; });
  return own_listener_connected(
      config, peer, may_be_interface ? local_interface_hosts() : std::vector<std::string>{});
}

std::vector<std::string> local_interface_hosts() {
  std::vector<std::string> hosts;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return hosts;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    const int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    sockaddr_storage address{};
    std::memcpy(&address, i->ifa_addr,
                family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    // Any port: only the host is kept, and parse_host_port takes 1..65535.
    if (family == AF_INET) reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(1);
    if (family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = htons(1);
    std::string host;
    if (config::parse_host_port(format_socket_address(address), &host, nullptr)) {
      hosts.push_back(config::canonical_host(host));
    }
  }
  ::freeifaddrs(list);
  return hosts;
}

}  // namespace ringleader::proxy
