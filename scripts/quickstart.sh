#!/usr/bin/env bash
# Installs dependencies, builds ringleader, starts a local demo: four redis-servers and three
# ringleader instances forming a Raft group (all on 127.0.0.1), shows keys spreading over the
# backends with two copies each, adds a fifth backend live and shows the ring epoch move on all
# three, then stops a backend and reads every key through its other replica; then the same
# with memcached and pymemcache.
# Also checks the example configs and shows what membership changes cost.
# Idempotent: a second run stops the previous demo first. `scripts/quickstart.sh stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEMO="$ROOT/.demo"
PROXY_PORT=7380    # instances n1..n3 listen on 7380..7382
ADMIN_PORT=7390    # admin APIs on 7390..7392
RAFT_PORT=7395     # membership (Raft) on 7395..7397
BACKEND_PORTS=(7401 7402 7403 7404)
SPARE_PORT=7405    # the fifth backend, added live
MC_PORTS=(7411 7412 7413)  # memcached backends
MC_PROXY_PORT=7420         # a ringleader speaking the memcached protocol
MC_ADMIN_PORT=7421

stop_demo() {
  [[ -d "$DEMO" ]] || return 0
  local stopping=()
  for pidfile in "$DEMO"/*.pid; do
    [[ -e "$pidfile" ]] || continue
    pid=$(cat "$pidfile")
    # Only a process of the demo: after a reboot the number may be another program's.
    if kill -0 "$pid" 2>/dev/null &&
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq 'redis-server|memcached|ringleader'; then
      kill "$pid" 2>/dev/null || true
      stopping+=("$pid")
    fi
    rm -f "$pidfile"
  done
  # All were asked at once; each gets up to 5 s to finish.
  for pid in "${stopping[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
}

if [[ "${1:-}" == "stop" ]]; then
  stop_demo
  echo "demo stopped"
  exit 0
fi

scripts/deps.sh

echo "== build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target ringleader ringleader-churn
RL="$ROOT/build/app/ringleader"

echo
echo "== ringleader check: every example config"
for conf in conf/*.toml; do "$RL" check -c "$conf"; done

echo
echo "== demo: 4 redis-servers and a 3-instance ringleader Raft cluster on 127.0.0.1"
stop_demo
rm -rf "$DEMO"
mkdir -p "$DEMO"
for port in "${BACKEND_PORTS[@]}" "$SPARE_PORT" $PROXY_PORT $((PROXY_PORT + 1)) $((PROXY_PORT + 2)) \
  $ADMIN_PORT $((ADMIN_PORT + 1)) $((ADMIN_PORT + 2)) $RAFT_PORT $((RAFT_PORT + 1)) $((RAFT_PORT + 2)) \
  "${MC_PORTS[@]}" $MC_PROXY_PORT $MC_ADMIN_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port on 127.0.0.1 is taken by another program; the demo needs it" >&2
    exit 1
  fi
done
for port in "${BACKEND_PORTS[@]}" "$SPARE_PORT"; do
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$DEMO" \
    --daemonize no >"$DEMO/redis-$port.log" 2>&1 &
  echo $! >"$DEMO/redis-$port.pid"
done
for port in "${BACKEND_PORTS[@]}" "$SPARE_PORT"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
for i in 1 2 3; do
  {
    echo "[proxy]"
    echo "listen = \"127.0.0.1:$((PROXY_PORT + i - 1))\""
    echo "workers = 1"
    echo "[admin]"
    echo "listen = \"127.0.0.1:$((ADMIN_PORT + i - 1))\""
    echo "[membership]"
    echo "mode = \"raft\""
    echo "node_id = \"n$i\""
    echo "listen = \"127.0.0.1:$((RAFT_PORT + i - 1))\""
    echo "peers = [\"n1@127.0.0.1:$RAFT_PORT\", \"n2@127.0.0.1:$((RAFT_PORT + 1))\", \"n3@127.0.0.1:$((RAFT_PORT + 2))\"]"
    echo "data_dir = \"$DEMO/data-n$i\""
    echo "secret = \"demo-secret\""
    echo "election_timeout_ms = 500"
    echo "heartbeat_ms = 50"
    echo "[ring]"
    echo "replicas = 2"
    echo "[replication]"
    echo "write = \"all\""
    echo "read = \"primary\""
    echo "miss_failover = true"
    echo "[log]"
    echo "level = \"warn\""
    for j in 0 1 2 3; do
      echo "[[backends]]"
      echo "name = \"redis-$j\""
      echo "address = \"127.0.0.1:${BACKEND_PORTS[$j]}\""
    done
  } >"$DEMO/n$i.toml"
  "$RL" serve -c "$DEMO/n$i.toml" >"$DEMO/n$i.log" 2>&1 &
  echo $! >"$DEMO/ringleader-n$i.pid"
done
for i in 0 1 2; do
  for _ in $(seq 200); do redis-cli -p $((PROXY_PORT + i)) ping >/dev/null 2>&1 && break; sleep 0.05; done
done

echo "writing 1000 keys through instance n1 (redis-cli -p $PROXY_PORT):"
for i in $(seq 1 1000); do echo "SET user:$i value-$i"; done | redis-cli -p $PROXY_PORT >/dev/null
echo "  MGET user:1 user:2 user:3 via n2 -> $(redis-cli -p $((PROXY_PORT + 1)) MGET user:1 user:2 user:3 | tr '\n' ' ')"
echo "  each key lives on 2 backends (ring.replicas = 2, replication.write = \"all\"):"
for port in "${BACKEND_PORTS[@]}"; do
  echo "  backend 127.0.0.1:$port holds $(redis-cli -p "$port" DBSIZE) keys"
done
echo "  DBSIZE through n3 (every copy counted) -> $(redis-cli -p $((PROXY_PORT + 2)) DBSIZE)"

epoch_of() {  # ring epoch of instance n$(( $1 + 1 ))
  "$RL" ctl --admin 127.0.0.1:$((ADMIN_PORT + $1)) --json ring | sed -n 's/.*"epoch":\([0-9]*\).*/\1/p'
}
epochs() {
  for i in 0 1 2; do
    printf '  n%d: epoch %s\n' $((i + 1)) "$(epoch_of "$i")"
  done
}
echo
echo "== ringleader ctl cluster status (n2)"
"$RL" ctl --admin 127.0.0.1:$((ADMIN_PORT + 1)) cluster status
echo
echo "ring epochs before the change:"
epochs
echo
echo "== adding a fifth backend live, through n3's admin API:"
"$RL" ctl --admin 127.0.0.1:$((ADMIN_PORT + 2)) backends add redis-4 127.0.0.1:$SPARE_PORT
# The add answers once n3 applied the change; the other instances apply it as soon as the
# leader tells them it committed (a round trip). Wait for that before writing through n1.
new_epoch=$(epoch_of 2)
for attempt in $(seq 101); do
  (($(epoch_of 0) >= new_epoch && $(epoch_of 1) >= new_epoch)) && break
  if ((attempt == 101)); then echo "  (n1 or n2 has not applied epoch $new_epoch after 5 s)"; fi
  sleep 0.05
