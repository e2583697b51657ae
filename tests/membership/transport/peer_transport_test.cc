#include "membership/transport/peer_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ringleader::membership::transport {
namespace {

constexpr char kSecret[] = "test-secret";

// What one transport received.
struct Inbox {
  std::vector<raft::Message> messages;
  std::vector<std::pair<raft::NodeId, ForwardRequest>> requests;
  std::vector<std::pair<raft::NodeId, ForwardResponse>> responses;
  std::vector<std::pair<raft::NodeId, std::string>> learned;
  std::vector<std::pair<raft::NodeId, std::vector<raft::NodeId>>> foreign;
};

// A libuv loop driven by the test thread, with transports on loopback ports.
class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    uv_timer_init(&loop_, &wakeup_);
    // Keeps uv_run(UV_RUN_ONCE) from blocking for long: the tests poll with deadlines.
    uv_timer_start(
        &wakeup_, [](uv_timer_t*) {}, 5, 5);
  }
  void TearDown() override {
    for (auto& t : transports_)
      t.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // Starts a transport on a free port; `index` is its slot in transports_/inboxes_.
  size_t start(const std::string& id, std::string secret = kSecret,
               std::map<raft::NodeId, std::string> peers = {}, size_t max_queue = 1024,
               std::vector<raft::NodeId> founders = {}, std::string listen = "127.0.0.1:0",
               size_t max_bytes = size_t{64} << 20) {
    size_t index = transports_.size();
    inboxes_.push_back(std::make_unique<Inbox>());
    Inbox* inbox = inboxes_.back().get();
    TransportOptions o;
    o.node_id = id;
    o.listen = std::move(listen);
    o.secret = std::move(secret);
    o.peers = std::move(peers);
    o.max_queued_frames = max_queue;
    o.max_queued_bytes = max_bytes;
    o.founders = std::move(founders);
    o.reconnect_min_ms = 10;
    o.reconnect_max_ms = 100;
    o.hello_timeout_ms = hello_timeout_ms_;
    o.max_unidentified = max_unidentified_;
    o.max_strangers = max_strangers_;
    TransportCallbacks cb;
    cb.on_message = [inbox](raft::Message m) { inbox->messages.push_back(std::move(m)); };
    cb.on_forward_request = [inbox](const raft::NodeId& from, ForwardRequest r) {
      inbox->requests.emplace_back(from, std::move(r));
    };
    cb.on_forward_response = [inbox](const raft::NodeId& from, ForwardResponse r) {
      inbox->responses.emplace_back(from, std::move(r));
    };
    cb.on_peer_address = [inbox](const raft::NodeId& id2, const std::string& address) {
      inbox->learned.emplace_back(id2, address);
    };
    cb.in_group = in_group_;
    cb.on_foreign_group = [inbox](const raft::NodeId& id2, const std::vector<raft::NodeId>& f) {
      inbox->foreign.emplace_back(id2, f);
    };
    auto t = PeerTransport::start(&loop_, std::move(o), std::move(cb));
    EXPECT_TRUE(t.is_ok()) << t.error();
    transports_.push_back(std::move(t).value());
    return index;
  }

  PeerTransport& t(size_t i) { return *transports_[i]; }
  Inbox& in(size_t i) { return *inboxes_[i]; }

  // Runs the loop until the raw client `c` has read its connection's challenge.
  template <typename Client>
  bool handshake(Client& c, const std::string& secret = kSecret) {
    return run_until([&] { return c.read_challenge(secret); });
  }

  // Runs the loop until `done` holds or `timeout_ms` passes; returns done().
  bool run_until(const std::function<bool()>& done, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_ONCE);
    }
    return true;
  }

  void connect_all() {
    for (size_t i = 0; i < transports_.size(); ++i) {
      for (size_t j = 0; j < transports_.size(); ++j) {
        if (i != j) {
          ASSERT_TRUE(t(i).set_peer(t(j).node_id(), t(j).listen_address()).is_ok());
        }
      }
    }
  }

  static raft::Message heartbeat(const raft::NodeId& from, const raft::NodeId& to, uint64_t seq) {
    return raft::Message{from, to, 3, raft::AppendRequest{0, 0, {}, 0, seq}};
  }
  static uint64_t seq_of(const raft::Message& m) {
    return std::get<raft::AppendRequest>(m.payload).heartbeat_seq;
  }

  uint32_t hello_timeout_ms_ = 5000;  // for transports started from now on
  size_t max_unidentified_ = 64;
  size_t max_strangers_ = 8;
  std::function<bool(const raft::NodeId&)> in_group_;  // unset: every id is in the group
  uv_loop_t loop_{};
  uv_timer_t wakeup_{};
  std::vector<std::unique_ptr<PeerTransport>> transports_;
  std::vector<std::unique_ptr<Inbox>> inboxes_;
};

