#!/usr/bin/env bash
# OpenSSH's own regress agent tests (Debian's openssh-tests: the scripts for
# the installed 9.2 tools, /usr/lib/openssh/regress), against ssh-agent and
# against signetd standing in for it through $SSHAGENT: agent.sh,
# agent-timeout.sh, agent-restrict.sh, agent-subprocess.sh,
# agent-getpeereid.sh, agent-ptrace.sh, and the other scripts that start an
# agent: sshsig.sh (ssh-keygen -Y sign with agent keys), hostkey-agent.sh
# (sshd's HostKeyAgent) and cert-file.sh (ssh's CertificateFile with agent
# keys).
#
# Run as Debian's /usr/lib/openssh/regress/run-tests runs them: a fresh copy
# of the regress directory is the build tree (OBJ = SRC = BUILDDIR, where
# test-exec.sh, config.h and the helper binaries are), the installed tools
# (TEST_SSH_SSH=ssh, sshd, ssh-add, ssh-keygen from PATH), SUDO=sudo,
# TEST_SSH_UNSAFE_PERMISSIONS=1; one script at a time through
# `sh test-exec.sh OBJ SCRIPT`, as the Makefile's t-exec target does.
#
# As root, everything runs as a temporary unprivileged user with sudo (both
# removed at the end): agent-getpeereid.sh and agent-ptrace.sh skip
# themselves as root (root may ptrace anything and ssh-agent lets root in).
#
# Tests (one per script and key-type set):
#   openssh-regress/SCRIPT                 as shipped: every key type
#                                          `ssh -Q key-plain` lists
#   openssh-regress/SCRIPT[ssh-ed25519]    the scripts that loop over key
#                                          types, with Ed25519 keys only (an
#                                          `ssh` whose `-Q key-plain` says
#                                          ssh-ed25519; nothing else changes)
set -euo pipefail
# shellcheck source=../lib.sh
source "$INTEROP_HERE/lib.sh"

suite=openssh-regress
src=/usr/lib/openssh/regress
scripts=(agent.sh agent-timeout.sh agent-restrict.sh agent-subprocess.sh agent-getpeereid.sh agent-ptrace.sh
  sshsig.sh hostkey-agent.sh cert-file.sh)
# The scripts that generate and add keys of every type in $SSH_KEYTYPES.
typed=(agent.sh agent-timeout.sh sshsig.sh hostkey-agent.sh)
# For debugging one script: SIGNET_INTEROP_REGRESS_SCRIPTS="agent.sh".
if [[ -n "${SIGNET_INTEROP_REGRESS_SCRIPTS:-}" ]]; then
  read -r -a scripts <<<"$SIGNET_INTEROP_REGRESS_SCRIPTS"
  only=()
  for s in "${typed[@]}"; do
    [[ " ${scripts[*]} " == *" $s "* ]] && only+=("$s")
  done
  typed=("${only[@]}")
fi
work="$INTEROP_RUN/openssh-regress"
mkdir -p "$work"
chmod 0755 "$work"

[[ -f "$src/test-exec.sh" ]] || {
  echo "$src/test-exec.sh not found: install openssh-tests (tests/interop/install-deps.sh)" >&2
  exit 1
}

