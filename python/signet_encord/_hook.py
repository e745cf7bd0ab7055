"""The import hook, as part of the package: see the top-level module `_signet_encord_hook`.

It lives outside the package so that interpreter start-up (the `.pth` file)
imports one small module and not this package.
"""

from _signet_encord_hook import ENV, TARGET, enabled, hook_status, install, install_hook

__all__ = ["ENV", "TARGET", "enabled", "hook_status", "install", "install_hook"]