// A blocking client socket to a transport's listener, for hand-made frames.
class RawClient {
 public:
  explicit RawClient(const std::string& address) {
    size_t colon = address.rfind(':');
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
    inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  bool write(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // True once the peer closed the connection (read returns 0 or an error). Reads past the
  // challenge.
  bool closed_by_peer() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  // Reads what has arrived of the challenge the transport writes first; true once it is all
  // in, and the session key (under `secret`) is known.
  bool read_challenge(const std::string& secret = kSecret) {
    char buf[kChallengeBytes];
    const ssize_t n = ::recv(fd_, buf, kChallengeBytes - challenge_.size(), MSG_DONTWAIT);
    if (n > 0) challenge_.append(buf, static_cast<size_t>(n));
    Result<std::string> nonce = decode_challenge(challenge_);
    if (!nonce || nonce->empty()) return false;
    nonce_ = *nonce;
    key_ = session_key(secret, nonce_);
    return true;
  }
  const std::string& nonce() const { return nonce_; }
  // `payload` sealed as this connection's next frame.
  std::string seal(const std::string& payload) { return seal_frame(key_, sequence_++, payload); }
  std::string hello(const std::string& id, const std::string& address = "") {
    return seal(encode_frame(Frame{Hello{id, address}}));
  }
  std::string heartbeat(const raft::NodeId& from, const raft::NodeId& to, uint64_t seq) {
    return seal(encode_message(raft::Message{from, to, 3, raft::AppendRequest{0, 0, {}, 0, seq}}));
  }
  // `id`'s Hello and then its heartbeat number `seq` to `to`, sealed in that order (as two
  // operands of one expression they could be sealed in either).
  std::string hello_and_heartbeat(const raft::NodeId& id, const raft::NodeId& to, uint64_t seq) {
    std::string frames = hello(id);
    return frames + heartbeat(id, to, seq);
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string challenge_;
  std::string nonce_;
  std::string key_;
  uint64_t sequence_ = 0;
};

TEST_F(TransportTest, ExchangesMessagesBothWays) {
  size_t a = start("a");
  size_t b = start("b");
  size_t c = start("c");
  connect_all();
  for (uint64_t i = 1; i <= 50; ++i) {
    t(a).send(heartbeat("a", "b", i));
    t(b).send(heartbeat("b", "a", i));
    t(c).send(heartbeat("c", "a", i));
  }
  ASSERT_TRUE(
      run_until([&] { return in(b).messages.size() == 50 && in(a).messages.size() == 100; }));
  // Per sender, order is kept.
  for (uint64_t i = 0; i < 50; ++i)
    EXPECT_EQ(seq_of(in(b).messages[i]), i + 1);
  size_t from_c = 0;
  for (const raft::Message& m : in(a).messages)
    from_c += m.from == "c";
  EXPECT_EQ(from_c, 50u);
  EXPECT_EQ(t(a).stats().rejected_bad_mac, 0u);
}

// Founders started with different peer lists: their links are refused at the hello, both
// ways; a node that does not know its founders yet is neither checked nor checking.
TEST_F(TransportTest, RefusesPeersOfAGroupWithOtherFounders) {
  const std::vector<raft::NodeId> abc = {"a", "b", "c"}, abcd = {"a", "b", "c", "d"};
  size_t a = start("a", kSecret, {}, 1024, abc);
  size_t b = start("b", kSecret, {}, 1024, abc);
  size_t c = start("c", kSecret, {}, 1024, abcd);
  size_t d = start("d");
  connect_all();
  for (uint64_t i = 1; i <= 3; ++i) {
    for (const char* from : {"a", "b", "c", "d"}) {
      for (const char* to : {"a", "b", "c", "d"}) {
        if (std::string(from) != to) t(from[0] - 'a').send(heartbeat(from, to, i));
      }
    }
  }
  auto from = [&](size_t at, const std::string& sender) {
    size_t n = 0;
    for (const raft::Message& m : in(at).messages)
      n += m.from == sender;
    return n;
  };
  ASSERT_TRUE(run_until([&] {
    return from(a, "b") == 3 && from(a, "d") == 3 && from(b, "a") == 3 && from(d, "a") == 3 &&
           from(d, "c") == 3 && from(c, "d") == 3 && t(a).stats().rejected_group > 0 &&
           t(b).stats().rejected_group > 0 && t(c).stats().rejected_group >= 2;
  }));
  EXPECT_EQ(from(a, "c"), 0u);
  EXPECT_EQ(from(b, "c"), 0u);
  EXPECT_EQ(from(c, "a"), 0u);
  EXPECT_EQ(from(c, "b"), 0u);
  ASSERT_FALSE(in(a).foreign.empty());
  EXPECT_EQ(in(a).foreign.front(), (std::pair<raft::NodeId, std::vector<raft::NodeId>>{"c", abcd}));
  ASSERT_FALSE(in(c).foreign.empty());
  EXPECT_EQ(in(c).foreign.front().second, abc);
  EXPECT_EQ(t(a).founders_of("b"), abc);
  EXPECT_TRUE(t(a).founders_of("d").empty()) << "d does not know its founders";
  EXPECT_TRUE(t(a).founders_of("c").empty()) << "a refused hello is not recorded";
  EXPECT_EQ(t(d).founders_of("a"), abc);
  EXPECT_EQ(t(d).founders_of("c"), abcd);
  EXPECT_EQ(t(d).stats().rejected_group, 0u);

  // Founders set later name the group in later hellos, and are checked from then on.
  size_t e = start("e");
  t(e).set_founders(abcd);
  EXPECT_EQ(t(e).founders(), abcd);
  ASSERT_TRUE(t(e).set_peer("a", t(a).listen_address()).is_ok());
  uint64_t refused_before = t(a).stats().rejected_group;
  t(e).send(heartbeat("e", "a", 1));
  ASSERT_TRUE(run_until([&] { return t(a).stats().rejected_group > refused_before; }));
  EXPECT_EQ(from(a, "e"), 0u);
}

TEST_F(TransportTest, CarriesEveryMessageTypeAndForwardFrames) {
  size_t a = start("a");
  size_t b = start("b");
  connect_all();
  raft::Snapshot snap;
  snap.meta.index = 40;
  snap.meta.term = 2;
  snap.meta.config.voters = {"a", "b"};
  snap.data = std::string(300000, 's');  // spans several reads
  std::vector<raft::Message> sent = {
      {"a", "b", 2,
       raft::VoteRequest{raft::VoteKind::kPreVote, raft::ElectionCause::kTimeout, 4, 1}},
      {"a", "b", 2, raft::VoteResponse{raft::VoteKind::kVote, raft::Verdict::kGranted}},
      {"a", "b", 2,
       raft::AppendRequest{3, 1, {raft::Entry{2, 4, raft::EntryType::kCommand, "cmd"}}, 3, 9}},
      {"a", "b", 2, raft::AppendResponse{raft::Verdict::kGranted, 4, 0, 0, 0, 9}},
      {"a", "b", 2, raft::SnapshotRequest{snap, 10}},
      {"a", "b", 2, raft::TimeoutNow{}},
      {"a", "b", 2, raft::ReadIndexRequest{8}},
      {"a", "b", 2, raft::ReadIndexResponse{8, raft::Verdict::kGranted, 40}},
  };
  for (const raft::Message& m : sent)
    t(a).send(m);
  ForwardRequest req;
  req.request_id = 77;
  req.command = "payload";
  t(a).send_frame("b", req);
  t(b).send_frame("a", ForwardResponse{77, true, 12, ""});
  ASSERT_TRUE(run_until([&] {
    return in(b).messages.size() == sent.size() && in(b).requests.size() == 1 &&
           in(a).responses.size() == 1;
  }));
  for (size_t i = 0; i < sent.size(); ++i)
    EXPECT_TRUE(same_message(sent[i], in(b).messages[i]));
  EXPECT_EQ(in(b).requests[0].first, "a");
  EXPECT_EQ(in(b).requests[0].second, req);
  EXPECT_EQ(in(a).responses[0].second, (ForwardResponse{77, true, 12, ""}));
}

TEST_F(TransportTest, WrongSecretIsRejected) {
  size_t a = start("a");
  size_t bad = start("intruder", "other-secret");
  ASSERT_TRUE(t(bad).set_peer("a", t(a).listen_address()).is_ok());
  t(bad).send(heartbeat("intruder", "a", 1));
  ASSERT_TRUE(run_until([&] { return t(a).stats().rejected_bad_mac >= 2; }))
      << "the intruder keeps reconnecting and keeps being rejected";
  EXPECT_TRUE(in(a).messages.empty());
  EXPECT_TRUE(in(a).learned.empty()) << "an unauthenticated hello teaches nothing";
  EXPECT_TRUE(t(a).peers().empty());
}

TEST_F(TransportTest, CorruptedByteClosesConnectionAndReconnectWorks) {
  size_t a = start("a");
  {
    RawClient client(t(a).listen_address());
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(handshake(client));
    std::string hello = client.hello("z");
    std::string corrupted = client.heartbeat("z", "a", 1);
    corrupted[corrupted.size() - 3] ^= 0x40;
    ASSERT_TRUE(client.write(hello + corrupted));
    ASSERT_TRUE(run_until([&] { return client.closed_by_peer(); }));
  }
  EXPECT_EQ(t(a).stats().rejected_bad_mac, 1u);
  EXPECT_TRUE(in(a).messages.empty());

  RawClient again(t(a).listen_address());
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(handshake(again));
  ASSERT_TRUE(again.write(again.hello_and_heartbeat("z", "a", 1)));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1; }));
  EXPECT_EQ(in(a).messages[0].from, "z");
}

