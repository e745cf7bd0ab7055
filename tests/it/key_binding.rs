//! Rules bind to keys, not names (issue 14): a `[keys.NAME] policy` rule
//! attaches to the key that was loaded under that name, by its public key.
//! Renaming the key, unloading and loading it, or adding another key under
//! the name never moves the rule; a key whose name is another stored,
//! configured or rule-bound key's is refused. Against the real daemon over
//! the kernel keyring, each outcome checked by verifying the signature or by
//! its absence.

use std::fs;

use ed25519_dalek::Verifier as _;
use signet_client::{Client, Error, Scheme, SignedHeaders};
use signet_proto::encord;
use signet_tests::keystore::{Store, StoreAgent};
use signet_tests::{generate_key, read_ed25519_private};

const RULE: &str = r#"
[policies.read-only]
schemes = ["encord-v2"]
methods = ["GET"]

[keys.ci-bot]
policy = "read-only"
"#;

fn client(agent: &StoreAgent) -> Client {
    Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("connect: {e}"))
}

/// Checks a v2 signature over `GET`/`DELETE` `target` with an empty body.
#[track_caller]
fn verify(public: &[u8; 32], method: &str, target: &str, h: &SignedHeaders) {
    let prepared = encord::prepare(
        Scheme::EncordV2,
        method,
        target,
        &signet_client::sha256(b""),
        public,
        h.created,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sig = h
        .headers
        .iter()
        .find(|x| x.name == "Signature")
        .and_then(|x| x.value.strip_prefix("encord-sig=:"))
        .and_then(|v| v.strip_suffix(':'))
        .map(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .unwrap_or_default()
        })
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .unwrap_or_else(|| panic!("no signature in {h:?}"));
    ed25519_dalek::VerifyingKey::from_bytes(public)
        .and_then(|k| {
            k.verify(
                prepared.message(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
        })
        .unwrap_or_else(|e| panic!("the signature does not verify: {e}"));
}

/// `DELETE` must be refused by the rule, naming the key as it is called now.
#[track_caller]
fn refused(c: &mut Client, key: &str) -> String {
    match c.sign_request_body(Some(key), Scheme::EncordV2, "DELETE", "/v2/public/x", b"") {
        Err(Error::Refused { reason, .. }) => reason,
        other => panic!("DELETE with {key} was not refused: {other:?}"),
    }
}

fn start_with_rule() -> StoreAgent {
    let mut agent = StoreAgent::start(Store::Keyutils);
    fs::create_dir_all(agent.config_dir()).unwrap_or_else(|e| panic!("{e}"));
    fs::write(agent.config_dir().join("config.toml"), RULE).unwrap_or_else(|e| panic!("{e}"));
    agent.restart(&[]);
    agent
}

#[test]
fn renaming_a_key_or_adding_one_under_its_name_never_moves_its_rule() {
    let agent = start_with_rule();
    agent.signet(["generate", "ci-bot"]).assert_ok();
    agent.signet(["load", "ci-bot"]).assert_ok();
    let list = agent.list_json();
    let public: [u8; 32] = list
        .as_array()
        .and_then(|k| k.iter().find(|k| k["name"] == "ci-bot"))
        .and_then(|k| k["key_id"].as_str())
        .and_then(|id| hex::decode(id).ok())
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("no key id for ci-bot in {list}"));
    let mut c = client(&agent);
    let h = c
        .sign_request_body(
            Some("ci-bot"),
            Scheme::EncordV2,
            "GET",
            "/v2/public/projects",
            b"",
        )
        .unwrap_or_else(|e| panic!("GET refused: {e}"));
    verify(&public, "GET", "/v2/public/projects", &h);
    assert!(refused(&mut c, "ci-bot").contains("method DELETE not allowed by rule read-only"));

    // Renamed, the key keeps its rule (the loaded copy and once reloaded).
    agent.signet(["rename", "ci-bot", "free"]).assert_ok();
    let reason = refused(&mut c, "free");
    assert_eq!(
        reason,
        "key free: method DELETE not allowed by rule read-only"
    );
    agent.signet(["unload", "free"]).assert_ok();
    agent.signet(["load", "free"]).assert_ok();
    assert!(refused(&mut c, "free").contains("rule read-only"));
    let r = agent.signet(["list"]);
    r.assert_ok();
    assert!(r.stdout.contains("policy of free: read-only"), "{r}");
    let h = c
        .sign_request_body(
            Some("free"),
            Scheme::EncordV2,
            "GET",
            "/v2/public/projects",
            b"",
        )
        .unwrap_or_else(|e| panic!("GET refused after the rename: {e}"));
    verify(&public, "GET", "/v2/public/projects", &h);

    // Another key under the rule's name is refused, however it comes.
    let other = generate_key(&agent.dir().join("keys"), "ed25519", "ci-bot");
    let (_, other_public) = read_ed25519_private(&other.private);
    let r = agent.signet(["add".as_ref(), other.private.as_os_str()]);
    r.assert_code(1);
    let r = agent.signet([
        "import".as_ref(),
        "--name".as_ref(),
        "ci-bot".as_ref(),
        other.private.as_os_str(),
    ]);
    r.assert_code(1);
    assert!(
        r.stderr.contains("ci-bot") && r.stderr.contains("keeps its rule"),
        "{r}"
    );
    let r = agent.signet(["generate", "ci-bot"]);
    r.assert_code(1);
    assert!(r.stderr.contains("keeps its rule"), "{r}");
    let mut ssh_add = std::process::Command::new(signet_tests::system_tool("/usr/bin/ssh-add"));
    ssh_add
        .env_clear()
        .env("PATH", signet_tests::CHILD_PATH)
        .env("SSH_AUTH_SOCK", agent.socket())
        .arg(&other.private);
    signet_tests::run(&mut ssh_add).assert_fail();
    assert!(
        agent
            .log()
            .contains("refused to add a key: key name ci-bot"),
        "{}",
        agent.log()
    );
    // Nothing took the name: there is no key called ci-bot to sign with,
    // and the impostor never signed.
    match c.sign_request_body(
        Some("ci-bot"),
        Scheme::EncordV2,
        "DELETE",
        "/v2/public/x",
        b"",
    ) {
        Err(Error::Refused { .. } | Error::NoSuchKey { .. }) => {}
        Err(e) if e.to_string().contains("not loaded") => {}
        other => panic!("an impostor ci-bot signed: {other:?}"),
    }
    let list = agent.list_json();
    assert!(
        !list.to_string().contains(&hex::encode(other_public)),
        "the impostor is listed: {list}"
    );

    // A name for a stored key's use that another stored key has: refused.
    agent.signet(["generate", "spare"]).assert_ok();
    let r = agent.signet(["rename", "spare", "free"]);
    r.assert_code(1);

    // Deleting the key frees its name and rule: a rotated key takes both.
    agent.signet(["delete", "free", "--yes"]).assert_ok();
    agent.signet(["generate", "ci-bot"]).assert_ok();
    agent.signet(["load", "ci-bot"]).assert_ok();
    assert!(refused(&mut c, "ci-bot").contains("rule read-only"));
    for name in ["ci-bot", "spare"] {
        agent.signet(["delete", name, "--yes"]).assert_ok();
    }
    assert!(agent.keyutils_entries().is_empty());
}

#[test]
fn added_key_names_are_checked_like_stored_ones() {
    let agent = StoreAgent::start(Store::Keyutils);
    let mut conn = signet_tests::RawConn::connect(agent.socket());
    for (seed, comment, ok) in [
        (1u8, "plain name@host".to_owned(), true),
        (2, "/home/u/.ssh/id_ed25519".to_owned(), true),
        (3, "line\nbreak".to_owned(), false),
        (4, "bidi\u{202e}gpj.exe".to_owned(), false),
        (5, "x".repeat(255), true),
        (6, "x".repeat(256), false),
        // Two ad-hoc keys with one comment are fine, as with OpenSSH.
        (7, "plain name@host".to_owned(), true),
    ] {
        let key = signet_tests::TestKey::from_seed(seed, &comment);
        let got = conn.request(&key.add_request(vec![]));
        assert_eq!(
            got == signet_proto::Response::Success,
            ok,
            "{comment:?}: {got:?}"
        );
    }
    let ids = signet_tests::list_identities(&mut conn);
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(ids.iter().all(|i| !i.comment.contains(['\n', '\u{202e}'])));
}
