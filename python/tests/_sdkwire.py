"""Shared by the real-agent SDK tests: a fake network for `requests.Session.send`, and verifiers.

`Wire` (from `_wire`) records every PreparedRequest the SDK sends and answers
it with a canned successful response (the `wire` fixture in conftest.py
installs it). `verify_v1` / `verify_v2` check a captured request's signature
against a public key.
"""

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from encord.http.constants import RequestsSettings
from http_message_signatures import HTTPMessageVerifier, MappingKeyResolver, algorithms

from _wire import (  # noqa: F401 (re-exported)
    AGENT_STAGE,
    DOMAIN,
    ONTOLOGY_HASH,
    PROJECT_HASH,
    TAG_UUID,
    TRACE,
    Wire,
)


def requests_settings():
    return RequestsSettings(trace_id_provider=lambda: TRACE, max_retries=0, connection_retries=0)


def body_bytes_sent(req) -> bytes:
    """The bytes urllib3 puts on the wire for this PreparedRequest's body."""
    if req.body is None:
        return b""
    if isinstance(req.body, bytes):
        return req.body
    assert isinstance(req.body, str)
    assert req.body.isascii()  # the SDK's json.dumps(ensure_ascii=True): encoding is unambiguous
    return req.body.encode("utf-8")


def verify_v1(req, key):
    key_id, sig_hex = req.headers["Authorization"].split(":")
    assert key_id == key.key_id
    Ed25519PublicKey.from_public_bytes(key.public_raw).verify(
        bytes.fromhex(sig_hex), hashlib.sha256(body_bytes_sent(req)).digest()
    )


def verify_v2(req, key):
    body = body_bytes_sent(req)
    assert req.headers["Content-Digest"] == "sha-256=:%s:" % base64.b64encode(hashlib.sha256(body).digest()).decode()
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(
            public_keys={key.key_id: Ed25519PublicKey.from_public_bytes(key.public_raw)}, private_keys={}
        ),
    )
    (result,) = verifier.verify(
        req, max_age=None, body=body, require_components=("@method", "@request-target", "content-digest")
    )
    assert result.parameters["keyid"] == key.key_id and result.parameters["alg"] == "ed25519"
    return result.parameters["created"]


# name -> (scheme, call, expected return, expected method + path)
CALLS = {
    "v1-create_project": (
        "v1",
        lambda c: c.create_project("Z\u00fcrich \u2713 project", ["dataset-1"], "made by signet"),
        "new-project-hash",
        ("POST", "/public/user"),
    ),
    "v1-get_projects": ("v1", lambda c: c.get_projects(title_like="%a b%"), [], ("POST", "/public/user")),
    "v2-create_organisation_tag": (
        "v2",
        lambda c: (lambda t: (str(t.uuid), t.name))(c.create_organisation_tag("Z\u00fcrich \u2713", "d")),
        (TAG_UUID, "Z\u00fcrich \u2713"),
        ("POST", "/v2/public/organisation/organisation-tags"),
    ),
    "v2-list_projects": (
        "v2",
        lambda c: list(c.list_projects(title_like="a b%", include_org_access=True)),
        [],
        ("GET", "/v2/public/projects"),
    ),
}
