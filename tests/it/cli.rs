//! The `signet` command against the real daemon: what it prints, what it
//! changes in the agent (checked with `ssh-add`), and its documented exit
//! codes (0 ok, 1 error, 2 usage, 3 no agent, 4 locked, 5 unknown key).

use base64::Engine as _;
use ed25519_dalek::Verifier as _;
use serde_json::Value;
use signet_proto::encord::{self, Scheme};
use signet_tests::{read_ed25519_private, run_with_input, Agent};

fn json(r: &signet_tests::Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{r}"))
}

fn verify(public: &[u8; 32], message: &[u8], sig: &[u8]) {
    let sig: [u8; 64] = sig
        .try_into()
        .unwrap_or_else(|_| panic!("signature is {} bytes, not 64", sig.len()));
    ed25519_dalek::VerifyingKey::from_bytes(public)
        .unwrap_or_else(|e| panic!("{e}"))
        .verify(message, &ed25519_dalek::Signature::from_bytes(&sig))
        .unwrap_or_else(|e| panic!("signature does not verify: {e}"));
}

#[test]
fn no_agent_exits_3() {
    let agent = Agent::start();
    let gone = agent.dir().join("nothing-here.sock");
    let gone = gone.to_str().unwrap_or_default();
    for args in [
        &["status"][..],
        &["list"],
        &["stop"],
        &["remove", "--all"],
        &["sign-request", "--method", "GET", "--url", "/v2/x"],
    ] {
        let r = agent.signet([&["--socket", gone][..], args].concat());
        r.assert_code(3);
        assert!(r.stderr.contains("signet: "), "{r}");
    }
    // Scripts asking for JSON still get a document.
    let r = agent.signet(["--socket", gone, "status", "--json"]);
    r.assert_code(3);
    assert_eq!(json(&r)["running"], Value::Bool(false));
    // SIGNET_AUTH_SOCK is honoured like --socket.
    let r = signet_tests::run(
        agent
            .signet_command()
            .env("SIGNET_AUTH_SOCK", gone)
            .arg("status"),
    );
    r.assert_code(3);
}

#[test]
fn usage_errors_exit_2() {
    let agent = Agent::start();
    agent.signet(["frobnicate"]).assert_code(2);
    agent.signet(["remove"]).assert_code(2);
}

#[test]
fn add_list_remove() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "cli-key");
    let (_, public) = read_ed25519_private(&key.private);

    let r = agent.signet(["list"]);
    r.assert_ok();
    assert!(r.stdout.contains("no keys loaded"), "{r}");
    assert_eq!(
        json(agent.signet(["list", "--json"]).assert_ok()),
        Value::Array(vec![])
    );

    let r = agent.signet(["add".as_ref(), key.private.as_os_str()]);
    r.assert_ok();
    // The key is really in the agent: ssh-add sees it.
    assert!(agent.ssh_add(["-l"]).stdout.contains(&key.fingerprint()));

    let r = agent.signet(["list", "--json"]);
    r.assert_ok();
    let doc = json(&r);
    let rows = doc
        .as_array()
        .unwrap_or_else(|| panic!("not an array:\n{r}"));
    assert_eq!(rows.len(), 1, "{r}");
    let row = &rows[0];
    assert_eq!(row["name"], "cli-key", "name defaults to the comment");
    assert_eq!(row["fingerprint"], key.fingerprint().as_str());
    assert_eq!(row["key_id"], hex::encode(public).as_str());
    assert_eq!(row["expires_in_secs"], Value::Null);
    assert_eq!(row["confirm"], false);
    let line = row["public_key"].as_str().unwrap_or_default();
    assert!(line.starts_with(&key.public_key_part()), "{line}");

    // Human list names it too.
    let r = agent.signet(["list"]);
    r.assert_ok();
    assert!(
        r.stdout.contains("cli-key") && r.stdout.contains(&key.fingerprint()),
        "{r}"
    );

    // Unknown key: exit 5, and nothing removed.
    agent.signet(["remove", "no-such-key"]).assert_code(5);
    assert!(agent.ssh_add(["-l"]).stdout.contains(&key.fingerprint()));

    agent.signet(["remove", "cli-key"]).assert_ok();
    agent.ssh_add(["-l"]).assert_code(1);
    assert_eq!(
        json(agent.signet(["list", "--json"]).assert_ok()),
        Value::Array(vec![])
    );
}

#[test]
fn add_with_name_and_lifetime_and_remove_by_fingerprint() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "comment");
    agent
        .signet([
            "add".as_ref(),
            key.private.as_os_str(),
            "--name".as_ref(),
            "renamed".as_ref(),
            "--lifetime".as_ref(),
            "1h".as_ref(),
        ])
        .assert_ok();
    let doc = json(agent.signet(["list", "--json"]).assert_ok());
    assert_eq!(doc[0]["name"], "renamed");
    let left = doc[0]["expires_in_secs"].as_u64().unwrap_or(0);
    assert!((3500..=3600).contains(&left), "expires_in_secs {left}");

    let fp = key.fingerprint();
    agent.signet(["remove", fp.as_str()]).assert_ok();
    agent.ssh_add(["-l"]).assert_code(1);
}

