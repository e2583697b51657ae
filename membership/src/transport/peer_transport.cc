#include "membership/transport/peer_transport.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <deque>
#include <map>
#include <vector>

#include "common/assert.h"
#include "common/log.h"
#include "common/printable.h"
#include "common/socket_address.h"
#include "config/config.h"

namespace ringleader::membership::transport {

// An outbound destination. Owned by PeerTransport::peers_.
struct PeerTransport::Peer {
  PeerTransport* owner = nullptr;
  raft::NodeId id;
  std::string address;
  sockaddr_storage addr{};
  // Frames waiting for the connection, sealed when written (each with its connection's key and
  // place); bounded by max_queued_frames and (but for the newest frame) max_queued_bytes.
  // `queued_bytes` is the sum of their payloads' sizes.
  std::deque<QueuedFrame> queue;
  size_t queued_bytes = 0;
  // The outbound connection (connecting, waiting for its challenge, or connected), or null.
  Connection* conn = nullptr;
  bool connected = false;  // the challenge arrived: frames can be sealed and written
  // A uv_write is in flight on conn; the next flush waits for it.
  bool writing = false;
  // Reconnect timer; heap-allocated, freed in its close callback.
  uv_timer_t* timer = nullptr;
  uint32_t backoff_ms = 0;
  uint64_t connected_at_ms = 0;
};

// One TCP connection. Heap-allocated; freed in the close callback of `tcp`. `owner` is cleared
// when the transport closes, so late libuv callbacks (cancelled writes) never reach it.
struct PeerTransport::Connection {
  uv_tcp_t tcp{};
  PeerTransport* owner = nullptr;
  // Outbound: the peer it serves (null once detached). Inbound: null.
  Peer* peer = nullptr;
  bool inbound = false;
  bool closing = false;
  uint64_t opened_ms = 0;      // when it was accepted, or connected (uv_now)
  uint64_t serial = 0;         // inbound: accepted as the serial-th (TransportStats::accepted)
  uint64_t last_frame_ms = 0;  // inbound: when a frame last arrived (uv_now)
  // Inbound: the node named by its Hello, and the address its Hello gave to reach it at;
  // empty before the Hello.
  raft::NodeId remote;
  std::string remote_listen;
  // The session key its frames are sealed with (wire.h): inbound, from the challenge this
  // node wrote; outbound, from the one it read (empty until then).
  std::string key;
  // The place of the next frame on this connection: to expect (inbound) or to write.
  uint64_t sequence = 0;
  // Received bytes not parsed yet (outbound: of the challenge).
  std::string rbuf;
  char chunk[64 * 1024];
};

namespace {

constexpr size_t kMaxFramesPerWrite = 64;

// TCP keepalive's idle time on peer connections: an inbound connection never writes, so
// without it a peer gone without a FIN (a crash behind a partition) would never be noticed.
constexpr unsigned kKeepaliveIdleSeconds = 30;

struct WriteRequest {
  uv_write_t req{};
  PeerTransport::Connection* conn = nullptr;
  std::vector<std::string> frames;
  std::vector<uv_buf_t> bufs;
};

struct ConnectRequest {
  uv_connect_t req{};
  PeerTransport::Connection* conn = nullptr;
};

void free_connection(uv_handle_t* handle) {
  delete reinterpret_cast<PeerTransport::Connection*>(handle);
}
void free_timer(uv_handle_t* handle) {
  delete reinterpret_cast<uv_timer_t*>(handle);
}
void free_tcp(uv_handle_t* handle) {
  delete reinterpret_cast<uv_tcp_t*>(handle);
}

uint32_t read_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

// "host:port", "[v6]:port" or "localhost:port" -> socket address.
Result<sockaddr_storage> parse_address(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::error("address '" + address + "': expected host:port");
  }
  std::string host = address.substr(0, colon);
  std::string_view port_text = std::string_view(address).substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Status::error("address '" + address + "': port must be 0..65535");
  }
  sockaddr_storage out{};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (uv_ip6_addr(host.c_str(), static_cast<int>(port), reinterpret_cast<sockaddr_in6*>(&out)) ==
        0) {
      return out;
    }
  } else {
    if (host == "localhost") host = "127.0.0.1";
    if (uv_ip4_addr(host.c_str(), static_cast<int>(port), reinterpret_cast<sockaddr_in*>(&out)) ==
        0) {
      return out;
    }
  }
  return Status::error("address '" + address + "': host must be a numeric IP or localhost");
}

// 0.0.0.0 or [::]: an address to listen on, which names no host to connect to.
bool is_unspecified(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (a.ss_family == AF_INET6) {
    const in6_addr& v6 = reinterpret_cast<const sockaddr_in6&>(a).sin6_addr;
    return std::memcmp(&v6, &in6addr_any, sizeof(v6)) == 0;
  }
  return false;
}

bool names_a_host(const std::string& address) {
  Result<sockaddr_storage> a = parse_address(address);
  return a.is_ok() && !is_unspecified(*a);
}

}  // namespace

