#!/usr/bin/env bash
# The Encord SDK range signet-encord declares (pyproject.toml: encord>=OLDEST,<UPPER),
# tested at both ends, each in its own virtualenv under .venv-sdk/:
#
#   oldest  encord==OLDEST. Must pass.
#   api-key encord==0.1.145, the last release with resource API-key clients
#           (EncordClient.initialise): tests/test_real_secrets.py, whose
#           resource_client test needs it (issue 21). Must pass.
#   newest  the newest encord release in the range on PyPI: a canary. Skipped with a
#           warning (exit 0) when PyPI cannot be reached; fails when SignetConfig's
#           requests diverge from the SDK's own (tests/test_sdk_compat.py) or the
#           import hook stops working (tests/test_real_zero_change.py).
#
#   bash python/tools/sdk_range.sh            # all three (scripts/test.sh runs this)
#   bash python/tools/sdk_range.sh oldest     # one of them (oldest, api-key, newest)
#
# signet-encord is installed from python/ as a regular (non-editable) wheel, so the
# `.pth` import hook is tested the way `pip install signet-encord` installs it.
# Virtualenvs are reused while their inputs are unchanged (a stamp file), so a
# repeat run costs one index query for the newest version plus the tests. The
# real-agent tests need signetd and signet in $SIGNET_BIN_DIR (default
# target/debug; `cargo build --workspace --bins`).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-python3}"
base="$repo/.venv-sdk"
export SIGNET_BIN_DIR="${SIGNET_BIN_DIR:-$repo/target/debug}"

# hatchling builds the wheel inside each virtualenv (--no-build-isolation), so a
# repeat run needs no index access except the newest-version query.
hatchling="hatchling==1.28.0"
range="$(sed -n 's/^dependencies = \["encord\(>=[^"]*\)"\]/\1/p' "$repo/python/pyproject.toml")"
oldest="$(sed -n 's/^>=\([0-9.]*\),.*/\1/p' <<<"$range")"
if [[ -z "$range" || -z "$oldest" ]]; then
  echo "sdk_range: cannot read the encord range from python/pyproject.toml" >&2
  exit 1
fi
# The test tools at the versions the main suite pins (not encord / encord-agents).
mapfile -t pins < <(grep -E '^(pytest|cryptography|http-message-signatures)==' "$repo/python/requirements-test.txt")

# The tests that run at both ends: header identity and the hook with unmodified scripts.
tests=(tests/test_references.py tests/test_sdk_compat.py tests/test_real_zero_change.py)
select="not under_signet_exec or (env-key and alice)"

pip_quiet=(--quiet --disable-pip-version-check)

# prepare NAME ENCORD_SPEC: make/refresh .venv-sdk/NAME with that encord; returns pip's status.
prepare() {
  local name="$1" spec="$2" venv="$base/$1"
  local want
  want="$(printf '%s\n' "$spec" "$hatchling" "${pins[@]}" "$("$python" --version 2>&1)" | sha256sum | cut -d' ' -f1)"
  if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
  fi
  if [[ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]]; then
    echo "sdk_range: $name: installing $spec" >&2
    rm -f "$venv/.stamp"
    "$venv/bin/python" -m pip install "${pip_quiet[@]}" "$spec" "$hatchling" "${pins[@]}" || return $?
    echo "$want" >"$venv/.stamp"
  fi
  # Our package, as a regular wheel (never from the index): reinstalled every run.
  "$venv/bin/python" -m pip install "${pip_quiet[@]}" --no-deps --no-build-isolation --no-index \
    --force-reinstall "$repo/python"
}

run_tests() {
  local name="$1" venv="$base/$1"
  "$venv/bin/python" - <<'EOF'
import encord, signet_encord, _signet_encord_hook as hook, sys
print("sdk_range: encord %s, signet-encord %s from %s, hook: %s" % (
    encord.__version__, signet_encord.__version__, signet_encord.__file__, hook.hook_status()["reason"]), file=sys.stderr)
if "site-packages" not in signet_encord.__file__:
    sys.exit("sdk_range: signet_encord was not imported from the installed wheel")
EOF
  (cd "$repo/python" && "$venv/bin/pytest" -q -p no:cacheprovider "${tests[@]}" -k "$select")
}

# The newest release in the range, or nothing when the index cannot be reached
# (asked with the newest virtualenv's pip: the system Python may have none).
newest_version() {
  local tmp
  [[ -x "$base/newest/bin/python" ]] || "$python" -m venv "$base/newest"
  tmp="$(mktemp -d)"
  if "$base/newest/bin/python" -m pip download "${pip_quiet[@]}" --no-deps --retries 1 --timeout 20 \
    --dest "$tmp" "encord$range" >/dev/null 2>&1; then
    find "$tmp" -name 'encord-*.whl' -printf '%f\n' | sed -n 's/^encord-\([^-]*\)-.*/\1/p' | head -n1
  fi
  rm -rf "$tmp"
}

oldest_end() {
  echo "==> sdk_range: oldest supported encord ($oldest)" >&2
  prepare oldest "encord==$oldest"
  run_tests oldest
}

# The last SDK with API-key clients; signet_encord.resource_client is tested on it.
api_key_release="0.1.145"

api_key_end() {
  echo "==> sdk_range: encord $api_key_release (resource API keys)" >&2
  prepare api-key "encord==$api_key_release"
  (cd "$repo/python" && "$base/api-key/bin/pytest" -q -p no:cacheprovider tests/test_real_secrets.py)
}

newest_end() {
  echo "==> sdk_range: newest encord on PyPI (canary)" >&2
  local version
  version="$(newest_version)"
  if [[ -z "$version" ]]; then
    echo "sdk_range: WARNING: PyPI unreachable; the newest-encord canary is SKIPPED" >&2
    return 0
  fi
  echo "sdk_range: newest encord in $range is $version" >&2
  if ! prepare newest "encord==$version"; then
    if [[ -z "$(newest_version)" ]]; then
      echo "sdk_range: WARNING: PyPI became unreachable while installing; the canary is SKIPPED" >&2
      return 0
    fi
    echo "sdk_range: cannot install encord==$version with the test tools (see pip's error above)" >&2
    return 1
  fi
  run_tests newest
}

mkdir -p "$base"
case "${1:-both}" in
  oldest) oldest_end ;;
  api-key) api_key_end ;;
  newest) newest_end ;;
  both | all)
    oldest_end
    api_key_end
    newest_end
    ;;
  *)
    echo "usage: sdk_range.sh [oldest|api-key|newest|both]" >&2
    exit 2
    ;;
esac
