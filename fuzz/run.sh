#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a bounded time; fails on a crash.
#
#   bash fuzz/run.sh            # every target, $SIGNET_FUZZ_SECONDS (default 60) each
#   bash fuzz/run.sh dispatch   # one target
#
# cargo-fuzz needs nightly-only compiler flags; on stable Rust
# RUSTC_BOOTSTRAP=1 enables them (no nightly toolchain is needed). The corpus
# (fuzz/corpus/<target>, not committed) starts from the frames captured from
# real OpenSSH clients in fuzz/seeds/ (see fuzz/capture-seeds.py). A crash
# leaves its input in fuzz/artifacts/<target>/ and makes this script fail;
# reproduce it with `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>`.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir"
seconds="${SIGNET_FUZZ_SECONDS:-60}"
targets=("$@")
((${#targets[@]})) || targets=(decode dispatch)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

echo "==> cargo fuzz build" >&2
cargo fuzz build

for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  cp -n seeds/*.bin "corpus/$t/"
  log="$(mktemp "${TMPDIR:-/tmp}/signet-fuzz-$t.XXXXXX")"
  echo "==> cargo fuzz run $t (${seconds}s)" >&2
  status=0
  # -rss_limit_mb: the dispatcher holds two keys and one request at a time;
  # 2 GiB is far above what it needs and catches runaway allocation.
  cargo fuzz run "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+DONE' "$log" >&2 || true
  grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/fuzz $t: /" >&2 || true
  if ((status != 0)); then
    echo "fuzz: $t failed (exit $status); its log:" >&2
    tail -60 "$log" >&2
    rm -f "$log"
    exit "$status"
  fi
  rm -f "$log"
done
echo "==> fuzz: no crashes" >&2
