"""Run the REAL signetd for tests and benchmarks (stdlib only).

`Signetd(workdir)` starts `signetd --socket <workdir>/run/agent.sock` with a
clean environment (HOME and the XDG directories under `workdir`, no SIGNET_*
or SSH_* variables), waits until it answers `version@signet`, and loads keys
made by the real `ssh-keygen` with the real `ssh-add`. `stop()` sends SIGTERM
and returns the exit code. The daemon's stderr goes to `<workdir>/signetd.log`
(`log_tail()` quotes it in failure messages).
"""

import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_HINT = "run `cargo build --workspace --bins` (or point SIGNET_BIN_DIR at the directory holding signetd)"

SSH_AGENTC_LOCK = 22
SSH_AGENTC_UNLOCK = 23
SSH_AGENT_SUCCESS = 6


class SignetdUnavailable(Exception):
    """The signetd binary (or ssh-keygen / ssh-add) cannot be found."""


def signetd_binary() -> Path:
    """`$SIGNET_BIN_DIR/signetd`, else `<repo>/target/debug/signetd`."""
    bin_dir = os.environ.get("SIGNET_BIN_DIR")
    base = Path(bin_dir) if bin_dir else REPO_ROOT / "target" / "debug"
    exe = base / ("signetd.exe" if os.name == "nt" else "signetd")
    if not (exe.is_file() and os.access(str(exe), os.X_OK)):
        raise SignetdUnavailable("signetd binary not found at %s: %s" % (exe, BUILD_HINT))
    return exe


def openssh_tools() -> Dict[str, str]:
    tools = {}
    for name in ("ssh-keygen", "ssh-add"):
        path = shutil.which(name)
        if not path:
            raise SignetdUnavailable("%s not found on PATH: install OpenSSH's client tools" % name)
        tools[name] = path
    return tools


class KeyMaterial:
    """A key made by ssh-keygen: its name (comment), files, and public key."""

    def __init__(self, name: str, private_path: Path, fingerprint: str = ""):
        self.name = name
        self.private_path = private_path
        self.fingerprint = fingerprint  # `SHA256:…`, as `ssh-keygen -lf` prints it
        self.public_path = Path(str(private_path) + ".pub")
        algo, b64, _comment = self.public_path.read_text().split(" ", 2)
        assert algo == "ssh-ed25519", algo
        blob = base64.b64decode(b64)
        # blob = string "ssh-ed25519", string public key (32 bytes)
        (n,) = struct.unpack(">I", blob[:4])
        (m,) = struct.unpack(">I", blob[4 + n : 8 + n])
        self.public_raw = blob[8 + n : 8 + n + m]
        assert len(self.public_raw) == 32
        self.key_id = self.public_raw.hex()  # the SDK's key id: hex of the raw public key

    def private_text(self) -> str:
        """The private key file's contents, ONLY for the SDK's own in-process signer (comparisons)."""
        return self.private_path.read_text(encoding="ascii")

    def __repr__(self):
        return "KeyMaterial(%r, %s)" % (self.name, self.key_id[:16])


