#!/usr/bin/env bash
# The Debian package, installed and removed as an administrator would:
#
#   bash tests/packaging/deb.sh target/debian/signet_VERSION-1_ARCH.deb
#
# (tests/packaging/run.sh builds the package with scripts/package.sh first.)
# Installs it with `apt-get install ./signet_*.deb`, then checks: the version
# is the workspace's; `signet --version`/`signetd --version`; `man -w` finds
# signet(1), a subcommand's page and signetd(8); the bash, zsh and fish
# completions are in place (bash loads its file); the units are in
# /usr/lib/systemd/{system,user}, name /usr/bin/signetd and pass
# `systemd-analyze verify` without a complaint; the system group `signet`
# exists; no unit is enabled and no signetd runs; the docs and copyright are
# in /usr/share/doc/signet; dpkg --verify is clean; the installed signet starts
# its agent, loads a key, signs and stops; the .ddeb holds the debug files of
# the installed binaries. Then `dpkg -r` (the files go, the group stays) and
# `dpkg -P` (nothing of the package remains: the same *signet* paths under
# /etc, /usr and /var/lib as before the test).
#
# It changes the machine, so it guards it: it needs root (in CI it fails
# without; elsewhere it skips), refuses to run when a signet package is known
# to dpkg or a file it would install already exists, and its EXIT trap purges
# the package and deletes the group if the test created it, whatever failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if (($# != 1)) || [[ ! -f "$1" ]]; then
  echo "usage: deb.sh PATH/signet_VERSION_ARCH.deb (bash scripts/package.sh builds it)" >&2
  exit 2
fi
deb="$(realpath -- "$1")"
ddeb="$(dirname "$deb")/$(basename "$deb" | sed 's/^signet_/signet-dbgsym_/; s/\.deb$/.ddeb/')"
version="$(workspace_version)"

if [[ "$(id -u)" -ne 0 ]]; then
  [[ -z "${CI:-}" ]] || fail "installing a package needs root, and CI must run this test"
  echo "$me: SKIPPED: installing a package needs root (CI runs this as root)" >&2
  exit 0
fi

# Some images (Docker's -slim ones) tell dpkg to drop man pages and docs; the
# package could not be checked there as users get it elsewhere.
excludes="$(grep -rsE '^path-exclude.*/usr/share/(man|doc)' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/ || true)"
[[ -z "$excludes" ]] || fail "dpkg here is configured to drop man pages or docs ($excludes): run this test where dpkg installs them"

dpkg_status() { dpkg-query -W -f='${db:Status-Abbrev}' signet 2>/dev/null || true; }

# --- guards: this machine has no signet package and no file the package holds
status="$(dpkg_status)"
if [[ -n "$status" && "$status" != "un " ]]; then
  fail "a signet package is already known to dpkg here (status '$status'); this test installs and purges one, so it leaves the machine alone. Remove it first (dpkg -P signet) or run the test elsewhere."
