#include "pending_request.h"

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "client_connection.h"

namespace ringleader::proxy {
namespace {
// Bounds on what a free list keeps: requests beyond kMaxFree, requests that held a buffer
// larger than PendingRequest::kMaxKeptBytes (a 10 MB value, the slots of a huge MGET), and
// requests whose buffers would take the list's past kMaxFreeBytes are deleted. Without the
// last bound, 4096 requests that each carried a 40 KB value kept 300 MB per worker after
// the burst that needed them.
constexpr size_t kMaxFree = 4096;
constexpr size_t kMaxKeptBytes = PendingRequest::kMaxKeptBytes;
constexpr size_t kMaxFreeBytes = size_t{8} << 20;
constexpr size_t kTooBig = SIZE_MAX;
}  // namespace

struct RequestFreeList {
  std::vector<PendingRequest*> free;
  size_t bytes = 0;  // PendingRequest::kept_bytes_ summed over `free`
  ~RequestFreeList() {
    for (PendingRequest* r : free)
      delete r;
  }
};

namespace {
thread_local RequestFreeList t_free_list;
thread_local PendingRequest::AbandonedLoad t_abandoned;

// The bytes of the buffers `r` would keep, or kTooBig when one of them is over kMaxKeptBytes.
// Every kept fragment counts, those not in use too: emptying a string keeps its buffer, so a
// fragment a split request filled keeps its bytes through later requests of fewer fragments.
size_t buffer_bytes(const PendingRequest& r) {
  const size_t slots = r.merge.slots.capacity() * sizeof(r.merge.slots[0]);
  const size_t fragments = (r.fragments.kept() + r.copies.kept()) * sizeof(Fragment);
  if (r.reply.capacity() > kMaxKeptBytes || slots > kMaxKeptBytes || fragments > kMaxKeptBytes) {
    return kTooBig;
  }
  size_t bytes = r.reply.capacity() + r.merge.note.capacity() + slots + fragments;
  for (const FragmentList* list : {&r.fragments, &r.copies}) {
    for (const Fragment& f : list->all_kept()) {
      for (const std::string* s : {&f.payload, &f.reply, &f.error, &f.after_reply}) {
        if (s->capacity() > kMaxKeptBytes) return kTooBig;
        bytes += s->capacity();
      }
    }
  }
  return bytes;
}
}  // namespace

PendingRequest* PendingRequest::create(ClientConnection* client) {
  std::vector<PendingRequest*>& free = t_free_list.free;
  if (free.empty()) return new PendingRequest(client);
  PendingRequest* r = free.back();
  free.pop_back();
  t_free_list.bytes -= r->kept_bytes_;
  r->client_ = client;
  r->refs_ = 1;
  return r;
}

size_t PendingRequest::free_list_bytes() {
  return t_free_list.bytes;
}

void PendingRequest::forget_rings() {
  for (PendingRequest* r : t_free_list.free)
    r->ring.reset();
}

const PendingRequest::AbandonedLoad& PendingRequest::abandoned_load() {
  return t_abandoned;
}

void PendingRequest::count_as_abandoned() {
  if (refs_ <= 1 || counted_abandoned_) return;
  counted_abandoned_ = true;
  ++t_abandoned.requests;
  t_abandoned.bytes += request_bytes;
}

void PendingRequest::recycle() {
  if (counted_abandoned_) {
    counted_abandoned_ = false;
    --t_abandoned.requests;
    t_abandoned.bytes -= request_bytes;
  }
  const size_t bytes = t_free_list.free.size() < kMaxFree ? buffer_bytes(*this) : kTooBig;
  if (bytes == kTooBig || t_free_list.bytes + bytes > kMaxFreeBytes) {
    delete this;
    return;
  }
  kept_bytes_ = bytes;
  t_free_list.bytes += bytes;
  fragments.clear();
  copies.clear();
  merge.kind = 0;
  merge.slots.clear();
  merge.aux = 0;
  merge.note.clear();
  reply.clear();
  outstanding = 0;
  complete = false;
  close_after = false;
  has_waiting = false;
  abandoned = false;
  reads_only = false;
  command = 0;
  latency_class = static_cast<uint8_t>(LatencyClass::kLocal);
  started_ns = 0;
  batch = 0;
  client_seq = 0;
  reply_bytes = 0;
  held_charge = 0;
  request_bytes = 0;
  client_ = nullptr;
  t_free_list.free.push_back(this);
}

void PendingRequest::set_reply_bytes(size_t bytes) {
  reply_bytes = bytes;
  if (client_ != nullptr && !complete) client_->charge_held(*this, bytes);
}

}  // namespace ringleader::proxy
