#include "memcached_session.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <unordered_map>

#include "base64.h"
#include "common/version.h"
#include "core/counters.h"
#include "core/text.h"
#include "core/uv_util.h"
#include "decimal.h"
#include "proxy/memcached/ms_flags.h"

namespace ringleader::proxy::memcached {
namespace {

void answer(PendingRequest& req, std::string_view line) {
  req.reply.assign(line);
  req.reply += "\r\n";
  req.complete = true;
}

// The words [0, count) joined by single spaces and ended by "\r\n", then the data block.
std::string encode(std::span<const std::string_view> t, size_t count, bool has_data,
                   std::string_view data) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ' ';
    out += t[i];
  }
  out += "\r\n";
  if (has_data) {
    out += data;
    out += "\r\n";
  }
  return out;
}

// Keys: memcached's only rule for the text protocol is length (1..250 bytes; words are never
// empty). Control bytes other than NUL are accepted as memcached accepts them; a NUL would end
// the line early for memcached (it reads it as a C string), so no line with one is forwarded.

// Numbers as memcached reads them: decimal, an optional sign ('-' only where negatives are
// allowed), no overflow, within a word as number_part() finds them.
bool parse_exptime(std::string_view s, int64_t* out = nullptr) {
  s = number_part(s);
  int64_t v = 0;
  const bool ok =
      !s.empty() && s[0] == '+' ? parse_i64(s.substr(1), &v) && s[1] != '-' : parse_i64(s, &v);
  if (ok && out) *out = v;
  return ok;
}

// Whether a touch to `exptime` expires the item at once, as memcached reads it: a negative
// time, or one past 30 days (an absolute Unix time) that is not after now. A gat or gats that
// asks for the key again then finds nothing there. memcached keeps the low 32 bits of what
// it read as a long (4294967295 is -1, -2147483649 is 2147483647).
bool touch_expires_at_once(std::string_view exptime) {
  constexpr int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;
  int64_t read = 0;
  if (!parse_exptime(exptime, &read)) return false;
  const int64_t v = static_cast<int32_t>(static_cast<uint32_t>(read));
  return v < 0 || (v > kMaxRelativeExptime && v <= static_cast<int64_t>(std::time(nullptr)));
}

// memcached reads unsigned numbers with strtoul / strtoull, which negate a number after '-'
// modulo 2^64, and refuses a '-' only when the result is negative as a signed number: "-0" is
// 0, and "-18446744073709551615" is 1 to it, while "-1" is refused.
bool parse_unsigned(std::string_view s, uint64_t* out) {
  s = number_part(s);
  if (s.size() > 1 && s[0] == '-' && s[1] != '+' && s[1] != '-') {
    uint64_t magnitude = 0;
    if (!parse_u64(s.substr(1), &magnitude)) return false;
    const uint64_t wrapped = uint64_t{0} - magnitude;
    if (static_cast<int64_t>(wrapped) < 0) return false;
    *out = wrapped;
    return true;
  }
  return parse_u64(without_plus(s), out);
}

constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format";

// memcached closes a connection that sends more than 2048 bytes without a newline, except for
// get and gets lines: every other line the proxy writes stays under this (a line that cannot
// is refused: bad command line format).
constexpr size_t kMaxBackendLine = 2000;
// memcached 1.6.18 refuses meta lines of 20 words or more ("options flags too long").
constexpr size_t kMaxMetaWords = 19;

// What version and stats report: the memcached protocol version the proxy speaks, which
// clients such as libmemcached parse as major.minor.micro, then the proxy's own.
std::string version_string() {
  return std::string("1.6.0-ringleader-") + kVersion;
}

// An error for the client, or nothing when it asked for no reply (as memcached does).
void refuse(PendingRequest& req, bool noreply, std::string_view line) {
  if (noreply) {
    req.complete = true;
  } else {
    answer(req, line);
  }
}

// Whether the request asks for no reply. As memcached does, only a request with a word count
// its command accepts has a noreply: "delete noreply" deletes the key "noreply", and "incr
// noreply" is an error that is answered.
bool noreply_requested(CommandKind kind, std::span<const std::string_view> t) {
  // As memcached decides: the last word is "noreply" and the line has a word count the
  // command accepts, even when "noreply" then stands where an argument should (the error
  // that follows is silent too: "incr k noreply").
  const bool last = t.size() > 1 && t.back() == "noreply";
  switch (kind) {
    case CommandKind::kStorage:
      return last && t.size() == 6;
    case CommandKind::kCas:
      return last && (t.size() == 6 || t.size() == 7);
    case CommandKind::kDelete:  // "delete k 10 noreply" is an error, and a silent one
      return last && (t.size() == 3 || t.size() == 4);
    case CommandKind::kArithmetic:
    case CommandKind::kTouch:
      return last && (t.size() == 3 || t.size() == 4);
    case CommandKind::kFlushAll:
    case CommandKind::kVerbosity:
      return last && t.size() <= 3;
    default:
      return false;
  }
}

