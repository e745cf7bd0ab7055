#!/usr/bin/env bash
# Peers' own test suites, run against the real signetd and, as the reference,
# against OpenSSH's ssh-agent (issue #23 item 5).
#
#   bash tests/interop/run.sh                 # every suite
#   bash tests/interop/run.sh go asyncssh     # some suites
#   bash tests/interop/run.sh --list          # the suites
#
# Suites (tests/interop/suites/NAME.sh):
#   openssh-regress  OpenSSH 9.2's regress agent*.sh (Debian's openssh-tests)
#   openssh-cli      ssh-agent semantics through ssh-add: -t, lock, confirm, certs
#   go               Go's x/crypto/ssh/agent tests (Debian's x/crypto 0.4.0)
#   asyncssh         asyncssh's tests/test_agent.py (from its PyPI sdist)
#   paramiko         paramiko's Agent: list, sign, log in to a loopback sshd
#   ssh2             Node ssh2's agent test and its OpenSSHAgent client
#   idle             paramiko's Agent keeps one connection open and silent
#                    for SIGNET_INTEROP_IDLE_SECS, then signs (runs alongside
#                    the other suites: it mostly waits)
#
# Each test runs once per agent. The table (stdout, and results.txt /
# results.json / results.tsv in $SIGNET_INTEROP_OUT, default
# target/interop/last-run) shows both; the run fails when signetd fails a test
# that ssh-agent passes, unless the test is listed in
#   tests/interop/by-design.txt            key types signet refuses by design
#   tests/interop/known-gaps-issue-23.txt  features issue #23 has yet to build
# and when ssh-agent itself fails a test not listed in
#   tests/interop/reference-failures.txt
# (so that a broken set-up cannot pass for a green run).
#
# Environment:
#   SIGNET_BIN_DIR          where signetd is [default: build target/debug with
#                           `cargo build --workspace --bins`]
#   SIGNET_INTEROP_CACHE    venv, node_modules, sdist, Go build cache
#                           [default: target/interop]
#   SIGNET_INTEROP_OUT      where the results go [default: target/interop/last-run]
#   SIGNET_INTEROP_IDLE_SECS  how long paramiko's kept connection stays silent
#                           [default 630: longer than signetd's default
#                           former idle_timeout_secs of 600 plus its sweeper's 15 s
#                           slack; 0 skips that test]
#   SIGNET_INTEROP_SUITE_TIMEOUT  seconds per suite [default 900]
#   SIGNET_INTEROP_KEEP=1   keep the run's temporary directory
#
# Needs root, or a user with sudo, to install packages and for the regress
# scripts that switch users; as root it creates a temporary unprivileged user
# (removed at the end), because OpenSSH's agent-getpeereid.sh and
# agent-ptrace.sh skip themselves when run as root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
all_suites=(idle openssh-regress openssh-cli go asyncssh paramiko ssh2)

suites=()
for a in "$@"; do
  case "$a" in
    --list)
      printf '%s\n' "${all_suites[@]}"
      exit 0
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "interop: unknown option $a (try --help)" >&2
      exit 2
      ;;
    *)
      [[ -f "$here/suites/$a.sh" ]] || {
        echo "interop: no suite \"$a\"; suites: ${all_suites[*]}" >&2
        exit 2
      }
      suites+=("$a")
      ;;
  esac
