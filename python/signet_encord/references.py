"""Key references: text that names a key held by the signet agent instead of being a key.

Wherever the Encord SDK takes a private key (`ENCORD_SSH_KEY`, the file named by
`ENCORD_SSH_KEY_FILE` or `ssh_private_key_path`, the `ssh_private_key` argument),
the import hook (`signet_encord._hook`) accepts one of these instead:

- an OpenSSH public key line, `ssh-ed25519 AAAA… [comment]` (a `.pub` file): the
  public half names the key, as with OpenSSH's `IdentityFile x.pub`;
- `signet:` (the only loaded key), `signet:NAME`, `signet:<key id>` (64 hex
  digits) or `signet:SHA256:…` (OpenSSH fingerprint).

Everything else is *not* a reference and goes to the SDK untouched: in
particular anything holding `-----BEGIN` (a private key in any PEM/OpenSSH
armour) is never looked at further, and a malformed public key line is left
for the SDK to reject with its own error.

Stdlib only, and no I/O: parsing never contacts the agent.
"""

import base64
import binascii
import hashlib
import struct
from typing import NamedTuple, Optional

PREFIX = "signet:"
ED25519 = "ssh-ed25519"


class KeyReference(NamedTuple):
    """A parsed reference.

    `selector` is what the agent matches (a name, a 64-hex key id, a `SHA256:`
    fingerprint, or "" for the only loaded key); `label` is how errors name the
    key to the user; `key_id` is set when the reference itself fixes the key
    (a public key line).
    """

    selector: str
    label: str
    key_id: Optional[str] = None


def looks_like_private_key(text: str) -> bool:
    """True for anything in PEM/OpenSSH armour (`-----BEGIN …`): never treated as a reference."""
    return "-----BEGIN" in text or "PRIVATE KEY" in text


def fingerprint(blob: bytes) -> str:
    """OpenSSH's `SHA256:…` fingerprint of a public key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def ed25519_blob(public: bytes) -> bytes:
    """The SSH wire blob of an Ed25519 public key: string "ssh-ed25519", string key."""
    return struct.pack(">I", len(ED25519)) + ED25519.encode() + struct.pack(">I", len(public)) + public


def _parse_public_key_line(line: str) -> Optional[KeyReference]:
    parts = line.split(None, 2)
    if len(parts) < 2 or parts[0] != ED25519:
        return None
    try:
        blob = base64.b64decode(parts[1].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    public = _public_from_blob(blob)
    if public is None:
        return None
    key_id = public.hex()
    comment = parts[2].strip() if len(parts) == 3 else ""
    fp = fingerprint(blob)
    label = "%s (%s)" % (comment, fp) if comment else fp
    return KeyReference(selector=key_id, label=label, key_id=key_id)


def _public_from_blob(blob: bytes) -> Optional[bytes]:
    """The 32-byte key of an exact `string "ssh-ed25519", string key[32]` blob, else None."""
    name_len = len(ED25519)
    if len(blob) != 4 + name_len + 4 + 32:
        return None
    if blob[:4] != struct.pack(">I", name_len) or blob[4 : 4 + name_len] != ED25519.encode():
        return None
    if blob[4 + name_len : 8 + name_len] != struct.pack(">I", 32):
        return None
    return blob[8 + name_len :]


def parse_reference(text: object) -> Optional[KeyReference]:
    """The reference `text` holds, or None if it is not one (then it must go to the SDK unchanged).

    Surrounding whitespace (a file's trailing newline) is ignored; a reference is
    one line.
    """
    if not isinstance(text, str):
        return None
    if looks_like_private_key(text):
        return None
    stripped = text.strip()
    if not stripped or "\n" in stripped or "\r" in stripped:
        return None
    if stripped.startswith(PREFIX):
        selector = stripped[len(PREFIX) :].strip()
        return KeyReference(selector=selector, label=selector)
    if stripped.startswith(ED25519 + " ") or stripped.startswith(ED25519 + "\t"):
        return _parse_public_key_line(stripped)
    return None


__all__ = ["KeyReference", "parse_reference", "looks_like_private_key", "fingerprint", "ed25519_blob", "PREFIX"]
