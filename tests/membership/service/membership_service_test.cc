#include "membership/service/membership_service.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "membership/state/command_codec.h"
#include "membership/transport/wire.h"
#include "storage/temp_dir.h"

namespace ringleader::membership::service {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A port on 127.0.0.1 that was free a moment ago and that this process has not handed out
// before. A service binds its port only when it starts, so two calls in a row could otherwise
// get the same port, and the second service would find the first one on it.
uint16_t free_port() {
  static std::set<uint16_t> handed_out;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    socklen_t len = sizeof(sa);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(fd);
    uint16_t port = ntohs(sa.sin_port);
    if (handed_out.insert(port).second) return port;
  }
  ADD_FAILURE() << "no loopback port left that was not handed out already";
  return 0;
}

// Polls `done` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Every ring a service published, as seen from the test thread.
struct RingLog {
  // While set, the sink holds the service thread (as a long ring build or a stalled disk
  // would) before it records the ring.
  std::atomic<bool> stall{false};
  std::mutex mu;
  std::vector<uint64_t> epochs;
  std::vector<size_t> sizes;  // backends of each ring published, in order
  ring::RingSnapshot last;

  ring::RingSnapshot latest() {
    std::lock_guard<std::mutex> g(mu);
    return last;
  }
  uint64_t epoch() {
    std::lock_guard<std::mutex> g(mu);
    return last ? last->epoch() : 0;
  }
  bool has_backend(const std::string& name) {
    ring::RingSnapshot r = latest();
    return r && r->find(name).has_value();
  }
};

// A request's answer, waited for with a deadline. The callback keeps the shared state alive,
// so a late answer after a failed wait is harmless.
class Answer {
 public:
  MembershipService::Done callback() {
    return [state = state_](Result<uint64_t> r) {
      std::lock_guard<std::mutex> g(state->mu);
      state->result.emplace(std::move(r));
      state->cv.notify_all();
    };
  }
  Result<uint64_t> wait(std::chrono::milliseconds timeout = 15s) {
    std::unique_lock<std::mutex> g(state_->mu);
    if (!state_->cv.wait_for(g, timeout, [this] { return state_->result.has_value(); })) {
      return Status::error("test: no answer within the deadline");
    }
    return *state_->result;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<uint64_t>> result;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

ring::Backend backend(const std::string& name, int port) {
  return ring::Backend{name, "127.0.0.1:" + std::to_string(port), 1, "",
                       ring::BackendState::kActive};
}

constexpr char kSecret[] = "service-test";

// A blocking connection to a service's peer port that speaks for a made-up peer: it reads the
// challenge and seals frames with the session key, as a peer would.
class RawPeerConnection {
 public:
  explicit RawPeerConnection(const std::string& address, const std::string& secret = kSecret) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return;
    timeval wait{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
    std::string challenge;
    while (challenge.size() < transport::kChallengeBytes) {
      char buf[transport::kChallengeBytes];
      const ssize_t n = ::recv(fd_, buf, transport::kChallengeBytes - challenge.size(), 0);
      if (n <= 0) return;
      challenge.append(buf, static_cast<size_t>(n));
    }
    Result<std::string> nonce = transport::decode_challenge(challenge);
    if (!nonce || nonce->empty()) return;
    key_ = transport::session_key(secret, *nonce);
    ready_ = true;
  }
  ~RawPeerConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ready() const { return ready_; }
  // `payload` sealed as this connection's next frame.
  std::string seal(const std::string& payload) {
    return transport::seal_frame(key_, sequence_++, payload);
  }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Waits (up to the receive timeout) for the service to close the connection.
  bool closed_by_peer() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool ready_ = false;
  std::string key_;
  uint64_t sequence_ = 0;
};

class ServiceTest : public ::testing::Test {
 protected:
  // As `ringleader serve` does before it starts the service (Server::run): a peer that closes
  // while a message is being written to it must not kill the process.
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  struct Node {
    std::string id;
    std::string address;
    std::unique_ptr<testing::TempDir> dir = std::make_unique<testing::TempDir>();
    std::shared_ptr<RingLog> rings = std::make_shared<RingLog>();
    std::unique_ptr<MembershipService> service;
    // When set: the ids this node's membership.peers lists at bootstrap, instead of founders_.
    std::set<std::string> listed_peers;
  };

  // Creates `n` founding members (not started).
  void make_nodes(int n) {
    for (int i = 1; i <= n; ++i)
      add_node_slot("p" + std::to_string(i));
  }
  Node& add_node_slot(const std::string& id) {
    auto node = std::make_unique<Node>();
    node->id = id;
    node->address = "127.0.0.1:" + std::to_string(free_port());
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  }

  ServiceOptions options_for(Node& node, StartMode mode) {
    ServiceOptions o;
    o.node_id = node.id;
    o.listen = node.address;
    const std::set<std::string>& listed = node.listed_peers.empty() ? founders_ : node.listed_peers;
    for (auto& other : nodes_) {
      if (mode == StartMode::kJoin || listed.count(other->id)) o.peers[other->id] = other->address;
    }
    o.start_mode = mode;
    o.data_dir = node.dir->path();
    o.election_timeout_ms = 400;
    o.heartbeat_ms = 40;
    o.secret = kSecret;
    o.seed_backends = {backend("r1", 7001), backend("r2", 7002)};
    o.seed_params.replicas = 2;
    o.request_timeout_ms = request_timeout_ms_;
    o.snapshot_every = snapshot_every_;
    return o;
  }

  void start(size_t i, StartMode mode = StartMode::kBootstrap) {
    Node& node = *nodes_[i];
    if (mode == StartMode::kBootstrap && founders_.empty()) {
      for (auto& n : nodes_)
        founders_.insert(n->id);
    }
    std::shared_ptr<RingLog> rings = node.rings;
    // Within one run of a service epochs strictly grow; across a restart they never go back.
    auto run_last = std::make_shared<uint64_t>(0);
    auto svc =
        MembershipService::start(options_for(node, mode), [rings, run_last](ring::RingSnapshot r) {
          while (rings->stall.load())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          std::lock_guard<std::mutex> g(rings->mu);
          EXPECT_GT(r->epoch(), *run_last) << "epochs grow within a run";
          if (rings->last) {
            EXPECT_GE(r->epoch(), rings->last->epoch()) << "epochs never go back across restarts";
          }
          *run_last = r->epoch();
          rings->epochs.push_back(r->epoch());
          rings->sizes.push_back(r->backends().size());
          rings->last = std::move(r);
        });
    ASSERT_TRUE(svc.is_ok()) << svc.error();
    node.service = std::move(svc).value();
  }
  void start_all() {
    for (size_t i = 0; i < nodes_.size(); ++i)
      start(i);
  }
  void stop(size_t i) {
    nodes_[i]->service->stop();
    nodes_[i]->service.reset();
  }
  void TearDown() override {
    for (auto& n : nodes_)
      n->service.reset();
  }

  MembershipService& svc(size_t i) { return *nodes_[i]->service; }
  bool running(size_t i) const { return nodes_[i]->service != nullptr; }
  // What node i's status says of peer `id`, if it lists it.
  std::optional<PeerStatus> peer_of(size_t i, const std::string& id) {
    for (const PeerStatus& p : svc(i).status().peers) {
      if (p.id == id) return p;
    }
    return std::nullopt;
  }

  // Index of the one leader all running members agree on, or -1.
  int agreed_leader(const std::vector<size_t>& among) {
    std::string leader;
    for (size_t i : among) {
      ServiceStatus s = svc(i).status();
      if (s.leader.empty() || (!leader.empty() && s.leader != leader)) return -1;
      leader = s.leader;
    }
    for (size_t i : among) {
      if (nodes_[i]->id == leader && svc(i).status().role == "leader") return static_cast<int>(i);
    }
    return -1;
  }
  size_t wait_leader(const std::vector<size_t>& among) {
    int leader = -1;
    EXPECT_TRUE(eventually([&] { return (leader = agreed_leader(among)) >= 0; }))
        << "no agreed leader";
    return leader < 0 ? 0 : static_cast<size_t>(leader);
  }
  std::vector<size_t> all() const {
    std::vector<size_t> v;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (running(i)) v.push_back(i);
    }
    return v;
  }
  size_t follower_of(size_t leader, const std::vector<size_t>& among) {
    for (size_t i : among) {
      if (i != leader) return i;
    }
    return leader;
  }

  Result<uint64_t> propose(size_t i, state::Command c) {
    Answer a;
    svc(i).propose(std::move(c), a.callback());
    return a.wait();
  }
  Result<uint64_t> read_barrier(size_t i) {
    Answer a;
    svc(i).read_barrier(a.callback());
    return a.wait();
  }
  // Proposes on `i`, retrying while no leader is known (elections in progress).
  Result<uint64_t> propose_retrying(size_t i, const state::Command& c) {
    Result<uint64_t> r = Status::error("not tried");
    eventually([&] {
      r = propose(i, c);
      return r.is_ok() || r.error().find("no leader") == std::string::npos;
    });
    return r;
  }

  // Every node in `among` has applied `index` and routes with the same epoch, at least
  // `min_epoch`.
  bool applied_everywhere(const std::vector<size_t>& among, uint64_t index, uint64_t min_epoch) {
    return eventually([&] {
      uint64_t epoch = nodes_[among[0]]->rings->epoch();
      for (size_t i : among) {
        if (svc(i).status().applied_index < index) return false;
        if (nodes_[i]->rings->epoch() < min_epoch || nodes_[i]->rings->epoch() != epoch) {
          return false;
        }
      }
      return true;
    });
  }

  // Every node in `among` has applied the membership change at `index` and routes with the
  // ring it made, epoch >= index.
  bool converged(const std::vector<size_t>& among, uint64_t index) {
    return applied_everywhere(among, index, index);
  }

  std::vector<std::unique_ptr<Node>> nodes_;
  std::set<std::string> founders_;
  uint64_t snapshot_every_ = 1000;
  uint32_t request_timeout_ms_ = 2500;
};

TEST_F(ServiceTest, ElectsLeaderSeedsAndAppliesFollowerProposalEverywhere) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  // The seed (ring params + two backends) reaches every ring once.
  ASSERT_TRUE(eventually([&] {
    for (size_t i : all()) {
      if (!nodes_[i]->rings->has_backend("r2")) return false;
    }
    return true;
  }));
  EXPECT_EQ(nodes_[0]->rings->latest()->params().replicas, 2u);
  // ... whole: no instance ever published a ring with part of the seed.
  for (size_t i : all()) {
    std::lock_guard<std::mutex> g(nodes_[i]->rings->mu);
    EXPECT_EQ(nodes_[i]->rings->sizes.front(), 2u) << nodes_[i]->id;
  }

