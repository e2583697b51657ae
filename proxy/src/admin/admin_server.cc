#include "admin_server.h"

#include <netinet/in.h>

#include <cstring>
#include <unordered_map>
#include <utility>

#include "admin/admin_connection.h"
#include "admin/admin_router.h"
#include "common/log.h"
#include "common/socket_address.h"

namespace ringleader::proxy::admin {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;

// Splits "HOST:PORT" like config::parse_host_port, but also accepts port 0 ("any free port").
bool parse_listen(const std::string& text, std::string* host, uint16_t* port) {
  if (config::parse_host_port(text, host, port)) return true;
  if (text.size() < 2 || text.compare(text.size() - 2, 2, ":0") != 0) return false;
  if (!config::parse_host_port(text.substr(0, text.size() - 1) + "1", host, port)) return false;
  *port = 0;
  return true;
}

// Resolves `host` (an IP literal or a name) to its first address with `port`.
Result<sockaddr_storage> resolve(uv_loop_t* loop, const std::string& host, uint16_t port) {
  sockaddr_storage address{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&address)) == 0 ||
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&address)) == 0) {
    return address;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  uv_getaddrinfo_t request{};
  // Without a callback uv_getaddrinfo resolves synchronously (startup only).
  const int err = uv_getaddrinfo(loop, &request, nullptr, host.c_str(), nullptr, &hints);
  if (err != 0 || request.addrinfo == nullptr) {
    return Status::error("cannot resolve \"" + host + "\": " + uv_strerror(err));
  }
  std::memcpy(&address, request.addrinfo->ai_addr, request.addrinfo->ai_addrlen);
  uv_freeaddrinfo(request.addrinfo);
  if (address.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = htons(port);
  }
  return address;
}

}  // namespace

// The listening socket and its connections. Frees itself once its handle and every
// connection are closed (see AdminServer's Lifetime note).
class AdminListener final : public AdminConnectionOwner {
 public:
  AdminListener(uv_loop_t* loop, AdminService& service, std::string token, AdminServerLimits limits)
      : loop_(loop),
        router_(service, std::move(token)),
        limits_(limits),
        read_buffer_(kReadBufferBytes) {
    uv_tcp_init(loop, &tcp_);
    tcp_.data = this;
  }

  // Binds and listens; on failure the caller must close().
  Status listen(const sockaddr_storage& address, const std::string& text) {
    int err = uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&address), 0);
    if (err == 0) {
      err = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), 128, [](uv_stream_t* s, int status) {
        static_cast<AdminListener*>(s->data)->on_connection(status);
      });
    }
    if (err != 0) {
      return Status::error("admin.listen " + text + ": cannot listen: " + uv_strerror(err));
    }
    return Status::ok();
  }

  sockaddr_storage bound_address() {
    sockaddr_storage address{};
    int len = sizeof(address);
    uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&address), &len);
    return address;
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) {
      auto* self = static_cast<AdminListener*>(h->data);
      self->tcp_closed_ = true;
      self->maybe_delete();
    });
    for (auto& [raw, connection] : connections_)
      connection->close();
  }

  size_t open_connections() const { return connections_.size(); }
  size_t idle_connections() const {
    size_t idle = 0;
    for (const auto& [raw, connection] : connections_) {
      if (!raw->closing() && raw->idle()) ++idle;
    }
    return idle;
  }

  AdminRouter& router() override { return router_; }
  const AdminServerLimits& limits() const override { return limits_; }
  uv_buf_t read_buffer() override {
    return uv_buf_init(read_buffer_.data(), static_cast<unsigned int>(read_buffer_.size()));
  }
  void connection_closed(AdminConnection* connection) override {
    connections_.erase(connection);
    maybe_delete();
  }

 private:
  void on_connection(int status) {
    if (closing_) return;
    if (status != 0) {
      RL_LOG_WARN("admin: accept: %s", uv_strerror(status));
      return;
    }
    const auto admission =
        make_room() ? AdminConnection::Admission::kServe : AdminConnection::Admission::kReject;
    auto connection =
        AdminConnection::accept(loop_, reinterpret_cast<uv_stream_t*>(&tcp_), *this, admission);
    AdminConnection* raw = connection.get();
    connections_.emplace(raw, std::move(connection));
  }

  // Whether a new connection fits: under the limit, or once the connection idle longest is
  // closed (a health probe must not fail because dashboards hold keep-alive connections
  // open; AdminConnection::displaceable spares one whose request is on its way), or else the one
  // that has been sending its request longest, past slow_sender_ms (nor because clients trickle
  // requests into every slot), or else the one whose answer the socket has not taken for longest,
  // past slow_sender_ms (nor because clients that never read fill every slot). Connections waiting
  // for the service to answer are never closed for a newcomer, nor are requests still arriving, or
  // answers still being read, at a normal pace.
  bool make_room() {
    size_t open = 0;
    AdminConnection* idlest = nullptr;
    AdminConnection* slowest = nullptr;
    AdminConnection* stuck = nullptr;
    uint64_t stuck_since = 0;
    for (const auto& [raw, connection] : connections_) {
      if (raw->closing()) continue;
      ++open;
      if (raw->displaceable() &&
          (idlest == nullptr || raw->idle_since_ms() < idlest->idle_since_ms()))
        idlest = raw;
      if (raw->receiving() &&
          (slowest == nullptr || raw->idle_since_ms() < slowest->idle_since_ms()))
        slowest = raw;
      if (raw->answer_stuck()) {
        const uint64_t since = raw->unsent_since_ms();  // one look: it notes the progress
        if (stuck == nullptr || since < stuck_since) {
          stuck = raw;
          stuck_since = since;
        }
      }
    }
    if (open < limits_.max_connections) return true;
    if (idlest != nullptr) {
      RL_LOG_DEBUG("admin: %zu connections open: closing the one idle longest for a new one", open);
      idlest->close();
      return true;
    }
    if (slowest != nullptr && uv_now(loop_) - slowest->idle_since_ms() >= limits_.slow_sender_ms) {
      RL_LOG_DEBUG("admin: %zu connections open: closing the one sending its request longest",
                   open);
      slowest->close();
      return true;
    }
    if (stuck != nullptr && uv_now(loop_) - stuck_since >= limits_.slow_sender_ms) {
      RL_LOG_DEBUG("admin: %zu connections open: closing the one not reading its answer longest",
                   open);
      stuck->close();
      return true;
    }
    return false;
  }

  void maybe_delete() {
    if (closing_ && tcp_closed_ && connections_.empty()) delete this;
  }

  uv_loop_t* const loop_;
  uv_tcp_t tcp_{};
  AdminRouter router_;
  const AdminServerLimits limits_;
  std::vector<char> read_buffer_;  // shared by all connections: reads are copied out at once
  std::unordered_map<AdminConnection*, std::shared_ptr<AdminConnection>> connections_;
  bool closing_ = false;     // close() called
  bool tcp_closed_ = false;  // the listening handle's close callback ran
};

