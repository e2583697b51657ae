// A backend connection's write through the worker's io_uring batch (PoolOwner::queue_write)
// is reported after every send of the batch is done, so requests can be queued on the
// connection between its send and its report. Only the bytes the send attempted are on the
// wire: the replies to them, then to the later requests, come back to the right requests.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/backend_connection.h"
#include "core/backend_pool.h"
#include "core/pending_request.h"
#include "loopback_listener.h"
#include "redis/redis_protocol.h"

namespace ringleader::proxy {
namespace {

// Takes the first batched write and reports it only when the test says so; flushes run when
// the test runs them, as a worker runs them at the end of its loop iteration.
class BatchingOwner final : public PoolOwner {
 public:
  void request_ejection(const std::string&, const std::string&) override {}
  WorkerCounters& counters() override { return counters_; }
  void schedule_flush(BackendConnection* c) override { to_flush.push_back(c); }
  bool queue_write(int, const char*, size_t, IoBatch::Writer* writer) override {
    if (held != nullptr || took_one) return false;  // later writes: written at once
    held = writer;
    took_one = true;
    return true;
  }
  Protocol& protocol() override { return protocol_; }
  size_t expected_per_backend(uint64_t, size_t) const override { return 0; }
  void send_part(PendingRequest*, uint32_t, ring::BackendIndex) override {}
  std::string own_listener_at(const sockaddr_storage&) override { return ""; }

  void run_flushes() {
    std::vector<BackendConnection*> now;
    now.swap(to_flush);
    for (BackendConnection* c : now)
      c->flush();
  }

  std::vector<BackendConnection*> to_flush;
  IoBatch::Writer* held = nullptr;
  bool took_one = false;

 private:
  WorkerCounters counters_;
  redis::RedisProtocol protocol_;
};

// A request of one fragment, `payload`, for no client (its reply is kept in the fragment).
PendingRequest* request(const std::string& payload) {
  PendingRequest* req = PendingRequest::create(nullptr);
  Fragment& f = req->add_fragment();
  f.payload = payload;
  req->outstanding = 1;
  req->reads_only = true;
  return req;
}

std::string echo(const std::string& text) {
  return "*2\r\n$4\r\nECHO\r\n$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
}

TEST(BatchedWrite, RequestsQueuedBeforeThePartialWritesReportStayOffTheWire) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uint16_t port = 0;
  const int listener = testing::loopback_listener(&port);
  ASSERT_GE(listener, 0);

  BatchingOwner owner;
  redis::RedisProtocol protocol;
  config::BackendPoolConfig config;
  config.timeout_ms = 60000;
  auto stats = std::make_shared<BackendStats>(1);
  const ring::Backend backend{"b", "127.0.0.1:" + std::to_string(port), 1, "",
                              ring::BackendState::kActive};
  auto pool = BackendPool::create(&loop, owner, protocol, config, backend, stats, 0);
  ASSERT_TRUE(pool) << pool.error();

  const auto turn = [&] {
    uv_run(&loop, UV_RUN_NOWAIT);
    owner.run_flushes();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  // The first request connects, and its write goes to the batch.
  PendingRequest* first = request(echo("first"));
  (*pool)->send(first, 0);
  for (int i = 0; i < 5000 && owner.held == nullptr; ++i)
    turn();
  ASSERT_NE(owner.held, nullptr) << "the first write was not batched";
  const int server = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(server, 0);

  // Between the batch's sends and its reports: another request for the same connection.
  PendingRequest* second = request(echo("second"));
  (*pool)->send(second, 0);
  // The batch's send took nothing (the socket was full): the connection writes on its own.
  std::exchange(owner.held, nullptr)->on_batched_write(UV_EAGAIN);

  // The backend answers each request as it reads it.
  std::string received;
  const std::string both = echo("first") + echo("second");
  int answered = 0;
  for (int i = 0; i < 5000 && (first->fragments[0].state != FragmentState::kDone ||
                               second->fragments[0].state != FragmentState::kDone);
       ++i) {
    turn();
    char buf[256];
    const ssize_t n = ::recv(server, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) received.append(buf, static_cast<size_t>(n));
    if (answered == 0 && received.size() >= echo("first").size()) {
      ASSERT_EQ(::send(server, "$5\r\nfirst\r\n", 11, 0), 11);
      answered = 1;
    }
    if (answered == 1 && received.size() >= both.size()) {
      ASSERT_EQ(::send(server, "$6\r\nsecond\r\n", 12, 0), 12);
      answered = 2;
    }
  }
  EXPECT_EQ(received, both);
  EXPECT_EQ(first->fragments[0].state, FragmentState::kDone) << first->fragments[0].error;
  EXPECT_EQ(first->fragments[0].reply, "$5\r\nfirst\r\n");
  EXPECT_EQ(second->fragments[0].state, FragmentState::kDone) << second->fragments[0].error;
  EXPECT_EQ(second->fragments[0].reply, "$6\r\nsecond\r\n");
  EXPECT_EQ(stats->consecutive_failures.load(), 0u);

  first->release();
  second->release();
  ::close(server);
  ::close(listener);
  pool->reset();
  for (int i = 0; i < 10; ++i)
    uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
}

}  // namespace
}  // namespace ringleader::proxy
