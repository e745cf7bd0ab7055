#!/usr/bin/env python3
"""Generate golden Encord request-signing vectors from the real `encord` SDK.

Every signature comes from the SDK's own code (`SshConfig.define_headers` for
v1, `SshConfig.define_headers_v2` -> `encord.http.v2.request_signer.sign_request`
for v2). The exact bytes handed to `Ed25519PrivateKey.sign` are captured with a
recording key proxy, and v2's `created` is pinned by patching the `datetime`
name that `request_signer` uses. Ed25519 is deterministic, so the output is
byte-for-byte reproducible.

Usage: python tools/make_vectors.py [OUTPUT]   (default: <repo>/tests/vectors/encord_vectors.json)
"""

import base64
import datetime as _dt
import hashlib
import json
import os
import sys
from typing import Any, Dict, List, Optional, Union

import encord
import encord.http.v2.request_signer as request_signer
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from encord.configs import ENCORD_PUBLIC_PATH, ENCORD_PUBLIC_USER_PATH, SshConfig
from encord.http.request import Request as EncordV1Request
from encord.http.query_methods import QueryMethods

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "tests", "vectors", "encord_vectors.json")

# 32-byte Ed25519 seeds. k_rfc1/k_rfc2 are RFC 8032 section 7.1 TEST 1/TEST 2.
SEEDS = {
    "k_rfc1": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "k_rfc2": "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "k_seq": "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
    "k_ff": "ff" * 32,
}

DOMAIN = "https://api.encord.com"
ONE_MIB = 1024 * 1024
V2_HEADERS = ("Content-Digest", "Signature-Input", "Signature")


class RecordingKey:
    """Ed25519 key proxy that records every message the SDK signs."""

    def __init__(self, key: Ed25519PrivateKey):
        self._key = key
        self.signed: List[bytes] = []

    def public_key(self):
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        self.signed.append(bytes(data))
        return self._key.sign(data)


class FixedDatetime(_dt.datetime):
    """`datetime` whose now() is pinned; replaces request_signer.datetime."""

    fixed: int = 0

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return _dt.datetime.fromtimestamp(cls.fixed, tz=_dt.timezone.utc)


def _config(seed_hex: str, domain: str = DOMAIN):
    rec = RecordingKey(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex)))
    cfg = SshConfig(rec, domain=domain)  # type: ignore[arg-type]
    return cfg, rec


