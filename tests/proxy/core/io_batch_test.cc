// IoBatch on real socket pairs: every queued send is performed in one run(), outcomes reach
// their writers in queue order with the same meaning as a plain non-blocking write.
#include "core/io_batch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <functional>
#include <string>
#include <vector>

namespace ringleader::proxy {
namespace {

struct Pair {
  int a = -1;  // written through the batch (non-blocking, as the proxy's sockets are)
  int b = -1;  // read by the test
  Pair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    a = fds[0];
    b = fds[1];
    fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
  }
  ~Pair() {
    if (a >= 0) close(a);
    if (b >= 0) close(b);
  }
  std::string drain() const {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = recv(b, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }
};

struct Recorder : IoBatch::Writer {
  std::vector<int>* order;
  int id;
  int result = 0;
  int calls = 0;
  std::function<void()> then;
  Recorder(std::vector<int>* o, int i) : order(o), id(i) {}
  void on_batched_write(int r) override {
    result = r;
    ++calls;
    order->push_back(id);
    if (then) then();
  }
};

std::unique_ptr<IoBatch> make_batch(unsigned entries = 256) {
  auto batch = IoBatch::create(entries);
  if (!batch) return nullptr;
  return std::move(batch.value());
}

#define REQUIRE_IO_URING(batch) \
  if (!(batch)) GTEST_SKIP() << "io_uring unavailable here; the proxy then writes directly"

TEST(IoBatch, PerformsEverySendAndReportsInQueueOrder) {
  auto batch = make_batch();
  REQUIRE_IO_URING(batch);
  std::vector<Pair> pairs(5);
  std::vector<int> order;
  std::vector<Recorder> writers;
  std::vector<std::string> payloads;
  for (int i = 0; i < 5; ++i) {
    writers.emplace_back(&order, i);
    payloads.push_back("reply-" + std::to_string(i) +
                       std::string(static_cast<size_t>(i) * 10, 'x'));
  }
  for (int i = 0; i < 5; ++i)
    batch->add(pairs[i].a, payloads[i].data(), payloads[i].size(), &writers[i]);
  EXPECT_FALSE(batch->empty());
  batch->run();
  EXPECT_TRUE(batch->empty());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(writers[i].result, static_cast<int>(payloads[i].size()));
    EXPECT_EQ(pairs[i].drain(), payloads[i]);
  }
}

TEST(IoBatch, MoreSendsThanEntriesGoInSeveralSubmissions) {
  auto batch = make_batch(4);
  REQUIRE_IO_URING(batch);
  Pair pair;
  std::vector<int> order;
  std::vector<Recorder> writers;
  std::vector<std::string> parts;
  for (int i = 0; i < 11; ++i) {
    writers.emplace_back(&order, i);
    parts.push_back("<" + std::to_string(i) + ">");
  }
  std::string expected;
  for (int i = 0; i < 11; ++i) {
    batch->add(pair.a, parts[i].data(), parts[i].size(), &writers[i]);
    expected += parts[i];
  }
  batch->run();
  EXPECT_EQ(order.size(), 11u);
  EXPECT_EQ(pair.drain(), expected);  // one socket: the bytes keep their queue order
}

TEST(IoBatch, FullSocketTakesPartOrAnswersEagainLikeAPlainWrite) {
  auto batch = make_batch();
  REQUIRE_IO_URING(batch);
  Pair pair;
  int small = 4096;
  setsockopt(pair.a, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string big(4 << 20, 'z');
  std::vector<int> order;
  Recorder first(&order, 0), second(&order, 1);
  batch->add(pair.a, big.data(), big.size(), &first);
  batch->add(pair.a, big.data(), big.size(), &second);
  batch->run();
  ASSERT_GT(first.result, 0);
  EXPECT_LT(first.result, static_cast<int>(big.size()));  // never blocks for the rest
  EXPECT_EQ(second.result, UV_EAGAIN);                    // the socket is full
  EXPECT_EQ(pair.drain().size(), static_cast<size_t>(first.result));
}

TEST(IoBatch, ErrorsArriveAsNegativeCodesAndSpareTheOtherSends) {
  auto batch = make_batch();
  REQUIRE_IO_URING(batch);
  Pair closed, open;
  close(closed.b);
  closed.b = -1;
  std::string data = "hello";
  std::vector<int> order;
  Recorder to_closed(&order, 0), to_bad_fd(&order, 1), to_open(&order, 2);
  batch->add(closed.a, data.data(), data.size(), &to_closed);
  batch->add(-1, data.data(), data.size(), &to_bad_fd);
  batch->add(open.a, data.data(), data.size(), &to_open);
  batch->run();  // no SIGPIPE: the process would not survive this line otherwise
  EXPECT_EQ(to_closed.result, UV_EPIPE);
  EXPECT_EQ(to_bad_fd.result, UV_EBADF);
  EXPECT_EQ(to_open.result, static_cast<int>(data.size()));
  EXPECT_EQ(open.drain(), data);
  EXPECT_TRUE(batch->usable());
}

TEST(IoBatch, SendsQueuedFromAnOutcomeWaitForTheNextRun) {
  auto batch = make_batch();
  REQUIRE_IO_URING(batch);
  Pair pair;
  std::string one = "one", two = "two";
  std::vector<int> order;
  Recorder second(&order, 1);
  Recorder first(&order, 0);
  first.then = [&] { batch->add(pair.a, two.data(), two.size(), &second); };
  batch->add(pair.a, one.data(), one.size(), &first);
  batch->run();
  EXPECT_EQ(second.calls, 0);
  EXPECT_FALSE(batch->empty());
  EXPECT_EQ(pair.drain(), "one");
  batch->run();
  EXPECT_EQ(second.result, 3);
  EXPECT_EQ(pair.drain(), "two");
}

}  // namespace
}  // namespace ringleader::proxy
