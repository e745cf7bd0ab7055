"""encord-agents, unchanged, signed by the REAL signetd through the import hook.

encord-agents (0.2.10) builds every client in `encord_agents.core.utils.get_user_client`:
`Settings()` reads `ENCORD_SSH_KEY` (preferred) or the file named by
`ENCORD_SSH_KEY_FILE` (which must exist) and `ENCORD_DOMAIN`, then calls
`EncordUserClient.create_with_ssh_private_key(ssh_private_key=..., user_agent_suffix="encord-agents/<v>", domain=...)`;
`get_user_client(trace_id=...)` then sets the trace-id provider on the config's
`requests_settings`. `Runner()`, the FastAPI `dep_client` and the `encord-agents`
CLI all go through it. These tests run each of them unmodified in a fresh
interpreter (the virtualenv's own, with the `.pth` hook) and check the requests:
signed by the agent key, encord-agents' user-agent suffix and trace id kept.
"""

import os
import re
from pathlib import Path

import encord_agents
import pytest
from _sdkwire import AGENT_STAGE, PROJECT_HASH, ONTOLOGY_HASH, verify_v1, verify_v2
from _signetd import signetd_binary
from _unmodified import VENV_BIN, clean_env, python, run, write_script

pytestmark = pytest.mark.real_agent

SUFFIX = "encord-agents/" + encord_agents.__version__
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def agent(make_signetd):
    daemon = make_signetd("alice", "bob")
    for key in daemon.keys.values():
        os.remove(str(key.private_path))
    return daemon


def check_agents_request(req, key, trace_id=None):
    assert req.headers["User-Agent"].startswith("encord-sdk-python/") and req.headers["User-Agent"].endswith(
        " " + SUFFIX
    ), req.headers["User-Agent"]
    if trace_id is not None:  # encord-agents' provider: "<trace id>/<random span id>;o=1"
        assert re.fullmatch(re.escape(trace_id) + r"/\d+;o=1", req.headers["X-Cloud-Trace-Context"])
    if "Authorization" in req.headers:
        verify_v1(req, key)
    else:
        verify_v2(req, key)


GET_USER_CLIENT = """
from encord_agents.core.utils import get_user_client

client = get_user_client(trace_id=%r)
print("projects", client.get_projects())
print("listed", len(list(client.list_projects())))
""" % TRACE_ID


@pytest.mark.parametrize("how", ["ENCORD_SSH_KEY=signet:bob", "ENCORD_SSH_KEY=<pub line>", "ENCORD_SSH_KEY_FILE=bob.pub"])
def test_get_user_client(how, agent, tmp_path):
    bob = agent.keys["bob"]
    extra = {
        "ENCORD_SSH_KEY=signet:bob": {"ENCORD_SSH_KEY": "signet:bob"},
        "ENCORD_SSH_KEY=<pub line>": {"ENCORD_SSH_KEY": bob.public_path.read_text().strip()},
        "ENCORD_SSH_KEY_FILE=bob.pub": {"ENCORD_SSH_KEY_FILE": str(bob.public_path)},
    }[how]
    ran = run(python(write_script(tmp_path, "agent.py", GET_USER_CLIENT)), clean_env(tmp_path, agent.socket_path, extra))
    assert ran.returncode == 0, ran
    assert "projects []" in ran.stdout and "listed 0" in ran.stdout
    v1, v2 = ran.sent
    assert v1.url == "https://api.encord.com/public/user" and v2.path_url.startswith("/v2/public/projects")
    for req in ran.sent:
        check_agents_request(req, bob, TRACE_ID)


def test_get_user_client_under_signet_exec_with_encord_domain(agent, tmp_path):
    env = clean_env(tmp_path, agent.socket_path, {"ENCORD_DOMAIN": "https://api.us.encord.com"})
    signet = str(signetd_binary().parent / "signet")
    script = write_script(tmp_path, "agent.py", GET_USER_CLIENT)
    ran = run([signet, "exec", "--key", "alice", "--"] + python(script), env)
    assert ran.returncode == 0, ran
    assert [r.url.split("?")[0] for r in ran.sent] == [
        "https://api.us.encord.com/public/user",
        "https://api.us.encord.com/v2/public/projects",
    ]
    for req in ran.sent:
        check_agents_request(req, agent.keys["alice"], TRACE_ID)


def test_runner(agent, tmp_path):
    script = write_script(
        tmp_path,
        "runner.py",
        """
        from encord_agents.tasks import Runner

        runner = Runner(project_hash=%r)

        @runner.stage(%r)
        def pre_label(task):
            return "done"

        print("stages", [s.title for s in runner.valid_stages])
        """
        % (PROJECT_HASH, AGENT_STAGE["title"]),
    )
    ran = run(python(script), clean_env(tmp_path, agent.socket_path, {"ENCORD_SSH_KEY": "signet:alice"}))
    assert ran.returncode == 0, ran
    assert "stages ['pre-label']" in ran.stdout
    assert [(r.method, r.path_url) for r in ran.sent] == [
        ("GET", "/v2/public/projects/" + PROJECT_HASH),
        ("GET", "/v2/public/ontologies/" + ONTOLOGY_HASH),
    ]
    for req in ran.sent:
        check_agents_request(req, agent.keys["alice"])


def test_fastapi_dep_client(agent, tmp_path):
    """A FastAPI agent with `Depends(dep_client)`: the trace id of the incoming request reaches the SDK's requests."""
    script = write_script(
        tmp_path,
        "app.py",
        """
        from typing import Annotated

        from encord.user_client import EncordUserClient
        from fastapi import Depends, FastAPI
        from fastapi.testclient import TestClient

        from encord_agents.fastapi.dependencies import dep_client

        app = FastAPI()


        @app.post("/agent")
        def agent(client: Annotated[EncordUserClient, Depends(dep_client)]):
            return {"projects": len(list(client.list_projects()))}


        response = TestClient(app).post("/agent", headers={"X-Cloud-Trace-Context": %r})
        print(response.status_code, response.json())
        """
        % (TRACE_ID + "/1;o=1"),
    )
    ran = run(python(script), clean_env(tmp_path, agent.socket_path, {"ENCORD_SSH_KEY": "signet:bob"}))
    assert ran.returncode == 0, ran
    assert "200 {'projects': 0}" in ran.stdout, ran
    (req,) = ran.sent
    assert req.path_url.startswith("/v2/public/projects")
    check_agents_request(req, agent.keys["bob"], TRACE_ID)


@pytest.mark.parametrize("domain", [None, "https://api.us.encord.com"])
def test_cli_print_agent_nodes(domain, agent, tmp_path):
    extra = {"ENCORD_SSH_KEY_FILE": str(agent.keys["alice"].public_path)}
    if domain:
        extra["ENCORD_DOMAIN"] = domain
    cli = Path(VENV_BIN) / "encord-agents"
    assert cli.exists(), "encord-agents console script missing from %s" % VENV_BIN
    ran = run([cli, "print", "agent-nodes", PROJECT_HASH], clean_env(tmp_path, agent.socket_path, extra))
    assert ran.returncode == 0, ran
    assert 'AgentStage(title="%s", uuid="%s")' % (AGENT_STAGE["title"], AGENT_STAGE["uuid"]) in ran.stdout, ran
    assert [r.url for r in ran.sent] == [
        (domain or "https://api.encord.com") + "/v2/public/projects/" + PROJECT_HASH,
        (domain or "https://api.encord.com") + "/v2/public/ontologies/" + ONTOLOGY_HASH,
    ]
    for req in ran.sent:
        check_agents_request(req, agent.keys["alice"])