// A loopback port bound and never listened on, held while the object lives: every connect to
// it is refused, and no other process (tests run in parallel) can start listening there.
class RefusingPort {
 public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    socklen_t len = sizeof sa;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len), 0);
    address_ = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  const std::string& address() const { return address_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  std::string address_;
};

// A listening socket on a free loopback port that is not a transport (a server of another kind,
// or an instance of an earlier release); closed with the object.
class PlainListener : public RefusingPort {
 public:
  PlainListener() { EXPECT_EQ(::listen(fd(), 8), 0); }
};

// Frames recorded from one connection are good on that connection only, at their place:
// played again on another connection, or again on their own, they fail their MAC and
// deliver nothing.
TEST_F(TransportTest, RecordedFramesCannotBeReplayed) {
  size_t a = start("a");
  RawClient first(t(a).listen_address());
  ASSERT_TRUE(handshake(first));
  const std::string hello = first.hello("z");
  const std::string heartbeat1 = first.heartbeat("z", "a", 1);
  ASSERT_TRUE(first.write(hello + heartbeat1));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1; }));

  // On a new connection: its challenge has another nonce, so another session key.
  RawClient replay(t(a).listen_address());
  ASSERT_TRUE(handshake(replay));
  EXPECT_NE(replay.nonce(), first.nonce());
  ASSERT_TRUE(replay.write(hello + heartbeat1));
  ASSERT_TRUE(run_until([&] { return replay.closed_by_peer(); }));
  EXPECT_EQ(t(a).stats().rejected_bad_mac, 1u);

  // On its own connection, the same frame again is out of place.
  ASSERT_TRUE(first.write(heartbeat1));
  ASSERT_TRUE(run_until([&] { return first.closed_by_peer(); }));
  EXPECT_EQ(t(a).stats().rejected_bad_mac, 2u);
  ASSERT_EQ(in(a).messages.size(), 1u);
  EXPECT_EQ(seq_of(in(a).messages[0]), 1u);
}

