// Syntax of addresses and identifiers in config files: host:port, unix:/path, peers, backend
// names, node ids.
#include <arpa/inet.h>
#include <sys/un.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>

#include "config/config.h"

namespace ringleader::config {

namespace {

constexpr size_t kMaxBackendNameLength = 128;
constexpr size_t kMaxNodeIdLength = 64;
constexpr size_t kMaxHostnameLength = 253;
constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxPortDigits = 5;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Whether every character of `text` is alphanumeric or one of `extra`.
bool all_chars_in(std::string_view text, std::string_view extra) {
  return std::all_of(text.begin(), text.end(), [extra](char c) {
    return is_alnum(c) || extra.find(c) != std::string_view::npos;
  });
}

// "1".."65535", digits only; nullopt otherwise.
std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > kMaxPortDigits) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

// The text between IPv6 brackets: an address inet_pton accepts, optionally followed by
// "%zone" (an interface name).
bool is_ipv6_literal(std::string_view text) {
  std::string_view address = text;
  const size_t percent = text.find('%');
  if (percent != std::string_view::npos) {
    const std::string_view zone = text.substr(percent + 1);
    if (zone.empty() || !all_chars_in(zone, "._-")) return false;
    address = text.substr(0, percent);
  }
  in6_addr parsed{};
  return inet_pton(AF_INET6, std::string(address).c_str(), &parsed) == 1;
}

// A dotted-quad IPv4 address, or a host name: dot-separated labels of [A-Za-z0-9_-].
// Text made only of digits and dots must be a valid IPv4 address. Other IPv4 spellings that
// the resolver reads as numbers (127.1, 0x7f000001, 0177.0.0.1) are refused: one server
// would have several names, and the check that no server is listed twice compares them.
bool is_ipv4_or_hostname(std::string_view text) {
  if (text.empty() || text.size() > kMaxHostnameLength) return false;
  const std::string terminated(text);
  in_addr parsed{};
  const bool dotted_quad = inet_pton(AF_INET, terminated.c_str(), &parsed) == 1;
  if (dotted_quad) return true;
  if (inet_aton(terminated.c_str(), &parsed) != 0) return false;
  if (std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || c == '.'; })) {
    return false;
  }
  size_t start = 0;
  while (true) {
    const size_t dot = text.find('.', start);
    const std::string_view label =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabelLength || !all_chars_in(label, "_-")) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

std::string canonical_host(std::string_view host) {
  // A scoped IPv6 address names an interface, whose name is case-sensitive: left as written.
  if (host.find('%') != std::string_view::npos) return std::string(host);
  std::string lower(host);
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "localhost") return "127.0.0.1";
  in6_addr v6{};
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET6, lower.c_str(), &v6) == 1) {
    // An IPv4-mapped address (::ffff:a.b.c.d) reaches the IPv4 host itself.
    if (IN6_IS_ADDR_V4MAPPED(&v6) && inet_ntop(AF_INET, &v6.s6_addr[12], text, sizeof text)) {
      return text;
    }
    if (inet_ntop(AF_INET6, &v6, text, sizeof text) != nullptr) return text;
  }
  return lower;
}

std::string canonical_address(std::string_view host_port) {
  if (std::string path; parse_unix_address(host_port, &path)) {
    return std::string(kUnixAddressPrefix) +
           std::filesystem::path(path).lexically_normal().string();
  }
  std::string host;
  uint16_t port = 0;
  if (!parse_host_port(host_port, &host, &port)) return std::string(host_port);
  host = canonical_host(host);
  // Connecting to a wildcard address reaches loopback (Linux): 0.0.0.0 is 127.0.0.1, and ::
  // is ::1, as servers to connect to.
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

bool parse_host_port(std::string_view text, std::string* host, uint16_t* port) {
  std::string_view host_part;
  std::string_view port_part;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    host_part = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.starts_with(':') || !is_ipv6_literal(host_part)) return false;
    port_part = rest.substr(1);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host_part = text.substr(0, colon);
    port_part = text.substr(colon + 1);
    // A bare IPv6 address is ambiguous ("::1:80"); it must be written in brackets.
    if (host_part.find(':') != std::string_view::npos) return false;
    if (!is_ipv4_or_hostname(host_part)) return false;
  }
  const std::optional<uint16_t> parsed_port = parse_port(port_part);
  if (!parsed_port) return false;
  if (host != nullptr) host->assign(host_part);
  if (port != nullptr) *port = *parsed_port;
  return true;
}

bool is_numeric_host(std::string_view host) {
  if (host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  in6_addr v6{};
  const std::string unscoped = text.substr(0, text.find('%'));
  return inet_pton(AF_INET, text.c_str(), &v4) == 1 ||
         inet_pton(AF_INET6, unscoped.c_str(), &v6) == 1;
}

bool is_unix_address(std::string_view text) {
  return text.starts_with(kUnixAddressPrefix);
}

bool parse_unix_address(std::string_view text, std::string* path) {
  if (!is_unix_address(text)) return false;
  const std::string_view p = text.substr(kUnixAddressPrefix.size());
  // sun_path holds the path and its terminating NUL.
  // A path ending in '/' names a directory, never a socket.
  if (!p.starts_with('/') || p.ends_with('/') || p.size() >= sizeof(sockaddr_un{}.sun_path) ||
      p.find('\0') != std::string_view::npos) {
    return false;
  }
  if (path != nullptr) path->assign(p);
  return true;
}

bool is_backend_address(std::string_view text) {
  return parse_host_port(text, nullptr, nullptr) || parse_unix_address(text, nullptr);
}

std::optional<PeerConfig> parse_peer(std::string_view text) {
  const size_t at = text.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view id = text.substr(0, at);
  const std::string_view address = text.substr(at + 1);
  if (!is_valid_node_id(id) || !parse_host_port(address, nullptr, nullptr)) return std::nullopt;
  return PeerConfig{std::string(id), std::string(address)};
}

bool is_valid_backend_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxBackendNameLength && all_chars_in(name, "._:-");
}

bool is_valid_node_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxNodeIdLength && all_chars_in(id, "._-");
}

}  // namespace ringleader::config