  size_t follower = follower_of(leader, all());
  std::shared_ptr<RingLog> follower_rings = nodes_[follower]->rings;
  std::optional<bool> ring_had_it;
  Answer answer;
  svc(follower).propose(
      state::AddBackend{backend("r3", 7003)}, [&, cb = answer.callback()](Result<uint64_t> r) {
        // Runs on the follower's service thread: its ring already has r3.
        ring_had_it =
            follower_rings->has_backend("r3") && r.is_ok() && follower_rings->epoch() >= r.value();
        cb(std::move(r));
      });
  Result<uint64_t> index = answer.wait();
  ASSERT_TRUE(index.is_ok()) << index.error();
  EXPECT_TRUE(ring_had_it.value_or(false));
  ASSERT_TRUE(converged(all(), *index));
  for (size_t i : all())
    EXPECT_TRUE(nodes_[i]->rings->has_backend("r3")) << nodes_[i]->id;

  // Invalid commands fail on the leader and through a follower alike.
  Result<uint64_t> dup = propose(follower, state::AddBackend{backend("r3", 7003)});
  ASSERT_FALSE(dup.is_ok());
  EXPECT_NE(dup.error().find("r3"), std::string::npos) << dup.error();
  EXPECT_FALSE(propose(leader, state::RemoveBackend{"nope"}).is_ok());

  // Linearizable reads on leader and follower.
  for (size_t i : {leader, follower}) {
    Result<uint64_t> read = read_barrier(i);
    ASSERT_TRUE(read.is_ok()) << read.error();
    EXPECT_GE(*read, *index);
    EXPECT_GE(svc(i).status().applied_index, *read);
  }

  ServiceStatus st = svc(leader).status();
  EXPECT_EQ(st.role, "leader");
  EXPECT_FALSE(st.stale);
  EXPECT_GE(st.elections, 1u);
  ASSERT_EQ(st.peers.size(), 2u);
  for (const PeerStatus& p : st.peers) {
    EXPECT_EQ(p.suffrage, "voter");
    EXPECT_TRUE(p.last_contact_ms.has_value());
    EXPECT_FALSE(p.address.empty());
  }
  EXPECT_TRUE(eventually([&] {
    for (const PeerStatus& p : svc(leader).status().peers) {
      if (p.match_index < *index) return false;
    }
    return true;
  }));
  EXPECT_EQ(svc(follower).status().role, "follower");
  EXPECT_EQ(svc(follower).status().leader, nodes_[leader]->id);
}

