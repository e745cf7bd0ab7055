#!/usr/bin/env bash
# signet quick start: build, install for this user, start the agent on its
# default settings, and show it working with a throwaway key.
#
#   bash scripts/quickstart.sh
#
# Installs `signet` and `signetd` into $SIGNET_INSTALL_DIR (default
# ~/.local/bin; `signet start` finds signetd next to signet). Leaves signetd
# running on the default socket; `signet stop` stops it. The demo key is made
# in a temporary directory, loaded into the agent, and its file deleted: from
# then on only the agent holds it.
#
# With SIGNET_BIN_DIR set, the binaries already built there are installed
# instead of building release ones (the docs test runs this script that way).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if [[ -n "${SIGNET_BIN_DIR:-}" ]]; then
  bin_dir="$SIGNET_BIN_DIR"
else
  echo "==> cargo build --release --bins" >&2
  cargo build --release --bins
  bin_dir="${CARGO_TARGET_DIR:-$repo/target}/release"
fi

install_dir="${SIGNET_INSTALL_DIR:-$HOME/.local/bin}"
echo "==> installing signet and signetd into $install_dir" >&2
install -d -m 0755 "$install_dir"
install -m 0755 "$bin_dir/signet" "$bin_dir/signetd" "$install_dir/"
signet="$install_dir/signet"

echo "==> signet start" >&2
eval "$("$signet" start)"
echo "SIGNET_AUTH_SOCK=$SIGNET_AUTH_SOCK"

demo="$(mktemp -d)"
trap 'rm -rf "$demo"' EXIT
ssh-keygen -q -t ed25519 -N '' -C quickstart-demo -f "$demo/demo"
echo "==> signet add (then the key file is deleted)" >&2
"$signet" add "$demo/demo" --lifetime 1h
rm -f "$demo/demo"

echo "==> signet list" >&2
"$signet" list

echo "==> signet sign-request (Encord v2, headers to add to the request)" >&2
"$signet" sign-request --key quickstart-demo --method POST \
  --url 'https://api.encord.com/v2/public/projects?page_size=10' --body '{"title":"demo"}'

echo "==> OpenSSH tools use the same agent: ssh-add -l" >&2
SSH_AUTH_SOCK="$SIGNET_AUTH_SOCK" ssh-add -l

echo "==> signet status" >&2
"$signet" status
echo
echo "signetd is running; stop it with: signet stop"
case ":$PATH:" in
  *":$install_dir:"*) echo "In your shell: eval \"\$(signet env)\"" ;;
  *) echo "$install_dir is not on your PATH: export PATH=\"$install_dir:\$PATH\"; then eval \"\$(signet env)\"" ;;
esac
