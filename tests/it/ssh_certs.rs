//! OpenSSH certificates (issue 23 item 1), with the real tools: a
//! certificate authority made here with `ssh-keygen`, certificates it signs
//! (`ssh-keygen -s`), added with `ssh-add` beside their key, listed by
//! `ssh-add -L` and `signet list`, used by `ssh` to log in to a loopback
//! `sshd` that trusts only the CA, removed by `ssh-add -d`; validity
//! windows enforced; Encord signing with a certified key.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use signet_proto::{AddIdentity, Ed25519Seed, NewKey, Request, Response, SignRequest};
use signet_tests::sshd::{ssh_login, start_sshd_with};
use signet_tests::{
    my_user_name, read_ed25519_private, verify_ssh_signature, wait_for, Agent, KeyFiles, RawConn,
};

/// `ssh-keygen -s CA -I id -n principals -V validity key.pub`: the
/// certificate file it writes (`KEY-cert.pub`).
fn certify(
    agent: &Agent,
    ca: &KeyFiles,
    key: &KeyFiles,
    id: &str,
    principals: &str,
    validity: &str,
) -> PathBuf {
    let r = agent.ssh_keygen([
        "-q".as_ref(),
        "-s".as_ref(),
        ca.private.as_os_str(),
        "-I".as_ref(),
        id.as_ref(),
        "-n".as_ref(),
        principals.as_ref(),
        "-V".as_ref(),
        validity.as_ref(),
        key.public.as_os_str(),
    ]);
    r.assert_ok();
    let cert = PathBuf::from(format!("{}-cert.pub", key.private.display()));
    assert!(
        cert.is_file(),
        "ssh-keygen -s wrote no {}:\n{r}",
        cert.display()
    );
    cert
}

/// The certificate blob in a `-cert.pub` file.
fn cert_blob(cert: &Path) -> Vec<u8> {
    let line =
        fs::read_to_string(cert).unwrap_or_else(|e| panic!("reading {}: {e}", cert.display()));
    let b64 = line.split_whitespace().nth(1).unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("bad base64 in {line:?}: {e}"))
}

/// The `type base64` lines `ssh-add -L` prints.
fn listed(agent: &Agent) -> Vec<String> {
    let r = agent.ssh_add(["-L"]);
    r.stdout
        .lines()
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty() && !l.starts_with("The agent"))
        .collect()
}

