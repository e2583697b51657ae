#include "script_registry.h"

#include <unordered_set>

#include "ring/hash.h"
#include "sha1.h"

namespace ringleader::proxy::redis {

// What one thread found: bodies (kept until a flush), and SHA-1s that were missing when the
// registry was at a given change (valid while it still is).
struct ScriptRegistry::Local {
  static constexpr size_t kMaxMisses = 1024;
  const ScriptRegistry* owner = nullptr;
  uint64_t flushes = 0;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> bodies;  // shared
  std::unordered_map<std::string, uint64_t> misses;
  std::unordered_set<uint64_t> learned;  // XXH3 of the bodies this thread passed to learn()
  size_t bytes = 0;
};

ScriptRegistry& ScriptRegistry::process() {
  static ScriptRegistry registry;
  return registry;
}

ScriptRegistry::Local& ScriptRegistry::local() {
  thread_local Local l;
  const uint64_t flushes = flushes_.load(std::memory_order_acquire);
  if (l.owner != this || l.flushes != flushes) {
    l = Local{};
    l.owner = this;
    l.flushes = flushes;
  }
  return l;
}

void ScriptRegistry::learn(std::string_view body) {
  if (body.size() > kMaxBodyBytes) return;
  // Seen by this thread since the last flush: nothing to do (an application that runs one
  // EVAL over and over costs a hash of its body, not a SHA-1 and the lock).
  Local& l = local();
  const uint64_t seen = ring::hash_xxh3(body);
  if (l.learned.count(seen) != 0) return;
  if (l.learned.size() >= kMaxScripts) l.learned.clear();
  l.learned.insert(seen);
  std::string sha = sha1_hex(body);
  std::lock_guard<std::mutex> lock(mu_);
  if (bodies_.count(sha) != 0) return;
  if (bodies_.size() >= kMaxScripts || bytes_ + body.size() > kMaxBytes) return;
  bytes_ += body.size();
  bodies_.emplace(std::move(sha), std::make_shared<const std::string>(body));
  changes_.fetch_add(1, std::memory_order_release);
}

std::optional<std::string_view> ScriptRegistry::find(std::string_view sha) {
  if (sha.size() != 40) return std::nullopt;
  std::string key(sha);
  for (char& c : key) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  Local& l = local();
  if (auto it = l.bodies.find(key); it != l.bodies.end()) return std::string_view(*it->second);
  const uint64_t changes = changes_.load(std::memory_order_acquire);
  if (auto it = l.misses.find(key); it != l.misses.end() && it->second == changes) {
    return std::nullopt;
  }
  std::shared_ptr<const std::string> body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = bodies_.find(key);
    if (it != bodies_.end()) body = it->second;
  }
  if (!body) {
    if (l.misses.size() >= Local::kMaxMisses) l.misses.clear();
    l.misses[key] = changes;
    return std::nullopt;
  }
  l.misses.erase(key);
  auto it = l.bodies.emplace(std::move(key), std::move(body)).first;
  return std::string_view(*it->second);
}

void ScriptRegistry::forget_all() {
  std::lock_guard<std::mutex> lock(mu_);
  bodies_.clear();
  bytes_ = 0;
  flushes_.fetch_add(1, std::memory_order_release);
  changes_.fetch_add(1, std::memory_order_release);
}

}  // namespace ringleader::proxy::redis
