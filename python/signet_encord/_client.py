"""`user_client()`: an `EncordUserClient` signed by the agent, built as the SDK builds its own."""

import os
from typing import Any, Optional

from encord.configs import ENCORD_DOMAIN, UserConfig
from encord.http.querier import Querier
from encord.user_client import EncordUserClient

from .config import SignetConfig

_KEY_ARGS = ("ssh_private_key", "ssh_private_key_path", "password")


def user_client(
    key: Optional[str] = None,
    *,
    socket: Optional[str] = None,
    domain: Optional[str] = None,
    **kwargs: Any
) -> EncordUserClient:
    """Return an `EncordUserClient` whose requests are signed by the signet agent.

    Args:
        key: which agent key: name/comment, key id hex, "SHA256:..." fingerprint, or a
            reference (`signet:NAME`, an `ssh-ed25519 AAAA…` line). None = `$SIGNET_KEY`
            (set by `signet exec --key`), else the only loaded key.
        socket: agent socket path; default `$SIGNET_AUTH_SOCK`, `$XDG_RUNTIME_DIR/signet/agent.sock`,
            `$XDG_STATE_HOME/signet/run/agent.<host>.sock`.
        domain: Encord API base URL; default `$ENCORD_DOMAIN` (as encord-agents reads it),
            else the SDK's `https://api.encord.com`.
        **kwargs: `requests_settings`, `user_agent_suffix`, as for `create_with_ssh_private_key`.

    Connects, checks the agent's protocol version and resolves the key at once
    (raises `AgentNotRunning`, `ProtocolMismatch`, `KeyNotLoaded`, `AgentLocked`,
    or `AgentRefused` when several keys are loaded and none is named). It builds
    the client exactly as `EncordUserClient.create_with_ssh_private_key` does,
    with `SignetConfig` in place of `SshConfig`.
    """
    bad = [k for k in _KEY_ARGS if k in kwargs]
    if bad:
        raise TypeError("signet_encord.user_client never takes a private key (got %s)" % ", ".join(bad))
    if key is None:
        key = os.environ.get("SIGNET_KEY") or None
    if domain is None:
        domain = os.environ.get("ENCORD_DOMAIN") or ENCORD_DOMAIN
    config = SignetConfig(key=key, socket=socket, domain=domain, **kwargs)
    config.agent.ping()
    config.resolve()
    user_config = UserConfig(config)
    querier = Querier(user_config)
    return EncordUserClient(user_config, querier)
