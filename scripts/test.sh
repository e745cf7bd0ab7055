#!/usr/bin/env bash
# signet's test command: everything CI tests, in one command.
#
#   bash scripts/test.sh
#
# 1. installs the test dependencies (scripts/install-test-deps.sh);
# 2. builds the binaries the integration tests start (signetd, signet);
# 3. runs every Rust test in the workspace (unit and integration tests with
#    cargo-nextest, one process per test; then the doc tests);
# 4. runs the Python adapter's tests, the real-agent ones against a signetd
#    started here with one key, then the same header and import-hook tests
#    against the oldest and the newest supported encord (python/tools/sdk_range.sh).
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

# Every test in its own process (cargo-nextest), then the doc tests, which
# nextest does not run. The CLI snapshot suite (trycmd: tests/cmd/*/*.toml,
# driven by tests/it/snapshots.rs) runs here too, against the binaries just
# built; `TRYCMD=overwrite` rewrites the snapshots after an intended change.
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest" >&2
  cargo install cargo-nextest --locked
fi
profile=default
[[ -n "${CI:-}" ]] && profile=ci
echo "==> cargo nextest run --workspace" >&2
cargo nextest run --workspace --profile "$profile"
echo "==> cargo test --workspace --doc" >&2
cargo test --workspace --doc

if [[ -d python/tests ]]; then
  # The Python tests start the real signetd from $SIGNET_BIN_DIR themselves
  # (python/tests/_signetd.py); with this set, a missing binary fails them
  # instead of skipping them.
  export SIGNET_REQUIRE_REAL_AGENT=1
  echo "==> pytest python/tests" >&2
  # pytest exits 5 when it collects no tests: a suite that ran nothing is a failure here.
  .venv/bin/pytest python/tests -q
  # The declared encord range at both ends, each in its own virtualenv: the
  # oldest release, and the newest on PyPI as a canary (skipped when PyPI is
  # unreachable; fails when the SDK's headers diverge from SignetConfig's).
  echo "==> python/tools/sdk_range.sh" >&2
  bash python/tools/sdk_range.sh
fi

echo "==> scripts/test.sh: all tests passed" >&2