done
echo "ring epochs after the change (the same on every instance):"
epochs
ok=$(for i in $(seq 1001 2000); do echo "SET user:$i value-$i"; done |
  redis-cli -p $PROXY_PORT | grep -c '^OK' || true)
echo "  1000 more keys ($ok answered OK): the new backend holds $(redis-cli -p "$SPARE_PORT" DBSIZE)"
"$RL" ctl --admin 127.0.0.1:$ADMIN_PORT ring

echo
DOWN_PORT=${BACKEND_PORTS[0]}
echo "== one backend down: stopping redis-server 127.0.0.1:$DOWN_PORT"
kill "$(cat "$DEMO/redis-$DOWN_PORT.pid")"
for _ in $(seq 100); do redis-cli -p "$DOWN_PORT" ping >/dev/null 2>&1 || break; sleep 0.05; done
# No data moved when the fifth backend joined: keys whose new primary is redis-4 are read from
# their other replica (miss_failover), and keys on the stopped backend from theirs.
found=$(for i in $(seq 1 2000); do echo "GET user:$i"; done |
  redis-cli -p $((PROXY_PORT + 1)) | grep -c '^value-' || true)
echo "  reading all 2000 keys through n2: $found found. A read whose replica is down or empty goes"
echo "  to the key's other replica (replication.miss_failover = true). ringleader moves no data:"
echo "  the misses are keys whose only live copy is no longer in their replica set (the fifth"
echo "  backend took a place, or n2 ejected the stopped backend and the set moved on)."
redis-server --port "$DOWN_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DEMO" \
  --daemonize no >>"$DEMO/redis-$DOWN_PORT.log" 2>&1 &
