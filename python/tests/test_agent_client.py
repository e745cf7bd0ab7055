"""AgentClient against the in-process fake agent: golden vectors, errors, reuse, reconnect, threads."""

import base64
import hashlib
import os
import pickle
import socket
import threading

import pytest
from _fake_agent import FakeAgent, FakeKey, v2_signature_base
from conftest import SEED_A, SEED_B

from signet_encord.agent import AgentClient
from signet_encord.errors import (
    AgentLocked,
    AgentNotRunning,
    AgentRefused,
    KeyNotLoaded,
    ProtocolMismatch,
    SignetError,
)

DIGEST = hashlib.sha256(b"{}").digest()


def test_golden_vectors_through_the_wire(vectors, make_fake_agent):
    """For every SDK-generated vector, client -> fake agent reproduces the SDK's headers exactly."""
    assert vectors["vectors"], "no vectors"
    for v in vectors["vectors"]:
        body = base64.b64decode(v["body_b64"])
        assert hashlib.sha256(body).hexdigest() == v["body_sha256_hex"], v["name"]
        key = FakeKey(v["key_name"], bytes.fromhex(v["seed_hex"]))
        assert key.key_id == v["key_id"] == v["public_key_hex"]
        created = v["created"]
        agent = make_fake_agent([key], clock=lambda c=created: c)
        with AgentClient(agent.path) as client:
            res = client.sign_request(v["scheme"], v["method"], v["request_target"], hashlib.sha256(body).digest())
        assert [list(h) for h in res.headers] == v["headers"], v["name"]
        assert res.created == created
        signed = base64.b64decode(v["signature_base"])
        if v["scheme"] == "encord-v2":
            assert v2_signature_base(v["method"], v["request_target"], hashlib.sha256(body).digest(), created, v["key_id"]) == signed
            assert signed.decode("utf-8") == v["signature_base_text"]
            assert not signed.endswith(b"\n")
        else:
            assert signed == hashlib.sha256(body).digest()
        agent.close()


def test_key_selectors(make_fake_agent):
    a, b = FakeKey("alice", SEED_A), FakeKey("bob", SEED_B)
    agent = make_fake_agent([a, b])
    client = AgentClient(agent.path)
    for sel in ("bob", b.key_id, b.fingerprint):
        res = client.sign_request("encord-v1", "POST", "/public", DIGEST, key=sel)
        assert res.headers[0][1].startswith(b.key_id + ":")
    with pytest.raises(AgentRefused) as e:  # two keys, none named -> code 5
        client.sign_request("encord-v1", "POST", "/public", DIGEST)
    assert e.value.code == 5 and "name one" in e.value.reason
    with pytest.raises(KeyNotLoaded) as e:
        client.sign_request("encord-v1", "POST", "/public", DIGEST, key="carol")
    assert "'carol'" in str(e.value) and "signet list" in str(e.value)
    assert agent.connections == 1 and agent.version_probes == 1
    client.close()


def test_request_fields_sent_verbatim(fake_agent):
    client = AgentClient(fake_agent.path)
    client.sign_request("encord-v2", "delete", "/v2/public/a%20b?q=ü", DIGEST, key="alice")
    assert fake_agent.requests[-1] == {
        "key": "alice",
        "scheme": "encord-v2",
        "method": "delete",
        "target": "/v2/public/a%20b?q=ü",
        "digest": DIGEST,
    }


def test_failures_map_to_exceptions(fake_agent):
    client = AgentClient(fake_agent.path)
    fake_agent.locked = True
    with pytest.raises(AgentLocked, match="signet unlock"):
        client.sign_request("encord-v1", "POST", "/public", DIGEST)
    fake_agent.locked = False
    for code in (3, 4, 6, 7):
        fake_agent.fail = (code, "because %d" % code)
        with pytest.raises(AgentRefused) as e:
            client.sign_request("encord-v1", "POST", "/public", DIGEST)
        assert e.value.reason == "because %d" % code
    fake_agent.fail = (8, "newer protocol")
    with pytest.raises(ProtocolMismatch):
        client.sign_request("encord-v1", "POST", "/public", DIGEST)
    fake_agent.fail = None
    fake_agent.bare_failure = True
    with pytest.raises(AgentRefused):
        client.sign_request("encord-v1", "POST", "/public", DIGEST)
    fake_agent.bare_failure = False
    assert client.sign_request("encord-v1", "POST", "/public", DIGEST).created == 0
    assert fake_agent.connections == 1  # failures do not cost the connection


