//! Raw signing honours a key's rule (issue 14): a plain SSH `SIGN_REQUEST`
//! for a key with a rule is signed only when the data is an SSH login with
//! that key or SSHSIG data, as the rule's `ssh` scheme allows; anything
//! else — the RFC 9421 base of a request the rule refuses, a 32-byte digest
//! (what an Encord v1 signature covers), random bytes — needs the scheme
//! `raw`. Each outcome is checked by verifying the signature (or by there
//! being none), with the real `ssh`, `sshd`, `ssh-keygen` and `ssh-add`.

use std::fs;

use base64::Engine as _;
use ed25519_dalek::Verifier as _;
use signet_proto::encord::{self, Scheme};
use signet_proto::{Request, Response, SignRequest};
use signet_tests::sshd::{ssh_login, start_sshd};
use signet_tests::{my_user_name, Agent, AgentOptions, RawConn, TestKey};

const CONFIG: &str = r#"
[policies.reads-and-ssh]
schemes = ["encord-v2", "ssh"]
methods = ["GET"]

[policies.with-raw]
schemes = ["ssh", "raw"]

[keys.ci-bot]
policy = "reads-and-ssh"

[keys.tester]
policy = "with-raw"
"#;

fn start() -> Agent {
    Agent::start_with(AgentOptions {
        config: Some(CONFIG.to_owned()),
        ..AgentOptions::default()
    })
}

/// A raw `SIGN_REQUEST` of `data` with `key`: the signature, if any.
fn raw_sign(conn: &mut RawConn, key: &TestKey, data: &[u8]) -> Option<[u8; 64]> {
    let blob = key.blob();
    match conn.request(&Request::Sign(SignRequest {
        key_blob: &blob,
        data,
        flags: 0,
    })) {
        Response::Signature(sig) => {
            let mut r = signet_proto::wire::Reader::new(&sig);
            let _alg = r.string("alg").ok()?;
            r.fixed::<64>("sig").ok()
        }
        Response::Failure => None,
        other => panic!("unexpected reply {other:?}"),
    }
}

fn verifies(key: &TestKey, data: &[u8], sig: &[u8; 64]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(&key.public())
        .and_then(|k| k.verify(data, &ed25519_dalek::Signature::from_bytes(sig)))
        .is_ok()
}

/// The three forgeries a raw signature could be: the v2 base of a request
/// the rule refuses, a v1 digest, random bytes.
fn forgeries(key: &TestKey) -> Vec<(&'static str, Vec<u8>)> {
    let body_sha = signet_client::sha256(b"{}");
    let created = std::time::UNIX_EPOCH
        .elapsed()
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let v2 = encord::prepare(
        Scheme::EncordV2,
        "DELETE",
        "/v2/public/projects/p1",
        &body_sha,
        &key.public(),
        created,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut random = vec![0u8; 1024];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random))
        .unwrap_or_else(|e| panic!("{e}"));
    vec![
        ("HTTP signature base", v2.message().to_vec()),
        ("32-byte value", body_sha.to_vec()),
        ("neither an SSH login nor an SSHSIG", random),
    ]
}

