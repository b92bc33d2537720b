#!/usr/bin/env bash
# Installs what Branchline's build and tests need on Debian or Ubuntu when
# it is missing: a C compiler and the X11/OpenGL headers for Fyne's cgo
# build, and Xvfb for running the app without a screen. Sourced by run.sh
# and test.sh.
set -euo pipefail

missing=()
for pkg in gcc pkg-config libgl1-mesa-dev xorg-dev xvfb xauth; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "Installing ${missing[*]} …" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "Branchline needs Go 1.26 or newer: install it from https://go.dev/dl/ and put it on PATH." >&2
  exit 1
fi
export CGO_ENABLED=1