// The length of the words joined by single spaces: the line as the proxy would write it.
size_t canonical_length(std::span<const std::string_view> t) {
  size_t n = t.empty() ? 0 : t.size() - 1;
  for (std::string_view w : t)
    n += w.size();
  return n;
}

// Whether the words, joined by single spaces, make a line memcached reads: a longer one
// resets the connection, failing every client's requests on it and counting toward the
// backend's ejection.
bool fits_backend_line(std::span<const std::string_view> t) {
  return canonical_length(t) + 2 <= kMaxBackendLine;
}

// A storage line of `words` words (5: set, add, ...; 6: cas) with one more ignored, whose
// flags, exptime and cas unique read as numbers memcached takes (flags of 2^32 or more too:
// memcached keeps their low 32 bits).
bool storage_line_ok(std::span<const std::string_view> t, size_t words) {
  uint64_t number = 0;
  return t.size() >= words && t.size() <= words + 1 && parse_unsigned(t[2], &number) &&
         parse_exptime(t[3]) && (words != 6 || parse_unsigned(t[5], &number));
}

}  // namespace

MemcachedSession::MemcachedSession(const SessionEnv& env)
    : env_(env),
      parser_(ParseLimits{env.config->proxy.max_request_bytes, ParseLimits{}.max_tokens}) {}

NextStatus MemcachedSession::next(std::string_view input, const ring::RingSnapshot& ring,
                                  PendingRequest& req, size_t* consumed) {
  if (discard_ > 0) {
    // The rest of a refused data block, dropped as it arrives without being held.
    const size_t n = std::min(discard_, input.size());
    if (n == 0) return NextStatus::kNeedMore;
    discard_ -= n;
    *consumed = n;
    return NextStatus::kDiscarded;
  }
  switch (parser_.parse(input)) {
    case ParseStatus::kNeedMore:
      return NextStatus::kNeedMore;
    case ParseStatus::kError: {
      // The connection closes after the error line; a storage line that asked for noreply
      // closes it without one (memcached stays silent there too), so the line cannot be
      // taken for the answer to a later request.
      Tokens t = parser_.tokens();
      const CommandSpec* spec = t.empty() ? nullptr : find_command(t[0]);
      if (spec != nullptr && noreply_requested(spec->kind, t)) {
        req.reply.clear();
      } else {
        req.reply = parser_.error();
      }
      *consumed = 0;
      parser_.reset();
      return NextStatus::kFatal;
    }
    case ParseStatus::kComplete:
      break;
  }
  *consumed = parser_.consumed();
  req.ring = ring;
  Tokens t = parser_.tokens();
  const CommandSpec* spec = t.empty() ? nullptr : find_command(t[0]);
  if (spec == nullptr) {
    req.latency_class = static_cast<uint8_t>(LatencyClass::kLocal);
    // A NUL byte ends a line for memcached ("mn\0" runs mn): such a line is refused, as with
    // a known command, not taken for an unknown one.
    const bool nul = std::memchr(input.data(), '\0', parser_.line_size()) != nullptr;
    answer(req, nul ? kBadFormat : "ERROR");
  } else {
    req.command = static_cast<uint16_t>(spec - all_commands().data() + 1);
    noreply_ = noreply_requested(spec->kind, t);
    // A refused data block is dropped whatever the line's fate: the request is the line alone.
    discard_ = parser_.discard();
    if (std::memchr(input.data(), '\0', parser_.line_size()) != nullptr) {
      req.latency_class = static_cast<uint8_t>(LatencyClass::kLocal);
      refuse(req, noreply_, kBadFormat);
    } else if (discard_ > 0) {
      req.latency_class = static_cast<uint8_t>(LatencyClass::kLocal);
      refuse_oversized(t, req);
    } else {
      // Forwarded as received when it already is what the backend must see: one space
      // between words and "\r\n" (padding could push a line past memcached's limit).
      const bool as_received = parser_.crlf() && parser_.line_size() == canonical_length(t);
      plan(*spec, t, as_received ? input.substr(0, *consumed) : std::string_view(), req);
    }
  }
  parser_.reset();
  return NextStatus::kRequest;
}

