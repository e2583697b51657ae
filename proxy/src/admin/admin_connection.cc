#include "admin_connection.h"

#include <utility>

#include "common/log.h"
#include "common/socket_queues.h"

namespace ringleader::proxy::admin {
namespace {

// Input buffered while a request waits for its reply; reading pauses above this.
constexpr size_t kMaxBufferedInput = kMaxHeaderBytes + kMaxBodyBytes;

uv_stream_t* as_stream(uv_tcp_t* tcp) {
  return reinterpret_cast<uv_stream_t*>(tcp);
}

}  // namespace

// A write in flight: libuv needs the request and the bytes alive until the callback.
struct AdminConnection::WriteRequest {
  uv_write_t req{};
  std::string bytes;
  AdminConnection* connection = nullptr;  // alive: close callbacks run after write callbacks
};

std::shared_ptr<AdminConnection> AdminConnection::accept(uv_loop_t* loop, uv_stream_t* listener,
                                                         AdminConnectionOwner& owner,
                                                         Admission admission) {
  auto connection = std::make_shared<AdminConnection>(owner);
  AdminConnection* c = connection.get();
  uv_tcp_init(loop, &c->tcp_);
  c->tcp_.data = c;
  uv_timer_init(loop, &c->timer_);
  c->timer_.data = c;
  c->open_handles_ = 2;
  if (int err = uv_accept(listener, as_stream(&c->tcp_)); err != 0) {
    RL_LOG_WARN("admin: accept failed: %s", uv_strerror(err));
    c->close();
    return connection;
  }
  c->start(admission);
  return connection;
}

AdminConnection::AdminConnection(AdminConnectionOwner& owner) : owner_(owner) {}

void AdminConnection::start(Admission admission) {
  waiting_since_ms_ = uv_now(tcp_.loop);
  uv_tcp_nodelay(&tcp_, 1);
  set_reading(true);
  if (admission == Admission::kReject) {
    answer_and_close(
        error_response(503, "too many admin connections are open; close idle ones and retry"));
    return;
  }
  arm_timer(owner_.limits().request_timeout_ms);
}

void AdminConnection::set_reading(bool reading) {
  if (closing_ || reading == reading_) return;
  if (reading) {
    const int err = uv_read_start(
        as_stream(&tcp_),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          *buf = static_cast<AdminConnection*>(h->data)->owner_.read_buffer();
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
          static_cast<AdminConnection*>(s->data)->on_read(nread, buf);
        });
    if (err != 0) {
      close();
      return;
    }
  } else {
    uv_read_stop(as_stream(&tcp_));
  }
  reading_ = reading;
}

void AdminConnection::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (closing_) return;
  if (nread < 0) {
    if (nread != UV_EOF)
      RL_LOG_DEBUG("admin: read error: %s", uv_strerror(static_cast<int>(nread)));
    if (nread != UV_EOF || lingering_) {
      close();
      return;
    }
    // The client closed its side: every complete request it sent is still answered (a
    // mutation it is waiting for has been proposed: it must hear how it ended), then the
    // connection closes.
    peer_eof_ = true;
    set_reading(false);
    process_input();  // a request waiting for the service is answered when it replies
    return;
  }
  // Nothing read, or no more requests will be read (draining after the last answer).
  if (nread == 0 || lingering_ || close_after_write_) return;
  input_.append(buf->base, static_cast<size_t>(nread));
  if (awaiting_reply_ || answer_unsent()) {
    if (input_.size() > kMaxBufferedInput) set_reading(false);
    return;
  }
  process_input();
}

void AdminConnection::process_input() {
  if (in_process_) return;
  in_process_ = true;
  while (!closing_ && !close_after_write_ && !awaiting_reply_ && !answer_unsent() &&
         !input_.empty()) {
    const size_t used = parser_.feed(input_);
    input_.erase(0, used);
    if (parser_.state() == HttpRequestParser::State::kComplete) {
      HttpRequest request = std::move(parser_.request());
      parser_.reset();
      begin_request(std::move(request));
    } else if (parser_.state() == HttpRequestParser::State::kFailed) {
      input_.clear();
      answer_and_close(error_response(parser_.error().status, parser_.error().message));
    } else {
      // A client that asked to be told to go on before sending its body is told now; a
      // request refused on its head alone has had its final answer above instead.
      if (parser_.take_continue()) write("HTTP/1.1 100 Continue\r\n\r\n");
      break;  // the parser took everything and wants more
    }
  }
  in_process_ = false;
  if (peer_eof_) {
    finish_after_eof();
  } else if (!closing_ && !awaiting_reply_ && !close_after_write_) {
    set_reading(input_.size() <= kMaxBufferedInput);
  }
}

bool AdminConnection::idle() const {
  return !closing_ && !awaiting_reply_ && !close_after_write_ && !lingering_ && !peer_eof_ &&
         writes_in_flight_ == 0 && parser_.idle() && input_.empty();
}

bool AdminConnection::displaceable() const {
  if (!idle()) return false;
  if (request_seq_ == 0 &&
      uv_now(tcp_.loop) - waiting_since_ms_ < owner_.limits().first_request_grace_ms) {
    return false;
  }
  uv_os_fd_t fd = -1;
  return !(uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) == 0 &&
           kernel_unread_bytes(fd) > 0);
}

bool AdminConnection::receiving() const {
  return !closing_ && !awaiting_reply_ && !close_after_write_ && !lingering_ && !peer_eof_ &&
         writes_in_flight_ == 0 && !(parser_.idle() && input_.empty());
}

bool AdminConnection::answer_unsent() const {
  return uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_)) > 0;
}

