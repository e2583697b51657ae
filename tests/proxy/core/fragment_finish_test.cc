// What the core does when a backend finishes part of a request (on_fragment_finished): the
// tally of a write's copies and which reply answers, the follow-ups a conditional write sends
// once its primary applied it (with or without a client), and what is counted.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/backend_pool.h"
#include "core/pending_request.h"
#include "core/replication.h"
#include "redis/redis_protocol.h"

namespace ringleader::proxy {
namespace {

// Records what the core asks to send instead of sending it.
class RecordingOwner final : public PoolOwner {
 public:
  void request_ejection(const std::string&, const std::string&) override {}
  WorkerCounters& counters() override { return counters_; }
  void schedule_flush(BackendConnection*) override {}
  bool queue_write(int, const char*, size_t, IoBatch::Writer*) override { return false; }
  Protocol& protocol() override { return protocol_; }
  size_t expected_per_backend(uint64_t, size_t) const override { return 0; }
  void send_part(PendingRequest* req, uint32_t part, ring::BackendIndex backend) override {
    req->part(part).state = FragmentState::kSent;
    sent.emplace_back(part, backend);
  }
  std::string own_listener_at(const sockaddr_storage&) override { return ""; }

  std::vector<std::pair<uint32_t, ring::BackendIndex>> sent;

