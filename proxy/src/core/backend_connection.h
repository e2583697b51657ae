// BackendConnection: one pipelined TCP connection from a worker to a backend.
//
// Fragments are written in the order send() is called and replies are matched to them in
// the same order. A connection is lazily connected on the first send(); while it connects
// (and authenticates), fragments wait in order. Connect timeout, request timeout, a broken
// stream or a refused handshake fail every fragment this connection holds with an error
// naming the backend, close the socket, and start a backoff during which send() fails at
// once. Owned by its BackendPool; single-threaded (the worker's loop).
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <uv.h>

#include <deque>
#include <memory>
#include <string>

#include "fair_queue.h"
#include "gather_rule.h"
#include "io_batch.h"
#include "io_buffer.h"
#include "pending_request.h"
#include "protocol.h"
#include "read_budget.h"
#include "recent_clients.h"
#include "recent_list.h"

namespace ringleader::proxy {

class BackendPool;

class BackendConnection final : public IoBatch::Writer {
 public:
  // Connects to the pool's address, resolving a host name at every attempt.
  BackendConnection(uv_loop_t* loop, BackendPool& pool, Protocol& protocol);
  BackendConnection(const BackendConnection&) = delete;
  BackendConnection& operator=(const BackendConnection&) = delete;

  // Takes a reference on req while part `part` (PendingRequest::part) is held here.
  void send(PendingRequest* req, uint32_t part);
  // Starts connecting now if the connection is idle (backend.preconnect). A failure counts
  // and backs off as for a connection a request asked for.
  void preconnect();

  // Writes what send() queued (called by the worker after the loop's I/O callbacks).
  void flush();

  // Fragments written or waiting here.
  size_t load() const { return waiting_.size() + in_flight_.size() + turns_.size(); }

  // Outstanding fragments (waiting for the connection, queued to be written, or written and
  // unanswered) past which further ones wait in turns_, taken round robin by client as
  // replies make room. Far above what a pipelined load keeps outstanding (50 clients at
  // -P 16 keep about 200 per backend), so only a flood waits. Lower limits cost a flood's
  // throughput: a loop iteration refills a connection once, so the limit is what one
  // backend round trip can carry (1,024 halved the throughput of 1,000 clients at -P 500).
  static constexpr size_t kMaxOutstanding = 16384;
  // Fragments a client gives per turn: a client's replies that leave together share one
  // write to it (a quantum of 1 made a flood cost one client write per reply), and a
  // request sent during a flood of N clients waits for at most
  // kMaxOutstanding + kTurnQuantum * N ahead of it, not for the whole flood.
  static constexpr size_t kTurnQuantum = 64;
  // Longest reply to a handshake command (AUTH, SELECT: a status or a short error) that is
  // buffered; a longer one fails the connection as it arrives.
  static constexpr size_t kMaxHandshakeReplyBytes = 64 * 1024;
  // Bytes queued for the socket (out_pending_) or waiting for the connection (waiting_), past
  // which further fragments wait in turns_ too. A backend that stops reading (or is slow to
  // connect) then holds one write's bytes in flight and at most this much more, not a second
  // copy of every request queued for it (those stay counted against the worker's queue limit
  // alone). A single larger request still goes out alone.
  static constexpr size_t kMaxWriteBufferBytes = 4 * 1024 * 1024;
  // Fragments waiting for the connection or in in_flight_: at most kMaxOutstanding.
  size_t outstanding() const { return waiting_.size() + in_flight_.size(); }
  // Whether one more fragment may be queued rather than wait its turn: fewer than
  // kMaxOutstanding outstanding and fewer than kMaxWriteBufferBytes queued or waiting.
  bool has_room() const {
    return outstanding() < kMaxOutstanding &&
           out_pending_.size() + waiting_bytes_ < kMaxWriteBufferBytes;
  }

  // Fails what it holds, closes its handles and deletes itself once libuv has run their
  // close callbacks. The caller must not touch the object afterwards.
  void shutdown(const std::string& why);

 private:
  ~BackendConnection() = default;  // only through shutdown()
  enum class State : uint8_t { kIdle, kConnecting, kHandshake, kReady, kBackoff, kClosed };
  struct Held {
    PendingRequest* req;
    uint32_t fragment;
    uint64_t deadline_ns;
    uint64_t sent_ns;  // when it was handed to this connection
  };
  struct Socket;   // uv_tcp_t plus a back pointer; freed in its close callback
  struct WriteOp;  // uv_write_t plus the bytes it writes; freed in its callback

