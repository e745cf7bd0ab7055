# Helpers shared by the packaging tests (sourced, not run).

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The test's name in its messages: deb.sh, install.sh, wheel.sh.
me="$(basename "${BASH_SOURCE[1]:-$0}")"

fail() {
  echo "$me: FAIL: $*" >&2
  exit 1
}

ok() {
  echo "$me: ok - $*" >&2
}

# The one version (Cargo.toml [workspace.package]); the other artifacts must agree.
workspace_version() {
  awk '
    /^\[/ { in_ws = ($0 == "[workspace.package]") }
    in_ws && /^version *=/ { gsub(/^version *= *"|".*$/, ""); print; exit }
  ' "$repo/Cargo.toml"
}

# expect_eq WHAT GOT WANT
expect_eq() {
  [[ "$2" == "$3" ]] || fail "$1: got '$2', want '$3'"
}

# A private home for running the installed signet: HOME and every XDG
# directory under DIR, the runtime directory 0700 as a login session has it.
private_env() {
  local dir="$1"
  mkdir -p "$dir/home" "$dir/config" "$dir/state" "$dir/data" "$dir/cache" "$dir/tmp"
  install -d -m 0700 "$dir/run"
  env_args=(
    HOME="$dir/home"
    XDG_RUNTIME_DIR="$dir/run"
    XDG_CONFIG_HOME="$dir/config"
    XDG_STATE_HOME="$dir/state"
    XDG_DATA_HOME="$dir/data"
    XDG_CACHE_HOME="$dir/cache"
    TMPDIR="$dir/tmp"
    LANG=C.UTF-8
    # A keyring service name of this run only (keys at rest are not used
    # here, but nothing may touch a shared one).
    SIGNET_KEYRING_SERVICE="signet-packaging-test-$$"
  )
}

# smoke_test SIGNET_DIR DIR: the signet in SIGNET_DIR, with PATH set to that
# directory only and a private home under DIR, starts its agent (signetd found
# next to signet), loads a key, lists it, signs an Encord request with it and
# stops the agent.
smoke_test() {
  local bin="$1" dir="$2" out
  private_env "$dir"
  local run=(env -i "${env_args[@]}" PATH="$bin")
  /usr/bin/ssh-keygen -q -t ed25519 -N '' -C packaging-smoke -f "$dir/key"
  out="$("${run[@]}" signet start)" || fail "signet start: $out"
  # The default socket, which `signet start` prints for eval.
  local sock="$dir/run/signet/agent.sock"
  expect_eq "signet start" "$out" "export SIGNET_AUTH_SOCK=$sock;"
  [[ -S "$sock" ]] || fail "no agent socket at $sock after signet start"
  smoke_stop=("${run[@]}" SIGNET_AUTH_SOCK="$sock" signet stop)
  run+=(SIGNET_AUTH_SOCK="$sock")
  "${run[@]}" signet add "$dir/key" >/dev/null || fail "signet add"
  out="$("${run[@]}" signet list)" || fail "signet list: $out"
  grep -q packaging-smoke <<<"$out" || fail "signet list does not show the key: $out"
  out="$("${run[@]}" signet sign-request --method GET \
    --url https://api.encord.com/v2/public/projects)" || fail "signet sign-request: $out"
  grep -q '^Signature: ' <<<"$out" || fail "sign-request printed no Signature header: $out"
  "${smoke_stop[@]}" >/dev/null || fail "signet stop"
  smoke_stop=()
  [[ ! -S "$sock" ]] || fail "the socket is still there after signet stop"
}

# Stops an agent smoke_test left running (from a trap).
smoke_cleanup() {
  if ((${#smoke_stop[@]})); then
    "${smoke_stop[@]}" >/dev/null 2>&1 || true
  fi
}
smoke_stop=()
