#!/usr/bin/env bash
# Installs signet from this checkout, with its man pages and shell completions:
#
#   bash scripts/install.sh --user               # into ~/.local (no root needed)
#   sudo bash scripts/install.sh                 # into /usr/local
#   bash scripts/install.sh --prefix DIR         # into DIR/bin, DIR/share/...
#   bash scripts/install.sh --uninstall [--user | --prefix DIR]
#
# Options:
#   --prefix DIR   where to install (default: ~/.local with --user, else /usr/local)
#   --user         install for this user only: the prefix defaults to ~/.local
#   --no-build     install what target/release already holds instead of building
#   --uninstall    remove what an earlier run installed under the prefix
#
# Builds the release binaries first (`cargo build --release --locked -p
# signet-cli -p signetd`, the command scripts/package.sh runs too), unless
# --no-build is given or $SIGNET_BIN_DIR names a directory holding signet and
# signetd already (the docs test installs its debug build that way). Installs:
#
#   PREFIX/bin/signet, PREFIX/bin/signetd
#   PREFIX/share/man/man1/signet*.1, PREFIX/share/man/man8/signetd.8
#   PREFIX/share/bash-completion/completions/signet
#   PREFIX/share/zsh/site-functions/_signet
#   PREFIX/share/fish/vendor_completions.d/signet.fish
#   PREFIX/share/signet/install-manifest.txt   what was installed, for --uninstall
#
# The man pages and completions are the generated copies under dist/ (the
# Debian package ships the same files). Each file is written to a temporary
# name and renamed into place, so a running signetd keeps its binary and no
# reader sees half a file. Installing again over an earlier installation
# replaces it and removes the files the new one no longer has. --uninstall
# removes exactly the files the manifest lists, leaving (and naming) any that
# changed since, then the directories this script created if they are empty.
# It does not install the systemd units: `signet install-units --user` writes
# them with this signetd's path (docs/install.md).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
self="bash $repo/scripts/install.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

prefix=""
user=0
build=1
uninstall=0
while (($#)); do
  case "$1" in
    --prefix)
      if (($# < 2)) || [[ -z "$2" ]]; then
        echo "install.sh: --prefix needs a directory" >&2
        exit 2
      fi
      prefix="$2"
      shift
      ;;
    --prefix=*) prefix="${1#--prefix=}" ;;
    --user) user=1 ;;
    --no-build) build=0 ;;
    --uninstall) uninstall=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "install.sh: unknown argument '$1' (try --help)" >&2
      exit 2
      ;;
  esac
  shift
done

if [[ -z "$prefix" ]]; then
  if ((user)); then
    if [[ -z "${HOME:-}" ]]; then
      echo "install.sh: --user needs \$HOME (or pass --prefix DIR)" >&2
      exit 2
    fi
    prefix="$HOME/.local"
  else
    prefix=/usr/local
  fi
fi
if [[ "$prefix" == *$'\n'* ]]; then
  echo "install.sh: the prefix must not contain a newline" >&2
  exit 2
fi
prefix="$(realpath -m -- "$prefix")"

# How to name this prefix again, for the uninstall hint.
if ((user)) && [[ "$prefix" == "$(realpath -m -- "${HOME:-/nonexistent}/.local")" ]]; then
  again="--user"
elif [[ "$prefix" == /usr/local ]]; then
  again=""
else
  again="--prefix $(printf '%q' "$prefix")"
fi

manifest="$prefix/share/signet/install-manifest.txt"

sha256() { sha256sum -- "$1" | cut -d' ' -f1; }

# read_manifest FILE: fills files (path -> sha256) and dirs (created directories).
declare -A files=()
dirs=()
read_manifest() {
  local kind a b
  while IFS=' ' read -r kind a b; do
    case "$kind" in
      file) files["$b"]="$a" ;;
      dir) dirs+=("$a") ;;
      '#'* | '') ;;
      *)
        echo "install.sh: $1: unexpected line '$kind $a $b'" >&2
        exit 1
        ;;
    esac
  done <"$1"
}

