#!/usr/bin/env bash
# Builds the GoToSocial server that the Mastodon connector's end-to-end
# tests run on 127.0.0.1 (tools/gotosocial pins the version), once per
# version, into a cache folder outside the repository, and reuses it after.
# Prints two lines on stdout: the binary's path, then the folder
# "gotosocial testrig start" must run in (GoToSocial's module source).
# Progress goes to stderr. A cold build takes about 5.5 minutes on 2 cores.
#
#   out=$(scripts/gotosocial.sh)
#   BRANCHLINE_GOTOSOCIAL=${out%%$'\n'*} BRANCHLINE_GOTOSOCIAL_DIR=${out#*$'\n'}
set -euo pipefail
cd "$(dirname "$0")/../tools/gotosocial"

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

# GoToSocial and its sqlite fork are not in the public checksum database;
# the committed go.sum pins them instead (the go command never changes it
# here: go.mod and go.sum are read-only by default).
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/superseriousbusiness,gitlab.com/NyaaaWhatsUpDoc"

module=github.com/superseriousbusiness/gotosocial
version=$(go list -m -f '{{.Version}}' "$module")
dir=$(go list -m -f '{{.Dir}}' "$module")
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  echo "gotosocial.sh: downloading $module $version …" >&2
  go mod download "$module"
  dir=$(go list -m -f '{{.Dir}}' "$module")
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/branchline/gotosocial-$version"
bin="$cache/gotosocial"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  # One build at a time: a second caller waits for the first and reuses
  # its binary.
  exec 9>"$cache/.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if [ ! -x "$bin" ]; then
    echo "gotosocial.sh: building GoToSocial $version into $cache (several minutes the first time) …" >&2
    start=$SECONDS
    # testrig (fixed accounts and tokens, in-memory database) is compiled
    # in only with the debugenv tag.
    go build -tags debugenv -trimpath -o "$bin.tmp" "$module/cmd/gotosocial"
    mv -f "$bin.tmp" "$bin"
    echo "gotosocial.sh: built in $((SECONDS - start)) s" >&2
  fi
fi

printf '%s\n%s\n' "$bin" "$dir"
