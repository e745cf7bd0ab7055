"""Failures of the REAL signetd, as an SDK user sees them, and proof the adapter never reads a key.

Each test runs its own daemon (`make_signetd`), since it locks it, removes keys or stops it.
Errors are raised from inside real SDK calls (`get_projects` = v1, `list_projects` = v2).
"""

import builtins
import io
import os
import socket

import cryptography.hazmat.primitives.serialization as serialization
import encord.configs
import encord.http.v2.request_signer as request_signer
import pytest
from _sdkwire import CALLS, requests_settings, verify_v1, verify_v2

import signet_encord
from signet_encord import AgentLocked, AgentNotRunning, AgentRefused, KeyNotLoaded, SignetConfig, SignetError

pytestmark = pytest.mark.real_agent


def v1_call(client):
    return client.get_projects()


def v2_call(client):
    return list(client.list_projects())


BOTH = pytest.mark.parametrize("call", [v1_call, v2_call], ids=["v1", "v2"])


def lazy_client(config):
    """An EncordUserClient over a SignetConfig nobody resolved yet (it resolves at the first signature)."""
    from encord.configs import UserConfig
    from encord.http.querier import Querier
    from encord.user_client import EncordUserClient

    user_config = UserConfig(config)
    return EncordUserClient(user_config, Querier(user_config))


@BOTH
def test_unknown_key_name_is_key_not_loaded(make_signetd, wire, call):
    agent = make_signetd("alice")
    with pytest.raises(KeyNotLoaded) as e:  # user_client resolves the key at once
        signet_encord.user_client(key="nobody", socket=agent.socket_path)
    assert e.value.key == "nobody"
    msg = str(e.value)
    assert "'nobody'" in msg and "signet list" in msg and "not loaded" in msg
    assert "alice (SHA256:" in msg  # what is loaded instead
    client = lazy_client(SignetConfig(key="nobody", socket=agent.socket_path))
    with pytest.raises(KeyNotLoaded) as e:  # a bare SignetConfig: at the first signature
        call(client)
    assert e.value.key == "nobody" and "signet list" in str(e.value)
    assert wire.sent == []  # nothing unsigned went out


@BOTH
def test_removed_key_is_key_not_loaded(make_signetd, wire, call):
    agent = make_signetd("alice")
    alice = agent.keys["alice"]
    named = signet_encord.user_client(key="alice", socket=agent.socket_path, requests_settings=requests_settings())
    only = signet_encord.user_client(socket=agent.socket_path, requests_settings=requests_settings())
    call(named)
    call(only)
    assert len(wire.sent) == 2
    agent.remove_key("alice")  # ssh-add -d
    assert "no identities" in agent.list_keys().lower()
    with pytest.raises(KeyNotLoaded) as e:
        call(named)
    assert e.value.key == "alice" and "'alice'" in str(e.value) and "signet list" in str(e.value)
    with pytest.raises(KeyNotLoaded) as e:  # no key named: bound to the one loaded at creation
        call(only)
    assert e.value.key == "alice (%s)" % alice.fingerprint
    assert "signet list" in str(e.value) and ("signet add" in str(e.value) or "signet load" in str(e.value))
    with pytest.raises(KeyNotLoaded) as e:  # a new client: none loaded at all
        signet_encord.user_client(socket=agent.socket_path)
    assert "no key is loaded" in str(e.value)
    assert len(wire.sent) == 2
    agent.add_key("alice")  # ssh-add again: same connection works again
    call(named)
    (verify_v1 if call is v1_call else verify_v2)(wire.sent[-1], alice)


@pytest.mark.parametrize("how", ["raw-frame", "ssh-add-x"])
@BOTH
def test_locked_agent_is_agent_locked_and_unlock_recovers(make_signetd, wire, call, how):
    agent = make_signetd("alice")
    alice = agent.keys["alice"]
    client = signet_encord.user_client(socket=agent.socket_path, requests_settings=requests_settings())
    call(client)
    if how == "raw-frame":
        agent.lock(b"correct horse")  # SSH_AGENTC_LOCK
    else:
        agent.ssh_add_lock("correct horse")
    with pytest.raises(AgentLocked) as e:
        call(client)
    assert "locked" in str(e.value) and "signet unlock" in str(e.value)
    assert len(wire.sent) == 1
    if how == "raw-frame":
        agent.unlock(b"correct horse")  # SSH_AGENTC_UNLOCK
    else:
        agent.ssh_add_unlock("correct horse")
    call(client)
    assert len(wire.sent) == 2
    (verify_v1 if call is v1_call else verify_v2)(wire.sent[-1], alice)


def test_socket_path_that_does_not_exist_is_agent_not_running(tmp_path):
    path = str(tmp_path / "no-such-dir" / "agent.sock")
    with pytest.raises(AgentNotRunning) as e:
        signet_encord.user_client(socket=path)
    assert e.value.socket_path == path and path in str(e.value) and "signet start" in str(e.value)
    with pytest.raises(AgentNotRunning):  # SignetConfig connects lazily: on the first signature
        SignetConfig(socket=path).define_headers(None, None, "{}")