  // Resolves the pool's host name first when it has one (asynchronously), then connects.
  void start_connect();
  void on_resolved(int status, const addrinfo* found);
  void connect_to(const sockaddr_storage& address);
  void on_connected(int status);
  // Why the connection just made reached this instance itself (one of its own listeners, see
  // own_listener.h; or its own Unix-domain proxy.listen, by the process at the other end),
  // not a backend; "" when it did not.
  std::string loops_back();
  // A connection attempt failed (`error` says how): fails what waits, backs off, and counts
  // the backend unreachable (BackendPool::note_connect_failure: /readyz,
  // ringleader_backend_up, the log). So does a server that took the connection but will not
  // serve it: a refused or unanswered handshake, a refusal in its first reply. The backend is
  // reachable again (BackendPool::note_connected) once a connection is ready: its handshake
  // accepted, or made when there is none.
  void connect_failed(const std::string& error);
  // A connection attempt failed for want of a descriptor (`err`: UV_EMFILE or UV_ENFILE): the
  // proxy's own limit, not the backend's fault. What waits fails and the connection backs off
  // as for any failed connect, but it counts toward neither the backend's failure_limit (it
  // is not ejected) nor its unreachable time.
  void out_of_descriptors(int err);
  void on_read(ssize_t nread);
  void on_write_done(int status);
  void on_batched_write(int result) override;  // the write flush() started is done
  void on_handle_closed();
  void on_timer();
  void process_replies();
  void request_flush();
  // Gives back an empty write buffer's memory past kKeptWriteBytes.
  void release_write_buffer();
  // Gathering: whether to hold back a write of `unwritten` requests to a backend that has
  // nothing to answer. A backend woken for a few requests spends more on waking (its poll,
  // read and write system calls, a context switch) than on them, and under load its server,
  // not the proxy, becomes what limits throughput; on shared cores the wakeup also costs the
  // proxy (the send that wakes it, the switch when it runs). GatherRule decides, by two rules:
  //  - The share: while the worker's loop is loaded (PoolOwner::loop_load: its requests
  //    already wait for its iterations) and something else is due (see below), for the
  //    requests this connection can expect from the worker's clients (share_goal()). It is
  //    checked when a poll returns (the timer bounds a poll that does not). Many clients with
  //    a request or a few each in flight are what this is for: they are served in fewer,
  //    larger batches, and the cores the proxy shares with the servers wake them less often.
  //  - The rate: when requests have been arriving fast, while every poll of the loop brings
  //    this backend more.
  // The poll blocks only while something else is due (another backend's replies, a client's
  // next requests) and became due within GatherRule::kWindowNs: one of them ends it soon.
  // Otherwise it only looks, so clients waiting on this very batch never leave it to the
  // timer, neither when nothing else is due nor when all that is due is a backend stuck on a
  // slow command. A gathering ends at the timer (about a millisecond when the loop falls
  // idle), and never holds kHoldBytes or more. At a low rate no write waits, nor does the
  // request of a client that is alone in sending to this connection: it goes out at once.
  bool gather(size_t unwritten);
  // The share rule's goal for a gathering starting at `now_ns` (clients answered since
  // `since_ns` count), or 0 when the rule does not apply: the backend's share of the
  // worker's expected requests (PoolOwner::expected_per_backend) over its connections, no
  // more than the clients that have been sending to this one (clients_), and 2 or more.
  size_t share_goal(uint64_t since_ns, uint64_t now_ns) const;
  // A write of `requests` goes out now: ends a gathering, updates the arrival averages.
  void note_write(size_t requests);
  void stop_gathering();
  // Sets on_wire_; at 0 the connection leaves PoolOwner::awaiting_replies (flush() joins it).
  void set_on_wire(size_t n);
  void write_waiting();
  // A read whose client closed before it was answered (PendingRequest::abandoned), still
  // waiting for its turn: finished here, not sent, as nobody will read its reply. Under a
  // flood, clients that give up and reconnect would otherwise leave their reads to be run
  // after them. Writes still go: a write may apply wherever it was sent, and its copies must
  // reach every replica. False for anything else.
  bool drop_abandoned_read(const Held& held);
  // Moves fragments from turns_ to in_flight_, by client in turn, while there is room
  // (has_room(); state kReady only).
  void take_turns();
  void arm_timer();
  // Closes the socket and fails every request it holds with `why`; with `why_behind`, only the
  // first in flight gets `why` and the others that (the head timed out, they did not).
  // `count_failure`: one failure for the pool's ejection count, however many requests fail.
  void fail_all(const std::string& why, bool count_failure, const std::string& why_behind = {});
  void finish(Held held, FragmentState state, std::string_view reply_or_error);
  // The request whose reply_bytes the head reply counts in: null when no request awaits it,
  // or when it is a copy of a write (bounded alone: one copy answers).
  PendingRequest* budget_of_head() const;
  // True when a head reply of `head` bytes (buffered or declared) does not fit its request's
  // budget: backend.max_reply_bytes less what the request's other replies take.
  bool over_budget(size_t head) const;
  // Counts a head reply of `head` bytes so far in its request's reply_bytes.
  void charge_head(size_t head);
  // Takes the head reply's bytes back out of its request's reply_bytes; before the head
  // request leaves in_flight_.
  void release_head_charge();
  // The head reply (`head` bytes so far) is over budget: answers its request with an error
  // (once) and drops what the framer has settled of it. False when no request awaits it.
  bool drop_oversized_reply(size_t head);
  // Bytes that answer no request handed to the socket (nothing written, or more replies than
  // requests written): the connection fails, and with it every request it holds, rather than
  // hand them to requests that were never sent.
  void unexpected_reply();
  // Whether the reply being read answers no request: one to the handshake, or bytes with no
  // request on the wire (a server refusing a preconnected connection, say). Requests queued
  // behind a held write are not its owners.
  bool owned_by_no_request() const;
  // Such a reply is read only up to kMaxHandshakeReplyBytes: past that (`bytes` so far), the
  // connection fails and this is true.
  bool unowned_reply_too_long(size_t bytes);
  void close_socket();

