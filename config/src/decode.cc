// decode_document: the schema of every table, as a sequence of typed reads.
#include "decode.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <limits>
#include <map>
#include <sstream>
#include <string>

#include "table_reader.h"

namespace ringleader::config {

namespace {

constexpr uint32_t kMaxWorkers = 256;
constexpr uint32_t kMinRequestBytes = 1024;
constexpr uint32_t kMinReplyBytes = 1024;
constexpr uint32_t kMaxBackendConnections = 64;
// TCP_KEEPIDLE above this is refused by Linux (MAX_TCP_KEEPIDLE).
constexpr uint32_t kMaxKeepaliveSeconds = 32767;
// Redis's `databases` is at most INT_MAX, so database indexes stop one below.
constexpr uint32_t kMaxRedisDatabase = 2147483646;
constexpr uint32_t kUint32Max = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();

constexpr Choice<Protocol> kProtocols[] = {
    {"redis", Protocol::kRedis},
    {"memcached", Protocol::kMemcached},
};
constexpr Choice<WriteAck> kWriteAcks[] = {
    {"one", WriteAck::kOne},
    {"quorum", WriteAck::kQuorum},
    {"all", WriteAck::kAll},
};
constexpr Choice<ReadPolicy> kReadPolicies[] = {
    {"primary", ReadPolicy::kPrimary},
    {"any", ReadPolicy::kAny},
    {"nearest", ReadPolicy::kNearest},
};
constexpr Choice<MembershipMode> kMembershipModes[] = {
    {"static", MembershipMode::kStatic},
    {"raft", MembershipMode::kRaft},
};
constexpr Choice<ring::Algorithm> kAlgorithms[] = {
#define RL_ALGO_CHOICE(e, name) {name, ring::Algorithm::e},
    RINGLEADER_RING_ALGORITHMS(RL_ALGO_CHOICE)
#undef RL_ALGO_CHOICE
};
constexpr Choice<ring::HashKind> kHashKinds[] = {
#define RL_HASH_CHOICE(e, name, bits) {name, ring::HashKind::e},
    RINGLEADER_HASH_FUNCTIONS(RL_HASH_CHOICE)
#undef RL_HASH_CHOICE
};
constexpr Choice<std::string_view> kLogLevels[] = {
    {"debug", "debug"},
    {"info", "info"},
    {"warn", "warn"},
    {"error", "error"},
};

constexpr StringRule kHostPort{
    [](std::string_view s) { return parse_host_port(s, nullptr, nullptr); },
    "host:port such as \"127.0.0.1:6379\" (IPv6 in brackets: \"[::1]:6379\")"};
constexpr StringRule kBackendAddress{
    is_backend_address,
    "host:port such as \"127.0.0.1:6379\" (IPv6 in brackets: \"[::1]:6379\"), or a Unix "
    "socket such as \"unix:/run/redis/redis.sock\" (an absolute path of at most 107 bytes)"};
// What `serve` can bind: an IP address or localhost (it resolves no other name to listen on).
bool is_bindable(std::string_view s) {
  std::string host;
  if (!parse_host_port(s, &host, nullptr)) return false;
  in_addr v4{};
  in6_addr v6{};
  host = canonical_host(host);
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}
constexpr StringRule kProxyListenAddress{
    [](std::string_view s) { return is_bindable(s) || parse_unix_address(s, nullptr); },
    "an IP address and port such as \"127.0.0.1:6379\" or \"0.0.0.0:6379\" (IPv6 in brackets: "
    "\"[::1]:6379\"; of host names only localhost), or a Unix socket such as "
    "\"unix:/run/ringleader.sock\" (an absolute path of at most 107 bytes)"};
// Permission bits as chmod takes them in octal: "660", "0660", at most 0777.
bool is_file_mode(std::string_view s) {
  if (s.empty() || s.size() > 4 || (s.size() == 4 && s[0] != '0')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '7'; });
}
constexpr StringRule kFileMode{is_file_mode,
                               "permission bits in octal, as a string such as \"0660\""};
constexpr StringRule kListenAddressOrEmpty{
    [](std::string_view s) { return s.empty() || is_bindable(s); },
    "an IP address and port such as \"127.0.0.1:9180\" (of host names only localhost), or \"\" "
    "to disable"};
constexpr StringRule kBackendName{is_valid_backend_name,
                                  "a name of 1 to 128 characters from A-Z a-z 0-9 . _ : -"};
constexpr StringRule kNodeId{is_valid_node_id,
                             "an id of 1 to 64 characters from A-Z a-z 0-9 . _ -"};
// As the membership holds zones (raft mode refuses others).
constexpr StringRule kZone{ring::is_valid_zone,
                           "a zone of at most 255 bytes without control characters"};
constexpr StringRule kHashTag{
    ring::is_valid_hash_tag,
    "two printable ASCII characters such as \"{}\" or \"$$\", or \"\" to disable hash tags"};
constexpr StringRule kNonEmpty{[](std::string_view s) { return !s.empty(); }, "a non-empty string"};

std::string index_path(std::string_view array_path, size_t index) {
  return std::string(array_path) + "[" + std::to_string(index) + "]";
}

void decode_proxy(TableReader& in, ProxyConfig* out) {
  in.read_string("listen", &out->listen, &kProxyListenAddress);
  std::string mode;
  if (in.read_string("unix_socket_mode", &mode, &kFileMode)) {
    out->unix_socket_mode = static_cast<uint32_t>(std::stoul(mode, nullptr, 8));
  }
  in.read_choice("protocol", kProtocols, &out->protocol);
  in.read_unsigned<uint32_t>("workers", 0, kMaxWorkers, &out->workers);
  in.read_unsigned<uint32_t>("max_clients", 1, kUint32Max, &out->max_clients);
  in.read_unsigned<uint32_t>("client_idle_timeout_ms", 0, kUint32Max, &out->client_idle_timeout_ms);
  in.read_unsigned<uint32_t>("tcp_keepalive_s", 0, kMaxKeepaliveSeconds, &out->tcp_keepalive_s);
  in.read_unsigned<uint64_t>("max_request_bytes", kMinRequestBytes, kUint64Max,
                             &out->max_request_bytes);
  in.read_unsigned<uint64_t>("max_client_output_bytes", 0, kUint64Max,
                             &out->max_client_output_bytes);
  in.read_string("requirepass", &out->requirepass);
  in.read_bool("io_uring", &out->io_uring);
  in.read_string("zone", &out->zone, &kZone);
}

void decode_backend_pool(TableReader& in, BackendPoolConfig* out) {
  in.read_unsigned<uint32_t>("connections", 1, kMaxBackendConnections, &out->connections);
  in.read_unsigned<uint32_t>("connect_timeout_ms", 1, kUint32Max, &out->connect_timeout_ms);
  in.read_unsigned<uint32_t>("timeout_ms", 1, kUint32Max, &out->timeout_ms);
  in.read_unsigned<uint32_t>("failure_limit", 0, kUint32Max, &out->failure_limit);
  in.read_unsigned<uint32_t>("retry_timeout_ms", 1, kUint32Max, &out->retry_timeout_ms);
  in.read_bool("preconnect", &out->preconnect);
  in.read_unsigned<uint32_t>("tcp_keepalive_s", 0, kMaxKeepaliveSeconds, &out->tcp_keepalive_s);
  in.read_string("username", &out->username);
  in.read_string("password", &out->password);
  in.read_unsigned<uint32_t>("db", 0, kMaxRedisDatabase, &out->db);
  in.read_unsigned<uint64_t>("max_reply_bytes", kMinReplyBytes, kUint64Max, &out->max_reply_bytes);
}

void decode_ring(TableReader& in, ring::RingParams* out) {
  in.read_choice("algorithm", kAlgorithms, &out->algorithm);
  in.read_choice("hash", kHashKinds, &out->hash);
  in.read_unsigned<uint32_t>("vnodes", 1, ring::kMaxVnodes, &out->vnodes);
  in.read_unsigned<uint32_t>("replicas", 1, ring::kMaxReplicas, &out->replicas);
  in.read_string("hash_tag", &out->hash_tag, &kHashTag);

  double factor = 0;
  if (in.read_number("balance_factor", &factor)) {
    if (!ring::is_valid_balance_factor(factor)) {
      std::ostringstream message;
      message << "expected 0 (off) or a number in [1.0, " << ring::kMaxBalanceFactor << "], got "
              << factor;
      in.error("balance_factor", message.str());
    } else {
      out->balance_factor = factor;
    }
  }

  uint32_t table_size = 0;
  if (in.read_unsigned<uint32_t>("maglev_table_size", 0, ring::kMaxMaglevTableSize, &table_size)) {
    if (std::string why = ring::maglev_table_size_problem(table_size); !why.empty()) {
      in.error("maglev_table_size", std::move(why));
    } else {
      out->maglev_table_size = table_size;
    }
  }
}

void decode_replication(TableReader& in, ReplicationConfig* out) {
  in.read_choice("write", kWriteAcks, &out->write);
  in.read_choice("read", kReadPolicies, &out->read);
  in.read_bool("miss_failover", &out->miss_failover);
}

// Records the first path at which `value` was seen in `first_use`; reports a duplicate when it
// was already there.
void check_unique(TableReader& in, std::string_view key, std::string_view what,
                  const std::string& value, const std::string& path,
                  std::map<std::string, std::string>* first_use) {
  const auto [it, inserted] = first_use->emplace(value, path);
  if (!inserted) {
    in.error(key, "duplicate " + std::string(what) + " " + quote(value) + "; already used by " +
                      it->second);
  }
}

void decode_backends(const toml::array& entries, std::vector<ring::Backend>* out,
                     Diagnostics* diagnostics) {
  // Named by the ring module, so config files and the admin API spell states alike.
  const Choice<ring::BackendState> state_choices[] = {
      {ring::to_string(ring::BackendState::kActive), ring::BackendState::kActive},
      {ring::to_string(ring::BackendState::kDraining), ring::BackendState::kDraining},
      {ring::to_string(ring::BackendState::kDown), ring::BackendState::kDown},
  };

  std::map<std::string, std::string> names;
  std::map<std::string, std::string> addresses;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string path = index_path("backends", i);
    const toml::node& node = *entries.get(i);
    diagnostics->record_position(path, position_of(node));
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      diagnostics->error(position_of(node), path,
                         "expected a table, got " + std::string(describe_type(node.type())));
      continue;
    }
    TableReader in(*table, path, diagnostics);
    ring::Backend backend;
    if (in.require("name") && in.read_string("name", &backend.name, &kBackendName)) {
      check_unique(in, "name", "backend name", backend.name, path + ".name", &names);
    }
    if (in.require("address") && in.read_string("address", &backend.address, &kBackendAddress)) {
      // localhost and 127.0.0.1 are the same backend twice.
      check_unique(in, "address", "backend address", canonical_address(backend.address),
                   path + ".address", &addresses);
    }
    in.read_unsigned<uint32_t>("weight", 1, ring::kMaxWeight, &backend.weight);
    in.read_string("zone", &backend.zone, &kZone);
    in.read_choice("state", state_choices, &backend.state);
    in.report_unknown_keys();
    out->push_back(std::move(backend));
  }
}

