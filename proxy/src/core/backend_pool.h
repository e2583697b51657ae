// BackendPool: one worker's connections to one backend (backend.connections of them), its
// failure accounting, and the address they connect to.
//
// Failure accounting: every failure of a connection (a request timeout, a refused or broken
// connection, a failed handshake) counts one failure, however many requests it fails, and so
// does every request refused while the connection waits to reconnect, unless what it waits
// after is a timeout (a slow backend is not a dead one: a busy spell counts once, and each
// timeout after the reconnect once more); any reply resets the count. At failure_limit consecutive
// failures the pool asks the worker to eject the backend from this instance's ring (the
// control thread does it, for retry_timeout_ms), and again after every further
// failure_limit failures (the request is ignored while the backend is still ejected).
// Single-threaded: the worker's loop.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "counters.h"
#include "io_batch.h"
#include "loop_load.h"
#include "pending_request.h"
#include "protocol.h"
#include "recent_list.h"
#include "ring/backend.h"

namespace ringleader::proxy {

class BackendConnection;

// What pools need from their worker.
class PoolOwner {
 public:
  virtual ~PoolOwner() = default;
  // Asks to eject the backend `backend_name` at `address`: a pool of an address the backend
  // no longer has (still finishing its requests) must not eject it at its new one.
  virtual void request_ejection(const std::string& backend_name, const std::string& address) = 0;
  virtual WorkerCounters& counters() = 0;
  // Writes are coalesced: a connection asks to be flushed once, after this loop
  // iteration's I/O callbacks, so requests of many clients share one write.
  virtual void schedule_flush(BackendConnection* connection) = 0;
  // While flushing: takes a socket write to perform together with the iteration's other
  // writes (the writer hears the outcome later in the flush). False: write it yourself.
  virtual bool queue_write(int fd, const char* data, size_t len, IoBatch::Writer* writer) = 0;
  virtual Protocol& protocol() = 0;
  // Sends part `part` of `req` to `backend` of req->ring through the owner's pool for it, or
  // fails the part at once when the owner has none. Needs no client: a conditional write's
  // follow-ups go out after its client has gone.
  virtual void send_part(PendingRequest* req, uint32_t part, ring::BackendIndex backend) = 0;
  // Which of the instance's own listeners a backend connection to `peer` reached
  // (own_listener_connected: "proxy.listen", ...); "" when none. Such a connection is refused.
  virtual std::string own_listener_at(const sockaddr_storage& peer) = 0;

  // What may end the loop's next poll soon. BackendConnection::gather lets the poll block
  // only while a member of either joined within GatherRule::kWindowNs: a backend that has not
  // answered for longer is busy (a slow command, a stall), and a client answered longer ago
  // has gone quiet; waiting for them would leave a gathered write to its timer.
  //   awaiting_replies — backend connections with a write out whose replies are still due,
  //                      joined at their latest write;
  //   clients_due — clients whose every request was answered and that have not sent since,
  //                 joined when the last reply was queued (a pipelining client sends its next
  //                 batch when its replies arrive); the quiet-client sweep takes out those
  //                 that stay quiet.
  RecentList awaiting_replies;
  RecentList clients_due;
  // How busy the loop has been lately (sampled by the owner once per iteration): a busy loop
  // gathers writes to idle backends at a lower rate (BackendConnection::gather).
  LoopLoad loop_load;
  // Requests each backend can expect from the owner's clients before it answers what they
  // wait for: the requests queued in the owner (read, not yet answered) and one for each
  // client answered at or after `since_ns` (it sends its next requests once its replies
  // arrive), spread evenly over the ring's backends. An estimate for a closed loop of clients
  // (each waits for its replies before sending more), which is what a busy loop gathers by.
  // At most `cap`.
  virtual size_t expected_per_backend(uint64_t since_ns, size_t cap) const = 0;
};

class BackendPool {
 public:
  // Prepares the connections to `backend.address`; they connect on first use. An IP address
  // is parsed here; a host name is resolved at every connection attempt (without blocking the
  // loop), so a failed lookup fails and counts like a refused connection, and a name that
  // moves is followed on reconnect.
  static Result<std::unique_ptr<BackendPool>> create(uv_loop_t* loop, PoolOwner& owner,
                                                     Protocol& protocol,
                                                     const config::BackendPoolConfig& config,
                                                     const ring::Backend& backend,
                                                     std::shared_ptr<BackendStats> stats,
                                                     uint32_t worker_id);
  ~BackendPool();