TEST_F(ServiceTest, LeaderStopsNewLeaderTakesOverAndRestartedNodeCatchesUpBySnapshot) {
  snapshot_every_ = 4;  // the leader compacts while the old leader is down
  make_nodes(3);
  start_all();
  size_t old_leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));

  stop(old_leader);  // graceful: hands leadership over first
  size_t leader = wait_leader(all());
  ASSERT_NE(leader, old_leader);
  uint64_t last = 0;
  for (int k = 0; k < 10; ++k) {
    Result<uint64_t> r =
        propose_retrying(leader, state::AddBackend{backend("n" + std::to_string(k), 8000 + k)});
    ASSERT_TRUE(r.is_ok()) << r.error();
    last = *r;
  }
  ASSERT_TRUE(converged(all(), last));

  start(old_leader);
  std::vector<size_t> everyone = {0, 1, 2};
  ASSERT_TRUE(converged(everyone, last));
  EXPECT_TRUE(nodes_[old_leader]->rings->has_backend("n9"));
  // And it takes part again: a proposal through it commits everywhere.
  Result<uint64_t> r = propose_retrying(old_leader, state::SetWeight{"n0", 5});
  ASSERT_TRUE(r.is_ok()) << r.error();
  ASSERT_TRUE(converged(everyone, *r));
}

TEST_F(ServiceTest, RestartedFollowerIsNotCaughtUpUntilItHasAppliedTheLeadersCommits) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));
  for (size_t i : all())
    EXPECT_TRUE(eventually([&] { return svc(i).status().caught_up; })) << nodes_[i]->id;

  size_t follower = follower_of(leader, all());
  stop(follower);
  Result<uint64_t> change = propose(leader, state::AddBackend{backend("r9", 7009)});
  ASSERT_TRUE(change.is_ok()) << change.error();
  // The others drop everything from and to the restarted follower until the test heals them.
  for (size_t i : all())
    svc(i).set_blocked({nodes_[follower]->id});
  start(follower);
  ASSERT_TRUE(eventually([&] { return nodes_[follower]->rings->epoch() >= 3; }));
  std::this_thread::sleep_for(200ms);  // half an election timeout: it would have heard by now
  ServiceStatus cut = svc(follower).status();
  EXPECT_FALSE(cut.caught_up);
  EXPECT_FALSE(nodes_[follower]->rings->has_backend("r9"));

  for (size_t i : all())
    svc(i).set_blocked({});
  ASSERT_TRUE(eventually([&] { return svc(follower).status().caught_up; }));
  ServiceStatus healed = svc(follower).status();
  EXPECT_GE(healed.leader_commit, *change);
  EXPECT_GE(healed.applied_index, healed.leader_commit);
  EXPECT_TRUE(nodes_[follower]->rings->has_backend("r9"));
  EXPECT_TRUE(svc(leader).status().caught_up);
}

TEST_F(ServiceTest, BlockedNodeGoesStaleCannotCommitAndConvergesAfterHeal) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  size_t cut = follower_of(leader, all());
  std::vector<size_t> majority;
  for (size_t i : all()) {
    if (i != cut) majority.push_back(i);
  }
  ASSERT_TRUE(converged(all(), 3));
  uint64_t cut_epoch = nodes_[cut]->rings->epoch();

  std::set<raft::NodeId> others;
  for (size_t i : majority)
    others.insert(nodes_[i]->id);
  svc(cut).set_blocked(others);

  Result<uint64_t> committed = propose(leader, state::AddBackend{backend("r9", 7009)});
  ASSERT_TRUE(committed.is_ok()) << committed.error();
  ASSERT_TRUE(converged(majority, *committed));

  ASSERT_TRUE(eventually([&] { return svc(cut).status().stale; }));
  EXPECT_FALSE(propose(cut, state::AddBackend{backend("cut", 7010)}).is_ok());
  EXPECT_FALSE(read_barrier(cut).is_ok());
  // It keeps its last ring.
  EXPECT_EQ(nodes_[cut]->rings->epoch(), cut_epoch);
  EXPECT_FALSE(nodes_[cut]->rings->has_backend("r9"));
  for (size_t i : majority)
    EXPECT_FALSE(svc(i).status().stale);

  svc(cut).set_blocked({});
  ASSERT_TRUE(converged(all(), *committed));
  EXPECT_TRUE(nodes_[cut]->rings->has_backend("r9"));
  EXPECT_FALSE(nodes_[cut]->rings->has_backend("cut"));
  EXPECT_TRUE(eventually([&] { return !svc(cut).status().stale; }));
  // The healed node never disrupted the leader (pre-vote).
  EXPECT_EQ(svc(leader).status().role, "leader");
}

// A change is checked against the state it will meet: what the leader's log already holds
// counts, committed or not. A weight for a backend whose addition is still on its way is
// taken, not refused as "unknown backend".
TEST_F(ServiceTest, AChangeIsCheckedAgainstWhatTheLeadersLogAlreadyHolds) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));
  std::set<raft::NodeId> others;
  for (size_t i : all()) {
    if (i != leader) others.insert(nodes_[i]->id);
  }
  // Nothing commits while the leader's messages are held back (the block is in place once
  // set_blocked_outgoing returns), so both proposals meet the same uncommitted log.
  svc(leader).set_blocked_outgoing(others);
  Answer added, weighted, again;
  svc(leader).propose(state::AddBackend{backend("r5", 7005)}, added.callback());
  svc(leader).propose(state::SetWeight{"r5", 7}, weighted.callback());
  // Refused only because of what is not committed yet: not final, an error to retry.
  svc(leader).propose(state::AddBackend{backend("r5", 7005)}, again.callback());
  Result<uint64_t> twice = again.wait();
  // Another spelling of the address r5 is being added at: the same server, not yet final.
  ring::Backend spelled = backend("r6", 7005);
  spelled.address = "localhost:7005";
  Answer respelled;
  svc(leader).propose(state::AddBackend{spelled}, respelled.callback());
  Result<uint64_t> same_server = respelled.wait();
  ASSERT_FALSE(same_server.is_ok());
  EXPECT_FALSE(same_server.status().is_refused()) << same_server.error();
  EXPECT_NE(same_server.error().find("address localhost:7005 is the server of backend \"r5\""),
            std::string::npos)
      << same_server.error();
  svc(leader).set_blocked_outgoing({});
  ASSERT_FALSE(twice.is_ok());
  EXPECT_FALSE(twice.status().is_refused()) << twice.error();
  EXPECT_NE(twice.error().find("once the changes not yet committed apply"), std::string::npos)
      << twice.error();
  Result<uint64_t> a = added.wait();
  Result<uint64_t> w = weighted.wait();
  ASSERT_TRUE(a.is_ok()) << a.error();
  ASSERT_TRUE(w.is_ok()) << w.error();
  // Once committed, the same addition is refused for good.
  Result<uint64_t> duplicate = propose(leader, state::AddBackend{backend("r5", 7005)});
  ASSERT_FALSE(duplicate.is_ok());
  EXPECT_TRUE(duplicate.status().is_refused()) << duplicate.error();
  Result<uint64_t> respelled_later = propose(leader, state::AddBackend{spelled});
  ASSERT_FALSE(respelled_later.is_ok());
  EXPECT_TRUE(respelled_later.status().is_refused()) << respelled_later.error();
  ASSERT_TRUE(converged(all(), *w));
  EXPECT_EQ(nodes_[leader]->rings->latest()->backends().size(), 3u);
  // Still checked: a change the projected state refuses is refused at once.
  Result<uint64_t> unknown = propose(leader, state::SetWeight{"nope", 2});
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_TRUE(unknown.status().is_refused());
  EXPECT_NE(unknown.error().find("unknown backend \"nope\""), std::string::npos) << unknown.error();
}

