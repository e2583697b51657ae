#include "redis_session.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>

#include "common/log.h"
#include "common/printable.h"
#include "core/counters.h"
#include "core/text.h"
#include "info_reply.h"
#include "proxy/redis/conditional_write.h"
#include "proxy/redis/encoder.h"
#include "resp_integer.h"
#include "script_registry.h"

namespace ringleader::proxy::redis {
namespace {

std::atomic<uint64_t> next_client_id{1};

// The first word of an HTTP request line or header, as Redis recognises them ("POST", "Host:").
bool is_http_request(std::string_view command) {
  return iequals(command, "POST") || iequals(command, "Host:");
}

// Said in the log at most once a minute across workers: a page can send many.
void warn_http_request() {
  static std::atomic<int64_t> last_warned_s{-60};
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  int64_t last = last_warned_s.load(std::memory_order_relaxed);
  if (now_s - last < 60 ||
      !last_warned_s.compare_exchange_strong(last, now_s, std::memory_order_relaxed)) {
    return;
  }
  RL_LOG_WARN(
      "a client sent an HTTP request (POST or Host:), as a web page does when it makes a browser "
      "talk to this port: closed without running what it sent next (at most one such warning a "
      "minute)");
}

// COPY ... DB n would write into a database no client of the proxy can reach (MOVE and
// SWAPDB are refused for the same reason). DB 0 is the clients' database, which on the
// backends is backend.db: forwarded as it is only when that is 0 too. The options are read
// as Redis reads them (REPLACE, DB n; anything else is a syntax error), before the keys'
// placement is checked, so a malformed COPY gets Redis's answer wherever its keys live.
Status check_database_option(const CommandSpec& spec, std::span<const std::string_view> args,
                             uint32_t backend_db) {
  if (spec.name != "copy") return Status::ok();
  std::string_view last;  // the last DB given counts, as in Redis
  int64_t db = 0;
  for (size_t i = 3; i < args.size(); ++i) {
    if (iequals(args[i], "REPLACE")) continue;
    if (!iequals(args[i], "DB") || i + 1 >= args.size()) return Status::error("ERR syntax error");
    ++i;
    const std::optional<int64_t> value = parse_resp_integer(args[i]);
    if (!value) return Status::error("ERR value is not an integer or out of range");
    if (*value < INT32_MIN || *value > INT32_MAX) {
      return Status::error(
          "ERR value is out of range, value must between -2147483648 and 2147483647");
    }
    db = *value;
    last = args[i];
  }
  if (last.empty()) return Status::ok();
  if (db < 0) return Status::error("ERR DB index is out of range");
  if (db != 0) {
    return Status::error("ERR COPY ... DB " + printable(last, 20) +
                         ": ringleader serves database 0 only");
  }
  if (backend_db != 0) {
    return Status::error(
        "ERR COPY ... DB 0: the backends would read it as their database 0, "
        "while clients' database 0 is their database " +
        std::to_string(backend_db) + " (backend.db); leave the option out to copy within it");
  }
  return Status::ok();
}

// How errors name where keys live: the backend, or with replicas "a+b+c" (primary first).
std::string describe(const ring::Ring& ring, const ring::ReplicaSet& replicas) {
  std::string out;
  for (ring::BackendIndex b : replicas) {
    if (!out.empty()) out += '+';
    out += ring.backend(b).name;
  }
  return out;
}

// A SCAN cursor as Redis reads one (strtoul): decimal digits after an optional sign, leading
// zeros allowed, a negative cursor wrapping around (-1 is 2^64-1), and an empty one 0;
// anything else is "invalid cursor".
bool parse_scan_cursor(std::string_view text, uint64_t* out) {
  if (text.empty()) {  // strtoul reads no digits, and Redis takes that for 0
    *out = 0;
    return true;
  }
  const bool negative = text[0] == '-';
  if (text[0] == '-' || text[0] == '+') text.remove_prefix(1);
  if (!parse_u64(text, out)) return false;
  if (negative) *out = uint64_t{0} - *out;
  return true;
}

// Whether every key that a SORT BY or GET pattern names hashes like `key`: true when the
// pattern's hash tag lies whole before its '*' (no element can change it) and is `key`'s.
bool pattern_hashes_like(const ring::Ring& ring, std::string_view pattern, std::string_view key) {
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return true;  // names no key
  const std::string_view prefix = pattern.substr(0, star);
  const std::string_view tag = ring.hash_input(prefix);
  if (tag.size() == prefix.size()) return false;  // no tag: the element decides the hash
  return tag == ring.hash_input(key);
}

// What a CROSSSLOT refusal advises, in the ring's own hash tag characters; with hash tags off,
// that none can help.
std::string tagged(std::string_view hash_tag, std::string_view text) {
  return std::string(1, hash_tag[0]) + std::string(text) + hash_tag[1];
}

std::string common_tag_advice(std::string_view hash_tag) {
  if (hash_tag.size() != 2) {
    return "keys live together only by a common hash tag, and hash tags are off (ring.hash_tag "
           "= \"\")";
  }
  return "give them a common hash tag such as " + tagged(hash_tag, "user1");
}

std::string pattern_advice(std::string_view hash_tag) {
  if (hash_tag.size() != 2) {
    return "only a pattern whose hash tag comes before its '*' is known to, and hash tags are "
           "off (ring.hash_tag = \"\")";
  }
  return "give the pattern the key's hash tag before its '*', such as " +
         tagged(hash_tag, "user1") + "list with " + tagged(hash_tag, "user1") + "weight_*";
}

// Redis's own text: the name and the first arguments, 128 bytes of each at most, each cut at a
// NUL, with CR and LF as spaces; and, unlike Redis, the rest made printable(), so that the
// reply is UTF-8 text that a terminal printing it does not obey.
std::string unknown_command_error(std::span<const std::string_view> args) {
  auto shown = [](std::string_view s, size_t max) {
    std::string out(s.substr(0, std::min(s.find('\0'), max)));
    std::replace(out.begin(), out.end(), '\r', ' ');
    std::replace(out.begin(), out.end(), '\n', ' ');
    return printable(out, out.size());
  };
  std::string rest;
  for (size_t i = 1; i < args.size() && rest.size() < 128; ++i)
    rest += "'" + shown(args[i], 128 - rest.size()) + "' ";
  return "ERR unknown command '" + shown(args[0], 128) + "', with args beginning with: " + rest;
}

}  // namespace

RedisSession::RedisSession(const SessionEnv& env)
    : env_(env),
      authenticated_(env.config->proxy.requirepass.empty()),
      client_id_(next_client_id.fetch_add(1, std::memory_order_relaxed)) {
  parser_.set_limits(authenticated_ ? limits_after_auth() : kLimitsBeforeAuth);
}

ParseLimits RedisSession::limits_after_auth() const {
  ParseLimits limits;
  limits.max_request_bytes = env_.config->proxy.max_request_bytes;
  return limits;
}

void RedisSession::set_authenticated() {
  if (!authenticated_) parser_.set_limits(limits_after_auth());
  authenticated_ = true;
}

NextStatus RedisSession::next(std::string_view input, const ring::RingSnapshot& ring,
                              PendingRequest& req, size_t* consumed) {
  switch (parser_.parse(input)) {
    case ParseStatus::kNeedMore:
      if (const size_t skipped = parser_.skipped(); skipped > 0) {
        // Empty requests before an unfinished one (or before nothing): dropped now, as Redis
        // drops them, rather than held in the client's buffer until a request follows.
        *consumed = skipped;
        parser_.reset();
        return NextStatus::kDiscarded;
      }
      return NextStatus::kNeedMore;
    case ParseStatus::kError:
      append_error(req.reply, "ERR " + parser_.error());
      *consumed = 0;
      parser_.reset();
      return NextStatus::kFatal;
    case ParseStatus::kComplete:
      break;
  }
  *consumed = parser_.consumed();
  if (is_http_request(parser_.args()[0])) {
    // A web page can make a browser POST to a Redis port on the user's machine, with Redis
    // commands in the body. Redis closes such a connection at once without running anything
    // after it; so does the proxy (the requests before it are still answered).
    warn_http_request();
    parser_.reset();
    return NextStatus::kFatal;
  }
  req.ring = ring;
  // Skipped empty requests ("\r\n", "*0\r\n") before the request are not forwarded.
  size_t begin = parser_.skipped();
  plan(parser_.args(), input.substr(begin, *consumed - begin), req);
  parser_.reset();
  return NextStatus::kRequest;
}

void RedisSession::reply_error(PendingRequest& req, std::string_view message) {
  append_error(req.reply, message);
  req.complete = true;
}

uint32_t RedisSession::add_fragment(PendingRequest& req, ring::BackendIndex backend, Args args,
                                    std::string_view raw) {
  Fragment& f = req.add_fragment();
  f.backend = backend;
  if (!raw.empty()) {
    f.payload.assign(raw);
  } else {
    append_command(f.payload, args);
  }
  return static_cast<uint32_t>(req.fragments.size() - 1);
}

uint32_t RedisSession::add_keyed_fragment(PendingRequest& req, const ring::ReplicaSet& replicas,
                                          Access access, Args args, std::string_view raw) {
  const uint32_t index = add_fragment(req, replicas.primary(), args, raw);
  req.fragments[index].target(replicas, access);
  return index;
}

Access RedisSession::access_of(const CommandSpec& spec) {
  // Only read-only commands may be served by one replica; everything else (scripts too,
  // which may write) is written to every replica.
  return spec.has(CommandFlag::kRead) && !spec.has(CommandFlag::kWrite) ? Access::kRead
                                                                        : Access::kWrite;
}

void RedisSession::classify(Args args, const CommandSpec& spec, PendingRequest& req) {
  // Statistics count a subcommand under its container (CLIENT SETNAME -> client).
  auto table = all_commands();
  const bool top_level = &spec >= table.data() && &spec < table.data() + table.size();
  const CommandSpec* top = top_level ? &spec : find_command(args[0]);
  if (top != nullptr && top >= table.data() && top < table.data() + table.size()) {
    req.command = static_cast<uint16_t>(top - table.data() + 1);
  }
  LatencyClass c = LatencyClass::kOther;
  switch (spec.routing) {
    case Routing::kProxyLocal:
    case Routing::kUnsupported:
      c = LatencyClass::kLocal;
      break;
    case Routing::kFanout:
      c = LatencyClass::kWholeKeyspace;
      break;
    case Routing::kSplitKeys:
    case Routing::kSplitKeyValues:
    case Routing::kKeysTogether:
    case Routing::kScript:
      c = LatencyClass::kMultiKey;
      break;
    case Routing::kSingleKey:
      c = spec.has(CommandFlag::kWrite)  ? LatencyClass::kWrite
          : spec.has(CommandFlag::kRead) ? LatencyClass::kRead
                                         : LatencyClass::kOther;
      break;
  }
  req.latency_class = static_cast<uint8_t>(c);
}

bool RedisSession::answer_in_transaction(Args args, PendingRequest& req) {
  const std::string_view name = args[0];
  if (iequals(name, "quit") || iequals(name, "reset")) return false;
  const bool control = iequals(name, "exec") || iequals(name, "discard") || iequals(name, "multi");
  if (iequals(name, "exec") && args.size() != 1) {
    // As Redis: an EXEC it refuses ends the transaction at once.
    in_transaction_ = false;
    reply_error(req,
                "EXECABORT Transaction discarded because of: wrong number of arguments for "
                "'exec' command");
    return true;
  }
  if (control && args.size() != 1) {
    // As Redis: a wrong arity is refused and the transaction goes on, to abort at EXEC.
    ++refused_in_transaction_;
    reply_error(req, "ERR wrong number of arguments for '" + lowercase(name) + "' command");
    return true;
  }
  if (iequals(name, "exec")) {
    in_transaction_ = false;
    if (refused_in_transaction_ == 0) {
      append_array_header(req.reply, 0);  // nothing was queued: nothing to run, as Redis
      req.complete = true;
    } else {
      reply_error(req,
                  "EXECABORT Transaction discarded because of previous errors: ringleader does "
                  "not support transactions (they cannot span the backends of a pool)");
    }
  } else if (iequals(name, "discard")) {
    in_transaction_ = false;
    append_simple(req.reply, "OK");
    req.complete = true;
  } else if (iequals(name, "multi")) {
    reply_error(req, "ERR MULTI calls can not be nested");
  } else {
    ++refused_in_transaction_;
    reply_error(req, "ERR '" + lowercase(printable(name, 64)) +
                         "' not queued: ringleader does not support transactions (MULTI/EXEC/"
                         "WATCH), they cannot span the backends of a pool; EXEC will abort");
  }
  return true;
}

void RedisSession::plan_client_reply(const CommandSpec& spec, Args args, PendingRequest& req) {
  // Redis's answers to the forms it refuses, and ON (every client's state) is OK.
  if (args.size() != 3) {
    reply_error(req, "ERR wrong number of arguments for 'client|reply' command");
    return;
  }
  if (iequals(args[2], "on")) {
    append_simple(req.reply, "OK");
    req.complete = true;
    return;
  }
  if (!iequals(args[2], "off") && !iequals(args[2], "skip")) {
    reply_error(req, "ERR syntax error");
    return;
  }
  // OFF or SKIP: the client expects no reply to what follows (or to the next command), and
  // would take the replies it gets for others'. The connection closes after the error, so
  // nothing sent after it runs.
  reply_error(req, "ERR " + unsupported_message(spec, args) +
                       "; the connection is closed so that no reply reaches a client that "
                       "asked for none");
  req.close_after = true;
}

void RedisSession::plan(Args args, std::string_view raw, PendingRequest& req) {
  const CommandSpec* spec = resolve_command(args);
  if (in_transaction_ && answer_in_transaction(args, req)) {
    if (spec != nullptr) classify(args, *spec, req);
    return;
  }
  if (spec == nullptr) {
    reply_error(req, unknown_command_error(args));
    return;
  }
  classify(args, *spec, req);
  // Redis's order: the arity is checked before authentication is asked for. Redis refuses
  // an EXEC it cannot run as one that aborts a transaction, inside one or not.
  if (Status arity = check_arity(*spec, args); !arity && spec->name == "exec") {
    reply_error(req, "EXECABORT Transaction discarded because of: " + arity.message());
    return;
  }
  if (Status arity = check_arity(*spec, args); !arity) {
    reply_error(req, "ERR " + arity.message());
    return;
  }
  if (!authenticated_ && spec->routing != Routing::kProxyLocal) {
    reply_error(req, "NOAUTH Authentication required.");
    return;
  }
  if (Status database = check_database_option(*spec, args, env_.config->backend.db); !database) {
    reply_error(req, database.message());
    return;
  }
  // Scripts may write whatever their flags say; INFO, DBSIZE, SCAN, GET, ... do not.
  req.reads_only = !spec->has(CommandFlag::kWrite) && !spec->has(CommandFlag::kChanges) &&
                   spec->routing != Routing::kScript;
  // Only multibulk requests travel as received; inline ones are re-encoded.
  std::string_view forward = (!raw.empty() && raw[0] == '*') ? raw : std::string_view();
  switch (spec->routing) {
    case Routing::kUnsupported:
      if (spec->name == "multi") {
        // A transaction every command of which is refused, as Redis answers one with a
        // command it cannot queue (see in_transaction_).
        append_simple(req.reply, "OK");
        req.complete = true;
        in_transaction_ = true;
        refused_in_transaction_ = 0;
        return;
      }
      if (spec->name == "client" && args.size() >= 2 && iequals(args[1], "reply")) {
        plan_client_reply(*spec, args, req);
        return;
      }
      if (spec->name == "exec" || spec->name == "discard") {
        reply_error(req,
                    spec->name == "exec" ? "ERR EXEC without MULTI" : "ERR DISCARD without MULTI");
        return;
      }
      reply_error(req, "ERR " + unsupported_message(*spec, args));
      return;
    case Routing::kProxyLocal:
      answer_local(*spec, args, req);
      return;
    case Routing::kSingleKey: {
      auto keys = key_positions(*spec, args);
      if (!keys || keys->empty()) {
        reply_error(req, keys ? "ERR no key in command" : "ERR " + keys.error());
        return;
      }
      plan_single(*spec, args, forward, (*keys)[0], req);
      return;
    }
    case Routing::kSplitKeys:
    case Routing::kSplitKeyValues:
      plan_split(*spec, args, forward, req);
      return;
    case Routing::kKeysTogether:
    case Routing::kScript:
      plan_together(*spec, args, forward, req);
      return;
    case Routing::kFanout:
      plan_fanout(*spec, args, req);
      return;
  }
}

void RedisSession::plan_single(const CommandSpec& spec, Args args, std::string_view raw,
                               size_t key_index, PendingRequest& req) {
  const ring::Ring& ring = *req.ring;
  const uint64_t hash = ring.hash(args[key_index]);
  const Access access = access_of(spec);
  if (access == Access::kRead) {
    const ring::BackendIndex primary = ring.primary(hash);
    if (primary == ring::kNoBackend) {
      reply_error(req, "ERR ringleader: no backend available for this key");
      return;
    }
    const uint32_t index = add_fragment(req, primary, args, raw);
    req.fragments[index].target_read(primary, hash, access);
    return;
  }
  const ring::ReplicaSet replicas = ring.replicas(hash);
  if (replicas.empty()) {
    reply_error(req, "ERR ringleader: no backend available for this key");
    return;
  }
  if (replicas.size() > 1) {
    if (std::optional<ConditionalWrite> w = conditional_write(args)) {
      plan_conditional(args, raw, replicas, w->applied, w->follow_up, req);
      return;
    }
    if (std::optional<DerivedWrite> w = derived_write(args)) {
      plan_derived(args, raw, replicas, *w, req);
      return;
    }
  }
  add_keyed_fragment(req, replicas, access, args, raw);
}

void RedisSession::plan_conditional(Args args, std::string_view raw,
                                    const ring::ReplicaSet& replicas, std::string_view applied,
                                    Args follow_up, PendingRequest& req) {
  // Exactly the primary (kDirect: no failover to a replica that would decide on its own). The
  // client waits for the follow-ups too, but their outcome is not its answer.
  const uint32_t decided = add_fragment(req, replicas.primary(), args, raw);
  req.merge.kind = static_cast<uint8_t>(MergeKind::kFirstAnswers);
  for (uint32_t r = 1; r < replicas.size(); ++r) {
    const uint32_t index = add_fragment(req, replicas[r], follow_up);
    req.fragments[index].after = decided;
    req.fragments[index].after_reply.assign(applied);
  }
}

void RedisSession::plan_derived(Args args, std::string_view raw, const ring::ReplicaSet& replicas,
                                const DerivedWrite& w, PendingRequest& req) {
  // As plan_conditional: the primary alone runs it; the others get its effect once its reply
  // shows it (complete_derived), whether or not the client is still there.
  const uint32_t decided = add_fragment(req, replicas.primary(), args, raw);
  req.merge.kind = static_cast<uint8_t>(MergeKind::kFirstAnswers);
  for (uint32_t r = 1; r < replicas.size(); ++r) {
    Fragment& f = req.add_fragment();
    f.backend = replicas[r];
    f.derive_at = encode_derived(w, f.payload);
    f.derive = static_cast<uint8_t>(w.kind);
    f.after = decided;
  }
}

void RedisSession::plan_split(const CommandSpec& spec, Args args, std::string_view raw,
                              PendingRequest& req) {
  auto keys = key_positions(spec, args);
  if (!keys) {
    reply_error(req, "ERR " + keys.error());
    return;
  }
  const ring::Ring& ring = *req.ring;
  const bool pairs = spec.routing == Routing::kSplitKeyValues;
  // Group keys by replica set (with one replica: by owner), keeping the client's order
  // inside each group.
  std::vector<uint32_t> group_of(keys->size());
  std::map<ring::ReplicaSet, uint32_t> group_by_set;
  std::vector<ring::ReplicaSet> sets;
  std::vector<std::vector<uint32_t>> members;  // group -> key ordinals
  for (uint32_t k = 0; k < keys->size(); ++k) {
    const ring::ReplicaSet replicas = ring.replicas(ring.hash(args[(*keys)[k]]));
    if (replicas.empty()) {
      reply_error(req, "ERR ringleader: no backend available for key '" +
                           printable(args[(*keys)[k]], 64) + "'");
      return;
    }
    auto [it, added] = group_by_set.try_emplace(replicas, static_cast<uint32_t>(sets.size()));
    if (added) {
      sets.push_back(replicas);
      members.emplace_back();
    }
    group_of[k] = it->second;
    members[it->second].push_back(k);
  }
  switch (spec.merge) {
    case Merge::kArrayInKeyOrder:
      req.merge.kind = static_cast<uint8_t>(MergeKind::kArrayInKeyOrder);
      break;
    case Merge::kIntegerSum:
      req.merge.kind = static_cast<uint8_t>(MergeKind::kIntegerSum);
      break;
    case Merge::kAllOk:
      req.merge.kind = static_cast<uint8_t>(MergeKind::kAllOk);
      break;
    default:
      req.merge.kind = static_cast<uint8_t>(MergeKind::kPass);
      break;
  }
  const Access access = access_of(spec);
  if (sets.size() == 1) {
    // One replica set takes the whole request: forward it unchanged and pass its reply through.
    req.merge.kind = static_cast<uint8_t>(MergeKind::kPass);
    add_keyed_fragment(req, sets[0], access, args, raw);
    return;
  }
  // Fragments in replica-set order (the primary's index first), as backends were before.
  std::vector<uint32_t> fragment_of(sets.size());
  std::vector<std::string_view> sub;
  for (const auto& [key, group] : group_by_set) {
    sub.clear();
    sub.push_back(args[0]);
    for (uint32_t k : members[group]) {
      sub.push_back(args[(*keys)[k]]);
      if (pairs) sub.push_back(args[(*keys)[k] + 1]);
    }
    fragment_of[group] = add_keyed_fragment(req, sets[group], access, sub);
  }
  // slots[k] = (fragment, position of key k within that fragment's keys).
  std::vector<uint32_t> seen(sets.size(), 0);
  req.merge.slots.reserve(keys->size());
  for (uint32_t k = 0; k < keys->size(); ++k) {
    const uint32_t group = group_of[k];
    req.merge.slots.emplace_back(fragment_of[group], seen[group]++);
  }
}

void RedisSession::plan_together(const CommandSpec& spec, Args args, std::string_view raw,
                                 PendingRequest& req) {
  auto keys = key_positions(spec, args);
  if (!keys) {
    reply_error(req, "ERR " + keys.error());
    return;
  }
  if (keys->empty()) {
    reply_error(req, "ERR ringleader cannot route '" + lowercase(args[0]) +
                         "' without keys: name at least one key so it reaches the backend "
                         "that holds them");
    return;
  }
  const ring::Ring& ring = *req.ring;
  for (uint32_t at : sort_patterns(spec, args)) {
    if (!pattern_hashes_like(ring, args[at], args[(*keys)[0]])) {
      reply_error(req, "CROSSSLOT ringleader: the keys that the pattern '" +
                           printable(args[at], 40) + "' of '" + lowercase(args[0]) +
                           "' names may live on other backends "
                           "than '" +
                           printable(args[(*keys)[0]], 40) + "'; " +
                           pattern_advice(ring.params().hash_tag));
      return;
    }
  }
  const ring::ReplicaSet first = ring.replicas(ring.hash(args[(*keys)[0]]));
  for (size_t k = 1; k < keys->size(); ++k) {
    const ring::ReplicaSet other = ring.replicas(ring.hash(args[(*keys)[k]]));
    if (!(other == first)) {
      reply_error(req, "CROSSSLOT ringleader: keys of '" + lowercase(args[0]) +
                           "' live on different backends ('" + printable(args[(*keys)[0]], 40) +
                           "' on " + describe(ring, first) + ", '" +
                           printable(args[(*keys)[k]], 40) + "' on " + describe(ring, other) +
                           "); " + common_tag_advice(ring.params().hash_tag));
      return;
    }
  }
  if (first.empty()) {
    reply_error(req, "ERR ringleader: no backend available for these keys");
    return;
  }
  if (spec.routing == Routing::kScript && first.size() > 1) {
    // Replicated: an EVALSHA whose body is known goes as EVAL, so that a replica that lost
    // the script runs it too (see ScriptRegistry); an EVAL teaches the body.
    ScriptRegistry& scripts = ScriptRegistry::process();
    const bool by_sha = spec.name == "evalsha" || spec.name == "evalsha_ro";
    if (!by_sha) {
      scripts.learn(args[1]);
    } else if (std::optional<std::string_view> body = scripts.find(args[1])) {
      std::vector<std::string_view> eval(args.begin(), args.end());
      eval[0] = spec.name == "evalsha" ? "EVAL" : "EVAL_RO";
      eval[1] = *body;
      add_keyed_fragment(req, first, access_of(spec), eval, {});
      return;
    }
  }
  add_keyed_fragment(req, first, access_of(spec), args, raw);
}

void RedisSession::plan_fanout(const CommandSpec& spec, Args args, PendingRequest& req) {
  const ring::Ring& ring = *req.ring;
  if (spec.name == "script|load") ScriptRegistry::process().learn(args[2]);
  // A SCRIPT FLUSH that backends will carry out (Redis refuses any option but SYNC or ASYNC)
  // forgets the bodies as it is planned: an EVALSHA pipelined behind it must not be sent as
  // EVAL and load the script again. (A flush no backend could carry out leaves them
  // forgotten: replicated EVALSHAs of those scripts are then sent as they come.)
  if (spec.name == "script|flush" &&
      (args.size() == 2 ||
       (args.size() == 3 && (iequals(args[2], "sync") || iequals(args[2], "async"))))) {
    ScriptRegistry::process().forget_all();
  }
  std::vector<std::string_view> sub(args.begin(), args.end());
  switch (spec.merge) {
    case Merge::kScanCursor:
      plan_scan(args, req);
      return;
    case Merge::kInfo: {
      // Sections that only the proxy fills are answered without asking any backend.
      req.merge.kind = static_cast<uint8_t>(MergeKind::kInfo);
      req.merge.note = args.size() > 1 ? std::string() : "default";
      for (size_t i = 1; i < args.size(); ++i)
        req.merge.note += (i > 1 ? " " : "") + lowercase(args[i]);
      std::string_view section;
      if (!backend_info_section(req.merge.note, &section)) {
        merge_info(req);
        req.complete = true;
        return;
      }
      sub = {"INFO"};
      if (!section.empty()) sub.push_back(section);
      break;
    }
    case Merge::kIntegerSum:
      req.merge.kind = static_cast<uint8_t>(MergeKind::kIntegerSum);
      break;
    case Merge::kArrayConcat:
      req.merge.kind = static_cast<uint8_t>(MergeKind::kKeysConcat);
      break;
    case Merge::kAllEqual:
      req.merge.kind = static_cast<uint8_t>(MergeKind::kAllEqual);
      break;
    case Merge::kArrayAnd:
      req.merge.kind = static_cast<uint8_t>(MergeKind::kArrayAnd);
      req.merge.aux = args.size() - 2;  // SCRIPT EXISTS sha...: one answer per sha
      break;
    case Merge::kAllOk:
    default:
      req.merge.kind = static_cast<uint8_t>(MergeKind::kAllOk);
      // Clients see one database, backend.db, so FLUSHALL empties that one: the backends'
      // other databases are not theirs.
      if (spec.name == "flushall" && env_.config->backend.db != 0) sub[0] = "FLUSHDB";
      break;
  }
  // Changes (FLUSHALL, SCRIPT LOAD, ...) go to every backend, down ones included: one that
  // cannot be reached fails its part and the client hears of it, rather than an OK that lets
  // deleted keys come back or leaves a script missing when it returns. Reads skip backends
  // that are down (their keys are unreachable through the ring too); INFO says how many.
  const bool every_backend = spec.merge == Merge::kAllOk || spec.merge == Merge::kAllEqual;
  for (ring::BackendIndex b = 0; b < ring.backends().size(); ++b) {
    if (!every_backend && ring.backend(b).state == ring::BackendState::kDown) {
      if (spec.merge == Merge::kInfo) ++req.merge.aux;
      continue;
    }
    add_fragment(req, b, sub);
  }
  if (req.fragments.empty()) reply_error(req, "ERR ringleader: no backend available");
}

void RedisSession::plan_scan(Args args, PendingRequest& req) {
  const ring::Ring& ring = *req.ring;
  uint64_t cursor = 0;
  if (!parse_scan_cursor(args[1], &cursor)) {
    reply_error(req, "ERR invalid cursor");
    return;
  }
  // With every backend down, an empty scan would pass for an empty keyspace.
  bool any_up = false;
  for (ring::BackendIndex b = 0; b < ring.backends().size() && !any_up; ++b)
    any_up = ring.backend(b).state != ring::BackendState::kDown;
  if (!any_up) {
    reply_error(req, "ERR ringleader: no backend available");
    return;
  }
  const uint64_t mask = (uint64_t{1} << kScanPositionBits) - 1;
  const uint32_t position = static_cast<uint32_t>(cursor & mask);
  uint64_t backend_cursor = cursor >> kScanPositionBits;
  const std::optional<ScanOrder::Stop> stop = ScanOrder(ring).at_or_after(position);
  if (!stop) {
    // Past the last backend (or a stale cursor): the iteration is over.
    append_array_header(req.reply, 2);
    append_bulk(req.reply, "0");
    append_array_header(req.reply, 0);
    req.complete = true;
    return;
  }
  // The backend the cursor names has left, or is down: the next one, from its start.
  if (stop->position != position) backend_cursor = 0;
  std::string cursor_text = std::to_string(backend_cursor);
  std::vector<std::string_view> sub(args.begin(), args.end());
  sub[1] = cursor_text;
  req.merge.kind = static_cast<uint8_t>(MergeKind::kScan);
  req.merge.aux = stop->position;
  add_fragment(req, stop->backend, sub);
}

}  // namespace ringleader::proxy::redis
