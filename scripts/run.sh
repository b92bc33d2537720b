#!/usr/bin/env bash
# Builds and starts Branchline. With no data folder set up, it opens the
# demo location. Arguments are passed on: scripts/run.sh --data DIR, or a
# command such as scripts/run.sh inbox.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

mkdir -p .cache/bin
go build -tags migrated_fynedo -o .cache/bin/branchline ./cmd/branchline

case "${LANG:-C}" in C | POSIX | C.*) export LANG=en_US.UTF-8 ;; esac
if [ $# -eq 0 ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: starting Branchline under Xvfb (invisible). Set DISPLAY to see the window." >&2
  exec xvfb-run -a -s "-screen 0 1280x800x24" .cache/bin/branchline
fi
exec .cache/bin/branchline "$@"
