#!/usr/bin/env bash
# Node's ssh2 (npm, pinned in tests/interop/ssh2/package-lock.json) against
# ssh-agent and signetd:
#   ssh2/test-userauth-agent-openssh.js  ssh2's own agent test, as shipped
#                 in the package: it runs `ssh-agent node TEST child` (the
#                 agent's command mode), adds its RSA fixture key with ssh-add
#                 and logs in to ssh2's Server through the agent
#   ssh2/OpenSSHAgent.*, ssh2/Client.*  tests/interop/ssh2/agent_client.js:
#                 list, sign and verify, and log in to a loopback OpenSSH
#                 sshd, per key type
set -euo pipefail
# shellcheck source=../lib.sh
source "$INTEROP_HERE/lib.sh"

suite=ssh2
mods="$INTEROP_CACHE/node/node_modules"
[[ -f "$mods/ssh2/package.json" ]] || {
  echo "ssh2 is not installed in $mods: run tests/interop/install-deps.sh" >&2
  exit 1
}
work="$INTEROP_RUN/ssh2"
make_client_keys "$work/keys"
trap 'stop_sshd' EXIT
start_sshd "$work/sshd"
cp "$work/keys/authorized_keys" "$work/sshd/authorized_keys"

# ssh2's own test, from a copy of the package's test directory: ssh-add
# refuses its fixture keys as npm leaves them (0644), as it would any
# world-readable private key.
cp -a "$mods/ssh2/test" "$work/ssh2-test"
chmod 0600 "$work/ssh2-test/fixtures/"*_rsa "$work/ssh2-test/fixtures/"id_* "$work/ssh2-test/fixtures/"ssh_host_* 2>/dev/null || true
# The copy's require('../lib/...') must find the package: link it beside.
ln -s "$mods/ssh2/lib" "$work/lib"
ln -s "$mods/ssh2/package.json" "$work/package.json"
ln -s "$mods" "$work/node_modules"

rc=0
for agent in $INTEROP_AGENTS; do
  t=test-userauth-agent-openssh.js
  if (cd "$work/ssh2-test" && PATH="$(agent_bin_dir "$agent"):$PATH" \
    with_timeout 60 node "$t") >"$work/$agent-$t.log" 2>&1; then
    record "$suite" "$suite/$t" "$agent" pass ""
  else
    record "$suite" "$suite/$t" "$agent" fail "$(head -c 300 "$work/$agent-$t.log")"
  fi

  start_agent "$agent"
  add_client_keys "$work/keys" ed25519 rsa ecdsa
  NODE_PATH="$mods" INTEROP_SSHD_DIR="$work/sshd" with_timeout 120 \
    node "$INTEROP_HERE/ssh2/agent_client.js" "$work/keys" ed25519,rsa,ecdsa \
    127.0.0.1 "$SSHD_PORT" "$(id -un)" >"$work/$agent.out" 2>"$work/$agent.err" || rc=1
  stop_agent "$agent"
  record_lines "$suite" "$agent" "$work/$agent.out" || {
    echo "ssh2 [$agent]: no result; stderr:" >&2
    cat "$work/$agent.err" >&2
    rc=1
  }
done
exit "$rc"
