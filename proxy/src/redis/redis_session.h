// RedisSession: one Redis client. Parses its requests, applies the command table's routing
// rules (single key, split, keys-together, scripts, whole-keyspace fan-out, local answers,
// refusals), and merges backend replies into the reply the client expects.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/protocol.h"
#include "proxy/redis/command_table.h"
#include "proxy/redis/conditional_write.h"
#include "proxy/redis/request_parser.h"
#include "scan_order.h"

namespace ringleader::proxy::redis {

// How complete() builds the client's reply (PendingRequest::merge.kind).
enum class MergeKind : uint8_t {
  kPass = 0,         // the single fragment's reply, byte for byte
  kArrayInKeyOrder,  // MGET: elements reassembled in the client's key order
  kIntegerSum,       // DEL UNLINK EXISTS TOUCH DBSIZE: sum of integer replies
  kAllOk,            // MSET FLUSHDB FLUSHALL: +OK only if every part answered +OK
  kInfo,             // INFO: the proxy's sections plus the backends' summed (info_reply.h)
  kScan,             // SCAN: cursor re-encoded with the backend, keys filtered to primaries
  kKeysConcat,       // KEYS: concatenation, keys filtered to primaries
  kAllEqual,         // SCRIPT LOAD, FUNCTION LOAD: the common reply when all are equal
  kArrayAnd,         // SCRIPT EXISTS: element-wise, 1 only where every backend said 1
  kFirstAnswers,     // a conditional write: the primary's reply; its follow-ups only replicate
};

class RedisSession final : public Session {
 public:
  explicit RedisSession(const SessionEnv& env);

  NextStatus next(std::string_view input, const ring::RingSnapshot& ring, PendingRequest& req,
                  size_t* consumed) override;
  void complete(PendingRequest& req) override;
  void release_idle_memory() override { parser_.release_memory(); }

  // SCAN cursors carry the backend's position (ScanOrder) in their low kScanPositionBits
  // bits, and the backend's own cursor in the other 40 (a Redis cursor stays below its hash
  // table's size).
  static constexpr unsigned kScanPositionBits = ScanOrder::kPositionBits;

 private:
  using Args = std::span<const std::string_view>;

  // Plans a parsed request. `raw` is the request as received (forwarded as is when one
  // backend takes the whole of it and it was sent in multibulk form).
  void plan(Args args, std::string_view raw, PendingRequest& req);
  // Sets req.command and req.latency_class for statistics.
  void classify(Args args, const CommandSpec& spec, PendingRequest& req);
  void plan_single(const CommandSpec& spec, Args args, std::string_view raw, size_t key_index,
                   PendingRequest& req);
  // With replicas: the primary alone decides `args` (a conditional write); the other replicas
  // get `follow_up` only once the primary's reply starts with `applied`.
  void plan_conditional(Args args, std::string_view raw, const ring::ReplicaSet& replicas,
                        std::string_view applied, Args follow_up, PendingRequest& req);
  // SPOP (see derived_write): run by the primary, its effect copied to the other replicas.
  void plan_derived(Args args, std::string_view raw, const ring::ReplicaSet& replicas,
                    const DerivedWrite& w, PendingRequest& req);
  void plan_split(const CommandSpec& spec, Args args, std::string_view raw, PendingRequest& req);
  void plan_together(const CommandSpec& spec, Args args, std::string_view raw, PendingRequest& req);
  void plan_fanout(const CommandSpec& spec, Args args, PendingRequest& req);
  void plan_scan(Args args, PendingRequest& req);
  void answer_local(const CommandSpec& spec, Args args, PendingRequest& req);
  // Between MULTI and EXEC, DISCARD or RESET: answers a request without running it (true),
  // or leaves QUIT and RESET to the usual handling (false).
  bool answer_in_transaction(Args args, PendingRequest& req);
  // CLIENT REPLY, which ringleader does not serve: ON is OK (every client's state), OFF and
  // SKIP close the connection after the error, other forms get Redis's errors.
  void plan_client_reply(const CommandSpec& spec, Args args, PendingRequest& req);
  // CLIENT SETINFO LIB-NAME|LIB-VER value, and the line CLIENT INFO answers.
  void client_setinfo(std::string_view attribute, std::string_view value, std::string& out);
  std::string client_info_line(Args args) const;

  void reply_error(PendingRequest& req, std::string_view message);
  // Appends a fragment for `backend` carrying `args` re-encoded (or `raw` when not empty).
  uint32_t add_fragment(PendingRequest& req, ring::BackendIndex backend, Args args,
                        std::string_view raw = {});
  // The same for keys held by `replicas` (primary first), read or written as `access` says.
  uint32_t add_keyed_fragment(PendingRequest& req, const ring::ReplicaSet& replicas, Access access,
                              Args args, std::string_view raw = {});
  // kRead for read-only commands, kWrite for every other command that names keys.
  static Access access_of(const CommandSpec& spec);

  // INFO: the proxy's sections, plus what the backends that answered said (info_reply.h).
  void merge_info(PendingRequest& req);
  void merge_scan(PendingRequest& req);
  void merge_keys(PendingRequest& req);

  // Until a client with proxy.requirepass set has authenticated, its requests are held to
  // what AUTH and HELLO need (10 arguments, 64 KiB), as Redis holds them (10 arguments,
  // 16 KiB each): nobody without the password makes the proxy buffer max_request_bytes.
  static constexpr ParseLimits kLimitsBeforeAuth{64 * 1024, 10, 16 * 1024, "the limit before AUTH",
                                                 "the limit before AUTH"};
  ParseLimits limits_after_auth() const;
  void set_authenticated();

  const SessionEnv& env_;
  RequestParser parser_;
  bool authenticated_;
  // Transactions are not supported, and what a client means to run as one must not run in
  // part. MULTI opens one as Redis does (+OK), and every command until EXEC or DISCARD is
  // refused as a command Redis cannot queue is (-ERR); EXEC then answers EXECABORT, and a
  // client, whatever it does with the errors, is never left inside a transaction the proxy
  // forgot, nor runs the rest of one after an error (as when MULTI was refused and the
  // connection closed: redis-cli reconnected and ran the commands after the one that failed).
  bool in_transaction_ = false;
  uint32_t refused_in_transaction_ = 0;
  std::string client_name_;
  std::string lib_name_;  // CLIENT SETINFO
  std::string lib_ver_;
  uint64_t client_id_;
};

}  // namespace ringleader::proxy::redis
