// `ringleader lookup -c FILE [--stdin] [--] [KEY...]`: where keys live under a configuration's
// static ring, computed offline. One line per key: KEY, TAB, hash, TAB, replica names
// (primary first) separated by commas. With --stdin, keys are read one per line. The key is
// printed escaped (common/printable.h): a backslash, TAB, newline, CR or other control byte
// in it shows as \\, \t, \n, \r or \xHH, so each key takes one line and one column.
#include <cstdio>
#include <iostream>
#include <string>

#include "commands.h"
#include "common/printable.h"

namespace ringleader::app {
namespace {

void print_key(const ring::Ring& ring, const std::string& key) {
  uint64_t h = ring.hash(key);
  const std::string shown = escaped(key);
  std::fwrite(shown.data(), 1, shown.size(), stdout);
  std::printf("\t%llu\t", static_cast<unsigned long long>(h));
  ring::ReplicaSet set = ring.replicas(h);
  if (set.empty()) std::fputs("-", stdout);
  for (uint32_t i = 0; i < set.size(); ++i) {
    if (i > 0) std::fputc(',', stdout);
    std::fputs(ring.backend(set[i]).name.c_str(), stdout);
  }
  std::fputc('\n', stdout);
}

}  // namespace

int run_lookup(const std::vector<std::string>& args) {
  std::string path;
  bool from_stdin = false;
  std::vector<std::string> keys;
  // A word starting with '-' is an option; after "--" every word is a key, so keys that
  // start with '-' can be looked up. A misspelt option is a usage error, not a key.
  bool bad_usage = false, keys_only = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (keys_only || args[i].empty() || args[i][0] != '-') {
      keys.push_back(args[i]);
    } else if (args[i] == "--") {
      keys_only = true;
    } else if ((args[i] == "-c" || args[i] == "--config") && i + 1 < args.size() && path.empty()) {
      path = args[++i];
    } else if (args[i] == "--stdin") {
      from_stdin = true;
    } else {
      bad_usage = true;
    }
  }
  if (bad_usage || path.empty() || (keys.empty() && !from_stdin)) {
    std::fprintf(stderr, "usage: ringleader lookup -c FILE [--stdin] [--] [KEY...]\n");
    return 2;
  }
  config::LoadResult loaded = config::load_file(path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors)
      std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 1;
  }
  auto ring = ring_from_config(loaded.config);
  if (!ring) {
    std::fprintf(stderr, "%s\n", ring.error().c_str());
    return 1;
  }
  if (loaded.config.membership.mode != config::MembershipMode::kStatic) {
    // On stderr, so that scripts reading the placement on stdout are not disturbed.
    std::fprintf(stderr,
                 "%s: note: membership.mode is \"raft\": this is the placement of the file's "
                 "seed; the live ring may differ (ringleader ctl lookup KEY asks a running "
                 "instance)\n",
                 path.c_str());
  }
  for (const auto& k : keys)
    print_key(*ring.value(), k);
  if (from_stdin) {
    std::string line;
    while (std::getline(std::cin, line))
      print_key(*ring.value(), line);
  }
  return 0;
}

}  // namespace ringleader::app
