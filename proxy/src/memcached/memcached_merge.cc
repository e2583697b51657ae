// Turning backend replies into the client's reply (MemcachedSession::complete).
#include <string>
#include <string_view>
#include <vector>

#include "memcached_session.h"
#include "proxy/memcached/reply_scanner.h"

namespace ringleader::proxy::memcached {
namespace {

constexpr std::string_view kEnd = "END\r\n";
// How many bytes of repeated items a split get may add to what the backends sent.
constexpr size_t kMaxRepeatBytes = size_t{64} << 20;

// One retrieval reply split into its items ("VALUE ..." line plus data block, as received)
// and their keys. False when the reply is not a run of items ended by END (an error line):
// the reply is then the client's answer as it is.
bool split_items(std::string_view reply, std::vector<std::string_view>* keys,
                 std::vector<std::string_view>* items) {
  size_t pos = 0;
  while (pos < reply.size()) {
    size_t eol = reply.find("\r\n", pos);
    if (eol == std::string_view::npos) return false;
    std::string_view line = reply.substr(pos, eol - pos);
    if (line == "END") return eol + 2 == reply.size();
    std::string_view key;
    size_t bytes = 0;
    // The framer has checked the shape; a reply it framed is whole, but check every bound.
    if (!parse_value_line(line, &key, &bytes)) return false;
    const size_t data = eol + 2;
    if (bytes > reply.size() - data || reply.size() - data - bytes < 2) return false;
    const size_t end = data + bytes + 2;
    keys->push_back(key);
    items->push_back(reply.substr(pos, end - pos));
    pos = end;
  }
  return false;
}

// The keys a split fragment asked for: its words after the first `skip` ones.
std::vector<std::string_view> requested_keys(std::string_view payload, size_t skip) {
  std::vector<std::string_view> keys;
  if (payload.size() >= 2) payload.remove_suffix(2);  // "\r\n"
  size_t word = 0, i = 0;
  while (i < payload.size()) {
    size_t end = payload.find(' ', i);
    if (end == std::string_view::npos) end = payload.size();
    if (word++ >= skip) keys.push_back(payload.substr(i, end - i));
    i = end + 1;
  }
  return keys;
}

// Whether `reply` has one of the return codes in `codes` ("HD VA"): the codes a meta command
// in quiet mode leaves out.
bool quiet_code(std::string_view reply, std::string_view codes) {
  if (reply.size() < 4 || (reply[2] != ' ' && reply[2] != '\r')) return false;
  for (size_t i = 0; i + 2 <= codes.size(); i += 3) {
    if (reply.substr(0, 2) == codes.substr(i, 2)) return true;
  }
  return false;
}

}  // namespace

void MemcachedSession::complete(PendingRequest& req) {
  merge(req);
  const auto kind = static_cast<MergeKind>(req.merge.kind);
  if ((kind == MergeKind::kPass || kind == MergeKind::kFirstAnswers) && !req.merge.note.empty() &&
      quiet_code(req.reply, req.merge.note)) {
    req.reply.clear();
  }
}

void MemcachedSession::merge(PendingRequest& req) {
  std::string& out = req.reply;
  out.clear();
  auto kind = static_cast<MergeKind>(req.merge.kind);
  if (kind == MergeKind::kSilent) return;
  if (kind == MergeKind::kFixed) {
    out = req.merge.note;
    return;
  }
  if (kind == MergeKind::kFirstAnswers) {
    const Fragment& first = req.fragments[0];
    out = first.state == FragmentState::kFailed ? "SERVER_ERROR ringleader: " + first.error + "\r\n"
                                                : first.reply;
    return;
  }
  for (const Fragment& f : req.fragments) {
    if (f.state == FragmentState::kFailed) {
      out = "SERVER_ERROR ringleader: " + f.error + "\r\n";
      return;
    }
  }
  switch (kind) {
    case MergeKind::kPass:
    case MergeKind::kSilent:
      out.swap(req.fragments[0].reply);
      return;
    case MergeKind::kFixed:
    case MergeKind::kFirstAnswers:
      return;
    case MergeKind::kAllOk:
      for (const Fragment& f : req.fragments) {
        if (f.reply != "OK\r\n") {
          out = f.reply;
          return;
        }
      }
      out = "OK\r\n";
      return;
    case MergeKind::kValuesInKeyOrder:
      merge_values(req);
      return;
  }
}

void MemcachedSession::merge_values(PendingRequest& req) {
  std::string& out = req.reply;
  // hit[fragment][position]: the item for that fragment's position-th key, empty on a miss.
  // A fragment's hits come back in the order it asked for its keys (a key asked twice comes
  // twice), so one forward walk matches them.
  std::vector<std::vector<std::string_view>> hit(req.fragments.size());
  std::vector<std::string_view> keys, items;
  for (size_t i = 0; i < req.fragments.size(); ++i) {
    const Fragment& f = req.fragments[i];
    keys.clear();
    items.clear();
    if (!split_items(f.reply, &keys, &items)) {
      out = f.reply;  // an error line from that backend
      return;
    }
    std::vector<std::string_view> asked = requested_keys(f.payload, req.merge.aux);
    hit[i].resize(asked.size());
    size_t next = 0;
    for (size_t p = 0; p < asked.size() && next < items.size(); ++p) {
      if (keys[next] == asked[p]) hit[i][p] = items[next++];
    }
    if (next != items.size()) {
      out = "SERVER_ERROR ringleader: a backend returned an item that was not asked for\r\n";
      return;
    }
  }
  // Repeats are copies the backends did not send: bounded, so that a short request cannot make
  // the proxy build a reply of any size from one item.
  size_t sent = 0, merged = kEnd.size();
  for (const auto& items_of : hit) {
    for (std::string_view item : items_of)
      sent += item.size();
  }
  for (const auto& [fragment, position] : req.merge.slots) {
    if (fragment != kMissSlot.first) merged += hit[fragment][position].size();
  }
  if (merged > sent + kMaxRepeatBytes) {
    out = "SERVER_ERROR ringleader: the keys asked again would repeat over " +
          std::to_string(kMaxRepeatBytes >> 20) + " MiB of values; ask each key once\r\n";
    return;
  }
  out.reserve(merged);
  for (const auto& [fragment, position] : req.merge.slots) {
    if (fragment != kMissSlot.first) out += hit[fragment][position];
  }
  out += kEnd;
}

}  // namespace ringleader::proxy::memcached
