// The command table: every Redis 7.0 command ringleader knows, grouped by what it works on.
// Arity, flags and legacy first/last/step are Redis 7.0's (tests compare them with a live
// redis-server); routing, merge and refusal reasons are ringleader's decisions.
#include "proxy/redis/command_table.h"

#include <array>
#include <cstddef>
#include <cstdint>

#include "ascii.h"

namespace ringleader::proxy::redis {
namespace {

using F = CommandFlag;
constexpr F k0 = F::kNone;
constexpr F kR = F::kRead;
constexpr F kW = F::kWrite;
constexpr F kM = F::kDenyOom;
constexpr F kA = F::kAdmin;
constexpr F kP = F::kPubSub;
constexpr F kNS = F::kNoScript;
constexpr F kB = F::kBlocking;
constexpr F kL = F::kLoading;
constexpr F kS = F::kStale;
constexpr F kFa = F::kFast;
constexpr F kNA = F::kNoAuth;
constexpr F kMV = F::kMovableKeys;
constexpr F kC = F::kChanges;

// ---- Key specs ---------------------------------------------------------------------------

constexpr KeySpec no_keys() {
  return {};
}
constexpr KeySpec key_at(int8_t index) {
  return {KeySearch::kRange, index, index, 1};
}
constexpr KeySpec key_range(int8_t first, int8_t last, int8_t step) {
  return {KeySearch::kRange, first, last, step};
}
// `numkeys` at `at`, that many keys after it, checked by `rule`. `dest` adds a fixed key before.
constexpr KeySpec numkeys_at(int8_t at, NumkeysRule rule) {
  return {KeySearch::kNumkeys, 0, 0, 0, at, rule, 0};
}
constexpr KeySpec dest_then_numkeys_at(int8_t dest, int8_t at, NumkeysRule rule) {
  return {KeySearch::kNumkeys, dest, dest, 1, at, rule, 0};
}
constexpr KeySpec streams() {
  return {KeySearch::kStreams, 0, 0, 0, 0, NumkeysRule::kScript, 1};
}
constexpr KeySpec sort_store() {
  return {KeySearch::kSortStore, 1, 1, 1, 0, NumkeysRule::kScript, 2};
}
constexpr KeySpec migrate_keys() {
  return {KeySearch::kMigrate, 3, 3, 1, 0, NumkeysRule::kScript, 6};
}
constexpr KeySpec geo_store(int8_t options_from) {
  return {KeySearch::kGeoStore, 1, 1, 1, 0, NumkeysRule::kScript, options_from};
}

// ---- Entries -----------------------------------------------------------------------------

// ringleader's flags follow from the key spec, so they cannot disagree with it.
constexpr CommandFlag derived_flags(CommandFlag flags, const KeySpec& keys) {
  switch (keys.search) {
    case KeySearch::kNone:
      return flags | F::kNoKey;
    case KeySearch::kRange:
      return keys.first != keys.last ? flags | F::kMultiKey : flags;
    case KeySearch::kNumkeys:
    case KeySearch::kStreams:
    case KeySearch::kSortStore:
    case KeySearch::kGeoStore:
      return flags | F::kMultiKey | F::kMovableKeys;
    case KeySearch::kMigrate:
      return flags | F::kMovableKeys;
  }
  return flags;
}

constexpr CommandSpec entry(std::string_view name, int16_t arity, CommandFlag flags, KeySpec keys,
                            Routing routing, Merge merge = Merge::kNone,
                            std::string_view reason = {},
                            std::span<const CommandSpec> subcommands = {}) {
  return CommandSpec{name,   arity,      derived_flags(flags, keys), keys, routing, merge,
                     reason, subcommands};
}

// Forwarded to the owner of the key at args[index].
constexpr CommandSpec single(std::string_view name, int16_t arity, CommandFlag flags,
                             int8_t index = 1) {
  return entry(name, arity, flags, key_at(index), Routing::kSingleKey);
}
constexpr CommandSpec together(std::string_view name, int16_t arity, CommandFlag flags,
                               KeySpec keys) {
  return entry(name, arity, flags, keys, Routing::kKeysTogether);
}
constexpr CommandSpec split(std::string_view name, int16_t arity, CommandFlag flags, KeySpec keys,
                            Routing routing, Merge merge) {
  return entry(name, arity, flags, keys, routing, merge);
}
constexpr CommandSpec script(std::string_view name, int16_t arity, CommandFlag flags,
                             NumkeysRule rule) {
  return entry(name, arity, flags, numkeys_at(2, rule), Routing::kScript);
}
constexpr CommandSpec local(std::string_view name, int16_t arity, CommandFlag flags,
                            std::span<const CommandSpec> subcommands = {}) {
  return entry(name, arity, flags, no_keys(), Routing::kProxyLocal, Merge::kNone, {}, subcommands);
}
constexpr CommandSpec fanout(std::string_view name, int16_t arity, CommandFlag flags, Merge merge) {
  return entry(name, arity, flags, no_keys(), Routing::kFanout, merge);
}
constexpr CommandSpec refuse(std::string_view name, int16_t arity, CommandFlag flags,
                             std::string_view reason, KeySpec keys = no_keys(),
                             std::span<const CommandSpec> subcommands = {}) {
  return entry(name, arity, flags, keys, Routing::kUnsupported, Merge::kNone, reason, subcommands);
}

// ---- Why commands are refused (after "'name' is not supported by ringleader: ") ------------

constexpr std::string_view kBlocking =
    "blocking commands would hold a backend connection that other clients share";
constexpr std::string_view kPubSub = "pub/sub needs a connection of its own to one server";
constexpr std::string_view kTransactions =
    "transactions (MULTI/EXEC/WATCH) cannot span the backends of a pool";
constexpr std::string_view kServerAdmin =
    "it administers one server; send it to a backend directly";
constexpr std::string_view kCluster =
    "cluster and replication commands do not apply to a ringleader pool";
constexpr std::string_view kOtherDatabase = "ringleader serves database 0 only";
constexpr std::string_view kWholeKeyspace =
    "keys are spread over several backends and ringleader does not combine this answer";

// ---- Containers and their subcommands ------------------------------------------------------

constexpr CommandSpec kClientSubcommands[] = {
    local("client|getname", 2, kNS | kL | kS),  // the name CLIENT SETNAME gave
    local("client|id", 2, kNS | kL | kS),       // the proxy's number for the connection
    local("client|info", 2, kNS | kL | kS),     // the client's connection to the proxy
    local("client|setinfo", 4, kNS | kL | kS),  // Redis 7.2; clients send it on connecting
    local("client|setname", 3, kNS | kL | kS),
};
constexpr CommandSpec kCommandSubcommands[] = {
    local("command|count", 2, kL | kS),
    refuse("command|docs", -2, kL | kS,
           "command documentation is not provided by ringleader (redis-cli falls back to its "
           "own help)"),
    local("command|getkeys", -4, kL | kS),
    local("command|info", -2, kL | kS),
    local("command|list", -2, kL | kS),
};
constexpr CommandSpec kFunctionSubcommands[] = {
    fanout("function|delete", 3, kW | kNS, Merge::kAllOk),
    fanout("function|flush", -2, kW | kNS, Merge::kAllOk),
    fanout("function|load", -3, kW | kM | kNS, Merge::kAllEqual),
};
constexpr CommandSpec kMemorySubcommands[] = {
    single("memory|usage", -3, kR, 2),
};
constexpr CommandSpec kObjectSubcommands[] = {
    single("object|encoding", 3, kR, 2),
    single("object|freq", 3, kR, 2),
    single("object|idletime", 3, kR, 2),
    single("object|refcount", 3, kR, 2),
};
constexpr CommandSpec kScriptSubcommands[] = {
    fanout("script|exists", -3, kNS, Merge::kArrayAnd),
    fanout("script|flush", -2, kNS | kC, Merge::kAllOk),
    fanout("script|load", 3, kNS | kS | kC, Merge::kAllEqual),
};
constexpr CommandSpec kXgroupSubcommands[] = {
    single("xgroup|create", -5, kW | kM, 2), single("xgroup|createconsumer", 5, kW | kM, 2),
    single("xgroup|delconsumer", 5, kW, 2),  single("xgroup|destroy", 4, kW, 2),
    single("xgroup|setid", -5, kW, 2),
};
constexpr CommandSpec kXinfoSubcommands[] = {
    single("xinfo|consumers", 4, kR, 2),
    single("xinfo|groups", 3, kR, 2),
    single("xinfo|stream", -3, kR, 2),
};

// ---- The table -----------------------------------------------------------------------------

constexpr CommandSpec kCommandTable[] = {
    // ---- Single key: forwarded to the key's owner
    // Strings
    single("append", 3, kW | kM | kFa),
    single("decr", 2, kW | kM | kFa),
    single("decrby", 3, kW | kM | kFa),
    single("get", 2, kR | kFa),
    single("getdel", 2, kW | kFa),
    single("getex", -2, kW | kFa),
    single("getrange", 4, kR),
    single("getset", 3, kW | kM | kFa),
    single("incr", 2, kW | kM | kFa),
    single("incrby", 3, kW | kM | kFa),
    single("incrbyfloat", 3, kW | kM | kFa),
    single("psetex", 4, kW | kM),
    single("set", -3, kW | kM),
    single("setex", 4, kW | kM),
    single("setnx", 3, kW | kM | kFa),
    single("setrange", 4, kW | kM),
    single("strlen", 2, kR | kFa),
    single("substr", 4, kR),
    // Bitmaps
    single("bitcount", -2, kR),
    single("bitfield", -2, kW | kM),
    single("bitfield_ro", -2, kR | kFa),
    single("bitpos", -3, kR),
    single("getbit", 3, kR | kFa),
    single("setbit", 4, kW | kM),
    // Hashes
    single("hdel", -3, kW | kFa),
    single("hexists", 3, kR | kFa),
    single("hget", 3, kR | kFa),
    single("hgetall", 2, kR),
    single("hincrby", 4, kW | kM | kFa),
    single("hincrbyfloat", 4, kW | kM | kFa),
    single("hkeys", 2, kR),
    single("hlen", 2, kR | kFa),
    single("hmget", -3, kR | kFa),
    single("hmset", -4, kW | kM | kFa),
    single("hrandfield", -2, kR),
    single("hscan", -3, kR),
    single("hset", -4, kW | kM | kFa),
    single("hsetnx", 4, kW | kM | kFa),
    single("hstrlen", 3, kR | kFa),
    single("hvals", 2, kR),
    // Lists
    single("lindex", 3, kR),
    single("linsert", 5, kW | kM),
    single("llen", 2, kR | kFa),
    single("lpop", -2, kW | kFa),
    single("lpos", -3, kR),
    single("lpush", -3, kW | kM | kFa),
    single("lpushx", -3, kW | kM | kFa),
    single("lrange", 4, kR),
    single("lrem", 4, kW),
    single("lset", 4, kW | kM),
    single("ltrim", 4, kW),
    single("rpop", -2, kW | kFa),
    single("rpush", -3, kW | kM | kFa),
    single("rpushx", -3, kW | kM | kFa),
    // Sets
    single("sadd", -3, kW | kM | kFa),
    single("scard", 2, kR | kFa),
    single("sismember", 3, kR | kFa),
    single("smembers", 2, kR),
    single("smismember", -3, kR | kFa),
    single("spop", -2, kW | kFa),
    single("srandmember", -2, kR),
    single("srem", -3, kW | kFa),
    single("sscan", -3, kR),
    // Sorted sets
    single("zadd", -4, kW | kM | kFa),
    single("zcard", 2, kR | kFa),
    single("zcount", 4, kR | kFa),
    single("zincrby", 4, kW | kM | kFa),
    single("zlexcount", 4, kR | kFa),
    single("zmscore", -3, kR | kFa),
    single("zpopmax", -2, kW | kFa),
    single("zpopmin", -2, kW | kFa),
    single("zrandmember", -2, kR),
    single("zrange", -4, kR),
    single("zrangebylex", -4, kR),
    single("zrangebyscore", -4, kR),
    single("zrank", 3, kR | kFa),
    single("zrem", -3, kW | kFa),
    single("zremrangebylex", 4, kW),
    single("zremrangebyrank", 4, kW),
    single("zremrangebyscore", 4, kW),
    single("zrevrange", -4, kR),
    single("zrevrangebylex", -4, kR),
    single("zrevrangebyscore", -4, kR),
    single("zrevrank", 3, kR | kFa),
    single("zscan", -3, kR),
    single("zscore", 3, kR | kFa),
    // HyperLogLog
    single("pfadd", -2, kW | kM | kFa),
    // Geo
    single("geoadd", -5, kW | kM),
    single("geodist", -4, kR),
    single("geohash", -2, kR),
    single("geopos", -2, kR),
    single("georadius_ro", -6, kR),
    single("georadiusbymember_ro", -5, kR),
    single("geosearch", -7, kR),
    // Streams
    single("xack", -4, kW | kFa),
    single("xadd", -5, kW | kM | kFa),
    single("xautoclaim", -6, kW | kFa),
    single("xclaim", -6, kW | kFa),
    single("xdel", -3, kW | kFa),
    single("xlen", 2, kR | kFa),
    single("xpending", -3, kR),
    single("xrange", -4, kR),
    single("xrevrange", -4, kR),
    single("xsetid", -3, kW | kM | kFa),
    single("xtrim", -4, kW),
    // Keys
    single("dump", 2, kR),
    single("expire", -3, kW | kFa),
    single("expireat", -3, kW | kFa),
    single("expiretime", 2, kR | kFa),
    single("persist", 2, kW | kFa),
    single("pexpire", -3, kW | kFa),
    single("pexpireat", -3, kW | kFa),
    single("pexpiretime", 2, kR | kFa),
    single("pttl", 2, kR | kFa),
    single("restore", -4, kW | kM),
    single("ttl", 2, kR | kFa),
    single("type", 2, kR | kFa),
    // Containers whose listed subcommands name a key (OBJECT ENCODING key, XINFO STREAM key...)
    refuse("memory", -2, k0, "the MEMORY subcommand served is USAGE key", no_keys(),
           kMemorySubcommands),
    refuse("object", -2, k0,
           "the OBJECT subcommands served are ENCODING, FREQ, IDLETIME and REFCOUNT", no_keys(),
           kObjectSubcommands),
    refuse("xgroup", -2, k0,
           "the XGROUP subcommands served are CREATE, CREATECONSUMER, DELCONSUMER, DESTROY and "
           "SETID",
           no_keys(), kXgroupSubcommands),
    refuse("xinfo", -2, k0, "the XINFO subcommands served are CONSUMERS, GROUPS and STREAM",
           no_keys(), kXinfoSubcommands),

    // ---- Several keys, split per owner and merged
    split("mget", -2, kR | kFa, key_range(1, -1, 1), Routing::kSplitKeys, Merge::kArrayInKeyOrder),
    split("del", -2, kW, key_range(1, -1, 1), Routing::kSplitKeys, Merge::kIntegerSum),
    split("unlink", -2, kW | kFa, key_range(1, -1, 1), Routing::kSplitKeys, Merge::kIntegerSum),
    split("exists", -2, kR | kFa, key_range(1, -1, 1), Routing::kSplitKeys, Merge::kIntegerSum),
    split("touch", -2, kR | kFa | kC, key_range(1, -1, 1), Routing::kSplitKeys, Merge::kIntegerSum),
    split("mset", -3, kW | kM, key_range(1, -1, 2), Routing::kSplitKeyValues, Merge::kAllOk),

    // ---- Several keys that must have one owner (hash tags make them share one)
    // MSETNX is all-or-nothing: splitting it would break that.
    together("msetnx", -3, kW | kM, key_range(1, -1, 2)),
    together("lcs", -3, kR, key_range(1, 2, 1)),
    together("bitop", -4, kW | kM, key_range(2, -1, 1)),
    together("copy", -3, kW | kM, key_range(1, 2, 1)),
    together("rename", 3, kW, key_range(1, 2, 1)),
    together("renamenx", 3, kW | kFa, key_range(1, 2, 1)),
    together("sort", -2, kW | kM, sort_store()),
    together("sort_ro", -2, kR, sort_store()),
    // Lists
    together("lmove", 5, kW | kM, key_range(1, 2, 1)),
    together("rpoplpush", 3, kW | kM, key_range(1, 2, 1)),
    together("lmpop", -4, kW, numkeys_at(1, NumkeysRule::kPop)),
    // Sets
    together("sdiff", -2, kR, key_range(1, -1, 1)),
    together("sdiffstore", -3, kW | kM, key_range(1, -1, 1)),
    together("sinter", -2, kR, key_range(1, -1, 1)),
    together("sintercard", -3, kR, numkeys_at(1, NumkeysRule::kCard)),
    together("sinterstore", -3, kW | kM, key_range(1, -1, 1)),
    together("smove", 4, kW | kFa, key_range(1, 2, 1)),
    together("sunion", -2, kR, key_range(1, -1, 1)),
    together("sunionstore", -3, kW | kM, key_range(1, -1, 1)),
    // Sorted sets
    together("zdiff", -3, kR, numkeys_at(1, NumkeysRule::kZset)),
    together("zdiffstore", -4, kW | kM, dest_then_numkeys_at(1, 2, NumkeysRule::kZset)),
    together("zinter", -3, kR, numkeys_at(1, NumkeysRule::kZset)),
    together("zintercard", -3, kR, numkeys_at(1, NumkeysRule::kZset)),
    together("zinterstore", -4, kW | kM, dest_then_numkeys_at(1, 2, NumkeysRule::kZset)),
    together("zmpop", -4, kW, numkeys_at(1, NumkeysRule::kPop)),
    together("zrangestore", -5, kW | kM, key_range(1, 2, 1)),
    together("zunion", -3, kR, numkeys_at(1, NumkeysRule::kZset)),
    together("zunionstore", -4, kW | kM, dest_then_numkeys_at(1, 2, NumkeysRule::kZset)),
    // HyperLogLog
    together("pfcount", -2, kR, key_range(1, -1, 1)),
    together("pfmerge", -2, kW | kM, key_range(1, -1, 1)),
    // Geo: the _RO forms have one key; the others may STORE into a second.
    together("georadius", -6, kW | kM, geo_store(6)),
    together("georadiusbymember", -5, kW | kM, geo_store(5)),
    together("geosearchstore", -8, kW | kM, key_range(1, 2, 1)),
    // Streams (without BLOCK: key_positions refuses it)
    together("xread", -4, kR | kB, streams()),
    together("xreadgroup", -7, kW | kB, streams()),

    // ---- Scripts and functions: every key on one backend
    script("eval", -3, kNS | kS, NumkeysRule::kScript),
    script("eval_ro", -3, kR | kNS | kS, NumkeysRule::kScript),
    script("evalsha", -3, kNS | kS, NumkeysRule::kScript),
    script("evalsha_ro", -3, kR | kNS | kS, NumkeysRule::kScript),
    script("fcall", -3, kNS | kS, NumkeysRule::kFunction),
    script("fcall_ro", -3, kR | kNS | kS, NumkeysRule::kFunction),
    // Loading scripts and functions goes to every backend, so EVALSHA/FCALL find them anywhere.
    refuse("script", -2, k0,
           "the SCRIPT subcommands served are LOAD, FLUSH and EXISTS (sent to every backend)",
           no_keys(), kScriptSubcommands),
    refuse("function", -2, k0,
           "the FUNCTION subcommands served are LOAD, DELETE and FLUSH (sent to every backend)",
           no_keys(), kFunctionSubcommands),

    // ---- Answered by the proxy
    local("auth", -2, kNS | kL | kS | kFa | kNA),
    refuse("client", -2, k0,
           "only CLIENT SETNAME, GETNAME, ID, INFO and SETINFO are answered by ringleader",
           no_keys(), kClientSubcommands),
    local("command", -1, kL | kS, kCommandSubcommands),
    local("echo", 2, kL | kS | kFa),
    local("hello", -1, kNS | kL | kS | kFa | kNA),
    local("ping", -1, kFa),
    local("quit", -1, kNS | kL | kS | kFa | kNA),
    local("reset", 1, kNS | kL | kS | kFa | kNA),
    local("select", 2, kL | kS | kFa),
    local("time", 1, kL | kS | kFa),
    local("unwatch", 1, kNS | kL | kS | kFa),  // nothing is watched: WATCH is refused

    // ---- The whole keyspace: every backend, replies merged
    fanout("dbsize", 1, kR | kFa, Merge::kIntegerSum),
    fanout("flushall", -1, kW, Merge::kAllOk),
    fanout("flushdb", -1, kW, Merge::kAllOk),
    fanout("info", -1, kL | kS, Merge::kInfo),
    fanout("keys", 2, kR, Merge::kArrayConcat),
    fanout("scan", -2, kR, Merge::kScanCursor),

    // ---- Refused
    // Blocking
    refuse("blmove", 6, kW | kM | kNS | kB, kBlocking, key_range(1, 2, 1)),
    refuse("blmpop", -5, kW | kB, kBlocking, numkeys_at(2, NumkeysRule::kPop)),
    refuse("blpop", -3, kW | kNS | kB, kBlocking, key_range(1, -2, 1)),
    refuse("brpop", -3, kW | kNS | kB, kBlocking, key_range(1, -2, 1)),
    refuse("brpoplpush", 4, kW | kM | kNS | kB, kBlocking, key_range(1, 2, 1)),
    refuse("bzmpop", -5, kW | kB, kBlocking, numkeys_at(2, NumkeysRule::kPop)),
    refuse("bzpopmax", -3, kW | kNS | kB | kFa, kBlocking, key_range(1, -2, 1)),
    refuse("bzpopmin", -3, kW | kNS | kB | kFa, kBlocking, key_range(1, -2, 1)),
    // Pub/sub
    refuse("psubscribe", -2, kP | kNS | kL | kS, kPubSub),
    refuse("publish", 3, kP | kL | kS | kFa, kPubSub),
    refuse("pubsub", -2, k0, kPubSub),
    refuse("punsubscribe", -1, kP | kNS | kL | kS, kPubSub),
    refuse("spublish", 3, kP | kL | kS | kFa, kPubSub, key_at(1)),
    refuse("ssubscribe", -2, kP | kNS | kL | kS, kPubSub, key_range(1, -1, 1)),
    refuse("subscribe", -2, kP | kNS | kL | kS, kPubSub),
    refuse("sunsubscribe", -1, kP | kNS | kL | kS, kPubSub, key_range(1, -1, 1)),
    refuse("unsubscribe", -1, kP | kNS | kL | kS, kPubSub),
    // Transactions
    refuse("discard", 1, kNS | kL | kS | kFa, kTransactions),
    refuse("exec", 1, kNS | kL | kS, kTransactions),
    refuse("multi", 1, kNS | kL | kS | kFa, kTransactions),
    refuse("watch", -2, kNS | kL | kS | kFa, kTransactions, key_range(1, -1, 1)),
    // Cluster and replication
    refuse("asking", 1, kFa, kCluster),
    refuse("cluster", -2, k0, kCluster),
    refuse("failover", -1, kA | kNS | kS, kCluster),
    refuse("migrate", -6, kW | kMV, kCluster, migrate_keys()),
    refuse("psync", -3, kA | kNS, kCluster),
    refuse("readonly", 1, kL | kS | kFa, kCluster),
    refuse("readwrite", 1, kL | kS | kFa, kCluster),
    refuse("replconf", -1, kA | kNS | kL | kS, kCluster),
    refuse("replicaof", 3, kA | kNS | kS, kCluster),
    refuse("restore-asking", -4, kW | kM, kCluster, key_at(1)),
    refuse("role", 1, kNS | kL | kS | kFa, kCluster),
    refuse("slaveof", 3, kA | kNS | kS, kCluster),
    refuse("sync", 1, kA | kNS, kCluster),
    refuse("wait", 3, kNS, kCluster),
    // Other databases
    refuse("move", 3, kW | kFa, kOtherDatabase, key_at(1)),
    refuse("swapdb", 3, kW | kFa, kOtherDatabase),
    // Whole keyspace, not combined
    refuse("randomkey", 1, kR, kWholeKeyspace),
    // One server's administration
    refuse("acl", -2, k0, kServerAdmin),
    refuse("bgrewriteaof", 1, kA | kNS, kServerAdmin),
    refuse("bgsave", -1, kA | kNS, kServerAdmin),
    refuse("config", -2, k0, kServerAdmin),
    refuse("debug", -2, kA | kNS | kL | kS, kServerAdmin),
    refuse("lastsave", 1, kL | kS | kFa, kServerAdmin),
    refuse("latency", -2, k0, kServerAdmin),
    refuse("lolwut", -1, kR | kFa, kServerAdmin),
    refuse("module", -2, k0, kServerAdmin),
    refuse("monitor", 1, kA | kNS | kL | kS, kServerAdmin),
    refuse("pfdebug", 3, kW | kM | kA, kServerAdmin, key_at(2)),
    refuse("pfselftest", 1, kA, kServerAdmin),
    refuse("save", 1, kA | kNS, kServerAdmin),
    refuse("shutdown", -1, kA | kNS | kL | kS, kServerAdmin),
    refuse("slowlog", -2, k0, kServerAdmin),
};

// ---- Lookup ----------------------------------------------------------------------------------
// A compile-time open-addressing hash table over the lowercase names: a lookup lowercases the
// name on the stack while hashing it, then compares one or two candidates.

constexpr size_t kCommandCount = std::size(kCommandTable);
// Longer names are not in the table ("georadiusbymember_ro" is the longest, 20 bytes).
constexpr size_t kMaxNameLength = 32;
constexpr size_t kSlotCount = 1024;  // a power of two, over 4x the commands: short probes
constexpr uint16_t kEmptySlot = 0xffff;
static_assert(kCommandCount * 4 <= kSlotCount && kCommandCount < kEmptySlot);

// FNV-1a, 32 bits, over bytes already lowercased.
constexpr uint32_t hash_step(uint32_t hash, char c) {
  return (hash ^ static_cast<uint8_t>(c)) * 16777619u;
}
constexpr uint32_t kHashSeed = 2166136261u;
constexpr uint32_t name_hash(std::string_view lower) {
  uint32_t hash = kHashSeed;
  for (char c : lower)
    hash = hash_step(hash, c);
  return hash;
}

// slot -> index into kCommandTable, or kEmptySlot.
constexpr std::array<uint16_t, kSlotCount> kSlots = [] {
  std::array<uint16_t, kSlotCount> slots{};
  for (uint16_t& slot : slots)
    slot = kEmptySlot;
  for (size_t i = 0; i < kCommandCount; ++i) {
    size_t slot = name_hash(kCommandTable[i].name) & (kSlotCount - 1);
    while (slots[slot] != kEmptySlot)
      slot = (slot + 1) & (kSlotCount - 1);
    slots[slot] = static_cast<uint16_t>(i);
  }
  return slots;
}();

constexpr bool names_unique_lowercase_and_short() {
  for (size_t i = 0; i < kCommandCount; ++i) {
    const std::string_view name = kCommandTable[i].name;
    if (name.empty() || name.size() > kMaxNameLength) return false;
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') return false;
    }
    for (size_t j = i + 1; j < kCommandCount; ++j) {
      if (kCommandTable[j].name == name) return false;
    }
  }
  return true;
}
static_assert(names_unique_lowercase_and_short(),
              "command names must be unique, non-empty, lowercase and at most 32 bytes");

}  // namespace

