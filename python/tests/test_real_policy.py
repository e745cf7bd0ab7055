"""Per-key policy of the REAL signetd, as an Encord SDK user sees it.

Each test starts its own daemon with a `[policies]` configuration, calls the
real `encord` SDK through the adapter, and checks that a refused request
raises `AgentRefused` carrying the agent's reason (code 3, Refused) and that
nothing unsigned goes out on the wire.
"""

import os
import sys

import pytest
from _sdkwire import requests_settings, verify_v2
from _signetd import Signetd

import signet_encord
from signet_encord import AgentRefused

pytestmark = pytest.mark.real_agent

REFUSED = 3


@pytest.fixture
def make_policy_agent(signetd_binary_path, tmp_path):
    """Factory: a real signetd with `config` as its configuration and `keys` loaded."""
    made = []

    def make(config, *keys):
        workdir = tmp_path / ("policy%d" % len(made))
        workdir.mkdir()
        cfg = workdir / "signetd.toml"
        cfg.write_text(config)
        daemon = Signetd(workdir, signetd_binary_path, extra_args=["--config", str(cfg)])
        made.append(daemon)
        daemon.start()
        for name in keys:
            daemon.add_key(name)
        return daemon

    yield make
    for daemon in made:
        assert daemon.stop() == 0, daemon.log_tail()


def client_for(agent, key):
    return signet_encord.user_client(key=key, socket=agent.socket_path, requests_settings=requests_settings())


READ_ONLY = """
[policies.read-only]
schemes = ["encord-v2"]
methods = ["GET"]
targets = ["/v2/public/projects*"]

[keys.ci-bot]
policy = "read-only"
"""


def test_read_only_key_lists_projects_and_refuses_writes_and_v1(make_policy_agent, wire):
    agent = make_policy_agent(READ_ONLY, "ci-bot")
    client = client_for(agent, "ci-bot")

    assert list(client.list_projects()) == []  # GET /v2/public/projects: allowed
    assert len(wire.sent) == 1
    verify_v2(wire.sent[-1], agent.keys["ci-bot"])

    with pytest.raises(AgentRefused) as e:  # POST /v2/public/organisation/organisation-tags
        client.create_organisation_tag("tag", "d")
    assert e.value.reason == "key ci-bot: method POST not allowed by rule read-only"
    assert e.value.code == REFUSED
    assert "method POST not allowed by rule read-only" in str(e.value)

    with pytest.raises(AgentRefused) as e:  # v1: POST /public/user
        client.get_projects()
    assert e.value.reason == "key ci-bot: scheme encord-v1 not allowed by rule read-only"
    assert len(wire.sent) == 1  # the refused requests never went out


def test_target_rule_refuses_other_paths(make_policy_agent, wire):
    agent = make_policy_agent(
        '[policies.tags-only]\nschemes = ["encord-v2"]\ntargets = ["/v2/public/organisation/organisation-tags"]\n'
        '[keys.tagger]\npolicy = "tags-only"\n',
        "tagger",
    )
    client = client_for(agent, "tagger")
    client.create_organisation_tag("tag", "d")
    with pytest.raises(AgentRefused) as e:
        list(client.list_projects())
    assert e.value.reason.startswith("key tagger: target /v2/public/projects")
    assert e.value.reason.endswith("not allowed by rule tags-only")
    assert len(wire.sent) == 1


def test_callers_by_uid_and_executable(make_policy_agent, wire):
    me = os.geteuid()
    python = os.path.realpath(sys.executable)
    agent = make_policy_agent(
        "[policies.other-uid]\nuids = [%d]\n[keys.by-uid]\npolicy = \"other-uid\"\n"
        "[policies.me]\nuids = [%d]\nexecutables = [%s]\n[keys.mine]\npolicy = \"me\"\n"
        "[policies.not-python]\nexecutables = [\"/usr/bin/curl\"]\n[keys.by-exe]\npolicy = \"not-python\"\n"
        % (me + 1, me, '"%s"' % python.replace("\\", "\\\\")),
        "by-uid",
        "mine",
        "by-exe",
    )
    assert list(client_for(agent, "mine").list_projects()) == []
    with pytest.raises(AgentRefused) as e:
        list(client_for(agent, "by-uid").list_projects())
    assert e.value.reason == "key by-uid: caller uid %d not allowed by rule other-uid" % me
    with pytest.raises(AgentRefused) as e:
        list(client_for(agent, "by-exe").list_projects())
    assert e.value.reason == "key by-exe: caller executable %s not allowed by rule not-python" % python
    assert len(wire.sent) == 1


def test_rate_limit_reason_reaches_the_sdk_caller(make_policy_agent, wire):
    agent = make_policy_agent(
        "[policies.slow]\nrate_per_minute = 2\n[keys.slow]\npolicy = \"slow\"\n",
        "slow",
    )
    client = client_for(agent, "slow")
    list(client.list_projects())
    list(client.list_projects())
    with pytest.raises(AgentRefused) as e:
        list(client.list_projects())
    assert e.value.reason.startswith("key slow: rate limit of rule slow reached; retry in ")
    assert len(wire.sent) == 2