void MemcachedSession::plan(const CommandSpec& spec, Tokens t, std::string_view raw,
                            PendingRequest& req) {
  LatencyClass c = LatencyClass::kWrite;
  switch (spec.kind) {
    case CommandKind::kStorage:
    case CommandKind::kCas:
      req.latency_class = static_cast<uint8_t>(c);
      plan_storage(spec, t, raw, req);
      return;
    case CommandKind::kRetrieval:
    case CommandKind::kRetrievalTouch: {
      size_t first_key = spec.kind == CommandKind::kRetrieval ? 1 : 2;
      c = t.size() > first_key + 1 ? LatencyClass::kMultiKey : LatencyClass::kRead;
      req.latency_class = static_cast<uint8_t>(c);
      plan_retrieval(t, first_key, raw, req);
      return;
    }
    case CommandKind::kDelete:
    case CommandKind::kArithmetic:
    case CommandKind::kTouch:
      req.latency_class = static_cast<uint8_t>(c);
      plan_keyed(t, spec.kind == CommandKind::kDelete ? 0 : 1, raw, req);
      return;
    case CommandKind::kFlushAll:
      req.latency_class = static_cast<uint8_t>(LatencyClass::kWholeKeyspace);
      plan_flush_all(t, req);
      return;
    case CommandKind::kMeta:
      req.latency_class = static_cast<uint8_t>(t[0] == "mg" || t[0] == "me" ? LatencyClass::kRead
                                                                            : LatencyClass::kWrite);
      plan_meta(t, raw, req);
      return;
    default:
      break;
  }
  req.latency_class = static_cast<uint8_t>(LatencyClass::kLocal);
  switch (spec.kind) {
    case CommandKind::kVersion:
      answer(req, "VERSION " + version_string());
      return;
    case CommandKind::kVerbosity: {
      // verbosity <level> [noreply], as memcached answers it; the backends keep their own
      // level and the proxy logs by its [log] table.
      if (t.size() < 2 || t.size() > 3) {
        answer(req, "ERROR");
      } else if (noreply_) {
        req.complete = true;
      } else {
        uint64_t level = 0;
        answer(req, parse_unsigned(t[1], &level) ? "OK" : kBadFormat);
      }
      return;
    }
    case CommandKind::kStats:
      answer_stats(t, req);
      return;
    case CommandKind::kMetaNoop:
      // Every request before it is answered before it: replies leave in request order.
      answer(req, "MN");
      return;
    case CommandKind::kQuit:
      req.complete = true;
      req.close_after = true;
      return;
    case CommandKind::kUnsupported:
      answer(req, "CLIENT_ERROR ringleader does not support '" + std::string(spec.name) +
                      "': " + std::string(spec.reason));
      return;
    default:
      answer(req, "SERVER_ERROR ringleader: unhandled command");
      return;
  }
}

void MemcachedSession::answer_stats(Tokens t, PendingRequest& req) {
  static constexpr std::string_view kPerServer[] = {
      "slabs", "items", "sizes", "conns", "settings", "detail", "reset", "extstore", "cachedump"};
  if (t.size() > 1) {
    for (std::string_view sub : kPerServer) {
      if (t[1] == sub) {
        answer(req, "CLIENT_ERROR ringleader does not support 'stats " + std::string(sub) +
                        "': it describes one memcached server; ask the server directly");
        return;
      }
    }
    answer(req, "ERROR");  // memcached's answer to an unknown stats group (or noreply)
    return;
  }
  // The proxy's own figures under memcached's names where one fits.
  const CounterTotals c = env_.counters->totals();
  const uint64_t uptime_s = (monotonic_ns() - env_.start_time_ns) / 1000000000;
  std::string& out = req.reply;
  auto stat = [&out](std::string_view name, const std::string& value) {
    out += "STAT ";
    out += name;
    out += ' ';
    out += value;
    out += "\r\n";
  };
  stat("pid", std::to_string(::getpid()));
  stat("uptime", std::to_string(uptime_s));
  stat("time", std::to_string(std::time(nullptr)));
  stat("version", version_string());
  stat("threads", std::to_string(env_.counters->workers.size()));
  stat("curr_connections", std::to_string(c.client_connections));
  stat("total_connections", std::to_string(c.clients_accepted));
  stat("rejected_connections", std::to_string(c.clients_rejected));
  stat("cmd_total", std::to_string(c.requests));
  stat("bytes_read", std::to_string(c.bytes_from_clients));
  stat("bytes_written", std::to_string(c.bytes_to_clients));
  stat("backend_requests", std::to_string(c.fragments_sent));
  stat("backend_failures", std::to_string(c.fragments_failed));
  stat("backend_timeouts", std::to_string(c.backend_timeouts));
  stat("read_failovers", std::to_string(c.read_failovers));
  stat("replica_write_failures", std::to_string(c.replica_write_failures));
  stat("ring_epoch", std::to_string(req.ring->epoch()));
  stat("ring_backends", std::to_string(req.ring->backends().size()));
  out += "END\r\n";
  req.complete = true;
}