user=""
sudoers=""
as_user=()
sudo_cmd=""
cleanup_user() {
  if [[ -n "$user" ]]; then
    # The temporary user's processes (agents and sshds the scripts left),
    # each by pid, then the user itself.
    local pid
    for pid in $(ps -o pid= -u "$user" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in $(ps -o pid= -u "$user" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    [[ -n "$sudoers" ]] && rm -f "$sudoers"
    userdel "$user" 2>/dev/null || true
    if getent group "$user" >/dev/null; then groupdel "$user" 2>/dev/null || true; fi
  fi
}
cleanup() {
  local d
  for d in "$work"/*/state; do
    [[ -d "$d" ]] && stop_leftover_agents "$d"
  done
  cleanup_user
}
trap cleanup EXIT

# Users and sudoers entries an earlier run could not remove (it was killed
# with SIGKILL): each entry names the pid of the suite that made it.
remove_stale_users() {
  local f stale owner pid
  for f in /etc/sudoers.d/signet-iop-*; do
    [[ -f "$f" ]] || continue
    owner="$(sed -n 's/^# made by pid \([0-9]*\)$/\1/p' "$f")"
    [[ -n "$owner" ]] && kill -0 "$owner" 2>/dev/null && continue
    stale="$(basename "$f")"
    for pid in $(ps -o pid= -u "$stale" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    rm -f "$f"
    userdel "$stale" 2>/dev/null || true
    echo "removed the stale temporary user $stale" >&2
  done
}

if [[ "$(id -u)" -eq 0 ]]; then
  remove_stale_users
  user="signet-iop-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  useradd --system --user-group --no-create-home --home-dir "$work/home" --shell /bin/sh "$user"
  mkdir -p "$work/home"
  # The scripts call `sudo` for sshd -i as root, `sudo -u nobody`, and
  # chown/chmod of the agent binary (agent-ptrace.sh), as under Debian's
  # autopkgtest; this drop-in exists only while the suite runs.
  sudoers="/etc/sudoers.d/$user"
  printf '# made by pid %s\n%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$$" "$user" >"$sudoers.tmp"
  chmod 0440 "$sudoers.tmp"
  visudo -cqf "$sudoers.tmp" || {
    rm -f "$sudoers.tmp"
    echo "visudo rejects the temporary sudoers entry" >&2
    exit 1
  }
  mv "$sudoers.tmp" "$sudoers"
  as_user=(runuser -u "$user" --)
  sudo_cmd=sudo
elif sudo -n true 2>/dev/null; then
  sudo_cmd=sudo
fi
run_user="${user:-$(id -un)}"

# `ssh` whose `ssh -Q` lists of key and signature types hold Ed25519 (and its
# certificate) only: test-exec.sh makes $SSH_KEYTYPES (user keys, host keys,
# the keys the scripts add) from `$SSH -Q key-plain`, hostkey-agent.sh its
# certificate types from `ssh -Q key-sig` (so this directory also goes first
# in PATH). Everything else goes to /usr/bin/ssh.
mkdir -p "$work/ed25519-only"
cat >"$work/ed25519-only/ssh" <<'EOF'
#!/bin/sh
# test-exec.sh's log wrapper calls this as `ssh -E LOGFILE -Q key-plain`.
prev=
for a in "$@"; do
	if [ "$prev" = "-Q" ]; then
		case "$a" in
		key | key-plain | key-cert | key-sig | sig)
			/usr/bin/ssh -Q "$a" | grep '^ssh-ed25519'
			exit 0
			;;
		esac
	fi
	prev="$a"
done
exec /usr/bin/ssh "$@"
EOF
chmod 0755 "$work/ed25519-only/ssh"

# Runs SCRIPTS for AGENT with key-type set VARIANT (all | ssh-ed25519).
run_variant() {
  local agent="$1" variant="$2"
  shift 2
  local dir="$work/$agent-$variant"
  local obj="$dir/regress"
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/state"
  cp -a "$src" "$obj"
  # Per run, because agent-ptrace.sh chowns and setgids "$SSHAGENT" (and
  # gives it back to $USER when done).
  cp "$(agent_bin_dir "$agent")/ssh-agent" "$dir/bin/ssh-agent"
  local ssh=ssh path=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin
  if [[ "$variant" == ssh-ed25519 ]]; then
    ssh="$work/ed25519-only/ssh"
    path="$work/ed25519-only:$path"
  fi
  [[ -n "$user" ]] && chown -R "$user:$user" "$dir"

  local script name status detail rc log
  for script in "$@"; do
    name="$suite/$script"
    [[ "$variant" == all ]] || name="$suite/${script}[$variant]"
    log="$dir/$script.out"
    rc=0
    t0=$SECONDS
    (cd "$obj" && with_timeout "${SIGNET_INTEROP_SCRIPT_TIMEOUT:-300}" \
      "${as_user[@]}" env -i \
      PATH="$path" \
      HOME="$work/home" USER="$run_user" LOGNAME="$run_user" SHELL=/bin/sh \
      LANG=C.UTF-8 TMPDIR="$dir/tmp" \
      OBJ="$obj" BUILDDIR="$obj" SUDO="$sudo_cmd" TEST_SHELL=sh \
      TEST_SSH_SSH="$ssh" TEST_SSH_SSHAGENT="$dir/bin/ssh-agent" \
      TEST_SSH_SFTPSERVER=/usr/lib/openssh/sftp-server \
      TEST_SSH_UNSAFE_PERMISSIONS=1 TEST_SSH_QUIET=yes \
      TEST_SSH_IPV6=yes TEST_SSH_ECC=yes \
      SIGNET_INTEROP_STATE="$dir/state" \
      sh "$obj/test-exec.sh" "$obj" "$obj/$script") >"$log" 2>&1 </dev/null || rc=$?
    stop_leftover_agents "$dir/state"
    detail="$(awk 'NF && n++ < 8' "$log" | tr '\n' ' ')"
    if ((rc == 0)) && grep -qi 'skipped' "$log"; then
      status=skip
    elif ((rc == 0)); then
      status=pass
    else
      status=fail
      ((rc == 124)) && detail="timed out; $detail"
      # Scripts that run the agent in the foreground keep its stderr in a
      # log of their own (agent-restrict.sh: agent.log): a start failure
      # shows there, not in the script's output.
      local agent_log
      agent_log="$(cat "$obj/agent.log" "$obj/ssh-agent.log" 2>/dev/null |
        awk '/signet-ssh-agent:|ERROR/ && n++ < 2' | tr '\n' ' ' | cut -c1-200 || true)"
      [[ -n "$agent_log" ]] && detail="$detail | agent log: $agent_log"
      # Keep the script's own logs for the report.
      mkdir -p "$INTEROP_RUN/logs/$suite"
      cp "$log" "$INTEROP_RUN/logs/$suite/$agent-$variant-$script.out" 2>/dev/null || true
      [[ -f "$obj/failed-regress.log" ]] &&
        cp "$obj/failed-regress.log" "$INTEROP_RUN/logs/$suite/$agent-$variant-$script.failed-regress.log"
      rm -f "$obj/failed-regress.log" "$obj/failed-ssh.log" "$obj/failed-sshd.log"
    fi
    record "$suite" "$name" "$agent" "$status" "$detail"
    echo "  $name [$agent]: $status ($((SECONDS - t0))s)" >&2
  done
}

# The two agents' runs share nothing (each has its own OBJ, sockets, state
# and no listening port: the agent scripts reach sshd through ProxyCommand
# `sshd -i`), so they run side by side; most of their time is sleep.
pids=()
for agent in $INTEROP_AGENTS; do
  (
    run_variant "$agent" all "${scripts[@]}"
    ((${#typed[@]} == 0)) || run_variant "$agent" ssh-ed25519 "${typed[@]}"
  ) &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do
  wait "$p" || rc=1
done
exit "$rc"