#[test]
fn raw_signing_of_anything_but_ssh_structures_is_refused_for_a_key_with_a_rule() {
    let agent = start();
    let mut conn = agent.connect();
    let ruled = TestKey::from_seed(71, "ci-bot");
    let free = TestKey::from_seed(72, "free");
    let tester = TestKey::from_seed(73, "tester");
    for k in [&ruled, &free, &tester] {
        assert_eq!(conn.request(&k.add_request(vec![])), Response::Success);
    }
    for (what, data) in forgeries(&ruled) {
        // The key with an HTTP rule signs none of them…
        assert_eq!(
            raw_sign(&mut conn, &ruled, &data),
            None,
            "{what} was signed"
        );
        agent.wait_log_line(&[
            "refused: key ci-bot: raw signing of",
            what,
            "rule reads-and-ssh",
        ]);
        // …a key whose rule names `raw` does, and so does a key without a
        // rule (documented: raw signing can make Encord signatures).
        for k in [&tester, &free] {
            let sig = raw_sign(&mut conn, k, &data)
                .unwrap_or_else(|| panic!("{what} refused for {}", k.comment));
            assert!(verifies(k, &data, &sig), "{what} by {}", k.comment);
        }
    }
    // What the refusal prevents: the free key's raw signature of the v1
    // digest *is* a valid Encord v1 `Authorization` for that body.
    let digest = signet_client::sha256(b"{}");
    let sig = raw_sign(&mut conn, &free, &digest).unwrap_or_else(|| panic!("refused"));
    let authorization = format!(
        "{}:{}",
        signet_proto::key::key_id(&free.public()),
        hex::encode(sig)
    );
    let prepared = encord::prepare(
        Scheme::EncordV1,
        "POST",
        "/public",
        &digest,
        &free.public(),
        0,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        prepared.into_headers(&sig).headers[0].1,
        authorization,
        "a raw signature of the digest is the v1 header"
    );

    // The Encord request the rule allows is still signed, and verifies.
    let mut c = signet_client::Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    let h = c
        .sign_request_body(
            Some("ci-bot"),
            signet_client::Scheme::EncordV2,
            "GET",
            "/v2/public/projects",
            b"",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let base = encord::prepare(
        Scheme::EncordV2,
        "GET",
        "/v2/public/projects",
        &signet_client::sha256(b""),
        &ruled.public(),
        h.created,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sig: [u8; 64] = h
        .headers
        .iter()
        .find(|x| x.name == "Signature")
        .and_then(|x| {
            x.value
                .strip_prefix("encord-sig=:")?
                .strip_suffix(':')
                .map(str::to_owned)
        })
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("{h:?}"));
    assert!(verifies(&ruled, base.message(), &sig));

    // Every refusal is in the audit log as scheme raw.
    let audit = agent.dir().join("state/signet/audit.log");
    let text = signet_tests::wait_for(signet_tests::DEADLINE, "three raw refusals", || {
        let t = fs::read_to_string(&audit).unwrap_or_default();
        (t.lines()
            .filter(|l| {
                l.contains("\"refuse\"")
                    && l.contains("\"scheme\":\"raw\"")
                    && l.contains("\"key\":\"ci-bot\"")
            })
            .count()
            == 3)
            .then_some(t)
    });
    assert!(text.contains("raw signing of a 32-byte value"), "{text}");

    // `ssh-add -T` signs random bytes: it needs `raw`.
    let dir = agent.dir().join("pub");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    for (k, ok) in [(&ruled, false), (&tester, true), (&free, true)] {
        let path = dir.join(format!("{}.pub", k.comment));
        fs::write(&path, public_line(k)).unwrap_or_else(|e| panic!("{e}"));
        let r = agent.ssh_add(["-T".as_ref(), path.as_os_str()]);
        assert_eq!(
            r.status.success(),
            ok,
            "ssh-add -T with {}:\n{r}",
            k.comment
        );
    }
}

fn public_line(k: &TestKey) -> String {
    format!(
        "ssh-ed25519 {} {}\n",
        base64::engine::general_purpose::STANDARD.encode(k.blob()),
        k.comment
    )
}

/// An `ssh` login to a loopback `sshd` and `ssh-keygen -Y sign` still work
/// for a key whose rule allows `ssh` (and not for one whose rule does not).
#[test]
fn ssh_logins_and_sshsig_still_work_when_the_rule_allows_ssh() {
    let agent = Agent::start_with(AgentOptions {
        config: Some(format!(
            "{CONFIG}\n[policies.http-only]\nschemes = [\"encord-v2\"]\n[keys.http-bot]\npolicy = \"http-only\"\n"
        )),
        ..AgentOptions::default()
    });
    let dir = agent.dir().join("sshd");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let ruled = agent.keygen("ed25519", "ci-bot");
    let http_only = agent.keygen("ed25519", "http-bot");
    let authorized = dir.join("authorized_keys");
    fs::write(
        &authorized,
        format!("{}\n{}\n", ruled.public_line(), http_only.public_line()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sshd = start_sshd(&agent, &dir, &authorized);
    let user = my_user_name();

    // Only the HTTP-only key in the agent: the login is refused (the agent
    // refuses to sign the login request for it).
    agent.ssh_add([&http_only.private]).assert_ok();
    let r = ssh_login(&agent, &sshd, &user);
    r.assert_code(255);
    agent.wait_log_line(&["refused: key http-bot: scheme ssh not allowed by rule http-only"]);
    // The key whose rule allows ssh logs in; sshd accepted that key.
    agent.ssh_add([&ruled.private]).assert_ok();
    fs::remove_file(&ruled.private).unwrap_or_else(|e| panic!("{e}"));
    let r = ssh_login(&agent, &sshd, &user);
    assert!(
        r.status.success() && r.stdout.trim() == "signet-ok",
        "login refused:\n{r}\n--- sshd\n{}\n--- signetd\n{}",
        sshd.log(),
        agent.log()
    );
    let fp = ruled.fingerprint();
    assert!(
        sshd.log()
            .lines()
            .any(|l| l.contains("Accepted publickey") && l.contains(&fp)),
        "{}",
        sshd.log()
    );

    // ssh-keygen -Y sign, verified by ssh-keygen -Y verify.
    let msg = dir.join("release.txt");
    fs::write(&msg, b"release 1.2.3\n").unwrap_or_else(|e| panic!("{e}"));
    for (key, ok) in [(&ruled, true), (&http_only, false)] {
        let sig = dir.join("release.txt.sig");
        let _ = fs::remove_file(&sig);
        let r = agent.ssh_keygen([
            "-Y".as_ref(),
            "sign".as_ref(),
            "-n".as_ref(),
            "file".as_ref(),
            "-f".as_ref(),
            key.public.as_os_str(),
            msg.as_os_str(),
        ]);
        assert_eq!(r.status.success(), ok, "{r}");
        if !ok {
            assert!(!sig.exists());
            continue;
        }
        let allowed = dir.join("allowed_signers");
        fs::write(&allowed, format!("ci@example {}\n", key.public_key_part()))
            .unwrap_or_else(|e| panic!("{e}"));
        let r = signet_tests::run(
            agent
                .ssh_tool("/bin/sh")
                .arg("-c")
                .arg("exec ssh-keygen -Y verify -f \"$1\" -I ci@example -n file -s \"$2\" < \"$3\"")
                .arg("sh")
                .arg(&allowed)
                .arg(&sig)
                .arg(&msg),
        );
        r.assert_ok();
        assert!(r.stdout.contains("Good \"file\" signature"), "{r}");
    }
}
