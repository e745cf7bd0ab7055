#!/usr/bin/env bash
# ssh-agent semantics a user of OpenSSH's own tools relies on, driven with
# the real ssh-add/ssh-keygen against ssh-agent and signetd. No peer's suite
# covers these (OpenSSH's regress has no confirm or lock test), and issue #23
# names each:
#   lock-unlock                       ssh-add -x / -X: locked lists and signs
#                                     nothing, a wrong passphrase keeps it locked
#   lock-empty-passphrase-refused     ssh-add -x with an empty passphrase is
#                                     refused and the agent stays unlocked
#   confirm-askpass-empty-exit0-allows  ssh-add -c: the agent's askpass
#   confirm-askpass-yes-exit0-allows    answers; OpenSSH's ask_permission()
#   confirm-askpass-exit1-refuses       allows only exit 0 with an empty or
#   confirm-askpass-no-exit0-refuses    "yes" answer
#   agent-t-default-lifetime          ssh-agent -t 3: a key added without -t
#                                     is gone after 3 s
#   ssh-add-key-with-cert-lists-cert  ssh-add KEY with KEY-cert.pub beside it
#                                     adds the certificate too (ssh-add -L)
#                                     and it signs (ssh-add -T)
set -euo pipefail
# shellcheck source=../lib.sh
source "$INTEROP_HERE/lib.sh"

suite=openssh-cli
work="$INTEROP_RUN/openssh-cli"
mkdir -p "$work"
key="$work/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C interop-cli -f "$key"

# The agent's askpass (for confirm): prints $work/answer's second line, then
# exits with the code on its first.
cat >"$work/agent-askpass" <<ASKPASS
#!/bin/sh
{ read -r code; read -r text; } <"$work/answer"
printf '%s\n' "\$text"
exit "\$code"
ASKPASS
# ssh-add's askpass (for -x/-X): prints $work/passphrase.
cat >"$work/client-askpass" <<ASKPASS
#!/bin/sh
cat "$work/passphrase"
ASKPASS
chmod 0755 "$work/agent-askpass" "$work/client-askpass"
printf '0\n\n' >"$work/answer"

# Starts AGENT as a desktop session would, with the confirm askpass set.
start() {
  SSH_ASKPASS="$work/agent-askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 start_agent "$@"
}
# ssh-add reading passphrases from client-askpass, never from a terminal.
add() {
  SSH_ASKPASS="$work/client-askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh-add "$@" </dev/null
}
# The number of keys ssh-add -l shows.
listed() {
  ssh-add -l 2>/dev/null | grep -c 'ED25519' || true
}

# Each test prints "pass" or "fail: why" as its last line.
t_lock_unlock() {
  add "$key" >/dev/null 2>&1 || { echo "fail: ssh-add KEY"; return; }
  printf 'interop-secret\n' >"$work/passphrase"
  add -x >/dev/null 2>&1 || { echo "fail: ssh-add -x refused"; return; }
  [[ "$(listed)" == 0 ]] || { echo "fail: a locked agent lists keys"; return; }
  ! ssh-add -T "$key.pub" >/dev/null 2>&1 || { echo "fail: a locked agent signs"; return; }
  printf 'wrong\n' >"$work/passphrase"
  ! add -X >/dev/null 2>&1 || { echo "fail: a wrong passphrase unlocked it"; return; }
  [[ "$(listed)" == 0 ]] || { echo "fail: lists keys after a wrong unlock"; return; }
  printf 'interop-secret\n' >"$work/passphrase"
  add -X >/dev/null 2>&1 || { echo "fail: the right passphrase did not unlock it"; return; }
  [[ "$(listed)" == 1 ]] || { echo "fail: the key is not listed after unlock"; return; }
  ssh-add -T "$key.pub" >/dev/null 2>&1 || { echo "fail: no signature after unlock"; return; }
  echo pass
}

