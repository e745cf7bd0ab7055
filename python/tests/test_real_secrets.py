"""Encord API keys and bearer tokens from the REAL signetd (issue 21), into the REAL SDK.

The secrets are stored with the real `signet secret add` (from stdin) in the
agent's key store; `signet_encord.resource_client` / `bearer_client` ask the
agent for them (`get-secret@signet`) and build the SDK's own clients. The
network is intercepted at `requests.Session.send`: the test checks the exact
headers the SDK sends. `resource_client` needs an SDK with API-key clients
(encord <= 0.1.145: `python/tools/sdk_range.sh api-key` runs this file with
encord==0.1.145); with a newer SDK the test checks the error that names the
release instead.
"""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

import signet_encord
from signet_encord.errors import SecretNotFound, SignetError, WrongSecretKind

API_KEY = "sk-PYTEST-5e4d3c2b1a09-api-key"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.PYTEST-bearer.c2ln"
PROJECT = "6a0d2f34-3b39-4b8e-9a52-0c1b7c0e5a01"


def _signet(daemon, args, stdin=b""):
    exe = Path(str(daemon.binary)).with_name("signet")
    env = dict(daemon.env, SIGNET_AUTH_SOCK=daemon.socket_path)
    res = subprocess.run([str(exe)] + args, env=env, input=stdin, capture_output=True, timeout=30)
    assert res.returncode == 0, "signet %s: %s%s\n%s" % (args, res.stdout, res.stderr, daemon.log_tail())
    return res


@pytest.fixture
def secret_agent(make_signetd):
    daemon = make_signetd()
    _signet(
        daemon,
        ["secret", "add", "labels", "--kind", "encord-api-key", "--resource", PROJECT, "--stdin"],
        API_KEY.encode(),
    )
    _signet(daemon, ["secret", "add", "bot", "--kind", "encord-bearer", "--stdin"], TOKEN.encode())
    return daemon


class _Net:
    """Records every request the SDK sends and answers the few this test needs."""

    def __init__(self):
        self.sent = []
        self.resource_type = "project"

    def send(self, session, req, **kwargs):
        self.sent.append(req)
        path = "/" + req.path_url.split("?")[0].lstrip("/")
        if path == "/public":  # ApiKeyMeta, as EncordClient.initialise asks
            status, payload = 200, {"status": 200, "response": {"title": "labels", "resource_type": self.resource_type}}
        elif path == "/public/user":  # get_projects on older SDKs
            status, payload = 200, {"status": 200, "response": []}
        elif path == "/v2/public/projects":
            status, payload = 200, {"results": [], "nextPageToken": None}
        else:
            status, payload = 404, {"message": "no canned answer"}
        res = requests.Response()
        res.status_code = status
        res._content = json.dumps(payload).encode()
        res.headers["Content-Type"] = "application/json"
        res.url = req.url
        res.request = req
        res.encoding = "utf-8"
        return res


@pytest.fixture
def net(monkeypatch):
    n = _Net()
    monkeypatch.setattr(requests.Session, "send", lambda self, req, **kw: n.send(self, req, **kw))
    return n


def _has_api_key_clients():
    from encord.client import EncordClient

    return hasattr(EncordClient, "initialise")


def test_resource_client_sends_the_key_and_resource_id(secret_agent, net):
    import encord

    if not _has_api_key_clients():
        with pytest.raises(SignetError) as e:
            signet_encord.resource_client("labels", socket=secret_agent.socket_path)
        msg = str(e.value)
        assert encord.__version__ in msg and "0.1.145" in msg, msg
        assert API_KEY not in msg
        return
    client = signet_encord.resource_client("labels", socket=secret_agent.socket_path)
    assert type(client).__name__ == "EncordClientProject"
    assert net.sent, "the SDK sent nothing"
    req = net.sent[0]
    assert req.method == "POST" and req.path_url.split("?")[0].endswith("/public"), req.url
    assert req.headers["Authorization"] == API_KEY
    assert req.headers["ResourceID"] == PROJECT
    assert "Bearer" not in req.headers["Authorization"]


def test_bearer_client_sends_the_token(secret_agent, net):
    from encord.user_client import EncordUserClient

    user = signet_encord.bearer_client("bot", socket=secret_agent.socket_path)
    assert isinstance(user, EncordUserClient)
    if hasattr(user, "list_projects"):
        list(user.list_projects())  # v2
    else:
        user.get_projects()  # v1, on SDKs before list_projects
    assert net.sent, "the SDK sent nothing"
    for req in net.sent:
        assert req.headers["Authorization"] == "Bearer " + TOKEN, req.headers


def test_wrong_kind_unknown_secret_and_no_value_in_errors(secret_agent, net):
    with pytest.raises(WrongSecretKind) as e:
        signet_encord.bearer_client("labels", socket=secret_agent.socket_path)
    assert "resource_client('labels')" in str(e.value)
    assert API_KEY not in str(e.value)
    if _has_api_key_clients():
        with pytest.raises(WrongSecretKind) as e:
            signet_encord.resource_client("bot", socket=secret_agent.socket_path)
        assert "bearer_client('bot')" in str(e.value)
    with pytest.raises(SecretNotFound) as e:
        signet_encord.bearer_client("nope", socket=secret_agent.socket_path)
    assert "signet secret list" in str(e.value)
    secret = signet_encord.get_secret("bot", socket=secret_agent.socket_path)
    assert TOKEN not in repr(secret) and TOKEN not in str(secret)
    assert net.sent == []
    # Every release is in the agent's audit log, without the value.
    log = Path(secret_agent.env["XDG_STATE_HOME"]) / "signet" / "audit.log"
    deadline = time.monotonic() + 10
    text = ""
    while '"event":"release"' not in text and time.monotonic() < deadline:
        time.sleep(0.05)
        text = log.read_text() if log.exists() else ""
    assert '"event":"release"' in text and TOKEN not in text and API_KEY not in text
    assert os.environ.get("ENCORD_BEARER_TOKEN") is None


def test_an_sdk_error_that_quotes_the_key_is_raised_without_it(secret_agent, net):
    if not _has_api_key_clients():
        pytest.skip("needs encord<=0.1.145 (python/tools/sdk_range.sh api-key runs it)")
    # The SDK's InitialisationError says "API key [<key>] is not associated …".
    net.resource_type = "neither"
    with pytest.raises(SignetError) as e:
        signet_encord.resource_client("labels", socket=secret_agent.socket_path)
    assert "InitialisationError" in str(e.value) and "[secret redacted]" in str(e.value), str(e.value)
    assert API_KEY not in str(e.value)
