// PendingRequest: one client request between parsing and its reply, and the fragments it
// became (one per backend request). Protocol-agnostic: sessions fill and merge them.
//
// Ownership: intrusive reference count held by the client's queue (until the reply is
// written or the client goes away) and by each fragment a backend connection has in
// flight. A request outlives its client when replies are still due from backends, so
// backend streams stay in step. Single-threaded: a request never leaves its worker.
//
// Recycling: the last release() returns the request to its thread's free list with its
// buffers (fragment payloads and replies, the reply, the vectors) emptied but allocated, so
// a worker in steady state allocates nothing per request. create() takes from that list.
// A free-listed request keeps its ring snapshot: routing with the same ring again then
// costs no reference-count update. The worker calls forget_rings() when its ring changes,
// so an idle request never keeps a replaced ring alive for long.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/counters.h"
#include "ring/ring.h"

namespace ringleader::proxy {

class ClientConnection;

// How the core sends a fragment. Sessions say what a fragment does; the core applies the
// replication policy (config [replication]) to the fragment's replica set.
enum class Access : uint8_t {
  kDirect,       // exactly `backend`, nothing else (whole-keyspace fan-out, SCAN)
  kRead,         // one replica, chosen and ordered by replication.read; on failure the next
  kReadPrimary,  // the primary only, never another replica (memcached gets: a cas unique
                 // belongs to the server that gave it, and the cas goes to the primary)
  kWrite,        // a copy to every replica, decided by replication.write (one/quorum/all)
};

enum class FragmentState : uint8_t {
  kQueued,  // planned, not yet handed to a backend connection
  kSent,    // written (or waiting to be written) to a backend connection
  kDone,    // reply holds the complete backend reply
  kFailed,  // error says why (timeout, connection refused, backend ejected, ...)
};

struct Fragment {
  ring::BackendIndex backend = ring::kNoBackend;  // index in PendingRequest::ring
  std::string payload;                            // bytes to send to the backend
  std::string reply;                              // complete raw reply, once kDone
  std::string error;                              // once kFailed
  FragmentState state = FragmentState::kQueued;
  Access access = Access::kDirect;
  // kRead/kWrite: the backends that hold the fragment's keys, primary first (`backend` is
  // the primary). The core rewrites it into the order a read tries them.
  ring::ReplicaSet replicas;
  // A read of one key may leave `replicas` to the core: then `backend` is the key's primary,
  // `key_hash` its hash in PendingRequest::ring, and the core walks the ring for the set only
  // when the policy or a failover needs more than the primary.
  bool replicas_deferred = false;
  uint64_t key_hash = 0;
  // A fragment may wait for another of its request: it is sent only once fragment `after`
  // is kDone with a reply that starts with `after_reply` (a cas stored on the primary before
  // the other replicas drop their copy), and otherwise ends kDone with an empty reply, unsent.
  static constexpr uint32_t kNoAfter = UINT32_MAX;
  uint32_t after = kNoAfter;
  std::string after_reply;
  // Sent once its `after` applied: a replica's copy of the primary's decision. When it fails,
  // or its backend answers with an error, that replica missed the write (counted as a
  // replica write failure); the client's answer is the primary's all the same.
  bool follow_up = false;
  // A follow-up whose bytes depend on what `after` did (the members a pop chose, an ID the
  // server generated): non-zero (a protocol's own kind) makes the protocol complete `payload`
  // from `after`'s reply before it is sent (Protocol::complete_follow_up); `derive_at` is the
  // protocol's mark in `payload`.
  uint8_t derive = 0;
  uint32_t derive_at = 0;
  // Replication bookkeeping, kept by the core. Reads: replicas tried so far. Writes: the
  // copies (PendingRequest::copies[first_copy, + replicas.size())) and their tally. Copies:
  // `parent` is the fragment they copy.
  uint32_t first_copy = 0;
  uint32_t parent = 0;
  uint8_t tried = 0;
  uint8_t acks = 0;
  uint8_t failures = 0;
  uint8_t needed = 0;
  // A copy whose backend refused the write (Protocol::is_refusal): kDone, its reply kept,
  // but no acknowledgement.
  bool refused = false;
  // The backend whose reply `reply` is, once kDone: a replica's for a read that failed over
  // or a replicated write whose primary did not answer first; kNoBackend until a reply came.
  ring::BackendIndex answered_by = ring::kNoBackend;