if ((uninstall)); then
  if [[ ! -f "$manifest" ]]; then
    echo "install.sh: no signet installation recorded under $prefix (no $manifest);" >&2
    echo "  pass the --prefix (or --user) you installed with" >&2
    exit 1
  fi
  read_manifest "$manifest"
  removed=0
  kept=()
  mapfile -t listed < <(printf '%s\n' "${!files[@]}" | sort)
  for path in "${listed[@]}"; do
    if [[ ! -e "$path" && ! -L "$path" ]]; then
      continue
    fi
    if [[ -f "$path" && ! -L "$path" && "$(sha256 "$path")" == "${files[$path]}" ]]; then
      rm -f -- "$path"
      echo "removed $path"
      removed=$((removed + 1))
    else
      kept+=("$path")
    fi
  done
  rm -f -- "$manifest"
  # Deepest first; only directories this script created, and only when empty.
  mapfile -t sorted < <(printf '%s\n' "${dirs[@]}" "$(dirname "$manifest")" | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-)
  for d in "${sorted[@]}"; do
    [[ -n "$d" && -d "$d" ]] && rmdir -- "$d" 2>/dev/null || true
  done
  echo "signet uninstalled from $prefix ($removed files removed)"
  if ((${#kept[@]})); then
    echo "left in place, changed since they were installed:"
    printf '  %s\n' "${kept[@]}"
  fi
  echo "A signetd still running keeps running until \`signet stop\`."
  exit 0
fi

# --- install

if [[ -n "${SIGNET_BIN_DIR:-}" ]]; then
  bin_dir="$SIGNET_BIN_DIR"
elif ((build)); then
  if ! command -v cargo >/dev/null; then
    echo "install.sh: cargo not found. Build as yourself first, then install without building:" >&2
    echo "  cargo build --release --locked -p signet-cli -p signetd && sudo $self --no-build" >&2
    exit 1
  fi
  echo "==> cargo build --release --locked -p signet-cli -p signetd" >&2
  (cd "$repo" && cargo build --release --locked -p signet-cli -p signetd)
  bin_dir="${CARGO_TARGET_DIR:-$repo/target}/release"
else
  bin_dir="${CARGO_TARGET_DIR:-$repo/target}/release"
fi
for bin in signet signetd; do
  if [[ ! -x "$bin_dir/$bin" ]]; then
    echo "install.sh: $bin_dir/$bin not found: build it (cargo build --release --locked -p signet-cli -p signetd) or drop --no-build" >&2
    exit 1
  fi
done
version="$("$bin_dir/signet" --version)"

# What goes where: "SOURCE DESTINATION MODE".
plan=(
  "$bin_dir/signet $prefix/bin/signet 0755"
  "$bin_dir/signetd $prefix/bin/signetd 0755"
)
for page in "$repo"/dist/man/*.1; do
  plan+=("$page $prefix/share/man/man1/$(basename "$page") 0644")
done
plan+=(
  "$repo/dist/man/signetd.8 $prefix/share/man/man8/signetd.8 0644"
  "$repo/dist/completions/signet.bash $prefix/share/bash-completion/completions/signet 0644"
  "$repo/dist/completions/_signet $prefix/share/zsh/site-functions/_signet 0644"
  "$repo/dist/completions/signet.fish $prefix/share/fish/vendor_completions.d/signet.fish 0644"
)

# Check before changing anything: every source exists, the prefix is writable.
for entry in "${plan[@]}"; do
  src="${entry%% *}"
  if [[ ! -f "$src" ]]; then
    echo "install.sh: $src is missing (dist/ is regenerated by scripts/generate-dist.sh)" >&2
    exit 1
  fi
done
probe="$prefix"
while [[ ! -e "$probe" ]]; do probe="$(dirname "$probe")"; done
if [[ ! -w "$probe" ]]; then
  echo "install.sh: cannot write to $probe. Install for yourself with --user (into ~/.local)," >&2
  echo "  or as root: cargo build --release --locked -p signet-cli -p signetd && sudo $self --no-build" >&2
  exit 1
fi

declare -A old_files=()
old_dirs=()
if [[ -f "$manifest" ]]; then
  read_manifest "$manifest"
  for path in "${!files[@]}"; do old_files["$path"]="${files[$path]}"; done
  old_dirs=("${dirs[@]}")
fi

# make_dir DIR: creates DIR and its missing parents, remembering each one made.
created=()
make_dir() {
  local d="$1" missing=()
  while [[ ! -d "$d" ]]; do
    missing+=("$d")
    d="$(dirname "$d")"
  done
  local i
  for ((i = ${#missing[@]} - 1; i >= 0; i--)); do
    mkdir -m 0755 -- "${missing[$i]}"
    created+=("${missing[$i]}")
  done
}

declare -A new_files=()
installed=()
for entry in "${plan[@]}"; do
  read -r src dest mode <<<"$entry"
  make_dir "$(dirname "$dest")"
  tmp="$dest.signet-install.$$"
  install -m "$mode" -- "$src" "$tmp"
  mv -f -- "$tmp" "$dest"
  new_files["$dest"]="$(sha256 "$dest")"
  installed+=("$dest")
done
make_dir "$(dirname "$manifest")"

# Files of the earlier installation that this one no longer has.
for path in "${!old_files[@]}"; do
  if [[ -z "${new_files[$path]:-}" && -f "$path" && "$(sha256 "$path")" == "${old_files[$path]}" ]]; then
    rm -f -- "$path"
    echo "removed $path (no longer part of signet)" >&2
  fi
done

{
  echo "# signet install manifest, written by scripts/install.sh and read by its --uninstall."
  echo "# $version, prefix $prefix"
  for d in "${old_dirs[@]}" "${created[@]}"; do
    [[ -n "$d" ]] && echo "dir $d"
  done
  for dest in "${installed[@]}"; do
    echo "file ${new_files[$dest]} $dest"
  done
} >"$manifest.tmp.$$"
mv -f -- "$manifest.tmp.$$" "$manifest"

echo "installed $version into $prefix:"
printf '  %s\n' "${installed[@]}" "$manifest"
echo "uninstall: $self --uninstall${again:+ $again}"
found="$(command -v signet || true)"
if [[ "$found" != "$prefix/bin/signet" ]]; then
  if [[ -z "$found" ]]; then
    echo "note: $prefix/bin is not on your PATH: export PATH=\"$prefix/bin:\$PATH\""
  else
    echo "note: another signet comes first on your PATH: $found"
  fi
fi
if [[ "$prefix" != /usr/local && "$prefix" != /usr ]]; then
  echo "zsh: add fpath+=($prefix/share/zsh/site-functions) before compinit to complete signet"
fi