// A frame sealed as releases before per-connection sessions sealed it (the secret's MAC of
// the payload, no challenge read) is refused, and counted as a protocol mismatch rather than
// as another secret.
TEST_F(TransportTest, FramesSealedWithoutASessionAreRefused) {
  size_t a = start("a");
  RawClient old_release(t(a).listen_address());
  ASSERT_TRUE(old_release.ok());
  const std::string payload = encode_frame(Frame{Hello{"z", ""}});
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i)
    frame[i] = static_cast<char>(payload.size() >> (8 * i));
  frame += unsessioned_frame_mac(kSecret, payload) + payload;
  ASSERT_TRUE(old_release.write(frame));
  ASSERT_TRUE(run_until([&] { return old_release.closed_by_peer(); }));
  EXPECT_EQ(t(a).stats().rejected_protocol, 1u);
  EXPECT_EQ(t(a).stats().rejected_bad_mac, 0u);
  EXPECT_TRUE(in(a).learned.empty());
}

// A node that dials a peer which accepts and sends no challenge (an earlier release) gives up
// on that connection after hello_timeout_ms and dials again; nothing is written to it.
TEST_F(TransportTest, APeerThatSendsNoChallengeGetsNoFrames) {
  hello_timeout_ms_ = 200;
  PlainListener listener;
  const int server = listener.fd();
  ASSERT_EQ(::fcntl(server, F_SETFL, O_NONBLOCK), 0);
  size_t a = start("a");
  ASSERT_TRUE(t(a).set_peer("old", listener.address()).is_ok());
  t(a).send(heartbeat("a", "old", 1));
  std::vector<int> accepted;
  std::string received;
  ASSERT_TRUE(run_until([&] {
    for (int fd; (fd = ::accept(server, nullptr, nullptr)) >= 0;) {
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      accepted.push_back(fd);
    }
    for (int fd : accepted) {
      char buf[256];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;)
        received.append(buf, static_cast<size_t>(n));
    }
    return accepted.size() >= 2;  // the first connection given up on, a second one made
  }));
  EXPECT_EQ(received, "");
  EXPECT_FALSE(t(a).connected("old"));
  EXPECT_GE(t(a).stats().rejected_protocol, 1u);
  // Not counted as a connection made: none carried a frame.
  EXPECT_EQ(t(a).stats().connects, 0u);
  EXPECT_GE(t(a).stats().connect_failures, 1u);
  for (int fd : accepted)
    ::close(fd);
}

TEST_F(TransportTest, OversizedUndecodableAndHellolessFramesAreCounted) {
  size_t a = start("a");
  ::testing::internal::CaptureStderr();
  {
    RawClient client(t(a).listen_address());
    std::string header(kFrameHeaderBytes, '\0');
    header[3] = 0x7f;  // length ~2 GiB
    ASSERT_TRUE(client.write(header));
    ASSERT_TRUE(run_until([&] { return client.closed_by_peer(); }));
    EXPECT_EQ(t(a).stats().rejected_oversized, 1u);
  }
  {
    // Before its hello, a caller may announce no frame longer than the longest hello: one
    // without the secret cannot have the node wait for and buffer a 64 MiB frame.
    RawClient client(t(a).listen_address());
    std::string header(kFrameHeaderBytes, '\0');
    const uint32_t len = kMaxHelloPayload + 1;
    for (int i = 0; i < 4; ++i)
      header[i] = static_cast<char>(len >> (8 * i));
    ASSERT_TRUE(client.write(header));
    ASSERT_TRUE(run_until([&] { return client.closed_by_peer(); }));
    EXPECT_EQ(t(a).stats().rejected_oversized, 2u);
  }
  {
    RawClient client(t(a).listen_address());
    ASSERT_TRUE(handshake(client));
    ASSERT_TRUE(client.write(client.seal("\x01\x63garbage")));
    ASSERT_TRUE(run_until([&] { return client.closed_by_peer(); }));
    EXPECT_EQ(t(a).stats().rejected_undecodable, 1u);
  }
  {
    RawClient client(t(a).listen_address());
    ASSERT_TRUE(handshake(client));
    ASSERT_TRUE(client.write(client.heartbeat("z", "a", 1)));
    ASSERT_TRUE(run_until([&] { return client.closed_by_peer(); }));
    EXPECT_EQ(t(a).stats().rejected_protocol, 1u);
  }
  {
    // A message claiming another sender than the hello is dropped.
    RawClient client(t(a).listen_address());
    ASSERT_TRUE(handshake(client));
    const std::string hello = client.hello("z");
    const std::string other = client.heartbeat("y", "a", 1);
    ASSERT_TRUE(client.write(hello + other + client.heartbeat("z", "a", 2)));
    ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1; }));
    EXPECT_EQ(seq_of(in(a).messages[0]), 2u);
    EXPECT_EQ(t(a).stats().rejected_protocol, 2u);
  }
  // Each is said in the log, with what the caller sent.
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("it announced a frame of 2130706432 bytes, more than the"), std::string::npos)
      << log;
  EXPECT_NE(
      log.find("more than the " + std::to_string(kMaxHelloPayload) + " allowed before its hello"),
      std::string::npos)
      << log;
  EXPECT_NE(log.find("a frame that does not decode"), std::string::npos) << log;
  EXPECT_NE(log.find("its first frame is not a hello"), std::string::npos) << log;
}

