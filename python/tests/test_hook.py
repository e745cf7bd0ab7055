"""The import hook in this interpreter (installed by pip's `signet_encord.pth`) and in fresh ones.

In-process tests use the fake agent; `test_real_zero_change.py` runs unmodified
scripts against the real signetd. Every test that expects the SDK to refuse
checks that nothing reached the agent or the network.
"""

import os
import site
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest
import requests
from conftest import SEED_A, SEED_B
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from encord import EncordUserClient
from encord.configs import SshConfig
from encord.http.constants import RequestsSettings

import signet_encord
from signet_encord import AgentNotRunning, AgentRefused, KeyNotLoaded, SignetConfig
import _signet_encord_hook as _hook
from _fake_agent import FakeKey

PRIV_A = Ed25519PrivateKey.from_private_bytes(SEED_A)
PUB_LINE_A = PRIV_A.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode() + " alice@laptop"
PEM_A = PRIV_A.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()
NOT_INSTALLED = "the signet_encord.pth hook is not active: install the package with pip (`pip install -e python`)"


def original():
    return SshConfig.from_ssh_private_key._signet_original


@pytest.fixture
def agent_env(fake_agent, monkeypatch):
    monkeypatch.setenv("SIGNET_AUTH_SOCK", fake_agent.path)
    return fake_agent


@pytest.fixture
def no_network(monkeypatch):
    sent = []

    def send(self, req, **kw):
        sent.append(req)
        raise AssertionError("nothing may be sent: %s %s" % (req.method, req.url))

    monkeypatch.setattr(requests.Session, "send", send)
    return sent


def test_pip_installed_the_hook():
    pths = [Path(d) / "signet_encord.pth" for d in site.getsitepackages() if (Path(d) / "signet_encord.pth").exists()]
    assert pths, NOT_INSTALLED
    assert pths[0].read_text() == "import _signet_encord_hook; _signet_encord_hook.install()\n"
    status = _hook.hook_status()
    assert status["installed"] and status["patched"], "%s (%s)" % (NOT_INSTALLED, status)
    assert callable(original())


def test_reference_becomes_signet_config_keeping_the_sdk_arguments(agent_env):
    settings = RequestsSettings(trace_id_provider=lambda: "t/1;o=1", max_retries=0)
    config = SshConfig.from_ssh_private_key(
        "signet:alice", "ignored password", requests_settings=settings, domain="https://api.us.encord.com/",
        user_agent_suffix="my-tool/1.0",
    )
    assert isinstance(config, SignetConfig)
    assert config.requests_settings is settings  # the object, so later changes (encord-agents' trace id) apply
    assert config.domain == "https://api.us.encord.com"
    assert config._user_agent().endswith(" my-tool/1.0")
    assert config._tracing_id() == "t/1;o=1"
    assert config.public_key_hex == agent_env.keys[0].key_id
    assert agent_env.requests == []  # resolved (list@signet), nothing signed yet


@pytest.mark.parametrize("text", ["signet:", "signet:alice", "signet:" + FakeKey("alice", SEED_A).key_id,
                                  "signet:" + FakeKey("alice", SEED_A).fingerprint, PUB_LINE_A, PUB_LINE_A + "\n"])
def test_every_reference_form_signs_with_that_key(text, agent_env, wire):
    client = EncordUserClient.create_with_ssh_private_key(ssh_private_key=text)
    assert isinstance(client.user_config.config, SignetConfig)
    client.get_projects()
    (req,) = wire.sent
    assert req.headers["Authorization"].split(":")[0] == agent_env.keys[0].key_id
    assert agent_env.requests[-1]["key"] == agent_env.keys[0].key_id  # signed by key id, as resolved


def test_private_key_goes_to_the_sdk_untouched(agent_env):
    config = SshConfig.from_ssh_private_key(PEM_A)
    assert type(config) is SshConfig
    assert agent_env.connections == 0


@pytest.mark.parametrize(
    "text",
    [
        "ssh-ed25519 AAAAnot-a-key",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk+",  # truncated blob
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ",
        "signet",
        "",
    ],
)
def test_malformed_input_gets_the_sdks_own_error(text, agent_env, no_network):
    with pytest.raises(Exception) as theirs:
        original()(text)
    with pytest.raises(type(theirs.value)) as ours:
        SshConfig.from_ssh_private_key(text)
    assert str(ours.value) == str(theirs.value)
    assert agent_env.connections == 0


