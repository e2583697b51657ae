// AdminConnection: one client connection of the admin HTTP server.
//
// Reads requests with an HttpRequestParser, hands each complete request to the AdminRouter and
// writes the answer. Requests on a connection are answered strictly one at a time and in
// order: while one waits for its (possibly asynchronous) reply, or while its answer is not yet
// taken by the socket, later pipelined bytes are only buffered (reading pauses above a
// bound). Each request must arrive completely within the request timeout after the previous
// answer (or the accept), which bounds both idle keep-alive connections and slow senders; the
// deadline is paused while the service prepares an answer (the service bounds that itself).
// A parse error is answered (400/411/413/431/505) and the connection is closed; after the last
// answer of a closing connection the write side is shut down and unread input is drained for
// up to the linger time, so the client reads the answer instead of a reset. When the client
// closes its side (EOF), the complete requests it sent are still answered (those waiting for
// the service included) and the connection then closes.
//
// Lifetime: owned by a shared_ptr held by its AdminConnectionOwner. Replies find the connection
// through a weak_ptr plus the request's sequence number, so a reply for a connection that
// closed (or for a request that was already answered) is dropped. The object is released
// (owner.connection_closed) only in the last libuv close callback of its handles.
//
// Threading: the control loop's thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "admin/admin_router.h"
#include "admin/http_request_parser.h"
#include "admin/http_response.h"

namespace ringleader::proxy::admin {

// Per-server limits; the defaults suit production, tests shorten them.
struct AdminServerLimits {
  uint64_t request_timeout_ms = 10'000;  // a whole request, from the previous answer or accept
  uint64_t linger_ms = 1'000;            // draining input after the last answer before close
  size_t max_connections = 64;           // more are answered 503 and closed
  // A full server closes, for a new connection, one that has been sending its request for
  // this long (a slow sender, or many holding the port: health probes must still get in).
  uint64_t slow_sender_ms = 2'000;
  // Nor one accepted this recently that has not sent a request yet: it is given the time to
  // send its first (its request may be on its way, and closing it would reset it unanswered).
  uint64_t first_request_grace_ms = 1'000;
};

class AdminConnection;

// What a connection needs from the server that accepted it. Outlives its connections.
class AdminConnectionOwner {
 public:
  virtual ~AdminConnectionOwner() = default;
  virtual AdminRouter& router() = 0;
  virtual const AdminServerLimits& limits() const = 0;
  // Scratch space for libuv reads; the bytes are copied out before the read callback returns.
  virtual uv_buf_t read_buffer() = 0;
  // The connection's handles are closed; the owner drops its shared_ptr (which may destroy it).
  virtual void connection_closed(AdminConnection* connection) = 0;
};

class AdminConnection : public std::enable_shared_from_this<AdminConnection> {
 public:
  // Accepts a pending connection from `listener` and starts serving it; with kReject it only
  // answers 503 (the server is full) and closes. The owner keeps the returned connection until
  // connection_closed(); when the accept fails the connection is already closing.
  enum class Admission { kServe, kReject };
  static std::shared_ptr<AdminConnection> accept(uv_loop_t* loop, uv_stream_t* listener,
                                                 AdminConnectionOwner& owner, Admission admission);

  explicit AdminConnection(AdminConnectionOwner& owner);  // use accept()
  AdminConnection(const AdminConnection&) = delete;
  AdminConnection& operator=(const AdminConnection&) = delete;

  // Closes the connection now (answers in flight are cancelled). Idempotent.
  void close();
  bool closing() const { return closing_; }
  // Waiting for its next request with nothing of it received, every answer written (a fresh
  // connection, or a keep-alive one between requests): a full server closes the one idle
  // longest to admit a new connection, as HTTP lets a server close idle persistent
  // connections at any time.
  bool idle() const;
  uint64_t idle_since_ms() const { return waiting_since_ms_; }  // loop time; valid when idle()
  // Idle, and may be closed for a new connection: past first_request_grace_ms if it has not
  // sent a request yet, and with no bytes of a next request waiting in the kernel unread
  // (closing a socket with unread input resets it: the client would get no answer).
  bool displaceable() const;
  // Part of its next request received, not all of it, and nothing else going on; then
  // idle_since_ms() is when it began waiting for that request.
  bool receiving() const;
  // Part of an answer is still not taken by the socket (the client does not read, or reads
  // slowly). unsent_since_ms() is when the client last took any of it: the loop time of the
  // first answer written after all before it went out, of the last write that went out whole,
  // or of the previous call that found fewer bytes unsent than the one before (a client
  // reading one big answer steadily keeps renewing it).
  bool answer_stuck() const;
  uint64_t unsent_since_ms();

 private:
  struct WriteRequest;

  void start(Admission admission);
  void on_read(ssize_t nread, const uv_buf_t* buf);
  // Parses buffered input and starts requests until one waits for its reply, an answer is
  // still unsent or input runs out.
  void process_input();
  // Bytes of answers libuv has not handed to the socket yet: the next pipelined request waits
  // until the client has taken them, so a client that does not read holds one answer at most.
  bool answer_unsent() const;
  // After the client's EOF: closes once no request is held back and the answers are written.
  void finish_after_eof();
  void begin_request(HttpRequest request);
  // The answer to request number `seq`; ignored unless that request is still waiting.
  void on_response(uint64_t seq, HttpResponse response);
  // Writes `response` to the client and closes once it is written (parse errors).
  void answer_and_close(const HttpResponse& response);
  void write(std::string bytes);
  void on_write_done(int status);
  // Write side done, no more answers: shut down and drain until EOF or the linger time.
  void start_linger();
  void arm_timer(uint64_t timeout_ms);
  void on_timer();
  void set_reading(bool reading);
  void on_handle_closed();

  AdminConnectionOwner& owner_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};  // request deadline, then linger deadline
  uv_shutdown_t shutdown_{};
  int open_handles_ = 0;            // libuv handles initialised and not yet closed
  bool closing_ = false;            // close() called; no more reads, writes or answers
  bool reading_ = false;            // uv_read_start is in effect
  bool peer_eof_ = false;           // the client closed its write side
  bool close_after_write_ = false;  // no more requests; close once writes finish
  bool lingering_ = false;          // shut down; discarding input until EOF or timeout
  bool in_process_ = false;         // process_input() is on the stack (no re-entry)
  size_t writes_in_flight_ = 0;
  uint64_t waiting_since_ms_ = 0;   // loop time of the accept or of the last answer
  uint64_t unsent_since_ms_ = 0;    // see unsent_since_ms()
  size_t unsent_at_last_look_ = 0;  // unsent bytes as the last write or look found them

  HttpRequestParser parser_;
  std::string input_;  // received bytes not yet fed to the parser
  // The request being answered: awaiting_reply_ is set from begin_request to on_response;
  // request_seq_ numbers requests so a stale or repeated reply is recognised.
  bool awaiting_reply_ = false;
  uint64_t request_seq_ = 0;
  bool reply_keep_alive_ = true;
  BodyMode reply_mode_ = BodyMode::kWithBody;
};

}  // namespace ringleader::proxy::admin
