#!/usr/bin/env bash
# Installs dependencies, builds ringleader, validates the example configs, shows where keys
# live, and measures what membership changes cost. Idempotent; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

echo "== build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target ringleader ringleader-churn

RL=build/app/ringleader
echo
echo "== ringleader check: every example config"
for conf in conf/*.toml; do "$RL" check -c "$conf"; done

echo
echo "== ringleader lookup: where keys live under conf/redis.toml (key, hash, replicas)"
"$RL" lookup -c conf/redis.toml user:1 user:2 user:3 "cart:{user:1}" "{user:1}:profile"

echo
echo "== what a membership change costs (exact share of the key space, 1M sampled keys)"
build/bench/ringleader-churn --algorithm vnode --backends 100 --vnodes 160 --replicas 3
echo
build/bench/ringleader-churn --algorithm maglev --backends 100 --replicas 3
echo
build/bench/ringleader-churn --algorithm ketama --backends 100 --replicas 1
