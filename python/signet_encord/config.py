"""An encord `Config` whose request signatures come from the signet agent.

`EncordUserClient.create_with_ssh_private_key` builds `SshConfig` (wrapped in
`UserConfig`). `SignetConfig` stands in for `SshConfig`: it derives from
`encord.configs.Config`, SshConfig's own base (SshConfig's constructor demands
an Ed25519PrivateKey, which this class never has), and reproduces
`SshConfig.define_headers` / `define_headers_v2` header for header, with the
signature headers supplied by the agent.

A config is bound to one key, as an `SshConfig` is: the selector is resolved
against the agent's key list once (at the first signature, or earlier through
`resolve()` / `public_key_hex`), and every signature after that asks for that
key by its key id. A key added later cannot change which key signs, and
`public_key_hex` always matches the `Authorization` / `keyid` the agent puts in
the headers.
"""

import hashlib
import sys
from typing import Any, Dict, Optional, Union
from urllib.parse import urlsplit

from encord.configs import ENCORD_DOMAIN, Config, UserConfig
from encord.http.common import HEADER_CLOUD_TRACE_CONTEXT, HEADER_USER_AGENT
from encord.http.constants import DEFAULT_REQUESTS_SETTINGS, RequestsSettings
from requests import PreparedRequest

from . import keys
from .agent import SCHEME_V1, SCHEME_V2, AgentClient
from .errors import KeyNotLoaded, ProtocolMismatch
from .references import parse_reference

_V1_REQUIRED = ("Authorization",)
_V2_REQUIRED = ("Content-Digest", "Signature-Input", "Signature")

# UserConfig.define_headers calls `self.config.define_headers(...)` and its Querier
# POSTs to UserConfig.endpoint ({domain}/public/user), not to this config's own
# endpoint ({domain}/public): recognising that caller lets the agent's policy and
# audit see the path the SDK really sends to.
_USER_DEFINE_HEADERS = getattr(getattr(UserConfig, "define_headers", None), "__code__", None)


def request_body_bytes(request: PreparedRequest) -> bytes:
    """The bytes the SDK's v2 signer hashes (encord/http/v2/request_signer.py `_request_body_bytes`)."""
    if isinstance(request.body, str):
        return request.body.encode("utf-8")
    elif isinstance(request.body, bytes):
        return request.body
    else:
        return b""


def _check(headers, required):
    if len(headers) == len(required) and all(h[0] == r for h, r in zip(headers, required)):
        return  # the usual reply: exactly the expected headers, in the SDK's order
    names = {name.lower() for name, _ in headers}
    missing = [h for h in required if h.lower() not in names]
    if missing:
        raise ProtocolMismatch("signet agent reply lacks header(s): %s" % ", ".join(missing))


