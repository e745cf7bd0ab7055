"""Zero code changes: unmodified Encord SDK scripts, run as subprocesses, signed by the REAL signetd.

The scripts are ordinary SDK code; only the key material they are given is
a *reference* to an agent key (an OpenSSH public key line, a `signet:NAME`
stub file, `ENCORD_SSH_KEY=signet:…`, or what `signet exec --key` sets). The
private key files are deleted before the scripts run: the agent holds the only
copy. Each request the script sent is verified with the public key (v1 by
recomputation, v2 with http-message-signatures), and the daemon's audit log
shows it signed them.
"""

import json
import os
import textwrap
import time

import pytest
from _sdkwire import verify_v1, verify_v2
from _signetd import signetd_binary
from _unmodified import clean_env, python, run, write_script

pytestmark = pytest.mark.real_agent

# Ordinary SDK code: a v1 call (POST /public/user) and a v2 call (GET /v2/public/storage/folders);
# both exist in every encord release the adapter supports.
CALLS = """
print("projects", client.get_projects())
print("folders", len(list(client.list_storage_folders(search="a b"))))
"""

ENV_KEY = (
    """
import os
from encord import EncordUserClient

client = EncordUserClient.create_with_ssh_private_key(os.environ["ENCORD_SSH_KEY"])
"""
    + CALLS
)

NO_ARGS = (
    """
from encord import EncordUserClient

client = EncordUserClient.create_with_ssh_private_key()
"""
    + CALLS
)

ADAPTER = (
    """
import signet_encord

client = signet_encord.user_client()
"""
    + CALLS
)


@pytest.fixture
def agent(make_signetd):
    """A real signetd holding alice and bob; their private key files deleted (the .pub files stay)."""
    daemon = make_signetd("alice", "bob")
    for key in daemon.keys.values():
        os.remove(str(key.private_path))
    return daemon


def signet_binary():
    return str(signetd_binary().parent / "signet")


def audit_signs(daemon, count, timeout=10.0):
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


def assert_signed_by(ran, key, domain="https://api.encord.com"):
    """The script succeeded and sent exactly the v1 and v2 call, each signed by `key`."""
    assert ran.returncode == 0, ran
    assert "projects []" in ran.stdout and "folders 0" in ran.stdout, ran
    v1, v2 = ran.sent
    assert (v1.method, v1.url) == ("POST", domain + "/public/user")
    assert v2.method == "GET" and v2.url.startswith(domain.rstrip("/") + "/v2/public/storage/folders?")  # urljoin
    verify_v1(v1, key)
    verify_v2(v2, key)
    for req in ran.sent:
        assert req.headers["User-Agent"].startswith("encord-sdk-python/")


def test_env_key_holding_a_public_key_line(agent, tmp_path):
    alice = agent.keys["alice"]
    script = write_script(tmp_path, "job.py", ENV_KEY)
    ran = run(python(script), clean_env(tmp_path, agent.socket_path, {"ENCORD_SSH_KEY": alice.public_path.read_text()}))
    assert_signed_by(ran, alice)
    events = audit_signs(agent, 2)
    assert [(e["key"], e["scheme"], e["target"].split("?")[0]) for e in events] == [
        ("alice", "encord-v1", "/public/user"),
        ("alice", "encord-v2", "/v2/public/storage/folders"),
    ]


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_env_key_holding_signet_name(name, agent, tmp_path):
    script = write_script(tmp_path, "job.py", ENV_KEY)
    ran = run(python(script), clean_env(tmp_path, agent.socket_path, {"ENCORD_SSH_KEY": "signet:" + name}))
    assert_signed_by(ran, agent.keys[name])


def test_env_key_file_pointing_at_a_pub_file(agent, tmp_path):
    bob = agent.keys["bob"]
    script = write_script(tmp_path, "job.py", NO_ARGS)
    ran = run(python(script), clean_env(tmp_path, agent.socket_path, {"ENCORD_SSH_KEY_FILE": str(bob.public_path)}))
    assert_signed_by(ran, bob)


