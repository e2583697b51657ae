// Turning backend replies into the client's reply (RedisSession::complete).
#include <algorithm>
#include <vector>

#include "core/counters.h"
#include "core/text.h"
#include "core/uv_util.h"
#include "info_reply.h"
#include "proxy/redis/encoder.h"
#include "proxy/redis/reply_value.h"
#include "redis_session.h"

namespace ringleader::proxy::redis {
namespace {

// An error naming the backend whose reply the merge could not use (the replica that sent
// it, when one did): "ERR ringleader: backend redis-1 (127.0.0.1:7001): <what>", as the core
// names it.
std::string bad_reply(const PendingRequest& req, const Fragment& f, std::string_view what) {
  const ring::Backend& b = req.ring->backend(f.replier());
  return "ERR ringleader: backend " + b.name + " (" + b.address + "): " + std::string(what);
}

// The first failure among the fragments, as an error reply; false when none failed.
bool first_failure(const PendingRequest& req, std::string& out) {
  for (const Fragment& f : req.fragments) {
    if (f.state == FragmentState::kFailed) {
      append_error(out, "ERR ringleader: " + f.error);
      return true;
    }
  }
  return false;
}

// The first backend error reply among the fragments, passed through; false when none.
bool first_error_reply(const PendingRequest& req, std::string& out) {
  for (const Fragment& f : req.fragments) {
    if (!f.reply.empty() && f.reply[0] == '-') {
      out += f.reply;
      return true;
    }
  }
  return false;
}

// A write whose parts went to several backends, where some parts succeeded and some did
// not (MSET, DEL, FLUSHALL, FUNCTION LOAD ...): it took effect where it succeeded, so the
// answer is the first part's error (a backend's own error code kept) followed by where the
// request was done and where not. False when every part succeeded or none did (then the
// first failure or error reply is the answer, as a single server's).
bool partial_success(const PendingRequest& req, bool ok_only, std::string& out) {
  // A read (EXISTS, DBSIZE) took effect nowhere: its failed part's error, which names every
  // replica it tried, is the answer.
  if (req.reads_only) return false;
  auto succeeded = [ok_only](const Fragment& f) {
    return f.state == FragmentState::kDone && !f.reply.empty() && f.reply[0] != '-' &&
           (!ok_only || f.reply == "+OK\r\n");
  };
  // Counted first: the common answer (all succeeded) allocates nothing.
  size_t done = 0;
  const Fragment* first = nullptr;  // the first part that did not succeed
  for (const Fragment& f : req.fragments) {
    if (succeeded(f)) {
      ++done;
    } else if (first == nullptr) {
      first = &f;
    }
  }
  if (done == 0 || first == nullptr) return false;
  // Where it took effect, by backend. A replicated write's parts are its copies: a backend
  // is "done" when it took every copy it got, "not on" when it missed one; copies still on
  // their way (the write was decided without them) are neither. Other parts count whole.
  std::vector<ring::BackendIndex> done_on, missed_on;
  auto note = [&](ring::BackendIndex b, bool took) {
    const bool missed = std::find(missed_on.begin(), missed_on.end(), b) != missed_on.end();
    const auto was_done = std::find(done_on.begin(), done_on.end(), b);
    if (took) {
      if (!missed && was_done == done_on.end()) done_on.push_back(b);
    } else if (!missed) {
      if (was_done != done_on.end()) done_on.erase(was_done);
      missed_on.push_back(b);
    }
  };
  for (const Fragment& f : req.fragments) {
    // (Copies exist once the core dispatched the write: not in a session's own tests.)
    if (f.access != Access::kWrite || f.replicas.size() <= 1 ||
        req.copies.size() < f.first_copy + f.replicas.size()) {
      note(f.backend, succeeded(f));
      continue;
    }
    for (uint32_t i = 0; i < f.replicas.size(); ++i) {
      const Fragment& copy = req.copies[f.first_copy + i];
      if (copy.state == FragmentState::kDone || copy.state == FragmentState::kFailed) {
        note(copy.backend, copy.state == FragmentState::kDone && !copy.refused);
      }
    }
  }
  auto names = [&](const std::vector<ring::BackendIndex>& backends) {
    constexpr size_t kMaxNamed = 8;
    std::string list;
    for (size_t i = 0; i < backends.size(); ++i) {
      if (i == kMaxNamed) return list + ", ...";
      list += (i == 0 ? "" : ", ") + req.ring->backend(backends[i]).name;
    }
    return list;
  };
  std::string text;
  if (first->state == FragmentState::kFailed) {
    text = "ERR ringleader: " + first->error + " (";
  } else {
    const bool error = first->reply.starts_with('-');
    const std::string_view reply = reply_line(first->reply);
    text = error ? printable(reply, 400) + " (ringleader: "
                 : "ERR ringleader: " + req.ring->backend(first->replier()).name + " answered " +
                       printable(reply, 200) + " (";
  }
  text += "done on " + std::to_string(done_on.size()) + " of " +
          std::to_string(done_on.size() + missed_on.size()) + " backends: " + names(done_on) +
          "; not on: " + names(missed_on) + ")";
  append_error(out, text);
  return true;
}

}  // namespace

void RedisSession::complete(PendingRequest& req) {
  std::string& out = req.reply;
  out.clear();
  auto kind = static_cast<MergeKind>(req.merge.kind);
  if (kind == MergeKind::kFirstAnswers) {
    Fragment& decided = req.fragments[0];
    if (decided.state == FragmentState::kFailed) {
      append_error(out, "ERR ringleader: " + decided.error);
    } else {
      out.swap(decided.reply);
    }
    return;
  }
  // A sum with a part missing has no right answer; what it can say is where the request
  // was done (a DEL or UNLINK deleted the keys there).
  if ((kind == MergeKind::kAllOk || kind == MergeKind::kAllEqual ||
       kind == MergeKind::kIntegerSum) &&
      partial_success(req, kind == MergeKind::kAllOk, out)) {
    return;
  }
  // INFO answers with what it has: a backend that did not answer is left out of the totals.
  if (kind != MergeKind::kInfo && first_failure(req, out)) return;
  if (kind == MergeKind::kPass) {
    out.swap(req.fragments[0].reply);
    return;
  }
  if (kind != MergeKind::kInfo && first_error_reply(req, out)) return;
  switch (kind) {
    case MergeKind::kPass:
    case MergeKind::kFirstAnswers:
      return;
    case MergeKind::kArrayInKeyOrder: {
      // Each part is an array of as many scalars as its fragment was asked for, no more.
      std::vector<size_t> asked(req.fragments.size(), 0);
      for (const auto& slot : req.merge.slots)
        ++asked[slot.first];
      std::vector<ReplyValue> parts;
      parts.reserve(req.fragments.size());
      for (size_t i = 0; i < req.fragments.size(); ++i) {
        const Fragment& f = req.fragments[i];
        auto v = parse_reply(f.reply, {.max_depth = 1, .max_values = 1 + asked[i]});
        if (!v || v->type != ReplyValue::Type::kArray) {
          append_error(out, bad_reply(req, f, "unexpected reply to a split request"));
          return;
        }
        parts.push_back(std::move(v.value()));
      }
      append_array_header(out, static_cast<int64_t>(req.merge.slots.size()));
      for (const auto& [fragment, position] : req.merge.slots) {
        const auto& elements = parts[fragment].elements;
        if (position >= elements.size()) {
          out.clear();
          append_error(out,
                       bad_reply(req, req.fragments[fragment], "answered fewer items than asked"));
          return;
        }
        append_value(out, elements[position]);
      }
      return;
    }
    case MergeKind::kIntegerSum: {
      int64_t sum = 0;
      for (const Fragment& f : req.fragments) {
        auto v = parse_reply(f.reply, {.max_depth = 0, .max_values = 1});
        if (!v || v->type != ReplyValue::Type::kInteger) {
          append_error(out, bad_reply(req, f, "unexpected reply to a split request"));
          return;
        }
        if (__builtin_add_overflow(sum, v->integer, &sum)) {  // only a broken backend
          append_error(out, "ERR ringleader: the backends' counts overflow a 64-bit integer");
          return;
        }
      }
      append_integer(out, sum);
      return;
    }
    case MergeKind::kAllOk:
      for (const Fragment& f : req.fragments) {
        if (f.reply != "+OK\r\n") {
          append_error(out, bad_reply(req, f, "answered neither OK nor an error"));
          return;
        }
      }
      append_simple(out, "OK");
      return;
    case MergeKind::kInfo:
      merge_info(req);
      return;
    case MergeKind::kScan:
      merge_scan(req);
      return;
    case MergeKind::kKeysConcat:
      merge_keys(req);
      return;
    case MergeKind::kArrayAnd: {
      std::vector<int64_t> all;
      for (size_t i = 0; i < req.fragments.size(); ++i) {
        auto v =
            parse_reply(req.fragments[i].reply, {.max_depth = 1, .max_values = 1 + req.merge.aux});
        if (!v || v->type != ReplyValue::Type::kArray || v->elements.size() != req.merge.aux) {
          append_error(out, bad_reply(req, req.fragments[i],
                                      "unexpected reply to a request sent to every backend"));
          return;
        }
        if (i == 0) all.assign(v->elements.size(), 1);
        for (size_t e = 0; e < all.size(); ++e) {
          const ReplyValue& x = v->elements[e];
          if (x.type != ReplyValue::Type::kInteger || x.integer != 1) all[e] = 0;
        }
      }
      append_array_header(out, static_cast<int64_t>(all.size()));
      for (int64_t x : all)
        append_integer(out, x);
      return;
    }
    case MergeKind::kAllEqual:
      for (const Fragment& f : req.fragments) {
        if (f.reply != req.fragments[0].reply) {
          const ring::Backend& first = req.ring->backend(req.fragments[0].replier());
          append_error(out, bad_reply(req, f, "answered differently from backend " + first.name));
          return;
        }
      }
      out = req.fragments[0].reply;
      return;
  }
}

void RedisSession::merge_info(PendingRequest& req) {
  InfoSources in;
  in.sections = req.merge.note;
  in.backends = req.fragments.size() + req.merge.aux;  // merge.aux: backends down, not asked
  for (const Fragment& f : req.fragments) {
    if (f.state != FragmentState::kDone) continue;
    // An error reply (LOADING, NOAUTH, ...) counts as no answer. The text views f.reply.
    if (auto v = parse_reply(f.reply, {.max_depth = 0, .max_values = 1});
        v && v->type == ReplyValue::Type::kBulk)
      in.backend_texts.push_back(v->text);
  }
  in.totals = env_.counters->totals();
  in.uptime_s = (monotonic_ns() - env_.start_time_ns) / 1000000000;
  in.ring_epoch = req.ring->epoch();
  in.max_clients = env_.counters->max_clients.load(std::memory_order_relaxed);
  if (env_.config != nullptr) in.backend_db = env_.config->backend.db;
  append_bulk(req.reply, info_text(in));
}

void RedisSession::merge_scan(PendingRequest& req) {
  std::string& out = req.reply;
  // [cursor, [key, ...]]: two levels, scalars inside.
  auto v = parse_reply(req.fragments[0].reply, {.max_depth = 2});
  if (!v || v->type != ReplyValue::Type::kArray || v->elements.size() != 2 ||
      v->elements[1].type != ReplyValue::Type::kArray) {
    append_error(out, bad_reply(req, req.fragments[0], "unexpected SCAN reply"));
    return;
  }
  uint64_t backend_cursor = 0;
  if (!parse_u64(v->elements[0].text, &backend_cursor) ||
      backend_cursor >> (64 - kScanPositionBits) != 0) {
    append_error(out, bad_reply(req, req.fragments[0], "SCAN cursor out of range"));
    return;
  }
  const ring::Ring& ring = *req.ring;
  const ring::BackendIndex backend = req.fragments[0].backend;
  const uint32_t position = static_cast<uint32_t>(req.merge.aux);
  uint64_t next = 0;
  if (backend_cursor != 0) {
    next = (backend_cursor << kScanPositionBits) | position;
  } else if (auto after = ScanOrder(ring).after(position)) {
    // This backend is done: on to the next one that can be scanned, if any.
    next = after->position;
  }
  // Report only keys this backend holds as primary: replicas and stale copies would
  // otherwise appear twice.
  std::vector<const ReplyValue*> keys;
  for (const ReplyValue& k : v->elements[1].elements) {
    if (ring.primary(ring.hash(k.text)) == backend) keys.push_back(&k);
  }
  append_array_header(out, 2);
  append_bulk(out, std::to_string(next));
  append_array_header(out, static_cast<int64_t>(keys.size()));
  for (const ReplyValue* k : keys)
    append_value(out, *k);
}

void RedisSession::merge_keys(PendingRequest& req) {
  const ring::Ring& ring = *req.ring;
  std::vector<ReplyValue> parts;
  size_t total = 0;
  for (const Fragment& f : req.fragments) {
    auto v = parse_reply(f.reply, {.max_depth = 1});
    if (!v || v->type != ReplyValue::Type::kArray) {
      append_error(req.reply, bad_reply(req, f, "unexpected KEYS reply"));
      return;
    }
    total += v->elements.size();
    parts.push_back(std::move(v.value()));
  }
  std::vector<const ReplyValue*> keys;
  keys.reserve(total);
  for (size_t i = 0; i < parts.size(); ++i) {
    for (const ReplyValue& k : parts[i].elements) {
      if (ring.primary(ring.hash(k.text)) == req.fragments[i].backend) keys.push_back(&k);
    }
  }
  append_array_header(req.reply, static_cast<int64_t>(keys.size()));
  for (const ReplyValue* k : keys)
    append_value(req.reply, *k);
}

}  // namespace ringleader::proxy::redis
