"""End to end: the real `encord` SDK, signed by the REAL signetd, nothing on the network.

`signet_encord.user_client(...)` builds a real `EncordUserClient`; outgoing HTTP
is intercepted at `requests.Session.send` (the `wire` fixture), which records the
PreparedRequest and returns a canned successful response the SDK accepts. Each
captured request's signature is verified with the key's public key (v1 by
recomputation, v2 with the independent http-message-signatures package), and the
same call made through the SDK's own `create_with_ssh_private_key` (same key file,
same `created`) must send identical headers.
"""

import datetime as dt
import time

import encord.http.v2.request_signer as request_signer
import pytest
from _sdkwire import CALLS, DOMAIN, TRACE, requests_settings, verify_v1, verify_v2
from encord import EncordUserClient
from encord.configs import UserConfig

import signet_encord
from signet_encord import SignetConfig

pytestmark = pytest.mark.real_agent


@pytest.mark.parametrize("name", sorted(CALLS))
def test_user_client_end_to_end(name, signetd, wire):
    scheme, call, expected, (method, path) = CALLS[name]
    alice = signetd.keys["alice"]
    client = signet_encord.user_client(key="alice", socket=signetd.socket_path, requests_settings=requests_settings())
    assert isinstance(client, EncordUserClient)
    assert isinstance(client.user_config.config, SignetConfig)
    before = int(time.time())
    assert call(client) == expected
    after = int(time.time())
    (req,) = wire.sent
    assert req.method == method and req.path_url.split("?")[0] == path
    assert req.url.startswith(DOMAIN + "/")
    if scheme == "v1":
        verify_v1(req, alice)
        assert "Signature" not in req.headers
    else:
        assert before <= verify_v2(req, alice) <= after
        assert "Authorization" not in req.headers
    assert req.headers["X-Cloud-Trace-Context"] == TRACE


@pytest.mark.parametrize("name", sorted(CALLS))
def test_agent_and_sdk_send_identical_requests(name, signetd, wire, monkeypatch):
    """Same call through signet and through create_with_ssh_private_key: same URL, body and headers."""
    scheme, call, expected, _ = CALLS[name]
    alice = signetd.keys["alice"]
    agent_client = signet_encord.user_client(socket=signetd.socket_path, requests_settings=requests_settings())
    assert call(agent_client) == expected
    (ours,) = wire.sent
    if scheme == "v2":
        created = int(ours.headers["Signature-Input"].split("created=")[1].split(";")[0])

        class Pinned(dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return dt.datetime.fromtimestamp(created, tz=dt.timezone.utc)

        monkeypatch.setattr(request_signer, "datetime", Pinned)  # the SDK's `created` clock
    sdk_client = EncordUserClient.create_with_ssh_private_key(
        ssh_private_key=alice.private_text(), requests_settings=requests_settings()
    )
    assert call(sdk_client) == expected
    _, theirs = wire.sent
    assert (ours.method, ours.url, ours.body) == (theirs.method, theirs.url, theirs.body)
    signed = ["Authorization"] if scheme == "v1" else ["Content-Digest", "Signature-Input", "Signature"]
    for h in signed:
        assert ours.headers[h] == theirs.headers[h], h
    assert list(ours.headers.items()) == list(theirs.headers.items())


def test_resource_queriers_sign_through_the_agent(signetd, wire):
    """Per-resource Queriers (project/dataset clients) reuse the SignetConfig: v1 with ResourceType/ID."""
    from encord.http.querier import Querier
    from encord.orm.project import Project as OrmProject

    alice = signetd.keys["alice"]
    client = signet_encord.user_client(socket=signetd.socket_path, requests_settings=requests_settings())
    querier = Querier(client.user_config.config, resource_type="project", resource_id="p-1")
    assert querier.basic_setter(OrmProject, uid=None, payload={"title": "t"}) == "new-project-hash"
    (req,) = wire.sent
    assert req.url == DOMAIN + "/public"
    assert req.headers["ResourceType"] == "project" and req.headers["ResourceID"] == "p-1"
    verify_v1(req, alice)


def test_user_config_wraps_signet_config(signetd):
    client = signet_encord.user_client(socket=signetd.socket_path, domain="https://api.example.test/")
    assert isinstance(client.user_config, UserConfig)
    assert client.user_config.config.domain == "https://api.example.test"
    assert client.user_config.endpoint == "https://api.example.test/public/user"


def _audit_events(daemon, count, timeout=10.0):
    """The `sign` records of the daemon's audit log, once there are `count` of them."""
    import json
    import os

    path = os.path.join(str(daemon.workdir), "data", "signet", "audit.log")
    deadline = time.monotonic() + timeout
    while True:
        events = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                events = [e for e in map(json.loads, f.read().splitlines()) if e.get("event") == "sign"]
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.02)


def test_audit_records_the_v1_path_the_sdk_sent(make_signetd, wire):
    """v1 signs only the body; the agent's audit (and policy) still see where it went: /public/user or /public."""
    from encord.http.querier import Querier
    from encord.orm.project import Project as OrmProject

    agent = make_signetd("alice")
    client = signet_encord.user_client(socket=agent.socket_path, requests_settings=requests_settings())
    client.get_projects()
    Querier(client.user_config.config, resource_type="project", resource_id="p-1").basic_setter(
        OrmProject, uid=None, payload={"title": "t"}
    )
    assert [r.path_url for r in wire.sent] == ["/public/user", "/public"]
    events = _audit_events(agent, 2)
    assert [(e["scheme"], e["method"], e["target"]) for e in events] == [
        ("encord-v1", "POST", "/public/user"),
        ("encord-v1", "POST", "/public"),
    ]
    assert all(e["key"] == "alice" and e["key_id"] == agent.keys["alice"].key_id for e in events)
