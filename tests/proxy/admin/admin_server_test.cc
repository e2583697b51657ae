// The admin server over real loopback sockets, its loop running on a thread.
#include "admin/admin_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "fake_admin_service.h"
#include "loop_thread.h"
#include "raw_http_client.h"

namespace ringleader::proxy::admin {
namespace {

using testing::FakeAdminService;
using testing::LoopThread;
using testing::RawHttpClient;
using testing::RawResponse;

constexpr const char* kGetHealth = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

class AdminServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    loop_.stop([this] { server_.reset(); });
    EXPECT_EQ(loop_.close_result(), 0) << "handles left open on the loop";
  }

  // Starts a server on the loop thread; returns the error, or "" with *out set.
  std::string try_start(const config::AdminConfig& config, std::unique_ptr<AdminServer>* out,
                        AdminServerLimits limits = {}) {
    return loop_.run([&]() -> std::string {
      auto started = AdminServer::start(loop_.loop(), config, service_, limits);
      if (!started) return started.error();
      *out = std::move(started).value();
      return "";
    });
  }

  // Starts server_ on a free loopback port; fails the test if it does not start.
  void start(config::AdminConfig config = {"127.0.0.1:0", ""}, AdminServerLimits limits = {}) {
    const std::string error = try_start(config, &server_, limits);
    ASSERT_EQ(error, "");
    port_ = loop_.run([this] { return server_->port(); });
    ASSERT_NE(port_, 0);
  }

  // Polls `condition` on the loop thread until it holds (or 5 s pass).
  bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (loop_.run(condition)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  size_t open_connections() {
    return loop_.run([this] { return server_ ? server_->open_connections() : size_t{0}; });
  }

  FakeAdminService service_;  // outlives the loop and the server
  LoopThread loop_;
  std::unique_ptr<AdminServer> server_;  // touched on the loop thread only
  uint16_t port_ = 0;
};

TEST_F(AdminServerTest, KeepAliveServesSeveralRequests) {
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send(kGetHealth));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->headers["connection"], "keep-alive");
    EXPECT_EQ(response->headers["content-type"], "application/json");
    EXPECT_EQ(nlohmann::json::parse(response->body)["status"], "ok");
  }
  EXPECT_EQ(open_connections(), 1u);
}

TEST_F(AdminServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send(std::string(kGetHealth) +
                          "GET /metrics HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"));
  auto first = client.read_response();
  auto second = client.read_response();
  auto third = client.read_response();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->status, 200);
  EXPECT_NE(first->body.find("\"ok\""), std::string::npos);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(third->status, 404);
}

TEST_F(AdminServerTest, PipelinedRequestWaitsBehindAnAsyncReply) {
  service_.hold_replies = true;
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send("POST /backends/r1/drain HTTP/1.1\r\nContent-Length: 0\r\n\r\n" +
                          std::string(kGetHealth)));
  ASSERT_TRUE(eventually([this] { return service_.held.size() == 1; }));
  // The second request is not even started until the first is answered.
  EXPECT_EQ(loop_.run([this] { return service_.calls; }),
            std::vector<std::string>{"drain_backend r1"});
  loop_.run([this] { service_.held[0]({202, {{"epoch", 9}}}); });
  auto first = client.read_response();
  auto second = client.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 202);
  EXPECT_EQ(nlohmann::json::parse(first->body)["epoch"], 9);
  EXPECT_EQ(second->status, 200);
}

TEST_F(AdminServerTest, AClientThatDoesNotReadHoldsOneAnswerAtATime) {
  service_.metrics = std::string(64 * 1024, 'm');
  start();
  constexpr int kRequests = 200;  // 12.5 MiB of answers
  RawHttpClient client(port_, /*receive_buffer=*/4096);
  std::string pipeline;
  for (int i = 0; i < kRequests; ++i)
    pipeline += "GET /metrics HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(client.send(pipeline));
  auto answered = [this] { return loop_.run([this] { return service_.calls.size(); }); };
  ASSERT_TRUE(eventually([this] { return !service_.calls.empty(); }));
  // Answers are prepared only as fast as the client takes them: a few fill the socket
  // buffers, the rest of the pipeline waits unparsed.
  size_t before = 0;
  do {
    before = answered();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (answered() != before);
  EXPECT_LT(before, size_t{kRequests} / 4);
  for (int i = 0; i < kRequests; ++i) {
    auto response = client.read_response();
    ASSERT_TRUE(response) << "answer " << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body.size(), service_.metrics.size());
  }
  EXPECT_EQ(answered(), size_t{kRequests});
}

