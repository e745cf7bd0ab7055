"""The import hook of signet-encord: key references work wherever the Encord SDK takes a private key.

`signet_encord.pth` (installed into site-packages by `pip install signet-encord`)
runs `install()` at every interpreter start. This is a top-level module, not
part of the `signet_encord` package, so that start-up imports exactly one small
module (python/tools/bench_startup.py measures it); `signet_encord._hook`
re-exports it. `install()` only puts a finder at
the front of `sys.meta_path`; it imports nothing. The finder ignores every
import except `encord.configs`; when that module has been executed, it wraps
`SshConfig.from_ssh_private_key` — the one function every SSH-key path of the
SDK goes through (`create_with_ssh_private_key` after it resolved
`ssh_private_key_path`, `ssh_private_key`, `ENCORD_SSH_KEY_FILE` and
`ENCORD_SSH_KEY`, and so encord-agents' `get_user_client`) — and removes itself.

The wrapper hands the SDK a `SignetConfig` when the key text is a reference
(`signet:…` or an `ssh-ed25519 AAAA…` public key line, see
`signet_encord.references`), keeping `requests_settings`, `domain` and
`user_agent_suffix`; any other text, including every private key, goes to the
original function untouched, so the SDK's own errors are unchanged.

Fail closed: if the SDK no longer has the function (or it is no longer a
static method), the hook warns once and changes nothing; the SDK then rejects
a reference itself, so nothing is sent unsigned or signed by another key.

`SIGNET_ENCORD_HOOK=0` (or `false`/`no`/`off`) turns the hook off; it is read
when the interpreter starts and again when `encord.configs` is imported.

This module must stay cheap to import: only `os` and `sys`, which every
interpreter has already loaded when `.pth` files run; everything else is
imported inside the functions that run once encord is being imported.
"""

import os
import sys

TARGET = "encord.configs"
ENV = "SIGNET_ENCORD_HOOK"
_MARK = "_signet_original"

_state = {"installed": False, "patched": False, "warned": False, "reason": "not installed"}


def enabled() -> bool:
    """False when `SIGNET_ENCORD_HOOK` is 0/false/no/off."""
    return os.environ.get(ENV, "").strip().lower() not in ("0", "false", "no", "off")


def hook_status() -> dict:
    """What the hook did in this process: `installed`, `patched` (bools) and `reason` (text)."""
    return dict(_state)


def install() -> bool:
    """Arrange for `SshConfig.from_ssh_private_key` to accept key references (idempotent).

    Returns False when the hook is turned off. Never raises: a hook that cannot
    work warns and leaves the SDK as it is.
    """
    if not enabled():
        _state["reason"] = "%s=%s" % (ENV, os.environ.get(ENV, ""))
        return False
    try:
        module = sys.modules.get(TARGET)
        if module is not None:
            _patch(module)
        elif not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
            _state["reason"] = "waiting for %s to be imported" % TARGET
        _state["installed"] = True
        return True
    except Exception as e:  # pragma: no cover - defensive: never break interpreter start-up
        _warn("signet_encord: the import hook could not be installed (%s); key references will not work" % e)
        return False


def install_hook() -> bool:
    """Public name of `install()`, for interpreters that did not run the `.pth` file."""
    return install()


class _Finder:
    """A meta-path finder that finds nothing itself; it wraps the loader of `encord.configs`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            _warn("signet_encord: cannot hook %s (loader %r); key references will not work" % (TARGET, spec.loader))
            self._remove()
            return spec
        spec.loader = _PatchingLoader(spec.loader, self)
        return spec

    def _remove(self) -> None:
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass


class _PatchingLoader:
    """Runs the real loader, then patches the module it made."""

    def __init__(self, loader, finder: _Finder):
        self._loader = loader
        self._finder = finder

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        spec = getattr(module, "__spec__", None)
        if spec is not None:  # the module's own spec/loader stay the real ones (inspect, reload)
            spec.loader = self._loader
        module.__loader__ = self._loader
        self._loader.exec_module(module)
        self._finder._remove()
        _patch(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _warn(message: str) -> None:
    if _state["warned"]:
        return
    _state["warned"] = True
    import warnings

    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _patch(configs) -> None:
    """Wrap `configs.SshConfig.from_ssh_private_key` (once); warn and change nothing if it is not there."""
    if not enabled():
        _state["reason"] = "%s=%s" % (ENV, os.environ.get(ENV, ""))
        return
    try:
        ssh_config = getattr(configs, "SshConfig", None)
        raw = getattr(ssh_config, "__dict__", {}).get("from_ssh_private_key")
        if ssh_config is None or not isinstance(raw, staticmethod) or not callable(raw.__func__):
            _state["reason"] = "encord.configs.SshConfig.from_ssh_private_key is missing or not a static method"
            _warn(
                "signet_encord: this encord version has no static SshConfig.from_ssh_private_key; "
                "key references (signet:NAME, public key lines) are NOT understood and the SDK will refuse them. "
                "Use signet_encord.user_client() instead, or an encord version the adapter supports."
            )
            return
        original = raw.__func__
        if getattr(original, _MARK, None) is not None:
            _state["patched"] = True
            return
        ssh_config.from_ssh_private_key = staticmethod(_wrap(original))
        _state["patched"] = True
        _state["reason"] = "SshConfig.from_ssh_private_key accepts key references"
    except Exception as e:
        _state["reason"] = "patch failed: %s" % e
        _warn("signet_encord: could not hook the Encord SDK (%s); key references will not work" % e)


def _wrap(original):
    import functools
    import inspect

    signature = inspect.signature(original)
    params = list(signature.parameters.values())
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        raise TypeError("unexpected signature %s" % signature)
    key_param = params[0].name
    var_kw = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)

    @functools.wraps(original)
    def from_ssh_private_key(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)  # the SDK's own error
        text = bound.arguments.get(key_param)
        from signet_encord.references import parse_reference

        if parse_reference(text) is None:
            return original(*args, **kwargs)
        bound.apply_defaults()
        options = {}
        for name, value in bound.arguments.items():
            if name == var_kw:
                options.update(value)
            elif name not in (key_param, "password"):  # a password means nothing for an agent key
                options[name] = value
        from signet_encord.config import SignetConfig

        config = SignetConfig(key=text, **options)
        config.resolve()  # fail here, as the SDK fails here for a bad key: nothing is sent
        return config

    setattr(from_ssh_private_key, _MARK, original)
    return from_ssh_private_key
