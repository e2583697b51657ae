// ClientConnection: one client socket on a worker, its protocol session, and the queue of
// its requests in arrival order. Replies are written strictly in that order: a complete
// request waits behind incomplete ones; a slow backend delays only the replies after it.
//
// Lifetime: created on accept, deletes itself after close() once libuv has closed its
// handles. Requests still waiting on backends when it closes are detached and finish
// without it. Single-threaded (the worker's loop).
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "io_batch.h"
#include "io_buffer.h"
#include "pending_request.h"
#include "protocol.h"
#include "read_budget.h"
#include "recent_list.h"
#include "ring_queue.h"
#include "uv_util.h"

namespace ringleader::proxy {

class Worker;

class ClientConnection final : public IoBatch::Writer, public ClientEndpoint {
 public:
  // How long ready replies wait for the rest of the replies to their read (see write_out):
  // long enough for the other backends of a pipelined batch to answer, short enough that a
  // backend busy with a slow command delays only what must follow its reply.
  static constexpr uint64_t kReplyHoldNs = 1000 * 1000;
  // A node of Worker::held_replies, and the connection it belongs to.
  struct HeldReplies : RecentList::Node {
    ClientConnection* client = nullptr;
  };
  // Parsing shares. A client may parse kParseQuantum requests per loop iteration, and more
  // while its worker has parsed fewer than Worker::kParseBudget in the iteration. Past that,
  // its buffered input waits, and it reads no more, until the worker takes it up again
  // (Worker::parse_backlog, oldest first, in later iterations). So a flood that arrives all
  // at once from many clients is parsed over several iterations, with replies written and
  // other clients read in between, and one iteration parses about kParseBudget requests plus
  // kParseQuantum per client read in it. A client that sends a few requests at a time never
  // waits for this.
  static constexpr size_t kParseQuantum = 64;
  struct ParseBacklog : RecentList::Node {
    ClientConnection* client = nullptr;
  };

  // Accepts one pending connection on `listener`. Over max_clients, the client gets an error
  // reply and is closed.
  static void accept(Worker& worker, StreamHandle& listener);

  // A request of this client has every fragment finished: merge and write what is in order.
  void on_request_ready(PendingRequest* req);
  // A read fragment of `req` finished: when it got no reply, or a miss with
  // replication.miss_failover, sends it to its next replica if one is left (true). False: its
  // outcome stands (after a failure that follows an earlier replica's miss, the miss).
  bool fail_over(PendingRequest* req, uint32_t fragment);

  // What `req` holds for this client (its replies, or what has arrived of them) is now
  // `bytes`. Replies that wait behind an earlier unanswered request count toward
  // proxy.max_client_output_bytes like replies written but unread: a client past the limit
  // is closed, here if need be.
  void charge_held(PendingRequest& req, size_t bytes);

  // Closes now, dropping unwritten replies.
  void close();
  // Closes once the queue is empty and written (graceful shutdown).
  void close_when_idle();
  // Writes the replies queued in this loop iteration (called by the worker).
  void flush_writes();
  // The worker ended this connection's hold (kReplyHoldNs passed): writes what is ready.
  void write_held();
  // The worker took this client out of its parse backlog: parses on (see kParseQuantum).
  void resume_parsing() { process_input(); }
  bool idle() const {
    return queue_.empty() && !writing_ && out_pending_.empty() && out_chunks_.empty() &&
           !backlog_.linked();
  }
  // Requests read and not yet answered (their replies not yet queued for writing).
  size_t unanswered() const { return queue_.size(); }
  // A client that has neither read nor written for `quiet_ns` gives back its buffers: the
  // input buffer when it holds no partial request, the output buffers when nothing waits to
  // be written, and what its session keeps between requests. Without this, every client
  // that once sent or received a big value would keep a buffer of that size for as long as
  // it stays connected. Called by the worker's sweep (Worker::sweep_quiet_clients).
  void release_buffers_if_quiet(uint64_t now_ns, uint64_t quiet_ns);
  // Whether the peer is gone (reset, or closed both ways) while the connection is not read:
  // paused behind its full queue or the worker's, or waiting for a request that others wait
  // for. libuv reports that only to a reader, or to a write, which may be far off behind a
  // flood; the worker's sweep closes such a client, abandoning its requests and freeing its
  // max_clients place. A peer that only shut down its sending side still waits for its
  // answers: not gone.
  bool gone_while_not_reading() const;

  // ClientEndpoint
  std::string peer_address() const override;
  std::string local_address() const override;
  int fd() const override;
  uint64_t connected_ns() const override { return connected_ns_; }
  ClientBuffers buffers() const override;

 private:
  ClientConnection(Worker& worker, std::unique_ptr<Session> session);
  ~ClientConnection() = default;  // only via close()

  void start(bool admitted);
  void on_read(ssize_t nread);
  void process_input();
  // Sends the request's fragments: kDirect ones to their backend, reads to the first replica
  // in policy order, writes as one copy per replica (see replication.h).
  void dispatch(PendingRequest* req);