  const std::string& name() const { return name_; }
  const std::string& address() const { return address_; }
  const config::BackendPoolConfig& config() const { return config_; }
  WorkerCounters& counters() { return owner_.counters(); }
  PoolOwner& owner() { return owner_; }
  // This worker's slot of the backend's statistics.
  BackendStats::Slot& stats() { return *stats_->slots[worker_id_]; }

  // Sends part `part` of `req` (PendingRequest::part) on the connection of its lane: one
  // client's requests share a connection, so the backend runs them in the client's order.
  void send(PendingRequest* req, uint32_t part);
  // No request is waiting for or awaiting a reply on any of its connections.
  bool idle() const;
  // Starts connecting every idle connection (backend.preconnect).
  void preconnect();

  // A reply arrived. Reads the shared count and writes it only when a run of failures ends,
  // so workers answering steadily do not contend for its cache line.
  void report_success() {
    if (!retired_ && stats_->consecutive_failures.load(std::memory_order_relaxed) != 0) {
      end_failure_run();
    }
  }
  // A request or connection failed; `why` names the backend and the cause. After
  // backend.failure_limit failures in a row, counted over all workers, the backend is
  // ejected. A run of failures is logged when it starts and when it ends (at most once a
  // minute), whether or not ejection is on.
  void report_failure(const std::string& why);
  // A request timed out: a failure, unless a timeout of this backend (on any worker) counted
  // within the last backend.timeout_ms, so that one busy spell of a reachable backend counts
  // once however many connections it stalled.
  void report_timeout(const std::string& why);

  // "backend NAME (ADDRESS)": how errors name this backend.
  std::string describe() const { return "backend " + name_ + " (" + address_ + ")"; }

  // The address to connect to when it is an IP literal or a Unix socket path; null when
  // host() must be resolved.
  const sockaddr_storage* fixed_address() const { return fixed_ ? &*fixed_ : nullptr; }
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }

  // Connection attempts, for the log: the first failure of an outage is logged (with `error`)
  // and then at most once a minute, across all workers; the first success after it too.
  void note_connect_failure(const std::string& error);
  void note_connected();
  // A connection not opened for want of a descriptor (`error` says which limit): logged at
  // most every 10 s in the whole process, as the limit is the process's.
  void note_out_of_descriptors(const std::string& error);
  // The backend left the ring or moved to another address; this pool only finishes the
  // requests it holds. Its connection outcomes no longer speak for the backend's name.
  void retire() { retired_ = true; }

 private:
  void end_failure_run();
  BackendPool(PoolOwner& owner, const config::BackendPoolConfig& config, std::string name,
              std::string address, std::shared_ptr<BackendStats> stats, uint32_t worker_id);

  PoolOwner& owner_;
  config::BackendPoolConfig config_;
  std::string name_;
  std::string address_;
  std::string host_;
  uint16_t port_ = 0;
  std::optional<sockaddr_storage> fixed_;
  std::vector<BackendConnection*> connections_;  // owned; shut down in the destructor
  bool retired_ = false;
  std::shared_ptr<BackendStats> stats_;
  uint32_t worker_id_;
};

// Called by a backend connection when part `part` of `req` (a fragment or a copy of one, see
// PendingRequest::part) has reached kDone or kFailed. Defined with the client side, which
// applies replication (read failover, write acknowledgements) and turns complete requests
// into replies. `owner` sends the fragments that waited for this one (Fragment::after).
void on_fragment_finished(PoolOwner& owner, PendingRequest* req, uint32_t part);

}  // namespace ringleader::proxy
