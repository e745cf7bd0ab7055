//! signet-proto's Encord signature bases and headers against vectors produced
//! by the real `encord` SDK's own signing code (`python/tools/make_vectors.py`),
//! byte for byte.

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest as _, Sha256};
use signet_proto::encord::{prepare, request_target, Scheme};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn field<'a>(v: &'a serde_json::Value, name: &str) -> Result<&'a str, String> {
    v[name]
        .as_str()
        .ok_or_else(|| format!("vector field {name} missing"))
}

#[test]
fn every_vector_matches_the_sdk_byte_for_byte() -> TestResult {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/encord_vectors.json"
    );
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let vectors = doc["vectors"].as_array().ok_or("no vectors")?;
    assert!(vectors.len() >= 10, "too few vectors: {}", vectors.len());
    let b64 = base64::engine::general_purpose::STANDARD;
    let (mut v1, mut v2) = (0, 0);
    for v in vectors {
        let name = field(v, "name")?;
        let seed: [u8; 32] = hex::decode(field(v, "seed_hex")?)?
            .try_into()
            .map_err(|_| "seed length")?;
        let key = SigningKey::from_bytes(&seed);
        let public = key.verifying_key().to_bytes();
        assert_eq!(hex::encode(public), field(v, "public_key_hex")?, "{name}");

        let body = b64.decode(field(v, "body_b64")?)?;
        let digest: [u8; 32] = Sha256::digest(&body).into();
        assert_eq!(hex::encode(digest), field(v, "body_sha256_hex")?, "{name}");

        let scheme = Scheme::parse(field(v, "scheme")?).ok_or("scheme")?;
        let target = field(v, "request_target")?;
        assert_eq!(
            request_target(field(v, "url")?)?,
            target,
            "{name}: target from url"
        );
        let created: u64 = match &v["created"] {
            serde_json::Value::String(s) => s.parse()?,
            other => other.as_u64().ok_or("created")?,
        };
        let prepared = prepare(
            scheme,
            field(v, "method")?,
            target,
            &digest,
            &public,
            created,
        )?;
        let expected_base = b64.decode(field(v, "signature_base")?)?;
        assert_eq!(
            prepared.message(),
            &expected_base[..],
            "{name}: signature base"
        );

        let sig = key.sign(prepared.message()).to_bytes();
        assert_eq!(
            hex::encode(sig),
            field(v, "signature_hex")?,
            "{name}: signature"
        );
        let headers = prepared.into_headers(&sig).headers;
        let expected: Vec<(String, String)> = v["headers"]
            .as_array()
            .ok_or("headers")?
            .iter()
            .filter_map(|h| Some((h[0].as_str()?.to_owned(), h[1].as_str()?.to_owned())))
            .collect();
        assert_eq!(headers, expected, "{name}: headers");
        match scheme {
            Scheme::EncordV1 => v1 += 1,
            Scheme::EncordV2 => v2 += 1,
        }
    }
    assert!(v1 >= 3 && v2 >= 5, "v1 {v1}, v2 {v2}");
    Ok(())
}