  void send_copies(PendingRequest* req, uint32_t fragment);
  void record(const PendingRequest& req);  // statistics for a reply about to be written
  // Whether what waits for the client, written or held behind the first request in the queue,
  // is over proxy.max_client_output_bytes. The first request's own reply does not count until
  // it is written out: one reply is always taken whole.
  bool over_output_limit() const;
  void flush_ready();
  void write_out();
  void on_write_done(int status);
  void on_batched_write(int result) override;  // a write of write_out() is done
  void on_idle_timer();
  void on_handle_closed();
  // After the last reply: half-close, discard what the client still sends until it closes
  // (or kLingerMs pass), then close. Closing with unread input would reset the connection
  // and could destroy the reply before the client reads it.
  void linger_then_close();
  // Every reply written to a client that is draining, or whose input ended: lingers when a
  // close could reset it before it has its replies (a drain), closes at once otherwise.
  void close_after_last_reply();
  // Bytes of this socket the kernel holds: replies the client has not taken, or input not
  // yet read.
  bool kernel_holds_bytes() const;
  void start_reading();
  // Keeps PoolOwner::clients_due: joins once every request of this client is answered,
  // leaves when it sends again, closes, or stays quiet until the sweep.
  void set_due(bool due);

  StreamHandle socket_;  // TCP, or Unix-domain under a unix: listener
  uv_timer_t idle_timer_;
  Worker& worker_;
  std::unique_ptr<Session> session_;
  const uint32_t lane_;  // see PendingRequest::lane
  // Requests sent to backends so far, and the PendingRequest::client_seq of the last one with
  // more than reads (a write, a fan-out). A read that would fail over after such a later
  // request went out keeps the answer it has (a miss, an error): the next replica may have
  // run the client's later write already.
  uint64_t dispatched_ = 0;
  uint64_t last_write_seq_ = 0;
  IoBuffer in_;
  ReadBudget read_budget_;
  RingQueue<PendingRequest*> queue_;  // arrival order; each holds the queue's reference
  // A request with fragments that wait for another of its fragments (a conditional write's
  // follow-ups to the other replicas, sent once the primary applied it). Until it is complete
  // no later input is parsed or read, so no later request of this client reaches those
  // replicas before the follow-ups do.
  const PendingRequest* barrier_ = nullptr;
  size_t held_bytes_ = 0;            // PendingRequest::held_charge summed over queue_
  size_t queued_request_bytes_ = 0;  // PendingRequest::request_bytes summed over queue_
  // Replies ready to write: out_chunks_ first, then out_pending_. Small replies are copied
  // together into out_pending_ (one write for many); a big one is moved, not copied, to the
  // end of out_chunks_ (with out_pending_ before it), so a stream of big replies never makes
  // one huge buffer grow, which copied it and faulted in fresh pages each time it doubled.
  RingQueue<std::string> out_chunks_;
  size_t out_chunk_bytes_ = 0;  // summed over out_chunks_
  bool writing_chunk_ = false;  // the write handed out is out_chunks_.front(), not out_pending_
  std::string out_pending_;
  std::string out_writing_;  // bytes of the write in progress, from out_written_ on
  size_t out_written_ = 0;   // its prefix the socket took before the write request
  uv_write_t write_req_;
  uv_shutdown_t shutdown_req_;
  bool writing_ = false;
  bool reading_ = false;
  bool closing_ = false;            // close() called: handles closing
  bool close_after_write_ = false;  // a reply asked to close the connection after it
  bool input_done_ = false;         // a request that closes (QUIT, fatal) is queued: parse no more
  bool drain_ = false;              // close_when_idle() called
  bool input_eof_ = false;          // the client closed its side: answer, then close
  bool admitted_ = false;           // counted in ProxyCounters::connected_clients
  bool linger_refused_ = false;     // refused, and within Worker::refused_clients_open's bound
  bool in_process_ = false;         // inside process_input(): no nested parsing
  bool lingering_ = false;          // linger_then_close() started
  bool flush_scheduled_ = false;    // in the worker's flush list for this iteration
  RecentList::Node due_;            // in PoolOwner::clients_due (see set_due)
  HeldReplies held_;                // in Worker::held_replies while hold_since_ns_ != 0
  uint64_t hold_since_ns_ = 0;      // when ready replies began to wait for the rest of a read
  ParseBacklog backlog_;            // in Worker::parse_backlog while parsing waits for a share
  bool read_paused_for_parse_ = false;  // reading stopped when parsing waited for a share
  TurnCount parsed_;                    // requests parsed in this loop iteration
  int open_handles_ = 0;
  uint64_t last_activity_ns_ = 0;
  uint64_t connected_ns_ = 0;
  mutable std::string peer_address_;  // read on first use (CLIENT INFO)
  mutable std::string local_address_;
  size_t unwritten_at_idle_check_ = 0;  // libuv's write queue at the last idle check
  uint64_t reads_ = 0;                  // socket reads that got data; numbers each request's batch
  uint64_t out_batch_ = 0;              // the batch of the last reply appended to out_pending_
  size_t attempted_ = 0;                // bytes of out_pending_ handed to the write in progress
};

}  // namespace ringleader::proxy
