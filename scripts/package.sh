#!/usr/bin/env bash
# Builds signet's Debian package with cargo-deb:
#
#   bash scripts/package.sh              # -> target/debian/signet_VERSION-1_ARCH.deb
#   bash scripts/package.sh --no-build   # package what target/release already holds
#
# 1. builds the release binaries: `cargo build --release --locked -p signet-cli
#    -p signetd`, the very command scripts/install.sh runs, so that either
#    reuses the other's build;
# 2. writes the notices of the Rust crates the binaries link statically
#    (scripts/third-party-licenses.py) next to them;
# 3. runs `cargo deb -p signet-cli --no-build`: the package is described by
#    [package.metadata.deb] in crates/cli/Cargo.toml (what goes where, the
#    maintainer scripts in packaging/deb/, the systemd units), and
#    docs/install.md says what it installs. cargo-deb is installed from
#    crates.io first if missing (`cargo install cargo-deb --locked`).
#
# Prints the path of the .deb as the last line of stdout; the stripped
# binaries' debug symbols go into signet-dbgsym_*.ddeb beside it. Install it with
# `sudo apt-get install ./target/debian/signet_*.deb`; tests/packaging/deb.sh
# installs, checks and removes it.
#
# The package's Maintainer is whoever builds it: $SIGNET_DEB_MAINTAINER, else
# "$DEBFULLNAME <$DEBEMAIL>" (Debian's usual variables), else
# "signet local build <USER@HOST>". signet has no published maintainer
# address yet, and the package should not claim one.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# The cargo-deb release this packaging is written for (3.x: units in
# /usr/lib/systemd, `target/release/` asset paths, systemd-units options).
cargo_deb_version=3.8.0

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "package.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

target_dir="${CARGO_TARGET_DIR:-$repo/target}"

if ! installed="$(cargo deb --version 2>/dev/null)"; then
  echo "==> installing cargo-deb $cargo_deb_version from crates.io" >&2
  cargo install cargo-deb --locked --version "$cargo_deb_version"
  installed="$(cargo deb --version)"
fi
# An older cargo-deb reads the same metadata differently (units under
# /lib/systemd, no unit-scripts per entry): refuse it rather than build a
# different package.
if [[ ! "$installed" =~ [[:space:]]3\.[0-9]+\.[0-9]+ ]]; then
  echo "package.sh: found '$installed'; this packaging needs cargo-deb 3.x:" >&2
  echo "  cargo install cargo-deb --locked --version $cargo_deb_version" >&2
  exit 1
fi

if ((build)); then
  echo "==> cargo build --release --locked -p signet-cli -p signetd" >&2
  cargo build --release --locked -p signet-cli -p signetd
fi
for bin in signet signetd; do
  if [[ ! -x "$target_dir/release/$bin" ]]; then
    echo "package.sh: $target_dir/release/$bin is missing: run without --no-build" >&2
    exit 1
  fi
done

echo "==> third-party licence notices" >&2
python3 scripts/third-party-licenses.py --output "$target_dir/release/third-party-licenses.txt"
gzip -9nf "$target_dir/release/third-party-licenses.txt"

maintainer="${SIGNET_DEB_MAINTAINER:-}"
if [[ -z "$maintainer" && -n "${DEBEMAIL:-}" ]]; then
  maintainer="${DEBFULLNAME:-signet packager} <$DEBEMAIL>"
fi
if [[ -z "$maintainer" ]]; then
  maintainer="signet local build <$(id -un)@$(hostname)>"
fi

# Reproducible archive timestamps: the last commit's, unless the caller chose.
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]] && git rev-parse --git-dir >/dev/null 2>&1; then
  SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)"
  export SOURCE_DATE_EPOCH
fi

echo "==> cargo deb -p signet-cli --no-build" >&2
out="$(cargo deb -p signet-cli --no-build --maintainer "$maintainer")"
deb="$(grep '\.deb$' <<<"$out" | tail -n1 || true)"
ddeb="$(grep '\.ddeb$' <<<"$out" | tail -n1 || true)"
if [[ ! -f "$deb" || ! -f "$ddeb" ]]; then
  echo "package.sh: cargo deb did not report a .deb and a .ddeb (it printed: $out)" >&2
  exit 1
fi
echo "debug symbols (optional, for backtraces): $ddeb" >&2
echo "$deb"