TEST_F(AdminServerTest, AClientThatStopsReadingIsClosedAfterTheRequestTimeout) {
  service_.metrics = std::string(64 * 1024, 'm');
  AdminServerLimits limits;
  limits.request_timeout_ms = 200;
  start({"127.0.0.1:0", ""}, limits);
  RawHttpClient client(port_, /*receive_buffer=*/4096);
  constexpr int kRequests = 2000;  // 125 MiB of answers: far more than socket buffers take
  std::string pipeline;
  for (int i = 0; i < kRequests; ++i)
    pipeline += "GET /metrics HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(client.send(pipeline));
  // Requests wait behind an answer it does not take: past the timeout the connection closes.
  ASSERT_TRUE(eventually([this] { return !service_.calls.empty(); }));
  ASSERT_TRUE(eventually([this] { return server_->open_connections() == 0; }));
  int answered = 0;
  while (auto response = client.read_response()) {
    EXPECT_EQ(response->status, 200) << "answer " << answered;
    ++answered;
  }
  EXPECT_LT(answered, kRequests);
}

TEST_F(AdminServerTest, AClientThatClosesItsSideGetsEveryAnswerThenTheClose) {
  service_.metrics = std::string(64 * 1024, 'm');
  start();
  constexpr int kRequests = 200;  // 12.5 MiB, more than the socket buffers hold: most wait unparsed
  RawHttpClient client(port_, /*receive_buffer=*/4096);
  std::string pipeline;
  for (int i = 0; i < kRequests; ++i)
    pipeline += "GET /metrics HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(client.send(pipeline + "GET /metr"));  // and the start of one more
  client.shutdown_write();
  for (int i = 0; i < kRequests; ++i) {
    auto response = client.read_response();
    ASSERT_TRUE(response) << "answer " << i;
    EXPECT_EQ(response->body.size(), service_.metrics.size());
  }
  EXPECT_TRUE(client.reads_eof());
  EXPECT_TRUE(eventually([this] { return server_->open_connections() == 0; }));
}

TEST_F(AdminServerTest, ConnectionCloseIsHonoured) {
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(
      client.send("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n" + std::string(kGetHealth)));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_TRUE(client.reads_eof()) << "the pipelined request after close is not answered";
  EXPECT_TRUE(eventually([this] { return server_->open_connections() == 0; }));
}

TEST_F(AdminServerTest, Http10ClosesUnlessAskedToKeepAlive) {
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto kept = client.read_response();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->headers["connection"], "keep-alive");
  ASSERT_TRUE(client.send("GET /healthz HTTP/1.0\r\n\r\n"));
  auto closed = client.read_response();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->headers["connection"], "close");
  EXPECT_TRUE(client.reads_eof());
}

TEST_F(AdminServerTest, OversizedBodyGets413ThenClose) {
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send("POST /backends HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n" +
                          std::string(100000, 'x')));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_NE(nlohmann::json::parse(response->body)["error"].get<std::string>().find("1048576"),
            std::string::npos);
  EXPECT_TRUE(client.reads_eof());
  EXPECT_TRUE(loop_.run([this] { return service_.calls.empty(); }));
}

