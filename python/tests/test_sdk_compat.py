"""SignetConfig's requests vs the SDK's own, byte for byte, for whichever encord release is installed.

Written against what every release in the declared range (`encord>=0.1.128,<0.2`)
has: `SshConfig.define_headers` / `define_headers_v2`, `create_with_ssh_private_key`,
`get_projects` (v1) and `list_storage_folders` (v2). `python/tools/sdk_range.sh`
runs this module against the oldest and the newest release; the main suite runs it
against the pinned one. A failure here means the SDK now sends headers that
SignetConfig does not reproduce: SDK_NOTES.md must be re-checked against the new
release before the range is widened.

The SDK's v2 `created` was `now - 30` up to 0.1.193 and `now` since 0.1.195, so
each comparison first measures the SDK's offset with its own clock pinned, then
gives the agent the same `created`: headers must then be identical.
"""

import datetime as dt

import encord
import encord.http.v2.request_signer as request_signer
import pytest
import requests
from conftest import SEED_A
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from encord import EncordUserClient
from encord.configs import SshConfig
from encord.http.constants import RequestsSettings

from signet_encord import SignetConfig

T0 = 1750000000
TRACE = "00112233445566778899aabbccddeeff/1;o=1"

V1_BODIES = ["", "{}", '{"query_type": "project", "query_method": "GET", "values": {"uid": "p", "payload": null}}']
V2_REQUESTS = [
    ("GET", "https://api.encord.com/v2/public/storage/folders?search=a+b&pageSize=100", None),
    ("POST", "https://api.encord.com/v2/public/datasets", b'{"title": "Z\\u00fcrich"}'),
    ("patch", "https://api.encord.com/v2/public/a%20b/~x/%C3%BC?q=%7E", "Z\u00fcrich"),
    ("DELETE", "https://api.encord.com/v2/public/storage/folders/0f0e", b""),
]


def settings():
    return RequestsSettings(trace_id_provider=lambda: TRACE, max_retries=0, connection_retries=0)


def pinned(created):
    class Pinned(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.fromtimestamp(created, tz=dt.timezone.utc)

    return Pinned


def created_of(signature_input):
    return int(signature_input.split("created=")[1].split(";")[0])


def sdk_created_offset(monkeypatch):
    """The SDK's `created` minus its clock (0, or -30 before 0.1.195)."""
    monkeypatch.setattr(request_signer, "datetime", pinned(T0))
    r = requests.Request("GET", "https://api.encord.com/v2/public/x").prepare()
    SshConfig(Ed25519PrivateKey.from_private_bytes(SEED_A)).define_headers_v2(r)
    return created_of(r.headers["Signature-Input"]) - T0


def prepared(method, url, body):
    r = requests.Request(method.upper(), url).prepare()
    r.method = method  # as given: both signers upper-case it themselves
    r.body = body
    return r


def test_installed_sdk_is_in_the_declared_range():
    from importlib.metadata import requires

    (spec,) = [r for r in requires("signet-encord") if r.startswith("encord")]
    assert spec.replace(" ", "") in ("encord<0.2,>=0.1.128", "encord>=0.1.128,<0.2"), spec
    parts = tuple(int(p) for p in encord.__version__.split(".")[:3])
    assert (0, 1, 128) <= parts < (0, 2), encord.__version__


def test_v1_headers_identical(fake_agent):
    sdk = SshConfig(Ed25519PrivateKey.from_private_bytes(SEED_A), requests_settings=settings())
    ours = SignetConfig(key="alice", socket=fake_agent.path, requests_settings=settings())
    for body in V1_BODIES:
        theirs = sdk.define_headers("r-1", "project", body)
        assert list(ours.define_headers("r-1", "project", body).items()) == list(theirs.items())
    assert ours.public_key_hex == sdk.public_key_hex


@pytest.mark.parametrize("method, url, body", V2_REQUESTS)
def test_v2_headers_identical(method, url, body, fake_agent, monkeypatch):
    offset = sdk_created_offset(monkeypatch)
    sdk = SshConfig(Ed25519PrivateKey.from_private_bytes(SEED_A), requests_settings=settings())
    ours = SignetConfig(key="alice", socket=fake_agent.path, requests_settings=settings())
    fake_agent.clock = lambda: T0 + offset
    theirs = sdk.define_headers_v2(prepared(method, url, body))
    mine = ours.define_headers_v2(prepared(method, url, body))
    assert list(mine.headers.items()) == list(theirs.headers.items())


@pytest.mark.real_agent
def test_sdk_entry_point_with_a_reference_sends_what_the_sdk_sends(signetd, wire, monkeypatch):
    """`create_with_ssh_private_key(<public key line>)` through the hook vs the same call with the private key."""
    alice = signetd.keys["alice"]
    monkeypatch.setenv("SIGNET_AUTH_SOCK", signetd.socket_path)
    offset = sdk_created_offset(monkeypatch)
    monkeypatch.setattr(request_signer, "datetime", dt.datetime)

    ours = EncordUserClient.create_with_ssh_private_key(alice.public_path.read_text(), requests_settings=settings())
    assert isinstance(ours.user_config.config, SignetConfig)
    ours.get_projects()
    list(ours.list_storage_folders(search="a b"))
    v1, v2 = wire.sent
    monkeypatch.setattr(request_signer, "datetime", pinned(created_of(v2.headers["Signature-Input"]) - offset))
    theirs = EncordUserClient.create_with_ssh_private_key(alice.private_text(), requests_settings=settings())
    assert type(theirs.user_config.config) is SshConfig
    theirs.get_projects()
    list(theirs.list_storage_folders(search="a b"))
    for mine, sdk in zip((v1, v2), wire.sent[2:]):
        assert (mine.method, mine.url, mine.body) == (sdk.method, sdk.url, sdk.body)
        assert list(mine.headers.items()) == list(sdk.headers.items())


def test_private_key_text_is_refused_by_the_sdk_as_before():
    """A non-key, non-reference string: the SDK's own error (the hook changes nothing for it)."""
    pem = Ed25519PrivateKey.from_private_bytes(SEED_A).private_bytes(
        Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
    ).decode()
    assert type(SshConfig.from_ssh_private_key(pem)) is SshConfig
    with pytest.raises(ValueError):
        SshConfig.from_ssh_private_key("not a key")