// A forwarded change that the leader reads after its deadline (it was stopped, or the link
// stalled with the frame in flight) is not proposed: its caller was told it timed out. The
// frames a follower would send are written straight to the leader's peer port.
TEST_F(ServiceTest, AForwardedChangeReadAfterItsDeadlineIsNotProposed) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  ASSERT_TRUE(eventually([&] { return nodes_[leader]->rings->has_backend("r2"); }));
  size_t follower = follower_of(leader, all());

  RawPeerConnection raw(nodes_[leader]->address);
  ASSERT_TRUE(raw.ready());
  const uint64_t unix_now =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  auto forward = [&](uint64_t id, const std::string& name, uint16_t port, uint64_t deadline) {
    transport::ForwardRequest request;
    request.request_id = id;
    request.kind = transport::ForwardKind::kCommand;
    request.command = state::encode_command(state::AddBackend{backend(name, port)});
    request.deadline_unix_ms = deadline;
    return raw.seal(transport::encode_frame(request));
  };
  std::string frames = raw.seal(
      transport::encode_frame(transport::Frame{transport::Hello{nodes_[follower]->id, ""}}));
  frames += forward(uint64_t{1} << 40, "late", 7009, unix_now - 1000);
  frames += forward((uint64_t{1} << 40) + 1, "fresh", 7010, unix_now + 60'000);
  ASSERT_TRUE(raw.send(frames));
  // Frames are handled in order: once the fresh one applied, the late one was refused.
  EXPECT_TRUE(eventually([&] { return nodes_[leader]->rings->has_backend("fresh"); }));
  EXPECT_FALSE(nodes_[leader]->rings->has_backend("late"));
}

// Callers that name another group are listed in foreign_peers, at most
// kMaxForeignPeers of them: a caller that makes up a new id per connection cannot grow the
// list (and /cluster with it) without bound.
TEST_F(ServiceTest, ForeignPeersAreListedUpToACap) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  ASSERT_TRUE(eventually([&] { return !svc(leader).status().founders.empty(); }));
  const size_t callers = MembershipService::kMaxForeignPeers + 5;
  for (size_t i = 0; i < callers; ++i) {
    RawPeerConnection raw(nodes_[leader]->address);
    ASSERT_TRUE(raw.ready());
    ASSERT_TRUE(raw.send(raw.seal(transport::encode_frame(
        transport::Frame{transport::Hello{"stranger-" + std::to_string(i), "", {"x", "y"}}}))));
    ASSERT_TRUE(raw.closed_by_peer()) << i;
  }
  ASSERT_TRUE(eventually([&] { return svc(leader).status().transport.rejected_group == callers; }));
  ServiceStatus st = svc(leader).status();
  EXPECT_EQ(st.foreign_peers.size(), MembershipService::kMaxForeignPeers);
  EXPECT_TRUE(st.foreign_peers.contains("stranger-0"));
  EXPECT_EQ(st.role, "leader");
}

// More replicas than backends is refused against the membership the change will meet, so a
// PATCH that races a removal through another instance cannot leave it so; replicas the ring
// already has (a removal may leave fewer backends) are not refused.
TEST_F(ServiceTest, MoreReplicasThanBackendsIsCheckedAgainstTheLeadersLog) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  Result<uint64_t> added = propose(leader, state::AddBackend{backend("r3", 7003)});
  ASSERT_TRUE(added.is_ok()) << added.error();
  ASSERT_TRUE(converged(all(), *added));
  ring::RingParams three = nodes_[leader]->rings->latest()->params();
  three.replicas = 3;

  std::set<raft::NodeId> others;
  for (size_t i : all()) {
    if (i != leader) others.insert(nodes_[i]->id);
  }
  svc(leader).set_blocked_outgoing(others);
  Answer removed, patched;
  svc(leader).propose(state::RemoveBackend{"r3"}, removed.callback());
  svc(leader).propose(state::SetRingParams{three}, patched.callback());
  Result<uint64_t> racing = patched.wait();
  ASSERT_FALSE(racing.is_ok());
  EXPECT_FALSE(racing.status().is_refused()) << racing.error();  // the removal may yet be lost
  EXPECT_NE(racing.error().find("replicas = 3 is more than the 2 backends"), std::string::npos)
      << racing.error();
  svc(leader).set_blocked_outgoing({});
  Result<uint64_t> r = removed.wait();
  ASSERT_TRUE(r.is_ok()) << r.error();
  Result<uint64_t> later = propose(leader, state::SetRingParams{three});
  ASSERT_FALSE(later.is_ok());
  EXPECT_TRUE(later.status().is_refused()) << later.error();

  // Three replicas on three backends, then one removed: a change of vnodes keeps the three.
  ASSERT_TRUE(propose(leader, state::AddBackend{backend("r4", 7004)}).is_ok());
  ASSERT_TRUE(propose(leader, state::SetRingParams{three}).is_ok());
  ASSERT_TRUE(propose(leader, state::RemoveBackend{"r4"}).is_ok());
  ring::RingParams vnodes = three;
  vnodes.vnodes = 200;
  Result<uint64_t> kept = propose(leader, state::SetRingParams{vnodes});
  ASSERT_TRUE(kept.is_ok()) << kept.error();
  ASSERT_TRUE(converged(all(), *kept));
  EXPECT_EQ(nodes_[leader]->rings->latest()->params().vnodes, 200u);
}

