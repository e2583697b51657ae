#include "proxy/memcached/command_table.h"

namespace ringleader::proxy::memcached {
namespace {

constexpr std::string_view kPerServer =
    "it acts on one memcached server, and the proxy stands for a pool of them; connect to the "
    "server directly";

constexpr CommandSpec kCommands[] = {
    {"get", CommandKind::kRetrieval, {}},
    {"gets", CommandKind::kRetrieval, {}},
    {"bget", CommandKind::kRetrieval, {}},  // memcached's other name for get
    {"gat", CommandKind::kRetrievalTouch, {}},
    {"gats", CommandKind::kRetrievalTouch, {}},
    {"set", CommandKind::kStorage, {}},
    {"add", CommandKind::kStorage, {}},
    {"replace", CommandKind::kStorage, {}},
    {"append", CommandKind::kStorage, {}},
    {"prepend", CommandKind::kStorage, {}},
    {"cas", CommandKind::kCas, {}},
    {"delete", CommandKind::kDelete, {}},
    {"incr", CommandKind::kArithmetic, {}},
    {"decr", CommandKind::kArithmetic, {}},
    {"touch", CommandKind::kTouch, {}},
    {"flush_all", CommandKind::kFlushAll, {}},
    {"version", CommandKind::kVersion, {}},
    {"verbosity", CommandKind::kVerbosity, {}},
    {"quit", CommandKind::kQuit, {}},
    {"mg", CommandKind::kMeta, {}},
    {"ms", CommandKind::kMeta, {}},
    {"md", CommandKind::kMeta, {}},
    {"ma", CommandKind::kMeta, {}},
    {"mn", CommandKind::kMetaNoop, {}},
    {"me", CommandKind::kMeta, {}},
    {"stats", CommandKind::kStats, {}},
    {"slabs", CommandKind::kUnsupported, kPerServer},
    {"lru", CommandKind::kUnsupported, kPerServer},
    {"lru_crawler", CommandKind::kUnsupported, kPerServer},
    {"watch", CommandKind::kUnsupported, kPerServer},
    {"cache_memlimit", CommandKind::kUnsupported, kPerServer},
    {"shutdown", CommandKind::kUnsupported, kPerServer},
    {"extstore", CommandKind::kUnsupported, kPerServer},
    {"misbehave", CommandKind::kUnsupported, kPerServer},
    {"debugtime", CommandKind::kUnsupported, kPerServer},
};

}  // namespace

std::span<const CommandSpec> all_commands() {
  return kCommands;
}

const CommandSpec* find_command(std::string_view name) {
  for (const CommandSpec& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace ringleader::proxy::memcached
