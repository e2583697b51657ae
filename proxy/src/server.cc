#include "proxy/server.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "admin/admin_server.h"
#include "common/log.h"
#include "common/socket_address.h"
#include "core/counters.h"
#include "core/fd_limit.h"
#include "core/ring_publisher.h"
#include "core/uv_util.h"
#include "core/worker.h"
#include "membership/state/membership_state.h"
#include "membership/storage/file_storage.h"
#include "protocols.h"
#include "ring_report.h"
#include "server_impl.h"

namespace ringleader::proxy {
namespace {

constexpr uint32_t kShutdownGraceMs = 5000;
constexpr uint64_t kEjectionSweepMs = 50;
// After a backend's first ejection, its ejections are logged at most this often.
constexpr uint64_t kEjectionLogIntervalNs = 60'000'000'000;
constexpr uint64_t kHeapTrimMs = 2000;

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// `key` names the setting in errors ("proxy.listen").
Result<sockaddr_storage> listen_address(const std::string& listen,
                                        const std::string& key = "proxy.listen") {
  if (config::is_unix_address(listen)) {
    std::string path;
    if (!config::parse_unix_address(listen, &path)) {
      return Status::error(key + ": invalid Unix socket address \"" + listen + "\"");
    }
    return *unix_socket_address(path);  // parse_unix_address checked that it fits
  }
  std::string host;
  uint16_t port = 0;
  if (!config::parse_host_port(listen, &host, &port)) {
    return Status::error(key + ": invalid address \"" + listen + "\"");
  }
  host = config::canonical_host(host);
  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) == 0) return addr;
  if (uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) == 0) return addr;
  return Status::error(key + ": \"" + host + "\" is not an IP address");
}

// Fails when some process listens on `listen` already. Workers bind the client address with
// SO_REUSEPORT to share it, and so would a second ringleader of the same user, silently
// taking part of the clients to another ring: a plain bind (which no listener lets through)
// finds it first. Port 0 (any free port) needs no check.
Status check_nobody_listens(const std::string& key, const std::string& listen) {
  auto addr = listen_address(listen, key);
  if (!addr) return addr.status();
  const sockaddr_storage& a = addr.value();
  if (a.ss_family == AF_UNIX) {
    Status s = UnixListener::check_free(unix_socket_path(a));
    return s ? s : Status::error(key + ": " + s.message());
  }
  if (socket_address_port(a) == 0) return Status::ok();
  int fd = ::socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(key + ": socket: " + std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT is no listener
  socklen_t len = a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), len);
  const int err = errno;
  ::close(fd);
  if (rc == 0) return Status::ok();
  return Status::error(
      key + ": cannot listen on " + listen + ": " + std::strerror(err) +
      (err == EADDRINUSE ? " (a process listens there, or a connection uses it as its local port)"
                         : ""));
}

}  // namespace

Server::Server(config::Config config, std::unique_ptr<Protocol> protocol, ring::RingSnapshot ring,
               sockaddr_storage addr)
    : config_(std::move(config)),
      protocol_(std::move(protocol)),
      rings_(std::move(ring)),
      addr_(addr) {}

Server::~Server() = default;