PeerTransport::PeerTransport(uv_loop_t* loop, TransportOptions options,
                             TransportCallbacks callbacks)
    : loop_(loop), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

Result<std::unique_ptr<PeerTransport>> PeerTransport::start(uv_loop_t* loop,
                                                            TransportOptions options,
                                                            TransportCallbacks callbacks) {
  if (options.node_id.empty() || options.node_id.size() > raft::kMaxNodeIdLength) {
    return Status::error("transport: node id must be 1..255 bytes");
  }
  if (options.max_queued_frames == 0) options.max_queued_frames = 1;
  if (options.reconnect_min_ms == 0) options.reconnect_min_ms = 1;
  if (options.reconnect_max_ms < options.reconnect_min_ms) {
    options.reconnect_max_ms = options.reconnect_min_ms;
  }
  Result<sockaddr_storage> bind_addr = parse_address(options.listen);
  if (!bind_addr) return Status::error("membership.listen: " + bind_addr.error());

  std::unique_ptr<PeerTransport> t(
      new PeerTransport(loop, std::move(options), std::move(callbacks)));
  auto* listener = new uv_tcp_t;
  uv_tcp_init(loop, listener);
  listener->data = t.get();
  t->listener_ = listener;
  int rc = uv_tcp_bind(listener, reinterpret_cast<const sockaddr*>(&*bind_addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener), 128,
                   [](uv_stream_t* server, int status) {
                     auto* self = static_cast<PeerTransport*>(server->data);
                     if (self != nullptr) self->on_accept(status);
                   });
  }
  if (rc != 0) {
    std::string err = "membership.listen " + t->options_.listen + ": " + uv_strerror(rc);
    t->close();
    return Status::error(err);
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &len);
  t->listen_address_ = format_socket_address(bound);
  // What peers are told to connect to: this node's own entry in the peer list when it has one
  // (the address others reach it by, behind NAT or a wildcard listener), else the bound
  // address when it names a host; else nothing, and peers keep what they were given.
  auto self = t->options_.peers.find(t->options_.node_id);
  if (self != t->options_.peers.end()) {
    t->advertised_address_ = self->second;
  } else if (!is_unspecified(bound)) {
    t->advertised_address_ = t->listen_address_;
  }
  t->set_founders(t->options_.founders);
  t->sweep_timer_ = new uv_timer_t;
  uv_timer_init(loop, t->sweep_timer_);
  t->sweep_timer_->data = t.get();
  const uint64_t sweep_every = std::max<uint64_t>(10, t->options_.hello_timeout_ms / 4);
  uv_timer_start(
      t->sweep_timer_,
      [](uv_timer_t* timer) { static_cast<PeerTransport*>(timer->data)->sweep_unidentified(); },
      sweep_every, sweep_every);
  for (const auto& [id, address] : t->options_.peers) {
    Status s = t->set_peer(id, address);
    if (!s) {
      std::string err = "membership peer " + id + ": " + s.message();
      t->close();
      return Status::error(err);
    }
  }
  return t;
}

void PeerTransport::set_founders(std::vector<raft::NodeId> founders) {
  founders_ = std::move(founders);
  hello_ = encode_frame(Frame{Hello{options_.node_id, advertised_address_, founders_}});
}

std::vector<raft::NodeId> PeerTransport::founders_of(const raft::NodeId& id) const {
  auto it = claimed_founders_.find(id);
  return it == claimed_founders_.end() ? std::vector<raft::NodeId>{} : it->second;
}

PeerTransport::~PeerTransport() {
  close();
}

void PeerTransport::close() {
  if (closed_) return;
  closed_ = true;
  if (listener_ != nullptr) {
    listener_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(listener_), free_tcp);
    listener_ = nullptr;
  }
  if (sweep_timer_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(sweep_timer_), free_timer);
    sweep_timer_ = nullptr;
  }
  for (auto& [id, peer] : peers_) {
    if (peer->timer != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(peer->timer), free_timer);
      peer->timer = nullptr;
    }
  }
  std::set<Connection*> open = std::move(connections_);
  connections_.clear();
  for (Connection* c : open) {
    c->owner = nullptr;
    c->peer = nullptr;
    c->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), free_connection);
  }
  peers_.clear();
}

Status PeerTransport::set_peer(const raft::NodeId& id, const std::string& address) {
  if (closed_ || id == options_.node_id) return Status::ok();
  if (id.empty() || id.size() > raft::kMaxNodeIdLength) {
    return Status::error("peer id must be 1..255 bytes");
  }
  Result<sockaddr_storage> addr = parse_address(address);
  if (!addr) return addr.status();
  auto it = peers_.find(id);
  if (it != peers_.end()) {
    Peer& peer = *it->second;
    if (peer.address == address) return Status::ok();
    peer.address = address;
    peer.addr = *addr;
    if (peer.conn != nullptr) close_connection(peer.conn, "peer address changed");
    peer.backoff_ms = 0;
    if (peer.timer != nullptr) uv_timer_stop(peer.timer);
    start_connect(peer);
    return Status::ok();
  }
  auto peer = std::make_unique<Peer>();
  peer->owner = this;
  peer->id = id;
  peer->address = address;
  peer->addr = *addr;
  peer->timer = new uv_timer_t;
  uv_timer_init(loop_, peer->timer);
  peer->timer->data = peer.get();
  Peer& ref = *peer;
  peers_.emplace(id, std::move(peer));
  start_connect(ref);
  return Status::ok();
}

