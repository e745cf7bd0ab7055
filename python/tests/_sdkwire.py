"""Shared by the real-agent SDK tests: a fake network for `requests.Session.send`, and verifiers.

`Wire` records every PreparedRequest the SDK sends and answers it with a canned
successful response (the `wire` fixture in conftest.py installs it). `verify_v1`
/ `verify_v2` check a captured request's signature against a public key.
"""

import base64
import hashlib
import json

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from encord.http.constants import RequestsSettings
from http_message_signatures import HTTPMessageVerifier, MappingKeyResolver, algorithms

DOMAIN = "https://api.encord.com"
TRACE = "0123456789abcdef0123456789abcdef/1;o=1"
TAG_UUID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

# A workflow project with one agent stage, as GET /v2/public/projects/<hash> returns it
# (encord.orm.project.ProjectDTO), and its ontology (GET /v2/public/ontologies/<hash>).
PROJECT_HASH = "6a0d2f34-3b39-4b8e-9a52-0c1b7c0e5a01"
ONTOLOGY_HASH = "0f8e4b7a-2b7c-4d1e-8f3a-9c5d6e7f8a02"
AGENT_STAGE = {"title": "pre-label", "uuid": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e03"}
_WHEN = "2025-06-01T12:00:00+00:00"
_EDITOR = {"objects": [], "classifications": []}
PROJECT = {
    "projectHash": PROJECT_HASH,
    "projectType": "workflow",
    "status": "inProgress",
    "title": "signet test project",
    "description": "",
    "createdAt": _WHEN,
    "creatorEmail": "ci@example.com",
    "lastEditedAt": _WHEN,
    "ontologyHash": ONTOLOGY_HASH,
    "editorOntology": _EDITOR,
    "userRole": 0,
    "workflow": {
        "stages": [
            {"stageType": "ANNOTATION", "uuid": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f04", "title": "Annotate"},
            {
                "stageType": "AGENT",
                "uuid": AGENT_STAGE["uuid"],
                "title": AGENT_STAGE["title"],
                "pathways": [
                    {
                        "uuid": "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a05",
                        "title": "done",
                        "destinationUuid": "4f5a6b7c-8d9e-4f0a-9b2c-3d4e5f6a7b06",
                    }
                ],
            },
            {"stageType": "DONE", "uuid": "4f5a6b7c-8d9e-4f0a-9b2c-3d4e5f6a7b06", "title": "Complete"},
        ]
    },
}
ONTOLOGY = {
    "ontologyUuid": ONTOLOGY_HASH,
    "title": "signet test ontology",
    "description": "",
    "editor": _EDITOR,
    "createdAt": _WHEN,
    "lastEditedAt": _WHEN,
    "userRole": 0,
}


class Wire:
    """Stands in for the network: records each PreparedRequest and answers it."""

    def __init__(self):
        self.sent = []

    def answer(self, req):
        path = req.path_url.split("?")[0]
        if path in ("/public/user", "/public"):  # UserConfig's endpoint; per-resource Queriers use /public
            query_type = json.loads(req.body)["query_type"]
            payload = {"project": "new-project-hash", "projectwithuserrole": []}[query_type]
            return 200, {"status": 200, "response": payload}
        if path == "/v2/public/organisation/organisation-tags" and req.method == "POST":
            return 200, {"uuid": TAG_UUID, "name": json.loads(req.body)["name"]}
        if path == "/v2/public/projects":
            return 200, {"results": [], "nextPageToken": None}
        if path == "/v2/public/projects/" + PROJECT_HASH and req.method == "GET":
            return 200, PROJECT
        if path == "/v2/public/ontologies/" + ONTOLOGY_HASH and req.method == "GET":
            return 200, ONTOLOGY
        return 404, {"message": "no canned answer for %s %s" % (req.method, req.path_url)}

    def send(self, session, req, **kwargs):
        self.sent.append(req)
        status, payload = self.answer(req)
        res = requests.Response()
        res.status_code = status
        res._content = json.dumps(payload).encode()
        res.headers["Content-Type"] = "application/json"
        res.url = req.url
        res.request = req
        res.encoding = "utf-8"
        return res


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