  uv_loop_t* loop_;
  BackendPool& pool_;
  Protocol& protocol_;
  struct Resolve;
  Resolve* resolve_ = nullptr;  // a host-name lookup in flight; detached when abandoned
  std::unique_ptr<ReplyFramer> framer_;
  State state_ = State::kIdle;
  Socket* socket_ = nullptr;     // non-null from connect until close
  uv_timer_t timer_;             // connect / request deadlines
  uv_prepare_t gather_prepare_;  // while gathering: asks for a flush after the next poll
  uv_idle_t gather_idle_;        // while gathering with no replies due: the poll only looks
  uv_timer_t gather_timer_;      // while gathering: the bound when the loop falls idle
  // timer_, the three gather_ handles, and socket_ when set; delete this at 0 after shutdown.
  int open_handles_ = 4;
  GatherRule gather_;      // the gathering under way, and the arrival averages it judges by
  RecentClients clients_;  // the clients that have been sending to this connection
  uint64_t backoff_until_ns_ = 0;
  uint32_t backoff_step_ = 0;
  // Whether requests refused until backoff_until_ns_ count as failures: not after a timeout
  // (the backend was there, only slow: one busy spell is one failure, not one per request
  // that arrived during the backoff).
  bool backoff_refusals_count_ = true;
  std::string last_error_;
  size_t handshake_pending_ = 0;  // handshake replies still expected
  // A reply after the handshake, not to a script, came on this socket: later replies are
  // never read as the server refusing the connection.
  bool replied_ = false;

  std::deque<Held> waiting_;    // not yet written (not connected yet)
  size_t counted_waiting_ = 0;  // leading waiting_ entries already in fragments_sent
  size_t waiting_bytes_ = 0;    // their payloads' bytes together
  std::deque<Held> in_flight_;  // queued or written, awaiting replies in this order
  // Past kMaxOutstanding: fragments waiting for room, by client lane (PendingRequest::lane).
  // Non-empty only while there is no room (has_room()), and every fragment sent meanwhile
  // joins it, so a client's fragments still leave in its order.
  FairQueue<Held> turns_{kTurnQuantum};
  size_t on_wire_ = 0;         // leading in_flight_ entries already handed to the socket
  RecentList::Node awaiting_;  // in PoolOwner::awaiting_replies while on_wire_ > 0
  IoBuffer in_;
  ReadBudget read_budget_;
  bool discarding_ =
      false;  // the head reply is oversized: its request is answered, its bytes dropped
  // While discarding_: the deadline of the request the dropped reply answered. The rest of the
  // reply must arrive by then, as a reply held whole would have had to; a backend that stalls
  // in the middle of it fails the connection even when nothing else is in flight.
  uint64_t discard_deadline_ns_ = 0;
  // When the socket last delivered bytes. Deadlines (a request's, the rest of a dropped
  // reply's) are pushed back to timeout_ms after it: a backend streaming replies is answering,
  // and a request queued behind a long stream of them is not timed out by it (which also
  // failed every request behind it, and counted toward the backend's ejection).
  uint64_t last_read_ns_ = 0;
  // The same for a request too big for the socket to take at once (written through libuv's
  // queue): when the backend last took some of it, from libuv's queue or from the kernel's
  // send queue behind it. Its reply cannot come before its last byte was read, so its time
  // counts from there. Writes the socket takes whole are not progress: a stopped backend's
  // socket still takes those until its buffers are full, and only its reading empties them.
  uint64_t last_write_progress_ns_ = 0;
  size_t unsent_seen_ = 0;  // unsent_bytes() at the last look
  // Bytes written to the socket that the backend's side has not taken yet (libuv's queue and
  // the kernel's send queue).
  size_t unsent_bytes() const;
  // A deadline as it stands, given the reads (and queued-write progress) since it was set.
  uint64_t pushed_back(uint64_t deadline_ns) const;
  // Whether the socket holds bytes not read yet.
  bool bytes_waiting() const;
  // Bytes of the head reply counted in in_flight_.front()'s PendingRequest::reply_bytes.
  size_t head_charge_ = 0;
  std::string out_pending_;         // bytes not yet handed to a write
  bool writing_ = false;            // a write of the current socket is in progress
  size_t attempted_ = 0;            // bytes of out_pending_ handed to that write
  Socket* write_socket_ = nullptr;  // the socket it went to
  bool flush_scheduled_ = false;
  bool connected_ = false;  // counted in the backend's connection gauge
};

}  // namespace ringleader::proxy
