"""Key references: what counts as one, and that nothing else (above all no private key) is touched."""

import base64
import struct

import pytest
from conftest import SEED_A
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from signet_encord.references import KeyReference, fingerprint, parse_reference

_PRIV = Ed25519PrivateKey.from_private_bytes(SEED_A)
PUBLIC_LINE = _PRIV.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()  # no comment
KEY_ID = _PRIV.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
BLOB = base64.b64decode(PUBLIC_LINE.split()[1])


@pytest.mark.parametrize(
    "text, selector",
    [
        ("signet:", ""),
        ("signet:work", "work"),
        ("  signet:work\n", "work"),  # a stub file's trailing newline
        ("signet:" + KEY_ID, KEY_ID),
        ("signet:SHA256:abc+/def", "SHA256:abc+/def"),
        ("signet:ci bot", "ci bot"),
    ],
)
def test_signet_references(text, selector):
    ref = parse_reference(text)
    assert ref == KeyReference(selector=selector, label=selector)


def test_public_key_lines():
    fp = fingerprint(BLOB)
    assert parse_reference(PUBLIC_LINE) == KeyReference(KEY_ID, fp, KEY_ID)
    ref = parse_reference(PUBLIC_LINE + " encord-ci@build\n")  # a .pub file
    assert ref == KeyReference(KEY_ID, "encord-ci@build (%s)" % fp, KEY_ID)
    assert parse_reference(PUBLIC_LINE.replace(" ", "\t") + "\tc d").label == "c d (%s)" % fp


def test_fingerprint_is_openssh_format():
    fp = fingerprint(BLOB)
    assert fp.startswith("SHA256:") and len(fp) == 7 + 43 and not fp.endswith("=")


def _private_texts():
    yield _PRIV.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()
    yield _PRIV.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    # even a private key with a reference-looking comment or surrounding text
    yield "signet:work\n" + _PRIV.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()
    yield PUBLIC_LINE + "\n-----BEGIN OPENSSH PRIVATE KEY-----\n"


@pytest.mark.parametrize("text", list(_private_texts()))
def test_private_keys_are_never_references(text):
    assert parse_reference(text) is None


def _blob(*parts):
    return base64.b64encode(b"".join(struct.pack(">I", len(p)) + p for p in parts)).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "work",  # a bare name: could be anything, the SDK decides
        "SIGNET:work",  # the prefix is lower case
        "signet:a\nsignet:b",  # one line only
        "ssh-ed25519",
        "ssh-ed25519 not*base64",
        "ssh-ed25519 " + PUBLIC_LINE.split()[1][:-4],  # truncated
        "ssh-ed25519 " + _blob(b"ssh-ed25519", b"\x01" * 31),  # 31-byte key
        "ssh-ed25519 " + _blob(b"ssh-ed25519", b"\x01" * 32, b"extra"),
        "ssh-ed25519 " + _blob(b"ssh-rsa", b"\x01" * 32),  # blob of another type
        "ssh-rsa " + _blob(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xab" * 256),
        "sk-ssh-ed25519@openssh.com " + _blob(b"sk-ssh-ed25519@openssh.com", b"\x01" * 32, b"ssh:"),
        "ecdsa-sha2-nistp256 AAAA",
    ],
)
def test_not_references(text):
    assert parse_reference(text) is None


@pytest.mark.parametrize("value", [None, b"signet:work", 42, ["signet:work"]])
def test_only_text_is_a_reference(value):
    assert parse_reference(value) is None
