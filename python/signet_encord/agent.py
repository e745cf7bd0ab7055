"""Client for the signet agent's `sign-request@signet` extension (stdlib only).

Framing is the SSH agent protocol: uint32 big-endian length, then the body;
body[0] is the message type; a `string` is uint32 length + bytes.
"""

import errno
import functools
import os
import socket
import struct
import sys
import threading
from typing import List, NamedTuple, Optional, Tuple

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

PROTOCOL_VERSION = 1
MAX_FRAME = 256 * 1024

SSH_AGENT_FAILURE = 5
SSH_AGENTC_EXTENSION = 27
SSH_AGENT_EXTENSION_FAILURE = 28
SSH_AGENT_EXTENSION_RESPONSE = 29

EXT_SIGN_REQUEST = "sign-request@signet"
EXT_VERSION = "version@signet"

SCHEME_V1 = "encord-v1"
SCHEME_V2 = "encord-v2"

# Failure codes carried by SSH_AGENT_EXTENSION_FAILURE.
FAIL_NO_SUCH_KEY = 1
FAIL_LOCKED = 2
FAIL_REFUSED = 3
FAIL_BAD_REQUEST = 4
FAIL_AMBIGUOUS_KEY = 5
FAIL_UNSUPPORTED = 6
FAIL_INTERNAL = 7
FAIL_VERSION_MISMATCH = 8
FAIL_NOT_ALLOWED = 9  # this uid may not use the agent at all; the reason says why and whom to ask

DEFAULT_TIMEOUT = 120.0  # seconds; the agent may wait for a user confirmation


class SignResponse(NamedTuple):
    """Agent reply: `created` (Unix seconds, 0 for v1) and ordered (name, value) headers."""

    created: int
    headers: List[Tuple[str, str]]


class VersionInfo(NamedTuple):
    protocol_version: int
    agent_version: str


# The longest socket path the kernel accepts: sun_path less its NUL (108 bytes on Linux, 104 elsewhere).
MAX_SOCKET_PATH = 107 if sys.platform.startswith("linux") else 103


def _host_label(hostname: str) -> str:
    """The node name as it appears in the default socket's file name (crates/proto/src/paths.rs)."""
    label = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in hostname[:64])
    if not label or set(label) == {"."}:
        return "localhost"
    return label


def _default_location() -> str:
    """The default socket path without `$SIGNET_AUTH_SOCK`: the rule of crates/proto/src/paths.rs.

    `$XDG_RUNTIME_DIR/signet/agent.sock`, else `$XDG_STATE_HOME/signet/run/agent.<host>.sock`
    (`$XDG_STATE_HOME` defaulting to `$HOME/.local/state`, `$HOME` to the passwd entry when unset).
    Empty and relative values count as unset.
    """

    def usable(name: str) -> Optional[str]:
        v = os.environ.get(name)
        return v if v and v.startswith("/") else None

    xdg = usable("XDG_RUNTIME_DIR")
    if xdg:
        path = os.path.join(xdg, "signet", "agent.sock")
    else:
        state = usable("XDG_STATE_HOME")
        if state is None:
            home = os.environ.get("HOME")
            if home is None:
                try:
                    import pwd  # noqa: PLC0415 (Unix only)

                    home = pwd.getpwuid(os.getuid()).pw_dir
                except (ImportError, KeyError):
                    home = None
            if not home or not home.startswith("/"):
                raise SignetError(
                    "no socket path: none of SIGNET_AUTH_SOCK, XDG_RUNTIME_DIR, XDG_STATE_HOME and HOME is set "
                    "to an absolute path; set SIGNET_AUTH_SOCK (or HOME)"
                )
            state = os.path.join(home, ".local", "state")
        path = os.path.join(state, "signet", "run", "agent.%s.sock" % _host_label(socket.gethostname()))
    _check_len(path)
    return path


def _check_len(path: str) -> None:
    n = len(os.fsencode(path))
    if n > MAX_SOCKET_PATH:
        raise SignetError(
            "the socket path %s is %d bytes, over the %d-byte limit of a Unix socket address: set "
            "SIGNET_AUTH_SOCK (or socket=) to a shorter path in a directory only you can write" % (path, n, MAX_SOCKET_PATH)
        )


