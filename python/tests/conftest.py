"""Shared fixtures.

`signet_socket`: path of a real signetd socket from $SIGNET_TEST_SOCKET; tests
using it (mark them `@pytest.mark.real_agent`) are skipped when it is unset.
`fake_agent`: an in-process fake agent (always available, no signetd needed).
"""

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _fake_agent import FakeAgent, FakeKey  # noqa: E402

VECTORS_PATH = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "encord_vectors.json"

SEED_A = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SEED_B = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")


def pytest_configure(config):
    config.addinivalue_line("markers", "real_agent: needs a running signetd; set SIGNET_TEST_SOCKET")


@pytest.fixture(scope="session")
def vectors():
    with open(VECTORS_PATH, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def signet_socket():
    """Socket path of a real, running signetd (env SIGNET_TEST_SOCKET); skips the test otherwise."""
    path = os.environ.get("SIGNET_TEST_SOCKET")
    if not path:
        pytest.skip("real-agent test: set SIGNET_TEST_SOCKET to a running signetd's socket")
    yield path


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
