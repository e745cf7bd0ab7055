#!/usr/bin/env bash
# signet quick start: build, install for this user, start the agent on its
# default settings, and show it working with a throwaway key.
#
#   bash scripts/quickstart.sh [--prefix DIR]
#
# Installs with `scripts/install.sh --user` (signet and signetd in
# ~/.local/bin, man pages and completions under ~/.local/share), or into DIR
# with --prefix, then runs the installed `signet`. Leaves signetd running on
# the default socket; `signet stop` stops it. The demo key is made in a
# temporary directory, loaded into the agent, and its file deleted: from then
# on only the agent holds it.
#
# With SIGNET_BIN_DIR set, the binaries already built there are installed
# instead of building release ones (the docs test runs this script that way).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

case "${1:-}" in
  "") install=(--user) prefix="$HOME/.local" ;;
  --prefix) install=(--prefix "${2:?--prefix needs a directory}") prefix="$2" ;;
  *)
    echo "quickstart.sh: unknown argument '$1' (the only option is --prefix DIR)" >&2
    exit 2
    ;;
esac
bash scripts/install.sh "${install[@]}" >&2
install_dir="$(realpath -m -- "$prefix")/bin"
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