void decode_peers(const toml::array& entries, std::vector<PeerConfig>* out,
                  Diagnostics* diagnostics) {
  std::map<std::string, std::string> ids;
  std::map<std::string, std::string> addresses;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string path = index_path("membership.peers", i);
    const toml::node& node = *entries.get(i);
    const SourcePos pos = position_of(node);
    diagnostics->record_position(path, pos);
    const toml::value<std::string>* text = node.as_string();
    if (text == nullptr) {
      diagnostics->error(
          pos, path,
          "expected a string \"id@host:port\", got " + std::string(describe_type(node.type())));
      continue;
    }
    std::optional<PeerConfig> peer = parse_peer(text->get());
    if (!peer) {
      diagnostics->error(pos, path,
                         "expected \"id@host:port\" with an id of 1 to 64 characters from "
                         "A-Z a-z 0-9 . _ -, got " +
                             quote(text->get()));
      continue;
    }
    const auto [id_it, new_id] = ids.emplace(peer->id, path);
    if (!new_id) {
      diagnostics->error(
          pos, path, "duplicate peer id " + quote(peer->id) + "; already used by " + id_it->second);
      continue;
    }
    const auto [address_it, new_address] =
        addresses.emplace(canonical_address(peer->address), path);
    if (!new_address) {
      diagnostics->error(pos, path,
                         "duplicate peer address " + quote(peer->address) + "; already used by " +
                             address_it->second);
      continue;
    }
    out->push_back(std::move(*peer));
  }
}