int Server::run() {
  signal(SIGPIPE, SIG_IGN);
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &eject_async_,
                [](uv_async_t* a) { static_cast<Server*>(a->data)->apply_ejections(); });
  eject_async_.data = this;
  uv_async_init(&loop_, &task_async_,
                [](uv_async_t* a) { static_cast<Server*>(a->data)->run_posted(); });
  task_async_.data = this;
  // Before anything listens: a SIGTERM that arrives while workers start waits for the loop
  // (libuv queues it) instead of killing the process with its default action.
  for (int signum : {SIGTERM, SIGINT, SIGHUP}) {
    auto* sig = new uv_signal_t;
    uv_signal_init(&loop_, sig);
    sig->data = this;
    uv_signal_start(
        sig, [](uv_signal_t* s, int num) { static_cast<Server*>(s->data)->on_signal(num); },
        signum);
    signals_.push_back(sig);
  }

  counters_.start_time_ns = monotonic_ns();
  config_loaded_unix_s_ = unix_seconds();
  uint32_t n = config_.proxy.workers ? config_.proxy.workers
                                     : std::max(1u, std::thread::hardware_concurrency());
  for (uint32_t i = 0; i < n; ++i) {
    counters_.workers.push_back(std::make_unique<WorkerCounters>(protocol_->command_count()));
  }
  counters_.backends = std::make_unique<BackendStatsRegistry>(n);
  {
    // Raft mode learns its backends later: the file's seed stands in for them here.
    const uint64_t backends =
        rings_.current() ? rings_.current()->backends().size() : config_.backends.size();
    counters_.max_clients = config_.proxy.max_clients;
    fit_fd_limit(backends);
  }

  auto fail = [this](const std::string& why) {
    RL_LOG_ERROR("%s", why.c_str());
    if (membership_) membership_->stop();
    stop_workers();
    if (admin_) admin_->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&eject_async_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&task_async_), nullptr);
    close_signals();
    close_loop();
    return 1;
  };
  // Before anything listens, so that a clash leaves no listener up even for a moment.
  for (const auto& [key, listen] : {std::pair{"proxy.listen", config_.proxy.listen},
                                    std::pair{"admin.listen", config_.admin.listen}}) {
    if (listen.empty()) continue;
    if (Status s = check_nobody_listens(key, listen); !s) return fail(s.message());
  }
  // Static mode serves the config's ring at once; raft mode once the membership has been
  // applied (its first ring arrives through the RingSink).
  if (rings_.current()) {
    if (Status s = start_workers(); !s) return fail(s.message());
  }
  if (!config_.admin.listen.empty()) {
    auto admin = admin::AdminServer::start(&loop_, config_.admin, *this);
    if (!admin) return fail("admin.listen: " + admin.error());
    admin_ = std::move(admin.value());
    RL_LOG_INFO("admin API on http://%s", config_.admin.listen.c_str());
  }
  if (raft_mode()) {
    if (Status s = start_membership(); !s) return fail("membership: " + s.message());
  }

  uv_timer_init(&loop_, &sweep_timer_);
  sweep_timer_.data = this;
  uv_timer_start(
      &sweep_timer_, [](uv_timer_t* t) { static_cast<Server*>(t->data)->sweep_ejections(); },
      kEjectionSweepMs, kEjectionSweepMs);
  uv_timer_init(&loop_, &heap_timer_);
  heap_timer_.data = this;
  heap_trimmer_.start();
  uv_timer_start(
      &heap_timer_, [](uv_timer_t* t) { static_cast<Server*>(t->data)->trim_heap(); }, kHeapTrimMs,
      kHeapTrimMs);
  uv_run(&loop_, UV_RUN_DEFAULT);
  close_loop();
  RL_LOG_INFO("ringleader stopped");
  return 0;
}

Status Server::start_workers() {
  int shared_fd = -1;
  if (addr_.ss_family == AF_UNIX) {
    auto listener = UnixListener::open(unix_socket_path(addr_), config_.proxy.unix_socket_mode);
    if (!listener) return Status::error("proxy.listen: " + listener.error());
    unix_listener_ = std::move(listener.value());
    shared_fd = unix_listener_->fd();
  }
  for (uint32_t i = 0; i < counters_.workers.size(); ++i) {
    workers_.push_back(
        std::make_unique<Worker>(i, config_, *protocol_, rings_, counters_,
                                 [this](const std::string& name, const std::string& address) {
                                   queue_ejection(name, address);
                                 }));
    if (Status s = workers_.back()->start(addr_, shared_fd); !s) {
      workers_.pop_back();
      return s;
    }
  }
  if (unix_listener_) unix_listener_->close_descriptor();  // each worker holds a duplicate
  workers_started_ = true;
  ring::RingSnapshot r = rings_.current();
  RL_LOG_INFO("ringleader listening on %s (%s, %zu workers, %zu backends, ring %s, epoch %llu)",
              config_.proxy.listen.c_str(),
              config_.proxy.protocol == config::Protocol::kRedis ? "redis" : "memcached",
              workers_.size(), r->backends().size(),
              std::string(ring::to_string(r->params().algorithm)).c_str(),
              static_cast<unsigned long long>(r->epoch()));
  // Judged by the ring in force: in raft mode the cluster's ring parameters, not the file's.
  config::Config in_force = config_;
  in_force.ring = r->params();
  for (const std::string& notice : config::notices(in_force))
    RL_LOG_WARN("%s", notice.c_str());
  return Status::ok();
}

