"""SignetConfig vs the SDK's own SshConfig: identical requests on the wire (no network).

`requests.Session.send` is intercepted; the SDK's `created` clock and the fake
agent's clock are pinned to the same second.
"""

import base64
import datetime as dt
import hashlib

import encord.http.v2.request_signer as request_signer
import pytest
import requests
from conftest import SEED_A
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from encord import EncordUserClient
from encord.configs import SshConfig, UserConfig
from encord.http.constants import RequestsSettings
from encord.orm.dataset import StorageLocation
from http_message_signatures import HTTPMessageVerifier, InvalidSignature, MappingKeyResolver, algorithms

import signet_encord
from signet_encord import AgentNotRunning, SignetConfig

CREATED = 1750000000
TRACE = "00112233445566778899aabbccddeeff/1;o=1"


class _Captured(Exception):
    pass


class _FixedDatetime(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return dt.datetime.fromtimestamp(CREATED, tz=dt.timezone.utc)


@pytest.fixture
def capture(monkeypatch):
    """Record every PreparedRequest the SDK sends, and abort the send."""
    sent = []

    def fake_send(self, request, **kwargs):
        sent.append(request)
        raise _Captured()

    monkeypatch.setattr(requests.Session, "send", fake_send)
    monkeypatch.setattr(request_signer, "datetime", _FixedDatetime)
    return sent


def _settings():
    return RequestsSettings(trace_id_provider=lambda: TRACE, max_retries=0, connection_retries=0)


def _sdk_client(domain):
    pem = Ed25519PrivateKey.from_private_bytes(SEED_A).private_bytes(
        Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
    )
    return EncordUserClient.create_with_ssh_private_key(
        ssh_private_key=pem.decode(), requests_settings=_settings(), domain=domain
    )


def _signet_client(fake_agent, domain, key="alice"):
    fake_agent.clock = lambda: CREATED
    return signet_encord.user_client(key=key, socket=fake_agent.path, requests_settings=_settings(), domain=domain)


def _run(call, client, capture):
    before = len(capture)
    with pytest.raises(Exception) as e:
        r = call(client)
        if hasattr(r, "__next__"):
            next(r)
    assert len(capture) == before + 1, "no request captured: %r" % e.value
    return capture[-1]


def _assert_same(a, b):
    assert a.method == b.method
    assert a.url == b.url
    assert a.body == b.body
    assert list(a.headers.items()) == list(b.headers.items())


CALLS = {
    # v1: Querier -> UserConfig.define_headers -> POST {domain}/public/user
    "v1-create_project": ("encord-v1", lambda c: c.create_project("t", ["d1"], "desc")),
    # v2: ApiClient.get -> define_headers_v2 -> GET {domain}/v2/public/ontologies/<hash>
    "v2-get_ontology": ("encord-v2", lambda c: c.get_ontology("8c5b6f0e-aaaa-bbbb-cccc-ddddeeeeffff")),
    # v2 with a query string
    "v2-list_projects": ("encord-v2", lambda c: c.list_projects(title_like="a b/ü%")),
    # v2 with a JSON body
    "v2-create_dataset": ("encord-v2", lambda c: c.create_dataset("Zürich ✓", StorageLocation.CORD_STORAGE)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("domain", ["https://api.encord.com", "https://api.us.encord.com/"])
def test_headers_identical_to_sdk(name, domain, fake_agent, capture):
    scheme, call = CALLS[name]
    ours = _run(call, _signet_client(fake_agent, domain), capture)
    theirs = _run(call, _sdk_client(domain), capture)
    _assert_same(ours, theirs)
    assert fake_agent.requests[-1]["scheme"] == scheme
    if scheme == "encord-v1":
        assert ours.url == domain.rstrip("/") + "/public/user"
        assert ours.headers["Authorization"].split(":")[0] == fake_agent.keys[0].key_id
    else:
        assert "/v2/public/" in ours.url
        assert "created=%d" % CREATED in ours.headers["Signature-Input"]


def test_v1_project_endpoint_identical(fake_agent, capture):
    """Querier over the bare config (project/dataset calls) signs against {domain}/public."""
    from encord.http.querier import Querier
    from encord.orm.project import Project as OrmProject

    def call(client):
        Querier(client.user_config.config, resource_type="project", resource_id="p1").basic_getter(OrmProject, "p1")

    ours = _run(call, _signet_client(fake_agent, "https://api.encord.com"), capture)
    theirs = _run(call, _sdk_client("https://api.encord.com"), capture)
    _assert_same(ours, theirs)
    assert ours.url == "https://api.encord.com/public"
    assert ours.headers["ResourceID"] == "p1" and ours.headers["ResourceType"] == "project"


def test_define_headers_direct_equivalence(fake_agent):
    """Both config methods, called directly, match SshConfig for str, bytes and None bodies."""
    sdk = SshConfig(Ed25519PrivateKey.from_private_bytes(SEED_A), requests_settings=_settings())
    ours = SignetConfig(key="alice", socket=fake_agent.path, requests_settings=_settings())
    fake_agent.clock = lambda: CREATED
    for data in ("", '{"a": 1}', '{"t": "\u00fc\u2713"}'):
        assert ours.define_headers("r", "project", data) == sdk.define_headers("r", "project", data)
    saved = request_signer.datetime
    request_signer.datetime = _FixedDatetime
    try:
        for body in (None, b"", b"\x00\xff", "Zürich", b"x" * 300000):
            reqs = []
            for cfg in (ours, sdk):
                r = requests.Request("get", "https://api.encord.com/v2/public/a%20b?x=1&y=%C3%BC").prepare()
                r.method = "patch"  # the SDK upper-cases for the base; agent must too
                r.body = body
                reqs.append(cfg.define_headers_v2(r))
            assert list(reqs[0].headers.items()) == list(reqs[1].headers.items())
    finally:
        request_signer.datetime = saved


def _verify_v2(prepared, public_key):
    """Verify an encord-sig request with the independent http-message-signatures package."""
    key_id = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={key_id: public_key}, private_keys={}),
    )
    body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    return verifier.verify(
        prepared, max_age=None, body=body, require_components=("@method", "@request-target", "content-digest")
    )


@pytest.mark.parametrize("name", ["v2-get_ontology", "v2-list_projects", "v2-create_dataset"])
def test_v2_verifies_with_http_message_signatures(name, fake_agent, capture):
    _, call = CALLS[name]
    req = _run(call, _signet_client(fake_agent, "https://api.encord.com"), capture)
    pub = Ed25519PrivateKey.from_private_bytes(SEED_A).public_key()
    results = _verify_v2(req, pub)
    assert len(results) == 1 and results[0].label == "encord-sig"
    assert results[0].parameters["created"] == CREATED
    # tampering is detected
    req.headers["Signature-Input"] = req.headers["Signature-Input"].replace("created=%d" % CREATED, "created=1")
    with pytest.raises(InvalidSignature):
        _verify_v2(req, pub)


def test_v2_golden_vectors_verify_with_http_message_signatures(vectors):
    n = 0
    for v in vectors["vectors"]:
        if v["scheme"] != "encord-v2":
            continue
        body = base64.b64decode(v["body_b64"])
        req = requests.Request(v["method"].upper(), v["url"], data=body).prepare()
        req.body = body
        for name, value in v["headers"]:
            req.headers[name] = value
        pub = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["seed_hex"])).public_key()
        assert req.path_url == v["request_target"], v["name"]
        _verify_v2(req, pub)
        n += 1
    assert n >= 10