// A new group's first leader proposes the seed only after it has committed an entry of its
// term (up to a heartbeat later). A change to a seeded backend that reaches it before then
// waits for the seed instead of being refused as an unknown backend.
TEST_F(ServiceTest, AChangeReachingTheFirstLeaderBeforeTheSeedWaitsForIt) {
  // The window lasts up to a heartbeat; a loaded host can deschedule this thread past it.
  // A group whose seed was applied before its leader was seen is stopped and a new one
  // started, up to 5 times.
  int leader = -1;
  for (int attempt = 0; attempt < 5 && leader < 0; ++attempt) {
    if (attempt > 0) {
      for (size_t i = 0; i < nodes_.size(); ++i)
        stop(i);
      nodes_.clear();
      founders_.clear();
    }
    make_nodes(3);
    start_all();
    // Ask each node, every 100 us, whether it leads; propose at once to the first that does.
    int seen = -1;
    const auto deadline = Clock::now() + 10s;
    while (seen < 0 && Clock::now() < deadline) {
      for (size_t i = 0; i < nodes_.size() && seen < 0; ++i) {
        if (svc(i).status().role == "leader") seen = static_cast<int>(i);
      }
      if (seen < 0) std::this_thread::sleep_for(100us);
    }
    ASSERT_GE(seen, 0) << "no leader";
    // Seen leading before its seed was applied: the change is sent inside the window.
    if (svc(seen).status().applied_index < 2u) leader = seen;
  }
  ASSERT_GE(leader, 0) << "the seed was applied before the leader was seen, 5 times";
  Result<uint64_t> w = propose(leader, state::SetWeight{"r1", 5});
  ASSERT_TRUE(w.is_ok()) << w.error();
  ASSERT_TRUE(converged(all(), *w));
  for (const ring::Backend& b : nodes_[leader]->rings->latest()->backends()) {
    EXPECT_EQ(b.weight, b.name == "r1" ? 5u : 1u) << b.name;
  }
}

TEST_F(ServiceTest, CutOffLeaderStepsDownAndGoesStaleWhileTheMajorityMovesOn) {
  make_nodes(3);
  start_all();
  size_t old_leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));
  std::vector<size_t> majority;
  std::set<raft::NodeId> others;
  for (size_t i : all()) {
    if (i != old_leader) {
      majority.push_back(i);
      others.insert(nodes_[i]->id);
    }
  }
  svc(old_leader).set_blocked(others);

  size_t leader = wait_leader(majority);
  Result<uint64_t> r = propose_retrying(majority[0], state::AddBackend{backend("m1", 7301)});
  ASSERT_TRUE(r.is_ok()) << r.error();
  ASSERT_TRUE(converged(majority, *r));
  // Check-quorum deposes the old leader; it then reports stale and commits nothing.
  ASSERT_TRUE(eventually([&] {
    ServiceStatus st = svc(old_leader).status();
    return st.role != "leader" && st.stale;
  }));
  EXPECT_FALSE(propose(old_leader, state::AddBackend{backend("lost", 7302)}).is_ok());
  EXPECT_FALSE(nodes_[old_leader]->rings->has_backend("m1"));

  svc(old_leader).set_blocked({});
  ASSERT_TRUE(converged(all(), *r));
  EXPECT_TRUE(nodes_[old_leader]->rings->has_backend("m1"));
  EXPECT_FALSE(nodes_[old_leader]->rings->has_backend("lost"));
  EXPECT_TRUE(eventually([&] { return !svc(old_leader).status().stale; }));
  EXPECT_EQ(agreed_leader(all()), static_cast<int>(leader));
}

TEST_F(ServiceTest, ChangeForwardedToALeaderThatIsReplacedFailsAsSoonAsTheNewLeaderIsKnown) {
  request_timeout_ms_ = 8000;  // far longer than an election: the answer must not be a timeout
  make_nodes(3);
  start_all();
  size_t old_leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));
  std::set<raft::NodeId> others;
  std::vector<size_t> majority;
  for (size_t i : all()) {
    if (i != old_leader) {
      others.insert(nodes_[i]->id);
      majority.push_back(i);
    }
  }
  svc(old_leader).set_blocked(others);  // in place on the leader's thread once it returns

  size_t follower = majority[0];
  Result<uint64_t> r = propose(follower, state::AddBackend{backend("f1", 7401)});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.error().find("was replaced by"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("may still be applied"), std::string::npos) << r.error();
  // The new leader takes the same change at once.
  size_t leader = wait_leader(majority);
  EXPECT_NE(leader, old_leader);
  Result<uint64_t> again = propose_retrying(follower, state::AddBackend{backend("f1", 7401)});
  ASSERT_TRUE(again.is_ok()) << again.error();
  svc(old_leader).set_blocked({});
  ASSERT_TRUE(converged(all(), *again));
}

// A learner that never catches up (here: never started) cannot be promoted. The change is
// never proposed, and the answer says so and why, rather than "may still be applied".
TEST_F(ServiceTest, PromotingALearnerThatNeverCaughtUpSaysWhy) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));
  Node& fourth = add_node_slot("p4");
  Answer added;
  svc(leader).add_peer("p4", fourth.address, added.callback());
  ASSERT_TRUE(added.wait().is_ok());
  Answer promoted;
  svc(leader).promote_peer("p4", promoted.callback());
  Result<uint64_t> promote = promoted.wait();
  ASSERT_FALSE(promote.is_ok());
  EXPECT_NE(promote.error().find("not proposed within 2500 ms, nothing was changed"),
            std::string::npos)
      << promote.error();
  EXPECT_NE(promote.error().find("learner p4 has not caught up"), std::string::npos)
      << promote.error();
  // Through a follower, the leader's answer is what comes back, not the follower's own
  // "timed out ... may still be applied" (their deadlines used to race).
  const size_t follower = follower_of(leader, all());
  for (int i = 0; i < 2; ++i) {
    Answer forwarded;
    svc(follower).promote_peer("p4", forwarded.callback());
    Result<uint64_t> r = forwarded.wait();
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.error().find("nothing was changed"), std::string::npos) << r.error();
  }
  EXPECT_EQ(svc(leader).status().peers.size(), 3u);
  for (const PeerStatus& p : svc(leader).status().peers) {
    if (p.id == "p4") {
      EXPECT_EQ(p.suffrage, "learner");
    }
  }
}

