// ScriptRegistry: Lua script bodies by their SHA-1, learned from the SCRIPT LOAD and EVAL
// requests that pass through the proxy (a body and its SHA-1 name each other, whatever the
// backends hold).
//
// What it is for: with replicas, an EVALSHA goes to every replica of its keys, and a replica
// that restarted (or was added) since the script was loaded answers NOSCRIPT while the others
// run it. The write is then partly applied, and the client, whose answer does not start with
// NOSCRIPT, never loads the script again. An EVALSHA whose body is known is sent as EVAL with
// that body instead, which runs it on every replica and loads it where it was missing.
//
// A SCRIPT FLUSH through the proxy that a backend carried out forgets every body, so EVALSHA
// answers NOSCRIPT afterwards as Redis does. Bounded: kMaxScripts bodies of kMaxBytes in all,
// each of kMaxBodyBytes at most; beyond that nothing more is learned. Each instance of a Raft
// group has its own: a script loaded through another instance is not known here. Thread-safe: the
// bodies are shared by every worker under a lock, taken only to learn a new one and on a worker's
// first look for a SHA-1 (each worker keeps what it found, and which ones were missing as of the
// registry's last change).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ringleader::proxy::redis {

class ScriptRegistry {
 public:
  static constexpr size_t kMaxScripts = 4096;
  static constexpr size_t kMaxBytes = 16 << 20;
  static constexpr size_t kMaxBodyBytes = 64 << 10;  // bigger scripts are not learned

  // The registry every worker of the process shares.
  static ScriptRegistry& process();

  // Records `body` under its SHA-1.
  void learn(std::string_view body);
  // The body named `sha` (40 hex digits, either case), or nullopt. The view stays valid until
  // this thread's next call.
  std::optional<std::string_view> find(std::string_view sha);
  // Forgets every body (SCRIPT FLUSH).
  void forget_all();

 private:
  struct Local;  // one per thread
  Local& local();

  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> bodies_;  // under mu_
  size_t bytes_ = 0;                                                            // under mu_
  std::atomic<uint64_t> changes_{1};  // bumped by every change
  std::atomic<uint64_t> flushes_{0};  // bumped by forget_all()
};

}  // namespace ringleader::proxy::redis
