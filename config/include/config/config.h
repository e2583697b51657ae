// ringleader's configuration: the TOML file loaded into plain structs and validated once.
// Every default below is the value used when the key is absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ring/backend.h"
#include "ring/params.h"

namespace ringleader::config {

enum class Protocol : uint8_t { kRedis, kMemcached };
enum class WriteAck : uint8_t { kOne, kQuorum, kAll };
enum class ReadPolicy : uint8_t { kPrimary, kAny, kNearest };
enum class MembershipMode : uint8_t { kStatic, kRaft };

struct ProxyConfig {
  std::string listen = "127.0.0.1:6380";  // host:port, or unix:/path (a Unix-domain socket)
  // Permissions of a unix: listen socket, set when it is created (chmod, so the umask does not
  // apply). No effect on a TCP listener.
  uint32_t unix_socket_mode = 0660;
  Protocol protocol = Protocol::kRedis;
  uint32_t workers = 0;  // 0 = one per core
  uint32_t max_clients = 10000;
  uint32_t client_idle_timeout_ms = 0;  // 0 = never
  // TCP keepalive on client connections (as Redis's tcp-keepalive): probes after this many
  // seconds of silence, so a client whose host vanished without closing is dropped within
  // about twice that. 0 = off; at most 32767 (the kernel's limit).
  uint32_t tcp_keepalive_s = 300;
  uint64_t max_request_bytes = 64ull << 20;
  // A client with more than this many bytes of replies still unwritten when another reply is
  // ready, counting replies held behind an earlier unanswered request, is disconnected (it
  // sends faster than it reads). 0 = no limit.
  uint64_t max_client_output_bytes = 256ull << 20;
  std::string requirepass;  // empty = no AUTH required
  bool io_uring = true;     // batch each loop iteration's socket writes where the kernel allows
  std::string zone;         // this instance's zone: replication.read = "nearest" prefers it

  bool operator==(const ProxyConfig&) const = default;
};

struct BackendPoolConfig {
  uint32_t connections = 1;  // per backend per worker
  uint32_t connect_timeout_ms = 1000;
  uint32_t timeout_ms = 1000;  // since the request was sent, and the backend's last bytes
  uint32_t failure_limit = 3;  // consecutive failures before ejection; 0 = never eject
  uint32_t retry_timeout_ms = 5000;
  // Open every connection to a backend when it enters the ring (at start, or added later)
  // rather than at its first request, as twemproxy's preconnect: the first requests find them
  // open, and a backend that is down at start shows in the log, the metrics and its failure
  // count before any request needs it. Later reconnects stay on demand.
  bool preconnect = false;
  // TCP keepalive on backend connections: probes after this many seconds of silence, which
  // also keeps idle connections alive through firewalls and NAT that forget quiet flows.
  // 0 = off; at most 32767.
  uint32_t tcp_keepalive_s = 300;
  // Redis only: every connection authenticates with AUTH [username] password, then selects
  // database `db` (twemproxy's redis_auth and redis_db). Clients keep seeing database 0: what
  // they call db 0 is database `db` of every backend. `username` (a Redis 6 ACL user) needs a
  // password.
  std::string username;
  std::string password;
  uint32_t db = 0;
  // A reply larger than this is dropped as it streams in and its request gets an error, so
  // one huge answer (KEYS *, HGETALL of a giant hash) cannot exhaust the proxy's memory.
  // The default holds any value Redis accepts (proto-max-bulk-len, 512 MB).
  uint64_t max_reply_bytes = 512ull << 20;

  bool operator==(const BackendPoolConfig&) const = default;
};

// How requests use a key's replica set (ring.replicas backends). Writes go to every replica
// and succeed after one, a majority, or all acknowledged; reads go to one replica (the
// primary, any one in turn, or one in proxy.zone first) and fail over to the others.
struct ReplicationConfig {
  WriteAck write = WriteAck::kOne;
  ReadPolicy read = ReadPolicy::kPrimary;
  // A read whose whole reply is a miss (nil, memcached's bare END) asks the key's next
  // replica too: a replica that joined or restarted empty does not hide the others' copies.
  bool miss_failover = false;

  bool operator==(const ReplicationConfig&) const = default;
};

struct PeerConfig {
  std::string id;       // e.g. "p1"
  std::string address;  // host:port of its membership listener
  bool operator==(const PeerConfig&) const = default;
};

struct MembershipConfig {
  MembershipMode mode = MembershipMode::kStatic;
  std::string node_id;
  std::string listen;
  std::vector<PeerConfig> peers;  // "id@host:port"
  std::string data_dir;
  uint32_t election_timeout_ms = 1000;
  uint32_t heartbeat_ms = 100;
  std::string secret;
  // false: a founding member; with an empty data_dir it bootstraps the group from `peers`.
  // true: a new member; it waits to be added (POST /cluster/peers on a member) and then
  // receives the state from the leader.
  bool join = false;

  bool operator==(const MembershipConfig&) const = default;
};

struct AdminConfig {
  std::string listen = "127.0.0.1:9180";  // empty = no admin port
  std::string token;

  bool operator==(const AdminConfig&) const = default;
};

struct LogConfig {
  std::string level = "info";  // debug | info | warn | error