def test_stale_socket_file_is_agent_not_running(tmp_path):
    path = str(tmp_path / "agent.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)  # a socket file nobody listens on (a crashed agent): ECONNREFUSED
    s.close()
    with pytest.raises(AgentNotRunning) as e:
        signet_encord.user_client(socket=path)
    assert path in str(e.value)


@BOTH
def test_stopped_daemon_is_agent_not_running(make_signetd, wire, call):
    agent = make_signetd("alice")
    client = signet_encord.user_client(socket=agent.socket_path, requests_settings=requests_settings())
    call(client)  # connection open and used
    assert agent.stop() == 0  # SIGTERM: clean exit, socket removed
    assert not os.path.exists(agent.socket_path)
    with pytest.raises(AgentNotRunning) as e:
        call(client)
    assert agent.socket_path in str(e.value)
    assert len(wire.sent) == 1


def test_restarted_daemon_is_reconnected(make_signetd, wire):
    agent = make_signetd("alice")
    client = signet_encord.user_client(key="alice", socket=agent.socket_path, requests_settings=requests_settings())
    v1_call(client)
    assert agent.stop() == 0
    agent.start()  # a new daemon on the same socket path: the client reconnects, but holds no key yet
    with pytest.raises(KeyNotLoaded):
        v1_call(client)
    agent.add_key("alice")  # ssh-add the same key file again
    v1_call(client)
    assert len(wire.sent) == 2
    verify_v1(wire.sent[-1], agent.keys["alice"])


@BOTH
def test_two_keys_and_none_named_is_ambiguous(make_signetd, wire, call):
    agent = make_signetd("alice", "bob")
    with pytest.raises(AgentRefused) as e:
        signet_encord.user_client(socket=agent.socket_path, requests_settings=requests_settings())
    assert e.value.code == 5  # AmbiguousKey
    msg = str(e.value)
    for name in ("alice", "bob"):  # the message lists them
        assert "%s (%s)" % (name, agent.keys[name].fingerprint) in msg
    assert 'key="NAME"' in msg and "signet:NAME" in msg and "signet list" in msg
    with pytest.raises(AgentRefused) as e:  # a bare SignetConfig: at the first signature
        call(lazy_client(SignetConfig(socket=agent.socket_path)))
    assert e.value.code == 5 and "alice (" in str(e.value) and "bob (" in str(e.value)
    assert wire.sent == []
    for name in ("alice", "bob"):  # naming one works
        named = signet_encord.user_client(key=name, socket=agent.socket_path, requests_settings=requests_settings())
        call(named)
        (verify_v1 if call is v1_call else verify_v2)(wire.sent[-1], agent.keys[name])


def test_key_bound_at_creation_is_kept_when_another_is_added(make_signetd, wire):
    """Like an SshConfig, a config signs with one key: adding a second key does not make it ambiguous."""
    agent = make_signetd("alice")
    client = signet_encord.user_client(socket=agent.socket_path, requests_settings=requests_settings())
    assert client.user_config.config.public_key_hex == agent.keys["alice"].key_id
    agent.add_key("bob")
    v1_call(client)
    v2_call(client)
    verify_v1(wire.sent[0], agent.keys["alice"])
    verify_v2(wire.sent[1], agent.keys["alice"])


def test_errors_are_signet_errors_and_carry_no_key_material(make_signetd, wire):
    agent = make_signetd("alice", "bob")
    with pytest.raises(SignetError) as e:
        signet_encord.user_client(socket=agent.socket_path)
    text = str(e.value)
    for key in agent.keys.values():
        secret = key.private_text()
        body = "".join(secret.splitlines()[1:-1])
        assert body[:40] not in text


@pytest.mark.parametrize("name", sorted(CALLS))
def test_adapter_never_reads_a_private_key(name, make_signetd, wire, monkeypatch, tmp_path):
    """No key file exists, HOME is empty, and every way the SDK could load or use a private key raises."""
    agent = make_signetd("carol")
    carol = agent.keys["carol"]
    os.remove(str(carol.private_path))  # the agent holds the only copy now
    os.remove(str(carol.public_path))
    empty_home = tmp_path / "empty-home"
    empty_home.mkdir()
    monkeypatch.setenv("HOME", str(empty_home))
    for var in ("ENCORD_SSH_KEY", "ENCORD_SSH_KEY_FILE", "SSH_AUTH_SOCK", "SIGNET_AUTH_SOCK"):
        monkeypatch.delenv(var, raising=False)

    def forbidden(*a, **k):
        raise AssertionError("a private key was loaded or used in-process")

    monkeypatch.setattr(serialization, "load_ssh_private_key", forbidden)
    monkeypatch.setattr(encord.configs.ssh, "load_ssh_private_key", forbidden)
    monkeypatch.setattr(encord.configs.SshConfig, "__init__", forbidden)
    monkeypatch.setattr(encord.configs.SshConfig, "define_headers", forbidden)
    monkeypatch.setattr(encord.configs.SshConfig, "define_headers_v2", forbidden)
    monkeypatch.setattr(request_signer, "sign_request", forbidden)
    opened = []
    real_open, real_io_open = builtins.open, io.open

    def watching_open(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", watching_open)
    monkeypatch.setattr(io, "open", watching_open)

    scheme, call, expected, _ = CALLS[name]
    client = signet_encord.user_client(socket=agent.socket_path, requests_settings=requests_settings())
    assert call(client) == expected
    (req,) = wire.sent
    (verify_v1 if scheme == "v1" else verify_v2)(req, carol)
    suspicious = [p for p in opened if str(agent.key_dir) in p or ".ssh" in p or str(empty_home) in p]
    assert suspicious == []
    assert not os.listdir(str(empty_home))
    monkeypatch.setattr(builtins, "open", real_open)
    monkeypatch.setattr(io, "open", real_io_open)
