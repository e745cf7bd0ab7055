"""End-to-end checks against a REAL signetd (skipped unless SIGNET_TEST_SOCKET is set).

The agent must hold exactly one key, or SIGNET_TEST_KEY must name one.
Signatures are verified with the public key taken from the returned key id.
"""

import base64
import hashlib
import os
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageVerifier, MappingKeyResolver, algorithms

from signet_encord import SignetConfig
from signet_encord.agent import PROTOCOL_VERSION, AgentClient

pytestmark = pytest.mark.real_agent

KEY = os.environ.get("SIGNET_TEST_KEY", "")


def test_version_probe(signet_socket):
    with AgentClient(signet_socket) as client:
        info = client.ping()
    assert info.protocol_version == PROTOCOL_VERSION and info.agent_version


def test_v1_signature_verifies(signet_socket):
    data = '{"query_type": "project", "query_method": "GET", "values": {"uid": "p", "payload": null}}'
    cfg = SignetConfig(key=KEY, socket=signet_socket)
    headers = cfg.define_headers("p", "project", data)
    key_id, sig_hex = headers["Authorization"].split(":")
    assert len(key_id) == 64 and len(sig_hex) == 128
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_id)).verify(
        bytes.fromhex(sig_hex), hashlib.sha256(data.encode()).digest()
    )


@pytest.mark.parametrize("method", ["GET", "post", "DELETE"])
def test_v2_signature_verifies(signet_socket, method):
    body = '{"title": "Zürich ✓"}'.encode() if method != "GET" else None
    req = requests.Request(method, "https://api.encord.com/v2/public/a%20b?x=1&y=%C3%BC", data=body).prepare()
    req.method = method  # exercise the agent's upper-casing
    cfg = SignetConfig(key=KEY, socket=signet_socket)
    before = int(time.time())
    req = cfg.define_headers_v2(req)
    req.method = req.method.upper()
    params = req.headers["Signature-Input"]
    key_id = params.split('keyid="')[1].split('"')[0]
    created = int(params.split("created=")[1].split(";")[0])
    assert before - 1 <= created <= int(time.time()) + 1
    assert req.headers["Content-Digest"] == "sha-256=:%s:" % base64.b64encode(
        hashlib.sha256(body or b"").digest()
    ).decode()
    pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_id))
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={key_id: pub}, private_keys={}),
    )
    verifier.verify(req, body=body or b"", require_components=("@method", "@request-target", "content-digest"))
