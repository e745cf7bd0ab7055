"""Sign Encord SDK requests with keys held by the signet agent.

    import signet_encord
    client = signet_encord.user_client()   # instead of EncordUserClient.create_with_ssh_private_key(...)

or, with no code change at all, give the SDK a key reference where it wants a
private key (`ENCORD_SSH_KEY=signet:NAME`, `ssh_private_key_path="~/.ssh/key.pub"`):
the import hook installed with this package (`signet_encord._hook`) turns it
into a `SignetConfig`.

Importing this package is cheap: `encord` is imported only when a name that
needs it (`user_client`, `SignetConfig`) is first used. The import hook's
`.pth` file imports this package at every interpreter start, so keep it so.
"""

from ._version import __version__

# name -> submodule that defines it, imported on first use (PEP 562)
_LAZY = {
    "user_client": "_client",
    "SignetConfig": "config",
    "AgentClient": "agent",
    "default_socket_path": "agent",
    "KeyReference": "references",
    "parse_reference": "references",
    "SignetError": "errors",
    "AgentNotRunning": "errors",
    "KeyNotLoaded": "errors",
    "AgentLocked": "errors",
    "AgentRefused": "errors",
    "ProtocolMismatch": "errors",
    "UntrustedAgent": "errors",
    "UnsafeSocketDir": "errors",
    "AccessDenied": "errors",
    "resource_client": "secrets",
    "bearer_client": "secrets",
    "get_secret": "secrets",
    "SecretNotFound": "errors",
    "WrongSecretKind": "errors",
    "install_hook": "_hook",
    "hook_status": "_hook",
}

__all__ = ["__version__"] + sorted(_LAZY)

TYPE_CHECKING = False
if TYPE_CHECKING:  # for type checkers and IDEs; never true at run time
    from ._client import user_client
    from ._hook import hook_status, install_hook
    from .agent import AgentClient, default_socket_path
    from .config import SignetConfig
    from .errors import (
        AccessDenied,
        AgentLocked,
        AgentNotRunning,
        AgentRefused,
        KeyNotLoaded,
        ProtocolMismatch,
        SecretNotFound,
        SignetError,
        UnsafeSocketDir,
        UntrustedAgent,
        WrongSecretKind,
    )
    from .references import KeyReference, parse_reference
    from .secrets import bearer_client, get_secret, resource_client


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module 'signet_encord' has no attribute %r" % name)
    import importlib

    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
