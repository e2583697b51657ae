// MemcachedSession: one memcached text-protocol client. Parses its requests, routes each key
// with the ring (retrievals of several keys are split per backend), answers the commands the
// proxy owns, and merges backend replies into the reply the client expects.
//
// noreply: the proxy strips it before forwarding, so every backend request has a reply and the
// backend stream stays framed; the client then gets nothing for that request, as it asked.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/protocol.h"
#include "proxy/memcached/command_table.h"
#include "proxy/memcached/request_parser.h"

namespace ringleader::proxy::memcached {

// How complete() builds the client's reply (PendingRequest::merge.kind).
enum class MergeKind : uint8_t {
  kPass = 0,          // the single fragment's reply, byte for byte
  kSilent,            // noreply: nothing for the client, whatever the backends said
  kValuesInKeyOrder,  // get/gets/gat/gats split: hits in the client's key order, then END
  kAllOk,             // flush_all: OK only if every backend said OK
  kFixed,             // merge.note, whatever the backends said (a refused set's unlink)
  kFirstAnswers,      // cas with replicas: fragment 0 (the primary) answers; the others
                      // drop the key's copy on the other replicas, whatever they said
};
// A kValuesInKeyOrder slot that stands for a miss no backend was asked about (a key a gat
// asked again after expiring it).
inline constexpr std::pair<uint32_t, uint32_t> kMissSlot{UINT32_MAX, 0};
// Meta commands in quiet mode (flag q) are forwarded without it, so that every backend
// request has a reply; the proxy then drops the replies the client asked not to hear
// (merge.note holds their return codes, e.g. "EN" for mg). Errors always reach the client.

class MemcachedSession final : public Session {
 public:
  explicit MemcachedSession(const SessionEnv& env);

  NextStatus next(std::string_view input, const ring::RingSnapshot& ring, PendingRequest& req,
                  size_t* consumed) override;
  void complete(PendingRequest& req) override;
  void release_idle_memory() override { parser_.release_memory(); }

 private:
  using Tokens = std::span<const std::string_view>;

  void plan(const CommandSpec& spec, Tokens t, std::string_view raw, PendingRequest& req);
  void plan_storage(const CommandSpec& spec, Tokens t, std::string_view raw, PendingRequest& req);
  void plan_retrieval(Tokens t, size_t first_key, std::string_view raw, PendingRequest& req);
  // delete / incr / decr / touch: `args` words after the key, then an optional noreply.
  void plan_keyed(Tokens t, size_t args, std::string_view raw, PendingRequest& req);
  void plan_flush_all(Tokens t, PendingRequest& req);
  // mg ms md ma me: one key, forwarded with its flags; see plan_meta in the .cc.
  void plan_meta(Tokens t, std::string_view raw, PendingRequest& req);
  void answer_stats(Tokens t, PendingRequest& req);
  void refuse_oversized(Tokens t, PendingRequest& req);

  // Sends `payload` (the request, as the backend is to see it) to the owner of `key`.
  // One fragment for `key`'s replica set, read or written as `access` says; refuses the
  // request when no backend can hold the key.
  void forward(std::string_view key, std::string_view payload, Access access, PendingRequest& req);
  // cas with replicas: applied on the primary only (a cas unique belongs to one server); once
  // the primary's reply starts with `stored` the other replicas get `drop` (a delete of the
  // key), so that none serves the value the cas replaced.
  // gat/gats of one key move the TTL of the copy they read; once it hit, the key's other
  // replicas are touched with the same exptime, so the copies expire together.
  void touch_other_copies(std::string_view key, std::string_view exptime, PendingRequest& req);
  // Adds `payload` for each of `replicas` but the first, sent once fragment 0 (the primary's)
  // has a reply starting with `primary_reply`.
  void follow_primary(const ring::ReplicaSet& replicas, std::string_view payload,
                      std::string_view primary_reply, PendingRequest& req);
  void forward_cas(std::string_view key, std::string_view payload, std::string_view stored,
                   std::string_view drop, PendingRequest& req);
  void merge(PendingRequest& req);  // the reply before quiet mode drops it
  void merge_values(PendingRequest& req);

  const SessionEnv& env_;
  RequestParser parser_;
  size_t discard_ = 0;    // bytes of a refused data block still to drop
  bool noreply_ = false;  // the request being planned asked for no reply
};

}  // namespace ringleader::proxy::memcached
