#!/usr/bin/env bash
# Long-lived connections (issue #23 item 4): paramiko's Agent keeps one
# connection to the agent open and silent, then signs over it, as IDEs and
# ssh multiplexers do. The silence lasts $SIGNET_INTEROP_IDLE_SECS seconds
# (run.sh's default, 630, is longer than signetd's former default idle_timeout_secs
# of 600 plus its idle sweeper's slack of up to 15 s, crates/daemon/src/idle.rs;
# 0 records a skip). Both agents are tested at once; run.sh starts
# this suite first, in the background, so that its wait overlaps the others.
set -euo pipefail
# shellcheck source=../lib.sh
source "$INTEROP_HERE/lib.sh"

suite=idle
py="$INTEROP_CACHE/venv/bin/python"
[[ -x "$py" ]] || {
  echo "the interop venv is missing: run tests/interop/install-deps.sh" >&2
  exit 1
}
secs="${SIGNET_INTEROP_IDLE_SECS:-630}"
work="$INTEROP_RUN/idle"
make_client_keys "$work/keys"

pids=()
for agent in $INTEROP_AGENTS; do
  (
    start_agent "$agent"
    add_client_keys "$work/keys" ed25519
    with_timeout $((secs + 120)) "$py" "$INTEROP_HERE/paramiko/agent_client.py" \
      --keys "$work/keys" --idle "$secs" >"$work/$agent.out" 2>"$work/$agent.err" || true
    stop_agent "$agent"
    record_lines "$suite" "$agent" "$work/$agent.out" || {
      echo "idle [$agent]: no result; stderr:" >&2
      cat "$work/$agent.err" >&2
      exit 1
    }
  ) &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do
  wait "$p" || rc=1
done
exit "$rc"
