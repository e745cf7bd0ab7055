#!/usr/bin/env bash
# The packaging lane (issue 20): every way of installing signet, built and
# installed as a user would, checked, and removed.
#
#   bash tests/packaging/run.sh
#
# .ci/run runs it after the test command. Steps, timed:
#   1. scripts/package.sh: the release build (cargo-deb installed first if
#      missing) and the .deb;
#   2. tests/packaging/deb.sh: apt-get install, checks, dpkg -r, dpkg -P
#      (root only; it skips elsewhere and fails in CI without root);
#   3. tests/packaging/install-script.sh: scripts/install.sh into a temporary
#      prefix (its release build is step 1's), the installed signet with
#      PATH=PREFIX/bin only, --uninstall;
#   4. tests/packaging/wheel.sh: signet-encord's wheel and sdist, twine check,
#      an offline install into a fresh virtualenv, used against the release
#      signetd.
# docs/install.md describes what each installs. The lane installs its test
# dependencies first (scripts/install-test-deps.sh: man-db, binutils, dpkg-dev,
# python3-venv among them).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

bash scripts/install-test-deps.sh

timings=()
lane_start=$SECONDS
step() {
  local name="$1" start=$SECONDS
  shift
  echo "==> packaging: $name" >&2
  "$@"
  timings+=("$(printf '%-16s %4ds' "$name" $((SECONDS - start)))")
}

deb=""
build_deb() {
  deb="$(bash scripts/package.sh | tail -n1)"
  [[ -f "$deb" ]] || {
    echo "run.sh: scripts/package.sh printed no .deb" >&2
    exit 1
  }
}

step "package.sh" build_deb
step "deb.sh" bash "$here/deb.sh" "$deb"
step "install-script" bash "$here/install-script.sh"
step "wheel.sh" bash "$here/wheel.sh"

echo "==> packaging lane: all passed in $((SECONDS - lane_start))s" >&2
printf '    %s\n' "${timings[@]}" >&2
