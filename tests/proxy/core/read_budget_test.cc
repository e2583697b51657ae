// ReadBudget on a real libuv loop: a connection that has read its share of an iteration is
// read again in the next one, after the others, and nothing it was sent is lost. The budget
// is small here so that a socket buffer's worth of bytes spans many iterations.
#include "core/read_budget.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <map>
#include <string>

namespace ringleader::proxy {
namespace {

constexpr size_t kBudget = 1000;

// One end of a socket pair read through libuv the way the proxy's connections read.
struct Reader {
  uv_pipe_t pipe;
  ReadBudget budget{kBudget};
  char storage[64 * 1024];
  std::string got;
  std::map<uint64_t, size_t> bytes_by_turn;
  int deferred = 0;
  bool eof = false;
  size_t other_bytes_at_eof = 0;  // what the other reader had read when this one ended
  const Reader* other = nullptr;

  void start(uv_loop_t* loop, int fd) {
    ASSERT_EQ(uv_pipe_init(loop, &pipe, 0), 0);
    ASSERT_EQ(uv_pipe_open(&pipe, fd), 0);
    pipe.data = this;
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&pipe),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* r = static_cast<Reader*>(h->data);
          buf->base = r->storage;
          buf->len = r->budget.offer(sizeof r->storage);
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
          static_cast<Reader*>(s->data)->on_read(nread, buf);
        });
  }

  void on_read(ssize_t nread, const uv_buf_t* buf) {
    if (nread == UV_ENOBUFS) {
      ++deferred;
      return;
    }
    if (nread < 0) {
      EXPECT_EQ(nread, UV_EOF);
      eof = true;
      if (other != nullptr) other_bytes_at_eof = other->got.size();
      uv_close(reinterpret_cast<uv_handle_t*>(&pipe), nullptr);
      return;
    }
    budget.charge(static_cast<size_t>(nread));
    got.append(buf->base, static_cast<size_t>(nread));
    bytes_by_turn[loop_turn] += static_cast<size_t>(nread);
  }
};

// Writes `bytes` into a fresh socket pair, closes the writing end, and returns the other.
int filled_socket(const std::string& bytes) {
  int fds[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  EXPECT_EQ(write(fds[0], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fds[0]);
  return fds[1];
}

TEST(ReadBudget, OffersItsShareOncePerIteration) {
  ReadBudget budget(100);
  loop_turn = 7;
  EXPECT_EQ(budget.offer(64), 64u);
  budget.charge(64);
  EXPECT_EQ(budget.offer(64), 36u);
  budget.charge(36);
  EXPECT_EQ(budget.offer(64), 0u);
  ++loop_turn;
  EXPECT_EQ(budget.offer(1000), 100u);
}

TEST(TurnCount, CountsWithinOneIterationOnly) {
  TurnCount count;
  loop_turn = 11;
  EXPECT_EQ(count.value(), 0u);
  count.add();
  count.add(4);
  EXPECT_EQ(count.value(), 5u);
  ++loop_turn;
  EXPECT_EQ(count.value(), 0u);  // nothing counted in this iteration yet
  count.add(2);
  EXPECT_EQ(count.value(), 2u);
}

TEST(ReadBudget, ABulkSenderIsReadInTurnsAndLosesNothing) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  uv_prepare_t turns;  // as a worker numbers its iterations before each poll
  uv_prepare_init(&loop, &turns);
  uv_prepare_start(&turns, [](uv_prepare_t*) { ++loop_turn; });

  std::string bulk_bytes(100 * 1000, '\0');
  for (size_t i = 0; i < bulk_bytes.size(); ++i)
    bulk_bytes[i] = static_cast<char>(i * 131 % 251);
  Reader bulk;
  Reader probe;
  probe.other = &bulk;
  bulk.start(&loop, filled_socket(bulk_bytes));
  probe.start(&loop, filled_socket("PING\r\n"));

  for (int i = 0; i < 10000 && !(bulk.eof && probe.eof); ++i)
    uv_run(&loop, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&turns), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);

  ASSERT_TRUE(bulk.eof);
  ASSERT_TRUE(probe.eof);
  EXPECT_EQ(bulk.got, bulk_bytes);
  EXPECT_EQ(probe.got, "PING\r\n");
  for (const auto& [turn, bytes] : bulk.bytes_by_turn)
    EXPECT_LE(bytes, kBudget) << "iteration " << turn;
  EXPECT_GE(bulk.bytes_by_turn.size(), bulk_bytes.size() / kBudget);
  EXPECT_GE(bulk.deferred, 99);
  // The probe was read to its end while the bulk sender had had a turn or two.
  EXPECT_LE(probe.other_bytes_at_eof, 2 * kBudget);
}

}  // namespace
}  // namespace ringleader::proxy
