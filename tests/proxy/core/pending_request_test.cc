// PendingRequest recycling: a released request comes back from create() empty, with its
// buffers still allocated and its ring snapshot kept until forget_rings(); requests that
// held big buffers are not kept.
#include "core/pending_request.h"

#include <gtest/gtest.h>

#include <string>

#include "ring/ring.h"

namespace ringleader::proxy {
namespace {

PendingRequest* filled_request(size_t payload_bytes) {
  PendingRequest* r = PendingRequest::create(nullptr);
  Fragment& f = r->add_fragment();
  f.backend = 2;
  f.payload.assign(payload_bytes, 'p');
  f.reply = "$5\r\nhello\r\n with some more bytes than SSO holds";
  f.state = FragmentState::kDone;
  r->merge.kind = 3;
  r->merge.slots.emplace_back(0, 1);
  r->merge.note = "keyspace";
  r->reply = "+a reply longer than the small-string buffer\r\n";
  r->outstanding = 1;
  r->complete = true;
  r->close_after = true;
  r->command = 9;
  r->latency_class = 2;
  r->started_ns = 123;
  r->batch = 7;
  return r;
}

TEST(PendingRequestRecycling, AReleasedRequestComesBackEmptyWithItsBuffers) {
  PendingRequest* first = filled_request(100);
  const char* payload_buffer = first->fragments[0].payload.data();
  first->release();
  PendingRequest* again = PendingRequest::create(nullptr);
  ASSERT_EQ(again, first);  // the same object, from this thread's free list
  EXPECT_TRUE(again->fragments.empty());
  EXPECT_EQ(again->merge.kind, 0);
  EXPECT_TRUE(again->merge.slots.empty());
  EXPECT_TRUE(again->merge.note.empty());
  EXPECT_TRUE(again->reply.empty());
  EXPECT_EQ(again->outstanding, 0u);
  EXPECT_FALSE(again->complete);
  EXPECT_FALSE(again->close_after);
  EXPECT_EQ(again->command, 0);
  EXPECT_EQ(again->latency_class, static_cast<uint8_t>(LatencyClass::kLocal));  // until classified
  EXPECT_EQ(again->started_ns, 0u);
  EXPECT_EQ(again->batch, 0u);
  Fragment& f = again->add_fragment();
  EXPECT_EQ(f.backend, ring::kNoBackend);
  EXPECT_EQ(f.state, FragmentState::kQueued);
  EXPECT_TRUE(f.payload.empty() && f.reply.empty() && f.error.empty());
  EXPECT_EQ(f.payload.data(), payload_buffer);  // reused, not reallocated
  again->release();
}

TEST(PendingRequestRecycling, CopiesAndReplicationStateAreEmptiedToo) {
  PendingRequest* first = filled_request(10);
  Fragment& w = first->fragments[0];
  w.access = Access::kWrite;
  w.replicas.push_back(2);
  w.replicas.push_back(0);
  w.acks = 1;
  w.failures = 1;
  w.needed = 2;
  w.first_copy = 0;
  for (ring::BackendIndex b : {2u, 0u}) {
    Fragment& c = first->copies.add();
    c.backend = b;
    c.payload = "a copy of the write, longer than the small-string buffer";
    c.parent = 0;
  }
  // part(): fragments by index, copies by index with kCopyBit.
  EXPECT_EQ(&first->part(0), &first->fragments[0]);
  EXPECT_EQ(&first->part(PendingRequest::kCopyBit | 1), &first->copies[1]);
  EXPECT_TRUE(PendingRequest::is_copy(PendingRequest::kCopyBit | 1));
  EXPECT_FALSE(PendingRequest::is_copy(1));
  first->release();
  PendingRequest* again = PendingRequest::create(nullptr);
  ASSERT_EQ(again, first);
  EXPECT_TRUE(again->copies.empty());
  Fragment& f = again->add_fragment();
  EXPECT_EQ(f.access, Access::kDirect);
  EXPECT_TRUE(f.replicas.empty());
  EXPECT_EQ(f.acks + f.failures + f.needed + f.tried, 0);
  Fragment& c = again->copies.add();
  EXPECT_TRUE(c.payload.empty());
  EXPECT_EQ(c.parent, 0u);
  again->release();
}

TEST(PendingRequestRecycling, AFreeListedRequestKeepsItsRingUntilTheRingsAreForgotten) {
  ring::RingSnapshot ring =
      ring::Ring::build({{"b0", "127.0.0.1:7000", 1, "", ring::BackendState::kActive}}, {}, 1)
          .value();
  PendingRequest* r = PendingRequest::create(nullptr);
  r->ring = ring;
  r->release();
  EXPECT_EQ(ring.use_count(), 2);  // still held by the free-listed request
  PendingRequest::forget_rings();
  EXPECT_EQ(ring.use_count(), 1);  // a replaced ring is not kept alive by idle requests
  PendingRequest* again = PendingRequest::create(nullptr);
  ASSERT_EQ(again, r);
  EXPECT_EQ(again->ring, nullptr);
  again->release();
}

TEST(PendingRequestRecycling, RequestsThatHeldBigBuffersAreDeleted) {
  PendingRequest* big = filled_request(1 << 20);
  big->release();
  PendingRequest* next = PendingRequest::create(nullptr);
  EXPECT_EQ(next->fragments.size(), 0u);
  Fragment& f = next->add_fragment();
  EXPECT_LT(f.payload.capacity(), size_t{1} << 20);  // no megabyte buffer kept around
  next->release();
}

TEST(PendingRequestRecycling, RequestsWithHugeMergePlansAreDeleted) {
  PendingRequest* huge = filled_request(10);
  huge->merge.slots.resize(100000);  // an MGET of 100,000 keys: 800 KB of slots
  huge->release();
  PendingRequest* next = PendingRequest::create(nullptr);
  EXPECT_LT(next->merge.slots.capacity(), 100000u);
  next->release();
}

TEST(PendingRequestRecycling, FewerFragmentsThanLastTimeReuseTheFirstOnesAndLeaveNoTrace) {
  PendingRequest* r = PendingRequest::create(nullptr);
  for (int i = 0; i < 3; ++i) {
    Fragment& f = r->add_fragment();
    f.backend = static_cast<ring::BackendIndex>(i);
    f.payload = "a payload longer than the small-string buffer #" + std::to_string(i);
    f.error = "an error text longer than the small-string buffer";
    f.state = FragmentState::kFailed;
  }
  const char* second_payload = r->fragments[1].payload.data();
  r->release();
  PendingRequest* again = PendingRequest::create(nullptr);
  ASSERT_EQ(again, r);
  again->add_fragment();
  Fragment& second = again->add_fragment();
  EXPECT_EQ(again->fragments.size(), 2u);
  EXPECT_EQ(second.payload.data(), second_payload);  // the same slot, its buffer kept
  for (const Fragment& f : again->fragments) {
    EXPECT_EQ(f.backend, ring::kNoBackend);
    EXPECT_EQ(f.state, FragmentState::kQueued);
    EXPECT_TRUE(f.payload.empty() && f.reply.empty() && f.error.empty());
  }
  again->release();
}

// A request that split over three backends, reused for one of a single fragment: the two
// fragments not in use keep their buffers, and those still count against the free list's
// bound (8 MiB per worker), however many times the request is reused.
TEST(PendingRequestRecycling, BuffersOfFragmentsNotInUseCountAgainstTheBound) {
  PendingRequest* split = PendingRequest::create(nullptr);
  for (int i = 0; i < 3; ++i)
    split->add_fragment().payload.assign(60000, 'p');
  size_t listed = PendingRequest::free_list_bytes();
  split->release();
  const size_t kept = PendingRequest::free_list_bytes() - listed;
  EXPECT_GE(kept, 3u * 60000);
  for (int round = 0; round < 3; ++round) {
    PendingRequest* single = PendingRequest::create(nullptr);
    ASSERT_EQ(single, split);
    single->add_fragment().payload = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    listed = PendingRequest::free_list_bytes();
    single->release();
    EXPECT_EQ(PendingRequest::free_list_bytes() - listed, kept) << "round " << round;
  }
}

TEST(PendingRequestRecycling, RequestsThatHadThousandsOfFragmentsAreDeleted) {
  PendingRequest* wide = PendingRequest::create(nullptr);
  for (int i = 0; i < 5000; ++i)  // a DEL of 5,000 keys over as many backends
    wide->add_fragment();
  wide->release();
  PendingRequest* next = PendingRequest::create(nullptr);
  EXPECT_LT(next->fragments.kept(), 5000u);  // not the wide one, kept with its slots
  next->release();
}

TEST(PendingRequestRecycling, EveryHolderMustLetGoFirst) {
  PendingRequest* r = filled_request(10);
  r->retain();
  r->release();  // one holder left: not recycled
  EXPECT_EQ(r->fragments.size(), 1u);
  EXPECT_EQ(r->batch, 7u);
  r->release();
}

// A closed client's request that a backend still holds counts in abandoned_load() until the
// backend lets go; one nobody else holds (or a big one, deleted rather than kept) leaves no
// trace either way.
TEST(PendingRequestRecycling, AbandonedRequestsCountUntilTheirLastHolderLetsGo) {
  const PendingRequest::AbandonedLoad& load = PendingRequest::abandoned_load();
  ASSERT_EQ(load.requests, 0u);
  PendingRequest* held = filled_request(10);
  held->request_bytes = 300;
  held->retain();  // a backend connection's
  held->count_as_abandoned();
  held->count_as_abandoned();  // once only
  held->release();             // the client's
  EXPECT_EQ(load.requests, 1u);
  EXPECT_EQ(load.bytes, 300u);
  PendingRequest* big = filled_request(PendingRequest::kMaxKeptBytes + 1);
  big->request_bytes = 5000;
  big->retain();
  big->count_as_abandoned();
  big->release();
  EXPECT_EQ(load.requests, 2u);
  EXPECT_EQ(load.bytes, 5300u);
  held->release();  // the backend answered
  big->release();
  EXPECT_EQ(load.requests, 0u);
  EXPECT_EQ(load.bytes, 0u);
  PendingRequest* alone = filled_request(10);
  alone->request_bytes = 7;
  alone->count_as_abandoned();  // nobody else holds it: nothing to count
  EXPECT_EQ(load.requests, 0u);
  alone->release();
  EXPECT_EQ(load.bytes, 0u);
}

}  // namespace
}  // namespace ringleader::proxy
