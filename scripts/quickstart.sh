#!/usr/bin/env bash
# signet quick start: build, start the agent on its default settings, and show
# it working with a throwaway key.
#
#   bash scripts/quickstart.sh
#
# Leaves signetd running on the default socket; `target/release/signet stop`
# stops it. The demo key is made in a temporary directory, loaded into the
# agent, and its file deleted: from then on only the agent holds it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

echo "==> cargo build --release --bins" >&2
cargo build --release --bins
signet="$repo/target/release/signet"

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
echo "signetd is running. In your shell: eval \"\$($signet env)\"; stop it with: $signet stop"
