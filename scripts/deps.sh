#!/usr/bin/env bash
# Installs the Debian 12 packages ringleader needs to build, test and benchmark.
# Idempotent: does nothing when every package is already installed. Run as root.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang-format
  # HMAC-SHA256 (libcrypto) authenticates the frames between membership peers
  libssl-dev
  libuv1-dev libxxhash-dev prometheus-cpp-dev libtomlplusplus-dev
  # io_uring: a worker hands each loop iteration's socket writes to the kernel at once
  liburing-dev
  # JSON in and out of the admin API and ringleader ctl
  nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # tests and benchmarks: real servers and clients
  redis-server redis-tools memcached libmemcached-tools nutcracker prometheus
  python3 python3-redis python3-pymemcache
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Packaged services must not start on install: tests start their own on free ports. The
# policy file is removed however the install ends; one left by an interrupted earlier run
# (it carries the marker) is taken as this run's.
POLICY=/usr/sbin/policy-rc.d
MARKER="# added by ringleader scripts/deps.sh for the install"
if [[ ! -e $POLICY ]] || grep -qxF "$MARKER" "$POLICY"; then
  printf '#!/bin/sh\n%s\nexit 101\n' "$MARKER" | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
