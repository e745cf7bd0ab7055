"""Encord resource API keys and bearer tokens kept by the signet agent (docs/secrets.md).

    import signet_encord
    project = signet_encord.resource_client("labelling")   # EncordClient (SDK <= 0.1.145)
    user = signet_encord.bearer_client("bot-token")         # EncordUserClient

Each call asks the agent for the secret (`get-secret@signet`): the secret's rule
decides for this very process, and the agent records the release in its audit
log. The value is handed to the SDK and kept nowhere else here.
"""

import os
from typing import Any, NamedTuple, Optional, Tuple

from .agent import (
    FAIL_NO_SUCH_KEY,
    SSH_AGENT_EXTENSION_FAILURE,
    SSH_AGENTC_EXTENSION,
    AgentClient,
    Reader,
    _expect_extension_response,
    encode_string,
    raise_for_failure,
)
from .errors import SecretNotFound, SignetError, WrongSecretKind

EXT_GET_SECRET = "get-secret@signet"
API_KEY = "encord-api-key"
BEARER = "encord-bearer"
#: The last `encord` release with API-key clients (`EncordClient.initialise`).
LAST_API_KEY_RELEASE = "0.1.145"


class Secret(NamedTuple):
    """A released secret. `value` is the secret itself: do not log or store it."""

    name: str
    kind: str
    resource: str
    scopes: Tuple[str, ...]
    title: str
    fingerprint: str
    expires_at: int
    rule: str
    value: str

    def __repr__(self) -> str:  # never the value
        return "Secret(name=%r, kind=%r, resource=%r, fingerprint=%r)" % (
            self.name,
            self.kind,
            self.resource,
            self.fingerprint,
        )

    __str__ = __repr__


def encode_get_secret(name: str) -> bytes:
    """Body of a `get-secret@signet` request."""
    return bytes([SSH_AGENTC_EXTENSION]) + encode_string(EXT_GET_SECRET) + encode_string(name)


def decode_released(reply: bytes) -> Secret:
    """A `get-secret@signet` success reply (see docs/protocol.md#secrets)."""
    r = _expect_extension_response(reply, EXT_GET_SECRET)
    name = r.text()
    kind = r.text()
    resource = r.text()
    scopes = tuple(r.text() for _ in range(r.uint32()))
    title = r.text()
    fingerprint = r.text()
    r.text()  # created_at
    expires_at = r.uint64()
    r.text()  # store
    r.text()  # state
    rule = r.text()
    value = r.text()
    r.end()
    return Secret(name, kind, resource, scopes, title, fingerprint, expires_at, rule, value)


def get_secret(name: str, *, socket: Optional[str] = None) -> Secret:
    """The stored secret `name`, if its rule releases it to this process.

    Raises `SecretNotFound` (no such secret), `AgentLocked`, `AgentRefused` (the
    rule, an expired secret, no rule and not an admin: the reason says which and
    what to do), `AgentNotRunning`.
    """
    agent = AgentClient(socket)
    try:
        agent.ping()
        reply = agent.call(encode_get_secret(name))
    finally:
        agent.close()
    if reply and reply[0] == SSH_AGENT_EXTENSION_FAILURE:
        r = Reader(reply)
        r.byte()
        if r.uint32() == FAIL_NO_SUCH_KEY:
            raise SecretNotFound(name, r.text())
    raise_for_failure(reply)
    return decode_released(reply)


def _of_kind(secret: Secret, kind: str, other: str) -> Secret:
    if secret.kind != kind:
        raise WrongSecretKind(secret.name, secret.kind, kind, other)
    return secret


def resource_client(
    name: str, *, socket: Optional[str] = None, domain: Optional[str] = None, **kwargs: Any
):
    """The SDK's `EncordClient` for the project or dataset of the API key stored as `name`.

    `EncordClient.initialise(resource_id, api_key)`, which exists up to encord
    0.1.145; with a newer SDK this raises `SignetError` naming the installed
    release. `domain` defaults to `$ENCORD_DOMAIN`, else the SDK's. Other keyword
    arguments (`requests_settings`) go to `initialise`.
    """
    import encord
    from encord.client import EncordClient

    initialise = getattr(EncordClient, "initialise", None)
    if initialise is None:
        raise SignetError(
            "encord %s has no API-key clients (EncordClient.initialise was removed after %s): "
            "install encord<=%s for resource API keys, or use a bearer token "
            "(signet secret mint-bearer, signet_encord.bearer_client) or an agent key "
            "(signet_encord.user_client)"
            % (getattr(encord, "__version__", "?"), LAST_API_KEY_RELEASE, LAST_API_KEY_RELEASE)
        )
    secret = _of_kind(get_secret(name, socket=socket), API_KEY, "bearer_client")
    if domain is None:
        domain = os.environ.get("ENCORD_DOMAIN") or None
    if domain is not None:
        kwargs["domain"] = domain
    try:
        return initialise(secret.resource, secret.value, **kwargs)
    except Exception as e:
        # The SDK puts the key into some of its messages
        # ("API key [<key>] is not associated with a project or dataset").
        _reraise_without(e, secret.value)
        raise


def bearer_client(
    name: str, *, socket: Optional[str] = None, domain: Optional[str] = None, **kwargs: Any
):
    """`EncordUserClient.create_with_bearer_token(token)` with the bearer token stored as `name`.

    `domain` defaults to `$ENCORD_DOMAIN`, else the SDK's; other keyword
    arguments (`requests_settings`, `user_agent_suffix`) go to the SDK.
    """
    from encord.user_client import EncordUserClient

    secret = _of_kind(get_secret(name, socket=socket), BEARER, "resource_client")
    if domain is None:
        domain = os.environ.get("ENCORD_DOMAIN") or None
    if domain is not None:
        kwargs["domain"] = domain
    try:
        return EncordUserClient.create_with_bearer_token(secret.value, **kwargs)
    except Exception as e:
        _reraise_without(e, secret.value)
        raise


def _reraise_without(e: BaseException, value: str) -> None:
    """Raise a `SignetError` in place of an SDK error whose message holds the secret."""
    text = str(e)
    if value and value in text:
        raise SignetError("%s: %s" % (type(e).__name__, text.replace(value, "[secret redacted]"))) from None
