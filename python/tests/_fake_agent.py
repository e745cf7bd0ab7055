"""A tiny in-process signet agent for tests, written independently of signet_encord.agent.

It speaks the sign-request@signet / version@signet wire format and signs with
`cryptography`'s Ed25519, building the Encord v1/v2 signature bases itself.
"""

import base64
import hashlib
import os
import socket
import struct
import tempfile
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def _s(b) -> bytes:
    if isinstance(b, str):
        b = b.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def v2_signature_params(created: int, key_id: str) -> str:
    return '("@method" "@request-target" "content-digest");created=%d;keyid="%s";alg="ed25519"' % (created, key_id)


def v2_content_digest(body_sha256: bytes) -> str:
    return "sha-256=:" + base64.b64encode(body_sha256).decode("ascii") + ":"


def v2_signature_base(method: str, target: str, body_sha256: bytes, created: int, key_id: str) -> bytes:
    lines = [
        '"@method": ' + method.upper(),
        '"@request-target": ' + target,
        '"content-digest": ' + v2_content_digest(body_sha256),
        '"@signature-params": ' + v2_signature_params(created, key_id),
    ]
    return "\n".join(lines).encode("utf-8")


class FakeKey:
    def __init__(self, name: str, seed: bytes):
        self.name = name
        self.private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = self.public.hex()
        blob = _s("ssh-ed25519") + _s(self.public)
        self.blob = blob
        self.fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")

    def matches(self, selector: str) -> bool:
        return selector in (self.name, self.key_id, self.fingerprint)


class _Bad(Exception):
    pass


class _R:
    def __init__(self, data: bytes):
        self.d, self.p = data, 0

    def take(self, n):
        if self.p + n > len(self.d):
            raise _Bad("truncated")
        out = self.d[self.p : self.p + n]
        self.p += n
        return out

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def s(self):
        return self.take(self.u32())


class FakeAgent:
    """Threaded Unix-socket agent. Knobs: keys, clock, protocol_version, locked, fail, not_signet, drop_after_reply."""

    def __init__(self, keys: List[FakeKey], path: Optional[str] = None, clock: Optional[Callable[[], int]] = None):
        self.keys = keys
        self._tmp = None
        if path is None:
            self._tmp = tempfile.mkdtemp(prefix="signet-fake-")
            path = os.path.join(self._tmp, "agent.sock")
        self.path = path
        self.clock = clock or (lambda: int(time.time()))
        self.protocol_version = 1
        self.agent_version = "fake-0.0.0"
        self.locked = False
        self.fail = None  # type: Optional[Tuple[int, str]]
        self.bare_failure = False
        self.not_signet = False
        self.drop_after_reply = False
        self.connections = 0
        self.version_probes = 0
        self.lists = 0
        self.requests = []  # type: List[Dict[str, object]]
        self.sign_delay = 0.0
        self._lock = threading.Lock()
        self._srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._srv.bind(path)
        self._srv.listen(16)
        self._closing = False
        self._conns = []  # type: List[socket.socket]
        self._threads = []  # type: List[threading.Thread]
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)

    # ---- lifecycle
    def close(self):
        self._closing = True
        try:
            self._srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._srv.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:  # like a dying agent: live connections go too
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except OSError:
            pass
        if self._tmp:
            try:
                os.rmdir(self._tmp)
            except OSError:
                pass

    def _accept_loop(self):
        while not self._closing:
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()

    @staticmethod
    def _recv(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def _serve(self, conn):
        with conn:
            while True:
                hdr = self._recv(conn, 4)
                if hdr is None:
                    return
                n = struct.unpack(">I", hdr)[0]
                if n == 0 or n > 256 * 1024:
                    return
                body = self._recv(conn, n)
                if body is None:
                    return
                reply = self.handle(body)
                conn.sendall(struct.pack(">I", len(reply)) + reply)
                if self.drop_after_reply and not body[5:].startswith(b"version@signet"):
                    return

    # ---- protocol
    @staticmethod
    def ext_failure(code: int, reason: str) -> bytes:
        return bytes([28]) + struct.pack(">I", code) + _s(reason)

    def handle(self, body: bytes) -> bytes:
        try:
            r = _R(body)
            if r.take(1)[0] != 27:
                return bytes([5])
            ext = r.s().decode()
            if ext == "version@signet":
                with self._lock:
                    self.version_probes += 1
                r.u32()
                if r.p != len(body):
                    raise _Bad("trailing")
                if self.not_signet:
                    return bytes([5])
                return bytes([29]) + _s("version@signet") + struct.pack(">I", self.protocol_version) + _s(
                    self.agent_version
                )
            if ext == "list@signet" and not self.not_signet:
                with self._lock:
                    self.lists += 1
                if r.p != len(body):
                    raise _Bad("trailing")
                keys = [] if self.locked else self.keys
                out = bytes([29]) + _s("list@signet") + struct.pack(">I", len(keys))
                for k in keys:  # blob, name, no lifetime, no confirm, source
                    out += _s(k.blob) + _s(k.name) + b"\x00\x00" + _s("agent")
                for _k in keys:
                    out += _s("")  # policy lines
                return out
            if ext == "status@signet" and not self.not_signet:
                n = 0 if self.locked else len(self.keys)
                return (
                    bytes([29]) + _s("status@signet") + struct.pack(">I", self.protocol_version) + _s(self.agent_version)
                    + struct.pack(">IBIQ", os.getpid(), int(self.locked), n, 1) + _s(self.path)
                )
            if ext != "sign-request@signet" or self.not_signet:
                return bytes([5])
            selector = r.s().decode("utf-8")
            scheme = r.s().decode()
            method = r.s().decode()
            target = r.s().decode("utf-8")
            digest = r.s()
            if r.p != len(body) or len(digest) != 32:
                raise _Bad("bad sign request")
        except (_Bad, UnicodeDecodeError):
            return self.ext_failure(4, "malformed request")
        with self._lock:
            self.requests.append(
                {"key": selector, "scheme": scheme, "method": method, "target": target, "digest": digest}
            )
        if self.sign_delay:
            time.sleep(self.sign_delay)
        if self.bare_failure:
            return bytes([5])
        if self.fail is not None:
            return self.ext_failure(*self.fail)
        if self.locked:
            return self.ext_failure(2, "agent is locked")
        if selector:
            found = [k for k in self.keys if k.matches(selector)]
            if not found:
                return self.ext_failure(1, "no key matches %r" % selector)
        else:
            found = self.keys
            if not found:
                return self.ext_failure(1, "no keys loaded")
            if len(found) > 1:
                return self.ext_failure(5, "%d keys loaded; name one" % len(found))
        key = found[0]
        if scheme == "encord-v1":
            created = 0
            sig = key.private.sign(digest)
            headers = [("Authorization", "%s:%s" % (key.key_id, sig.hex()))]
        elif scheme == "encord-v2":
            created = int(self.clock())
            base = v2_signature_base(method, target, digest, created, key.key_id)
            sig = key.private.sign(base)
            headers = [
                ("Content-Digest", v2_content_digest(digest)),
                ("Signature-Input", "encord-sig=" + v2_signature_params(created, key.key_id)),
                ("Signature", "encord-sig=:" + base64.b64encode(sig).decode() + ":"),
            ]
        else:
            return self.ext_failure(6, "unsupported scheme %r" % scheme)
        out = bytes([29]) + _s("sign-request@signet") + struct.pack(">Q", created) + struct.pack(">I", len(headers))
        for name, value in headers:
            out += _s(name) + _s(value)
        return out