Status Server::start_membership() {
  const config::MembershipConfig& m = config_.membership;
  membership::service::ServiceOptions o;
  o.node_id = m.node_id;
  o.listen = m.listen;
  for (const config::PeerConfig& p : m.peers)
    o.peers[p.id] = p.address;
  o.start_mode =
      m.join ? membership::service::StartMode::kJoin : membership::service::StartMode::kBootstrap;
  o.data_dir = m.data_dir;
  o.election_timeout_ms = m.election_timeout_ms;
  o.heartbeat_ms = m.heartbeat_ms;
  o.secret = m.secret;
  o.seed_backends = config_.backends;
  o.seed_params = config_.ring;
  o.stop_transfer_timeout_ms = 2000;
  // Runs on the membership thread: publish at once (workers poll the publisher), then let
  // the control thread start or wake the workers.
  auto sink = [this, report = RingReport(config_)](ring::RingSnapshot ring) mutable {
    if (ring) {
      fit_fd_limit(ring->backends().size());
      report.look(*ring);
    }
    for (const std::string& name : rings_.set_base(std::move(ring)))
      RL_LOG_INFO("backend %s readmitted: its address changed", name.c_str());
    forget_removed_backends();
    post([this] {
      if (stopping_) return;
      forget_removed_ejections();
      if (!workers_started_) {
        if (Status s = start_workers(); !s) {
          RL_LOG_ERROR("%s", s.message().c_str());
          on_signal(SIGTERM);
        }
        return;
      }
      wake_workers();
    });
  };
  auto service = membership::service::MembershipService::start(std::move(o), sink);
  if (!service) return service.status();
  membership_ = std::move(service.value());
  RL_LOG_INFO("membership: node %s, raft on %s, %zu peers, data in %s", m.node_id.c_str(),
              m.listen.c_str(), m.peers.size(), m.data_dir.c_str());
  return Status::ok();
}

void Server::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(task_mu_);
    tasks_.push_back(std::move(task));
  }
  uv_async_send(&task_async_);
}

void Server::run_posted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(task_mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks)
    t();
}

void Server::trim_heap() {
  const uint64_t returned = heap_trimmer_.returned_bytes();
  if (heap_trimmer_.look()) {
    RL_LOG_DEBUG("returned %zu MB of freed heap memory to the system",
                 static_cast<size_t>((heap_trimmer_.returned_bytes() - returned) >> 20));
  }
}

void Server::on_signal(int signum) {
  if (signum == SIGHUP) {
    reload();
    return;
  }
  if (stopping_) return;
  stopping_ = true;
  RL_LOG_INFO("signal %d: draining (up to %u ms; a second SIGTERM or SIGINT stops at once)", signum,
              kShutdownGraceMs);
  // The drain blocks this loop: with the handlers gone, a second SIGTERM or SIGINT takes its
  // default action and ends the process at once. A SIGHUP then changes nothing.
  close_signals();
  ::signal(SIGHUP, SIG_IGN);
  // Membership first: a leader hands leadership over, and no ring is published any more.
  if (membership_) membership_->stop();
  if (admin_) admin_->close();
  stop_workers();
  uv_timer_stop(&sweep_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&sweep_timer_), nullptr);
  uv_timer_stop(&heap_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&heap_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&eject_async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&task_async_), nullptr);
}

