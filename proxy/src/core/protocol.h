// The protocol boundary. Workers, connections and backend pools move bytes and requests;
// everything that knows a wire protocol (parsing, command rules, merging, local answers)
// sits behind these interfaces, implemented once for Redis and once for memcached.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "pending_request.h"
#include "ring/ring.h"

namespace ringleader::proxy {

struct ProxyCounters;

// What a session may read about the proxy around it. Lives as long as the worker.
struct SessionEnv {
  const config::Config* config = nullptr;
  const ProxyCounters* counters = nullptr;  // process-wide totals, read for INFO
  uint64_t start_time_ns = 0;
  uint32_t worker_id = 0;
};

enum class NextStatus : uint8_t {
  kRequest,    // one request consumed and planned into the PendingRequest
  kNeedMore,   // no complete request yet; nothing consumed
  kFatal,      // the stream cannot continue: the request holds the error reply, close after it
  kDiscarded,  // *consumed bytes (at least one) were dropped unread, e.g. the rest of a refused
               // memcached data block; no request: call again for the next one
};

// A client connection's buffers, in bytes unless said otherwise.
struct ClientBuffers {
  size_t input = 0;           // read and not yet parsed (the request being answered included)
  size_t input_capacity = 0;  // the input buffer's size
  size_t input_free = 0;      // room left after the input, before the buffer must move or grow
  size_t output = 0;          // small replies joined, waiting to be written
  size_t output_chunks = 0;   // big replies queued whole (a count)
  size_t output_waiting = 0;  // every reply byte not yet written, held ones included
  size_t memory = 0;          // input and output storage together
};

// What a session may ask about its client's connection (Redis CLIENT INFO), read from the
// socket and buffers on demand. The connection outlives its session.
class ClientEndpoint {
 public:
  // "127.0.0.1:50312", read on first use and kept (a reset later does not lose it); "" when
  // it could not be read.
  virtual std::string peer_address() const = 0;
  virtual std::string local_address() const = 0;  // the listener's side, likewise
  virtual int fd() const = 0;                     // -1 once closed
  virtual uint64_t connected_ns() const = 0;      // loop_now_ns() when it was accepted
  virtual ClientBuffers buffers() const = 0;

 protected:
  ~ClientEndpoint() = default;
};

// The protocol side of one client connection (owned by it; single-threaded).
class Session {
 public:
  virtual ~Session() = default;

  // The connection this session serves; set once, before the first next().
  void attach(const ClientEndpoint& endpoint) { endpoint_ = &endpoint; }

  // Parses the request at the start of `input` and plans it into `req`: either a local
  // answer (req.complete with req.reply set) or fragments to send (req.fragments, each with
  // a backend index into `ring`, which is also stored in req.ring). *consumed is the number
  // of input bytes the request took (also for kFatal, where it may be 0).
  virtual NextStatus next(std::string_view input, const ring::RingSnapshot& ring,
                          PendingRequest& req, size_t* consumed) = 0;

  // Called once every fragment of `req` is kDone or kFailed: sets req.reply.
  virtual void complete(PendingRequest& req) = 0;

  // The client has gone quiet with no request partly received: give back what is kept
  // between requests (parser buffers). The next request allocates anew.
  virtual void release_idle_memory() {}