// Connections that do not say who they are cannot pile up: past max_unidentified the one
// that waited longest is closed, and each is closed once hello_timeout_ms has passed without a
// Hello. A peer that says hello at once gets through all the same.
TEST_F(TransportTest, ConnectionsWithoutAHelloAreCappedAndTimedOut) {
  hello_timeout_ms_ = 1000;
  max_unidentified_ = 3;
  size_t a = start("a");
  std::vector<std::unique_ptr<RawClient>> silent;
  for (size_t i = 0; i < 3; ++i) {
    silent.push_back(std::make_unique<RawClient>(t(a).listen_address()));
    ASSERT_TRUE(silent.back()->ok());
    ASSERT_TRUE(silent.back()->write("*1\r\n$4\r\nPING\r\n"));  // under a frame header
    ASSERT_TRUE(run_until([&] { return t(a).stats().accepted == i + 1; }));
    // Accepted in an earlier loop pass than what follows (the cap closes only such).
    const auto later = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
    run_until([&] { return std::chrono::steady_clock::now() > later; }, 100);
  }
  // A fourth pushes the first out.
  RawClient extra(t(a).listen_address());
  ASSERT_TRUE(run_until([&] { return silent[0]->closed_by_peer(); }, 1000));
  EXPECT_EQ(t(a).stats().rejected_protocol, 1u);
  EXPECT_FALSE(silent[1]->closed_by_peer());
  EXPECT_FALSE(extra.closed_by_peer());
  // A peer with a Hello gets through while the cap is full.
  RawClient peer(t(a).listen_address());
  ASSERT_TRUE(handshake(peer));
  ASSERT_TRUE(peer.write(peer.hello_and_heartbeat("z", "a", 1)));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1; }));
  // The peer's connection pushed the next oldest out; the rest time out; the peer stays.
  ASSERT_TRUE(run_until([&] {
    return silent[1]->closed_by_peer() && silent[2]->closed_by_peer() && extra.closed_by_peer();
  }));
  EXPECT_GE(t(a).stats().rejected_protocol, 4u);
  EXPECT_FALSE(peer.closed_by_peer());
}

// A Hello from an id outside the group teaches no address (the node would dial whatever
// address it names, for good), and only max_strangers such connections stay open: the oldest
// go. A peer of the group is learned and kept as before.
TEST_F(TransportTest, IdsOutsideTheGroupTeachNothingAndAreCapped) {
  max_strangers_ = 2;
  in_group_ = [](const raft::NodeId& id) { return id.rfind("member", 0) == 0; };
  size_t a = start("a");
  std::vector<std::unique_ptr<RawClient>> strangers;
  for (int i = 0; i < 4; ++i) {
    strangers.push_back(std::make_unique<RawClient>(t(a).listen_address()));
    RawClient& c = *strangers.back();
    ASSERT_TRUE(handshake(c));
    const std::string hello =
        c.seal(encode_frame(Frame{Hello{"stranger-" + std::to_string(i), "127.0.0.1:9", {"f"}}}));
    ASSERT_TRUE(c.write(hello + c.heartbeat("stranger-" + std::to_string(i), "a", 1)));
    ASSERT_TRUE(run_until([&] { return in(a).messages.size() == static_cast<size_t>(i + 1); }));
  }
  EXPECT_TRUE(in(a).learned.empty());
  EXPECT_TRUE(t(a).peers().empty());
  ASSERT_TRUE(
      run_until([&] { return strangers[0]->closed_by_peer() && strangers[1]->closed_by_peer(); }));
  EXPECT_FALSE(strangers[2]->closed_by_peer());
  EXPECT_FALSE(strangers[3]->closed_by_peer());
  EXPECT_EQ(t(a).stats().rejected_protocol, 2u);
  // What a stranger claims is kept while it is connected only.
  EXPECT_EQ(t(a).founders_of("stranger-3"), std::vector<raft::NodeId>{"f"});
  EXPECT_TRUE(t(a).founders_of("stranger-0").empty());

  RawClient member(t(a).listen_address());
  ASSERT_TRUE(handshake(member));
  ASSERT_TRUE(member.write(member.hello("member-1", "127.0.0.1:9")));
  ASSERT_TRUE(run_until([&] { return in(a).learned.size() == 1; }));
  EXPECT_EQ(in(a).learned[0], std::make_pair(raft::NodeId("member-1"), std::string("127.0.0.1:9")));
  EXPECT_FALSE(member.closed_by_peer());
  EXPECT_FALSE(strangers[3]->closed_by_peer());
}

// An id the node comes to trust after its Hello (the leader of a group a joining node's file
// does not list) teaches the address its Hello gave once asked to, while it is connected.
TEST_F(TransportTest, AStrangersAddressIsLearnedOnlyWhenAskedFor) {
  in_group_ = [](const raft::NodeId&) { return false; };
  size_t a = start("a");
  t(a).learn_address_of("leader");  // not connected: nothing to learn
  EXPECT_TRUE(t(a).peers().empty());
  RawClient c(t(a).listen_address());
  ASSERT_TRUE(handshake(c));
  const std::string hello = c.hello("leader", "127.0.0.1:9");
  ASSERT_TRUE(c.write(hello + c.heartbeat("leader", "a", 1)));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1; }));
  EXPECT_TRUE(t(a).peers().empty());
  t(a).learn_address_of("other");
  EXPECT_TRUE(t(a).peers().empty());
  t(a).learn_address_of("leader");
  ASSERT_EQ(in(a).learned.size(), 1u);
  EXPECT_EQ(in(a).learned[0], std::make_pair(raft::NodeId("leader"), std::string("127.0.0.1:9")));
  EXPECT_EQ(t(a).peers().at("leader"), "127.0.0.1:9");
  t(a).learn_address_of("leader");  // known already: said once
  EXPECT_EQ(in(a).learned.size(), 1u);
}

