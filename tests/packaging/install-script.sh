#!/usr/bin/env bash
# scripts/install.sh, as a user without the Debian package runs it:
#
#   bash tests/packaging/install-script.sh
#
# Installs into a temporary prefix (building the release binaries, which
# tests/packaging/run.sh has just built for the .deb, so that is a no-op
# there), then runs the installed signet with PATH set to PREFIX/bin only and
# a private HOME and XDG directories: start (signetd found next to signet),
# add, list, sign-request, stop. Checks man -w and the completions, a second
# install over the first (which also removes a file the first had and the
# second has not), --uninstall (nothing left, not even the directories it
# made), --uninstall leaving a file changed since, --user into a private
# HOME, and the errors for a prefix with no installation and a bad argument.
# Writes only under its temporary directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

version="$(workspace_version)"
tmp="$(mktemp -d)"
cleanup() {
  local rc=$?
  set +e
  smoke_cleanup
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# install.sh as a user runs it: no SIGNET_BIN_DIR (scripts/test.sh exports one).
install_sh=(env -u SIGNET_BIN_DIR bash "$repo/scripts/install.sh")
prefix="$tmp/prefix"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"

expected=(
  bin/signet bin/signetd
  share/man/man1/signet.1 share/man/man1/signet-add.1 share/man/man1/signet-sign-request.1
  share/man/man8/signetd.8
  share/bash-completion/completions/signet
  share/zsh/site-functions/_signet
  share/fish/vendor_completions.d/signet.fish
  share/signet/install-manifest.txt
)

# --- install, with the build
out="$("${install_sh[@]}" --prefix "$prefix" 2>"$tmp/build.log")" || fail "install.sh --prefix failed:
$(tail -n 30 "$tmp/build.log")"
grep -q "^installed signet $version into $prefix:" <<<"$out" || fail "install.sh did not say what it installed:
$out"
grep -qF "uninstall: bash $repo/scripts/install.sh --uninstall --prefix $prefix" <<<"$out" ||
  fail "install.sh did not say how to uninstall:
$out"
for f in "${expected[@]}"; do
  [[ -s "$prefix/$f" ]] || fail "not installed: $prefix/$f"
  grep -qF "$prefix/$f" <<<"$out" || [[ "$f" == share/signet/* ]] || fail "not listed in the output: $prefix/$f"
done
for b in signet signetd; do
  cmp -s "$prefix/bin/$b" "$target_dir/release/$b" || fail "$prefix/bin/$b is not the release build's $b"
  expect_eq "mode of bin/$b" "$(stat -c %a "$prefix/bin/$b")" 755
done
expect_eq "mode of the man page" "$(stat -c %a "$prefix/share/man/man1/signet.1")" 644
man_pages="$(find "$prefix/share/man" -type f | wc -l)"
expect_eq "man pages installed" "$man_pages" "$(find "$repo/dist/man" -type f | wc -l)"
# Every installed file is in the manifest with its digest.
while read -r kind sum path; do
  [[ "$kind" == file ]] || continue
  expect_eq "manifest digest of $path" "$(sha256sum "$path" | cut -d' ' -f1)" "$sum"
done <"$prefix/share/signet/install-manifest.txt"
expect_eq "files in the manifest" "$(grep -c '^file ' "$prefix/share/signet/install-manifest.txt")" \
  "$(find "$prefix" -type f ! -name install-manifest.txt | wc -l)"
ok "install.sh --prefix: $(find "$prefix" -type f | wc -l) files, each in the manifest"

# --- the installed signet, with PATH = PREFIX/bin and nothing else
smoke_test "$prefix/bin" "$tmp/smoke" 2>"$tmp/smoke.log" || fail "smoke test: $(cat "$tmp/smoke.log")"
expect_eq "signetd --version" "$(env -i PATH="$prefix/bin" signetd --version)" "signetd $version"
ok "PATH=$prefix/bin: signet start, add, list, sign-request, stop"

# man-db finds PREFIX/share/man from PATH's PREFIX/bin, as for ~/.local.
expect_eq "man -w signet" "$(env -i PATH="$prefix/bin" /usr/bin/man -w signet)" \
  "$prefix/share/man/man1/signet.1"
expect_eq "man -w 8 signetd" "$(env -i PATH="$prefix/bin" /usr/bin/man -w 8 signetd)" \
  "$prefix/share/man/man8/signetd.8"
got="$(bash -c "source $prefix/share/bash-completion/completions/signet && complete -p signet")" ||
  fail "bash cannot load the installed completion"
[[ "$got" == "complete "*"-F _"*" signet" ]] || fail "bash completion for signet: $got"
ok "man -w finds the pages from PATH alone; the bash completion loads"

# --- a second install over the first: same files, and one the first
# installation had (listed in its manifest) but this one has not is removed.
stale="$prefix/share/man/man1/signet-retired.1"
echo '.TH SIGNET-RETIRED 1' >"$stale"
echo "file $(sha256sum "$stale" | cut -d' ' -f1) $stale" >>"$prefix/share/signet/install-manifest.txt"
"${install_sh[@]}" --prefix "$prefix" --no-build >/dev/null 2>"$tmp/again.log" ||
  fail "second install failed: $(cat "$tmp/again.log")"
[[ ! -e "$stale" ]] || fail "a reinstall kept $stale, which the new installation does not have"
grep -q "removed $stale" "$tmp/again.log" || fail "the reinstall did not say it removed $stale"
for f in "${expected[@]}"; do
  [[ -s "$prefix/$f" ]] || fail "missing after the reinstall: $prefix/$f"
done
ok "reinstall: files replaced, a retired file removed"

# --- uninstall: nothing left, not even the directories install.sh made
out="$("${install_sh[@]}" --uninstall --prefix "$prefix" 2>&1)" || fail "--uninstall failed: $out"
grep -q "^signet uninstalled from $prefix" <<<"$out" || fail "--uninstall said: $out"
[[ ! -e "$prefix" ]] || fail "--uninstall left: $(find "$prefix")"
ok "--uninstall: $prefix removed entirely"

# --- uninstall leaves a file changed since the install, and names it
mkdir -p "$prefix/share/zsh"
keep="$prefix/share/zsh/mine"
echo "not signet's" >"$keep"
"${install_sh[@]}" --prefix "$prefix" --no-build >/dev/null 2>&1 || fail "install (third) failed"
echo "# a local change" >>"$prefix/share/zsh/site-functions/_signet"
out="$("${install_sh[@]}" --uninstall --prefix "$prefix" 2>&1)" || fail "--uninstall failed: $out"
grep -qF "  $prefix/share/zsh/site-functions/_signet" <<<"$out" || fail "--uninstall did not name the changed file: $out"
expect_eq "what --uninstall left" "$(cd "$prefix" && find . -type f | sort | tr '\n' ' ')" \
  "./share/zsh/mine ./share/zsh/site-functions/_signet "
ok "--uninstall keeps (and names) a changed file and a directory it did not make"
rm -rf "$prefix"

# --- --user: ~/.local of this HOME
home="$tmp/userhome"
mkdir -p "$home"
out="$(HOME="$home" "${install_sh[@]}" --user --no-build 2>&1)" || fail "--user failed: $out"
[[ -x "$home/.local/bin/signet" && -s "$home/.local/share/man/man1/signet.1" ]] ||
  fail "--user did not install into $home/.local"
grep -qF "uninstall: bash $repo/scripts/install.sh --uninstall --user" <<<"$out" || fail "--user's uninstall hint: $out"
HOME="$home" "${install_sh[@]}" --uninstall --user >/dev/null 2>&1 || fail "--uninstall --user failed"
[[ ! -e "$home/.local" ]] || fail "--uninstall --user left: $(find "$home/.local")"
ok "--user installs into ~/.local and --uninstall --user removes it"

# --- errors
set +e
out="$("${install_sh[@]}" --uninstall --prefix "$tmp/nothing" 2>&1)"
rc=$?
set -e
expect_eq "--uninstall of nothing: exit code" "$rc" 1
grep -q "no signet installation recorded under $tmp/nothing" <<<"$out" || fail "--uninstall of nothing said: $out"
set +e
out="$("${install_sh[@]}" --frobnicate 2>&1)"
rc=$?
set -e
expect_eq "a bad argument: exit code" "$rc" 2
grep -q "unknown argument '--frobnicate'" <<<"$out" || fail "a bad argument: $out"
ok "errors: --uninstall with nothing installed (1), an unknown argument (2)"