  // The backend to name for `reply`: the one that sent it, else the fragment's own.
  ring::BackendIndex replier() const {
    return answered_by != ring::kNoBackend ? answered_by : backend;
  }

  // Addresses the fragment to the keys held by `set` (primary first), used as `how` says.
  void target(const ring::ReplicaSet& set, Access how) {
    backend = set.primary();
    replicas = set;
    access = how;
  }
  // Addresses a read of one key: its `primary` now, its replica set (from `hash`) when needed.
  void target_read(ring::BackendIndex primary, uint64_t hash, Access how) {
    backend = primary;
    access = how;
    replicas_deferred = true;
    key_hash = hash;
  }

  // Back to a fresh fragment, buffers kept.
  void reset() {
    backend = ring::kNoBackend;
    payload.clear();
    reply.clear();
    error.clear();
    state = FragmentState::kQueued;
    access = Access::kDirect;
    replicas = ring::ReplicaSet();
    replicas_deferred = false;
    key_hash = 0;
    after = kNoAfter;
    after_reply.clear();
    follow_up = false;
    derive = 0;
    derive_at = 0;
    first_copy = parent = 0;
    tried = acks = failures = needed = 0;
    refused = false;
    answered_by = ring::kNoBackend;
  }
};

// The fragments of one request, in the order they were added. clear() empties them but keeps
// them constructed with their buffers, so the next add() after a recycle allocates nothing
// and moves nothing. Iterators and references are invalidated by add(), as with a vector.
class FragmentList {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Fragment& operator[](size_t i) { return slots_[i]; }
  const Fragment& operator[](size_t i) const { return slots_[i]; }
  Fragment* begin() { return slots_.data(); }
  Fragment* end() { return slots_.data() + size_; }
  const Fragment* begin() const { return slots_.data(); }
  const Fragment* end() const { return slots_.data() + size_; }

  // Appends an empty fragment (kQueued, no backend, empty buffers).
  Fragment& add() {
    if (size_ == slots_.size()) slots_.emplace_back();
    return slots_[size_++];
  }
  // Empties every fragment; all of them stay allocated for reuse.
  void clear() {
    for (size_t i = 0; i < size_; ++i)
      slots_[i].reset();
    size_ = 0;
  }
  // Fragments kept for reuse (the most this list has held); bounds what a free list keeps.
  size_t kept() const { return slots_.size(); }
  // Every kept fragment, those in use first: the others were emptied but keep their buffers.
  std::span<const Fragment> all_kept() const { return {slots_.data(), slots_.size()}; }

 private:
  std::vector<Fragment> slots_;  // [0, size_) in use, the rest emptied
  size_t size_ = 0;
};

// How a session turns fragment replies into the client's reply; interpreted by the session.
struct MergePlan {
  uint8_t kind = 0;  // session-defined; 0 = the single fragment's reply as it is
  // For splits that reassemble in the client's order: for each client-side item, the
  // fragment it went to and its position among that fragment's items.
  std::vector<std::pair<uint32_t, uint32_t>> slots;
  uint64_t aux = 0;  // session-defined (e.g. the backend a SCAN cursor points at)
  std::string note;  // session-defined (e.g. the INFO section asked for)
};

class PendingRequest {
 public:
  explicit PendingRequest(ClientConnection* client) : client_(client) {}
  // A request for `client`: a recycled one when this thread has one, else a new one.
  static PendingRequest* create(ClientConnection* client);
  PendingRequest(const PendingRequest&) = delete;
  PendingRequest& operator=(const PendingRequest&) = delete;

  // What this thread's requests whose client closed before they were answered still hold,
  // until their last holder (a backend connection) lets go. A worker counts it against its
  // queue limits: clients that send a flood and vanish cannot pile up requests behind a slow
  // backend past them.
  struct AbandonedLoad {
    size_t requests = 0;
    size_t bytes = 0;  // their request_bytes
  };
  static const AbandonedLoad& abandoned_load();
  // For a closing client, before it releases the request: when others still hold it, its
  // request_bytes move to abandoned_load() until it is recycled.
  void count_as_abandoned();

