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
  # The Python tests start the real signetd from $SIGNET_BIN_DIR themselves
  # (python/tests/_signetd.py); with this set, a missing binary fails them
  # instead of skipping them.
  export SIGNET_REQUIRE_REAL_AGENT=1
  echo "==> pytest python/tests" >&2
  # pytest exits 5 when it collects no tests: a suite that ran nothing is a failure here.
  .venv/bin/pytest python/tests -q
fi

echo "==> scripts/test.sh: all tests passed" >&2
