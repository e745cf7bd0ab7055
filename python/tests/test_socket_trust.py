"""Who serves the socket is checked before a byte is sent (issue #12).

- a listener run by another uid (`nobody`, through `setpriv`; the tests run as root in CI) gets
  `UntrustedAgent` naming its uid, and records zero bytes although the client connected;
- the default socket's directory must pass signetd's check (owned by this uid, 0700, never a
  link) before the client connects; a missing one means no agent;
- the default path is the one the `signet` CLI computes from the same environment.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from signet_encord import agent as A
from signet_encord.errors import AgentNotRunning, UnsafeSocketDir, UntrustedAgent

# A listener that never answers and, when the client hangs up, appends "conn bytes=N HEX" to a file.
RECORDER = r"""
import os, socket, sys
path, record = sys.argv[1], sys.argv[2]
os.umask(0)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)
while True:
    conn, _ = srv.accept()
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    with open(record, "a") as f:
        f.write("conn bytes=%d %s\n" % (len(data), data.hex()))
    conn.close()
"""


def _need_root():
    if os.geteuid() != 0:
        if os.environ.get("SIGNET_REQUIRE_REAL_AGENT", "") not in ("", "0"):
            pytest.fail("these tests play another user with setpriv: run them as root (CI does)", pytrace=False)
        pytest.skip("needs root to run a listener as another uid")


def test_an_agent_served_by_another_uid_is_refused_and_sent_nothing():
    _need_root()
    setpriv = shutil.which("setpriv") or pytest.fail("setpriv not found: install util-linux")
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    base = tempfile.mkdtemp(prefix="signet-py-trust.")  # pytest's tmp_path is not reachable by nobody
    os.chmod(base, 0o755)
    shared = os.path.join(base, "nobody")
    os.mkdir(shared)
    os.chown(shared, 65534, 65534)
    path = os.path.join(shared, "agent.sock")
    record = os.path.join(shared, "record")
    proc = subprocess.Popen(
        [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", python, "-c", RECORDER, path, record],
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(path):
            assert time.monotonic() < deadline, "the listener did not start"
            time.sleep(0.01)
        client = A.AgentClient(path, timeout=5)
        with pytest.raises(UntrustedAgent) as e:
            client.sign_request("encord-v2", "POST", "/v2/public/x", b"\0" * 32)
        assert e.value.server_uid == 65534 and e.value.own_uid == 0
        assert str(e.value) == (
            "refusing to talk to %s: it is served by uid 65534, not by you (uid 0) or root; it is not your agent "
            "and may be an attack (another user impersonating it to capture keys); nothing was sent. "
            "Point SIGNET_AUTH_SOCK at your own agent, or unset it and run `signet start`" % path
        )
        client.close()
        deadline = time.monotonic() + 10
        while not os.path.exists(record):
            assert time.monotonic() < deadline, "the listener recorded no connection"
            time.sleep(0.01)
        assert open(record).read() == "conn bytes=0 \n"
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(base)


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """XDG_RUNTIME_DIR in tmp_path; the default socket is <it>/signet/agent.sock."""
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o700)
    monkeypatch.delenv("SIGNET_AUTH_SOCK", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(rt))
    return rt


def test_the_default_directory_is_checked_before_connecting(runtime):
    d = runtime / "signet"
    path = str(d / "agent.sock")
    # Missing: no agent.
    with pytest.raises(AgentNotRunning, match="does not exist"):
        A.AgentClient().ping()
    # Open to others: refused without connecting, although something listens there.
    d.mkdir(mode=0o700)
    os.chmod(str(d), 0o755)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    listener.setblocking(False)
    try:
        with pytest.raises(UnsafeSocketDir) as e:
            A.AgentClient().ping()
        uid = os.geteuid()
        assert str(e.value) == (
            "refusing to connect to %s: %s has mode 0755 (owner uid %d); the socket's directory must be owned by uid "
            "%d with no group or other permissions (mode 0700): `chmod 700 %s`, or remove it and let signetd create it"
            % (path, d, uid, uid, d)
        )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    finally:
        listener.close()
    # A link, even to a private directory of the user's own: refused.
    os.unlink(path)
    real = runtime / "real"
    os.rename(str(d), str(real))
    os.chmod(str(real), 0o700)
    os.symlink(str(real), str(d))
    with pytest.raises(UnsafeSocketDir, match="is a symbolic link .* never follows a link there"):
        A.AgentClient().ping()


def test_an_explicit_path_is_not_held_to_the_private_rule(fake_agent, runtime):
    # A system agent's directory is shared; only the server check applies to a path given by name.
    assert A.AgentClient(fake_agent.path).ping().agent_version == "fake-0.0.0"


def test_the_default_path_is_the_clis(tmp_path, signetd_binary_path):
    signet = os.path.join(os.path.dirname(str(signetd_binary_path)), "signet")
    home = tmp_path / "home"
    home.mkdir()
    for env in (
        {"HOME": str(home)},
        {"HOME": str(home), "XDG_STATE_HOME": str(tmp_path / "state")},
        {"HOME": str(home), "XDG_RUNTIME_DIR": str(tmp_path / "rt")},
        {"HOME": str(home), "XDG_RUNTIME_DIR": "relative", "XDG_STATE_HOME": ""},
    ):
        env["PATH"] = os.environ.get("PATH", os.defpath)
        out = subprocess.run([signet, "env"], env=env, capture_output=True, text=True, check=True).stdout
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(env)
            want = A.default_socket_path()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        assert out == "SIGNET_AUTH_SOCK=%s; export SIGNET_AUTH_SOCK;\n" % want, env


def test_a_refusal_reaches_the_caller_as_access_denied(tmp_path):
    """signetd's one reply to a refused uid: EXTENSION_FAILURE, code 9, the reason."""
    import struct
    import threading

    reason = "uid 1004 is not allowed by this agent's allow-list; ask the operator to add it to [system] allow_uids or allow_groups"
    body = bytes([28]) + struct.pack(">I", 9) + struct.pack(">I", len(reason)) + reason.encode()
    path = str(tmp_path / "agent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def refuse():
        conn, _ = srv.accept()
        conn.sendall(struct.pack(">I", len(body)) + body)
        conn.recv(4096)
        conn.close()

    t = threading.Thread(target=refuse, daemon=True)
    t.start()
    try:
        with pytest.raises(A.AccessDenied) as e:
            A.AgentClient(path, timeout=5).ping()
        assert str(e.value) == reason and e.value.reason == reason and e.value.socket_path == path
    finally:
        t.join(5)
        srv.close()
    with pytest.raises(A.AccessDenied):
        A.raise_for_failure(body)
