"""Sign Encord SDK requests with keys held by the signet agent.

    import signet_encord
    client = signet_encord.user_client()   # instead of EncordUserClient.create_with_ssh_private_key(...)
"""

from typing import Any, Optional

from encord.configs import ENCORD_DOMAIN, UserConfig
from encord.http.querier import Querier
from encord.user_client import EncordUserClient

from .agent import AgentClient, default_socket_path
from .config import SignetConfig
from .errors import (
    AccessDenied,
    AgentLocked,
    AgentNotRunning,
    AgentRefused,
    KeyNotLoaded,
    ProtocolMismatch,
    SignetError,
    UnsafeSocketDir,
    UntrustedAgent,
)

__version__ = "0.1.0"

_KEY_ARGS = ("ssh_private_key", "ssh_private_key_path", "password")


def user_client(
    key: Optional[str] = None,
    socket: Optional[str] = None,
    domain: str = ENCORD_DOMAIN,
    **kwargs: Any
) -> EncordUserClient:
    """Return an `EncordUserClient` whose requests are signed by the signet agent.

    Args:
        key: key selector (name/comment, key id hex or "SHA256:..." fingerprint); None = the only loaded key.
        socket: agent socket path; default `$SIGNET_AUTH_SOCK`, `$XDG_RUNTIME_DIR/signet/agent.sock`,
            `$XDG_STATE_HOME/signet/run/agent.<host>.sock`.
        domain: Encord API base URL (as for `create_with_ssh_private_key`).
        **kwargs: `requests_settings`, `user_agent_suffix`, as for `create_with_ssh_private_key`.

    Connects and checks the agent's protocol version immediately (raises
    `AgentNotRunning` / `ProtocolMismatch`). It builds the client exactly as
    `EncordUserClient.create_with_ssh_private_key` does, with `SignetConfig`
    in place of `SshConfig`.
    """
    bad = [k for k in _KEY_ARGS if k in kwargs]
    if bad:
        raise TypeError("signet_encord.user_client never takes a private key (got %s)" % ", ".join(bad))
    config = SignetConfig(key=key, socket=socket, domain=domain, **kwargs)
    config.agent.ping()
    user_config = UserConfig(config)
    querier = Querier(user_config)
    return EncordUserClient(user_config, querier)


__all__ = [
    "user_client",
    "SignetConfig",
    "AgentClient",
    "default_socket_path",
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