def _pub_hex(seed_hex: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _sdk_v1_body(query_type: str, method: QueryMethods, uid: Any, payload: Any) -> str:
    """The exact `data` string encord's v1 Querier builds (encord/http/request.py)."""
    return EncordV1Request(method, query_type, uid, 180, 180, payload).data


def v1_vector(name: str, key: str, data: Union[str, bytes], endpoint_path: str, resource: Optional[tuple] = None):
    cfg, rec = _config(SEEDS[key])
    rtype, rid = resource or (None, None)
    headers = cfg.define_headers(resource_id=rid, resource_type=rtype, data=data)  # type: ignore[arg-type]
    assert len(rec.signed) == 1
    body = data.encode() if isinstance(data, str) else data
    # The v1 querier always POSTs the data string to config.endpoint (encord/http/querier.py).
    req = requests.Request(method="POST", url=cfg.domain + endpoint_path, headers=headers, data=data).prepare()
    return {
        "name": name,
        "key_name": key,
        "seed_hex": SEEDS[key],
        "public_key_hex": _pub_hex(SEEDS[key]),
        "key_id": cfg.public_key_hex,
        "scheme": "encord-v1",
        "method": "POST",
        "url": req.url,
        "request_target": req.path_url,
        "body_b64": _b64(body),
        "body_sha256_hex": hashlib.sha256(body).hexdigest(),
        "created": 0,
        "signature_base": _b64(rec.signed[0]),
        "signature_hex": headers["Authorization"].split(":", 1)[1],
        "headers": [["Authorization", headers["Authorization"]]],
    }


def v2_vector(
    name: str,
    key: str,
    method: str,
    url: str,
    created: int,
    *,
    params: Optional[Dict[str, Any]] = None,
    json_body: Any = None,
    data: Union[None, str, bytes] = None,
    method_override: Optional[str] = None,
    raw_body: Union[None, str, bytes] = None,
    domain: str = DOMAIN,
):
    cfg, rec = _config(SEEDS[key], domain=domain)
    req = requests.Request(method=method, url=url, params=params, json=json_body, data=data).prepare()
    if method_override is not None:
        req.method = method_override  # requests upper-cases; show the SDK's own .upper()
    if raw_body is not None:
        req.body = raw_body  # exercise the SDK's str->UTF-8 branch directly
    input_method = req.method
    FixedDatetime.fixed = created
    saved = request_signer.datetime
    request_signer.datetime = FixedDatetime  # type: ignore[misc]
    try:
        req = cfg.define_headers_v2(req)
    finally:
        request_signer.datetime = saved  # type: ignore[misc]
    assert len(rec.signed) == 1
    body = request_signer._request_body_bytes(req)
    sig_b64 = req.headers["Signature"][len("encord-sig=:") : -1]
    return {
        "name": name,
        "key_name": key,
        "seed_hex": SEEDS[key],
        "public_key_hex": _pub_hex(SEEDS[key]),
        "key_id": cfg.public_key_hex,
        "scheme": "encord-v2",
        "method": input_method,
        "url": req.url,
        "request_target": req.path_url,
        "body_b64": _b64(body),
        "body_sha256_hex": hashlib.sha256(body).hexdigest(),
        "created": created,
        "signature_base": _b64(rec.signed[0]),
        "signature_base_text": rec.signed[0].decode("utf-8"),
        "signature_hex": base64.b64decode(sig_b64).hex(),
        "headers": [[h, req.headers[h]] for h in V2_HEADERS],
    }


def build() -> Dict[str, Any]:
    small = {"title": "My project", "dataset_hashes": ["00000000-0000-0000-0000-000000000001"], "n": 3}
    unicode_obj = {"title": "Zürich ✓ 日本語 — ünïcødé", "emoji": "🚀", "tags": ["ä", "ß"]}
    unicode_utf8 = json.dumps(unicode_obj, ensure_ascii=False).encode("utf-8")
    pad = ONE_MIB - len(json.dumps({"pad": ""}))
    big_str = json.dumps({"pad": "x" * pad})
    assert len(big_str.encode()) == ONE_MIB
    big_bytes = bytes(range(256)) * (ONE_MIB // 256)

    v = []
    # ---- v1: Authorization = key_id ":" hex(Ed25519(SHA-256(data.encode()))) ----
    v.append(v1_vector("v1-empty-body", "k_rfc1", "", ENCORD_PUBLIC_USER_PATH))
    v.append(
        v1_vector(
            "v1-user-create-project",
            "k_rfc1",
            _sdk_v1_body("project", QueryMethods.POST, None, small),
            ENCORD_PUBLIC_USER_PATH,
        )
    )
    v.append(
        v1_vector(
            "v1-project-get",
            "k_rfc2",
            _sdk_v1_body("project", QueryMethods.GET, "0b5d7a0e-9d5c-4e0e-8a1b-1f0d3e5c2a11", None),
            ENCORD_PUBLIC_PATH,
            ("project", "0b5d7a0e-9d5c-4e0e-8a1b-1f0d3e5c2a11"),
        )
    )
    v.append(
        v1_vector(
            "v1-sdk-escaped-unicode",
            "k_seq",
            _sdk_v1_body("dataset", QueryMethods.PUT, "d1", unicode_obj),
            ENCORD_PUBLIC_PATH,
            ("dataset", "d1"),
        )
    )
    v.append(v1_vector("v1-raw-utf8-str", "k_seq", unicode_utf8.decode("utf-8"), ENCORD_PUBLIC_PATH))
    v.append(v1_vector("v1-1mib", "k_ff", big_str, ENCORD_PUBLIC_PATH))

    # ---- v2: RFC 9421 encord-sig ----
    api = DOMAIN + "/v2/public/"
    v.append(v2_vector("v2-get-no-body", "k_rfc1", "GET", api + "ontologies/8c5b6f0e", 1700000000))
    v.append(
        v2_vector(
            "v2-get-query",
            "k_rfc1",
            "GET",
            api + "projects",
            1700000001,
            params={"page_size": 100, "page_token": "abc=="},
        )
    )
    v.append(
        v2_vector(
            "v2-get-query-percent",
            "k_rfc2",
            "GET",
            api + "storage/folders/a%20b/items",
            1735689600,
            params={"search": "My Project/ü %&=?", "flag": "", "x": "~"},
        )
    )
    v.append(
        v2_vector(
            "v2-get-requote",
            "k_rfc2",
            "GET",
            api + "files/%7euser/a b?q=%7E&r=ü",
            1735689601,
        )
    )
    v.append(v2_vector("v2-empty-query-fragment", "k_rfc1", "GET", api + "projects?#frag", 1700000011))
    v.append(v2_vector("v2-root-path", "k_seq", "GET", "https://encord.example.internal:8443", 1234567890,
                       domain="https://encord.example.internal:8443"))
    v.append(v2_vector("v2-post-json", "k_rfc1", "POST", api + "datasets", 1700000002, json_body=small))
    v.append(
        v2_vector(
            "v2-post-json-query",
            "k_seq",
            "POST",
            api + "projects/p1/label-rows",
            1700000003,
            params={"include": "a,b", "limit": 5},
            json_body=[small, small],
        )
    )
    v.append(
        v2_vector(
            "v2-put-utf8-bytes", "k_rfc2", "PUT", api + "ontologies/o1", 1700000004, data=unicode_utf8
        )
    )
    v.append(
        v2_vector(
            "v2-patch-utf8-str",
            "k_rfc2",
            "PATCH",
            api + "ontologies/o1",
            1700000005,
            data=b"placeholder",
            raw_body=unicode_utf8.decode("utf-8"),
        )
    )
    v.append(v2_vector("v2-delete", "k_ff", "DELETE", api + "organisation/tags/t1", 1700000006))
    v.append(
        v2_vector(
            "v2-lowercase-method",
            "k_ff",
            "POST",
            api + "datasets",
            1700000007,
            json_body=small,
            method_override="post",
        )
    )
    v.append(
        v2_vector(
            "v2-lowercase-delete-query",
            "k_rfc1",
            "DELETE",
            api + "items",
            1700000008,
            params={"ids": "a b"},
            method_override="delete",
        )
    )
    v.append(v2_vector("v2-post-empty-json-body", "k_seq", "POST", api + "x", 1700000009, data=b""))
    v.append(v2_vector("v2-put-1mib", "k_ff", "PUT", api + "blobs/b1", 1700000010, data=big_bytes))

    return {
        "format": 1,
        "generator": "python/tools/make_vectors.py",
        "encord_version": encord.__version__,
        "notes": [
            "All signatures were produced by the encord SDK's own code; see python/SDK_NOTES.md.",
            "signature_base is base64 of the exact bytes passed to Ed25519 sign().",
            "v1: signature_base = SHA-256(body) raw 32 bytes; method/url/request_target/created are NOT covered.",
            "v2: signature_base_text is the same bytes as UTF-8 text; no trailing newline.",
            "method is as handed to the signer (lower-case where the SDK's .upper() is exercised).",
            "headers lists only the signing headers the SDK sets, in the order it sets them.",
        ],
        "vectors": v,
    }


def main(argv: List[str]) -> int:
    out = argv[1] if len(argv) > 1 else DEFAULT_OUT
    doc = build()
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %d vectors (encord %s) to %s" % (len(doc["vectors"]), doc["encord_version"], out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