bool is_loopback(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    const uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(&address)->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  if (address.ss_family == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&ip)) return true;
    return IN6_IS_ADDR_V4MAPPED(&ip) && ip.s6_addr[12] == 127;
  }
  return false;
}

Result<std::unique_ptr<AdminServer>> AdminServer::start(uv_loop_t* loop,
                                                        const config::AdminConfig& config,
                                                        AdminService& service,
                                                        AdminServerLimits limits) {
  std::string host;
  uint16_t port = 0;
  if (!parse_listen(config.listen, &host, &port)) {
    return Status::error("admin.listen \"" + config.listen +
                         "\" is not HOST:PORT (e.g. 127.0.0.1:9180)");
  }
  auto address = resolve(loop, host, port);
  if (!address) return Status::error("admin.listen " + config.listen + ": " + address.error());
  if (config.token.empty() && !is_loopback(*address)) {
    return Status::error("admin.listen " + config.listen +
                         " is not a loopback address and admin.token is empty: anyone who "
                         "can reach it could change the cluster; set admin.token or listen "
                         "on 127.0.0.1");
  }
  auto* listener = new AdminListener(loop, service, config.token, limits);
  if (Status status = listener->listen(*address, config.listen); !status) {
    listener->close();  // frees itself in the close callback
    return status;
  }
  const uint16_t bound_port = socket_address_port(listener->bound_address());
  std::string bound = format_socket_address(listener->bound_address());
  RL_LOG_DEBUG("admin API listening on %s%s", bound.c_str(),
               config.token.empty() ? "" : " (mutations need admin.token)");
  return std::unique_ptr<AdminServer>(new AdminServer(listener, std::move(bound), bound_port));
}

AdminServer::AdminServer(AdminListener* listener, std::string address, uint16_t port)
    : listener_(listener), address_(std::move(address)), port_(port) {}

AdminServer::~AdminServer() {
  close();
}

size_t AdminServer::open_connections() const {
  return listener_ == nullptr ? 0 : listener_->open_connections();
}

size_t AdminServer::idle_connections() const {
  return listener_ == nullptr ? 0 : listener_->idle_connections();
}

Status AdminServer::set_token(std::string token) {
  if (listener_ == nullptr) return Status::error("the admin API is closed");
  if (token.empty() && !is_loopback(listener_->bound_address())) {
    return Status::error("admin.token cannot be emptied while the admin API listens on " +
                         address_ + ", which is not a loopback address");
  }
  listener_->router().set_token(std::move(token));
  return Status::ok();
}

void AdminServer::close() {
  if (listener_ == nullptr) return;
  listener_->close();
  listener_ = nullptr;
}

}  // namespace ringleader::proxy::admin