// Ids from a Hello end up in log lines and metric labels: one outside the config file's
// characters is refused, unless it is a member's (a release that took any id added it).
TEST_F(TransportTest, AHelloIdOutsideTheConfigCharactersIsRefusedUnlessAMembers) {
  in_group_ = [](const raft::NodeId& id) { return id.rfind("member", 0) == 0; };
  size_t a = start("a");
  for (const std::string& bad : std::vector<std::string>{"a\nb", "a b", "\xff", "a/b"}) {
    RawClient c(t(a).listen_address());
    ASSERT_TRUE(handshake(c));
    ASSERT_TRUE(c.write(c.hello(bad)));
    ASSERT_TRUE(run_until([&] { return c.closed_by_peer(); })) << bad;
  }
  {
    // Nor with a founder outside them.
    RawClient c(t(a).listen_address());
    ASSERT_TRUE(handshake(c));
    ASSERT_TRUE(c.write(c.seal(encode_frame(Frame{Hello{"stranger", "", {"x\ny"}}}))));
    ASSERT_TRUE(run_until([&] { return c.closed_by_peer(); }));
  }
  EXPECT_EQ(t(a).stats().rejected_protocol, 5u);
  RawClient member(t(a).listen_address());
  ASSERT_TRUE(handshake(member));
  ASSERT_TRUE(member.write(member.hello_and_heartbeat("member with spaces", "a", 1)));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1; }));
  EXPECT_FALSE(member.closed_by_peer());
}

// A peer keeps one connection to a node; when it makes a new one, the one it left behind (its
// end lost without a FIN in a partition or a crash, so silent since) is closed instead of
// staying open. One still delivering frames is another process with the same id: kept.
TEST_F(TransportTest, APeersNewerConnectionReplacesTheSilentOlderOne) {
  hello_timeout_ms_ = 200;
  size_t a = start("a");
  RawClient old_link(t(a).listen_address());
  ASSERT_TRUE(handshake(old_link));
  ASSERT_TRUE(old_link.write(old_link.hello("z")));
  RawClient other(t(a).listen_address());
  ASSERT_TRUE(handshake(other));
  ASSERT_TRUE(other.write(other.hello("y")));
  ASSERT_TRUE(run_until([&] { return t(a).stats().accepted == 2; }));
  // Not yet silent for hello_timeout_ms: a second "z" now is a twin, and both stay.
  RawClient twin(t(a).listen_address());
  ASSERT_TRUE(handshake(twin));
  ASSERT_TRUE(twin.write(twin.hello_and_heartbeat("z", "a", 1)));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1; }));
  EXPECT_FALSE(old_link.closed_by_peer());
  // Once both have been silent that long, the newest replaces them.
  auto quiet_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  run_until([&] { return std::chrono::steady_clock::now() > quiet_until; }, 1000);
  RawClient new_link(t(a).listen_address());
  ASSERT_TRUE(handshake(new_link));
  ASSERT_TRUE(new_link.write(new_link.hello_and_heartbeat("z", "a", 7)));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 2; }));
  ASSERT_TRUE(run_until([&] { return old_link.closed_by_peer() && twin.closed_by_peer(); }));
  EXPECT_FALSE(other.closed_by_peer());  // another peer's link stays
  EXPECT_FALSE(new_link.closed_by_peer());
}