void decode_membership(TableReader& in, MembershipConfig* out, Diagnostics* diagnostics) {
  in.read_choice("mode", kMembershipModes, &out->mode);
  in.read_string("node_id", &out->node_id, &kNodeId);
  in.read_string("listen", &out->listen, &kHostPort);
  if (const toml::array* peers = in.array("peers", "an array of strings \"id@host:port\"")) {
    decode_peers(*peers, &out->peers, diagnostics);
  }
  in.read_string("data_dir", &out->data_dir, &kNonEmpty);
  in.read_unsigned<uint32_t>("election_timeout_ms", 1, kUint32Max, &out->election_timeout_ms);
  in.read_unsigned<uint32_t>("heartbeat_ms", 1, kUint32Max, &out->heartbeat_ms);
  in.read_string("secret", &out->secret);
  in.read_bool("join", &out->join);
}

// Whether an Authorization header can carry `token`: HTTP drops white space around a header
// value and allows no control characters in it, so such a token could never match. The error
// does not quote the token.
bool fits_a_header(std::string_view token) {
  if (!token.empty() && (token.front() == ' ' || token.front() == '\t' || token.back() == ' ' ||
                         token.back() == '\t')) {
    return false;
  }
  return std::none_of(token.begin(), token.end(), [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
  });
}