 protected:
  const ClientEndpoint* endpoint_ = nullptr;  // null until attached (unit tests may not)
};

// The protocol side of one backend connection: frames replies, checks the handshake.
class ReplyFramer {
 public:
  virtual ~ReplyFramer() = default;
  enum class Status : uint8_t { kComplete, kNeedMore, kError };
  // Same contract as the request parser: input starts at the reply's first byte; bytes shown
  // before are unchanged (the buffer may move); resumable. kComplete sets *length.
  virtual Status scan(std::string_view input, size_t* length, std::string* error) = 0;
  virtual void reset() = 0;
  // Discarding a reply as it streams in (larger than backend.max_reply_bytes): how many
  // leading bytes the scan no longer needs, and that the caller removed n <= settled() of them.
  virtual size_t settled() const = 0;
  virtual void drop(size_t n) = 0;
  // While kNeedMore: a lower bound on the whole reply's length, from the bytes scanned and the
  // length the bulk or data block being read declares. A reply declared over the limit is
  // refused as soon as its header arrives, before the limit's worth of it is buffered.
  virtual size_t known_length() const = 0;
};

// A ReplyFramer over a codec's reply scanner. Scanner: scan(input) returning an enum with
// kComplete, kNeedMore and kError; length(); error(); reset(); settled(); drop(); known_length() —
// the contract both codecs' ReplyScanners keep.
template <class Scanner>
class ScannerFramer final : public ReplyFramer {
 public:
  Status scan(std::string_view input, size_t* length, std::string* error) override {
    using Result = decltype(scanner_.scan(input));
    const Result result = scanner_.scan(input);
    if (result == Result::kComplete) {
      *length = scanner_.length();
      return Status::kComplete;
    }
    if (result == Result::kNeedMore) return Status::kNeedMore;
    *error = scanner_.error();
    return Status::kError;
  }
  void reset() override { scanner_.reset(); }
  size_t settled() const override { return scanner_.settled(); }
  void drop(size_t n) override { scanner_.drop(n); }
  size_t known_length() const override { return scanner_.known_length(); }

 private:
  Scanner scanner_;
};

class Protocol {
 public:
  virtual ~Protocol() = default;
  virtual std::unique_ptr<Session> new_session(const SessionEnv& env) = 0;
  virtual std::unique_ptr<ReplyFramer> new_framer() = 0;
  // Bytes sent first on every new backend connection (e.g. AUTH), and whether the reply to
  // them (one framed reply per handshake request) accepts the connection. Empty: none.
  virtual std::string handshake(const config::BackendPoolConfig& backend) = 0;
  virtual size_t handshake_replies(const config::BackendPoolConfig& backend) = 0;
  virtual bool handshake_accepted(std::string_view reply) = 0;
  // Whether a reply to a forwarded request says the connection cannot serve any request (a
  // Redis that asks for a password the pool does not send), with *why. The connection then
  // fails as a refused handshake would; other error replies are answers like any other.
  // Asked only until a connection's first reply after its handshake that answers a command
  // whose errors are not the client's own text (see any_error_is_an_answer): a later reply
  // is an answer, whatever it says.
  virtual bool refuses_connection(std::string_view reply, std::string* why) = 0;
  // Whether `reply`, framed as the answer to the request whose bytes are `payload`, cannot be
  // its answer (a retrieval's item for a key it did not ask for: the backend left out an end
  // marker, and the framer took the next request's reply in), with *why. The connection's
  // replies are then out of step with its requests, and it fails.
  virtual bool misanswers(std::string_view payload, std::string_view reply, std::string* why) {
    (void)payload;
    (void)reply;
    (void)why;
    return false;
  }
  // Whether `command` (an index as for command_name) can answer with any error text the
  // client chose (a Redis script's error_reply): its reply never says the connection is
  // refused.
  virtual bool any_error_is_an_answer(uint16_t command) {
    (void)command;
    return false;
  }
  // Whether an error reply says the server did not run the command at all (out of memory, a
  // read-only or loading server, ...), as opposed to an answer of the command itself (a wrong
  // type, a failed condition). A copy of a write answered so is no acknowledgement.
  virtual bool is_refusal(std::string_view reply) = 0;
  // An error reply in this protocol, for errors raised outside a session (e.g. too many clients);
  // `message` carries no protocol prefix (the protocol adds "ERR ", "SERVER_ERROR ", ...).
  virtual std::string error_reply(std::string_view message) = 0;
  // Whether a complete reply is an error reply.
  virtual bool is_error_reply(std::string_view reply) = 0;
  // Whether a complete reply to a read says that nothing is there (a nil; an empty get),
  // for replication.miss_failover.
  virtual bool is_miss_reply(std::string_view reply) = 0;
  // Completes a follow-up with Fragment::derive set from `decided`, the complete reply of the
  // fragment it waited for. False when that reply leaves nothing to copy: the follow-up is
  // then not sent.
  virtual bool complete_follow_up(Fragment& follow_up, std::string_view decided) {
    (void)decided;
    return follow_up.derive == 0;
  }
  // The protocol's command names, for statistics: index 0 is "unknown".
  virtual size_t command_count() = 0;
  virtual std::string_view command_name(size_t index) = 0;
};

}  // namespace ringleader::proxy