#[test]
fn status_json_describes_the_running_agent() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "counted");
    agent.ssh_add([&key.private]).assert_ok();
    let r = agent.signet(["status", "--json"]);
    r.assert_ok();
    let doc = json(&r);
    assert_eq!(doc["running"], true);
    assert_eq!(doc["keys"], 1);
    assert_eq!(doc["locked"], false);
    assert_eq!(doc["pid"], agent.pid().as_raw_nonzero().get());
    assert_eq!(doc["socket"], agent.socket().to_str().unwrap_or_default());
    assert_eq!(doc["protocol"], signet_proto::extension::PROTOCOL_VERSION);
    // The human form is not JSON but names the pid.
    let r = agent.signet(["status"]);
    r.assert_ok();
    assert!(
        r.stdout
            .contains(&agent.pid().as_raw_nonzero().get().to_string()),
        "{r}"
    );
}

#[test]
fn sign_request_headers_verify() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "http");
    let (_, public) = read_ed25519_private(&key.private);
    agent.ssh_add([&key.private]).assert_ok();

    let body = r#"{"title":"from the cli"}"#;
    let r = agent.signet([
        "sign-request",
        "--method",
        "post",
        "--url",
        "https://api.encord.com/v2/public/projects?x=1",
        "--body",
        body,
        "--format",
        "headers",
    ]);
    r.assert_ok();
    let headers: Vec<(&str, &str)> = r
        .stdout
        .lines()
        .map(|l| {
            l.split_once(": ")
                .unwrap_or_else(|| panic!("not a header line {l:?}:\n{r}"))
        })
        .collect();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {name} header:\n{r}"))
    };
    let input = get("Signature-Input");
    let created: u64 = input
        .split("created=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no created in {input:?}"));
    let digest = signet_client::sha256(body.as_bytes());
    let prepared = encord::prepare(
        Scheme::EncordV2,
        "POST",
        "/v2/public/projects?x=1",
        &digest,
        &public,
        created,
    )
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let sig_b64 = get("Signature")
        .strip_prefix("encord-sig=:")
        .and_then(|s| s.strip_suffix(':'))
        .unwrap_or_else(|| panic!("bad Signature header:\n{r}"));
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig_b64)
        .unwrap_or_else(|e| panic!("bad base64: {e}"));
    verify(&public, prepared.message(), &sig);
    let sig: [u8; 64] = sig.try_into().unwrap_or([0; 64]);
    let want = prepared.into_headers(&sig);
    let got: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(got, want.headers);

    // Naming a key that is not loaded: exit 5.
    agent
        .signet([
            "sign-request",
            "--key",
            "nope",
            "--method",
            "GET",
            "--url",
            "/v2/x",
        ])
        .assert_code(5);
}

#[test]
fn sign_prints_a_verifiable_signature() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "filesigner");
    let (_, public) = read_ed25519_private(&key.private);
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    let file = agent.dir().join("data.bin");
    std::fs::write(&file, b"sign me").unwrap_or_else(|e| panic!("{e}"));
    let r = agent.signet(["sign".as_ref(), file.as_os_str()]);
    r.assert_ok();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(r.stdout.trim())
        .unwrap_or_else(|e| panic!("not base64 ({e}):\n{r}"));
    verify(&public, b"sign me", &sig);
}

#[test]
fn lock_and_unlock_from_stdin() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "lockable");
    agent.ssh_add([&key.private]).assert_ok();

    run_with_input(
        agent.signet_command().args(["lock", "--passphrase-stdin"]),
        b"pass phrase\n",
    )
    .assert_ok();
    agent.ssh_add(["-l"]).assert_code(1);
    agent
        .ssh_add(["-T".as_ref(), key.public.as_os_str()])
        .assert_fail();

    let r = run_with_input(
        agent
            .signet_command()
            .args(["unlock", "--passphrase-stdin"]),
        b"wrong\n",
    );
    r.assert_fail();
    agent.ssh_add(["-l"]).assert_code(1);

    run_with_input(
        agent
            .signet_command()
            .args(["unlock", "--passphrase-stdin"]),
        b"pass phrase\n",
    )
    .assert_ok();
    assert!(agent.ssh_add(["-l"]).stdout.contains(&key.fingerprint()));
    agent
        .ssh_add(["-T".as_ref(), key.public.as_os_str()])
        .assert_ok();
}

#[test]
fn stop_stops_the_daemon() {
    let mut agent = Agent::start();
    agent.signet(["stop"]).assert_ok();
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}\n--- log\n{}", agent.log());
    assert!(!agent.socket().exists());
    agent.signet(["status"]).assert_code(3);
}