void PeerTransport::remove_peer(const raft::NodeId& id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& peer = *it->second;
  if (peer.conn != nullptr) close_connection(peer.conn, "peer removed");
  if (peer.timer != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(peer.timer), free_timer);
    peer.timer = nullptr;
  }
  peers_.erase(it);
}

std::map<raft::NodeId, std::string> PeerTransport::peers() const {
  std::map<raft::NodeId, std::string> out;
  for (const auto& [id, peer] : peers_)
    out.emplace(id, peer->address);
  return out;
}

bool PeerTransport::connected(const raft::NodeId& id) const {
  auto it = peers_.find(id);
  return it != peers_.end() && it->second->connected;
}

void PeerTransport::set_blocked(std::set<raft::NodeId> peers) {
  blocked_in_ = peers;
  set_blocked_outgoing(std::move(peers));
}

void PeerTransport::set_blocked_outgoing(std::set<raft::NodeId> peers) {
  blocked_out_ = std::move(peers);
  // Frames queued for a blocked peer and not yet written (it was unreachable, say) are lost
  // as a partition would lose them: delivered after the block they would slip through it.
  for (const raft::NodeId& id : blocked_out_) {
    auto it = peers_.find(id);
    if (it == peers_.end()) continue;
    stats_.dropped_blocked += it->second->queue.size();
    it->second->queue.clear();
    it->second->queued_bytes = 0;
  }
}

// ---- sending ----------------------------------------------------------------------------------

void PeerTransport::send(const raft::Message& message) {
  if (closed_) return;
  if (blocked_out(message.to)) {
    ++stats_.dropped_blocked;
    return;
  }
  if (peers_.find(message.to) == peers_.end()) {
    ++stats_.dropped_unknown_peer;
    return;
  }
  queue_frame(message.to, encode_frame(Frame{message}), 0);
}

void PeerTransport::send_frame(const raft::NodeId& to, const Frame& frame, uint64_t send_by_ms) {
  if (closed_) return;
  if (blocked_out(to)) {
    ++stats_.dropped_blocked;
    return;
  }
  if (peers_.find(to) == peers_.end()) {
    ++stats_.dropped_unknown_peer;
    return;
  }
  queue_frame(to, encode_frame(frame), send_by_ms);
}

void PeerTransport::queue_frame(const raft::NodeId& to, std::string payload, uint64_t send_by_ms) {
  Peer& peer = *peers_.at(to);
  peer.queued_bytes += payload.size();
  peer.queue.push_back(QueuedFrame{std::move(payload), send_by_ms});
  // The oldest frames go first (Raft retransmits what matters): a stalled peer cannot pin
  // more than max_queued_bytes of snapshots and entries.
  while (peer.queue.size() > options_.max_queued_frames ||
         (peer.queued_bytes > options_.max_queued_bytes && peer.queue.size() > 1)) {
    peer.queued_bytes -= peer.queue.front().payload.size();
    peer.queue.pop_front();
    ++stats_.dropped_queue_full;
  }
  flush(peer);
}

void PeerTransport::flush(Peer& peer) {
  if (!peer.connected || peer.writing || peer.queue.empty() || peer.conn == nullptr) return;
  auto* w = new WriteRequest;
  w->conn = peer.conn;
  const uint64_t now = uv_now(loop_);
  while (!peer.queue.empty() && w->frames.size() < kMaxFramesPerWrite) {
    QueuedFrame& f = peer.queue.front();
    peer.queued_bytes -= f.payload.size();
    if (f.send_by_ms != 0 && f.send_by_ms < now) {
      ++stats_.dropped_expired;
    } else {
      w->frames.push_back(seal_frame(peer.conn->key, peer.conn->sequence++, f.payload));
    }
    peer.queue.pop_front();
  }
  if (w->frames.empty()) {
    delete w;
    return;
  }
  for (std::string& f : w->frames) {
    w->bufs.push_back(uv_buf_init(f.data(), static_cast<unsigned>(f.size())));
  }
  w->req.data = w;
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&peer.conn->tcp), w->bufs.data(),
                    static_cast<unsigned>(w->bufs.size()), [](uv_write_t* req, int status) {
                      auto* wr = static_cast<WriteRequest*>(req->data);
                      PeerTransport::Connection* conn = wr->conn;
                      size_t frames = wr->frames.size();
                      delete wr;
                      if (conn->owner == nullptr || conn->closing) return;
                      if (status == 0) conn->owner->stats_.frames_sent += frames;
                      conn->owner->on_write_done(conn, status);
                    });
  if (rc != 0) {
    delete w;
    close_connection(peer.conn, "write failed");
    return;
  }
  peer.writing = true;
}

