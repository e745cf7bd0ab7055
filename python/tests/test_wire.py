"""Encoding/decoding of the signet wire format, checked against hand-built bytes."""

import struct

import pytest

from signet_encord import agent as A
from signet_encord.errors import AgentLocked, AgentRefused, KeyNotLoaded, ProtocolMismatch


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


DIGEST = bytes(range(32))


def test_sign_request_bytes_exact():
    body = A.encode_sign_request("wörk", "encord-v2", "get", "/v2/public/x?a=%20", DIGEST)
    expected = (
        b"\x1b"
        + s("sign-request@signet")
        + s("wörk".encode("utf-8"))
        + s("encord-v2")
        + s("get")
        + s("/v2/public/x?a=%20")
        + s(DIGEST)
    )
    assert body == expected
    framed = A.frame(body)
    assert framed[:4] == struct.pack(">I", len(body)) and framed[4:] == body


def test_sign_request_empty_selector_and_digest_length():
    body = A.encode_sign_request(None, "encord-v1", "POST", "/public", DIGEST)
    assert s("sign-request@signet") + s(b"") + s("encord-v1") in body
    with pytest.raises(ValueError):
        A.encode_sign_request("", "encord-v1", "POST", "/", b"\x00" * 31)


def test_version_request_bytes_exact():
    assert A.encode_version_request() == b"\x1b" + s("version@signet") + b"\x00\x00\x00\x01"


def test_frame_limits():
    with pytest.raises(ValueError):
        A.frame(b"")
    with pytest.raises(ValueError):
        A.frame(b"x" * (256 * 1024 + 1))
    assert len(A.frame(b"x" * (256 * 1024))) == 256 * 1024 + 4


def _sign_reply(created, headers):
    out = b"\x1d" + s("sign-request@signet") + struct.pack(">Q", created) + struct.pack(">I", len(headers))
    for n, v in headers:
        out += s(n) + s(v)
    return out


def test_decode_sign_response_round_trip():
    headers = [("Content-Digest", "sha-256=:AA==:"), ("Signature-Input", 'encord-sig=("@method");created=1'), ("Signature", "encord-sig=:AA==:")]
    r = A.decode_sign_response(_sign_reply(1700000000, headers))
    assert r.created == 1700000000 and r.headers == headers
    r = A.decode_sign_response(_sign_reply(0, [("Authorization", "ab:cd")]))
    assert r == A.SignResponse(0, [("Authorization", "ab:cd")])
    big = 2**63 + 5
    assert A.decode_sign_response(_sign_reply(big, [])).created == big


@pytest.mark.parametrize(
    "body",
    [
        _sign_reply(1, [("A", "b")])[:-1],  # truncated
        _sign_reply(1, [("A", "b")]) + b"\x00",  # trailing byte
        b"\x1d" + s("version@signet") + struct.pack(">Q", 1) + struct.pack(">I", 0),  # wrong extension
        b"\x06",  # unexpected message type (SSH_AGENT_SUCCESS)
        b"",
        b"\x1d" + s("sign-request@signet") + struct.pack(">Q", 1) + struct.pack(">I", 1) + s(b"\xff") + s("v"),
    ],
)
def test_decode_sign_response_malformed(body):
    with pytest.raises(ProtocolMismatch):
        A.decode_sign_response(body)


def _fail(code, reason):
    return b"\x1c" + struct.pack(">I", code) + s(reason)


def test_failure_code_mapping():
    with pytest.raises(KeyNotLoaded) as e:
        A.decode_sign_response(_fail(1, "no key 'work'"), key="work")
    assert e.value.key == "work" and "signet list" in str(e.value) and "signet add" in str(e.value)
    assert "signet load" in str(e.value)
    with pytest.raises(AgentLocked) as e:
        A.decode_sign_response(_fail(2, "locked"))
    assert "signet unlock" in str(e.value)
    for code in (3, 4, 5, 6, 7):
        with pytest.raises(AgentRefused) as e:
            A.decode_sign_response(_fail(code, "reason %d" % code))
        assert e.value.reason == "reason %d" % code and e.value.code == code
    with pytest.raises(ProtocolMismatch):
        A.decode_sign_response(_fail(8, "v2 only"))
    with pytest.raises(AgentRefused) as e:
        A.decode_sign_response(b"\x05")
    assert e.value.reason


def test_decode_version_response():
    good = b"\x1d" + s("version@signet") + struct.pack(">I", 1) + s("0.1.0")
    assert A.decode_version_response(good) == A.VersionInfo(1, "0.1.0")
    for bad in (b"\x05", _fail(8, "too old"), _fail(6, "what"), good + b"x", b"\x1d" + s("version@signet")):
        with pytest.raises(ProtocolMismatch):
            A.decode_version_response(bad)


def test_default_socket_path(monkeypatch, tmp_path):
    import socket

    monkeypatch.setenv("SIGNET_AUTH_SOCK", "/x/explicit.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    assert A.default_socket_path() == "/x/explicit.sock"
    assert A.AgentClient("/given.sock").socket_path == "/given.sock"
    monkeypatch.delenv("SIGNET_AUTH_SOCK")
    assert A.default_socket_path() == "/run/user/7/signet/agent.sock"
    # Without XDG_RUNTIME_DIR: a directory under the user's home, never the shared temp dir.
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("HOME", "/home/u")
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setattr(socket, "gethostname", lambda: "ci 7/x")
    assert A.default_socket_path() == "/home/u/.local/state/signet/run/agent.ci_7_x.sock"
    monkeypatch.setenv("XDG_STATE_HOME", "/st")
    assert A.default_socket_path() == "/st/signet/run/agent.ci_7_x.sock"
    monkeypatch.setenv("XDG_STATE_HOME", "relative")  # ignored, as the XDG rule says
    monkeypatch.setenv("XDG_RUNTIME_DIR", "")
    assert A.default_socket_path() == "/home/u/.local/state/signet/run/agent.ci_7_x.sock"
    monkeypatch.setenv("HOME", "/home/" + "u" * 100)
    with pytest.raises(A.SignetError, match="over the 107-byte limit"):
        A.default_socket_path()
    monkeypatch.setenv("HOME", "")
    monkeypatch.delenv("XDG_STATE_HOME")
    with pytest.raises(A.SignetError, match="no socket path"):
        A.default_socket_path()
    assert A._host_label("") == "localhost" and A._host_label("..") == "localhost"
    assert len(A._host_label("h" * 100)) == 64
