#!/usr/bin/env bash
# Go's golang.org/x/crypto/ssh/agent tests (Debian's golang-golang-x-crypto-dev,
# x/crypto 0.4.0, with Go 1.19), client side, against ssh-agent and signetd.
#
# Go's tests start the agent themselves (startOpenSSHAgent: `ssh-agent -s`
# from PATH, with an empty environment), so each run puts one agent's
# `ssh-agent` first in PATH. Only the tests that talk to that external agent
# run (TestAgent, TestCert, TestAuth, TestLockOpenSSHAgent,
# TestAgentExtensions, TestSetupForwardAgent); the others test Go's own
# in-memory keyring. tests/interop/go/signet_interop_test.go adds the same
# checks per key type and with Ed25519 keys (Go's own start with RSA/DSA).
#
# Built in GOPATH mode from a copy of Debian's sources in this run's
# directory; the build cache is kept in $INTEROP_CACHE/go-build.
set -euo pipefail
# shellcheck source=../lib.sh
source "$INTEROP_HERE/lib.sh"

suite=go
src=/usr/share/gocode/src/golang.org/x/crypto
[[ -d "$src/ssh/agent" ]] || {
  echo "$src/ssh/agent not found: install golang-golang-x-crypto-dev (tests/interop/install-deps.sh)" >&2
  exit 1
}
work="$INTEROP_RUN/go"
gopath="$work/gopath"
pkg=golang.org/x/crypto/ssh/agent
mkdir -p "$gopath/src/golang.org/x"
cp -a "$src" "$gopath/src/golang.org/x/crypto"
cp "$INTEROP_HERE/go/signet_interop_test.go" "$gopath/src/$pkg/"

export GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS='' GOPROXY=off
export GOCACHE="$INTEROP_CACHE/go-build" GOTMPDIR="$work"
mkdir -p "$GOCACHE"

# Compile once (the test binary does not depend on the agent).
go test -c -o "$work/agent.test" "$pkg"

tests='^(TestAgent|TestCert|TestAuth|TestLockOpenSSHAgent|TestAgentExtensions|TestSetupForwardAgent|TestSignetInterop.*)$'
mapfile -t names < <(cd "$gopath/src/$pkg" && "$work/agent.test" -test.list "$tests")
((${#names[@]})) || {
  echo "no test matches $tests" >&2
  exit 1
}
rc=0
for agent in $INTEROP_AGENTS; do
  out="$work/$agent.json"
  : >"$out"
  # One process per test: a Go test that fails in a goroutine after it has
  # returned (TestAuth's server does, when authentication fails) panics the
  # whole test binary. -test.count=1: never a cached result.
  for name in "${names[@]}"; do
    (cd "$gopath/src/$pkg" && PATH="$(agent_bin_dir "$agent"):$PATH" \
      with_timeout 120 go tool test2json -t "$work/agent.test" \
      -test.v -test.count=1 -test.timeout=100s -test.run "^$name\$") >>"$out" 2>>"$work/$agent.stderr" || true
  done
  python3 "$INTEROP_HERE/collect.py" go-json "$out" "$suite" "$agent" || rc=1
done
exit "$rc"