void PeerTransport::on_write_done(Connection* conn, int status) {
  Peer* peer = conn->peer;
  if (peer == nullptr) return;
  peer->writing = false;
  if (status != 0) {
    close_connection(conn, "write failed");
    return;
  }
  flush(*peer);
}

// ---- connecting -------------------------------------------------------------------------------

void PeerTransport::start_connect(Peer& peer) {
  if (closed_ || peer.conn != nullptr) return;
  auto* conn = new Connection;
  conn->owner = this;
  conn->peer = &peer;
  uv_tcp_init(loop_, &conn->tcp);
  uv_tcp_nodelay(&conn->tcp, 1);
  conn->tcp.data = conn;
  connections_.insert(conn);
  peer.conn = conn;
  peer.connected = false;
  peer.writing = false;
  auto* req = new ConnectRequest;
  req->conn = conn;
  req->req.data = req;
  int rc = uv_tcp_connect(&req->req, &conn->tcp, reinterpret_cast<const sockaddr*>(&peer.addr),
                          [](uv_connect_t* r, int status) {
                            auto* cr = static_cast<ConnectRequest*>(r->data);
                            PeerTransport::Connection* c = cr->conn;
                            delete cr;
                            if (c->owner == nullptr || c->closing) return;
                            c->owner->on_connected(c, status);
                          });
  if (rc != 0) {
    delete req;
    ++stats_.connect_failures;
    close_connection(conn, "connect failed");
  }
}

void PeerTransport::on_connected(Connection* conn, int status) {
  Peer* peer = conn->peer;
  if (peer == nullptr) return;
  if (status != 0) {
    ++stats_.connect_failures;
    close_connection(conn, "connect failed");
    return;
  }
  // Once the socket exists: libuv applies its own idle time when asked before.
  uv_tcp_keepalive(&conn->tcp, 1, kKeepaliveIdleSeconds);
  conn->opened_ms = uv_now(loop_);
  // Read the peer's challenge, then only to notice when the peer goes away: a peer writes
  // nothing else on this connection.
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&conn->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* c = static_cast<PeerTransport::Connection*>(h->data);
        *buf = uv_buf_init(c->chunk, sizeof(c->chunk));
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<PeerTransport::Connection*>(s->data);
        if (c->owner == nullptr || c->closing) return;
        if (nread < 0) {
          c->owner->close_connection(c, "peer closed");
        } else if (nread > 0) {
          c->owner->on_outbound_data(c, std::string_view(buf->base, static_cast<size_t>(nread)));
        }
      });
}

bool PeerTransport::start_session(Connection* conn, std::string_view nonce) {
  conn->key = session_key(options_.secret, nonce);
  conn->sequence = 0;
  if (!conn->key.empty()) return true;
  RL_LOG_ERROR("membership %s: cannot compute a session key (OpenSSL HMAC failed)",
               options_.node_id.c_str());
  close_connection(conn, "no session key");
  return false;
}

void PeerTransport::on_outbound_data(Connection* conn, std::string_view data) {
  Peer* peer = conn->peer;
  if (peer == nullptr) return;
  if (peer->connected) {
    on_stray_data(conn, data);
    return;
  }
  conn->rbuf.append(data);
  const size_t take = std::min(conn->rbuf.size(), kChallengeBytes);
  Result<std::string> nonce = decode_challenge(std::string_view(conn->rbuf).substr(0, take));
  if (!nonce) {
    ++stats_.connect_failures;
    on_stray_data(conn, conn->rbuf);
    return;
  }
  if (nonce->empty()) return;  // more of it to come
  const std::string after = conn->rbuf.substr(kChallengeBytes);
  conn->rbuf.clear();
  conn->rbuf.shrink_to_fit();
  if (!start_session(conn, *nonce)) return;
  ++stats_.connects;
  peer->connected = true;
  peer->connected_at_ms = uv_now(loop_);
  if (!after.empty()) {
    on_stray_data(conn, after);
    return;
  }
  // The Hello goes first.
  peer->queue.push_front(QueuedFrame{hello_, 0});
  peer->queued_bytes += hello_.size();
  if (peer->queue.size() > options_.max_queued_frames + 1) {
    peer->queued_bytes -= peer->queue[1].payload.size();
    peer->queue.erase(peer->queue.begin() + 1);
    ++stats_.dropped_queue_full;
  }
  flush(*peer);
}

void PeerTransport::schedule_reconnect(Peer& peer) {
  if (closed_ || peer.timer == nullptr) return;
  uint64_t now = uv_now(loop_);
  // A connection that lived long enough resets the backoff; one that died at once (refused,
  // or closed by a peer that rejects our frames) keeps doubling it.
  if (peer.connected_at_ms != 0 && now - peer.connected_at_ms >= options_.reconnect_max_ms) {
    peer.backoff_ms = 0;
  }
  peer.connected_at_ms = 0;
  peer.backoff_ms = peer.backoff_ms == 0 ? options_.reconnect_min_ms
                                         : std::min(peer.backoff_ms * 2, options_.reconnect_max_ms);
  uv_timer_start(
      peer.timer,
      [](uv_timer_t* t) {
        auto* p = static_cast<Peer*>(t->data);
        p->owner->start_connect(*p);
      },
      peer.backoff_ms, 0);
}

