#!/usr/bin/env bash
# Installs what the interop lane (tests/interop/run.sh) needs, and nothing else.
#
#   bash tests/interop/install-deps.sh            # everything
#   bash tests/interop/install-deps.sh go paramiko # only what these suites need
#
# Idempotent and quick when everything is there: Debian packages are installed
# only when one is missing (apt-get update runs only then); the virtualenv,
# node_modules and asyncssh's sdist live in $SIGNET_INTEROP_CACHE (default
# <repo>/target/interop, ignored by git) and are rebuilt only when the pinned
# versions change. Nothing goes into a system Python or a global node_modules.
# Needs root (or sudo) only when a Debian package is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${SIGNET_INTEROP_CACHE:-$repo/target/interop}"

# asyncssh's own tests come from its sdist; the same version is installed
# from tests/interop/requirements.txt.
ASYNCSSH_VERSION=2.24.1

suites=("$@")
((${#suites[@]})) || suites=(idle openssh-regress openssh-cli go asyncssh paramiko ssh2)
wants() {
  local s
  for s in "${suites[@]}"; do [[ "$s" == "$1" ]] && return 0; done
  return 1
}

# Debian packages, each for a reason:
#   openssh-client, openssh-server  ssh-agent (the reference), ssh-add, ssh,
#                    ssh-keygen, sshd (the loopback server the clients log in to)
#   openssh-tests    OpenSSH's regress suite for the installed 9.2 tools
#                    (/usr/lib/openssh/regress), agent*.sh among them
#   sudo             the regress scripts switch users with "$SUDO" = sudo
#                    (agent-getpeereid.sh, agent-ptrace.sh, sshd -i as root)
#   gdb              agent-ptrace.sh attaches gdb to the agent
#   passwd           useradd/userdel: the regress scripts refuse to run
#                    agent-getpeereid/agent-ptrace as root
#   util-linux       runuser, setsid
#   golang-go, golang-golang-x-crypto-dev  Go 1.19 and x/crypto (with its
#                    ssh/agent tests) from Debian, built in GOPATH mode
#   python3-venv     the virtualenv for asyncssh and paramiko
#   nodejs, npm      Node's ssh2 (only when no node/npm is installed: a
#                    machine may have Node.js from elsewhere)
packages=(openssh-client openssh-server util-linux)
if wants openssh-regress; then
  packages+=(openssh-tests sudo gdb passwd)
fi
wants go && packages+=(golang-go golang-golang-x-crypto-dev)
if wants asyncssh || wants paramiko || wants idle; then
  packages+=(python3 python3-venv)
fi
if wants ssh2 && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "interop install-deps: installing ${missing[*]}" >&2
  sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || {
      echo "interop install-deps: missing ${missing[*]}; run this script as root or install them" >&2
      exit 1
    }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# sshd refuses to start without its privilege-separation directory.
if [[ ! -d /run/sshd && "$(id -u)" -eq 0 ]]; then
  install -d -m 0755 /run/sshd
fi

mkdir -p "$cache"

# Reinstalls only when the inputs' hash changes.
stamp_ok() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

if wants asyncssh || wants paramiko || wants idle; then
  venv="$cache/venv"
  req="$here/requirements.txt"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if ! stamp_ok "$venv/.stamp" "$want"; then
    echo "interop install-deps: creating $venv" >&2
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" >"$venv/.stamp"
  fi
fi

if wants asyncssh; then
  sdist="$cache/asyncssh-$ASYNCSSH_VERSION"
  if [[ ! -f "$sdist/.stamp" ]]; then
    echo "interop install-deps: fetching asyncssh $ASYNCSSH_VERSION's sdist (for tests/test_agent.py)" >&2
    dl="$(mktemp -d "$cache/dl.XXXXXX")"
    "$cache/venv/bin/python" -m pip download --quiet --disable-pip-version-check \
      --no-binary :all: --no-deps -d "$dl" "asyncssh==$ASYNCSSH_VERSION"
    rm -rf "$sdist"
    tar -xzf "$dl/asyncssh-$ASYNCSSH_VERSION.tar.gz" -C "$cache"
    rm -rf "$dl"
    [[ -f "$sdist/tests/test_agent.py" ]] || {
      echo "interop install-deps: $sdist has no tests/test_agent.py" >&2
      exit 1
    }
    touch "$sdist/.stamp"
  fi
fi

if wants ssh2; then
  node_dir="$cache/node"
  want="$(cat "$here/ssh2/package.json" "$here/ssh2/package-lock.json" | sha256sum | cut -d' ' -f1)"
  if ! stamp_ok "$node_dir/.stamp" "$want"; then
    echo "interop install-deps: installing ssh2 into $node_dir" >&2
    rm -rf "$node_dir"
    mkdir -p "$node_dir"
    cp "$here/ssh2/package.json" "$here/ssh2/package-lock.json" "$node_dir/"
    # No optional native add-on (cpu-features) and no install scripts: the
    # agent client is plain JavaScript.
    (cd "$node_dir" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$want" >"$node_dir/.stamp"
  fi
fi