void Server::close_signals() {
  for (uv_signal_t* s : signals_) {
    uv_close(reinterpret_cast<uv_handle_t*>(s),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
  }
  signals_.clear();
}

void Server::stop_workers() {
  for (auto& w : workers_)
    w->drain(kShutdownGraceMs);
  for (auto& w : workers_)
    w->join();
  workers_.clear();
  unix_listener_.reset();  // removes the socket file
}

void Server::close_loop() {
  uv_run(&loop_, UV_RUN_NOWAIT);
  uv_loop_close(&loop_);
}

namespace {

// The backends sorted by name: their order in the file places no key.
std::vector<ring::Backend> by_name(std::vector<ring::Backend> backends) {
  std::sort(backends.begin(), backends.end(),
            [](const ring::Backend& a, const ring::Backend& b) { return a.name < b.name; });
  return backends;
}

// "added r4; removed r2; changed r1, r3; ring parameters changed": what a reload changes.
std::string ring_changes(const config::Config& before, const config::Config& after) {
  std::vector<std::string> added, removed, changed;
  for (const ring::Backend& b : after.backends) {
    auto old = std::find_if(before.backends.begin(), before.backends.end(),
                            [&](const ring::Backend& o) { return o.name == b.name; });
    if (old == before.backends.end()) {
      added.push_back(b.name);
    } else if (!(*old == b)) {
      changed.push_back(b.name);
    }
  }
  for (const ring::Backend& b : before.backends) {
    if (std::none_of(after.backends.begin(), after.backends.end(),
                     [&](const ring::Backend& n) { return n.name == b.name; })) {
      removed.push_back(b.name);
    }
  }
  std::string out;
  auto part = [&out](const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out += out.empty() ? "" : "; ";
    out += what;
    for (size_t i = 0; i < names.size(); ++i)
      out += (i == 0 ? " " : ", ") + names[i];
  };
  part("added", added);
  part("removed", removed);
  part("changed", changed);
  if (!(before.ring == after.ring))
    out += out.empty() ? "ring parameters changed" : "; ring parameters changed";
  return out;
}

}  // namespace

void Server::forget_removed_ejections() {
  ring::RingSnapshot r = rings_.current();
  std::erase_if(ejections_, [&r](const auto& entry) { return !r || !r->find(entry.first); });
}

void Server::forget_removed_backends() {
  ring::RingSnapshot r = rings_.current();
  counters_.backends->forget_absent(
      [&r](const std::string& name) { return r && r->find(name).has_value(); });
}

void Server::fit_fd_limit(uint64_t backends) {
  const auto workers = static_cast<uint32_t>(counters_.workers.size());
  const uint32_t max_clients = config_.proxy.max_clients;
  const uint64_t needed =
      descriptors_needed(max_clients, workers, backends, config_.backend.connections);
  const FdLimit fds = raise_fd_limit(needed);
  if (fds.after > fds.before) {
    RL_LOG_INFO("open-file limit raised from %llu to %llu for %llu backends",
                static_cast<unsigned long long>(fds.before),
                static_cast<unsigned long long>(fds.after),
                static_cast<unsigned long long>(backends));
  }
  const uint32_t admitted = clients_admitted(fds.after, needed, max_clients);
  const uint32_t before = counters_.max_clients.exchange(admitted);
  if (admitted < max_clients && admitted != before) {
    RL_LOG_WARN(
        "the open-file limit is %llu (hard limit %llu), below the %llu that proxy.max_clients "
        "= %u and %u workers' connections to %llu backends need: at most %u clients are "
        "admitted. Raise the limit (ulimit -n, LimitNOFILE=) or lower proxy.max_clients",
        static_cast<unsigned long long>(fds.after), static_cast<unsigned long long>(fds.hard),
        static_cast<unsigned long long>(needed), max_clients, workers,
        static_cast<unsigned long long>(backends), admitted);
  } else if (admitted == max_clients && before < max_clients) {
    RL_LOG_INFO("the open-file limit now holds proxy.max_clients = %u clients again", max_clients);
  }
}

void Server::reload() {
  if (config_.source.empty()) return;
  bool ok = true;
  auto record = [this](bool applied) {
    ++(applied ? reloads_ok_ : reloads_error_);
    last_reload_ok_ = applied;
    if (applied) config_loaded_unix_s_ = unix_seconds();
  };
  config::LoadResult loaded = config::load_file(config_.source);
  if (!loaded.ok()) {
    record(false);
    RL_LOG_ERROR("SIGHUP: %s has errors; keeping the running configuration",
                 config_.source.c_str());
    for (const auto& e : loaded.errors)
      RL_LOG_ERROR("  %s", e.to_string().c_str());
    return;
  }
  const config::Config& next = loaded.config;
  std::string reached;  // the own listener a backend of the file is at
  // Each part below is applied or reported on its own: one that cannot change does not keep
  // the others from it.
  if (by_name(next.backends) == by_name(config_.backends) && next.ring == config_.ring) {
    RL_LOG_INFO(raft_mode() ? "SIGHUP: the file's [[backends]] and [ring] unchanged (in raft mode "
                              "they only seed a new group)"
                            : "SIGHUP: [[backends]] and [ring] unchanged");
  } else if (raft_mode()) {
    RL_LOG_WARN(
        "SIGHUP: raft mode: [[backends]] and [ring] of the file only seed a new group; they "
        "change through the admin API (POST /backends, PATCH /backends/NAME, PATCH /ring)");
  } else if (const ring::Backend* loop =
                 config::backend_at_own_listener(config_, next.backends, &reached)) {
    // The file was checked against its own listeners, which take a restart to change: these
    // are the addresses in force.
    ok = false;
    const std::string& at = reached == "proxy.listen"        ? config_.proxy.listen
                            : reached == "admin.listen"      ? config_.admin.listen
                            : reached == "membership.listen" ? config_.membership.listen
                                                             : loop->address;
    RL_LOG_ERROR("SIGHUP: new ring rejected, the running one stays: backend %s (%s) is %s (%s)%s",
                 loop->name.c_str(), loop->address.c_str(),
                 config::own_listener_owner(reached).c_str(), at.c_str(),
                 reached == "proxy.listen" ? "; its requests would come back in"
                                           : ", which does not answer a backend's protocol");
  } else if (auto ring = ring::Ring::build(next.backends, next.ring, 0); !ring) {
    ok = false;
    RL_LOG_ERROR("SIGHUP: new ring rejected, the running one stays: %s", ring.error().c_str());
  } else {
    const std::string changes = ring_changes(config_, next);
    const std::vector<std::string> noticed = config::notices(config_);
    fit_fd_limit(next.backends.size());
    for (const std::string& name : rings_.set_base(ring.value()))
      RL_LOG_INFO("SIGHUP: backend %s readmitted: its address changed", name.c_str());
    forget_removed_backends();
    forget_removed_ejections();
    wake_workers();
    config_.backends = next.backends;
    config_.ring = next.ring;
    RL_LOG_INFO("SIGHUP: published a new ring: %zu backends (%s)", next.backends.size(),
                changes.c_str());
    // What the new ring makes of settings that do not do all they seem to, as at start.
    for (const std::string& notice : config::notices(config_)) {
      if (std::find(noticed.begin(), noticed.end(), notice) == noticed.end())
        RL_LOG_WARN("SIGHUP: %s", notice.c_str());
    }
  }
  if (next.admin.token != config_.admin.token && next.admin.listen != config_.admin.listen) {
    RL_LOG_WARN(
        "SIGHUP: admin.token not changed: admin.listen changed with it, which needs a "
        "restart");
  } else if (next.admin.token != config_.admin.token) {
    Status changed = admin_ ? admin_->set_token(next.admin.token) : Status::ok();
    if (changed) {
      config_.admin.token = next.admin.token;
      RL_LOG_INFO("SIGHUP: admin.token changed: mutations need the new one");
    } else {
      ok = false;
      RL_LOG_ERROR("SIGHUP: %s; keeping the old token", changed.message().c_str());
    }
  }
  // Everything else is read once at start: name each table that changed, so a reload that
  // did not take is never silent.
  std::string restart;
  auto check = [&](bool same, const char* table) {
    if (!same) restart += std::string(restart.empty() ? "" : ", ") + table;
  };
  check(next.proxy == config_.proxy, "[proxy]");
  check(next.backend == config_.backend, "[backend]");
  check(next.replication == config_.replication, "[replication]");
  check(next.membership == config_.membership, "[membership]");
  check(next.admin.listen == config_.admin.listen, "admin.listen");
  check(next.log == config_.log, "[log]");
  if (!restart.empty()) {
    RL_LOG_WARN("SIGHUP: changes in %s need a restart; they were not applied", restart.c_str());
  }
  record(ok);
}

// Any worker thread: ask the control loop to eject a backend.
void Server::queue_ejection(const std::string& name, const std::string& address) {
  {
    std::lock_guard<std::mutex> lock(eject_mu_);
    eject_queue_.emplace_back(name, address);
  }
  uv_async_send(&eject_async_);
}

void Server::apply_ejections() {
  std::vector<std::pair<std::string, std::string>> asked;
  {
    std::lock_guard<std::mutex> lock(eject_mu_);
    asked.swap(eject_queue_);
  }
  auto until =
      RingPublisher::Clock::now() + std::chrono::milliseconds(config_.backend.retry_timeout_ms);
  for (const auto& [name, address] : asked) {
    if (!rings_.eject(name, address, until)) continue;
    Ejections& e = ejections_[name];
    ++e.count;
    const uint64_t now = monotonic_ns();
    e.last_logged = e.logged_ns == 0 || now - e.logged_ns >= kEjectionLogIntervalNs;
    if (!e.last_logged) {
      ++e.unlogged;
    } else if (e.unlogged == 0) {
      RL_LOG_WARN("backend %s ejected from the ring for %u ms", name.c_str(),
                  config_.backend.retry_timeout_ms);
    } else {
      RL_LOG_WARN(
          "backend %s ejected from the ring for %u ms (ejected %llu more times since the "
          "last such line; lines are at most a minute apart)",
          name.c_str(), config_.backend.retry_timeout_ms,
          static_cast<unsigned long long>(e.unlogged));
    }
    if (e.last_logged) {
      e.logged_ns = now;
      e.unlogged = 0;
    }
    wake_workers();
  }
}

void Server::sweep_ejections() {
  auto readmitted = rings_.expire(RingPublisher::Clock::now());
  for (const auto& name : readmitted) {
    auto it = ejections_.find(name);
    if (it == ejections_.end() || it->second.last_logged) {
      RL_LOG_INFO("backend %s back in the ring (retrying)", name.c_str());
    }
  }
  if (!readmitted.empty()) wake_workers();
}

void Server::wake_workers() {
  for (auto& w : workers_)
    w->wake();
}

Status ProxyServer::validate(const config::Config& config) {
  auto addr = listen_address(config.proxy.listen);
  if (!addr) return addr.status();
  if (addr.value().ss_family == AF_UNIX) {
    if (Status s = UnixListener::check_place(unix_socket_path(addr.value())); !s) {
      return Status::error("proxy.listen: " + s.message());
    }
  }
  const bool raft = config.membership.mode != config::MembershipMode::kStatic;
  if (!raft && config.backends.empty()) return Status::error("no backends configured");
  if (!config.backends.empty()) {
    auto ring = ring::Ring::build(config.backends, config.ring, 0);
    if (!ring) return Status::error("ring: " + ring.error());
  }
  if (raft) {
    if (Status s = membership::storage::FileStorage::check_usable(config.membership.data_dir); !s) {
      return Status::error("membership.data_dir " + s.message());
    }
  }
  if (raft && !config.backends.empty()) {
    // The seed must pass the membership's rules (field lengths, backend count, ...): check it
    // now, not when the first leader proposes it and every instance refuses it, which would
    // leave the group with no ring to serve.
    membership::state::MembershipState seeded;
    if (Status s = seeded.apply(membership::state::Seed{config.ring, config.backends}); !s) {
      return Status::error("[[backends]] and [ring] cannot seed the membership: " + s.message());
    }
  }
  auto protocol = make_protocol(config.proxy.protocol);
  return protocol ? Status::ok() : protocol.status();
}

Result<std::unique_ptr<ProxyServer>> ProxyServer::create(config::Config config) {
  if (Status s = validate(config); !s) return s;
  auto addr = listen_address(config.proxy.listen);
  if (!addr) return addr.status();
  ring::RingSnapshot initial;  // raft mode: none until the membership is applied
  if (config.membership.mode == config::MembershipMode::kStatic) {
    auto ring = ring::Ring::build(config.backends, config.ring, 0);
    if (!ring) return Status::error("ring: " + ring.error());
    initial = ring.value();
  }
  auto protocol = make_protocol(config.proxy.protocol);
  if (!protocol) return protocol.status();
  return std::unique_ptr<ProxyServer>(
      new Server(std::move(config), std::move(protocol.value()), initial, addr.value()));
}

}  // namespace ringleader::proxy
