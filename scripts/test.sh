#!/usr/bin/env bash
# Runs Branchline's checks and tests: formatting, go vet, staticcheck, then
# every test with the race detector, the UI tests headless (-tags ci).
# Pass -short to skip the slowest tests.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet -tags ci ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags ci ./...
# The Mastodon connector's end-to-end tests run a real GoToSocial on
# 127.0.0.1:8080: build it once (minutes the first time, cached outside the
# repository) and make those tests fail, not skip, if it cannot start.
gts=$(scripts/gotosocial.sh)
export BRANCHLINE_GOTOSOCIAL="${gts%%$'\n'*}" BRANCHLINE_GOTOSOCIAL_DIR="${gts#*$'\n'}" BRANCHLINE_REQUIRE_GOTOSOCIAL=1
go test -race -tags ci,migrated_fynedo -timeout 30m "$@" ./...