def test_v1_golden_vectors_verify(vectors):
    for v in vectors["vectors"]:
        if v["scheme"] != "encord-v1":
            continue
        body = base64.b64decode(v["body_b64"])
        key_id, sig_hex = v["headers"][0][1].split(":")
        assert key_id == v["key_id"] and sig_hex == v["signature_hex"]
        pub = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["seed_hex"])).public_key()
        pub.verify(bytes.fromhex(sig_hex), hashlib.sha256(body).digest())


def test_user_client_fails_fast_without_agent(tmp_path):
    with pytest.raises(AgentNotRunning):
        signet_encord.user_client(socket=str(tmp_path / "none.sock"))


def test_user_client_rejects_private_key(fake_agent):
    with pytest.raises(TypeError, match="never takes a private key"):
        signet_encord.user_client(socket=fake_agent.path, ssh_private_key="x")


def test_user_client_shape(fake_agent):
    client = signet_encord.user_client(socket=fake_agent.path, domain="https://example.test/", user_agent_suffix="app/1")
    assert isinstance(client, EncordUserClient)
    assert isinstance(client.user_config, UserConfig)
    cfg = client.user_config.config
    assert isinstance(cfg, SignetConfig)
    assert cfg.domain == "https://example.test" and client.user_config.endpoint == "https://example.test/public/user"
    assert cfg._user_agent().endswith(" app/1")
    assert not hasattr(cfg, "private_key")


def test_v1_target_sent_to_the_agent_is_the_path_the_sdk_posts_to(fake_agent, capture):
    """User calls go to {domain}/public/user (UserConfig's endpoint), resource calls to {domain}/public."""
    from encord.http.querier import Querier
    from encord.orm.project import Project as OrmProject

    client = _signet_client(fake_agent, "https://api.us.encord.com/")
    req = _run(lambda c: c.get_projects(), client, capture)
    assert req.path_url == "/public/user" and fake_agent.requests[-1]["target"] == "/public/user"
    req = _run(
        lambda c: Querier(c.user_config.config, resource_type="project", resource_id="p1").basic_getter(OrmProject, "p1"),
        client,
        capture,
    )
    assert req.path_url == "/public" and fake_agent.requests[-1]["target"] == "/public"
    # A config used on its own (no UserConfig around it) signs for its own endpoint.
    client.user_config.config.define_headers(None, None, "{}")
    assert fake_agent.requests[-1]["target"] == "/public"


def test_public_key_hex_like_ssh_config(fake_agent):
    sdk = SshConfig(Ed25519PrivateKey.from_private_bytes(SEED_A))
    ours = SignetConfig(key="alice", socket=fake_agent.path)
    assert ours.public_key_hex == sdk.public_key_hex
    assert SignetConfig(socket=fake_agent.path).public_key_hex == sdk.public_key_hex  # the only key