def sdk_domain(domain):
    """The domain as this SDK release keeps it (releases before ~0.1.150 did not strip a trailing /)."""
    from encord.configs import Config

    class Plain(Config):
        define_headers = define_headers_v2 = None

    return Plain(domain=domain).domain


def test_hard_coded_key_path_to_a_stub_and_a_us_domain(agent, tmp_path):
    stub = tmp_path / "encord-key"
    stub.write_text("signet:alice\n")
    script = write_script(
        tmp_path,
        "job.py",
        textwrap.dedent(
            """
            from encord import EncordUserClient

            client = EncordUserClient.create_with_ssh_private_key(
                ssh_private_key_path=%r,
                domain="https://api.us.encord.com/",
            )
            """
        )
        % str(stub)
        + CALLS,
    )
    ran = run(python(script), clean_env(tmp_path, agent.socket_path))
    assert_signed_by(ran, agent.keys["alice"], domain=sdk_domain("https://api.us.encord.com/"))


def test_tilde_path_to_a_pub_file(agent, tmp_path):
    """`ssh_private_key_path="~/.ssh/encord.pub"`, as OpenSSH users write `IdentityFile ~/.ssh/x.pub`."""
    import inspect

    from encord import EncordUserClient

    if "expanduser" not in inspect.getsource(EncordUserClient.create_with_ssh_private_key):
        pytest.skip("this encord release does not expand ~ in ssh_private_key_path")
    env = clean_env(tmp_path, agent.socket_path)
    ssh_dir = os.path.join(env["HOME"], ".ssh")
    os.makedirs(ssh_dir)
    with open(os.path.join(ssh_dir, "encord.pub"), "w") as f:
        f.write(agent.keys["bob"].public_path.read_text())
    script = write_script(
        tmp_path,
        "job.py",
        textwrap.dedent(
            """
            from encord import EncordUserClient

            client = EncordUserClient.create_with_ssh_private_key(ssh_private_key_path="~/.ssh/encord.pub")
            """
        )
        + CALLS,
    )
    assert_signed_by(run(python(script), env), agent.keys["bob"])


# ---------------------------------------------------------------- signet exec


def exec_env(tmp_path, agent, mallory):
    """The outer environment of a CI job: a raw private key and a key file that must not reach the job."""
    return clean_env(
        tmp_path,
        agent.socket_path,
        {"ENCORD_SSH_KEY": mallory.private_text(), "ENCORD_SSH_KEY_FILE": str(mallory.private_path)},
    )


@pytest.mark.parametrize("script_source", [ENV_KEY, NO_ARGS, ADAPTER], ids=["env-key", "no-args", "user_client"])
@pytest.mark.parametrize("name", ["alice", "bob"])
def test_the_same_scripts_under_signet_exec(script_source, name, agent, tmp_path):
    mallory = agent.generate_key("mallory")  # a real private key in the outer environment, never loaded
    script = write_script(tmp_path, "job.py", script_source)
    ran = run([signet_binary(), "exec", "--key", name, "--"] + python(script), exec_env(tmp_path, agent, mallory))
    assert_signed_by(ran, agent.keys[name])


def test_signet_exec_sets_a_reference_and_removes_raw_keys(agent, tmp_path):
    mallory = agent.generate_key("mallory")
    script = write_script(
        tmp_path,
        "env.py",
        """
        import os
        for name in ("ENCORD_SSH_KEY", "ENCORD_SSH_KEY_FILE", "SIGNET_KEY", "SIGNET_AUTH_SOCK"):
            print(name, os.environ.get(name, "<unset>"))
        """,
    )
    ran = run([signet_binary(), "exec", "--key", "bob", "--"] + python(script), exec_env(tmp_path, agent, mallory))
    assert ran.returncode == 0, ran
    assert ran.stdout.splitlines() == [
        "ENCORD_SSH_KEY signet:" + agent.keys["bob"].key_id,
        "ENCORD_SSH_KEY_FILE <unset>",
        "SIGNET_KEY bob",
        "SIGNET_AUTH_SOCK " + agent.socket_path,
    ]
    assert "PRIVATE KEY" not in ran.stdout