fi
mapfile -t payload < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|' | grep -v '/$')
((${#payload[@]} > 20)) || fail "the package holds only ${#payload[@]} files"
for f in "${payload[@]}"; do
  if [[ -e "$f" || -L "$f" ]]; then
    fail "$f exists already (not from a signet package): installing would overwrite it and purging delete it"
  fi
done

tmp="$(mktemp -d)"
group_existed=0
getent group signet >/dev/null && group_existed=1
# Every *signet* path where a package could leave one, to compare after purge.
snapshot() { find /etc /usr /var/lib -xdev -name '*signet*' 2>/dev/null | sort; }
snapshot >"$tmp/before"

cleanup() {
  local rc=$?
  set +e
  smoke_cleanup
  if [[ -n "$(dpkg_status)" && "$(dpkg_status)" != "un " ]]; then
    echo "$me: cleanup: purging the signet package" >&2
    dpkg -P signet >/dev/null || echo "$me: cleanup: dpkg -P signet FAILED: remove it by hand" >&2
  fi
  if ((!group_existed)) && getent group signet >/dev/null; then
    groupdel signet || echo "$me: cleanup: groupdel signet FAILED: remove it by hand" >&2
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- install
echo "$me: apt-get install $deb" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" >"$tmp/apt.log" 2>&1 ||
  fail "apt-get install failed:
$(cat "$tmp/apt.log")"
expect_eq "dpkg status after install" "$(dpkg_status)" "ii "
expect_eq "package version" "$(dpkg-query -W -f='${Version}' signet)" "$version-1"
ok "apt-get install: signet $version-1 installed"

sys_path=(env PATH=/usr/sbin:/usr/bin:/sbin:/bin)
expect_eq "command -v signet" "$("${sys_path[@]}" bash -c 'command -v signet')" /usr/bin/signet
expect_eq "signet --version" "$("${sys_path[@]}" signet --version)" "signet $version"
expect_eq "signetd --version" "$("${sys_path[@]}" signetd --version)" "signetd $version"
ok "signet and signetd $version in /usr/bin"

# man -w: the pages the package put in man-db's standard path.
expect_eq "man -w signet" "$("${sys_path[@]}" man -w signet)" /usr/share/man/man1/signet.1.gz
expect_eq "man -w signet-sign-request" "$("${sys_path[@]}" man -w signet-sign-request)" \
  /usr/share/man/man1/signet-sign-request.1.gz
expect_eq "man -w 8 signetd" "$("${sys_path[@]}" man -w 8 signetd)" /usr/share/man/man8/signetd.8.gz
"${sys_path[@]}" MANWIDTH=80 man -P cat signet 2>/dev/null | grep -q 'signet-sign-request' ||
  fail "man signet does not render (or does not list sign-request)"
ok "man pages: man -w finds signet(1), signet-sign-request(1), signetd(8); signet(1) renders"

bash_completion=/usr/share/bash-completion/completions/signet
zsh_completion=/usr/share/zsh/vendor-completions/_signet
fish_completion=/usr/share/fish/vendor_completions.d/signet.fish
for f in "$bash_completion" "$zsh_completion" "$fish_completion"; do
  [[ -s "$f" ]] || fail "missing or empty: $f"
done
got="$(bash -c "source $bash_completion && complete -p signet")" || fail "bash cannot load $bash_completion"
[[ "$got" == "complete "*"-F _"*" signet" ]] || fail "bash completion for signet: $got"
expect_eq "zsh completion's first line" "$(head -n1 "$zsh_completion")" "#compdef signet"
grep -q '^complete -c signet ' "$fish_completion" || fail "$fish_completion completes nothing for signet"
ok "completions: bash (loads: $got), zsh, fish"

doc=/usr/share/doc/signet
for f in copyright README.md changelog.gz third-party-licenses.txt.gz docs/cli.md docs/service-accounts.md; do
  [[ -s "$doc/$f" ]] || fail "missing or empty: $doc/$f"
done
expect_eq "copyright format" "$(head -n1 "$doc/copyright")" \
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
grep -q '^License: Expat or Apache-2.0$' "$doc/copyright" || fail "copyright names no licence"
# The BSD-3-Clause crates ask for their notice with every binary copy.
zgrep -q '^==> curve25519-dalek ' "$doc/third-party-licenses.txt.gz" ||
  fail "third-party-licenses.txt.gz lacks curve25519-dalek's notice"
ok "docs, copyright and third-party notices in $doc"

units_system=(/usr/lib/systemd/system/signet-system.socket /usr/lib/systemd/system/signet-system.service)
units_user=(/usr/lib/systemd/user/signet.socket /usr/lib/systemd/user/signet.service)
for f in "${units_system[@]}" "${units_user[@]}"; do
  [[ -s "$f" ]] || fail "missing: $f"
done
grep -q '^ExecStart=/usr/bin/signetd --system ' /usr/lib/systemd/system/signet-system.service ||
  fail "the system service does not start /usr/bin/signetd"
grep -q '^ExecStart=/usr/bin/signetd ' /usr/lib/systemd/user/signet.service ||
  fail "the user service does not start /usr/bin/signetd"
# verify: exit 0 and not one line it did not understand (as tests/it/systemd_units.rs).
verify() {
  local out
  out="$(SYSTEMD_LOG_LEVEL=info "$@" 2>&1)" || fail "$* failed:
$out"
  if grep -qE 'Unknown|ignoring|Failed|not executable|Invalid|fatal error' <<<"$out"; then
    fail "$* complained:
$out"
  fi
}
verify systemd-analyze verify "${units_system[@]}"
install -d -m 0700 "$tmp/xdg-run"
verify env XDG_RUNTIME_DIR="$tmp/xdg-run" systemd-analyze --user verify "${units_user[@]}"
ok "units in /usr/lib/systemd/{system,user}: ExecStart=/usr/bin/signetd, systemd-analyze verify clean"

entry="$(getent group signet)" || fail "postinst did not create the group signet"
gid="$(cut -d: -f3 <<<"$entry")"
sys_gid_max="$(awk '$1 == "SYS_GID_MAX" { print $2 }' /etc/login.defs 2>/dev/null)"
((gid <= ${sys_gid_max:-999})) || fail "group signet has gid $gid, not a system gid (<= ${sys_gid_max:-999})"
ok "group signet (gid $gid, a system group)"

# Nothing enabled, nothing started: no link to a signet unit anywhere in
# /etc/systemd, systemctl calls them disabled, and no process runs /usr/bin/signetd.
enabled="$(find /etc/systemd -name 'signet*' 2>/dev/null)"
[[ -z "$enabled" ]] || fail "installing enabled or masked something: $enabled"
expect_eq "systemctl is-enabled signet-system.socket" \
  "$(systemctl is-enabled signet-system.socket 2>&1 || true)" disabled
# The service has no [Install] of its own, only Also=signet-system.socket.
expect_eq "systemctl is-enabled signet-system.service" \
  "$(systemctl is-enabled signet-system.service 2>&1 || true)" indirect
expect_eq "systemctl --global is-enabled signet.socket" \
  "$(systemctl --global is-enabled signet.socket 2>&1 || true)" disabled
for p in /proc/[0-9]*; do
  [[ "$(readlink "$p/exe" 2>/dev/null)" != /usr/bin/signetd ]] || fail "a signetd runs (pid ${p#/proc/}) after install"
done
if dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst | grep -nE 'systemctl[^#]* (enable|start)|--now'; then
  fail "postinst enables or starts a unit"
fi
ok "no unit enabled or started, no signetd running"

out="$(dpkg --verify signet 2>&1)"
[[ -z "$out" ]] || fail "dpkg --verify signet: $out"
ok "dpkg --verify: every file as packaged"

smoke_test /usr/bin "$tmp/smoke" 2>"$tmp/smoke.log" || fail "smoke test: $(cat "$tmp/smoke.log")"
ok "the installed signet starts signetd, adds, lists, signs and stops"

# The debug symbols: one .debug file per installed binary, by build id.
[[ -f "$ddeb" ]] || fail "no debug-symbols package beside the .deb ($ddeb)"
debug_files="$(dpkg-deb -c "$ddeb")"
for b in /usr/bin/signet /usr/bin/signetd; do
  id="$(readelf -n "$b" | sed -n 's/^ *Build ID: *//p')"
  [[ -n "$id" ]] || fail "$b has no build id"
  grep -q "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug$" <<<"$debug_files" ||
    fail "$(basename "$ddeb") has no debug file for $b (build id $id)"
  if readelf -S "$b" | grep -q '\.debug_line'; then fail "$b is not stripped"; fi
done
ok "binaries stripped; $(basename "$ddeb") holds their debug files"

# --- remove: the files go, the group stays
dpkg -r signet >"$tmp/remove.log" 2>&1 || fail "dpkg -r signet: $(cat "$tmp/remove.log")"
for f in "${payload[@]}"; do
  [[ ! -e "$f" ]] || fail "dpkg -r left $f"
done
getent group signet >/dev/null || fail "dpkg -r removed the group signet (it must stay)"
ok "dpkg -r: every file of the package gone, the group kept (status '$(dpkg_status)')"

# --- purge: nothing of the package remains
dpkg -P signet >"$tmp/purge.log" 2>&1 || fail "dpkg -P signet: $(cat "$tmp/purge.log")"
status="$(dpkg_status)"
[[ -z "$status" || "$status" == "un " ]] || fail "after dpkg -P the status is '$status'"
snapshot >"$tmp/after"
if ! diff -u "$tmp/before" "$tmp/after" >"$tmp/diff"; then
  fail "after dpkg -P these *signet* paths differ from before the test:
$(cat "$tmp/diff")"
fi
getent group signet >/dev/null || fail "dpkg -P removed the group signet (it is kept on purge too)"
ok "dpkg -P: no file of the package remains; the group is kept (the test removes it if it made it)"
