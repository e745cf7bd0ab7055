#!/usr/bin/env bash
# Regenerates the man pages and shell completion scripts under dist/ from the
# clap definitions (crates/cli/src/cli.rs, crates/daemon/src/cli.rs):
#
#   bash scripts/generate-dist.sh
#
# A unit test of signet-cli (cmd/manual.rs) fails while dist/ differs from
# what the current build generates, so run this after changing a command or
# an option, and commit the result.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
cargo build -p signet-cli --bin signet
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
signet="$target_dir/debug/signet"
rm -rf dist/man dist/completions
"$signet" man --dir dist/man
"$signet" completions --dir dist/completions