done
((${#suites[@]})) || suites=("${all_suites[@]}")

started=$SECONDS
cache="${SIGNET_INTEROP_CACHE:-$repo/target/interop}"
out="${SIGNET_INTEROP_OUT:-$repo/target/interop/last-run}"

bash "$here/install-deps.sh" "${suites[@]}"

if [[ -n "${SIGNET_BIN_DIR:-}" ]]; then
  signetd="$SIGNET_BIN_DIR/signetd"
else
  echo "==> cargo build --workspace --bins (for signetd)" >&2
  (cd "$repo" && cargo build --workspace --bins)
  signetd="${CARGO_TARGET_DIR:-$repo/target}/debug/signetd"
fi
[[ -x "$signetd" ]] || {
  echo "interop: $signetd not found: build it with cargo build --workspace --bins or set SIGNET_BIN_DIR" >&2
  exit 1
}
signetd="$(cd "$(dirname "$signetd")" && pwd)/$(basename "$signetd")"

run="$(mktemp -d "${TMPDIR:-/tmp}/signet-interop.XXXXXX")"
# Others (the regress suite's temporary user) must reach their part of it.
chmod 0755 "$run"
mkdir -p "$run/state" "$run/tmp" "$run/bin/openssh" "$run/bin/signetd"
chmod 1777 "$run/tmp"
results="$run/results.tsv"
: >"$results"

cleanup() {
  local rc=$?
  # shellcheck source=lib.sh
  INTEROP_RUN="$run" source "$here/lib.sh"
  INTEROP_RUN="$run" stop_leftover_agents "$run/state"
  if [[ -n "${SIGNET_INTEROP_KEEP:-}" ]]; then
    echo "interop: kept $run" >&2
  else
    rm -rf "$run"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The agents' `ssh-agent`s. Callers may clear the environment (Go's tests
# do), so each shim carries its own defaults: sockets and state in this run's
# directory, never in the real /tmp.
cat >"$run/bin/signetd/ssh-agent" <<EOF
#!/bin/sh
# signetd as ssh-agent, for this interop run (tests/interop/bin/signet-ssh-agent).
: "\${SIGNET_INTEROP_STATE:=$run/state}"
: "\${TMPDIR:=$run/tmp}"
export SIGNET_INTEROP_STATE TMPDIR
SIGNET_INTEROP_SIGNETD='$signetd' exec '$here/bin/signet-ssh-agent' "\$@"
EOF
cat >"$run/bin/openssh/ssh-agent" <<EOF
#!/bin/bash
# OpenSSH's ssh-agent, the reference, for this interop run: the real
# /usr/bin/ssh-agent; a daemon's pid is recorded so that leftovers can be
# stopped by pid.
: "\${SIGNET_INTEROP_STATE:=$run/state}"
: "\${TMPDIR:=$run/tmp}"
export TMPDIR
real=/usr/bin/ssh-agent
args=("\$@")
daemon=1
while getopts ":cDdksE:a:O:P:t:" o; do
  case "\$o" in d | D | k) daemon= ;; esac
done
shift \$((OPTIND - 1))
((\$# == 0)) || daemon=
[[ -n "\$daemon" ]] || exec "\$real" "\${args[@]}"
out="\$("\$real" "\${args[@]}")"
rc=\$?
printf '%s\n' "\$out"
pid="\$(printf '%s\n' "\$out" | sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p; s/^setenv SSH_AGENT_PID \([0-9]*\);.*/\1/p')"
[[ -n "\$pid" ]] && printf '%s\n' "\$pid" >"\$SIGNET_INTEROP_STATE/ssh-agent.\$pid.pid" 2>/dev/null
exit \$rc
EOF
chmod 0755 "$run/bin/openssh/ssh-agent" "$run/bin/signetd/ssh-agent"

export INTEROP_REPO="$repo" INTEROP_HERE="$here" INTEROP_RUN="$run" INTEROP_CACHE="$cache"
export INTEROP_RESULTS="$results" INTEROP_SIGNETD="$signetd"
export INTEROP_AGENTS="${INTEROP_AGENTS:-openssh signetd}"
export SIGNET_INTEROP_IDLE_SECS="${SIGNET_INTEROP_IDLE_SECS:-630}"
export TMPDIR="$run/tmp"
unset SSH_AUTH_SOCK SSH_AGENT_PID SIGNET_AUTH_SOCK

echo "interop: signetd $("$signetd" --version 2>/dev/null | head -n1) at $signetd" >&2
echo "interop: ssh-agent (reference) from $(ssh -V 2>&1)" >&2
# Runs suite $1, then records whether it ran to the end: a suite that
# crashed or timed out fails for both agents, and the report then fails the
# run (no reference failure is listed for it).
run_suite() {
  local s="$1" t0=$SECONDS rc=0 agent
  echo "==> interop suite $s" >&2
  timeout --kill-after=30 "${SIGNET_INTEROP_SUITE_TIMEOUT:-900}" \
    bash "$here/suites/$s.sh" </dev/null || rc=$?
  for agent in $INTEROP_AGENTS; do
    if ((rc == 0)); then
      printf '%s\t%s\t%s\tpass\t\n' "$s" "$s/(suite ran to the end)" "$agent" >>"$results"
    else
      printf '%s\t%s\t%s\tfail\tsuite exited with %s%s\n' "$s" "$s/(suite ran to the end)" "$agent" "$rc" \
        "$( ((rc == 124)) && echo " (timed out)")" >>"$results"
    fi
  done
  echo "interop: suite $s took $((SECONDS - t0))s (exit $rc)" >&2
  printf '%s=%ss ' "$s" "$((SECONDS - t0))" >>"$run/timings"
}

# "idle" mostly waits (SIGNET_INTEROP_IDLE_SECS): it runs alongside the others.
background=()
for s in "${suites[@]}"; do
  if [[ "$s" == idle ]]; then
    run_suite idle &
    background+=($!)
  fi
done
for s in "${suites[@]}"; do
  [[ "$s" == idle ]] || run_suite "$s"
done
for p in "${background[@]}"; do
  wait "$p" || true
done
# Suites' results in the order they were asked for, whatever order they ran.
sorted="$run/results.sorted.tsv"
: >"$sorted"
for s in "${suites[@]}"; do
  awk -F '\t' -v s="$s" '$1 == s' "$results" >>"$sorted"
done
mv "$sorted" "$results"

mkdir -p "$out"
cp "$results" "$out/results.tsv"
rc=0
python3 "$here/report.py" --results "$results" --here "$here" --out "$out" \
  --suites "${suites[*]}" --agents "$INTEROP_AGENTS" || rc=$?
echo "interop: $(cat "$run/timings" 2>/dev/null)total $((SECONDS - started))s" >&2
exit "$rc"