TEST_F(ServiceTest, AddLearnerPromoteItRemoveAnotherAndKeepCommitting) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));

  Node& fourth = add_node_slot("p4");
  start(3, StartMode::kJoin);
  size_t follower = follower_of(leader, {0, 1, 2});
  // Through a follower: the change is forwarded to the leader.
  Answer added;
  svc(follower).add_peer("p4", fourth.address, added.callback());
  Result<uint64_t> add = added.wait();
  ASSERT_TRUE(add.is_ok()) << add.error();
  ASSERT_TRUE(eventually([&] { return svc(3).status().role == "learner"; }));
  // A change of peers leaves the ring and its epoch: the learner routes with the same one.
  const uint64_t epoch = nodes_[leader]->rings->epoch();
  ASSERT_TRUE(applied_everywhere({0, 1, 2, 3}, *add, epoch));
  EXPECT_LT(fourth.rings->epoch(), *add);
  EXPECT_TRUE(fourth.rings->has_backend("r2"));

  Answer promoted;
  svc(leader).promote_peer("p4", promoted.callback());
  Result<uint64_t> promote = promoted.wait();
  ASSERT_TRUE(promote.is_ok()) << promote.error();
  ASSERT_TRUE(eventually([&] { return svc(3).status().role == "follower"; }));

  // Invalid changes fail at once.
  Answer again;
  svc(leader).add_peer("p4", fourth.address, again.callback());
  EXPECT_FALSE(again.wait().is_ok());

  size_t removed = follower == leader ? 0 : follower;
  Answer removal;
  svc(leader).remove_peer(nodes_[removed]->id, removal.callback());
  Result<uint64_t> remove = removal.wait();
  ASSERT_TRUE(remove.is_ok()) << remove.error();
  ASSERT_TRUE(eventually([&] { return svc(removed).status().removed; }));
  EXPECT_EQ(svc(removed).status().removed_at, *remove);
  for (size_t i : all()) {
    if (i != removed) {
      EXPECT_FALSE(svc(i).status().removed) << nodes_[i]->id;
    }
  }
  stop(removed);

  std::vector<size_t> remaining = all();
  ASSERT_EQ(remaining.size(), 3u);
  size_t new_leader = wait_leader(remaining);
  Result<uint64_t> r = propose_retrying(3, state::AddBackend{backend("after", 7100)});
  ASSERT_TRUE(r.is_ok()) << r.error();
  ASSERT_TRUE(converged(remaining, *r));
  ServiceStatus st = svc(new_leader).status();
  for (const PeerStatus& p : st.peers) {
    if (p.id == "p4") {
      EXPECT_EQ(p.suffrage, "voter");
    }
    if (p.id == nodes_[removed]->id) {
      EXPECT_EQ(p.suffrage, "none");
    }
  }
}

// A removed peer leaves every instance's transport once the leader has stopped telling it
// of its removal: it is no longer listed, nor dialed (it used to be, forever).
TEST_F(ServiceTest, ARemovedPeerIsForgottenAndNoLongerDialed) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));
  // A learner where nothing listens: the leader dials it.
  const std::string nowhere = "127.0.0.1:" + std::to_string(free_port());
  Answer added;
  svc(leader).add_peer("ghost", nowhere, added.callback());
  ASSERT_TRUE(added.wait().is_ok());
  const auto listed = [&](size_t i) { return peer_of(i, "ghost").has_value(); };
  ASSERT_TRUE(eventually([&] { return listed(leader); }));
  Answer removal;
  svc(leader).remove_peer("ghost", removal.callback());
  ASSERT_TRUE(removal.wait().is_ok());
  ASSERT_TRUE(eventually([&] {
    for (size_t i : all()) {
      if (listed(i)) return false;
    }
    return true;
  }));
  std::vector<uint64_t> failures;
  for (size_t i : all())
    failures.push_back(svc(i).status().transport.connect_failures);
  std::this_thread::sleep_for(1500ms);  // several reconnect attempts, had it been dialed
  for (size_t i : all())
    EXPECT_EQ(svc(i).status().transport.connect_failures, failures[i]) << nodes_[i]->id;
}

// A founder (listed in every instance's membership.peers) removed, forgotten, then added
// again: every instance contacts it again, not only the leader that added it. (The followers
// used to keep it forgotten: they could not have elected a leader with it.)
TEST_F(ServiceTest, AMemberForgottenAndAddedAgainIsContactedByEveryInstance) {
  make_nodes(4);
  start_all();
  size_t leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));
  const size_t gone = leader == 3 ? 2 : 3;
  const std::string id = nodes_[gone]->id;
  const auto listed = [&](size_t i) { return peer_of(i, id).has_value(); };
  Answer removal;
  svc(leader).remove_peer(id, removal.callback());
  ASSERT_TRUE(removal.wait().is_ok());
  ASSERT_TRUE(eventually([&] {
    for (size_t i : all()) {
      if (i != gone && listed(i)) return false;
    }
    return true;
  }));
  stop(gone);
  Answer added;
  svc(leader).add_peer(id, nodes_[gone]->address, added.callback());
  ASSERT_TRUE(added.wait().is_ok());
  // Known to every transport again (a member without an address is listed, not contacted).
  const auto contacted = [&](size_t i) {
    const std::optional<PeerStatus> p = peer_of(i, id);
    return p && p->address == nodes_[gone]->address;
  };
  EXPECT_TRUE(eventually([&] {
    for (size_t i : all()) {
      if (i != gone && !contacted(i)) return false;
    }
    return true;
  }));
}

TEST_F(ServiceTest, RestartingEveryNodeRecoversTheStateFromDisk) {
  snapshot_every_ = 5;
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  uint64_t last = 0;
  for (int k = 0; k < 8; ++k) {
    Result<uint64_t> r =
        propose_retrying(leader, state::AddBackend{backend("d" + std::to_string(k), 9000 + k)});
    ASSERT_TRUE(r.is_ok()) << r.error();
    last = *r;
  }
  ASSERT_TRUE(converged(all(), last));
  std::vector<ring::Backend> before = nodes_[0]->rings->latest()->backends();
  for (size_t i = 0; i < 3; ++i)
    stop(i);
  for (auto& n : nodes_)
    n->rings = std::make_shared<RingLog>();

  start_all();
  // Each node publishes its recovered ring before any new leader exists.
  ASSERT_TRUE(eventually([&] {
    for (auto& n : nodes_) {
      if (n->rings->epoch() < last) return false;
    }
    return true;
  }));
  for (auto& n : nodes_)
    EXPECT_EQ(n->rings->latest()->backends(), before) << n->id;
  size_t new_leader = wait_leader(all());
  Result<uint64_t> r = propose_retrying(new_leader, state::DrainBackend{"d0"});
  ASSERT_TRUE(r.is_ok()) << r.error();
  ASSERT_TRUE(converged(all(), *r));
  // Not seeded twice.
  EXPECT_EQ(nodes_[0]->rings->latest()->backends().size(), before.size());
}