void MemcachedSession::refuse_oversized(Tokens t, PendingRequest& req) {
  // memcached's answer; the block is skipped as it arrives, and the connection goes on. A
  // refused set also unlinks the key in memcached, so that the old value is not served as if
  // the set had not happened: the proxy sends that delete to the key's owner.
  // ms does as set (its key may be in base64: flag b).
  const std::string_view line = "SERVER_ERROR object too large for cache";
  const bool meta = t[0] == "ms";
  if (t.size() >= 2 && t[1].size() > kMaxKeyBytes) {
    refuse(req, noreply_, kBadFormat);  // memcached looks at the key before the size
    return;
  }
  if ((t[0] != "set" && !meta) || t.size() < 2) {
    refuse(req, noreply_, line);
    return;
  }
  // A meta line memcached would refuse whole (see plan_meta) unlinks nothing either.
  if (meta && t.size() > kMaxMetaWords) {
    refuse(req, false, "CLIENT_ERROR options flags too long");
    return;
  }
  if (meta && canonical_length(t) + 2 > kMaxBackendLine) {
    refuse(req, false, kBadFormat);
    return;
  }
  // memcached reads the line before it sizes the item: a malformed one is refused as such,
  // and unlinks nothing.
  if (!meta && (t.size() < 5 || t.size() > 6)) {
    refuse(req, false, "ERROR");  // a word count set does not take: an unknown command
    return;
  }
  if (!meta && !storage_line_ok(t, 5)) {
    refuse(req, noreply_, kBadFormat);
    return;
  }
  if (const std::string_view error = meta ? ms_flags_error(t) : std::string_view();
      !error.empty()) {
    refuse(req, noreply_, error);
    return;
  }
  bool base64 = false;
  for (size_t i = 3; meta && i < t.size(); ++i)
    base64 = base64 || t[i][0] == 'b';
  std::string decoded;
  if (base64) decode_base64(t[1], &decoded);  // ms_flags_error() refused a key that fails
  req.merge.kind = static_cast<uint8_t>(noreply_ ? MergeKind::kSilent : MergeKind::kFixed);
  req.merge.note.assign(line);
  req.merge.note += "\r\n";
  std::string payload = meta ? "md " : "delete ";
  payload += t[1];
  payload += base64 ? " b\r\n" : "\r\n";
  forward(base64 ? std::string_view(decoded) : t[1], payload, Access::kWrite, req);
  if (req.complete && !noreply_) answer(req, line);  // no backend for the key: nothing to unlink
}

void MemcachedSession::forward(std::string_view key, std::string_view payload, Access access,
                               PendingRequest& req) {
  const ring::Ring& ring = *req.ring;
  const uint64_t hash = ring.hash(key);
  const bool read = access == Access::kRead || access == Access::kReadPrimary;
  ring::ReplicaSet replicas;
  if (read) {
    if (const ring::BackendIndex primary = ring.primary(hash); primary != ring::kNoBackend) {
      replicas.push_back(primary);
    }
  } else {
    replicas = ring.replicas(hash);
  }
  if (replicas.empty()) {
    refuse(req, static_cast<MergeKind>(req.merge.kind) == MergeKind::kSilent,
           "SERVER_ERROR ringleader: no backend available for this key");
    return;
  }
  Fragment& f = req.add_fragment();
  if (read) {
    f.target_read(replicas.primary(), hash, access);
  } else {
    f.target(replicas, access);
  }
  f.payload.assign(payload);
}

void MemcachedSession::touch_other_copies(std::string_view key, std::string_view exptime,
                                          PendingRequest& req) {
  const ring::Ring& ring = *req.ring;
  const ring::ReplicaSet replicas = ring.replicas(ring.hash(key));
  if (replicas.size() <= 1) return;
  req.merge.kind = static_cast<uint8_t>(MergeKind::kFirstAnswers);
  const std::string touch = "touch " + std::string(key) + " " + std::string(exptime) + "\r\n";
  // Only once the read hit: a miss leaves every copy as it was.
  follow_primary(replicas, touch, "VALUE ", req);
}

void MemcachedSession::follow_primary(const ring::ReplicaSet& replicas, std::string_view payload,
                                      std::string_view primary_reply, PendingRequest& req) {
  for (uint32_t r = 1; r < replicas.size(); ++r) {
    Fragment& f = req.add_fragment();
    f.backend = replicas[r];
    f.payload.assign(payload);
    f.after = 0;
    f.after_reply.assign(primary_reply);
  }
}