class Signetd:
    """One real signetd process in a private temp directory."""

    def __init__(self, workdir: Path, binary: Optional[Path] = None, extra_args: Optional[List[str]] = None):
        self.workdir = Path(workdir)
        self.binary = Path(binary) if binary else signetd_binary()
        self.tools = openssh_tools()
        self.extra_args = list(extra_args or [])
        self.home = self.workdir / "home"
        self.runtime_dir = self.workdir / "run"
        self.key_dir = self.workdir / "keys"
        self.socket_path = str(self.runtime_dir / "agent.sock")
        self.log_path = self.workdir / "signetd.log"
        self.keys = {}  # type: Dict[str, KeyMaterial]
        self.proc = None  # type: Optional[subprocess.Popen]
        self.returncode = None  # type: Optional[int]
        for d in (self.home, self.runtime_dir, self.key_dir, self.workdir / "config", self.workdir / "data"):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(str(d), 0o700)
        self.keyring_service = "signet-py-%s" % os.urandom(6).hex()
        self.env = self._clean_env()

    # ------------------------------------------------------------ lifecycle

    def _clean_env(self) -> Dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "XDG_CONFIG_HOME": str(self.workdir / "config"),
            "XDG_DATA_HOME": str(self.workdir / "data"),
            "XDG_STATE_HOME": str(self.workdir / "data"),
            "XDG_CACHE_HOME": str(self.workdir / "data"),
            "TMPDIR": str(self.workdir),
            "LANG": "C",
            "NO_COLOR": "1",
            # The daemon's audit key goes to the key store: under a service
            # name of this daemon's own, removed when it stops (never the
            # user's keyring service).
            "SIGNET_KEYRING_SERVICE": self.keyring_service,
        }
        for name in ("SYSTEMROOT", "LD_LIBRARY_PATH"):  # keep what a dynamically linked binary may need
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def start(self, timeout: float = 15.0) -> "Signetd":
        args = [str(self.binary), "--socket", self.socket_path, "--log-level", "debug"] + self.extra_args
        log = open(str(self.log_path), "ab")
        try:
            self.proc = subprocess.Popen(
                args, env=self.env, cwd=str(self.workdir), stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        finally:
            log.close()
        self.returncode = None
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    "signetd exited with code %d before answering\n%s" % (self.proc.returncode, self.log_tail())
                )
            if self._answers():
                return self
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("signetd did not answer on %s within %ss\n%s" % (self.socket_path, timeout, self.log_tail()))
            time.sleep(0.01)

    def _answers(self) -> bool:
        """True once the daemon answers a `version@signet` probe on the socket."""
        from signet_encord.agent import AgentClient  # noqa: PLC0415 (keep this module importable without it)

        if not os.path.exists(self.socket_path):
            return False
        try:
            with AgentClient(self.socket_path, timeout=2.0) as c:
                c.ping()
            return True
        except Exception:
            return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, wait, and return the exit code (idempotent)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("signetd ignored SIGTERM for %ss\n%s" % (timeout, self.log_tail()))
        self.returncode = self.proc.returncode
        self._purge_keyring()
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._purge_keyring()

    def _purge_keyring(self) -> None:
        """Removes the kernel keyring entries filed under this daemon's service."""
        suffix = "@%s:" % self.keyring_service
        try:
            with open("/proc/keys", encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError:
            return
        for line in lines:
            if suffix not in line:
                continue
            try:
                key = int(line.split()[0], 16)
            except (IndexError, ValueError):
                continue
            try:
                subprocess.run(["keyctl", "invalidate", str(key)], capture_output=True, check=False)
            except OSError:
                return

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no signetd log)"
        return "--- signetd log (last %d lines) ---\n%s" % (lines, "\n".join(text.splitlines()[-lines:]))

    # ------------------------------------------------------------ keys (real OpenSSH tools)

    def _run(self, argv: List[str], ok=(0,), **env) -> subprocess.CompletedProcess:
        e = dict(self.env, SSH_AUTH_SOCK=self.socket_path)
        e.update(env)
        res = subprocess.run(argv, env=e, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        if res.returncode not in ok:
            raise RuntimeError(
                "%s failed (%d): %s%s\n%s" % (" ".join(argv), res.returncode, res.stdout, res.stderr, self.log_tail())
            )
        return res

    def generate_key(self, name: str) -> KeyMaterial:
        """`ssh-keygen -t ed25519 -N '' -C <name>` (not loaded)."""
        path = self.key_dir / name
        self._run([self.tools["ssh-keygen"], "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)])
        listed = self._run([self.tools["ssh-keygen"], "-l", "-E", "sha256", "-f", str(path) + ".pub"]).stdout
        return KeyMaterial(name, path, listed.split()[1])

    def add_key(self, name: str) -> KeyMaterial:
        """Generate a key and load it with `ssh-add`."""
        key = self.keys.get(name) or self.generate_key(name)
        self._run([self.tools["ssh-add"], str(key.private_path)])
        self.keys[name] = key
        return key

    def remove_key(self, name: str) -> None:
        """`ssh-add -d` (by the public key file)."""
        self._run([self.tools["ssh-add"], "-d", str(self.keys[name].public_path)])

    def list_keys(self) -> str:
        """`ssh-add -l` output (exit 1 = "The agent has no identities.")."""
        res = self._run([self.tools["ssh-add"], "-l"], ok=(0, 1))
        return res.stdout + res.stderr

    def _askpass_env(self, passphrase: str) -> Dict[str, str]:
        script = self.workdir / "askpass.sh"
        script.write_text("#!/bin/sh\nprintf '%%s\\n' '%s'\n" % passphrase.replace("'", "'\\''"))
        os.chmod(str(script), 0o700)
        return {"SSH_ASKPASS": str(script), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}

    def ssh_add_lock(self, passphrase: str) -> None:
        """`ssh-add -x`, the passphrase typed by an SSH_ASKPASS script."""
        self._run([self.tools["ssh-add"], "-x"], **self._askpass_env(passphrase))

    def ssh_add_unlock(self, passphrase: str) -> None:
        """`ssh-add -X`, the passphrase typed by an SSH_ASKPASS script."""
        self._run([self.tools["ssh-add"], "-X"], **self._askpass_env(passphrase))

    # ------------------------------------------------------------ raw agent messages

    def raw_request(self, body: bytes) -> bytes:
        """Send one SSH agent message on a fresh connection; return the reply body."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(15)
            s.connect(self.socket_path)
            s.sendall(struct.pack(">I", len(body)) + body)
            hdr = _recv_exact(s, 4)
            return _recv_exact(s, struct.unpack(">I", hdr)[0])

    def lock(self, passphrase: bytes) -> None:
        """SSH_AGENTC_LOCK (`byte 22, string passphrase`), as `ssh-add -x` sends."""
        reply = self.raw_request(bytes([SSH_AGENTC_LOCK]) + struct.pack(">I", len(passphrase)) + passphrase)
        if reply != bytes([SSH_AGENT_SUCCESS]):
            raise RuntimeError("lock failed: reply %r\n%s" % (reply, self.log_tail()))

    def unlock(self, passphrase: bytes) -> None:
        """SSH_AGENTC_UNLOCK (`byte 23, string passphrase`), as `ssh-add -X` sends."""
        reply = self.raw_request(bytes([SSH_AGENTC_UNLOCK]) + struct.pack(">I", len(passphrase)) + passphrase)
        if reply != bytes([SSH_AGENT_SUCCESS]):
            raise RuntimeError("unlock failed: reply %r\n%s" % (reply, self.log_tail()))


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("agent closed the connection")
        buf += chunk
    return buf