// A membership thread that stops refreshing its status (here held in the ring sink) is
// reported stale by its status: the last snapshot said "a follower, leader heard just now",
// and /readyz, /cluster and the stale gauge kept saying so while it routed with an old ring.
TEST_F(ServiceTest, AStuckMembershipThreadIsReportedStale) {
  make_nodes(3);
  start_all();
  const size_t leader = wait_leader(all());
  const size_t stuck = leader == 0 ? 1 : 0;
  ASSERT_TRUE(eventually([&] { return !svc(stuck).status().stale; }));
  nodes_[stuck]->rings->stall = true;
  // Released however the test ends: a held thread would keep its service from stopping.
  struct Release {
    RingLog& rings;
    ~Release() { rings.stall = false; }
  } release{*nodes_[stuck]->rings};
  Result<uint64_t> r = propose_retrying(leader, state::AddBackend{backend("s1", 7301)});
  ASSERT_TRUE(r.is_ok()) << r.error();
  ASSERT_TRUE(eventually([&] { return svc(stuck).status().unresponsive; }));
  const ServiceStatus st = svc(stuck).status();
  EXPECT_TRUE(st.stale);
  EXPECT_GT(st.unresponsive_ms, 2u * 400);  // two election timeouts
  nodes_[stuck]->rings->stall = false;
  ASSERT_TRUE(eventually([&] { return !svc(stuck).status().stale; }));
  EXPECT_FALSE(svc(stuck).status().unresponsive);
}

// The elections counted are this process's campaigns: a vote for itself recovered from disk
// was counted by the run that cast it (a restarted leader reported one election it never ran).
TEST_F(ServiceTest, ARestartedLeaderCountsNoElectionItDidNotRun) {
  make_nodes(3);
  start_all();
  const size_t leader = wait_leader(all());
  ASSERT_GE(svc(leader).status().elections, 1u);
  for (size_t i = 0; i < 3; ++i)
    stop(i);
  start(leader);  // alone: no election before its timeout passes
  EXPECT_EQ(svc(leader).status().elections, 0u);
}

// A removed instance restarted from its data_dir says which ring it routes with: the one its
// recovered log ends at, not the snapshot's it started from (it named the snapshot's epoch,
// logged before the log after the snapshot was applied).
TEST_F(ServiceTest, ARemovedInstanceRestartedNamesTheRingItRoutesWith) {
  snapshot_every_ = 4;
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  uint64_t last = 0;
  for (int k = 0; k < 6; ++k) {
    Result<uint64_t> r =
        propose_retrying(leader, state::AddBackend{backend("e" + std::to_string(k), 9100 + k)});
    ASSERT_TRUE(r.is_ok()) << r.error();
    last = *r;
  }
  ASSERT_TRUE(converged(all(), last));
  const size_t removed = leader == 0 ? 1 : 0;
  Answer removal;
  svc(leader).remove_peer(nodes_[removed]->id, removal.callback());
  ASSERT_TRUE(removal.wait().is_ok());
  ASSERT_TRUE(eventually([&] { return svc(removed).status().removed; }));
  stop(removed);
  nodes_[removed]->rings = std::make_shared<RingLog>();

  ::testing::internal::CaptureStderr();
  start(removed);
  const bool logged = eventually([&] { return svc(removed).status().removed; });
  stop(removed);  // its last log lines are written
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(logged);
  EXPECT_EQ(nodes_[removed]->rings->epoch(), last);
  EXPECT_NE(log.find("routes with its last ring (epoch " + std::to_string(last) + ")"),
            std::string::npos)
      << log;
}

// A data_dir copied from another group with the same node ids: its committed entries disagree
// with this group's log (Raft compares terms). Whoever holds committed entries that a leader
// contradicts reports it; nothing committed is truncated.
TEST_F(ServiceTest, ALogFromAnotherGroupIsReportedAsDiverged) {
  // Group B: leadership changes twice, so its later entries carry higher terms.
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(propose_retrying(
                    leader, state::AddBackend{backend("b" + std::to_string(round), 7100 + round)})
                    .is_ok());
    stop(leader);
    size_t next = wait_leader(all());
    start(leader);
    leader = next;
  }
  Result<uint64_t> last_b = propose_retrying(leader, state::AddBackend{backend("b9", 7199)});
  ASSERT_TRUE(last_b.is_ok()) << last_b.error();
  ASSERT_TRUE(converged(all(), *last_b));
  for (size_t i = 0; i < 3; ++i)
    stop(i);
  std::vector<std::unique_ptr<Node>> group_b = std::move(nodes_);
  nodes_.clear();
  founders_.clear();

  // Group A: the same ids, one term, a longer log.
  make_nodes(3);
  start_all();
  leader = wait_leader(all());
  uint64_t last_a = 0;
  for (int k = 0; k < 12; ++k) {
    Result<uint64_t> r =
        propose_retrying(leader, state::AddBackend{backend("a" + std::to_string(k), 7200 + k)});
    ASSERT_TRUE(r.is_ok()) << r.error();
    last_a = *r;
  }
  ASSERT_TRUE(converged(all(), last_a));
  ASSERT_GT(last_a, *last_b);
  for (size_t i : all())
    EXPECT_FALSE(svc(i).status().diverged);

  // p3 restarts with group B's p3 data.
  const size_t p3 = 2;
  stop(p3);
  namespace fs = std::filesystem;
  for (const auto& entry : fs::directory_iterator(nodes_[p3]->dir->path()))
    fs::remove_all(entry.path());
  fs::copy(group_b[p3]->dir->path(), nodes_[p3]->dir->path(), fs::copy_options::recursive);
  nodes_[p3]->rings = std::make_shared<RingLog>();  // its epochs are group B's
  start(p3);
  ASSERT_TRUE(eventually([&] {
    for (size_t i : all()) {
      if (svc(i).status().diverged) return true;
    }
    return false;
  })) << "no instance reported the conflict";
  for (size_t i : all()) {
    const ServiceStatus st = svc(i).status();
    EXPECT_EQ(st.diverged, st.committed_conflicts > 0) << nodes_[i]->id;
  }
}