void MemcachedSession::forward_cas(std::string_view key, std::string_view payload,
                                   std::string_view stored, std::string_view drop,
                                   PendingRequest& req) {
  forward(key, payload, Access::kDirect, req);
  if (req.complete) return;
  const ring::ReplicaSet replicas = req.fragments[0].replicas;
  if (replicas.size() <= 1) return;
  if (static_cast<MergeKind>(req.merge.kind) != MergeKind::kSilent) {
    req.merge.kind = static_cast<uint8_t>(MergeKind::kFirstAnswers);
  }
  // Only once the primary stored it: a cas refused (EXISTS, NOT_FOUND) or unanswered leaves
  // every copy as it was.
  follow_primary(replicas, drop, stored, req);
}

void MemcachedSession::plan_storage(const CommandSpec& spec, Tokens t, std::string_view raw,
                                    PendingRequest& req) {
  // The parser has checked <bytes> and read the data block. memcached ignores one word after
  // the arguments that is not "noreply" ("set k 0 0 1 x" stores k).
  const size_t words = spec.kind == CommandKind::kCas ? 6 : 5;
  const bool noreply = noreply_;
  // A word count the command does not take is an unknown command to memcached (ERROR, noreply
  // or not), which then runs the data block as a command too; the proxy drops the block.
  if (t.size() < words || t.size() > words + 1) {
    answer(req, "ERROR");
    return;
  }
  if (!storage_line_ok(t, words)) {
    refuse(req, noreply, kBadFormat);
    return;
  }
  if (t[1].size() > kMaxKeyBytes) {
    refuse(req, noreply, kBadFormat);  // memcached's answer to a key over 250 bytes
    return;
  }
  if (!fits_backend_line(t.first(words))) {
    refuse(req, noreply, kBadFormat);
    return;
  }
  if (noreply) req.merge.kind = static_cast<uint8_t>(MergeKind::kSilent);
  // Without the ignored word when that alone makes the line too long.
  const std::string payload = noreply || raw.empty() || !fits_backend_line(t)
                                  ? encode(t, words, true, parser_.data())
                                  : std::string();
  const std::string_view bytes = payload.empty() ? raw : std::string_view(payload);
  if (spec.kind == CommandKind::kCas) {
    forward_cas(t[1], bytes, "STORED\r\n", "delete " + std::string(t[1]) + "\r\n", req);
  } else if ((t[0] == "add" || t[0] == "replace") && req.ring->params().replicas > 1) {
    // Conditional on the key's presence: the primary decides, and once it stored the item
    // the other replicas store it unconditionally, so copies that drifted apart (one lost
    // the item, one kept it) do not decide differently and stay apart.
    std::vector<std::string_view> as_set(t.begin(), t.begin() + static_cast<ptrdiff_t>(words));
    as_set[0] = "set";
    forward_cas(t[1], bytes, "STORED\r\n", encode(as_set, words, true, parser_.data()), req);
  } else {
    forward(t[1], bytes, Access::kWrite, req);
  }
}