class SignetConfig(Config):
    """Drop-in replacement for encord's `SshConfig` that signs through the signet agent.

    Args:
        key: which agent key: a name/comment, a key id (hex), a "SHA256:..." fingerprint,
            or a key reference (`signet:NAME`, an `ssh-ed25519 AAAA…` public key line);
            None/"" = the only loaded key.
        socket: agent socket path (default: see `signet_encord.agent.default_socket_path`).
        domain: Encord API base URL, as for `SshConfig`.
        requests_settings, user_agent_suffix: as for `SshConfig`.
        agent: an existing `AgentClient` to use instead of `socket`.

    Connects lazily: nothing is sent to the agent until the first signature or
    `resolve()` / `public_key_hex`.
    """

    def __init__(
        self,
        key: Optional[str] = None,
        socket: Optional[str] = None,
        domain: str = ENCORD_DOMAIN,
        requests_settings: RequestsSettings = DEFAULT_REQUESTS_SETTINGS,
        user_agent_suffix: Optional[str] = None,
        agent: Optional[AgentClient] = None,
    ):
        ref = parse_reference(key) if key else None
        if ref is not None:
            self.key = ref.selector
            self.key_label = ref.label
        else:
            self.key = (key or "").strip()
            self.key_label = self.key
        self._loaded = None  # type: Optional[keys.LoadedKey]
        self._sign_key = ""  # the key id once resolved
        self.agent = agent if agent is not None else AgentClient(socket)
        kwargs = {}  # type: Dict[str, Any]
        if user_agent_suffix is not None:
            kwargs["user_agent_suffix"] = user_agent_suffix
        super().__init__(domain=domain, requests_settings=requests_settings, **kwargs)
        self._v1_paths = {}  # type: Dict[str, str]  # endpoint URL -> its path

    # ------------------------------------------------------------ the key

    def resolve(self) -> keys.LoadedKey:
        """The agent key this config signs with (asked of the agent once, then fixed).

        Raises `AgentNotRunning`, `KeyNotLoaded`, `AgentLocked`, or `AgentRefused`
        (several keys loaded and none named; the message lists them).
        """
        loaded = self._loaded
        if loaded is None:
            loaded = keys.resolve(self.agent, self.key, self.key_label)
            self._loaded = loaded
            self._sign_key = loaded.key_id
        return loaded

    @property
    def public_key_hex(self) -> str:
        """Encord's key id, as `SshConfig.public_key_hex`: lowercase hex of the raw Ed25519 public key."""
        return self.resolve().key_id

    def _sign(self, scheme: str, method: str, target: str, digest: bytes):
        key = self._sign_key or self.resolve().key_id
        try:
            return self.agent.sign_request(scheme, method, target, digest, key=key)
        except KeyNotLoaded as e:  # removed since it was resolved: name it as the user did
            loaded = self._loaded
            label = self.key_label or (loaded.describe() if loaded is not None else key)
            raise KeyNotLoaded(label, e.reason) from None

    # ------------------------------------------------------------ SshConfig's two methods

    def _v1_path(self, endpoint: str) -> str:
        path = self._v1_paths.get(endpoint)
        if path is None:
            path = urlsplit(endpoint).path or "/"
            if len(self._v1_paths) < 8:
                self._v1_paths[endpoint] = path
        return path

    def define_headers(self, resource_id: Optional[str], resource_type: Optional[str], data: str) -> Dict[str, Any]:
        """v1 headers, as `SshConfig.define_headers`: Authorization = agent's sign of SHA-256(data UTF-8)."""
        body = data.encode() if isinstance(data, str) else bytes(data)  # type: Union[bytes, Any]
        # v1 covers only the body; method and target are sent for the agent's policy/log.
        endpoint = self.endpoint
        caller = sys._getframe(1)
        if caller.f_code is _USER_DEFINE_HEADERS:
            outer = caller.f_locals.get("self")
            if isinstance(outer, UserConfig):
                endpoint = outer.endpoint
        signed = self._sign(SCHEME_V1, "POST", self._v1_path(endpoint), hashlib.sha256(body).digest())
        _check(signed.headers, _V1_REQUIRED)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Accept-Encoding": "gzip",
            "ResourceType": resource_type or "",
            "ResourceID": resource_id or "",
        }  # type: Dict[str, Any]
        for name, value in signed.headers:
            headers[name] = value
        headers[HEADER_USER_AGENT] = self._user_agent()
        headers[HEADER_CLOUD_TRACE_CONTEXT] = self._tracing_id()
        return headers

    def define_headers_v2(self, request: PreparedRequest) -> PreparedRequest:
        """v2 headers, as `SshConfig.define_headers_v2`: User-Agent, trace id, then the agent's RFC 9421 headers."""
        if request.method is None:
            raise ValueError("cannot sign a request without a method")
        request.headers[HEADER_USER_AGENT] = self._user_agent()
        request.headers[HEADER_CLOUD_TRACE_CONTEXT] = self._tracing_id()
        digest = hashlib.sha256(request_body_bytes(request)).digest()
        signed = self._sign(SCHEME_V2, request.method, request.path_url, digest)
        _check(signed.headers, _V2_REQUIRED)
        for name, value in signed.headers:
            request.headers[name] = value
        return request
