"""SignetConfig / AgentClient against the REAL signetd (key made by ssh-keygen, loaded by ssh-add).

Every signature is checked against the public key from the key's `.pub` file
(not the key id the agent returns), and compared byte for byte with what the
SDK's own in-process signer (`SshConfig`, fed the same private key file)
produces for the same request and the same `created`.
"""

import base64
import datetime as dt
import hashlib
import time

import encord.http.v2.request_signer as request_signer
import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from encord.configs import SshConfig
from http_message_signatures import HTTPMessageVerifier, MappingKeyResolver, algorithms

from signet_encord import SignetConfig
from signet_encord.agent import PROTOCOL_VERSION, SCHEME_V2, AgentClient

pytestmark = pytest.mark.real_agent

REQUIRED = ("@method", "@request-target", "content-digest")

# (method, url, body) as the SDK's ApiClient would build them.
V2_CASES = [
    ("GET", "https://api.encord.com/v2/public/projects?titleLike=a+b&pageSize=100", None),
    ("post", "https://api.encord.com/v2/public/datasets", '{"title": "Z\u00fcrich \u2713"}'.encode()),
    ("DELETE", "https://api.encord.com/v2/public/organisation/organisation-tags/0f0e", None),
    ("PUT", "https://api.encord.com/v2/public/a%20b/~x/%C3%BC?q=%7E", b"x" * 5000),
    ("PATCH", "https://api.encord.com/v2/public", b""),
]
V1_BODIES = [
    '{"query_type": "project", "query_method": "GET", "values": {"uid": "p", "payload": null}}',
    "",
    '{"query_type": "dataset", "query_method": "POST", "values": {"uid": null, "payload": {"title": "\\u00fc"}}}',
]


def _public(key):
    return Ed25519PublicKey.from_public_bytes(key.public_raw)


def _pinned_datetime(created):
    class Pinned(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.fromtimestamp(created, tz=dt.timezone.utc)

    return Pinned


def _created_of(signature_input: str) -> int:
    return int(signature_input.split("created=")[1].split(";")[0])


def _prepare(method, url, body):
    req = requests.Request(method, url, data=body).prepare()
    req.method = method  # requests upper-cases it; exercise the agent's upper-casing too
    return req


def verify_v2(req, key, body):
    """Independent RFC 9421 verification (http-message-signatures) + our own Content-Digest check."""
    assert req.headers["Content-Digest"] == "sha-256=:%s:" % base64.b64encode(hashlib.sha256(body).digest()).decode()
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={key.key_id: _public(key)}, private_keys={}),
    )
    results = verifier.verify(req, max_age=None, body=body, require_components=REQUIRED)
    assert len(results) == 1 and results[0].parameters["keyid"] == key.key_id
    return results[0]


def test_version_probe(signet_socket):
    with AgentClient(signet_socket) as client:
        info = client.ping()
    assert info.protocol_version == PROTOCOL_VERSION and info.agent_version


@pytest.mark.parametrize("data", V1_BODIES)
@pytest.mark.parametrize("select", ["name", "only", "key_id"])
def test_v1_matches_sdk_and_verifies(signetd, data, select):
    alice = signetd.keys["alice"]
    key = {"name": "alice", "only": None, "key_id": alice.key_id}[select]
    headers = SignetConfig(key=key, socket=signetd.socket_path).define_headers("p", "project", data)
    key_id, sig_hex = headers["Authorization"].split(":")
    assert key_id == alice.key_id and len(sig_hex) == 128
    _public(alice).verify(bytes.fromhex(sig_hex), hashlib.sha256(data.encode()).digest())
    with pytest.raises(InvalidSignature):
        _public(alice).verify(bytes.fromhex(sig_hex), hashlib.sha256((data + " ").encode()).digest())
    sdk = SshConfig.from_ssh_private_key(alice.private_text()).define_headers("p", "project", data)
    headers.pop("X-Cloud-Trace-Context"), sdk.pop("X-Cloud-Trace-Context")
    assert list(headers.items()) == list(sdk.items())


@pytest.mark.parametrize("method,url,body", V2_CASES)
def test_v2_matches_sdk_and_verifies(signetd, monkeypatch, method, url, body):
    alice = signetd.keys["alice"]
    cfg = SignetConfig(key="alice", socket=signetd.socket_path)
    before = int(time.time())
    req = cfg.define_headers_v2(_prepare(method, url, body))
    after = int(time.time())
    created = _created_of(req.headers["Signature-Input"])
    assert before <= created <= after
    req.method = req.method.upper()
    result = verify_v2(req, alice, body or b"")
    assert result.parameters["created"] == created

    # The SDK's own signer, same key file, same request, same created: identical headers.
    monkeypatch.setattr(request_signer, "datetime", _pinned_datetime(created))
    sdk_req = SshConfig.from_ssh_private_key(alice.private_text()).define_headers_v2(_prepare(method, url, body))
    for name in ("Content-Digest", "Signature-Input", "Signature", "User-Agent"):
        assert req.headers[name] == sdk_req.headers[name], name
    names = [n for n in req.headers if n != "X-Cloud-Trace-Context"]
    assert names == [n for n in sdk_req.headers if n != "X-Cloud-Trace-Context"]


def test_v2_tampering_is_detected(signetd):
    alice = signetd.keys["alice"]
    req = SignetConfig(socket=signetd.socket_path).define_headers_v2(
        _prepare("POST", "https://api.encord.com/v2/public/datasets", b'{"a": 1}')
    )
    verify_v2(req, alice, b'{"a": 1}')
    req.prepare_url("https://api.encord.com/v2/public/datasets?evil=1", None)
    with pytest.raises(Exception):
        verify_v2(req, alice, b'{"a": 1}')


def test_agent_client_reply_is_consistent(signetd):
    """The raw reply: `created` matches Signature-Input; headers come in the SDK's order."""
    alice = signetd.keys["alice"]
    with AgentClient(signetd.socket_path) as client:
        res = client.sign_request(SCHEME_V2, "get", "/v2/public/x?y=1", hashlib.sha256(b"").digest(), key="alice")
    assert [n for n, _ in res.headers] == ["Content-Digest", "Signature-Input", "Signature"]
    values = dict(res.headers)
    assert _created_of(values["Signature-Input"]) == res.created
    assert 'keyid="%s"' % alice.key_id in values["Signature-Input"]


def test_connection_is_reused_across_many_signatures(signetd):
    alice = signetd.keys["alice"]
    cfg = SignetConfig(socket=signetd.socket_path)
    sock = None
    for i in range(200):
        data = '{"i": %d}' % i
        sig = cfg.define_headers(None, None, data)["Authorization"].split(":")[1]
        _public(alice).verify(bytes.fromhex(sig), hashlib.sha256(data.encode()).digest())
        sock = sock or cfg.agent._sock
        assert cfg.agent._sock is sock