// Anything but a challenge arriving on the connection a node opened to a peer shows the
// address is no ringleader's (a peer writes only its challenge there): the connection is
// closed and counted, and nothing was written to it.
TEST_F(TransportTest, APeerAddressThatAnswersIsNotAMembershipListener) {
  PlainListener listener;
  const int server = listener.fd();
  size_t a = start("a", kSecret, {{"web", listener.address()}});
  // Connected, though not to a peer: no challenge came, so nothing is written.
  const auto connected_by = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  run_until([&] { return std::chrono::steady_clock::now() > connected_by; }, 1000);
  EXPECT_FALSE(t(a).connected("web"));
  EXPECT_EQ(t(a).stats().connects, 0u);
  const int accepted = ::accept(server, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  const std::string answer = "HTTP/1.1 400 Bad Request\r\n\r\n";
  ASSERT_EQ(::send(accepted, answer.data(), answer.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(answer.size()));
  ASSERT_TRUE(run_until([&] { return t(a).stats().rejected_protocol == 1; }));
  EXPECT_FALSE(t(a).connected("web"));
  EXPECT_EQ(t(a).stats().connects, 0u);
  EXPECT_EQ(t(a).stats().connect_failures, 1u);
  timeval wait{5, 0};
  ASSERT_EQ(::setsockopt(accepted, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait), 0);
  char byte = 0;
  EXPECT_EQ(::recv(accepted, &byte, 1, 0), 0);  // the end of the stream, and nothing before
  ::close(accepted);
}

TEST_F(TransportTest, ReconnectsAfterPeerRestart) {
  size_t a = start("a");
  size_t b = start("b");
  connect_all();
  t(a).send(heartbeat("a", "b", 1));
  ASSERT_TRUE(run_until([&] { return in(b).messages.size() == 1; }));
  std::string b_address = t(b).listen_address();
  transports_[b].reset();  // b goes away
  ASSERT_TRUE(run_until([&] { return !t(a).connected("b"); }));

  // b comes back on the same port.
  inboxes_.push_back(std::make_unique<Inbox>());
  Inbox* inbox = inboxes_.back().get();
  TransportOptions o;
  o.node_id = "b";
  o.listen = b_address;
  o.secret = kSecret;
  TransportCallbacks cb;
  cb.on_message = [inbox](raft::Message m) { inbox->messages.push_back(std::move(m)); };
  auto restarted = PeerTransport::start(&loop_, std::move(o), std::move(cb));
  ASSERT_TRUE(restarted.is_ok()) << restarted.error();
  transports_.push_back(std::move(restarted).value());
  ASSERT_TRUE(run_until([&] {
    t(a).send(heartbeat("a", "b", 2));
    return !inbox->messages.empty();
  }));
  EXPECT_GE(t(a).stats().connects, 2u);
}

TEST_F(TransportTest, BlockedPeersGetNothing) {
  size_t a = start("a");
  size_t b = start("b");
  size_t c = start("c");
  connect_all();
  ASSERT_TRUE(run_until([&] { return t(a).connected("b") && t(b).connected("a"); }));
  t(a).set_blocked({"b"});
  for (uint64_t i = 1; i <= 10; ++i) {
    t(a).send(heartbeat("a", "b", i));  // dropped at a
    t(b).send(heartbeat("b", "a", i));  // dropped on arrival at a
    t(c).send(heartbeat("c", "a", i));  // still delivered
  }
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 10; }));
  ASSERT_TRUE(run_until([&] { return t(a).stats().dropped_blocked == 20; }));
  for (const raft::Message& m : in(a).messages)
    EXPECT_EQ(m.from, "c");
  EXPECT_TRUE(in(b).messages.empty());

  // Heal: a marker sent after the heal arrives, and nothing from before it does.
  t(a).set_blocked({});
  t(a).send(heartbeat("a", "b", 100));
  t(b).send(heartbeat("b", "a", 100));
  ASSERT_TRUE(run_until([&] { return in(b).messages.size() == 1 && in(a).messages.size() == 11; }));
  EXPECT_EQ(seq_of(in(b).messages[0]), 100u);
  EXPECT_EQ(seq_of(in(a).messages[10]), 100u);
}

TEST_F(TransportTest, OneWayBlockDropsOnlyOutgoing) {
  size_t a = start("a");
  size_t b = start("b");
  connect_all();
  t(a).set_blocked_outgoing({"b"});
  t(a).send(heartbeat("a", "b", 1));
  t(b).send(heartbeat("b", "a", 1));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1; }));
  EXPECT_EQ(t(a).stats().dropped_blocked, 1u);
  t(a).set_blocked_outgoing({});
  t(a).send(heartbeat("a", "b", 2));
  ASSERT_TRUE(run_until([&] { return in(b).messages.size() == 1; }));
  EXPECT_EQ(seq_of(in(b).messages[0]), 2u);
}

// A port nothing listens on now, for a node that must know its port before it starts.
uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

std::string port_of(const std::string& address) {
  return address.substr(address.rfind(':') + 1);
}

// A node listening on every interface tells peers nothing it cannot be reached by: a peer
// keeps the address it was configured with, and one that was not configured with it learns
// nothing from the Hello.
TEST_F(TransportTest, AWildcardListenerIsNotAnAddressToLearn) {
  size_t b = start("b", kSecret, {}, 1024, {}, "0.0.0.0:0");
  const std::string b_address = "127.0.0.1:" + port_of(t(b).listen_address());
  size_t a = start("a", kSecret, {{"b", b_address}});
  size_t c = start("c");
  ASSERT_TRUE(t(b).set_peer("a", t(a).listen_address()).is_ok());
  ASSERT_TRUE(t(b).set_peer("c", t(c).listen_address()).is_ok());
  t(b).send(heartbeat("b", "a", 1));
  t(b).send(heartbeat("b", "c", 1));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1 && in(c).messages.size() == 1; }));
  EXPECT_TRUE(in(a).learned.empty());
  EXPECT_TRUE(in(c).learned.empty());
  EXPECT_EQ(t(a).peers().at("b"), b_address);
  EXPECT_FALSE(t(c).peers().contains("b"));
  // a still reaches b where it was told to.
  t(a).send(heartbeat("a", "b", 2));
  ASSERT_TRUE(run_until([&] { return in(b).messages.size() == 1; }));
  EXPECT_EQ(seq_of(in(b).messages[0]), 2u);
}

// A node with its own entry in the peer list advertises that entry, not the address it bound;
// a configured address is never replaced by what a Hello says.
TEST_F(TransportTest, ANodeAdvertisesItsOwnPeerEntry) {
  const std::string port = std::to_string(unused_port());
  const std::string b_entry = "localhost:" + port;
  size_t b = start("b", kSecret, {{"b", b_entry}}, 1024, {}, "0.0.0.0:" + port);
  size_t a = start("a");
  size_t c = start("c", kSecret, {{"b", "127.0.0.1:" + port}});
  ASSERT_TRUE(t(b).set_peer("a", t(a).listen_address()).is_ok());
  ASSERT_TRUE(t(b).set_peer("c", t(c).listen_address()).is_ok());
  t(b).send(heartbeat("b", "a", 1));
  t(b).send(heartbeat("b", "c", 1));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1 && in(c).messages.size() == 1; }));
  ASSERT_EQ(in(a).learned.size(), 1u);
  EXPECT_EQ(in(a).learned[0], std::make_pair(std::string("b"), b_entry));
  EXPECT_TRUE(in(c).learned.empty());
  EXPECT_EQ(t(c).peers().at("b"), "127.0.0.1:" + port);
  t(a).send(heartbeat("a", "b", 2));
  t(c).send(heartbeat("c", "b", 3));
  ASSERT_TRUE(run_until([&] { return in(b).messages.size() == 2; }));
}

