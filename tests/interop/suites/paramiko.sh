#!/usr/bin/env bash
# paramiko's agent client (paramiko.Agent, AgentKey: PyPI, pinned in
# tests/interop/requirements.txt) against ssh-agent and signetd: list, sign
# and verify, and log in to a loopback OpenSSH sshd, per key type
# (tests/interop/paramiko/agent_client.py). paramiko has no client for
# adding, removing or locking: the keys are added with ssh-add.
# The kept-connection test is suite "idle".
set -euo pipefail
# shellcheck source=../lib.sh
source "$INTEROP_HERE/lib.sh"

suite=paramiko
py="$INTEROP_CACHE/venv/bin/python"
[[ -x "$py" ]] || {
  echo "the interop venv is missing: run tests/interop/install-deps.sh" >&2
  exit 1
}
work="$INTEROP_RUN/paramiko"
make_client_keys "$work/keys"
trap 'stop_sshd' EXIT
start_sshd "$work/sshd"
cp "$work/keys/authorized_keys" "$work/sshd/authorized_keys"

rc=0
for agent in $INTEROP_AGENTS; do
  start_agent "$agent"
  add_client_keys "$work/keys" ed25519 rsa ecdsa
  with_timeout 120 "$py" "$INTEROP_HERE/paramiko/agent_client.py" --keys "$work/keys" \
    --types ed25519,rsa,ecdsa --port "$SSHD_PORT" --user "$(id -un)" \
    --known-hosts "$work/sshd/known_hosts" >"$work/$agent.out" 2>"$work/$agent.err" || rc=1
  stop_agent "$agent"
  record_lines "$suite" "$agent" "$work/$agent.out" || {
    echo "paramiko [$agent]: no result; stderr:" >&2
    cat "$work/$agent.err" >&2
    rc=1
  }
done
exit "$rc"