def test_unsupported_scheme(fake_agent):
    with pytest.raises(AgentRefused) as e:
        AgentClient(fake_agent.path).sign_request("encord-v9", "GET", "/", DIGEST)
    assert e.value.code == 6


def test_not_running_missing_socket(tmp_path):
    path = str(tmp_path / "nope" / "agent.sock")
    with pytest.raises(AgentNotRunning) as e:
        AgentClient(path).sign_request("encord-v1", "POST", "/public", DIGEST)
    assert path in str(e.value) and "signet start" in str(e.value)


def test_not_running_stale_socket(tmp_path):
    path = str(tmp_path / "agent.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)  # bound, never listening -> ECONNREFUSED
    try:
        with pytest.raises(AgentNotRunning):
            AgentClient(path).ping()
    finally:
        s.close()


def test_version_mismatch(fake_agent):
    fake_agent.protocol_version = 2
    with pytest.raises(ProtocolMismatch, match="protocol 2"):
        AgentClient(fake_agent.path).sign_request("encord-v1", "POST", "/public", DIGEST)
    assert fake_agent.requests == []


def test_not_a_signet_agent(fake_agent):
    fake_agent.not_signet = True
    with pytest.raises(ProtocolMismatch, match="not a signet agent"):
        AgentClient(fake_agent.path).ping()


def test_connection_reused_and_probed_once(fake_agent):
    client = AgentClient(fake_agent.path)
    assert client.ping().agent_version == "fake-0.0.0"
    for _ in range(5):
        client.sign_request("encord-v2", "GET", "/", DIGEST)
    assert fake_agent.connections == 1 and fake_agent.version_probes == 1


def test_reconnects_once_after_drop(fake_agent):
    client = AgentClient(fake_agent.path)
    fake_agent.drop_after_reply = True  # agent hangs up after every signing reply
    for _ in range(3):
        assert client.sign_request("encord-v1", "POST", "/public", DIGEST).headers
    assert fake_agent.connections == 3 and fake_agent.version_probes == 3


def test_agent_restart_between_calls(tmp_path):
    path = str(tmp_path / "agent.sock")
    agent = FakeAgent([FakeKey("alice", SEED_A)], path=path)
    client = AgentClient(path)
    client.sign_request("encord-v1", "POST", "/public", DIGEST)
    agent.close()
    with pytest.raises((AgentNotRunning, SignetError)):
        client.sign_request("encord-v1", "POST", "/public", DIGEST)
    agent = FakeAgent([FakeKey("alice", SEED_A)], path=path)
    try:
        assert client.sign_request("encord-v1", "POST", "/public", DIGEST).headers
    finally:
        agent.close()


def test_thread_safe_single_connection(fake_agent):
    client = AgentClient(fake_agent.path)
    errors, results = [], []

    def work(i):
        try:
            for j in range(20):
                d = hashlib.sha256(b"%d-%d" % (i, j)).digest()
                res = client.sign_request("encord-v2", "POST", "/t/%d/%d" % (i, j), d)
                results.append((i, j, res.headers[0][1]))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 160
    for i, j, content_digest in results:  # every reply matched its own request
        d = hashlib.sha256(b"%d-%d" % (i, j)).digest()
        assert content_digest == "sha-256=:" + base64.b64encode(d).decode() + ":"
    assert fake_agent.connections == 1


def test_pickle_drops_connection(fake_agent):
    client = AgentClient(fake_agent.path, timeout=5)
    client.ping()
    clone = pickle.loads(pickle.dumps(client))
    assert clone.socket_path == client.socket_path and clone.timeout == 5
    assert clone.sign_request("encord-v1", "POST", "/public", DIGEST).headers
    assert fake_agent.connections == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_uses_own_connection(fake_agent):
    client = AgentClient(fake_agent.path)
    client.ping()
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = client.sign_request("encord-v1", "POST", "/public", DIGEST).headers
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert client.sign_request("encord-v1", "POST", "/public", DIGEST).headers
    assert fake_agent.connections == 2
