# Shared helpers for the interop suites (sourced by tests/interop/suites/*.sh).
#
# A suite runs with these set by run.sh:
#   INTEROP_REPO     the repository
#   INTEROP_HERE     tests/interop
#   INTEROP_RUN      this run's temporary directory (removed at the end)
#   INTEROP_CACHE    venv, node_modules, sdists, Go build cache (kept)
#   INTEROP_RESULTS  the results file: one line per test and agent,
#                    SUITE<TAB>TEST<TAB>AGENT<TAB>pass|fail|skip<TAB>DETAIL
#   INTEROP_AGENTS   the agents to run against: "openssh signetd"
#   INTEROP_SIGNETD  the signetd binary under test
# and the agent shims in $INTEROP_RUN/bin/<agent>/ssh-agent (see run.sh).
#
# Every agent a suite starts is recorded in $INTEROP_RUN/state as
# <name>.<pid>.pid; stop_leftover_agents ends those still running, by pid.

# A suite stopped by run.sh's timeout (SIGTERM to its process group) still
# runs its EXIT trap: agents, sshds and users it made are cleaned up.
trap 'exit 143' TERM
trap 'exit 130' INT

# Records one result. DETAIL is squeezed to one line of at most 700 bytes.
record() {
  local suite="$1" test="$2" agent="$3" status="$4" detail="${5:-}"
  detail="$(printf '%s' "$detail" | tr '\t\r\n' '   ' | cut -c1-700)"
  printf '%s\t%s\t%s\t%s\t%s\n' "$suite" "$test" "$agent" "$status" "$detail" >>"$INTEROP_RESULTS"
}

# The directory whose `ssh-agent` is AGENT (openssh or signetd).
agent_bin_dir() {
  printf '%s/bin/%s' "$INTEROP_RUN" "$1"
}

# Starts AGENT with ssh-agent's `-s` output evaluated into this shell
# (SSH_AUTH_SOCK, SSH_AGENT_PID); extra arguments go to ssh-agent.
start_agent() {
  local agent="$1" out
  shift
  out="$("$(agent_bin_dir "$agent")/ssh-agent" -s "$@")" || return 1
  eval "$out" >/dev/null
}

# Stops the agent started by start_agent.
stop_agent() {
  local agent="$1"
  [[ -n "${SSH_AGENT_PID:-}" ]] || return 0
  eval "$("$(agent_bin_dir "$agent")/ssh-agent" -s -k 2>/dev/null)" >/dev/null || true
  unset SSH_AUTH_SOCK SSH_AGENT_PID
}

# Ends agents recorded under DIR (default $INTEROP_RUN/state) that still run.
stop_leftover_agents() {
  local dir="${1:-$INTEROP_RUN/state}" f pid
  for f in "$dir"/*.pid; do
    [[ -f "$f" ]] || continue
    pid="$(head -n1 "$f")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts a loopback sshd for the current user in DIR that accepts the public
# keys in DIR/authorized_keys; sets SSHD_PORT and SSHD_PID.
start_sshd() {
  local dir="$1"
  mkdir -p "$dir"
  [[ -f "$dir/host_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519"
  SSHD_PORT="$(free_port)"
  cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SSHD_PORT
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowAgentForwarding yes
LogLevel VERBOSE
EOF
  /usr/sbin/sshd -D -e -f "$dir/sshd_config" 2>>"$dir/sshd.log" &
  SSHD_PID=$!
  local _
  for _ in $(seq 1 100); do
    if ssh-keyscan -p "$SSHD_PORT" -t ed25519 127.0.0.1 >"$dir/known_hosts.raw" 2>/dev/null &&
      [[ -s "$dir/known_hosts.raw" ]]; then
      sed "s/^[^ ]*/[127.0.0.1]:$SSHD_PORT/" "$dir/known_hosts.raw" >"$dir/known_hosts"
      return 0
    fi
    kill -0 "$SSHD_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "sshd did not start; its log:" >&2
  cat "$dir/sshd.log" >&2
  return 1
}

stop_sshd() {
  [[ -n "${SSHD_PID:-}" ]] || return 0
  kill -TERM "$SSHD_PID" 2>/dev/null || true
  wait "$SSHD_PID" 2>/dev/null || true
  unset SSHD_PID
}

# Runs a command with a time limit, killing it (and its process group
# members that ignore SIGTERM) after LIMIT seconds.
with_timeout() {
  local limit="$1"
  shift
  timeout --kill-after=10 "$limit" "$@"
}

# Makes DIR/id_ed25519, id_rsa and id_ecdsa (comments interop-TYPE) and
# DIR/authorized_keys holding all three.
make_client_keys() {
  local dir="$1" t
  mkdir -p "$dir"
  for t in ed25519 rsa ecdsa; do
    [[ -f "$dir/id_$t" ]] && continue
    case "$t" in
      rsa) ssh-keygen -q -t rsa -b 2048 -N '' -C "interop-$t" -f "$dir/id_$t" ;;
      ecdsa) ssh-keygen -q -t ecdsa -b 256 -N '' -C "interop-$t" -f "$dir/id_$t" ;;
      *) ssh-keygen -q -t "$t" -N '' -C "interop-$t" -f "$dir/id_$t" ;;
    esac
  done
  cat "$dir"/id_*.pub >"$dir/authorized_keys"
}

# Adds DIR/id_TYPE for each TYPE to the agent at $SSH_AUTH_SOCK. A refusal is
# not an error here: the tests that need the key report it.
add_client_keys() {
  local dir="$1" t
  shift
  for t in "$@"; do
    ssh-add "$dir/id_$t" >>"$dir/ssh-add.log" 2>&1 || true
  done
}

# Records the NAME<TAB>STATUS<TAB>DETAIL lines a client program printed.
record_lines() {
  local suite="$1" agent="$2" file="$3" name status detail n=0
  while IFS=$'\t' read -r name status detail; do
    [[ -n "$name" ]] || continue
    case "$status" in pass | fail | skip) ;; *) continue ;; esac
    record "$suite" "$suite/$name" "$agent" "$status" "$detail"
    n=$((n + 1))
  done <"$file"
  ((n > 0))
}