void MemcachedSession::plan_keyed(Tokens t, size_t args, std::string_view raw,
                                  PendingRequest& req) {
  // delete <key> [0] [noreply] | incr/decr <key> <delta> [noreply] | touch <key> <exptime>
  // [noreply]
  // A word count memcached does not take for the command (delete: 2-4, the others: 3-4) is
  // an unknown command to it, answered before any noreply is looked at.
  if (t.size() < 2 + args || t.size() > 4) {
    answer(req, "ERROR");
    return;
  }
  size_t words = 2 + args;
  if (args == 0 && t.size() >= 3 && t[2] == "0") words = 3;  // delete's legacy zero time
  const bool noreply = noreply_;
  // Like the storage commands, incr/decr/touch ignore one more word that is not "noreply";
  // delete does not, and says how it is used.
  const bool ignored_word = args == 1 && !noreply && t.size() == words + 1;
  if (t.size() != words + (noreply ? 1 : 0) && !ignored_word) {
    refuse(req, noreply, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
    return;
  }
  if (t[1].size() > kMaxKeyBytes) {
    refuse(req, noreply, kBadFormat);  // memcached's answer to a key over 250 bytes
    return;
  }
  if (!fits_backend_line(t.first(words))) {
    refuse(req, noreply, kBadFormat);
    return;
  }
  if (args == 1) {
    uint64_t delta = 0;
    if (t[0] == "touch" ? !parse_exptime(t[2]) : !parse_unsigned(t[2], &delta)) {
      refuse(req, noreply,
             t[0] == "touch" ? "CLIENT_ERROR invalid exptime argument"
                             : "CLIENT_ERROR invalid numeric delta argument");
      return;
    }
  }
  if (noreply) req.merge.kind = static_cast<uint8_t>(MergeKind::kSilent);
  if (!noreply && !raw.empty() && fits_backend_line(t)) {
    forward(t[1], raw, Access::kWrite, req);
  } else {
    forward(t[1], encode(t, words, false, {}), Access::kWrite, req);
  }
}

void MemcachedSession::plan_retrieval(Tokens t, size_t first_key, std::string_view raw,
                                      PendingRequest& req) {
  // As memcached answers: get and gets without keys are an ERROR; gat and gats with an
  // exptime but no keys find nothing (END).
  if (t.size() < 2) {
    answer(req, "ERROR");
    return;
  }
  if (first_key == 2 && !parse_exptime(t[1])) {
    answer(req, "CLIENT_ERROR invalid exptime argument");
    return;
  }
  if (t.size() == first_key) {
    answer(req, "END");
    return;
  }
  size_t longest_key = 0;
  for (size_t k = first_key; k < t.size(); ++k) {
    if (t[k].size() > kMaxKeyBytes) {
      answer(req, kBadFormat);  // memcached's answer to a key over 250 bytes
      return;
    }
    longest_key = std::max(longest_key, t[k].size());
  }
  // gat and gats parts each repeat the exptime: one with a key must fit memcached's line.
  if (first_key == 2 && canonical_length(t.first(2)) + 1 + longest_key + 2 > kMaxBackendLine) {
    answer(req, kBadFormat);
    return;
  }
  // get may be served by any replica; a cas unique (gets, gats) belongs to the server that
  // gave it, and gat/gats touch the copy they read: those read the primary while it answers.
  const Access access = t[0] == "get" || t[0] == "bget" ? Access::kRead : Access::kReadPrimary;
  if (t.size() == first_key + 1) {
    if (raw.empty()) {
      forward(t[first_key], encode(t, t.size(), false, {}), access, req);
    } else {
      forward(t[first_key], raw, access, req);
    }
    if (first_key == 2 && !req.complete) touch_other_copies(t[first_key], t[1], req);
    return;
  }
  // Each distinct key once, grouped by owner in the client's order. A key asked again is
  // answered from its one copy: a client repeating a key cannot multiply what backends send.
  // Unless the gat or gats expires what it touches: memcached then finds nothing the second
  // time, and the repeats are misses.
  const bool repeats_miss = first_key == 2 && touch_expires_at_once(t[1]);
  const ring::Ring& ring = *req.ring;
  const size_t keys = t.size() - first_key;
  struct Place {
    ring::ReplicaSet owner;  // the key's replica set
    uint32_t index;          // among the set's distinct keys
    bool miss = false;       // a repeat answered as a miss (repeats_miss)
  };
  std::vector<Place> place_of(keys);
  std::map<ring::ReplicaSet, std::vector<std::string_view>> distinct;
  std::unordered_map<std::string_view, uint32_t> first_seen;  // key -> its first position
  first_seen.reserve(keys);
  size_t repeats = 0;
  for (uint32_t k = 0; k < keys; ++k) {
    std::string_view key = t[first_key + k];
    const uint32_t earlier = first_seen.try_emplace(key, k).first->second;
    if (earlier != k) {
      place_of[k] = place_of[earlier];
      place_of[k].miss = repeats_miss;
      ++repeats;
      continue;
    }
    const ring::ReplicaSet owner = ring.replicas(ring.hash(key));
    if (owner.empty()) {
      answer(req,
             "SERVER_ERROR ringleader: no backend available for key '" + printable(key, 64) + "'");
      return;
    }
    auto& list = distinct[owner];
    place_of[k] = Place{owner, static_cast<uint32_t>(list.size())};
    list.push_back(key);
  }
  // memcached reads get and gets lines of any length; bget, gat and gats lines up to 2048
  // bytes (a longer one resets the connection, and with it every client's requests on it).
  const bool long_lines = t[0] == "get" || t[0] == "gets";
  if (distinct.size() == 1 && repeats == 0 && (long_lines || !raw.empty())) {
    // One owner takes the whole request as it is: forward it and pass its reply through.
    const size_t line = raw.empty() ? canonical_length(t) : raw.size();
    if (long_lines || line + 2 <= kMaxBackendLine) {
      Fragment& f = req.add_fragment();
      f.target(distinct.begin()->first, access);
      if (raw.empty()) {
        f.payload = encode(t, t.size(), false, {});
      } else {
        f.payload.assign(raw);
      }
      return;
    }
  }
  req.merge.kind = static_cast<uint8_t>(MergeKind::kValuesInKeyOrder);
  req.merge.aux = first_key;
  // at[owner][i] = (fragment, position in it) of the owner's i-th distinct key; gat and gats
  // parts are cut into several requests to stay under memcached's line limit.
  std::map<ring::ReplicaSet, std::vector<std::pair<uint32_t, uint32_t>>> at;
  for (const auto& [owner, list] : distinct) {
    auto& slots = at[owner];
    slots.reserve(list.size());
    uint32_t fragment = 0, position = 0;
    for (size_t i = 0; i < list.size(); ++i) {
      const bool full =
          i > 0 && !long_lines &&
          req.fragments[fragment].payload.size() + list[i].size() + 2 > kMaxBackendLine;
      if (i == 0 || full) {
        Fragment& f = req.add_fragment();
        f.target(owner, access);
        for (size_t w = 0; w < first_key; ++w) {
          f.payload += t[w];
          f.payload += ' ';
        }
        fragment = static_cast<uint32_t>(req.fragments.size() - 1);
        position = 0;
      }
      Fragment& f = req.fragments[fragment];
      f.payload += list[i];
      f.payload += ' ';
      slots.emplace_back(fragment, position++);
    }
  }
  for (Fragment& f : req.fragments) {
    f.payload.back() = '\r';
    f.payload += '\n';
  }
  req.merge.slots.reserve(keys);
  for (const Place& p : place_of)
    req.merge.slots.push_back(p.miss ? kMissSlot : at[p.owner][p.index]);
}

void MemcachedSession::plan_meta(Tokens t, std::string_view raw, PendingRequest& req) {
  // <cm> <key> <flags>*, ms: <cm> <key> <datalen> <flags>* and a data block (read by the
  // parser). Flags are single characters, some followed by a token ("O123", "T60").
  const std::string_view cm = t[0];
  const size_t first_flag = cm == "ms" ? 3 : 2;
  if (t.size() < 2) {
    answer(req, cm == "me" ? kBadFormat : "ERROR");  // memcached's answers to a missing key
    return;
  }
  if (t[1].size() > kMaxKeyBytes) {
    answer(req, kBadFormat);
    return;
  }
  // memcached refuses a meta line of more than kMaxMetaWords words without reading an ms data
  // block, which it would then run as commands; and it drops a connection that sends over
  // 2048 bytes without a newline. Neither reaches a backend: no real meta line comes close.
  if (t.size() > kMaxMetaWords) {
    // Worded as memcached 1.6.18 words it, which differs between mg and the others.
    answer(req, cm == "mg" ? "CLIENT_ERROR options flags are too long"
                           : "CLIENT_ERROR options flags too long");
    return;
  }
  if (canonical_length(t) + 2 > kMaxBackendLine) {
    answer(req, kBadFormat);
    return;
  }
  bool base64 = false, compare = false, value = false, conditional = false, returns_cas = false;
  int quiet_flags = 0;
  bool primary_read = cm == "me";
  for (size_t i = first_flag; i < t.size(); ++i) {
    switch (t[i][0]) {
      case 'b':
        base64 = cm != "me";  // me: below
        break;
      case 'q':  // memcached reads a flag by its first character: "q1" is q too
        ++quiet_flags;
        break;
      case 'v':
        value = true;
        break;
      case 'C':
        compare = true;  // a cas token: it belongs to one server
        break;
      case 'M':  // ms modes E (add) and R (replace) store only if the key is absent / present
        conditional = cm == "ms" && t[i].size() == 2 && std::strchr("EeRr", t[i][1]) != nullptr;
        break;
      case 'c':  // returns a cas token, which belongs to the server that gave it
        returns_cas = true;
        primary_read = true;
        break;
      case 'N':  // creates the item on a miss: on the server asked, so always the same one
      case 'R':  // recache race: decided on one server
      case 'T':  // updates the TTL of the copy read
        primary_read = true;
        break;
      default:
        break;
    }
  }
  // me reads no flags but one: the key is in base64 when the word after it is "b" exactly
  // (memcached 1.6.18 looks the key up as written otherwise, "bx" or "x b" alike).
  if (cm == "me") base64 = t.size() > 2 && t[2] == "b";
  // The key's bytes decide its place, whether sent as they are or in base64 ('b').
  std::string decoded;
  if (base64 && !decode_base64(t[1], &decoded)) {
    // In memcached's words, which differ by command: md and ma report it as a bad flag.
    answer(req, cm == "mg" || cm == "ms" ? "CLIENT_ERROR error decoding key"
                : cm == "me"             ? "CLIENT_ERROR bad command line format"
                                         : "CLIENT_ERROR invalid or duplicate flag");
    return;
  }
  const std::string_view place = base64 ? std::string_view(decoded) : t[1];
  // The request re-encoded without the flags whose first letter is in `dropped`.
  auto without_flags = [&](std::string_view dropped) {
    std::string out;
    for (size_t i = 0; i < t.size(); ++i) {
      if (i >= first_flag && dropped.find(t[i][0]) != std::string_view::npos) continue;
      if (!out.empty()) out += ' ';
      out += t[i];
    }
    out += "\r\n";
    if (parser_.has_data()) {
      out += parser_.data();
      out += "\r\n";
    }
    return out;
  };
  // Quiet mode is the proxy's to apply: the backend answers every request, so replies stay in
  // step. A repeated q is left in for the backend to refuse, as memcached refuses any
  // repeated flag.
  const bool quiet = quiet_flags == 1 && cm != "me";  // me reads no q: forwarded as received
  const std::string payload = quiet || raw.empty() ? without_flags("q") : std::string();
  const std::string_view bytes = payload.empty() ? raw : std::string_view(payload);
  if (quiet) {
    // What memcached leaves out in quiet mode: a miss for mg, a success for the others.
    req.merge.note = cm == "mg" ? "EN" : cm == "ma" ? "HD VA" : "HD";
  }
  // A replica's copy dropped (built only for the writes that need it: not on a read's path).
  auto drop = [&] {
    std::string md = "md ";
    md += t[1];
    md += base64 ? " b\r\n" : "\r\n";
    return md;
  };
  // An ms the primary decides alone: memcached unlinks the item when it cannot take the new
  // value (SERVER_ERROR object too large, out of memory), whatever the mode, so the other
  // replicas then drop their copy as well.
  auto forward_ms_decided_by_primary = [&](std::string_view applied, std::string_view follow) {
    forward_cas(place, bytes, applied, follow, req);
    if (cm != "ms" || req.complete || req.fragments.size() < 2) return;
    const ring::ReplicaSet replicas = req.fragments[0].replicas;
    follow_primary(replicas, drop(), "SERVER_ERROR", req);
  };
  if (cm == "mg" || cm == "me") {
    forward(place, bytes, primary_read ? Access::kReadPrimary : Access::kRead, req);
  } else if (compare && req.ring->replicas(req.ring->hash(place)).size() > 1) {
    // Applied: HD, or with v on ma (the new number) VA.
    forward_ms_decided_by_primary(cm == "ma" && value ? "VA " : "HD", drop());
  } else if (returns_cas && !conditional && (cm == "ms" || cm == "ma") &&
             req.ring->replicas(req.ring->hash(place)).size() > 1) {
    // The cas token answered must be the primary's, where a later C compares it (a copy
    // acknowledged first, under write = "one", would give another server's): the primary
    // first, then the same change to the others, without c.
    forward_ms_decided_by_primary(cm == "ma" && value ? "VA " : "HD", without_flags("qc"));
  } else if (conditional && req.ring->params().replicas > 1) {
    // As add and replace: the primary decides; once it stored the item, the other replicas
    // store it in the default mode (set), so copies that drifted apart converge.
    forward_ms_decided_by_primary("HD", without_flags("qM"));
  } else {
    forward(place, bytes, Access::kWrite, req);
  }
}

void MemcachedSession::plan_flush_all(Tokens t, PendingRequest& req) {
  // flush_all [delay] [noreply], as memcached reads it: one more word that is not "noreply"
  // is ignored, and a longer line is an unknown command.
  if (t.size() > 3) {
    answer(req, "ERROR");
    return;
  }
  const bool noreply = noreply_;
  size_t words = noreply ? t.size() - 1 : t.size();
  if (words >= 2 && !parse_exptime(t[1])) {
    refuse(req, noreply, "CLIENT_ERROR invalid exptime argument");
    return;
  }
  words = std::min<size_t>(words, 2);
  req.merge.kind = static_cast<uint8_t>(noreply ? MergeKind::kSilent : MergeKind::kAllOk);
  std::string payload = encode(t, words, false, {});
  // Every backend of the ring, ejected ones included: one that cannot be reached fails its
  // part, and the client hears of it rather than an OK that would let its old data return.
  const ring::Ring& ring = *req.ring;
  for (ring::BackendIndex b = 0; b < ring.backends().size(); ++b) {
    Fragment& f = req.add_fragment();
    f.backend = b;
    f.payload = payload;
  }
  if (req.fragments.empty()) refuse(req, noreply, "SERVER_ERROR ringleader: no backend available");
}

}  // namespace ringleader::proxy::memcached