def test_signet_sign_request_uses_signet_key(agent, tmp_path):
    """Under `signet exec --key bob`, `signet sign-request` with no --key signs with bob (two keys loaded)."""
    ran = run(
        [signet_binary(), "exec", "--key", "bob", "--", signet_binary(), "sign-request", "--scheme", "encord-v1",
         "--method", "POST", "--url", "https://api.encord.com/public/user", "--body", "{}"],
        clean_env(tmp_path, agent.socket_path),
    )
    assert ran.returncode == 0, ran
    assert "Authorization: %s:" % agent.keys["bob"].key_id in ran.stdout, ran
    ran = run(  # without exec: two keys, none named
        [signet_binary(), "sign-request", "--method", "GET", "--url", "/v2/public/projects"],
        clean_env(tmp_path, agent.socket_path),
    )
    assert ran.returncode == 5, ran


# ---------------------------------------------------------------- what the hook must leave alone


def test_a_real_private_key_still_signs_with_that_key(agent, tmp_path):
    mallory = agent.generate_key("mallory")  # not in the agent
    script = write_script(tmp_path, "job.py", ENV_KEY)
    ran = run(python(script), clean_env(tmp_path, agent.socket_path, {"ENCORD_SSH_KEY": mallory.private_text()}))
    assert_signed_by(ran, mallory)
    assert audit_signs(agent, 1, timeout=0.5) == []  # the agent signed nothing


def test_hook_off_the_sdk_refuses_the_reference_and_nothing_is_sent(agent, tmp_path):
    script = write_script(tmp_path, "job.py", ENV_KEY)
    env = clean_env(tmp_path, agent.socket_path, {"ENCORD_SSH_KEY": "signet:alice", "SIGNET_ENCORD_HOOK": "0"})
    ran = run(python(script), env)
    assert ran.returncode != 0
    assert "ValueError: Not OpenSSH private key format" in ran.stderr, ran
    assert ran.sent == []
    assert audit_signs(agent, 1, timeout=0.5) == []


# ---------------------------------------------------------------- bad input: a clear error, nothing sent


@pytest.mark.parametrize(
    "key_text, error, words",
    [
        ("signet:carol", "signet_encord.errors.KeyNotLoaded", ["'carol'", "signet list"]),
        ("signet:", "signet_encord.errors.AgentRefused", ["alice (SHA256:", "bob (SHA256:", "signet:NAME"]),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk+ broken", "ValueError", ["Not OpenSSH private key format"]),
    ],
)
def test_bad_references(key_text, error, words, agent, tmp_path):
    script = write_script(tmp_path, "job.py", ENV_KEY)
    ran = run(python(script), clean_env(tmp_path, agent.socket_path, {"ENCORD_SSH_KEY": key_text}))
    assert ran.returncode != 0
    last = ran.stderr.strip().splitlines()[-1]
    assert last.startswith(error + ":"), ran
    for w in words:
        assert w in last, ran
    assert ran.sent == []


def test_unknown_public_key_line(agent, tmp_path):
    carol = agent.generate_key("carol")  # made, never loaded
    script = write_script(tmp_path, "job.py", ENV_KEY)
    ran = run(python(script), clean_env(tmp_path, agent.socket_path, {"ENCORD_SSH_KEY": carol.public_path.read_text()}))
    last = ran.stderr.strip().splitlines()[-1]
    assert last.startswith("signet_encord.errors.KeyNotLoaded: key 'carol (%s)'" % carol.fingerprint), ran
    assert "signet list" in last and ran.sent == []


def test_no_agent(agent, tmp_path):
    script = write_script(tmp_path, "job.py", ENV_KEY)
    missing = str(tmp_path / "no-agent.sock")
    ran = run(python(script), clean_env(tmp_path, missing, {"ENCORD_SSH_KEY": "signet:alice"}))
    last = ran.stderr.strip().splitlines()[-1]
    assert last.startswith("signet_encord.errors.AgentNotRunning:") and missing in last, ran
    assert ran.sent == []
