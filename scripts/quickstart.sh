#!/usr/bin/env bash
# Installs dependencies, builds ringleader, starts a local demo: three redis-servers and one
# ringleader in front of them (all on 127.0.0.1), and shows keys spreading over the backends.
# Also checks the example configs and shows what membership changes cost.
# Idempotent: a second run stops the previous demo first. `scripts/quickstart.sh stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEMO="$ROOT/.demo"
PROXY_PORT=7380
BACKEND_PORTS=(7381 7382 7383)

stop_demo() {
  if [[ -d "$DEMO" ]]; then
    for pidfile in "$DEMO"/*.pid; do
      [[ -e "$pidfile" ]] || continue
      pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$pidfile"
    done
  fi
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
echo "== demo: 3 redis-servers and ringleader on 127.0.0.1"
stop_demo
mkdir -p "$DEMO"
for port in "${BACKEND_PORTS[@]}"; do
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$DEMO" \
    --daemonize no >"$DEMO/redis-$port.log" 2>&1 &
  echo $! >"$DEMO/redis-$port.pid"
done
cat >"$DEMO/ringleader.toml" <<TOML
[proxy]
listen = "127.0.0.1:$PROXY_PORT"
workers = 2

[admin]
listen = "127.0.0.1:7390"

[ring]
algorithm = "vnode"
vnodes = 160

[[backends]]
name = "redis-a"
address = "127.0.0.1:${BACKEND_PORTS[0]}"

[[backends]]
name = "redis-b"
address = "127.0.0.1:${BACKEND_PORTS[1]}"

[[backends]]
name = "redis-c"
address = "127.0.0.1:${BACKEND_PORTS[2]}"
TOML
for port in "${BACKEND_PORTS[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
"$RL" serve -c "$DEMO/ringleader.toml" >"$DEMO/ringleader.log" 2>&1 &
echo $! >"$DEMO/ringleader.pid"
for _ in $(seq 100); do redis-cli -p $PROXY_PORT ping >/dev/null 2>&1 && break; sleep 0.05; done

echo "writing 1000 keys through ringleader (redis-cli -p $PROXY_PORT):"
for i in $(seq 1 1000); do echo "SET user:$i value-$i"; done | redis-cli -p $PROXY_PORT >/dev/null
echo "  MGET user:1 user:2 user:3 -> $(redis-cli -p $PROXY_PORT MGET user:1 user:2 user:3 | tr '\n' ' ')"
echo "  DBSIZE through ringleader -> $(redis-cli -p $PROXY_PORT DBSIZE)"
for port in "${BACKEND_PORTS[@]}"; do
  echo "  backend 127.0.0.1:$port holds $(redis-cli -p "$port" DBSIZE) keys"
done
echo "  where user:1 lives: $("$RL" lookup -c "$DEMO/ringleader.toml" user:1 | cut -f3)"

echo
echo "== what a membership change costs (exact share of the key space, 1M sampled keys)"
build/bench/ringleader-churn --algorithm vnode --backends 100 --vnodes 160 --replicas 3
echo
build/bench/ringleader-churn --algorithm maglev --backends 100 --replicas 3

echo
echo "The demo keeps running: redis-cli -p $PROXY_PORT. Stop it with: scripts/quickstart.sh stop"