// ---- accepting and reading ------------------------------------------------------------------

void PeerTransport::on_accept(int status) {
  if (closed_ || status != 0) return;
  auto* conn = new Connection;
  conn->owner = this;
  conn->inbound = true;
  uv_tcp_init(loop_, &conn->tcp);
  conn->tcp.data = conn;
  connections_.insert(conn);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_),
                reinterpret_cast<uv_stream_t*>(&conn->tcp)) != 0) {
    close_connection(conn, "accept failed");
    return;
  }
  conn->serial = ++stats_.accepted;
  conn->opened_ms = uv_now(loop_);
  if (unidentified() > options_.max_unidentified) {  // this one included
    // The oldest goes: a peer says hello as soon as it connects, so a connection that has
    // waited longest is the least likely to be one, and a flood cannot lock peers out. Only
    // one accepted in an earlier loop pass, which has had its chance to be read: libuv
    // accepts a whole backlog in one pass, and a peer's connection in it has not been read
    // yet. With none such, the newcomer goes.
    const uint64_t now = uv_now(loop_);
    Connection* oldest = nullptr;
    for (Connection* c : connections_) {
      if (c->inbound && c->remote.empty() && (c->opened_ms < now || !c->rbuf.empty()) &&
          (oldest == nullptr || c->serial < oldest->serial)) {
        oldest = c;
      }
    }
    if (oldest == nullptr) oldest = conn;
    ++stats_.rejected_protocol;
    close_connection(oldest, "too many connections waiting for their hello");
    if (oldest == conn) return;
  }
  uv_tcp_nodelay(&conn->tcp, 1);
  uv_tcp_keepalive(&conn->tcp, 1, kKeepaliveIdleSeconds);
  // The challenge: its nonce makes this connection's session key, so that frames recorded
  // from another connection fail here. 21 bytes on a socket just accepted: written whole.
  Result<std::string> nonce = random_nonce();
  if (!nonce) {
    RL_LOG_ERROR("membership %s: %s", options_.node_id.c_str(), nonce.error().c_str());
    close_connection(conn, "no challenge");
    return;
  }
  if (!start_session(conn, *nonce)) return;
  std::string challenge = encode_challenge(*nonce);
  uv_buf_t out = uv_buf_init(challenge.data(), static_cast<unsigned>(challenge.size()));
  if (uv_try_write(reinterpret_cast<uv_stream_t*>(&conn->tcp), &out, 1) !=
      static_cast<int>(challenge.size())) {
    close_connection(conn, "cannot write the challenge");
    return;
  }
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&conn->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* c = static_cast<PeerTransport::Connection*>(h->data);
        *buf = uv_buf_init(c->chunk, sizeof(c->chunk));
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<PeerTransport::Connection*>(s->data);
        if (c->owner == nullptr || c->closing) return;
        c->owner->on_read(c, nread, buf->base);
      });
}

size_t PeerTransport::unidentified() const {
  return static_cast<size_t>(
      std::count_if(connections_.begin(), connections_.end(),
                    [](const Connection* c) { return c->inbound && c->remote.empty(); }));
}

void PeerTransport::sweep_unidentified() {
  const uint64_t now = uv_now(loop_);
  std::vector<Connection*> late, unchallenged;
  for (Connection* c : connections_) {
    if (c->inbound && c->remote.empty() && now - c->opened_ms >= options_.hello_timeout_ms) {
      late.push_back(c);
    } else if (!c->inbound && c->peer != nullptr && !c->peer->connected && c->opened_ms != 0 &&
               now - c->opened_ms >= options_.hello_timeout_ms) {
      unchallenged.push_back(c);
    }
  }
  for (Connection* c : late) {
    ++stats_.rejected_protocol;
    close_connection(c, "no hello in time");
  }
  for (Connection* c : unchallenged) {
    ++stats_.rejected_protocol;
    ++stats_.connect_failures;
    const Peer& peer = *c->peer;
    if (silent_warnings_.due(peer.id, now)) {
      RL_LOG_WARN(
          "membership %s: peer %s at %s accepted a connection but sent no challenge within %u ms: "
          "it runs an earlier ringleader release (upgrade it: frames are now sealed per "
          "connection), that address is not a membership listener, or the instance there is "
          "stalled (repeated at most every %llu s)",
          options_.node_id.c_str(), peer.id.c_str(), peer.address.c_str(),
          options_.hello_timeout_ms,
          static_cast<unsigned long long>(WarningLimit::kIntervalMs / 1000));
    }
    close_connection(c, "no challenge in time");
  }
}