def test_key_not_loaded(agent_env, no_network):
    with pytest.raises(KeyNotLoaded) as e:
        EncordUserClient.create_with_ssh_private_key(ssh_private_key="signet:bob")
    assert e.value.key == "bob" and "signet list" in str(e.value) and "alice (SHA256:" in str(e.value)
    other = FakeKey("bob", SEED_B)
    line = Ed25519PrivateKey.from_private_bytes(SEED_B).public_key().public_bytes(
        Encoding.OpenSSH, PublicFormat.OpenSSH).decode() + " bob@ci"
    with pytest.raises(KeyNotLoaded) as e:
        EncordUserClient.create_with_ssh_private_key(ssh_private_key=line)
    assert e.value.key == "bob@ci (%s)" % other.fingerprint and "signet list" in str(e.value)
    assert agent_env.requests == []


def test_no_agent(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("SIGNET_AUTH_SOCK", str(tmp_path / "none.sock"))
    with pytest.raises(AgentNotRunning) as e:
        EncordUserClient.create_with_ssh_private_key(ssh_private_key="signet:alice")
    assert str(tmp_path / "none.sock") in str(e.value)


def test_bare_reference_with_several_keys_lists_them(make_fake_agent, monkeypatch, no_network):
    a, b = FakeKey("alice", SEED_A), FakeKey("bob", SEED_B)
    agent = make_fake_agent([a, b])
    monkeypatch.setenv("SIGNET_AUTH_SOCK", agent.path)
    with pytest.raises(AgentRefused) as e:
        EncordUserClient.create_with_ssh_private_key(ssh_private_key="signet:")
    assert e.value.code == 5
    assert "alice (%s)" % a.fingerprint in str(e.value) and "bob (%s)" % b.fingerprint in str(e.value)
    assert "signet:NAME" in str(e.value)
    assert agent.requests == []


# ---------------------------------------------------------------- fail closed


def _fresh_state(monkeypatch):
    monkeypatch.setattr(_hook, "_state", dict(_hook._state, warned=False, patched=False))


def test_sdk_without_the_function_warns_once_and_changes_nothing(monkeypatch):
    _fresh_state(monkeypatch)
    cls = type("SshConfig", (), {})
    module = types.SimpleNamespace(SshConfig=cls)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _hook._patch(module)
        _hook._patch(module)
        _hook._patch(types.SimpleNamespace())  # no SshConfig at all
    assert len(caught) == 1 and issubclass(caught[0].category, RuntimeWarning)
    assert "NOT understood" in str(caught[0].message) and "user_client" in str(caught[0].message)
    assert not hasattr(cls, "from_ssh_private_key")
    assert not _hook.hook_status()["patched"]


def test_function_that_is_no_longer_static_is_left_alone(monkeypatch):
    _fresh_state(monkeypatch)

    class SshConfigLike:
        @classmethod
        def from_ssh_private_key(cls, ssh_private_key):
            raise ValueError("the SDK's own refusal")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _hook._patch(types.SimpleNamespace(SshConfig=SshConfigLike))
    assert len(caught) == 1
    with pytest.raises(ValueError, match="own refusal"):
        SshConfigLike.from_ssh_private_key("signet:alice")


def test_patch_is_idempotent():
    before = SshConfig.__dict__["from_ssh_private_key"]
    _hook._patch(sys.modules["encord.configs"])
    assert SshConfig.__dict__["from_ssh_private_key"] is before
    assert not hasattr(original(), "_signet_original")  # the SDK's own function, wrapped once


# ---------------------------------------------------------------- fresh interpreters


def run_python(code, env=None, **kw):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNET_", "ENCORD_"))}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=e, capture_output=True, text=True, timeout=120, **kw
    )