t_lock_empty() {
  add "$key" >/dev/null 2>&1 || { echo "fail: ssh-add KEY"; return; }
  printf '\n' >"$work/passphrase"
  if add -x >/dev/null 2>&1; then
    echo "fail: ssh-add -x with an empty passphrase locked the agent"
    return
  fi
  [[ "$(listed)" == 1 ]] || { echo "fail: the agent does not list its key after the refused lock"; return; }
  echo pass
}

# t_confirm CODE TEXT WANT: with the askpass printing TEXT and exiting CODE,
# a signature must be made (WANT=allow) or refused (WANT=refuse).
t_confirm() {
  local code="$1" text="$2" want="$3"
  add -c "$key" >/dev/null 2>&1 || { echo "fail: ssh-add -c KEY"; return; }
  printf '%s\n%s\n' "$code" "$text" >"$work/answer"
  if ssh-add -T "$key.pub" >/dev/null 2>&1; then
    [[ "$want" == allow ]] || { echo "fail: signed although the askpass printed \"$text\" and exited $code"; return; }
  else
    [[ "$want" == refuse ]] || { echo "fail: refused although the askpass printed \"$text\" and exited $code"; return; }
  fi
  echo pass
}

t_default_lifetime() {
  ssh-add "$key" >/dev/null 2>&1 || { echo "fail: ssh-add KEY"; return; }
  [[ "$(listed)" == 1 ]] || { echo "fail: the key is not listed"; return; }
  sleep 4.5
  [[ "$(listed)" == 0 ]] || { echo "fail: the key is still listed 4.5 s after ssh-add, with the agent's -t 3"; return; }
  echo pass
}

t_cert() {
  local ca="$work/ca" k="$work/certified" said
  [[ -f "$ca" ]] || ssh-keygen -q -t ed25519 -N '' -C interop-ca -f "$ca"
  rm -f "$k" "$k.pub" "$k-cert.pub"
  ssh-keygen -q -t ed25519 -N '' -C interop-certified -f "$k"
  ssh-keygen -q -s "$ca" -I interop-cert -n interop "$k.pub"
  said="$(ssh-add "$k" 2>&1)" || { echo "fail: ssh-add KEY: $said"; return; }
  ssh-add -L | grep -q '^ssh-ed25519-cert-v01@openssh.com ' ||
    { echo "fail: the certificate is not listed (ssh-add said: $said)"; return; }
  ssh-add -T "$k-cert.pub" >/dev/null 2>&1 || { echo "fail: no signature with the certificate"; return; }
  echo pass
}

# run NAME AGENT [AGENT-ARGS...] -- FUNCTION [ARGS...]: one agent per test.
run() {
  local name="$1" agent="$2" agent_args=() result
  shift 2
  while [[ "$1" != -- ]]; do
    agent_args+=("$1")
    shift
  done
  shift
  if ! start "$agent" "${agent_args[@]}" >/dev/null 2>"$work/$agent-$name.err"; then
    record "$suite" "$suite/$name" "$agent" fail "the agent did not start: $(head -c 300 "$work/$agent-$name.err")"
    return
  fi
  result="$("$@" 2>&1 | tail -n 1)"
  stop_agent "$agent"
  if [[ "$result" == pass ]]; then
    record "$suite" "$suite/$name" "$agent" pass ""
  else
    record "$suite" "$suite/$name" "$agent" fail "${result#fail: }"
  fi
}

for agent in $INTEROP_AGENTS; do
  run lock-unlock "$agent" -- t_lock_unlock
  run lock-empty-passphrase-refused "$agent" -- t_lock_empty
  run confirm-askpass-empty-exit0-allows "$agent" -- t_confirm 0 "" allow
  run confirm-askpass-yes-exit0-allows "$agent" -- t_confirm 0 yes allow
  run confirm-askpass-exit1-refuses "$agent" -- t_confirm 1 "" refuse
  run confirm-askpass-no-exit0-refuses "$agent" -- t_confirm 0 no refuse
  run agent-t-default-lifetime "$agent" -t 3 -- t_default_lifetime
  run ssh-add-key-with-cert-lists-cert "$agent" -- t_cert
done