def default_socket_path() -> str:
    """`$SIGNET_AUTH_SOCK`, else `$XDG_RUNTIME_DIR/signet/agent.sock`, else
    `$XDG_STATE_HOME/signet/run/agent.<host>.sock` (`~/.local/state/signet/run/agent.<host>.sock`)."""
    env = os.environ.get("SIGNET_AUTH_SOCK")
    if env:
        return env
    return _default_location()


# ---------------------------------------------------------------- who serves the socket
#
# The rules of crates/proto/src/paths.rs (check_dir) and crates/client/src/trust.rs: before a byte is
# sent, the server's uid (SO_PEERCRED) must be this process's own or root, and the default socket's
# directory must pass the check signetd makes before it binds.

_MAX_LINKS = 40


class _Untrusted(Exception):
    """A socket directory problem: `message` (what is wrong) and `advice` (what to do)."""

    def __init__(self, message: str, advice: str, missing: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.advice = advice
        self.missing = missing


def _required(socket_dir: bool, uid: int) -> str:
    if socket_dir:
        return "the socket's directory must be owned by uid %d with no group or other permissions (mode 0700)" % uid
    return (
        "a directory above the socket's must be owned by uid %d or root, and sticky if group or others may write to it"
        % uid
    )


def _judge(path: str, st: os.stat_result, uid: int, socket_dir: bool) -> None:
    import stat  # noqa: PLC0415

    if not stat.S_ISDIR(st.st_mode):
        raise _Untrusted("%s is not a directory" % path, "fix the path, or choose another socket (socket= or SIGNET_AUTH_SOCK)")
    mode = stat.S_IMODE(st.st_mode)
    owner_ok = st.st_uid == uid if socket_dir else st.st_uid in (uid, 0)
    if socket_dir:
        mode_ok = mode & 0o077 == 0
    else:
        mode_ok = mode & 0o022 == 0 or mode & 0o1000 != 0
    if not owner_ok:
        if socket_dir:
            advice = (
                "another user may have created it to intercept the agent: remove %s (as root if need be) "
                "or choose another socket" % path
            )
        else:
            advice = (
                "the owner of %s could replace the socket: choose a socket path under a directory that only you "
                "or root can write" % path
            )
        raise _Untrusted("%s is owned by uid %d (mode %04o); %s" % (path, st.st_uid, mode, _required(socket_dir, uid)), advice)
    if not mode_ok:
        if socket_dir:
            advice = "`chmod 700 %s`, or remove it and let signetd create it" % path
        else:
            advice = (
                "others could replace the socket: `chmod go-w %s` (or `chmod +t` it), or choose a socket path under "
                "a directory only you can write" % path
            )
        raise _Untrusted("%s has mode %04o (owner uid %d); %s" % (path, mode, st.st_uid, _required(socket_dir, uid)), advice)


def _lstat(path: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        raise _Untrusted("%s does not exist" % path, "start the agent with `signet start`", missing=path) from None
    except OSError as e:
        raise _Untrusted("cannot inspect %s: %s" % (path, e.strerror), "fix the path, or choose another socket") from None


def _walk(path: str, uid: int, socket_dir: bool, links: List[int]) -> str:
    """Walks `path` from / with lstat (the rule of check_dir); returns it with links above it resolved."""
    import stat  # noqa: PLC0415

    parts = [p for p in path.split("/") if p not in ("", ".")]
    last = max((i for i, p in enumerate(parts) if p != ".."), default=-1)
    cur = "/"
    _judge(cur, _lstat(cur), uid, False)
    for i, name in enumerate(parts):
        if name == "..":
            cur = os.path.dirname(cur) or "/"
            continue
        final = socket_dir and i == last
        nxt = os.path.join(cur, name)
        st = _lstat(nxt)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(nxt)
            if final:
                raise _Untrusted(
                    "%s is a symbolic link (to %s, owned by uid %d); the socket's directory must be a real directory: "
                    "signet never follows a link there" % (nxt, target, st.st_uid),
                    "remove the link (`rm %s`) and let signetd create the directory, or choose another socket" % nxt,
                )
            if st.st_uid not in (uid, 0):
                raise _Untrusted(
                    "%s is a symbolic link owned by uid %d; a link on the way to the socket must be owned by uid %d or "
                    "root" % (nxt, st.st_uid, uid),
                    "another user may have planted it to intercept the agent: remove %s (as root if need be) or choose "
                    "another socket" % nxt,
                )
            links[0] += 1
            if links[0] > _MAX_LINKS:
                raise _Untrusted("too many symbolic links on the way to %s" % nxt, "fix the path, or choose another socket")
            cur = _walk(target if target.startswith("/") else os.path.join(cur, target), uid, False, links)
        else:
            _judge(nxt, st, uid, final)
            cur = nxt
    return cur


def _check_default_dir(socket_path: str) -> None:
    """At the default socket path, the directory must pass signetd's check before we connect."""
    directory = os.path.dirname(socket_path)
    if ".." in directory.split("/"):
        raise UnsafeSocketDir(socket_path, "a socket path must not contain `..`: give it without")
    try:
        _walk(directory, os.geteuid(), True, [0])
    except _Untrusted as e:
        if e.missing is not None:
            raise AgentNotRunning(socket_path, "%s does not exist" % e.missing) from None
        raise UnsafeSocketDir(socket_path, "%s: %s" % (e.message, e.advice)) from None


_UCRED = struct.Struct("3i")  # struct ucred {pid_t pid; uid_t uid; gid_t gid;} (Linux SO_PEERCRED)


def _server_uid(sock: socket.socket) -> int:
    """The uid of the process listening on the other end (SO_PEERCRED; LOCAL_PEERCRED on macOS and the BSDs)."""
    if hasattr(socket, "SO_PEERCRED"):
        _pid, uid, _gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
        return uid & 0xFFFFFFFF
    if hasattr(socket, "LOCAL_PEERCRED"):
        # struct xucred {u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16];}: 76 bytes
        data = sock.getsockopt(getattr(socket, "SOL_LOCAL", 0), socket.LOCAL_PEERCRED, 76)
        _version, uid = struct.unpack_from("=II", data)
        return uid
    raise SignetError("cannot tell who serves the signet agent's socket on this platform; refusing to use it")


def _verify_server(sock: socket.socket, socket_path: str) -> None:
    """Refuses (sending nothing) a socket served by anyone but this process's uid or root."""
    own = os.geteuid()
    uid = _server_uid(sock)
    if uid not in (own, 0):
        raise UntrustedAgent(socket_path, uid, own)


# ---------------------------------------------------------------- encoding


def encode_string(value) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return struct.pack(">I", len(value)) + bytes(value)


def frame(body: bytes) -> bytes:
    """Prefix a message body with its uint32 length."""
    if not body or len(body) > MAX_FRAME:
        raise ValueError("message body must be 1..%d bytes" % MAX_FRAME)
    return struct.pack(">I", len(body)) + body


_pack_u32 = struct.Struct(">I").pack
_unpack_u32 = struct.Struct(">I").unpack_from
_unpack_u64_u32 = struct.Struct(">QI").unpack_from
_DIGEST_LEN = _pack_u32(32)


@functools.lru_cache(maxsize=64)
def _sign_request_head(key: str, scheme: str) -> bytes:
    """The constant start of a sign-request body for one (key, scheme): encoded once, then reused."""
    return (
        bytes([SSH_AGENTC_EXTENSION]) + encode_string(EXT_SIGN_REQUEST) + encode_string(key) + encode_string(scheme)
    )


def encode_sign_frame(key: str, scheme: str, method: str, request_target: str, body_sha256: bytes) -> bytes:
    """A complete framed `sign-request@signet` message (uint32 length + body), ready for one sendall."""
    if len(body_sha256) != 32:
        raise ValueError("body_sha256 must be exactly 32 raw bytes")
    head = _sign_request_head(key or "", scheme)
    m = method.encode("utf-8")
    t = request_target.encode("utf-8")
    n = len(head) + len(m) + len(t) + 44  # 3 string lengths (12) + 32-byte digest
    if n > MAX_FRAME:
        raise ValueError("message body must be 1..%d bytes" % MAX_FRAME)
    return b"".join((_pack_u32(n), head, _pack_u32(len(m)), m, _pack_u32(len(t)), t, _DIGEST_LEN, bytes(body_sha256)))


def encode_sign_request(key: str, scheme: str, method: str, request_target: str, body_sha256: bytes) -> bytes:
    """Body of a `sign-request@signet` SSH_AGENTC_EXTENSION message."""
    return encode_sign_frame(key, scheme, method, request_target, body_sha256)[4:]


def encode_version_request(version: int = PROTOCOL_VERSION) -> bytes:
    """Body of a `version@signet` probe."""
    return bytes([SSH_AGENTC_EXTENSION]) + encode_string(EXT_VERSION) + struct.pack(">I", version)


class Reader:
    """Bounds-checked reader over a message body; malformed input raises ProtocolMismatch."""

    def __init__(self, data: bytes):
        self._data = data
        self._pos = 0

    def _take(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise ProtocolMismatch("truncated message from signet agent")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def byte(self) -> int:
        return self._take(1)[0]

    def uint32(self) -> int:
        return struct.unpack(">I", self._take(4))[0]

    def uint64(self) -> int:
        return struct.unpack(">Q", self._take(8))[0]

    def string(self) -> bytes:
        return self._take(self.uint32())

    def text(self) -> str:
        raw = self.string()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolMismatch("non-UTF-8 string in signet agent reply") from None

    def end(self) -> None:
        if self._pos != len(self._data):
            raise ProtocolMismatch("trailing bytes in signet agent reply")


def raise_for_failure(body: bytes, key: str = "") -> None:
    """Raise the exception for a failure reply; return if `body` is not a failure."""
    if not body:
        raise ProtocolMismatch("empty reply from signet agent")
    if body[0] == SSH_AGENT_FAILURE:
        raise AgentRefused("the agent returned a generic failure (SSH_AGENT_FAILURE)")
    if body[0] != SSH_AGENT_EXTENSION_FAILURE:
        return
    r = Reader(body)
    r.byte()
    code = r.uint32()
    reason = r.text()
    r.end()
    if code == FAIL_NO_SUCH_KEY:
        raise KeyNotLoaded(key, reason)
    if code == FAIL_LOCKED:
        raise AgentLocked(reason)
    if code == FAIL_VERSION_MISMATCH:
        raise ProtocolMismatch("signet agent reports a protocol version mismatch: %s" % reason)
    if code == FAIL_NOT_ALLOWED:
        raise AccessDenied("", reason)
    hint = None
    if code == FAIL_AMBIGUOUS_KEY:
        hint = 'name a key: signet_encord.user_client(key="<name>") or SignetConfig(key="<name>") (`signet list` shows them)'
    raise AgentRefused(reason or "failure code %d" % code, code, hint)


def _expect_extension_response(body: bytes, name: str) -> Reader:
    if body[0] != SSH_AGENT_EXTENSION_RESPONSE:
        raise ProtocolMismatch("unexpected message type %d from signet agent" % body[0])
    r = Reader(body)
    r.byte()
    if r.string() != name.encode():
        raise ProtocolMismatch("signet agent answered a different extension than %s" % name)
    return r


_SIGN_REPLY_HEAD = bytes([SSH_AGENT_EXTENSION_RESPONSE]) + encode_string(EXT_SIGN_REQUEST)


def _decode_sign_reply_fast(body: bytes) -> Optional[SignResponse]:
    """The common case, a well-formed success reply, decoded in one pass; None = use the checked decoder."""
    if not body.startswith(_SIGN_REPLY_HEAD):
        return None
    try:
        pos = len(_SIGN_REPLY_HEAD)
        created, count = _unpack_u64_u32(body, pos)
        pos += 12
        headers = []
        for _ in range(count):
            (ln,) = _unpack_u32(body, pos)
            end = pos + 4 + ln
            name = body[pos + 4 : end].decode("utf-8")
            (ln,) = _unpack_u32(body, end)
            pos = end + 4 + ln
            value = body[end + 4 : pos].decode("utf-8")
            headers.append((name, value))
        if pos != len(body):
            return None
    except (struct.error, UnicodeDecodeError):
        return None
    return SignResponse(created, headers)


def decode_sign_response(body: bytes, key: str = "") -> SignResponse:
    """Decode a `sign-request@signet` reply, raising the mapped exception on failure."""
    fast = _decode_sign_reply_fast(body)
    if fast is not None:
        return fast
    raise_for_failure(body, key)
    r = _expect_extension_response(body, EXT_SIGN_REQUEST)
    created = r.uint64()
    n = r.uint32()
    headers = []
    for _ in range(n):
        name = r.text()
        value = r.text()
        headers.append((name, value))
    r.end()
    return SignResponse(created, headers)


def decode_version_response(body: bytes) -> VersionInfo:
    """Decode a `version@signet` reply; any failure means the peer is not a compatible signet."""
    if not body or body[0] == SSH_AGENT_FAILURE:
        raise ProtocolMismatch("the agent does not understand version@signet; it is not a signet agent")
    if body[0] == SSH_AGENT_EXTENSION_FAILURE:
        r = Reader(body)
        r.byte()
        code = r.uint32()
        reason = r.text()
        if code == FAIL_NOT_ALLOWED:
            raise AccessDenied("", reason)
        raise ProtocolMismatch("signet agent rejected the version probe (code %d): %s" % (code, reason))
    r = _expect_extension_response(body, EXT_VERSION)
    proto = r.uint32()
    agent_version = r.text()
    r.end()
    return VersionInfo(proto, agent_version)


# ---------------------------------------------------------------- client


class _ConnectionLost(Exception):
    pass


class _Timeout(Exception):
    pass


# Bumped in every forked child, so a client notices a fork without a getpid() syscall per request.
_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_TIMEVAL = struct.Struct("@ll")  # struct timeval {time_t tv_sec; suseconds_t tv_usec} (padded on every LP64 ABI)


def _set_kernel_timeouts(sock: socket.socket, timeout: Optional[float]) -> bool:
    """Blocking socket + SO_RCVTIMEO/SO_SNDTIMEO: the kernel enforces the timeout, so each send/recv
    is one syscall (a Python-level timeout adds a poll() before every one). False = not available."""
    if timeout is None:
        sock.settimeout(None)
        return True
    if sys.platform == "win32" or not hasattr(socket, "SO_RCVTIMEO"):
        return False
    sec = int(timeout)
    usec = int((timeout - sec) * 1e6)
    if sec == 0 and usec == 0:
        usec = 1  # 0 would mean "no timeout"
    tv = _TIMEVAL.pack(sec, usec)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    except OSError:
        return False
    sock.settimeout(None)
    return True


class AgentClient:
    """One reusable, lock-protected connection to a signet agent.

    The connection is opened lazily, probed once with `version@signet`, reused
    for every call, and re-opened once if the agent dropped it. Hot path per
    signature: one `sendall` of a pre-framed message, normally one `recv_into`
    a preallocated buffer.
    """

    def __init__(self, socket_path: Optional[str] = None, timeout: Optional[float] = DEFAULT_TIMEOUT):
        self.socket_path = socket_path or default_socket_path()
        self.timeout = timeout
        try:  # the default location's directory is checked before each connect, as signetd checks it
            self._check_dir = hasattr(os, "geteuid") and self.socket_path == _default_location()
        except SignetError:
            self._check_dir = False
        self.version_info = None  # type: Optional[VersionInfo]
        self._lock = threading.Lock()
        self._sock = None  # type: Optional[socket.socket]
        self._generation = -1
        self._buf = bytearray(4096)  # grows up to MAX_FRAME + 4 for an unusually long reply
        self._view = memoryview(self._buf)

    # pickling/forking: never share a socket across processes
    def __getstate__(self):
        return {"socket_path": self.socket_path, "timeout": self.timeout}

    def __setstate__(self, state):
        self.__init__(state["socket_path"], state["timeout"])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def ping(self) -> VersionInfo:
        """Connect (if needed) and return the agent's version info."""
        with self._lock:
            self._ensure_connected()
            info = self.version_info
            if info is None:  # _ensure_connected sets it or raises
                raise ProtocolMismatch("the signet agent at %s gave no version" % self.socket_path)
            return info

    def sign_request(
        self, scheme: str, method: str, request_target: str, body_sha256: bytes, key: Optional[str] = None
    ) -> SignResponse:
        """Ask the agent to sign; returns its `created` and the headers to add."""
        key = key or ""
        reply = self._call_framed(encode_sign_frame(key, scheme, method, request_target, body_sha256))
        return decode_sign_response(reply, key)

    def call(self, body: bytes) -> bytes:
        """Send one request body and return the reply body (reconnecting once if the connection broke)."""
        return self._call_framed(frame(body))

    def _call_framed(self, framed: bytes) -> bytes:
        with self._lock:
            for attempt in (0, 1):
                fresh = self._ensure_connected()
                try:
                    return self._exchange(framed)
                except _ConnectionLost:
                    self._drop()
                    if fresh or attempt == 1:
                        raise SignetError("the signet agent at %s closed the connection" % self.socket_path)
            raise AssertionError("unreachable")

    # -- internals (called with the lock held)

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._generation = -1
        self.version_info = None

    def _ensure_connected(self) -> bool:
        """Connect and probe if needed; True if a new connection was made."""
        if self._sock is not None and self._generation == _fork_generation:
            return False
        if self._sock is not None:  # inherited across fork: the parent keeps using it
            try:
                self._sock.close()  # closes only this process's descriptor
            except OSError:
                pass
            self._sock = None
        if self._check_dir:
            _check_default_dir(self.socket_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # The kernel's timeouts before connect(2): a blocking connect waits in
        # the kernel, for at most the timeout, while the agent's listen queue
        # is full (many connections at once: another user flooding a system
        # agent with connections it refuses). With only a Python-level
        # timeout the socket is non-blocking and connect fails at once with
        # EAGAIN, so such a flood failed every job's call.
        if not _set_kernel_timeouts(sock, self.timeout):
            sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
            _verify_server(sock, self.socket_path)  # before a single byte is sent
        except (FileNotFoundError, ConnectionRefusedError) as e:
            sock.close()
            raise AgentNotRunning(self.socket_path) from e
        except PermissionError as e:
            sock.close()
            raise AccessDenied(
                self.socket_path,
                "permission denied connecting to %s: your user or groups are not allowed to use this socket; ask its "
                "owner (a system agent's operator adds users to `[system] allow_uids`/`allow_groups` and the socket's "
                "group, docs/service-accounts.md)" % self.socket_path,
            ) from e
        except OSError as e:
            sock.close()
            if e.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTDIR):
                raise AgentNotRunning(self.socket_path) from e
            if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise SignetError(
                    "cannot connect to the signet agent at %s: its queue of new connections stayed full for %ss "
                    "(many connections at once; another process may be flooding it)" % (self.socket_path, self.timeout)
                ) from e
            raise SignetError("cannot connect to the signet agent at %s: %s" % (self.socket_path, e.strerror)) from e
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._generation = _fork_generation
        try:
            info = decode_version_response(self._exchange(frame(encode_version_request(PROTOCOL_VERSION))))
        except _ConnectionLost:
            self._drop()
            raise ProtocolMismatch(
                "the agent at %s closed the connection on the version probe; it is not a signet agent"
                % self.socket_path
            ) from None
        except AccessDenied as e:
            self._drop()
            e.socket_path = self.socket_path
            raise
        except BaseException:
            self._drop()
            raise
        if info.protocol_version != PROTOCOL_VERSION:
            self._drop()
            raise ProtocolMismatch(
                "signet agent %s speaks protocol %d, this client speaks %d; upgrade the older side"
                % (info.agent_version, info.protocol_version, PROTOCOL_VERSION)
            )
        self.version_info = info
        return True

    def _exchange(self, framed: bytes) -> bytes:
        """Send one framed request; return the reply body."""
        sock = self._sock
        if sock is None:  # dropped (callers hold the lock, so only after an earlier failure)
            raise _ConnectionLost()
        try:
            sock.sendall(framed)
            view = self._view
            got = sock.recv_into(view)
            while got < 4:
                if got == 0 or not (n := sock.recv_into(view[got:])):
                    raise _ConnectionLost()
                got += n
            (length,) = _unpack_u32(view, 0)
            if length == 0 or length > MAX_FRAME:
                self._drop()
                raise ProtocolMismatch("invalid frame length %d from signet agent" % length)
            total = 4 + length
            if total > len(self._buf):
                self._grow(total, got)
                view = self._view
            while got < total:
                n = sock.recv_into(view[got:total])
                if not n:
                    raise _ConnectionLost()
                got += n
            if got != total:  # more than one reply: the agent broke the one-request-one-reply rule
                self._drop()
                raise ProtocolMismatch("signet agent sent data that answers no request")
            return bytes(view[4:total])
        except (socket.timeout, BlockingIOError):  # Python-level / kernel (SO_RCVTIMEO: EAGAIN) timeout
            self._drop()
            raise SignetError("timed out after %ss waiting for the signet agent" % self.timeout) from None
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            raise _ConnectionLost() from None

    def _grow(self, size: int, keep: int) -> None:
        """A larger buffer holding the first `keep` bytes already received."""
        buf = bytearray(max(size, 2 * len(self._buf)))
        buf[:keep] = self._view[:keep]
        self._buf = buf
        self._view = memoryview(buf)
