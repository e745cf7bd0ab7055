"""Which loaded key a selector names: `list@signet` / `status@signet` and the matching rule.

The rule is signet-proto's `KeySelector` (crates/proto/src/key.rs), so a
selector means the same here as in `signet --key`: "" = the only loaded key, a
`SHA256:` fingerprint, or a name (comment) matched exactly, or a 64-hex-digit
key id matched case-insensitively.

Stdlib only (no encord import).
"""

from typing import List, NamedTuple, Optional

from .agent import (
    SSH_AGENTC_EXTENSION,
    AgentClient,
    _expect_extension_response,
    encode_string,
    raise_for_failure,
)
from .errors import AgentLocked, AgentRefused, KeyNotLoaded, ProtocolMismatch
from .references import _public_from_blob, fingerprint

EXT_LIST = "list@signet"
EXT_STATUS = "status@signet"

FAIL_AMBIGUOUS_KEY = 5


class LoadedKey(NamedTuple):
    """One key the agent holds: its name, Encord key id (hex of the raw public key) and fingerprint."""

    name: str
    key_id: str
    fingerprint: str

    def describe(self) -> str:
        return "%s (%s)" % (self.name or "(no name)", self.fingerprint)


def encode_list_request() -> bytes:
    return bytes([SSH_AGENTC_EXTENSION]) + encode_string(EXT_LIST)


def encode_status_request() -> bytes:
    return bytes([SSH_AGENTC_EXTENSION]) + encode_string(EXT_STATUS)


def decode_list_response(body: bytes) -> List[LoadedKey]:
    """Keys from a `list@signet` reply (per key: blob, name, lifetime, confirm, source; then policies)."""
    raise_for_failure(body)
    r = _expect_extension_response(body, EXT_LIST)
    keys = []
    for _ in range(r.uint32()):
        blob = r.string()
        name = r.text()
        if r.byte():
            r.uint64()  # seconds left
        r.byte()  # confirm
        r.text()  # source
        public = _public_from_blob(blob)
        if public is None:
            raise ProtocolMismatch("signet agent listed a key that is not Ed25519")
        keys.append(LoadedKey(name, public.hex(), fingerprint(blob)))
    # A trailing section of one policy line per key (agents with policies); not needed here.
    return keys


def decode_status_locked(body: bytes) -> bool:
    """The `locked` flag of a `status@signet` reply."""
    raise_for_failure(body)
    r = _expect_extension_response(body, EXT_STATUS)
    r.uint32()  # protocol
    r.text()  # agent version
    r.uint32()  # pid
    return r.byte() != 0


def matches(selector: str, key: LoadedKey) -> bool:
    """signet-proto's KeySelector::matches."""
    s = selector.strip()
    if not s:
        return True
    if s.startswith("SHA256:"):
        return key.fingerprint == s
    return s == key.name or (len(s) == 64 and s.lower() == key.key_id)


def list_keys(agent: AgentClient) -> List[LoadedKey]:
    """The keys loaded in the agent (empty when it is locked: see `resolve`)."""
    return decode_list_response(agent.call(encode_list_request()))


def resolve(agent: AgentClient, selector: str, label: Optional[str] = None) -> LoadedKey:
    """The one loaded key `selector` names.

    Raises `KeyNotLoaded` (naming `label`, else the selector) when none matches,
    `AgentLocked` when the agent is locked, and `AgentRefused` (code 5, listing the
    keys) when the selector is empty and several keys are loaded. Sends nothing
    but `list@signet` (and `status@signet` when the list is empty).
    """
    label = selector if label is None else label
    keys = list_keys(agent)
    found = [k for k in keys if matches(selector, k)]
    if len(found) == 1:
        return found[0]
    if not keys and decode_status_locked(agent.call(encode_status_request())):
        raise AgentLocked("it lists no keys while locked")
    if not found and not selector.strip():
        raise KeyNotLoaded("")  # "no key is loaded in the signet agent; …"
    if not found:
        loaded = ", ".join(k.describe() for k in keys) or "none"
        raise KeyNotLoaded(label, "no loaded key matches %r; loaded: %s" % (selector, loaded))
    listing = ", ".join(k.describe() for k in found)
    if selector.strip():
        raise AgentRefused(
            "%d loaded keys match %r: %s" % (len(found), selector, listing),
            FAIL_AMBIGUOUS_KEY,
            "name one by its key id or SHA256 fingerprint (`signet list` shows them)",
        )
    raise AgentRefused(
        "%d keys are loaded and none was named: %s" % (len(found), listing),
        FAIL_AMBIGUOUS_KEY,
        'name one: ENCORD_SSH_KEY=signet:NAME, user_client(key="NAME") or SignetConfig(key="NAME") '
        "(`signet list` shows them)",
    )