void PeerTransport::cap_strangers() {
  // Asked again here, not remembered from the Hello: an instance dialing before it is added
  // may have been added since.
  std::vector<Connection*> strangers;
  for (Connection* c : connections_) {
    if (c->inbound && !c->remote.empty() && !callbacks_.in_group(c->remote)) strangers.push_back(c);
  }
  if (strangers.size() <= options_.max_strangers) return;
  std::sort(strangers.begin(), strangers.end(),
            [](const Connection* a, const Connection* b) { return a->serial < b->serial; });
  for (size_t i = 0; i + options_.max_strangers < strangers.size(); ++i) {
    Connection* c = strangers[i];
    ++stats_.rejected_protocol;
    if (stranger_warnings_.due(c->remote, uv_now(loop_))) {
      RL_LOG_WARN(
          "membership %s: closed the connection from %s, which is not in the group: more than "
          "%zu connections from ids outside it were open (repeated at most every %llu s)",
          options_.node_id.c_str(), c->remote.c_str(), options_.max_strangers,
          static_cast<unsigned long long>(WarningLimit::kIntervalMs / 1000));
    }
    close_connection(c, "too many connections from ids outside the group");
  }
}

void PeerTransport::warn_twin(const raft::NodeId& id) {
  if (!twin_warnings_.due(id, uv_now(loop_))) return;
  RL_LOG_WARN(
      "membership %s: two live connections say they are %s: are two instances running with "
      "membership.node_id = \"%s\"? (repeated at most every %llu s)",
      options_.node_id.c_str(), id.c_str(), id.c_str(),
      static_cast<unsigned long long>(WarningLimit::kIntervalMs / 1000));
}

void PeerTransport::learn_address(const raft::NodeId& id, const std::string& address) {
  // A Hello teaches the address of a peer this node was not configured with; a configured
  // address is the operator's, and a wildcard one reaches no peer.
  if (blocked_in(id) || options_.peers.contains(id) || !names_a_host(address)) return;
  auto it = peers_.find(id);
  if (it != peers_.end() && it->second->address == address) return;
  if (set_peer(id, address).is_ok() && callbacks_.on_peer_address) {
    callbacks_.on_peer_address(id, address);
  }
}

void PeerTransport::learn_address_of(const raft::NodeId& id) {
  for (Connection* c : connections_) {
    if (c->inbound && !c->closing && c->remote == id && !c->remote_listen.empty()) {
      learn_address(id, c->remote_listen);
      return;
    }
  }
}

void PeerTransport::on_stray_data(Connection* conn, std::string_view data) {
  Peer* peer = conn->peer;
  if (peer == nullptr) return;
  ++stats_.rejected_protocol;
  if (stray_warnings_.due(peer->id, uv_now(loop_))) {
    RL_LOG_WARN(
        "membership %s: peer %s at %s wrote to this node's connection what a ringleader "
        "never writes there (a ringleader sends one challenge): is that address another "
        "instance's membership.listen? It sent \"%s\" (repeated at most every %llu s)",
        options_.node_id.c_str(), peer->id.c_str(), peer->address.c_str(),
        printable_ascii(data, 64).c_str(),
        static_cast<unsigned long long>(WarningLimit::kIntervalMs / 1000));
  }
  close_connection(conn, "the peer wrote on an outbound connection");
}

void PeerTransport::on_read(Connection* conn, ssize_t nread, const char* data) {
  if (nread < 0) {
    close_connection(conn, "peer closed");
    return;
  }
  conn->rbuf.append(data, static_cast<size_t>(nread));
  size_t pos = 0;
  while (conn->rbuf.size() - pos >= kFrameHeaderBytes) {
    const char* head = conn->rbuf.data() + pos;
    uint32_t len = read_u32(head);
    const bool before_hello = conn->inbound && conn->remote.empty();
    const size_t allowed = before_hello ? std::min(kMaxHelloPayload, options_.max_frame_payload)
                                        : options_.max_frame_payload;
    if (len > allowed) {
      ++stats_.rejected_oversized;
      warn_rejected(conn, {}, "oversized",
                    "it announced a frame of " + std::to_string(len) + " bytes, more than the " +
                        std::to_string(allowed) + " allowed" +
                        (before_hello ? " before its hello" : ""));
      close_connection(conn, "oversized frame");
      return;
    }
    if (conn->rbuf.size() - pos < kFrameHeaderBytes + len) break;
    std::string_view mac(head + 4, kMacBytes);
    std::string_view payload(head + kFrameHeaderBytes, len);
    if (!mac_matches(conn->key, conn->sequence, payload, mac)) {
      if (before_hello && unsessioned_mac_matches(options_.secret, payload, mac)) {
        ++stats_.rejected_protocol;
        warn_earlier_release(conn, payload);
        close_connection(conn, "a frame of an earlier release (no session)");
      } else {
        ++stats_.rejected_bad_mac;
        warn_bad_mac(conn, payload);
        close_connection(conn, "bad frame MAC");
      }
      return;
    }
    ++conn->sequence;
    pos += kFrameHeaderBytes + len;
    if (!handle_frame(conn, payload)) return;
  }
  conn->rbuf.erase(0, pos);
}