fn cert_line(cert: &Path) -> String {
    let line = fs::read_to_string(cert).unwrap_or_default();
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `SIGN_REQUEST` for `blob` over a raw connection.
fn sign(agent: &Agent, blob: &[u8], data: &[u8]) -> Response {
    let mut conn = RawConn::connect(agent.socket());
    conn.request(&Request::Sign(SignRequest {
        key_blob: blob,
        data,
        flags: 0,
    }))
}

/// Adds `key` with the certificate `cert` over a raw connection, as
/// `ssh-add` sends it.
fn add_certified(agent: &Agent, key: &KeyFiles, cert: &[u8], comment: &str) -> Response {
    let (seed, public) = read_ed25519_private(&key.private);
    let mut conn = RawConn::connect(agent.socket());
    conn.request(&Request::AddIdentity(AddIdentity {
        key: NewKey::Ed25519Cert {
            certificate: cert.to_vec(),
            public,
            seed: Ed25519Seed::new(seed),
        },
        comment: comment.into(),
        constraints: vec![],
    }))
}

#[test]
fn a_certificate_is_added_listed_used_by_ssh_and_removed() {
    let agent = Agent::start();
    let user = my_user_name();
    let ca = agent.keygen("ed25519", "ca");
    let key = agent.keygen("ed25519", "alice");
    let cert = certify(&agent, &ca, &key, "alice@signet-test", &user, "-5m:+1h");

    // ssh-add adds the key, then its certificate beside it.
    let r = agent.ssh_add([&key.private]);
    r.assert_ok();
    assert!(
        r.stderr.contains("Certificate added"),
        "ssh-add did not add the certificate:\n{r}\n--- signetd\n{}",
        agent.log()
    );
    let ids = listed(&agent);
    assert_eq!(
        ids,
        vec![key.public_key_part(), cert_line(&cert)],
        "{ids:?}"
    );
    let r = agent.ssh_add(["-l"]);
    assert!(r.stdout.contains("(ED25519-CERT)"), "{r}");

    // signet list: the certificate under its key, principals and validity.
    let r = agent.signet(["list", "--wide"]);
    r.assert_ok();
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("certificate of alice:"))
        .unwrap_or_else(|| panic!("no certificate line:\n{r}"));
    assert!(line.contains("user certificate"), "{line}");
    assert!(line.contains("key id \"alice@signet-test\""), "{line}");
    assert!(line.contains(&format!("principals {user}")), "{line}");
    assert!(line.contains(&format!("CA {}", ca.fingerprint())), "{line}");
    assert!(line.contains(" to 20"), "{line}");
    let r = agent.signet(["list", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("list --json: {e}\n{r}"));
    let c = &v[0]["certificates"][0];
    assert_eq!(c["principals"][0], user.as_str(), "{v}");
    assert_eq!(c["key_id"], "alice@signet-test", "{v}");

    // sshd trusts the CA and no key: only the certificate logs in.
    let dir = agent.dir().join("sshd");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let no_keys = dir.join("authorized_keys");
    fs::write(&no_keys, "").unwrap_or_else(|e| panic!("{e}"));
    let sshd = start_sshd_with(
        &agent,
        &dir,
        &no_keys,
        &format!("TrustedUserCAKeys {}\n", ca.public.display()),
    );
    let r = ssh_login(&agent, &sshd, &user);
    assert!(
        r.status.success() && r.stdout.trim() == "signet-ok",
        "certificate login failed:\n{r}\n--- sshd\n{}\n--- signetd\n{}",
        sshd.log(),
        agent.log()
    );
    assert!(
        sshd.log().lines().any(|l| l.contains("Accepted publickey")
            && l.contains("ED25519-CERT")
            && l.contains("alice@signet-test")),
        "sshd did not accept the certificate:\n{}",
        sshd.log()
    );

    // ssh-add -d CERT removes the certificate only; the login fails then.
    agent.ssh_add(["-d".as_ref(), cert.as_os_str()]).assert_ok();
    assert_eq!(listed(&agent), vec![key.public_key_part()]);
    let r = ssh_login(&agent, &sshd, &user);
    r.assert_code(255);
    assert!(r.stderr.contains("Permission denied"), "{r}");

    // Both again; ssh-add -d KEY removes the key and its certificate.
    agent.ssh_add([&key.private]).assert_ok();
    assert_eq!(listed(&agent).len(), 2);
    agent
        .ssh_add(["-d".as_ref(), key.private.as_os_str()])
        .assert_ok();
    assert!(listed(&agent).is_empty(), "{:?}", listed(&agent));

    // signet remove takes the key and its certificates.
    agent.ssh_add([&key.private]).assert_ok();
    let r = agent.signet(["remove", "alice"]);
    r.assert_ok();
    assert!(r.stderr.contains("with its certificate"), "{r}");
    assert!(listed(&agent).is_empty(), "{:?}", listed(&agent));
}

#[test]
fn the_certificate_signs_with_its_key_and_only_while_valid() {
    let agent = Agent::start();
    let ca = agent.keygen("ed25519", "ca");
    let key = agent.keygen("ed25519", "bob");
    let (_, public) = read_ed25519_private(&key.private);

    // Expired: refused, with the reason in the log.
    let expired = cert_blob(&certify(
        &agent,
        &ca,
        &key,
        "old",
        "bob",
        "20200101:20200102",
    ));
    assert_eq!(
        add_certified(&agent, &key, &expired, "bob"),
        Response::Failure
    );
    agent.wait_log_line(&["certificate expired"]);

    // Valid forever (what ssh-keygen -s writes without -V; ssh-key 0.6
    // alone cannot read it): kept, and shown so.
    let other_key = agent.keygen("ed25519", "eve");
    let forever_file = certify(&agent, &ca, &other_key, "eve", "eve", "always:forever");
    let r = agent.ssh_add([&other_key.private]);
    assert!(
        r.stderr.contains("Certificate added"),
        "{r}\n{}",
        agent.log()
    );
    assert!(listed(&agent).contains(&cert_line(&forever_file)));
    let r = agent.signet(["list", "--wide"]);
    assert!(r.stdout.contains("valid always to forever"), "{r}");
    agent.ssh_add(["-D"]).assert_ok();

    // Not yet valid: kept (the server judges by its clock), and listed.
    let later = cert_blob(&certify(&agent, &ca, &key, "later", "bob", "+1h:+2h"));
    assert_eq!(
        add_certified(&agent, &key, &later, "bob"),
        Response::Success
    );

    // Valid for a few seconds: it signs, with the key's signature.
    let short = cert_blob(&certify(&agent, &ca, &key, "short", "bob", "-1m:+4s"));
    assert_eq!(
        add_certified(&agent, &key, &short, "bob"),
        Response::Success
    );
    agent.ssh_add([&key.private]).assert_ok();
    match sign(&agent, &short, b"data") {
        Response::Signature(sig) => verify_ssh_signature(&public, b"data", &sig),
        other => panic!("certificate did not sign: {other:?}\n{}", agent.log()),
    }
    // Past `valid before`: no longer offered, and it signs nothing; the
    // key itself and the later certificate still do.
    wait_for(
        Duration::from_secs(20),
        "the short certificate to go",
        || {
            let mut conn = RawConn::connect(agent.socket());
            let ids = signet_tests::list_identities(&mut conn);
            (!ids.iter().any(|i| i.key_blob == short)).then_some(ids)
        },
    );
    assert_eq!(sign(&agent, &short, b"data"), Response::Failure);
    let plain = signet_proto::key::ed25519_blob(&public);
    assert!(matches!(
        sign(&agent, &plain, b"data"),
        Response::Signature(_)
    ));
    assert!(matches!(
        sign(&agent, &later, b"data"),
        Response::Signature(_)
    ));
    // A plain key's blob never signs for its certificate, nor the reverse:
    // with the plain key removed, its blob is refused.
    agent
        .ssh_add(["-d".as_ref(), key.public.as_os_str()])
        .assert_ok();
    assert_eq!(sign(&agent, &plain, b"data"), Response::Failure);
    assert!(matches!(
        sign(&agent, &later, b"data"),
        Response::Signature(_)
    ));

    // A certificate of another key, sent with this key, is refused.
    let other = agent.keygen("ed25519", "carol");
    let others = cert_blob(&certify(&agent, &ca, &other, "carol", "carol", "-1m:+1h"));
    assert_eq!(
        add_certified(&agent, &key, &others, "bob"),
        Response::Failure
    );
    agent.wait_log_line(&["certificate is for another key"]);
    // A certificate whose CA signature was tampered with is refused.
    let mut forged = later.clone();
    let n = forged.len();
    forged[n - 1] ^= 1;
    assert_eq!(
        add_certified(&agent, &key, &forged, "bob"),
        Response::Failure
    );
    agent.wait_log_line(&["does not verify"]);
}

#[test]
fn encord_signing_with_a_key_added_only_as_a_certificate_uses_the_key() {
    let agent = Agent::start();
    let ca = agent.keygen("ed25519", "ca");
    let key = agent.keygen("ed25519", "dave");
    let (_, public) = read_ed25519_private(&key.private);
    let cert = cert_blob(&certify(&agent, &ca, &key, "dave", "dave", "-1m:+1h"));
    assert_eq!(
        add_certified(&agent, &key, &cert, "dave"),
        Response::Success
    );

    let r = agent.signet(["list", "--wide"]);
    r.assert_ok();
    assert!(
        r.stdout
            .contains("dave is loaded only with its certificates"),
        "{r}"
    );
    let mut c = signet_client::Client::connect_to(agent.socket())
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let signed = c
        .sign_request_body(
            Some("dave"),
            signet_client::Scheme::EncordV2,
            "GET",
            "/v2/public/projects",
            b"",
        )
        .unwrap_or_else(|e| panic!("sign_request: {e}\n--- log\n{}", agent.log()));
    // The headers name the key itself (its hex id), not the certificate.
    let key_header = signed
        .headers
        .iter()
        .map(|h| h.value.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        key_header.contains(&signet_proto::key::key_id(&public)),
        "{key_header}"
    );
}