TEST_F(TransportTest, LearnsTheAddressOfAnUnknownPeerFromItsHello) {
  size_t a = start("a");
  size_t learner = start("learner", kSecret, {});
  ASSERT_TRUE(t(learner).set_peer("a", t(a).listen_address()).is_ok());
  t(learner).send(heartbeat("learner", "a", 1));
  ASSERT_TRUE(run_until([&] { return in(a).messages.size() == 1; }));
  ASSERT_EQ(in(a).learned.size(), 1u);
  EXPECT_EQ(in(a).learned[0].first, "learner");
  EXPECT_EQ(in(a).learned[0].second, t(learner).listen_address());
  // a can now answer it.
  t(a).send(heartbeat("a", "learner", 2));
  ASSERT_TRUE(run_until([&] { return in(learner).messages.size() == 1; }));
}

TEST_F(TransportTest, FullQueueDropsOldestAndUnknownPeersAreCounted) {
  RefusingPort gone;
  const std::string dead = gone.address();
  size_t a = start("a", kSecret, {{"gone", dead}}, 4);
  for (uint64_t i = 1; i <= 10; ++i)
    t(a).send(heartbeat("a", "gone", i));
  EXPECT_EQ(t(a).stats().dropped_queue_full, 6u);
  t(a).send(heartbeat("a", "nobody", 1));
  EXPECT_EQ(t(a).stats().dropped_unknown_peer, 1u);
  EXPECT_TRUE(run_until([&] { return t(a).stats().connect_failures >= 2; }));
  EXPECT_FALSE(t(a).connected("gone"));
}

// A stalled peer cannot pin more than max_queued_bytes: the oldest frames go, the newest stays
// even when it alone is larger.
TEST_F(TransportTest, QueuedBytesAreBoundedTooOldestFirst) {
  RefusingPort gone;
  const std::string dead = gone.address();
  size_t a = start("a", kSecret, {{"gone", dead}}, 1024, {}, "127.0.0.1:0", 10000);
  ForwardRequest big;
  big.command = std::string(3000, 'x');
  for (uint64_t i = 1; i <= 10; ++i) {
    big.request_id = i;
    t(a).send_frame("gone", big);
  }
  EXPECT_EQ(t(a).stats().dropped_queue_full, 7u) << "three frames of about 3 KB fit in 10,000";
  big.command = std::string(20000, 'y');
  t(a).send_frame("gone", big);
  EXPECT_EQ(t(a).stats().dropped_queue_full, 10u) << "the newest frame stays alone";
}

// A frame with a send-by time is dropped when the peer's connection comes up after it; the
// others queued with it are delivered in order.
TEST_F(TransportTest, AQueuedFrameIsDroppedOnceItsSendByTimeHasPassed) {
  RefusingPort gone;
  size_t a = start("a", kSecret, {{"b", gone.address()}});
  size_t b = start("b");
  ForwardRequest r;
  r.command = "change";
  uv_update_time(&loop_);
  r.request_id = 1;
  t(a).send_frame("b", r, uv_now(&loop_) + 50);
  r.request_id = 2;
  t(a).send_frame("b", r, uv_now(&loop_) + 60000);
  r.request_id = 3;
  t(a).send_frame("b", r);
  const auto queued = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      [&] { return std::chrono::steady_clock::now() - queued > std::chrono::milliseconds(150); }));
  EXPECT_TRUE(in(b).requests.empty());
  ASSERT_TRUE(t(a).set_peer("b", t(b).listen_address()).is_ok());
  ASSERT_TRUE(run_until([&] { return in(b).requests.size() == 2; }));
  EXPECT_EQ(in(b).requests[0].second.request_id, 2u);
  EXPECT_EQ(in(b).requests[1].second.request_id, 3u);
  EXPECT_EQ(t(a).stats().dropped_expired, 1u);
  // Once connected, a frame sent before its time goes out.
  r.request_id = 4;
  t(a).send_frame("b", r, uv_now(&loop_) + 60000);
  ASSERT_TRUE(run_until([&] { return in(b).requests.size() == 3; }));
  EXPECT_EQ(in(b).requests[2].second.request_id, 4u);
}

TEST_F(TransportTest, BadListenAddressFailsToStart) {
  TransportOptions o;
  o.node_id = "a";
  o.listen = "not-an-address";
  EXPECT_FALSE(PeerTransport::start(&loop_, o, {}).is_ok());
  o.listen = "127.0.0.1:99999";
  EXPECT_FALSE(PeerTransport::start(&loop_, o, {}).is_ok());
  size_t b = start("b");
  o.listen = t(b).listen_address();  // taken
  EXPECT_FALSE(PeerTransport::start(&loop_, o, {}).is_ok());
}

}  // namespace
}  // namespace ringleader::membership::transport
