"""Shared fixtures.

Real agent (the `signetd` binary from $SIGNET_BIN_DIR, else <repo>/target/debug):
  `signetd`: one daemon for the whole session, holding the key "alice" (read-only use:
      do not lock it, remove keys from it or stop it);
  `signet_socket`: that daemon's socket path;
  `make_signetd`: factory for private daemons a test may break (lock, remove keys, stop).
  Each daemon gets a clean HOME/XDG tree in a temp dir; its keys are made by the real
  `ssh-keygen` and loaded by the real `ssh-add`. Teardown SIGTERMs it and asserts exit 0.
  If the binary is missing the tests are skipped, or FAIL when SIGNET_REQUIRE_REAL_AGENT=1 (CI).
Fake agent:
  `fake_agent`: an in-process fake agent (always available, no signetd needed).
"""

import json
import os
import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _fake_agent import FakeAgent, FakeKey  # noqa: E402
from _signetd import Signetd, SignetdUnavailable, openssh_tools, signetd_binary  # noqa: E402

VECTORS_PATH = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "encord_vectors.json"

SEED_A = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SEED_B = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")


def pytest_configure(config):
    config.addinivalue_line("markers", "real_agent: runs the real signetd binary (see conftest.py)")


@pytest.fixture(scope="session")
def vectors():
    with open(VECTORS_PATH, encoding="utf-8") as f:
        return json.load(f)


def _require_real_agent() -> bool:
    return os.environ.get("SIGNET_REQUIRE_REAL_AGENT", "") not in ("", "0")


@pytest.fixture(scope="session")
def signetd_binary_path():
    """The signetd binary; skip (or fail under SIGNET_REQUIRE_REAL_AGENT=1) when it or OpenSSH is missing."""
    try:
        exe = signetd_binary()
        openssh_tools()
    except SignetdUnavailable as e:
        if _require_real_agent():
            pytest.fail("SIGNET_REQUIRE_REAL_AGENT=1 but %s" % e, pytrace=False)
        pytest.skip(str(e))
    return exe


def _stop_and_check(daemon: Signetd) -> None:
    code = daemon.stop()
    assert code == 0, "signetd exited with code %r on SIGTERM\n%s" % (code, daemon.log_tail())


@pytest.fixture(scope="session")
def signetd(signetd_binary_path, tmp_path_factory):
    """A real signetd for the session, with one key "alice" loaded by ssh-add."""
    daemon = Signetd(tmp_path_factory.mktemp("signetd"), signetd_binary_path).start()
    try:
        daemon.add_key("alice")
        yield daemon
    finally:
        _stop_and_check(daemon)


@pytest.fixture
def signet_socket(signetd):
    """Socket path of the session's real signetd."""
    return signetd.socket_path


@pytest.fixture
def make_signetd(signetd_binary_path, tmp_path):
    """Factory: `make_signetd("a", "b")` starts a private real signetd with those keys loaded."""
    made = []

    def make(*key_names):
        daemon = Signetd(tmp_path / ("signetd%d" % len(made)), signetd_binary_path)
        made.append(daemon)
        daemon.start()
        for name in key_names:
            daemon.add_key(name)
        return daemon

    yield make
    for daemon in made:
        _stop_and_check(daemon)


@pytest.fixture
def wire(monkeypatch):
    """Replace the network: `requests.Session.send` records the request and returns a canned success."""
    from _sdkwire import Wire  # noqa: PLC0415

    w = Wire()
    monkeypatch.setattr(requests.Session, "send", lambda self, req, **kw: w.send(self, req, **kw))
    return w


@pytest.fixture
def fake_agent():
    """A fake agent holding one key named "alice" (RFC 8032 test key 1)."""
    agent = FakeAgent([FakeKey("alice", SEED_A)])
    try:
        yield agent
    finally:
        agent.close()


@pytest.fixture
def make_fake_agent():
    """Factory for fake agents with chosen keys; all are closed after the test."""
    made = []

    def make(keys, **kwargs):
        agent = FakeAgent(keys, **kwargs)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.close()