def test_start_up_imports_only_the_hook():
    r = run_python(
        """
        import sys
        editable = "_editable_impl_signet_encord"  # editables' own finder in `pip install -e` venvs
        print(sorted(m for m in sys.modules if ("signet" in m or m.startswith("encord")) and m != editable))
        print([type(f).__name__ for f in sys.meta_path][0])
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["['_signet_encord_hook']", "_Finder"]


def test_import_signet_encord_does_not_import_encord():
    r = run_python(
        """
        import sys, signet_encord
        print("encord" in sys.modules, signet_encord.__version__)
        signet_encord.AgentNotRunning, signet_encord.parse_reference
        print("encord" in sys.modules)
        signet_encord.SignetConfig
        print("encord" in sys.modules)
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", signet_encord.__version__, "False", "True"]


def test_one_version_string():
    from importlib.metadata import version

    assert version("signet-encord") == signet_encord.__version__


@pytest.mark.parametrize("value", ["0", "false", "off", "no"])
def test_hook_off_the_sdk_refuses_references(value, fake_agent):
    r = run_python(
        """
        import sys
        from encord.configs import SshConfig
        import signet_encord._hook as h
        print(h.hook_status()["patched"], h.hook_status()["reason"])
        try:
            SshConfig.from_ssh_private_key("signet:alice")
        except ValueError as e:
            print("refused:", e)
        """,
        {"SIGNET_ENCORD_HOOK": value, "SIGNET_AUTH_SOCK": fake_agent.path},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["False SIGNET_ENCORD_HOOK=%s" % value, "refused: Not OpenSSH private key format"]
    assert fake_agent.connections == 0


def test_hook_patches_when_encord_is_imported_in_a_fresh_interpreter(fake_agent):
    r = run_python(
        """
        import encord  # the package imports encord.configs on its way
        from encord.configs import SshConfig
        import signet_encord._hook as h
        print(h.hook_status()["patched"], type(SshConfig.from_ssh_private_key("signet:alice")).__name__)
        import sys
        print(any(type(f).__name__ == "_Finder" for f in sys.meta_path))  # removed once done
        """,
        {"SIGNET_AUTH_SOCK": fake_agent.path},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "SignetConfig", "False"]


def test_an_sdk_without_the_function_refuses_the_reference_itself(tmp_path, fake_agent):
    """A future encord without SshConfig.from_ssh_private_key: one warning, the SDK's own error, no agent contact."""
    pkg = tmp_path / "encord"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .configs import SshConfig\n")
    (pkg / "configs.py").write_text(
        textwrap.dedent(
            """
            class SshConfig:
                @staticmethod
                def from_private_key_text(text):  # renamed: the hook cannot find it
                    raise ValueError("not a private key")
            """
        )
    )
    r = run_python(
        """
        import warnings
        warnings.simplefilter("default")
        import encord
        try:
            encord.SshConfig.from_private_key_text("signet:alice")
        except ValueError as e:
            print("refused:", e)
        import encord.configs
        """,
        {"PYTHONPATH": str(tmp_path), "SIGNET_AUTH_SOCK": fake_agent.path},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "refused: not a private key"
    assert r.stderr.count("RuntimeWarning") == 1 and "NOT understood" in r.stderr
    assert fake_agent.connections == 0


# ---------------------------------------------------------------- user_client


def test_user_client_socket_and_domain_are_keyword_only(agent_env):
    with pytest.raises(TypeError):
        signet_encord.user_client("alice", "https://api.encord.com")


def test_user_client_reads_signet_key_and_encord_domain(make_fake_agent, monkeypatch):
    a, b = FakeKey("alice", SEED_A), FakeKey("bob", SEED_B)
    agent = make_fake_agent([a, b])
    monkeypatch.setenv("SIGNET_AUTH_SOCK", agent.path)
    monkeypatch.setenv("SIGNET_KEY", "bob")
    monkeypatch.setenv("ENCORD_DOMAIN", "https://api.us.encord.com")
    client = signet_encord.user_client()
    assert client.user_config.config.public_key_hex == b.key_id
    assert client.user_config.endpoint == "https://api.us.encord.com/public/user"
    client = signet_encord.user_client(key="alice", domain="https://api.encord.com")  # explicit wins
    assert client.user_config.config.public_key_hex == a.key_id
    assert client.user_config.config.domain == "https://api.encord.com"
    monkeypatch.delenv("ENCORD_DOMAIN")
    assert signet_encord.user_client().user_config.config.domain == "https://api.encord.com"
    client = signet_encord.user_client(key="signet:alice")  # a reference works as key= too
    assert client.user_config.config.public_key_hex == a.key_id