echo $! >"$DEMO/redis-$DOWN_PORT.pid"
echo "  restarted it (empty: ringleader does not repair replicas that missed writes)"

echo
echo "== memcached: 3 memcacheds and a ringleader speaking their protocol (127.0.0.1:$MC_PROXY_PORT)"
MC_USER=()
if [[ $(id -u) == 0 ]]; then MC_USER=(-u root); fi  # memcached refuses root without -u
for port in "${MC_PORTS[@]}"; do
  memcached -l 127.0.0.1 -p "$port" -U 0 -m 64 -t 1 "${MC_USER[@]}" >"$DEMO/memcached-$port.log" 2>&1 &
  echo $! >"$DEMO/memcached-$port.pid"
done
{
  echo "[proxy]"
  echo "listen = \"127.0.0.1:$MC_PROXY_PORT\""
  echo "protocol = \"memcached\""
  echo "workers = 1"
  echo "[admin]"
  echo "listen = \"127.0.0.1:$MC_ADMIN_PORT\""
  echo "[ring]"
  echo "replicas = 2"
  echo "[log]"
  echo "level = \"warn\""
  for j in 0 1 2; do
    echo "[[backends]]"
    echo "name = \"mc-$j\""
    echo "address = \"127.0.0.1:${MC_PORTS[$j]}\""
  done
} >"$DEMO/memcached.toml"
"$RL" serve -c "$DEMO/memcached.toml" >"$DEMO/memcached-proxy.log" 2>&1 &
echo $! >"$DEMO/ringleader-memcached.pid"
# Debian's python3, which has python3-pymemcache (not whatever python3 is first on PATH).
/usr/bin/python3 - "$MC_PROXY_PORT" "$DEMO/memcached-${MC_PORTS[0]}.pid" "${MC_PORTS[@]}" <<'PY'
import os, signal, sys, time
from pymemcache.client.base import Client
proxy, down_pid, ports = int(sys.argv[1]), sys.argv[2], [int(p) for p in sys.argv[3:]]
def client(port):
    for _ in range(200):
        try:
            c = Client(("127.0.0.1", port), timeout=5)
            c.version()
            return c
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing answers on 127.0.0.1:{port}")
c = client(proxy)
keys = [f"item:{i}" for i in range(1000)]
c.set_many({k: f"value-{k}" for k in keys})
print(f"  pymemcache set 1000 items; get_many of 3: {c.get_many(keys[:3])}")
for port in ports:
    print(f"  memcached 127.0.0.1:{port} holds {client(port).stats()[b'curr_items']} items")
with open(down_pid) as f:
    os.kill(int(f.read()), signal.SIGTERM)
time.sleep(0.3)
found = len(c.get_many(keys))
print(f"  memcached 127.0.0.1:{ports[0]} stopped: get_many of the 1000 keys finds {found}")
PY
memcached -l 127.0.0.1 -p "${MC_PORTS[0]}" -U 0 -m 64 -t 1 "${MC_USER[@]}" \
  >>"$DEMO/memcached-${MC_PORTS[0]}.log" 2>&1 &
echo $! >"$DEMO/memcached-${MC_PORTS[0]}.pid"
echo "  restarted it (empty, as a restarted cache is)"

echo
echo "== what a membership change costs (exact share of the key space, 1M sampled keys)"
build/bench/ringleader-churn --algorithm vnode --backends 100 --vnodes 160 --replicas 3
echo
build/bench/ringleader-churn --algorithm maglev --backends 100 --replicas 3

echo
echo "The demo keeps running: redis-cli -p $PROXY_PORT (or $((PROXY_PORT + 1)), $((PROXY_PORT + 2))),"
echo "memcached clients on 127.0.0.1:$MC_PROXY_PORT,"
echo "build/app/ringleader ctl --admin 127.0.0.1:$ADMIN_PORT cluster status. Stop it: scripts/quickstart.sh stop"