bool PeerTransport::handle_frame(Connection* conn, std::string_view payload) {
  conn->last_frame_ms = uv_now(loop_);
  Result<Frame> decoded = decode_frame(payload);
  if (!decoded) {
    ++stats_.rejected_undecodable;
    warn_rejected(conn, payload, "undecodable",
                  "a frame that does not decode (" + decoded.error() + ")");
    close_connection(conn, "undecodable frame");
    return false;
  }
  Frame& frame = *decoded;
  if (conn->remote.empty()) {
    auto* hello = std::get_if<Hello>(&frame);
    if (hello == nullptr || hello->node_id == options_.node_id) {
      ++stats_.rejected_protocol;
      warn_rejected(conn, payload, "hello",
                    hello == nullptr
                        ? "its first frame is not a hello"
                        : "its hello names this node's own id (another instance runs with "
                          "membership.node_id = \"" +
                              options_.node_id + "\"?)");
      close_connection(conn, hello == nullptr ? "first frame is not a hello" : "hello from self");
      return false;
    }
    // Ids are the config file's characters ([A-Za-z0-9._-]): they end up in log lines,
    // /cluster and metric labels, where a newline would forge a line and invalid UTF-8 fail
    // every scrape. A member's is let through (a release that took any id added it).
    const bool member = !callbacks_.in_group || callbacks_.in_group(hello->node_id);
    if (!member &&
        (!config::is_valid_node_id(hello->node_id) ||
         !std::all_of(hello->founders.begin(), hello->founders.end(),
                      [](const raft::NodeId& id) { return config::is_valid_node_id(id); }))) {
      ++stats_.rejected_protocol;
      warn_rejected(conn, payload, "id",
                    "its hello names an id that is not 1-64 of [A-Za-z0-9._-] (\"" +
                        printable_ascii(hello->node_id, 64) +
                        "\" or a founder), and it is not in the "
                        "group");
      close_connection(conn, "hello with an id outside the config file's characters");
      return false;
    }
    if (!founders_.empty() && !hello->founders.empty() && hello->founders != founders_) {
      ++stats_.rejected_group;
      warn_foreign_group(hello->node_id, hello->founders);
      if (callbacks_.on_foreign_group) callbacks_.on_foreign_group(hello->node_id, hello->founders);
      close_connection(conn, "hello from another group (other founders)");
      return false;
    }
    conn->remote = hello->node_id;
    conn->remote_listen = hello->listen_address;
    // The peer's newest connection replaces an older one it left behind: one silent for
    // hello_timeout_ms (a peer sends heartbeats far more often). One still delivering is
    // another process with the same id, which is said, not fought over.
    const uint64_t now = uv_now(loop_);
    std::vector<Connection*> older;
    bool live_twin = false;
    for (Connection* c : connections_) {
      if (c == conn || !c->inbound || c->remote != conn->remote) continue;
      if (now - c->last_frame_ms >= options_.hello_timeout_ms) {
        older.push_back(c);
      } else {
        live_twin = true;
      }
    }
    for (Connection* c : older)
      close_connection(c, "replaced by a newer connection from the same peer");
    if (live_twin) warn_twin(conn->remote);
    if (!hello->founders.empty()) claimed_founders_[conn->remote] = hello->founders;
    if (!member) {
      // A stranger may be a leader a joining node's file does not list, whose founders it
      // learns from here; made-up ids must not grow the map for good, so strangers' entries
      // last while they are connected.
      cap_strangers();
      std::erase_if(claimed_founders_, [this](const auto& entry) {
        return !callbacks_.in_group(entry.first) &&
               std::none_of(connections_.begin(), connections_.end(), [&](const Connection* c) {
                 return c->inbound && c->remote == entry.first;
               });
      });
      return !conn->closing;
    }
    learn_address(conn->remote, hello->listen_address);
    return !conn->closing;
  }
  if (blocked_in(conn->remote)) {
    ++stats_.dropped_blocked;
    return true;
  }
  if (auto* m = std::get_if<raft::Message>(&frame)) {
    if (m->from != conn->remote || m->to != options_.node_id) {
      ++stats_.rejected_protocol;
      return true;
    }
    ++stats_.frames_received;
    if (callbacks_.on_message) callbacks_.on_message(std::move(*m));
  } else if (auto* req = std::get_if<ForwardRequest>(&frame)) {
    ++stats_.frames_received;
    if (callbacks_.on_forward_request) callbacks_.on_forward_request(conn->remote, std::move(*req));
  } else if (auto* resp = std::get_if<ForwardResponse>(&frame)) {
    ++stats_.frames_received;
    if (callbacks_.on_forward_response) {
      callbacks_.on_forward_response(conn->remote, std::move(*resp));
    }
  } else {
    ++stats_.rejected_protocol;  // a second hello
  }
  return !conn->closing;
}

