#!/usr/bin/env bash
# signet's test command: everything CI tests, in one command.
#
#   bash scripts/test.sh
#
# 1. installs the test dependencies (scripts/install-test-deps.sh);
# 2. builds the binaries the integration tests start (signetd, signet);
# 3. runs every Rust test in the workspace (unit, integration, doc);
# 4. runs the Python adapter's tests, the real-agent ones against a signetd
#    started here with one key.
# Exits non-zero if any step fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash scripts/install-test-deps.sh

echo "==> cargo build --workspace --bins" >&2
cargo build --workspace --bins

# The integration tests start these binaries; name them explicitly.
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
export SIGNET_BIN_DIR="$target_dir/debug"

echo "==> cargo test --workspace" >&2
cargo test --workspace

if [[ -d python/tests ]]; then
  # The Python adapter's real-agent tests need a running signetd holding
  # exactly one key: start one in a private directory, stop it afterwards.
  py_tmp="$(mktemp -d "${TMPDIR:-/tmp}/signet-pytest.XXXXXX")"
  chmod 0700 "$py_tmp"
  signetd_pid=""
  cleanup() {
    if [[ -n "$signetd_pid" ]]; then
      kill "$signetd_pid" 2>/dev/null || true
      wait "$signetd_pid" 2>/dev/null || true
    fi
    rm -rf "$py_tmp"
  }
  trap cleanup EXIT
  sock="$py_tmp/agent.sock"
  "$SIGNET_BIN_DIR/signetd" --socket "$sock" --log-level debug 2>"$py_tmp/signetd.log" </dev/null &
  signetd_pid=$!
  for _ in $(seq 100); do
    [[ -S "$sock" ]] && break
    sleep 0.1
  done
  if [[ ! -S "$sock" ]]; then
    echo "signetd did not start for the Python tests:" >&2
    cat "$py_tmp/signetd.log" >&2
    exit 1
  fi
  ssh-keygen -q -t ed25519 -N '' -C python-tests -f "$py_tmp/key"
  SSH_AUTH_SOCK="$sock" ssh-add -q "$py_tmp/key"
  rm -f "$py_tmp/key"

  echo "==> pytest python/tests (SIGNET_TEST_SOCKET=$sock)" >&2
  # pytest exits 5 when it collects no tests: not a failure while the suite is empty.
  set +e
  SIGNET_TEST_SOCKET="$sock" .venv/bin/pytest python/tests -q
  status=$?
  set -e
  if [[ $status -eq 5 ]]; then
    echo "pytest: no Python tests collected" >&2
  elif [[ $status -ne 0 ]]; then
    echo "--- signetd log" >&2
    cat "$py_tmp/signetd.log" >&2
    exit "$status"
  fi
fi

echo "==> scripts/test.sh: all tests passed" >&2
