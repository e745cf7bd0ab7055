"""The AgentClient hot path (one sendall, recv_into a reusable buffer, kernel timeouts) at its edges.

A scripted in-process server answers the version probe, then plays back chosen bytes.
"""

import hashlib
import os
import socket
import struct
import threading
import time

import pytest

from signet_encord import SignetError
from signet_encord.agent import (
    SCHEME_V2,
    AgentClient,
    _decode_sign_reply_fast,
    decode_sign_response,
    encode_sign_frame,
    encode_sign_request,
)
from signet_encord.errors import ProtocolMismatch

DIGEST = hashlib.sha256(b"{}").digest()


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def framed(body):
    return struct.pack(">I", len(body)) + body


VERSION_REPLY = framed(b"\x1d" + s("version@signet") + struct.pack(">I", 1) + s("0.1.0"))


def sign_reply(headers, created=1700000000):
    out = b"\x1d" + s("sign-request@signet") + struct.pack(">QI", created, len(headers))
    for n, v in headers:
        out += s(n) + s(v)
    return out


class Scripted:
    """Answers the version probe, then sends `replies[i]` (raw bytes, or None = stay silent) per request."""

    def __init__(self, tmp_path, replies):
        self.path = str(tmp_path / "scripted.sock")
        self.replies = list(replies)
        self.requests = []
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(1)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read_frame(self, conn):
        hdr = b""
        while len(hdr) < 4:
            c = conn.recv(4 - len(hdr))
            if not c:
                return None
            hdr += c
        n = struct.unpack(">I", hdr)[0]
        body = b""
        while len(body) < n:
            body += conn.recv(n - len(body))
        return body

    def _run(self):
        conn, _ = self.srv.accept()
        with conn:
            self._read_frame(conn)
            conn.sendall(VERSION_REPLY)
            for reply in self.replies:
                body = self._read_frame(conn)
                if body is None:
                    return
                self.requests.append(body)
                if reply is None:
                    time.sleep(2)
                    return
                for i in range(0, len(reply), 3000):  # in pieces, to exercise partial reads
                    conn.sendall(reply[i : i + 3000])
                    time.sleep(0.001)
            self._read_frame(conn)

    def close(self):
        self.srv.close()


def test_frame_is_length_plus_body_and_sent_in_one_piece():
    fr = encode_sign_frame("k", SCHEME_V2, "get", "/v2/public/x", DIGEST)
    assert fr[4:] == encode_sign_request("k", SCHEME_V2, "get", "/v2/public/x", DIGEST)
    assert struct.unpack(">I", fr[:4])[0] == len(fr) - 4
    with pytest.raises(ValueError):
        encode_sign_frame("k", SCHEME_V2, "GET", "/" + "a" * (256 * 1024), DIGEST)


def test_fast_decoder_agrees_with_checked_decoder_and_rejects_malformed():
    body = sign_reply([("Content-Digest", "a"), ("Signature-Input", "b\u00fc"), ("Signature", "c")])
    fast = _decode_sign_reply_fast(body)
    assert fast is not None and fast == decode_sign_response(body)
    for bad in (body[:-1], body + b"x", body[:30], body[:-3] + b"\xff\xfe\xfd"):
        assert _decode_sign_reply_fast(bad) is None
        with pytest.raises(ProtocolMismatch):
            decode_sign_response(bad)


def test_long_reply_in_pieces_grows_the_buffer(tmp_path):
    big = "x" * 20000
    reply = framed(sign_reply([("Content-Digest", big), ("Signature-Input", "i"), ("Signature", "s")]))
    server = Scripted(tmp_path, [reply, framed(sign_reply([("Signature", "small")]))])
    try:
        with AgentClient(server.path) as c:
            res = c.sign_request(SCHEME_V2, "GET", "/x", DIGEST)
            assert res.headers[0] == ("Content-Digest", big) and res.created == 1700000000
            assert c.sign_request(SCHEME_V2, "GET", "/y", DIGEST).headers == [("Signature", "small")]
    finally:
        server.close()


def test_extra_bytes_after_a_reply_are_a_protocol_error(tmp_path):
    reply = framed(sign_reply([("Signature", "s")]))
    server = Scripted(tmp_path, [reply + framed(b"\x06")])
    try:
        with AgentClient(server.path) as c:
            with pytest.raises(ProtocolMismatch):
                c.sign_request(SCHEME_V2, "GET", "/x", DIGEST)
            assert c._sock is None  # dropped: never read a stale reply as the next answer
    finally:
        server.close()


def test_silent_agent_times_out(tmp_path):
    server = Scripted(tmp_path, [None])
    try:
        with AgentClient(server.path, timeout=0.3) as c:
            t0 = time.monotonic()
            with pytest.raises(SignetError) as e:
                c.sign_request(SCHEME_V2, "GET", "/x", DIGEST)
            assert 0.2 <= time.monotonic() - t0 < 1.5
            assert "timed out" in str(e.value)
            assert c._sock is None
    finally:
        server.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_detection_without_getpid(tmp_path):
    import signet_encord.agent as A

    server = Scripted(tmp_path, [framed(sign_reply([("Signature", "s")]))])
    try:
        with AgentClient(server.path) as c:
            c.ping()
            gen = A._fork_generation
            pid = os.fork()
            if pid == 0:
                os._exit(0 if A._fork_generation == gen + 1 else 1)
            _, status = os.waitpid(pid, 0)
            assert os.WEXITSTATUS(status) == 0
            assert c.sign_request(SCHEME_V2, "GET", "/x", DIGEST).headers == [("Signature", "s")]
    finally:
        server.close()