  bool operator==(const LogConfig&) const = default;
};

struct Config {
  std::string source;  // the file it was read from
  ProxyConfig proxy;
  BackendPoolConfig backend;
  ring::RingParams ring;
  ReplicationConfig replication;
  std::vector<ring::Backend> backends;  // [[backends]], in file order
  MembershipConfig membership;
  AdminConfig admin;
  LogConfig log;
};

// One problem found in a config file. to_string() gives "FILE:LINE:COLUMN: KEY: MESSAGE".
struct ConfigError {
  std::string file;
  uint32_t line = 0;  // 1-based; 0 when the problem has no single place (e.g. a missing key)
  uint32_t column = 0;
  std::string key;  // dotted path, e.g. "backends[2].weight"
  std::string message;
  std::string to_string() const;
};

// Loads and validates; on failure returns every error found, not only the first, ordered by
// position in the file (errors without a position last). `config` is meaningful only when ok().
struct LoadResult {
  Config config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
};

// Neither function throws: unreadable files, TOML syntax errors and invalid values all come back
// as errors. Config::source is set to the file name.
LoadResult load_file(const std::string& path);
// `source_name` stands for the file name in errors.
LoadResult load_string(std::string_view toml_text, const std::string& source_name);

// Warnings about a valid configuration whose settings do not all take effect, one sentence
// each; empty when everything configured is in force. Shown by `ringleader check` and logged
// by `ringleader serve` at startup.
std::vector<std::string> notices(const Config& config);

// Parses "host:port" (IPv4, name, or [IPv6]); false when malformed or port is not 1..65535.
// On success stores the host without IPv6 brackets ("::1") and the port; either output may be
// null when only validation is wanted. On failure the outputs are untouched.
bool parse_host_port(std::string_view text, std::string* host, uint16_t* port);

// Whether `host` (as parse_host_port stores it) is a numeric IPv4 or IPv6 address (an IPv6
// one may name a link: "fe80::1%eth0") or "localhost": what Raft peers accept. Instances reach
// each other by number, never through a resolver, so that a peer's address cannot change
// under the group.
bool is_numeric_host(std::string_view host);

// Unix-domain socket addresses, accepted by proxy.listen and backend addresses:
// "unix:/absolute/path", the path at most 107 bytes (what a socket address holds).
inline constexpr std::string_view kUnixAddressPrefix = "unix:";
// Whether `text` asks for a Unix-domain socket (starts with "unix:"), valid or not.
bool is_unix_address(std::string_view text);
// Parses "unix:/path"; false when the prefix is missing, the path is not absolute, ends in
// '/' (a directory), is longer than 107 bytes or holds a NUL. On success stores the path (may be
// null).
bool parse_unix_address(std::string_view text, std::string* path);
// A backend address: host:port or unix:/path.
bool is_backend_address(std::string_view text);

// The host as `serve` binds and compares it: "localhost" is "127.0.0.1", names are lower case
// (DNS ignores case), an IPv6 literal takes its shortest form ("0:0::1" is "::1"), and an
// IPv4-mapped one its IPv4 address ("::ffff:127.0.0.1" is "127.0.0.1").
std::string canonical_host(std::string_view host);
// A server's host:port with canonical_host applied and a wildcard host as the loopback a
// connection to it reaches (0.0.0.0 is 127.0.0.1, :: is ::1), or a unix:/path with the path
// lexically normal ("//" and "/./" collapsed, "dir/.." removed), so two spellings of one
// server compare equal;
// the text unchanged when it does not parse. Symbolic links are not followed: the result must
// not depend on the file system of the instance that computes it.
std::string canonical_address(std::string_view host_port);
// Whether binding both addresses would collide (or, for a backend, whether connecting to `b`
// reaches the listener `a`): same port, and the same host or a wildcard (localhost is
// 127.0.0.1, as `serve` binds it); for Unix sockets, the same canonical_address.
bool listeners_collide(const std::string& a, const std::string& b);
// Whether connecting to `address` reaches the listener `listen`: the same port, and the same
// host (as canonical_host spells it; localhost as 127.0.0.1 or ::1), or hosts that Linux
// routes there whatever the machine's network (0.0.0.0 connects to 127.0.0.1 and :: to ::1;
// an IPv4 wildcard listener takes IPv4 loopback, an IPv6 one any loopback); for Unix sockets,
// the same canonical_address. Unlike listeners_collide (for binding), 10.0.0.5:6379 does not
// reach 0.0.0.0:6379: it is normally another host.
bool address_reaches_listener(const std::string& listen, const std::string& address);
// Which of the instance's own listeners `address` reaches (address_reaches_listener):
// "proxy.listen" (a backend there loops requests through the proxy), "admin.listen" or
// "membership.listen", or, in raft mode, another peer's membership listener ("peer p2's membership
// listener"). None of them answers a backend's protocol. "" when it reaches none.
std::string own_listener_reached(const Config& config, const std::string& address);
// own_listener_reached's answer as the owner of an address: "this instance's own
// admin.listen", "peer p2's membership listener".
inline std::string own_listener_owner(const std::string& reached) {
  return reached.starts_with("peer ") ? reached : "this instance's own " + reached;
}
// The first of `backends` at one of the instance's own listeners (own_listener_reached, into
// *which). Null when none is.
const ring::Backend* backend_at_own_listener(const Config& config,
                                             const std::vector<ring::Backend>& backends,
                                             std::string* which);
// When fewer of `backends` than `replicas` are not down (but some are), the sentence that
// says keys are short of copies; "" otherwise. One wording for a config file's notices and
// for the rings the membership applies.
std::string short_of_replicas(uint32_t replicas, const std::vector<ring::Backend>& backends);

// Parses a membership peer "id@host:port"; nullopt when the id is not a valid node id or the
// address is not a valid host:port.
std::optional<PeerConfig> parse_peer(std::string_view text);

// Backend names: 1 to 128 characters from [A-Za-z0-9._:-] (so "127.0.0.1:7001" is a valid name).
bool is_valid_backend_name(std::string_view name);

// Membership node ids: 1 to 64 characters from [A-Za-z0-9._-].
bool is_valid_node_id(std::string_view id);

}  // namespace ringleader::config
