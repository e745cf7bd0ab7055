"""Exceptions raised by signet_encord. None of them ever carries key material."""

from typing import Optional


class SignetError(Exception):
    """Base class for every signet_encord error."""


class AgentNotRunning(SignetError):
    """No signet agent is listening on the socket."""

    def __init__(self, socket_path: str, detail: Optional[str] = None):
        self.socket_path = socket_path
        msg = "signet agent is not running (no agent listening at %s); run `signet start`" % socket_path
        if detail:
            msg += " (%s)" % detail
        super().__init__(msg)


class KeyNotLoaded(SignetError):
    """The requested key is not loaded in the agent."""

    def __init__(self, key: str, reason: str = ""):
        self.key = key
        self.reason = reason
        if key:
            msg = "key %r is not loaded in the signet agent" % key
        else:
            msg = "no key is loaded in the signet agent"
        msg += "; check `signet list`, then `signet add` / `signet load` it"
        if reason:
            msg += " (agent: %s)" % reason
        super().__init__(msg)


class AgentLocked(SignetError):
    """The agent is locked."""

    def __init__(self, reason: str = ""):
        self.reason = reason
        msg = "the signet agent is locked; run `signet unlock`"
        if reason:
            msg += " (agent: %s)" % reason
        super().__init__(msg)


class AgentRefused(SignetError):
    """The agent refused to sign; `reason` is the agent's explanation, `code` its failure code."""

    def __init__(self, reason: str, code: Optional[int] = None, hint: Optional[str] = None):
        self.reason = reason
        self.code = code
        msg = "the signet agent refused to sign: %s" % reason
        if hint:
            msg += "; " + hint
        super().__init__(msg)


class ProtocolMismatch(SignetError):
    """The peer is not a compatible signet agent (wrong protocol version or malformed reply)."""


class UntrustedAgent(SignetError):
    """The socket is served by another user (not this process's uid, not root): nothing was sent."""

    def __init__(self, socket_path: str, server_uid: int, own_uid: int):
        self.socket_path = socket_path
        self.server_uid = server_uid
        self.own_uid = own_uid
        super().__init__(
            "refusing to talk to %s: it is served by uid %d, not by you (uid %d) or root; it is not your agent "
            "and may be an attack (another user impersonating it to capture keys); nothing was sent. "
            "Point SIGNET_AUTH_SOCK at your own agent, or unset it and run `signet start`"
            % (socket_path, server_uid, own_uid)
        )


class UnsafeSocketDir(SignetError):
    """The default socket's directory fails the check signetd makes before it binds: nothing was connected to."""

    def __init__(self, socket_path: str, reason: str):
        self.socket_path = socket_path
        self.reason = reason
        super().__init__("refusing to connect to %s: %s" % (socket_path, reason))


class AccessDenied(SignetError):
    """This user may not use the agent: its allow-list or the socket's permissions refused it; `reason` says why."""

    def __init__(self, socket_path: str, reason: str):
        self.socket_path = socket_path
        self.reason = reason
        super().__init__(reason)


__all__ = [
    "SignetError",
    "AgentNotRunning",
    "KeyNotLoaded",
    "AgentLocked",
    "AgentRefused",
    "ProtocolMismatch",
    "UntrustedAgent",
    "UnsafeSocketDir",
    "AccessDenied",
]


class SecretNotFound(SignetError):
    """The agent stores no secret of this name."""

    def __init__(self, name: str, reason: str = ""):
        self.name = name
        super().__init__(
            reason
            or "no secret named %r is stored: `signet secret list` shows them; store one with `signet secret add`"
            % name
        )


class WrongSecretKind(SignetError):
    """The secret is not of the kind the caller needs (an API key where a bearer token was wanted, or the reverse)."""

    def __init__(self, name: str, kind: str, wanted: str, other: str):
        self.name = name
        self.kind = kind
        super().__init__(
            "secret %r is an %s, not an %s: use signet_encord.%s(%r) for it" % (name, kind, wanted, other, name)
        )
