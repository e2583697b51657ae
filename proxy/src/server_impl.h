// Server: the ProxyServer implementation. The thread that calls run() is the control thread:
// it runs the control loop (signals, ejections, the admin API) while the workers serve.
//
// Threading: everything here is touched by the control thread only, except `rings_`
// (RingPublisher is thread-safe), `counters_` (atomics) and queue_ejection(), which
// workers call.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "admin/admin_service.h"
#include "core/counters.h"
#include "core/fd_limit.h"
#include "core/heap_trimmer.h"
#include "core/protocol.h"
#include "core/ring_publisher.h"
#include "core/unix_listener.h"
#include "core/worker.h"
#include "membership/service/membership_service.h"
#include "proxy/server.h"

namespace ringleader::proxy {

namespace admin {
class AdminServer;
}

class Server final : public ProxyServer, public admin::AdminService {
 public:
  Server(config::Config config, std::unique_ptr<Protocol> protocol, ring::RingSnapshot ring,
         sockaddr_storage addr);
  ~Server() override;

  int run() override;

  // --- AdminService (server_admin.cc, server_metrics.cc) ---
  std::string metrics_text() override;
  admin::AdminReply health() override;
  admin::AdminReply readiness() override;
  void ring(bool consistent, Reply reply) override;
  admin::AdminReply lookup(std::string_view key) override;
  admin::AdminReply cluster() override;
  void add_backend(const nlohmann::json& body, Reply reply) override;
  void remove_backend(const std::string& name, Reply reply) override;
  void update_backend(const std::string& name, const nlohmann::json& body, Reply reply) override;
  void drain_backend(const std::string& name, Reply reply) override;
  void undrain_backend(const std::string& name, Reply reply) override;
  void update_ring(const nlohmann::json& body, Reply reply) override;
  void add_peer(const nlohmann::json& body, Reply reply) override;
  void remove_peer(const std::string& id, Reply reply) override;

 private:
  Status start_workers();
  Status start_membership();
  // Thread-safe: runs `task` on the control thread (membership callbacks come from the
  // membership thread).
  void post(std::function<void()> task);
  void run_posted();
  // Raft mode: proposes `command` and answers `reply` (on the control thread) once it is
  // applied locally, with the new epoch, or with the reason it was not.
  void propose(membership::state::Command command, nlohmann::json echo, Reply reply);
  // 200 with `echo` and the applied entry's index under `index_key` ("epoch" for a change of
  // the ring: its index is the new ring epoch), or the error.
  void answer_applied(Result<uint64_t> applied, nlohmann::json echo, Reply reply,
                      const char* index_key = "epoch");
  // POST /backends refused with `refusal`: 200 with `echo`, the backend's state, the current
  // epoch and "unchanged" when (after a linearizable read) the ring holds exactly the backend
  // `asked` for, name, address, weight and zone; else 409 with the refusal.
  void answer_existing_backend(const ring::Backend& asked, const std::string& refusal,
                               nlohmann::json echo, Reply reply);
  bool raft_mode() const { return config_.membership.mode == config::MembershipMode::kRaft; }
  nlohmann::json ring_json(const ring::RingSnapshot& r);
  void on_signal(int signum);
  void stop_workers();
  void close_signals();
  void close_loop();
  void reload();
  // Raises the open-file limit toward what `backends` backends need and sets the clients
  // admitted (counters_.max_clients) to what it holds, saying so when that changes. Any
  // thread (the membership sink calls it).
  void fit_fd_limit(uint64_t backends);
  // Drops the statistics of backends that left the ring once no pool holds them any more
  // (BackendStatsRegistry::forget_absent). Any thread.
  void forget_removed_backends();
  // Drops the ejection counts of backends that left the ring. Control thread.
  void forget_removed_ejections();
  void queue_ejection(const std::string& name, const std::string& address);
  void apply_ejections();
  void sweep_ejections();
  // Gives the memory a burst left free in malloc's arenas back to the system. glibc keeps
  // freed chunks for reuse and returns only the top of each arena: after pipelined bursts of
  // 40 KB replies the workers' arenas held hundreds of MB, free, for good. Checked every
  // kHeapTrimMs; trimmed when heap_trimmer_'s rule says (freed memory left resident).
  void trim_heap();
  void wake_workers();
  admin::AdminReply static_membership_refusal() const;

  config::Config config_;  // control thread; workers read only fields that never change
  std::unique_ptr<Protocol> protocol_;
  RingPublisher rings_;
  sockaddr_storage addr_;
  std::unique_ptr<UnixListener> unix_listener_;  // a unix: proxy.listen, once workers start
  ProxyCounters counters_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<admin::AdminServer> admin_;  // null when admin.listen is empty
  // Raft mode only. Its callbacks run on the membership thread and reach the control thread
  // through post(). Stopped before the workers, so it never publishes to stopped workers.
  std::unique_ptr<membership::service::MembershipService> membership_;
  bool workers_started_ = false;  // raft mode starts them with the first applied ring
  bool stopping_ = false;
  uv_async_t task_async_;
  std::mutex task_mu_;
  std::vector<std::function<void()>> tasks_;  // guarded by task_mu_
  // Per backend: times ejected, and what the log said of it. A backend that stays dead is
  // ejected and readmitted every retry_timeout_ms while requests come: after the first, an
  // ejection is logged at most once a minute (with the count since), and a readmission only
  // after a logged ejection.
  struct Ejections {
    uint64_t count = 0;
    uint64_t logged_ns = 0;  // monotonic time of the last logged ejection
    uint64_t unlogged = 0;   // ejections since then
    bool last_logged = false;
  };
  std::map<std::string, Ejections> ejections_;  // control loop only
  // SIGHUP reloads: how many applied what they could ("ok") or were refused in part or whole
  // ("error": the file had errors, the ring or the token could not change), the last one's
  // outcome, and when the configuration in force was last loaded without error.
  uint64_t reloads_ok_ = 0;
  uint64_t reloads_error_ = 0;
  bool last_reload_ok_ = true;
  double config_loaded_unix_s_ = 0;
  uv_loop_t loop_;
  uv_async_t eject_async_;
  uv_timer_t sweep_timer_;
  uv_timer_t heap_timer_;
  // Freed memory left resident that asks for a trim at once (a small part of what a burst
  // of big values takes), and what asks for one when it is still there a sample later.
  static constexpr size_t kHeapTrimBytes = size_t{16} << 20;
  static constexpr size_t kHeapSettledBytes = size_t{1} << 20;
  HeapTrimmer heap_trimmer_{kHeapTrimBytes, kHeapSettledBytes};  // see trim_heap()
  std::vector<uv_signal_t*> signals_;
  std::mutex eject_mu_;
  std::vector<std::pair<std::string, std::string>> eject_queue_;  // (name, address); eject_mu_
};

}  // namespace ringleader::proxy
