#!/usr/bin/env bash
# Measures the desktop app's start with 1,000,000 messages stored: the
# time from the process's start to the first frame drawn, and the
# resident memory then and at most. Builds the data folder once (about
# two minutes; cached in .cache/bench/app-1m). Runs under Xvfb.
#
#   scripts/bench-startup.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
if [ ! -x /usr/bin/time ]; then
  sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq time >/dev/null
fi
runs=${1:-5}
mkdir -p .cache/bin .cache/bench
go build -tags migrated_fynedo -o .cache/bin/branchline ./cmd/branchline
go run ./internal/benchdata/seed .cache/bench/app-1m

case "${LANG:-C}" in C | POSIX | C.*) export LANG=en_US.UTF-8 ;; esac
Xvfb :97 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
sleep 1
for i in $(seq "$runs"); do
  # Drop the page cache when allowed, for a cold start; else it is warm.
  sync; echo 3 2>/dev/null >/proc/sys/vm/drop_caches && cache=cold || cache=warm
  out=$(DISPLAY=:97 BRANCHLINE_FIRST_FRAME=1 /usr/bin/time -v .cache/bin/branchline --data .cache/bench/app-1m 2>&1)
  frame=$(grep -o 'first frame after .*' <<<"$out" || echo "no first frame: $out")
  peak=$(grep 'Maximum resident set size' <<<"$out" | awk '{print $NF}')
  echo "run $i ($cache page cache): $frame; peak resident $((peak / 1024)) MB"
done