bool AdminConnection::answer_stuck() const {
  return !closing_ && !lingering_ && answer_unsent();
}

uint64_t AdminConnection::unsent_since_ms() {
  const size_t unsent = uv_stream_get_write_queue_size(as_stream(&tcp_));
  if (unsent < unsent_at_last_look_) unsent_since_ms_ = uv_now(tcp_.loop);
  unsent_at_last_look_ = unsent;
  return unsent_since_ms_;
}

void AdminConnection::begin_request(HttpRequest request) {
  awaiting_reply_ = true;
  const uint64_t seq = ++request_seq_;
  reply_keep_alive_ = request.keep_alive;
  reply_mode_ = request.method == "HEAD" ? BodyMode::kHeadOnly : BodyMode::kWithBody;
  uv_timer_stop(&timer_);  // the service decides how long an answer takes
  std::weak_ptr<AdminConnection> weak = weak_from_this();
  owner_.router().handle(request, [weak, seq](HttpResponse response) {
    if (auto connection = weak.lock()) connection->on_response(seq, std::move(response));
  });
}

void AdminConnection::on_response(uint64_t seq, HttpResponse response) {
  if (closing_ || !awaiting_reply_ || seq != request_seq_) return;
  awaiting_reply_ = false;
  waiting_since_ms_ = uv_now(tcp_.loop);
  const bool keep_alive = reply_keep_alive_;
  write(serialize(response, keep_alive, reply_mode_));
  if (closing_) return;
  if (!keep_alive) {
    close_after_write_ = true;
    input_.clear();
    arm_timer(owner_.limits().request_timeout_ms);  // bounds a client that never reads
    return;
  }
  arm_timer(owner_.limits().request_timeout_ms);
  process_input();
}

void AdminConnection::answer_and_close(const HttpResponse& response) {
  close_after_write_ = true;
  write(serialize(response, /*keep_alive=*/false, BodyMode::kWithBody));
  arm_timer(owner_.limits().request_timeout_ms);  // bounds a client that never reads
}

void AdminConnection::write(std::string bytes) {
  if (closing_) return;
  if (!answer_unsent()) unsent_since_ms_ = uv_now(tcp_.loop);
  auto* w = new WriteRequest;
  w->bytes = std::move(bytes);
  w->connection = this;
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned int>(w->bytes.size()));
  const int err = uv_write(&w->req, as_stream(&tcp_), &buf, 1, [](uv_write_t* req, int status) {
    auto* done = static_cast<WriteRequest*>(req->data);
    AdminConnection* connection = done->connection;
    delete done;
    connection->on_write_done(status);
  });
  if (err != 0) {  // no callback will come
    delete w;
    RL_LOG_DEBUG("admin: write failed: %s", uv_strerror(err));
    close();
    return;
  }
  ++writes_in_flight_;
  unsent_at_last_look_ = uv_stream_get_write_queue_size(as_stream(&tcp_));
}

void AdminConnection::on_write_done(int status) {
  --writes_in_flight_;
  if (closing_) return;
  unsent_since_ms_ = uv_now(tcp_.loop);  // the socket took a whole write: the client reads
  unsent_at_last_look_ = uv_stream_get_write_queue_size(as_stream(&tcp_));
  if (status != 0) {
    RL_LOG_DEBUG("admin: write failed: %s", uv_strerror(status));
    close();
    return;
  }
  if (close_after_write_ && writes_in_flight_ == 0 && !awaiting_reply_) {
    if (peer_eof_) {
      close();
    } else {
      start_linger();
    }
    return;
  }
  if (!awaiting_reply_ && !answer_unsent()) process_input();  // the client read its answers
}

void AdminConnection::finish_after_eof() {
  if (closing_ || awaiting_reply_ || close_after_write_ || answer_unsent()) return;
  // Nothing held back any more: what is left of the input is an incomplete request.
  if (writes_in_flight_ == 0) {
    close();
  } else {
    close_after_write_ = true;
  }
}

void AdminConnection::start_linger() {
  lingering_ = true;
  input_.clear();
  shutdown_.data = this;
  const int err = uv_shutdown(&shutdown_, as_stream(&tcp_), [](uv_shutdown_t* req, int status) {
    auto* connection = static_cast<AdminConnection*>(req->data);
    if (status != 0 && !connection->closing_) connection->close();
  });
  if (err != 0) {
    close();
    return;
  }
  set_reading(true);
  arm_timer(owner_.limits().linger_ms);
}

void AdminConnection::arm_timer(uint64_t timeout_ms) {
  if (closing_) return;
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<AdminConnection*>(t->data)->on_timer(); },
      timeout_ms, 0);
}

void AdminConnection::on_timer() {
  if (closing_) return;
  if (lingering_ || close_after_write_ || answer_unsent() || (parser_.idle() && input_.empty())) {
    // Drained long enough, the last answer is stuck (the client does not read it), or an
    // idle connection.
    close();
    return;
  }
  input_.clear();
  answer_and_close(error_response(408, "the request did not arrive completely within " +
                                           std::to_string(owner_.limits().request_timeout_ms) +
                                           " ms"));
}

void AdminConnection::close() {
  if (closing_) return;
  closing_ = true;
  reading_ = false;
  auto closed = [](uv_handle_t* h) { static_cast<AdminConnection*>(h->data)->on_handle_closed(); };
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), closed);
}

void AdminConnection::on_handle_closed() {
  if (--open_handles_ > 0) return;
  owner_.connection_closed(this);  // may destroy *this: nothing after this line
}

}  // namespace ringleader::proxy::admin
