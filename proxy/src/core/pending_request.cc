#include "pending_request.h"

#include <initializer_list>
#include <utility>

#include "client_connection.h"

namespace ringleader::proxy {
namespace {
// Bounds on what a free list keeps: requests beyond kMaxFree, and requests that held a
// buffer larger than PendingRequest::kMaxKeptBytes (a 10 MB value, the slots of a huge MGET),
// are deleted.
constexpr size_t kMaxFree = 4096;
constexpr size_t kMaxKeptBytes = PendingRequest::kMaxKeptBytes;
}  // namespace

struct RequestFreeList {
  std::vector<PendingRequest*> free;
  ~RequestFreeList() {
    for (PendingRequest* r : free)
      delete r;
  }
};

namespace {
thread_local RequestFreeList t_free_list;

// Fragments beyond the ones in use need no look: they were empty when this request was
// recycled last, and nothing has touched them since.
bool keeps_small_buffers(const PendingRequest& r) {
  if (r.reply.capacity() > kMaxKeptBytes ||
      r.merge.slots.capacity() * sizeof(r.merge.slots[0]) > kMaxKeptBytes ||
      (r.fragments.kept() + r.copies.kept()) * sizeof(Fragment) > kMaxKeptBytes) {
    return false;
  }
  for (const FragmentList* list : {&r.fragments, &r.copies}) {
    for (const Fragment& f : *list) {
      if (f.payload.capacity() > kMaxKeptBytes || f.reply.capacity() > kMaxKeptBytes ||
          f.error.capacity() > kMaxKeptBytes || f.after_reply.capacity() > kMaxKeptBytes) {
        return false;
      }
    }
  }
  return true;
}
}  // namespace

PendingRequest* PendingRequest::create(ClientConnection* client) {
  std::vector<PendingRequest*>& free = t_free_list.free;
  if (free.empty()) return new PendingRequest(client);
  PendingRequest* r = free.back();
  free.pop_back();
  r->client_ = client;
  r->refs_ = 1;
  return r;
}

void PendingRequest::forget_rings() {
  for (PendingRequest* r : t_free_list.free)
    r->ring.reset();
}

void PendingRequest::recycle() {
  if (t_free_list.free.size() >= kMaxFree || !keeps_small_buffers(*this)) {
    delete this;
    return;
  }
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
  command = 0;
  latency_class = 0;
  started_ns = 0;
  batch = 0;
  client_seq = 0;
  reply_bytes = 0;
  held_charge = 0;
  client_ = nullptr;
  t_free_list.free.push_back(this);
}

void PendingRequest::set_reply_bytes(size_t bytes) {
  reply_bytes = bytes;
  if (client_ != nullptr && !complete) client_->charge_held(*this, bytes);
}

}  // namespace ringleader::proxy
