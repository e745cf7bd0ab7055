#!/usr/bin/env bash
# Installs what the integration and Python tests need, and nothing else.
#
# Idempotent: Debian packages are installed only when one is missing (and
# `apt-get update` runs only then); the virtualenv is created once and its
# packages reinstalled only when python/'s requirement files change.
#
# Needs root (or sudo) only when a Debian package is missing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages, each for a reason:
#   openssh-client   ssh, ssh-add, ssh-keygen: the clients the tests drive
#   openssh-server   /usr/sbin/sshd for the real login test
#   keyutils         keyctl, for the kernel keyring key store
#   gnome-keyring    a Secret Service to test the keyring key store against
#   dbus-daemon      dbus-run-session, a private session bus for gnome-keyring
#   dbus-user-session, dbus  the session bus configuration
#   libsecret-tools  secret-tool, to inspect the Secret Service from tests
#   openssl          openssl genpkey, to make the PKCS#8 keys `signet import` reads
#   util-linux       setpriv/runuser, to connect as another user (peer check)
#   systemd          systemd-analyze, systemd-socket-activate, systemd-creds (unit,
#                    activation and credential tests; systemd need not run as PID 1)
#   passwd           useradd/groupadd, for the build-machine allow-list test
#   python3-venv     python3 -m venv for the Python adapter's tests
#   strace           the hardening test's ptrace attach attempt (strace -p)
#   curl             the docs test runs the README's curl example (against a
#                    loopback stand-in of the Encord API)
#   man-db           man -w, for the installed man pages (packaging lane)
#   binutils         objcopy (cargo-deb splits the debug symbols), readelf (build ids)
#   dpkg-dev         dpkg-shlibdeps: the .deb's Depends on the C library
#   softhsm2         a software PKCS#11 token (libsofthsm2.so, softhsm2-util) for the
#                    [pkcs11] tests; its token directory lives in each test's temp dir
#   opensc           pkcs11-tool, to inspect the token's objects from the tests
packages=(
  openssh-client
  openssh-server
  keyutils
  gnome-keyring
  dbus
  dbus-daemon
  dbus-user-session
  libsecret-tools
  openssl
  util-linux
  systemd
  passwd
  python3
  python3-venv
  strace
  curl
  man-db
  binutils
  dpkg-dev
  softhsm2
  opensc
)

missing=()
for p in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-test-deps: installing ${missing[*]}" >&2
  sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null; then
      sudo=(sudo)
    else
      echo "install-test-deps: missing ${missing[*]}; run this script as root or install them" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# sshd refuses to start without its privilege-separation directory.
if [[ ! -d /run/sshd ]]; then
  if [[ "$(id -u)" -eq 0 ]]; then
    install -d -m 0755 /run/sshd
  elif command -v sudo >/dev/null; then
    sudo install -d -m 0755 /run/sshd
  fi
fi

# The Python adapter's virtualenv, at the repository root.
python="${PYTHON:-python3}"
venv="$repo/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "install-test-deps: creating $venv" >&2
  "$python" -m venv "$venv"
fi

requirements="$repo/python/requirements-test.txt"
project=""
if [[ -f "$repo/python/pyproject.toml" || -f "$repo/python/setup.py" ]]; then
  project="$repo/python"
fi

if [[ -f "$requirements" || -n "$project" ]]; then
  # Reinstall only when a file that decides what gets installed has changed.
  stamp="$venv/.signet-test-deps"
  inputs=()
  for f in "$requirements" "$repo/python/pyproject.toml" "$repo/python/setup.py" "$repo/python/setup.cfg"; do
    [[ -f "$f" ]] && inputs+=("$f")
  done
  want="$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    args=()
    [[ -f "$requirements" ]] && args+=(-r "$requirements")
    [[ -n "$project" ]] && args+=(-e "$project")
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}"
    echo "$want" >"$stamp"
  fi
else
  echo "install-test-deps: no python/requirements-test.txt or python/pyproject.toml yet; skipping Python packages" >&2
fi