  void retain() { ++refs_; }
  // Recycles (or deletes) the request when the last holder lets go.
  void release() {
    if (--refs_ == 0) recycle();
  }
  // Drops the ring snapshots held by this thread's free-listed requests.
  static void forget_rings();
  // The bytes of the buffers this thread's free-listed requests keep (at most 8 MiB).
  static size_t free_list_bytes();
  // Appends an empty fragment to `fragments`, reusing a recycled one's buffers.
  Fragment& add_fragment() { return fragments.add(); }

  // Buffers up to this many bytes stay allocated when a request is recycled; a request that
  // held a bigger one is not kept, and code emptying one early gives its memory back.
  static constexpr size_t kMaxKeptBytes = 64 * 1024;

  // Backend connections name what they carry by part id: a fragment's index, or a copy's
  // index with kCopyBit set (copies of writes, made by the core, never seen by sessions).
  static constexpr uint32_t kCopyBit = 0x80000000u;
  static bool is_copy(uint32_t part) { return (part & kCopyBit) != 0; }
  Fragment& part(uint32_t id) { return is_copy(id) ? copies[id & ~kCopyBit] : fragments[id]; }
  // The bytes part `id` sends: a copy sends its write's payload (copies hold none).
  const std::string& payload(uint32_t id) const {
    return is_copy(id) ? fragments[copies[id & ~kCopyBit].parent].payload : fragments[id].payload;
  }

  ClientConnection* client() const { return client_; }
  void detach_client() { client_ = nullptr; }
  // Sets reply_bytes; while the request waits for its reply, its client counts it as held.
  void set_reply_bytes(size_t bytes);

  FragmentList fragments;  // what the session planned; merged by the session
  FragmentList copies;     // one per replica of each kWrite fragment (the core's)
  MergePlan merge;
  ring::RingSnapshot ring;   // the snapshot the request was routed with
  std::string reply;         // the bytes for the client, once complete()
  uint32_t outstanding = 0;  // fragments neither kDone nor kFailed
  bool complete = false;     // reply is final
  bool close_after = false;  // close the client once this reply is written (QUIT, fatal)
  bool has_waiting = false;  // some fragment waits for another (Fragment::after)
  // Its client closed before it was answered: nobody will read its reply, so reads of it
  // still waiting for a turn are not sent (BackendConnection::drop_abandoned_read).
  bool abandoned = false;
  // Set by the session for a command that changes nothing (DBSIZE, SCAN, GET, ...): its
  // kDirect fragments are reads too, so they do not stop the client's earlier reads from
  // failing over (ClientConnection::fail_over). Unset, a kDirect fragment counts as a write.
  bool reads_only = false;
  uint16_t command = 0;  // the protocol's command index (0 = unknown), for statistics
  // LatencyClass, for statistics: sessions set it for what they plan; a request answered
  // before it is classified (unknown command, malformed input) is local.
  uint8_t latency_class = static_cast<uint8_t>(LatencyClass::kLocal);
  uint64_t started_ns = 0;
  uint64_t batch = 0;  // the client read that delivered it: its replies go out together
  // Position among the client's requests sent to backends (1, 2, ...; 0 before dispatch).
  uint64_t client_seq = 0;
  // Which of a backend pool's connections carries its fragments. Every request of one client
  // has the same lane, so a backend runs a client's requests in the order they were sent.
  uint32_t lane = 0;
  // Bytes of backend replies this request holds (its fragments' replies) or is owed by
  // backend connections that have buffered part of a reply still arriving. Backend
  // connections keep it within backend.max_reply_bytes, so the replies of a split request
  // (MGET, a multi-key get) together fit the limit one reply must fit. Copies of a write are
  // left out: one of them answers, so each is bounded alone.
  size_t reply_bytes = 0;
  // Bytes the client counts this request for while it is in the client's queue: reply_bytes
  // until it is complete, then its reply (ClientConnection::charge_held).
  size_t held_charge = 0;
  // Bytes of the client's input it was read from, while it is in the client's queue (which
  // stops reading past a total; see ClientConnection).
  size_t request_bytes = 0;

 private:
  ~PendingRequest() = default;
  void recycle();
  friend struct RequestFreeList;
  ClientConnection* client_;
  uint32_t refs_ = 1;               // the client queue's reference
  bool counted_abandoned_ = false;  // in abandoned_load() until recycled
  size_t kept_bytes_ = 0;           // its buffers' bytes, while in a free list
};

}  // namespace ringleader::proxy