TEST_F(AdminServerTest, MalformedRequestGets400ThenClose) {
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send("HELLO\r\n\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_TRUE(nlohmann::json::parse(response->body).contains("error"));
  EXPECT_TRUE(client.reads_eof());
}

TEST_F(AdminServerTest, ChunkedBodyGets411) {
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send(
      "POST /backends HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 411);
  EXPECT_TRUE(client.reads_eof());
}

TEST_F(AdminServerTest, HeadLeavesTheBodyOut) {
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send("HEAD /healthz HTTP/1.1\r\n\r\n" + std::string(kGetHealth)));
  auto head = client.read_response(/*head_only=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_NE(head->headers["content-length"], "0");
  auto get = client.read_response();  // would be garbled if HEAD had sent a body
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(std::to_string(get->body.size()), head->headers["content-length"]);
}

TEST_F(AdminServerTest, TokenIsRequiredForMutationsOnly) {
  start({"127.0.0.1:0", "tok"});
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send("DELETE /backends/r1 HTTP/1.1\r\n\r\n"));
  auto denied = client.read_response();
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(denied->headers["www-authenticate"], "Bearer realm=\"ringleader admin\"");
  ASSERT_TRUE(client.send("DELETE /backends/r1 HTTP/1.1\r\nAuthorization: Bearer tok\r\n\r\n"));
  auto allowed = client.read_response();
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  ASSERT_TRUE(client.send("GET /ring HTTP/1.1\r\n\r\n"));
  auto ring = client.read_response();
  ASSERT_TRUE(ring);
  EXPECT_EQ(ring->status, 200);
}

// A client that asks to be told to go on before sending its body (curl for big bodies, many
// HTTP libraries) gets "100 Continue" at once, then the answer; it waited a second or more.
TEST_F(AdminServerTest, Expect100ContinueIsAnsweredBeforeTheBody) {
  start();
  RawHttpClient client(port_);
  const std::string body = R"({"name":"r9","address":"127.0.0.1:7009"})";
  ASSERT_TRUE(client.send("POST /backends HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = client.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.send(body));
  auto answer = client.read_response();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  // Refused on its head alone: the final answer, no 100.
  RawHttpClient big(port_);
  ASSERT_TRUE(
      big.send("POST /backends HTTP/1.1\r\nExpect: 100-continue\r\n"
               "Content-Length: 2000000\r\n\r\n"));
  auto refused = big.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);
  // An expectation HTTP does not define.
  RawHttpClient odd(port_);
  ASSERT_TRUE(odd.send("GET /ring HTTP/1.1\r\nExpect: something\r\n\r\n"));
  auto failed = odd.read_response();
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 417);
}

TEST_F(AdminServerTest, WrongMethodCarriesAllowHeader) {
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send("PUT /backends/x HTTP/1.1\r\n\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(response->headers["allow"], "DELETE, PATCH");
}

TEST_F(AdminServerTest, AClientThatClosesItsSideStillHearsHowItsChangeEnded) {
  service_.hold_replies = true;
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send("POST /backends/r1/drain HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(eventually([this] { return service_.held.size() == 1; }));
  client.shutdown_write();  // EOF while the change is being applied
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  loop_.run([this] { service_.held[0]({200, {{"epoch", 1}}}); });
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(client.reads_eof());
  EXPECT_TRUE(eventually([this] { return server_->open_connections() == 0; }));
}

TEST_F(AdminServerTest, ReplyAfterTheClientLeftIsDropped) {
  service_.hold_replies = true;
  start();
  {
    RawHttpClient client(port_);
    ASSERT_TRUE(client.send("POST /backends/r1/drain HTTP/1.1\r\n\r\n"));
    ASSERT_TRUE(eventually([this] { return service_.held.size() == 1; }));
  }  // the client goes away before the answer
  // Its connection waits for the answer (a client that only closed its side would read it),
  // then the write fails or goes nowhere and the connection closes.
  loop_.run([this] { service_.held[0]({200, {{"epoch", 1}}}); });
  ASSERT_TRUE(eventually([this] { return server_->open_connections() == 0; }));
  // The server still serves others.
  service_.hold_replies = false;
  RawHttpClient other(port_);
  ASSERT_TRUE(other.send(kGetHealth));
  auto response = other.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(AdminServerTest, ReplyAfterTheServerClosedIsDropped) {
  service_.hold_replies = true;
  start();
  RawHttpClient client(port_);
  ASSERT_TRUE(client.send("DELETE /cluster/peers/p2 HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(eventually([this] { return service_.held.size() == 1; }));
  loop_.run([this] { server_.reset(); });
  EXPECT_TRUE(client.reads_eof());
  loop_.run([this] { service_.held[0]({200, {{"epoch", 1}}}); });
}

TEST_F(AdminServerTest, SlowRequestGets408AndIdleConnectionCloses) {
  AdminServerLimits limits;
  limits.request_timeout_ms = 150;
  start({"127.0.0.1:0", ""}, limits);
  RawHttpClient slow(port_);
  RawHttpClient idle(port_);
  ASSERT_TRUE(slow.send("GET /healthz HTTP/1.1\r\nHost: "));
  auto response = slow.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 408);
  EXPECT_TRUE(slow.reads_eof());
  EXPECT_TRUE(idle.reads_eof()) << "an idle keep-alive connection is closed without a word";
}

TEST_F(AdminServerTest, OneStalledClientDoesNotDisturbOthers) {
  start();
  RawHttpClient stalled(port_);
  ASSERT_TRUE(stalled.send("POST /backends HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"));
  RawHttpClient garbage(port_);
  ASSERT_TRUE(garbage.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  RawHttpClient good(port_);
  ASSERT_TRUE(good.send(kGetHealth));
  auto response = good.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(AdminServerTest, ConnectionsBeyondTheLimitGet503WhileNoneIsIdle) {
  service_.hold_replies = true;
  AdminServerLimits limits;
  limits.max_connections = 2;
  // Neither counts as a slow sender however long the host takes between the steps below (a
  // loaded host once took the 2 s default, and the server made room for the third).
  limits.slow_sender_ms = 60'000;
  start({"127.0.0.1:0", ""}, limits);
  // One waits for its answer, one is part-way through sending a request: neither is idle.
  RawHttpClient waiting(port_);
  ASSERT_TRUE(waiting.send("POST /backends/r1/drain HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
  ASSERT_TRUE(eventually([this] { return service_.held.size() == 1; }));
  RawHttpClient sending(port_);
  ASSERT_TRUE(sending.send("GET /heal"));
  // Read by the server: until then the second is an idle connection (one a newcomer may
  // displace only once its request has been read).
  ASSERT_TRUE(eventually(
      [this] { return server_->open_connections() == 2 && server_->idle_connections() == 0; }));
  RawHttpClient third(port_);
  auto refused = third.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_TRUE(third.reads_eof());
  // Both kept their place.
  ASSERT_TRUE(sending.send("thz HTTP/1.1\r\n\r\n"));
  auto ok = sending.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  loop_.run([this] { service_.held[0]({202, {{"epoch", 9}}}); });
  auto answered = waiting.read_response();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 202);
}

// Clients trickling requests into every slot do not lock health probes out: past
// slow_sender_ms, the one sending longest is closed for a newcomer; the others keep their
// place.
TEST_F(AdminServerTest, AFullServerClosesTheSlowestSenderForANewOne) {
  AdminServerLimits limits;
  limits.max_connections = 2;
  limits.slow_sender_ms = 100;
  start({"127.0.0.1:0", ""}, limits);
  RawHttpClient first(port_);
  ASSERT_TRUE(first.send("GET /heal"));
  ASSERT_TRUE(eventually(
      [this] { return server_->open_connections() == 1 && server_->idle_connections() == 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // loop time moves on
  RawHttpClient second(port_);
  ASSERT_TRUE(second.send("GET /heal"));
  ASSERT_TRUE(eventually(
      [this] { return server_->open_connections() == 2 && server_->idle_connections() == 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));

  RawHttpClient probe(port_);
  ASSERT_TRUE(probe.send(kGetHealth));
  auto ok = probe.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_TRUE(first.reads_eof());
  ASSERT_TRUE(second.send("thz HTTP/1.1\r\n\r\n"));
  auto still = second.read_response();
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
}

// Nor do clients that pipeline requests and never read the answers: past slow_sender_ms,
// the one whose answer has waited longest is closed for a newcomer.
TEST_F(AdminServerTest, AFullServerClosesTheClientNotReadingLongestForANewOne) {
  service_.metrics = std::string(16 << 20, 'm');  // more than socket buffers take
  AdminServerLimits limits;
  limits.max_connections = 2;
  limits.slow_sender_ms = 1000;  // room for the 503 below on a loaded machine
  start({"127.0.0.1:0", ""}, limits);
  const std::string pipeline = "GET /metrics HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n";
  RawHttpClient first(port_, /*receive_buffer=*/4096);
  ASSERT_TRUE(first.send(pipeline));
  ASSERT_TRUE(eventually([this] { return service_.calls.size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // loop time moves on
  RawHttpClient second(port_, /*receive_buffer=*/4096);
  ASSERT_TRUE(second.send(pipeline));
  ASSERT_TRUE(eventually([this] { return service_.calls.size() == 2; }));
  ASSERT_EQ(open_connections(), 2u);

  // Within slow_sender_ms they keep their place.
  RawHttpClient early(port_);
  auto refused = early.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  RawHttpClient probe(port_);
  ASSERT_TRUE(probe.send(kGetHealth));
  auto ok = probe.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  // The first was closed (what it reads ends before its two answers do); the second still
  // gets both of its answers once it reads.
  int first_answers = 0;
  while (first.read_response())
    ++first_answers;
  EXPECT_LT(first_answers, 2);
  for (int i = 0; i < 2; ++i) {
    auto answer = second.read_response();
    ASSERT_TRUE(answer) << "answer " << i;
    EXPECT_EQ(answer->body.size(), service_.metrics.size());
  }
}

// A client reading one big answer steadily is not taken for one that does not read: each
// newcomer that finds the server full while it reads is answered 503 instead.
TEST_F(AdminServerTest, AClientReadingABigAnswerSteadilyKeepsItsPlace) {
  service_.metrics = std::string(16 << 20, 'm');
  AdminServerLimits limits;
  limits.max_connections = 1;
  limits.slow_sender_ms = 300;
  start({"127.0.0.1:0", ""}, limits);
  RawHttpClient reader(port_, /*receive_buffer=*/65536);
  ASSERT_TRUE(reader.send("GET /metrics HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(eventually([this] { return service_.calls.size() == 1; }));
  std::atomic<bool> done{false};
  std::optional<RawResponse> answer;
  reader.pace_reads(1);  // 16 MiB in reads of 16 KiB: a second or more
  std::thread reading([&] {
    answer = reader.read_response();
    done = true;
  });
  int refused = 0;
  for (int i = 0; i < 100 && !done; ++i) {  // a newcomer every 50 ms while it reads
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (done) break;
    RawHttpClient newcomer(port_);
    auto response = newcomer.read_response();
    if (response && response->status == 503) ++refused;
  }
  reading.join();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->body.size(), service_.metrics.size());
  EXPECT_GT(refused, 0) << "the answer went out too fast to test anything";
}

// A connection that has not sent its first request yet is not closed for a newcomer within
// first_request_grace_ms: its request may be on its way.
TEST_F(AdminServerTest, NewConnectionsGetTimeToSendTheirFirstRequest) {
  AdminServerLimits limits;
  limits.max_connections = 2;
  limits.first_request_grace_ms = 60'000;
  start({"127.0.0.1:0", ""}, limits);
  RawHttpClient first(port_);
  RawHttpClient second(port_);
  ASSERT_TRUE(eventually([this] { return server_->open_connections() == 2; }));
  RawHttpClient third(port_);
  auto refused = third.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  for (RawHttpClient* kept : {&first, &second}) {
    ASSERT_TRUE(kept->send(kGetHealth));
    auto ok = kept->read_response();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
  }
}

// Connections accepted together, their requests in the kernel before the loop read them: a
// newcomer does not displace one of them (closing a socket with unread input resets it, and
// its client got no answer at all).
TEST_F(AdminServerTest, ARequestNotYetReadKeepsItsConnection) {
  AdminServerLimits limits;
  limits.max_connections = 2;
  limits.first_request_grace_ms = 0;
  start({"127.0.0.1:0", ""}, limits);
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::thread paused([&] {
    loop_.run([&] {  // the loop reads nothing until every request has arrived
      entered = true;
      while (!release.load())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  });
  while (!entered.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  RawHttpClient first(port_);
  ASSERT_TRUE(first.send(kGetHealth));
  RawHttpClient second(port_);
  ASSERT_TRUE(second.send(kGetHealth));
  RawHttpClient third(port_);
  ASSERT_TRUE(third.send(kGetHealth));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  paused.join();
  for (RawHttpClient* kept : {&first, &second}) {
    auto ok = kept->read_response();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
  }
  auto refused = third.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
}

TEST_F(AdminServerTest, AFullServerClosesTheConnectionIdleLongestForANewOne) {
  AdminServerLimits limits;
  limits.max_connections = 2;
  start({"127.0.0.1:0", ""}, limits);
  RawHttpClient oldest(port_);  // keep-alive, idle after its answer
  ASSERT_TRUE(oldest.send(kGetHealth));
  ASSERT_TRUE(oldest.read_response());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // loop time moves on
  RawHttpClient newer(port_);
  ASSERT_TRUE(newer.send(kGetHealth));
  ASSERT_TRUE(newer.read_response());
  ASSERT_TRUE(eventually([this] { return server_->open_connections() == 2; }));

  RawHttpClient probe(port_);  // a health probe gets in
  ASSERT_TRUE(probe.send(kGetHealth));
  auto ok = probe.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_TRUE(oldest.reads_eof());
  ASSERT_TRUE(newer.send(kGetHealth));
  auto still = newer.read_response();
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
}

TEST_F(AdminServerTest, RefusesNonLoopbackWithoutToken) {
  std::unique_ptr<AdminServer> other;
  for (const char* listen : {"0.0.0.0:0", "[::]:0"}) {
    const std::string error = try_start({listen, ""}, &other);
    EXPECT_NE(error.find("not a loopback address"), std::string::npos) << listen << ": " << error;
    EXPECT_NE(error.find("admin.token"), std::string::npos) << error;
    EXPECT_EQ(other, nullptr);
  }
  // With a token the same address is fine.
  EXPECT_EQ(try_start({"0.0.0.0:0", "tok"}, &other), "");
  EXPECT_NE(other, nullptr);
  loop_.run([&] { other.reset(); });
}

TEST_F(AdminServerTest, ReportsBadAddressesAndBusyPorts) {
  std::unique_ptr<AdminServer> other;
  const std::string malformed = try_start({"localhost", ""}, &other);
  EXPECT_NE(malformed.find("HOST:PORT"), std::string::npos) << malformed;

  start();
  const std::string busy_address = "127.0.0.1:" + std::to_string(port_);
  const std::string busy = try_start({busy_address, ""}, &other);
  EXPECT_NE(busy.find(busy_address), std::string::npos) << busy;
  EXPECT_NE(busy.find("address already in use"), std::string::npos) << busy;
  EXPECT_EQ(other, nullptr);
}

TEST_F(AdminServerTest, ResolvesLocalhostAndReportsTheBoundAddress) {
  start({"localhost:0", ""});
  const std::string address = loop_.run([this] { return server_->address(); });
  EXPECT_TRUE(address == "127.0.0.1:" + std::to_string(port_) ||
              address == "[::1]:" + std::to_string(port_))
      << address;
}

sockaddr_storage ip(const char* text) {
  sockaddr_storage address{};
  if (uv_ip4_addr(text, 1, reinterpret_cast<sockaddr_in*>(&address)) != 0)
    uv_ip6_addr(text, 1, reinterpret_cast<sockaddr_in6*>(&address));
  return address;
}

TEST(IsLoopback, RecognisesLoopbackAddresses) {
  EXPECT_TRUE(is_loopback(ip("127.0.0.1")));
  EXPECT_TRUE(is_loopback(ip("127.255.0.9")));
  EXPECT_TRUE(is_loopback(ip("::1")));
  EXPECT_TRUE(is_loopback(ip("::ffff:127.0.0.2")));
  EXPECT_FALSE(is_loopback(ip("0.0.0.0")));
  EXPECT_FALSE(is_loopback(ip("10.1.2.3")));
  EXPECT_FALSE(is_loopback(ip("128.0.0.1")));
  EXPECT_FALSE(is_loopback(ip("::")));
  EXPECT_FALSE(is_loopback(ip("::ffff:10.0.0.1")));
  EXPECT_FALSE(is_loopback(ip("fe80::1")));
}

}  // namespace
}  // namespace ringleader::proxy::admin