PeerTransport::Sender PeerTransport::describe_sender(Connection* conn,
                                                     std::string_view payload) const {
  Sender sender;
  if (!conn->remote.empty()) {
    // Its Hello passed: the id is authenticated.
    sender.who = "peer " + conn->remote;
    sender.source = conn->remote;
    return sender;
  }
  sockaddr_storage addr{};
  int len = sizeof(addr);
  uv_tcp_getpeername(&conn->tcp, reinterpret_cast<sockaddr*>(&addr), &len);
  sender.who = "a connection from " + format_socket_address(addr);
  // Its first frame is a hello naming the sender. Unauthenticated, so only a claim, but
  // the name an operator needs to find it.
  Result<Frame> decoded = decode_frame(payload);
  const Hello* hello = decoded ? std::get_if<Hello>(&*decoded) : nullptr;
  auto printable = [](std::string_view id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
  };
  if (hello != nullptr && printable(hello->node_id)) {
    sender.who += " that says it is peer " + hello->node_id;
    sender.source = hello->node_id;
  } else {
    const std::string address = format_socket_address(addr);
    sender.source = address.substr(0, address.rfind(':'));  // the host: each retry has a new port
  }
  return sender;
}

void PeerTransport::warn_rejected(Connection* conn, std::string_view payload, const char* kind,
                                  const std::string& why) {
  const Sender sender = describe_sender(conn, payload);
  if (!rejected_warnings_.due(sender.source + " " + kind, uv_now(loop_))) return;
  RL_LOG_WARN("membership %s: closed %s: %s (repeated at most every %llu s)",
              options_.node_id.c_str(), sender.who.c_str(), why.c_str(),
              static_cast<unsigned long long>(WarningLimit::kIntervalMs / 1000));
}

void PeerTransport::warn_earlier_release(Connection* conn, std::string_view payload) {
  const Sender sender = describe_sender(conn, payload);
  if (!earlier_warnings_.due(sender.source, uv_now(loop_))) return;
  RL_LOG_WARN(
      "membership %s: refused %s: it seals frames as releases before per-connection sessions "
      "did (it reads no challenge), so its frames could be replayed; upgrade it to this "
      "release (repeated at most every %llu s)",
      options_.node_id.c_str(), sender.who.c_str(),
      static_cast<unsigned long long>(WarningLimit::kIntervalMs / 1000));
}

void PeerTransport::warn_bad_mac(Connection* conn, std::string_view payload) {
  const Sender sender = describe_sender(conn, payload);
  // Peers reconnect every second or so: each source is named once per interval.
  if (!bad_mac_warnings_.due(sender.source, uv_now(loop_))) return;
  const std::string& who = sender.who;
  // Before the Hello, a wrong secret is what fails (or frames recorded from another
  // connection); after it, the secret is right and the frame is not the one expected next.
  RL_LOG_WARN(
      "membership %s: frames from %s fail authentication: %s (%llu rejected so far; repeated "
      "at most every %llu s)",
      options_.node_id.c_str(), who.c_str(),
      conn->remote.empty()
          ? "its membership.secret is not this node's, or they were recorded from another "
            "connection"
          : "a frame out of its place on the connection (replayed, reordered or altered on "
            "the way)",
      static_cast<unsigned long long>(stats_.rejected_bad_mac),
      static_cast<unsigned long long>(WarningLimit::kIntervalMs / 1000));
}

void PeerTransport::warn_foreign_group(const raft::NodeId& id,
                                       const std::vector<raft::NodeId>& founders) {
  if (!foreign_warnings_.due(id, uv_now(loop_))) return;
  RL_LOG_ERROR(
      "membership %s: refused peer %s: its group was bootstrapped with voters [%s], this "
      "node's with [%s]. Founding members must list the same membership.peers; a node in "
      "the wrong group needs an empty data_dir and must join (%llu refused so far; repeated "
      "at most every %llu s)",
      options_.node_id.c_str(), printable_ascii(id, 255).c_str(),
      printable_ascii(raft::join_ids(founders), 4096).c_str(), raft::join_ids(founders_).c_str(),
      static_cast<unsigned long long>(stats_.rejected_group),
      static_cast<unsigned long long>(WarningLimit::kIntervalMs / 1000));
}

void PeerTransport::close_connection(Connection* conn, const char* reason) {
  if (conn->closing) return;
  conn->closing = true;
  connections_.erase(conn);
  Peer* peer = conn->peer;
  conn->peer = nullptr;
  if (peer != nullptr) {
    RL_LOG_DEBUG("membership %s: connection to %s (%s) closed: %s", options_.node_id.c_str(),
                 peer->id.c_str(), peer->address.c_str(), reason);
    peer->conn = nullptr;
    peer->connected = false;
    peer->writing = false;
    schedule_reconnect(*peer);
  } else {
    RL_LOG_DEBUG("membership %s: inbound connection from '%s' closed: %s", options_.node_id.c_str(),
                 conn->remote.c_str(), reason);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp), free_connection);
}

}  // namespace ringleader::membership::transport
