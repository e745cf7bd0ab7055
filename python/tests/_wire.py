"""A fake network for the Encord SDK: canned Encord API answers, stdlib + requests only.

`Wire` records every PreparedRequest the SDK sends and answers it with a
canned successful response. It imports nothing from encord, so the
`sitecustomize` in wire_site/ can install it in an unmodified script's
interpreter without importing the SDK before the script does (the import
hook must see the script's own `import encord`).
"""

import base64
import json

import requests

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

    def __init__(self, record_path=None):
        self.sent = []
        self.record_path = record_path

    def answer(self, req):
        path = "/" + req.path_url.split("?")[0].lstrip("/")  # old SDKs keep a trailing / of the domain: //public
        if path in ("/public/user", "/public"):  # UserConfig's endpoint; per-resource Queriers use /public
            query_type = json.loads(req.body)["query_type"]
            payload = {"project": "new-project-hash", "projectwithuserrole": []}[query_type]
            return 200, {"status": 200, "response": payload}
        if path == "/v2/public/organisation/organisation-tags" and req.method == "POST":
            return 200, {"uuid": TAG_UUID, "name": json.loads(req.body)["name"]}
        if path in ("/v2/public/projects", "/v2/public/storage/folders") and req.method == "GET":
            return 200, {"results": [], "nextPageToken": None}
        if path == "/v2/public/projects/" + PROJECT_HASH and req.method == "GET":
            return 200, PROJECT
        if path == "/v2/public/ontologies/" + ONTOLOGY_HASH and req.method == "GET":
            return 200, ONTOLOGY
        return 404, {"message": "no canned answer for %s %s" % (req.method, req.path_url)}

    def send(self, session, req, **kwargs):
        self.sent.append(req)
        if self.record_path:
            body = req.body.encode("utf-8") if isinstance(req.body, str) else (req.body or b"")
            line = {
                "method": req.method,
                "url": req.url,
                "headers": list(req.headers.items()),
                "body_b64": base64.b64encode(body).decode(),
            }
            with open(self.record_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
        status, payload = self.answer(req)
        res = requests.Response()
        res.status_code = status
        res._content = json.dumps(payload).encode()
        res.headers["Content-Type"] = "application/json"
        res.url = req.url
        res.request = req
        res.encoding = "utf-8"
        return res



def install(record_path):
    """Replace `requests.Session.send` in this process; every request is appended to `record_path` as JSON."""
    wire = Wire(record_path)
    requests.Session.send = lambda self, req, **kw: wire.send(self, req, **kw)
    return wire


def load(record_path):
    """The requests a subprocess recorded, rebuilt as PreparedRequests (headers in the order sent)."""
    out = []
    try:
        with open(record_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        d = json.loads(line)
        p = requests.PreparedRequest()
        p.method = d["method"]
        p.url = d["url"]
        p.headers = requests.structures.CaseInsensitiveDict(d["headers"])
        p.body = base64.b64decode(d["body_b64"])
        out.append(p)
    return out