void decode_admin(TableReader& in, AdminConfig* out) {
  in.read_string("listen", &out->listen, &kListenAddressOrEmpty);
  if (in.read_string("token", &out->token) && !fits_a_header(out->token)) {
    in.error("token",
             "begins or ends with white space or holds a control character: no Authorization "
             "header can carry it, so every admin request would be refused");
  }
}

void decode_log(TableReader& in, LogConfig* out) {
  std::string_view level;
  if (in.read_choice("level", kLogLevels, &level)) out->level = level;
}

// Reads the table at `key` of the root with `decode`, then flags its unknown keys.
template <typename Section, typename Decode>
void decode_section(TableReader& root, std::string_view key, Section* out, Diagnostics* diagnostics,
                    Decode decode) {
  const toml::table* table = root.table(key);
  if (table == nullptr) return;
  TableReader in(*table, std::string(key), diagnostics);
  decode(in, out);
  in.report_unknown_keys();
}

}  // namespace

void decode_document(const toml::table& document, Config* config, Diagnostics* diagnostics) {
  TableReader root(document, "", diagnostics);
  decode_section(root, "proxy", &config->proxy, diagnostics, decode_proxy);
  decode_section(root, "backend", &config->backend, diagnostics, decode_backend_pool);
  decode_section(root, "ring", &config->ring, diagnostics, decode_ring);
  decode_section(root, "replication", &config->replication, diagnostics, decode_replication);
  if (const toml::array* backends = root.array("backends", "an array of tables ([[backends]])")) {
    decode_backends(*backends, &config->backends, diagnostics);
  }
  decode_section(root, "membership", &config->membership, diagnostics,
                 [diagnostics](TableReader& in, MembershipConfig* out) {
                   decode_membership(in, out, diagnostics);
                 });
  decode_section(root, "admin", &config->admin, diagnostics, decode_admin);
  decode_section(root, "log", &config->log, diagnostics, decode_log);
  root.report_unknown_keys();
}

}  // namespace ringleader::config
