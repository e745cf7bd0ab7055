"""An encord `Config` whose request signatures come from the signet agent.

`EncordUserClient.create_with_ssh_private_key` builds `SshConfig` (wrapped in
`UserConfig`). `SignetConfig` stands in for `SshConfig`: it derives from
`encord.configs.Config`, SshConfig's own base (SshConfig's constructor demands
an Ed25519PrivateKey, which this class never has), and reproduces
`SshConfig.define_headers` / `define_headers_v2` header for header, with the
signature headers supplied by the agent.
"""

import hashlib
from typing import Any, Dict, Optional, Union
from urllib.parse import urlsplit

from encord.configs import ENCORD_DOMAIN, Config
from encord.http.common import HEADER_CLOUD_TRACE_CONTEXT, HEADER_USER_AGENT
from encord.http.constants import DEFAULT_REQUESTS_SETTINGS, RequestsSettings
from requests import PreparedRequest

from .agent import SCHEME_V1, SCHEME_V2, AgentClient
from .errors import ProtocolMismatch

_V1_REQUIRED = ("Authorization",)
_V2_REQUIRED = ("Content-Digest", "Signature-Input", "Signature")


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
        key: key selector (name/comment, key id hex or "SHA256:..." fingerprint); None/"" = the only loaded key.
        socket: agent socket path (default: see `signet_encord.agent.default_socket_path`).
        domain: Encord API base URL, as for `SshConfig`.
        requests_settings, user_agent_suffix: as for `SshConfig`.
        agent: an existing `AgentClient` to use instead of `socket`.
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
        self.key = key or ""
        self.agent = agent if agent is not None else AgentClient(socket)
        kwargs = {}  # type: Dict[str, Any]
        if user_agent_suffix is not None:
            kwargs["user_agent_suffix"] = user_agent_suffix
        super().__init__(domain=domain, requests_settings=requests_settings, **kwargs)
        self._v1_target = ("", "/")  # (endpoint, its path), recomputed if `endpoint` changes

    def define_headers(self, resource_id: Optional[str], resource_type: Optional[str], data: str) -> Dict[str, Any]:
        """v1 headers, as `SshConfig.define_headers`: Authorization = agent's sign of SHA-256(data UTF-8)."""
        body = data.encode() if isinstance(data, str) else bytes(data)  # type: Union[bytes, Any]
        # v1 covers only the body; method and target are sent for the agent's policy/log.
        if self._v1_target[0] != self.endpoint:
            self._v1_target = (self.endpoint, urlsplit(self.endpoint).path or "/")
        signed = self.agent.sign_request(
            SCHEME_V1, "POST", self._v1_target[1], hashlib.sha256(body).digest(), key=self.key
        )
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
        assert request.method is not None
        request.headers[HEADER_USER_AGENT] = self._user_agent()
        request.headers[HEADER_CLOUD_TRACE_CONTEXT] = self._tracing_id()
        digest = hashlib.sha256(request_body_bytes(request)).digest()
        signed = self.agent.sign_request(SCHEME_V2, request.method, request.path_url, digest, key=self.key)
        _check(signed.headers, _V2_REQUIRED)
        for name, value in signed.headers:
            request.headers[name] = value
        return request
