// `ringleader ctl` (in-process) against a real AdminServer with a scripted service.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <sstream>
#include <thread>

#include "admin/admin_server.h"
#include "ctl_main.h"
#include "fake_admin_service.h"
#include "loop_thread.h"

namespace ringleader::app::ctl {
namespace {

using proxy::admin::AdminServer;
using proxy::admin::testing::FakeAdminService;
using proxy::admin::testing::LoopThread;

struct CtlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CtlEndToEndTest : public ::testing::Test {
 protected:
  void start(const std::string& token = "") {
    const std::string error = loop_.run([&]() -> std::string {
      auto started = AdminServer::start(loop_.loop(), {"127.0.0.1:0", token}, service_);
      if (!started) return started.error();
      server_ = std::move(started).value();
      return "";
    });
    ASSERT_EQ(error, "");
    address_ = loop_.run([this] { return server_->address(); });
  }

  void TearDown() override {
    loop_.stop([this] { server_.reset(); });
    EXPECT_EQ(loop_.close_result(), 0);
  }

  // Runs ctl with --admin pointing at the test server (the test thread blocks; the server
  // answers on the loop thread).
  CtlRun ctl(std::vector<std::string> args, const std::string& env_token = "") {
    args.insert(args.begin(), {"--admin", address_});
    std::ostringstream out, err;
    CtlRun r;
    r.exit_code = run(args, env_token, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  std::vector<std::string> calls() {
    return loop_.run([this] { return service_.calls; });
  }

  FakeAdminService service_;
  LoopThread loop_;
  std::unique_ptr<AdminServer> server_;
  std::string address_;
};

TEST_F(CtlEndToEndTest, RingAsTableAndAsJson) {
  start();
  CtlRun table = ctl({"ring"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out, "epoch      3\nalgorithm  vnode\nreplicas   1\n\nno backends\n");
  CtlRun json = ctl({"--json", "ring", "--consistent"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  auto body = nlohmann::json::parse(json.out);
  EXPECT_EQ(body["epoch"], 3);
  EXPECT_EQ(calls(), (std::vector<std::string>{"ring consistent=0", "ring consistent=1"}));
}

TEST_F(CtlEndToEndTest, LookupSendsTheKeyIntact) {
  start();
  CtlRun r = ctl({"lookup", "user:{42} a&b=c+d"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(calls(), std::vector<std::string>{"lookup user:{42} a&b=c+d"});
  EXPECT_NE(r.out.find("replicas  b1 (primary)"), std::string::npos) << r.out;
}

TEST_F(CtlEndToEndTest, MetricsAreRaw) {
  start();
  CtlRun r = ctl({"metrics"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "# TYPE ringleader_up gauge\nringleader_up 1\n");
}

TEST_F(CtlEndToEndTest, NotReadyExitsOneWithTheReason) {
  start();
  CtlRun r = ctl({"ready"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no backend can take requests (HTTP 503)"), std::string::npos) << r.err;
  CtlRun json = ctl({"ready", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(json.out)["ready"], false) << "--json prints error bodies";
}

TEST_F(CtlEndToEndTest, ChangesAndServerErrors) {
  start();
  CtlRun added = ctl({"backends", "add", "r4", "127.0.0.1:7004", "--weight", "2"});
  EXPECT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, "epoch  7\n");
  loop_.run([this] {
    service_.mutation_reply = {409, {{"error", "membership.mode is \"static\": edit the file"}}};
  });
  CtlRun refused = ctl({"backends", "drain", "r4"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err,
            "ringleader ctl: membership.mode is \"static\": edit the file (HTTP 409)\n");
  EXPECT_EQ(ctl({"peers", "remove", "p2"}).exit_code, 1);
  EXPECT_EQ(calls(),
            (std::vector<std::string>{
                "add_backend {\"address\":\"127.0.0.1:7004\",\"name\":\"r4\",\"weight\":2}",
                "drain_backend r4", "remove_peer p2"}));
}

TEST_F(CtlEndToEndTest, TokenFromFlagOrEnvironment) {
  start("s3cret");
  CtlRun denied = ctl({"backends", "remove", "r1"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("admin token"), std::string::npos) << denied.err;
  EXPECT_NE(denied.err.find("(HTTP 401)"), std::string::npos) << denied.err;
  EXPECT_EQ(ctl({"backends", "remove", "r1", "--token", "wrong"}).exit_code, 1);
  EXPECT_EQ(ctl({"backends", "remove", "r1", "--token", "s3cret"}).exit_code, 0);
  EXPECT_EQ(ctl({"backends", "remove", "r1"}, "s3cret").exit_code, 0);
  EXPECT_EQ(ctl({"ring"}).exit_code, 0) << "reads need no token";
}

TEST_F(CtlEndToEndTest, CannotConnectExitsThreeNamingTheAddress) {
  start();
  loop_.run([this] { server_.reset(); });  // nothing listens there any more
  CtlRun r = ctl({"ring"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("cannot connect to the admin API at " + address_), std::string::npos)
      << r.err;
}

// A listening socket on a free loopback port; its "127.0.0.1:PORT" in *address.
int loopback_listener(std::string* address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  EXPECT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *address = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  return fd;
}

// A listener that never accepts: connecting succeeds (the kernel's backlog), nothing answers.
class SilentListener {
 public:
  SilentListener() : fd_(loopback_listener(&address_)) {}
  ~SilentListener() { ::close(fd_); }
  const std::string& address() const { return address_; }

 private:
  std::string address_;  // before fd_: the constructor fills it while opening fd_
  int fd_ = -1;
};

TEST_F(CtlEndToEndTest, NoAnswerInTimeExitsFourAndSaysAChangeMayStillApply) {
  SilentListener silent;
  std::ostringstream out, err;
  int code = run(
      {"--admin", silent.address(), "--timeout", "1", "--token", "t", "backends", "drain", "r1"},
      "", out, err);
  EXPECT_EQ(code, 4);
  EXPECT_NE(err.str().find("no answer within 1 s"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("the change may still be applied"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("--timeout"), std::string::npos) << err.str();

  std::ostringstream out2, err2;
  EXPECT_EQ(run({"--admin", silent.address(), "--timeout", "1", "ring"}, "", out2, err2), 4);
  EXPECT_NE(err2.str().find("no answer within 1 s"), std::string::npos) << err2.str();
  EXPECT_EQ(err2.str().find("may still be applied"), std::string::npos) << "a read changes nothing";
}

// A listener that accepts one connection, reads the request's head and then does what the
// test says with the connection (on its own thread), then closes it.
class ScriptedPeer {
 public:
  explicit ScriptedPeer(std::function<void(int fd)> script) : fd_(loopback_listener(&address_)) {
    thread_ = std::thread([this, script = std::move(script)] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      script(c);
      ::close(c);
    });
  }
  ~ScriptedPeer() {
    thread_.join();
    ::close(fd_);
  }
  const std::string& address() const { return address_; }

 private:
  std::string address_;  // before fd_: the constructor fills it while opening fd_
  int fd_ = -1;
  std::thread thread_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A server that took the request and closed without a word may have applied it: the same
// exit code and warning as no answer in time (with where to look for a peer change), not a
// server error.
TEST_F(CtlEndToEndTest, AConnectionClosedBeforeAnyAnswerExitsFour) {
  for (const char* what : {"backends", "peers"}) {
    ScriptedPeer peer([](int) {});
    std::ostringstream out, err;
    const std::vector<std::string> args =
        std::string(what) == "backends"
            ? std::vector<std::string>{"--admin", peer.address(), "backends", "drain", "r1"}
            : std::vector<std::string>{"--admin", peer.address(), "peers", "promote", "p4"};
    EXPECT_EQ(run(args, "", out, err), 4) << err.str();
    EXPECT_NE(err.str().find("the connection closed before any answer"), std::string::npos)
        << err.str();
    EXPECT_NE(err.str().find("the change may still be applied"), std::string::npos) << err.str();
    const std::string look = std::string(what) == "backends"
                                 ? "ringleader ctl ring shows"
                                 : "ringleader ctl cluster status shows";
    EXPECT_NE(err.str().find(look), std::string::npos) << err.str();
  }
}

// Something that is not the admin API (a Redis port answers at once and keeps the connection
// open): said at once, not after the timeout.
TEST_F(CtlEndToEndTest, AnAnswerThatIsNotHttpFailsAtOnce) {
  ScriptedPeer peer([](int fd) {
    const std::string reply = "-ERR unknown command 'POST'\r\n";
    ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  });
  std::ostringstream out, err;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run({"--admin", peer.address(), "--timeout", "5", "ring"}, "", out, err), 1);
  EXPECT_LT(seconds_since(start), 2.0);
  EXPECT_NE(err.str().find("not an HTTP response"), std::string::npos) << err.str();
}

// --timeout bounds the whole exchange, even when the answer trickles in.
TEST_F(CtlEndToEndTest, ATricklingAnswerIsCutAtTheTimeout) {
  ScriptedPeer peer([](int fd) {
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    for (char c : answer) {  // a byte every 100 ms: 4 s in all
      if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::ostringstream out, err;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run({"--admin", peer.address(), "--timeout", "1", "ring"}, "", out, err), 4);
  EXPECT_LT(seconds_since(start), 1.6);
  EXPECT_NE(err.str().find("no answer within 1 s (part of it arrived)"), std::string::npos)
      << err.str();
}

TEST_F(CtlEndToEndTest, AnAnswerThatCannotBeWrittenIsAFailure) {
  start();
  std::ostream broken(nullptr);  // every write fails
  std::ostringstream err;
  EXPECT_EQ(run({"--admin", address_, "ring"}, "", broken, err), 1);
  EXPECT_NE(err.str().find("could not be written"), std::string::npos) << err.str();
}

TEST_F(CtlEndToEndTest, UsageErrorsExitTwo) {
  start();
  EXPECT_EQ(ctl({}).exit_code, 2);
  EXPECT_EQ(ctl({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(ctl({"backends", "set", "r1"}).exit_code, 2);
  // Empty names would name endpoints that do not exist; nothing is sent.
  EXPECT_EQ(ctl({"backends", "remove", ""}).exit_code, 2);
  EXPECT_EQ(ctl({"backends", "drain", ""}).exit_code, 2);
  EXPECT_EQ(ctl({"backends", "set", "", "--weight", "2"}).exit_code, 2);
  EXPECT_EQ(ctl({"peers", "remove", ""}).exit_code, 2);
  EXPECT_EQ(ctl({"--token", "t\r\nX-Injected: yes", "health"}).exit_code, 2);
  CtlRun help = ctl({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("backends add NAME ADDRESS"), std::string::npos);
  EXPECT_TRUE(calls().empty());
}

}  // namespace
}  // namespace ringleader::app::ctl