// Founders started with different membership.peers: p3 also lists a p4. p1 and p2 form the
// group; p3 is refused by both (and refuses them), so it never takes an entry of theirs, and
// every side reports the other group's founders.
TEST_F(ServiceTest, FoundersWithDifferentPeerListsNeverExchangeAMessage) {
  make_nodes(3);
  founders_ = {"p1", "p2", "p3"};
  add_node_slot("p4");  // listed by p3 only; never started
  nodes_[2]->listed_peers = {"p1", "p2", "p3", "p4"};
  for (size_t i = 0; i < 3; ++i)
    start(i);
  size_t leader = wait_leader({0, 1});
  Result<uint64_t> r = propose_retrying(leader, state::AddBackend{backend("n1", 7301)});
  ASSERT_TRUE(r.is_ok()) << r.error();
  ASSERT_TRUE(converged({0, 1}, *r));

  const std::vector<std::string> abc = {"p1", "p2", "p3"}, abcd = {"p1", "p2", "p3", "p4"};
  auto reports = [&](size_t i, const std::string& peer, const std::vector<std::string>& f) {
    ServiceStatus st = svc(i).status();
    auto it = st.foreign_peers.find(peer);
    return it != st.foreign_peers.end() && it->second == f;
  };
  ASSERT_TRUE(eventually([&] {
    return reports(0, "p3", abcd) && reports(1, "p3", abcd) && reports(2, "p1", abc) &&
           reports(2, "p2", abc);
  }));
  for (int round = 0; round < 2; ++round) {
    ServiceStatus p3 = svc(2).status();
    EXPECT_EQ(p3.founders, abcd);
    EXPECT_GT(p3.transport.rejected_group, 0u);
    EXPECT_EQ(p3.commit_index, 0u) << "p3 never took an entry of the group";
    EXPECT_NE(p3.role, "leader");
    EXPECT_EQ(nodes_[2]->rings->epoch(), 0u);
    for (size_t i : {0, 1}) {
      ServiceStatus st = svc(i).status();
      EXPECT_EQ(st.founders, abc);
      EXPECT_EQ(st.foreign_peers.size(), 1u) << nodes_[i]->id;
      EXPECT_FALSE(st.diverged);
    }
    // Restarted, p3 still knows its founders (data_dir) and is still refused.
    if (round == 0) {
      stop(2);
      start(2);
      ASSERT_TRUE(eventually([&] { return reports(2, "p1", abc) && reports(2, "p2", abc); }));
      r = propose_retrying(leader, state::AddBackend{backend("n2", 7302)});
      ASSERT_TRUE(r.is_ok()) << r.error();
      ASSERT_TRUE(converged({0, 1}, *r));
    }
  }
}

// A node that joins learns the founders from the group's first entry, or, when the leader sends
// it a snapshot instead, from the leader's hello; either way they are kept in its data_dir. A
// data_dir without them (an older release wrote it) takes them from its first entry.
TEST_F(ServiceTest, JoinersAndOldDataDirsLearnTheFounders) {
  make_nodes(3);
  start_all();
  size_t leader = wait_leader(all());
  ASSERT_TRUE(converged(all(), 3));
  const std::vector<std::string> founders = {"p1", "p2", "p3"};

  auto join = [&](const std::string& id) {
    Node& node = add_node_slot(id);
    size_t i = nodes_.size() - 1;
    start(i, StartMode::kJoin);
    EXPECT_TRUE(svc(i).status().founders.empty()) << id << " cannot know them yet";
    Answer added;
    svc(leader).add_peer(id, node.address, added.callback());
    Result<uint64_t> add = added.wait();
    EXPECT_TRUE(add.is_ok()) << add.error();
    EXPECT_TRUE(eventually([&] { return svc(i).status().founders == founders; })) << id;
    stop(i);
    start(i, StartMode::kJoin);
    EXPECT_EQ(svc(i).status().founders, founders) << id << " after a restart";
    return i;
  };
  join("p4");  // from entry 1
  const size_t p4 = 3;

  snapshot_every_ = 4;  // restarted with it, the founders compact their logs
  for (size_t i : {0, 1, 2}) {
    stop(i);
    start(i);
  }
  leader = wait_leader(all());
  for (int k = 0; k < 10; ++k) {
    ASSERT_TRUE(
        propose_retrying(leader, state::AddBackend{backend("n" + std::to_string(k), 7400 + k)})
            .is_ok());
  }
  size_t p5 = join("p5");  // from the leader's hello: entry 1 is in the leader's snapshot

  // Data dirs without the founders file, as older releases left them.
  namespace fs = std::filesystem;
  snapshot_every_ = 1000;
  const size_t plain = p4;  // its log still starts at entry 1: it never compacted
  for (size_t i : {plain, p5}) {
    stop(i);
    ASSERT_TRUE(fs::remove(nodes_[i]->dir->file("founders")));
    start(i, StartMode::kJoin);
  }
  EXPECT_EQ(svc(plain).status().founders, founders) << "taken from its first entry at start";
  EXPECT_TRUE(fs::exists(nodes_[plain]->dir->file("founders")));
  EXPECT_TRUE(svc(p5).status().founders.empty()) << "p5's log starts with a snapshot";
  EXPECT_TRUE(eventually([&] { return svc(p5).status().founders == founders; }))
      << "learned from the leader";
  EXPECT_TRUE(fs::exists(nodes_[p5]->dir->file("founders")));
}

TEST_F(ServiceTest, StoppedServiceAnswersAtOnceAndBadOptionsFail) {
  make_nodes(1);
  start_all();
  size_t leader = wait_leader(all());
  Result<uint64_t> r = propose(leader, state::AddBackend{backend("solo", 7200)});
  ASSERT_TRUE(r.is_ok()) << r.error();
  svc(0).stop();
  Result<uint64_t> after = propose(0, state::AddBackend{backend("late", 7201)});
  EXPECT_FALSE(after.is_ok());
  svc(0).stop();  // idempotent

  ServiceOptions o = options_for(*nodes_[0], StartMode::kBootstrap);
  o.peers.clear();
  EXPECT_FALSE(MembershipService::start(o, {}).is_ok()) << "this node must be a founding voter";
  o = options_for(*nodes_[0], StartMode::kBootstrap);
  o.election_timeout_ms = o.heartbeat_ms;
  EXPECT_FALSE(MembershipService::start(o, {}).is_ok());
  o = options_for(*nodes_[0], StartMode::kBootstrap);
  o.listen = "nowhere";
  EXPECT_FALSE(MembershipService::start(o, {}).is_ok());
}

}  // namespace
}  // namespace ringleader::membership::service