std::span<const CommandSpec> all_commands() {
  return kCommandTable;
}

const CommandSpec* find_command(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return nullptr;
  char buffer[kMaxNameLength];
  uint32_t hash = kHashSeed;
  for (size_t i = 0; i < name.size(); ++i) {
    buffer[i] = ascii_lower(name[i]);
    hash = hash_step(hash, buffer[i]);
  }
  const std::string_view lower(buffer, name.size());
  for (size_t slot = hash & (kSlotCount - 1); kSlots[slot] != kEmptySlot;
       slot = (slot + 1) & (kSlotCount - 1)) {
    const CommandSpec& spec = kCommandTable[kSlots[slot]];
    if (spec.name == lower) return &spec;
  }
  return nullptr;
}

const CommandSpec* find_subcommand(const CommandSpec& container, std::string_view name) {
  for (const CommandSpec& sub : container.subcommands) {
    if (equals_lowercase(name, sub.subcommand_name())) return &sub;
  }
  return nullptr;
}

const CommandSpec* resolve_command(std::span<const std::string_view> args) {
  if (args.empty()) return nullptr;
  const CommandSpec* spec = find_command(args[0]);
  if (spec == nullptr || spec->subcommands.empty() || args.size() < 2) return spec;
  const CommandSpec* sub = find_subcommand(*spec, args[1]);
  return sub != nullptr ? sub : spec;
}

}  // namespace ringleader::proxy::redis