 private:
  WorkerCounters counters_;
  redis::RedisProtocol protocol_;
};

// A request with one write, sent as one copy to each of backends 0..n-1, as dispatch leaves it.
PendingRequest* write_with_copies(uint32_t n, uint32_t needed) {
  PendingRequest* req = PendingRequest::create(nullptr);
  Fragment& write = req->add_fragment();
  write.payload = "*2\r\n$6\r\nGETDEL\r\n$1\r\nk\r\n";
  ring::ReplicaSet set;
  for (uint32_t r = 0; r < n; ++r)
    set.push_back(r);
  write.target(set, Access::kWrite);
  write.needed = static_cast<uint8_t>(needed);
  write.first_copy = 0;
  write.state = FragmentState::kSent;
  for (uint32_t r = 0; r < n; ++r) {
    Fragment& copy = req->copies.add();
    copy.backend = write.replicas[r];
    copy.parent = 0;
    copy.state = FragmentState::kSent;
  }
  req->outstanding = 1;
  return req;
}

void finish_copy(RecordingOwner& owner, PendingRequest* req, uint32_t i, std::string reply) {
  Fragment& c = req->copies[i];
  c.reply = std::move(reply);
  c.state = FragmentState::kDone;
  on_fragment_finished(owner, req, PendingRequest::kCopyBit | i);
}

std::string bulk(char fill, size_t n) {
  return "$" + std::to_string(n) + "\r\n" + std::string(n, fill) + "\r\n";
}

TEST(WriteCopies, ThePrimarysReplyAnswersAndTheOthersAreNotKept) {
  RecordingOwner owner;
  PendingRequest* req = write_with_copies(3, 3);  // write = all
  const std::string primary = bulk('p', 100000);
  finish_copy(owner, req, 2, bulk('c', 100000));
  EXPECT_EQ(req->copies[2].reply.size(), bulk('c', 100000).size());  // the best one so far
  finish_copy(owner, req, 0, primary);
  EXPECT_TRUE(req->copies[2].reply.empty()) << "the primary's reply answers: no need for it";
  EXPECT_LT(req->copies[2].reply.capacity(), 1000u) << "a big reply's memory goes back";
  EXPECT_EQ(req->fragments[0].state, FragmentState::kSent);  // 2 of 3 needed acknowledgements
  finish_copy(owner, req, 1, bulk('b', 100000));
  EXPECT_TRUE(req->copies[1].reply.empty());
  EXPECT_EQ(req->fragments[0].state, FragmentState::kDone);
  EXPECT_EQ(req->fragments[0].reply, primary);
  EXPECT_EQ(req->outstanding, 0u);
  req->release();
}

TEST(WriteCopies, CopiesFinishingAfterTheDecisionAreDropped) {
  RecordingOwner owner;
  PendingRequest* req = write_with_copies(2, 1);  // write = one
  finish_copy(owner, req, 1, bulk('s', 100));
  EXPECT_EQ(req->fragments[0].state, FragmentState::kDone);
  EXPECT_EQ(req->fragments[0].reply, bulk('s', 100));  // the first acknowledgement decides
  finish_copy(owner, req, 0, bulk('p', 100));
  EXPECT_TRUE(req->copies[0].reply.empty());
  EXPECT_EQ(req->fragments[0].reply, bulk('s', 100));
  req->release();
}

TEST(WriteCopies, AFailedWriteSaysWhyEachCopyFailed) {
  RecordingOwner owner;
  PendingRequest* req = write_with_copies(2, 2);  // write = all
  finish_copy(owner, req, 0, "+OK\r\n");
  Fragment& c = req->copies[1];
  c.state = FragmentState::kFailed;
  c.error = "backend b1 (127.0.0.1:2): timeout after 5 ms";
  on_fragment_finished(owner, req, PendingRequest::kCopyBit | 1);
  EXPECT_EQ(req->fragments[0].state, FragmentState::kFailed);
  EXPECT_EQ(req->fragments[0].error,
            "write acknowledged by 1 of 2 replicas (2 needed): backend b1 (127.0.0.1:2): "
            "timeout after 5 ms");
  req->release();
}

// SET k v NX on the primary (fragment 0); its follow-up SET k v to the other replica
// (fragment 1) waits for a "+OK".
PendingRequest* conditional_write() {
  PendingRequest* req = PendingRequest::create(nullptr);  // no client: it has gone
  Fragment& primary = req->add_fragment();
  primary.backend = 0;
  primary.payload = "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n";
  primary.state = FragmentState::kSent;
  Fragment& follow = req->add_fragment();
  follow.backend = 1;
  follow.payload = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
  follow.after = 0;
  follow.after_reply = "+OK";
  req->has_waiting = true;
  req->outstanding = 2;
  return req;
}

void finish_fragment(RecordingOwner& owner, PendingRequest* req, uint32_t i, std::string reply) {
  req->fragments[i].reply = std::move(reply);
  req->fragments[i].state = FragmentState::kDone;
  on_fragment_finished(owner, req, i);
}

TEST(FollowUps, GoOnceThePrimaryAppliedTheWriteEvenWithoutAClient) {
  RecordingOwner owner;
  PendingRequest* req = conditional_write();
  finish_fragment(owner, req, 0, "+OK\r\n");
  ASSERT_EQ(owner.sent.size(), 1u);
  EXPECT_EQ(owner.sent[0], std::make_pair(uint32_t{1}, ring::BackendIndex{1}));
  EXPECT_TRUE(req->fragments[1].follow_up);
  EXPECT_EQ(req->outstanding, 1u);  // the follow-up's reply is still due
  finish_fragment(owner, req, 1, "+OK\r\n");
  EXPECT_EQ(req->outstanding, 0u);
  EXPECT_EQ(owner.counters().replica_write_failures.load(), 0u);
  req->release();
}

TEST(FollowUps, StayUnsentWhenThePrimaryDidNotApplyTheWrite) {
  for (const char* reply : {"$-1\r\n", "-ERR wrong number of arguments\r\n"}) {
    RecordingOwner owner;
    PendingRequest* req = conditional_write();
    finish_fragment(owner, req, 0, reply);
    EXPECT_TRUE(owner.sent.empty()) << reply;
    EXPECT_EQ(req->fragments[1].state, FragmentState::kDone) << reply;
    EXPECT_TRUE(req->fragments[1].reply.empty()) << reply;
    EXPECT_EQ(req->outstanding, 0u) << reply;
    req->release();
  }
}

TEST(FollowUps, OneThatFailsOrIsRefusedCountsAsAReplicaWriteFailure) {
  RecordingOwner owner;
  PendingRequest* refused = conditional_write();
  finish_fragment(owner, refused, 0, "+OK\r\n");
  finish_fragment(owner, refused, 1,
                  "-WRONGTYPE Operation against a key holding the wrong kind\r\n");
  EXPECT_EQ(owner.counters().replica_write_failures.load(), 1u);
  refused->release();

  PendingRequest* failed = conditional_write();
  finish_fragment(owner, failed, 0, "+OK\r\n");
  failed->fragments[1].state = FragmentState::kFailed;
  failed->fragments[1].error = "backend b1 (127.0.0.1:2): connection refused";
  on_fragment_finished(owner, failed, 1);
  EXPECT_EQ(owner.counters().replica_write_failures.load(), 2u);
  EXPECT_EQ(failed->outstanding, 0u);
  failed->release();
}

}  // namespace
}  // namespace ringleader::proxy
