//! Keys that never leave a PKCS#11 token (issue 22), tested against the real
//! SoftHSM2 module from Debian with its token directory in the test's temp
//! dir (`SOFTHSM2_CONF`): `signet generate --store pkcs11` makes a pair the
//! token will not give out (pkcs11-tool and `C_GetAttributeValue` say so);
//! the key is listed by `ssh-add -l`, logs in to a loopback sshd, signs
//! Encord v1/v2 requests (the CLI and the Python adapter) that verify; a
//! wrong PIN is counted and not retried; a token that goes away refuses
//! only its keys, and signs again when it is back; a module outside the
//! allowed directories stops signetd at start.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use ed25519_dalek::Verifier as _;
use signet_proto::encord::{self, Scheme};
use signet_tests::sshd::{ssh_login, start_sshd};
use signet_tests::{
    my_user_name, run, run_timeout, run_with_input, wait_for, Agent, AgentOptions, CHILD_PATH,
};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const LABEL: &str = "signet-test";
const PIN: &str = "4711-pin";
const SO_PIN: &str = "so-secret";

/// A SoftHSM2 token in a temp dir of its own.
struct Hsm {
    dir: tempfile::TempDir,
}

impl Hsm {
    fn new() -> Self {
        assert!(
            Path::new(MODULE).is_file(),
            "{MODULE} not found: run `scripts/install-test-deps.sh` (as root) to install softhsm2 and opensc"
        );
        let dir = tempfile::Builder::new()
            .prefix("signet-hsm.")
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"));
        let hsm = Hsm { dir };
        fs::create_dir_all(hsm.tokens()).unwrap_or_else(|e| panic!("{e}"));
        fs::write(
            hsm.conf(),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                hsm.tokens().display()
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        run(hsm
            .tool("softhsm2-util")
            .args(["--init-token", "--free", "--label", LABEL])
            .args(["--so-pin", SO_PIN, "--pin", PIN]))
        .assert_ok();
        hsm
    }

    fn tokens(&self) -> PathBuf {
        self.dir.path().join("tokens")
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    /// A tool with this token's `SOFTHSM2_CONF` and nothing else.
    fn tool(&self, name: &str) -> Command {
        let mut c = Command::new(name);
        c.env_clear()
            .env("PATH", CHILD_PATH)
            .env("SOFTHSM2_CONF", self.conf());
        c
    }

    /// `pkcs11-tool` on this token, logged in.
    fn pkcs11_tool(&self, args: &[&str]) -> signet_tests::Run {
        run(self
            .tool("pkcs11-tool")
            .args([
                "--module",
                MODULE,
                "--token-label",
                LABEL,
                "--login",
                "--pin",
                PIN,
            ])
            .args(args))
    }

    /// A PIN file signetd accepts (0600, ours).
    fn pin_file(&self, pin: &str) -> PathBuf {
        let p = self.dir.path().join(format!("pin-{}", pin.len()));
        fs::write(&p, format!("{pin}\n")).unwrap_or_else(|e| panic!("{e}"));
        signet_tests::chmod(&p, 0o600);
        p
    }

    fn config(&self, pin_file: &Path) -> String {
        format!(
            "[pkcs11]\nmodule = \"{MODULE}\"\ntoken = \"{LABEL}\"\npin_file = \"{}\"\n",
            pin_file.display()
        )
    }

    fn start_agent(&self, config: &str) -> Agent {
        Agent::start_with_env(
            AgentOptions {
                config: Some(config.to_owned()),
                ..AgentOptions::default()
            },
            &[("SOFTHSM2_CONF", self.conf().as_path())],
        )
    }
}

fn public_of(agent: &Agent, name: &str) -> [u8; 32] {
    let r = agent.signet(["pubkey", name]);
    r.assert_ok();
    let b64 = r
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no key in {r}"));
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("{e}"));
    signet_proto::key::parse_ed25519_blob(&blob).unwrap_or_else(|e| panic!("{e:?}"))
}

fn verify(public: &[u8; 32], message: &[u8], sig: &[u8]) {
    let key = ed25519_dalek::VerifyingKey::from_bytes(public).unwrap_or_else(|e| panic!("{e}"));
    let sig = ed25519_dalek::Signature::from_slice(sig).unwrap_or_else(|e| panic!("{e}"));
    key.verify(message, &sig)
        .unwrap_or_else(|e| panic!("signature does not verify: {e}"));
}

/// `signet sign-request` with `key`; the headers.
fn sign_request(agent: &Agent, key: &str, scheme: &str, body: &str) -> signet_tests::Run {
    agent.signet([
        "sign-request",
        "--key",
        key,
        "--scheme",
        scheme,
        "--method",
        "POST",
        "--url",
        "https://api.encord.com/v2/public/projects",
        "--body",
        body,
        "--format",
        "headers",
    ])
}

fn header<'a>(r: &'a signet_tests::Run, name: &str) -> &'a str {
    r.stdout
        .lines()
        .find_map(|l| {
            l.split_once(": ")
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .unwrap_or_else(|| panic!("no {name} header:\n{r}"))
}

/// Checks a v1 `Authorization` header: `<key id>:<hex signature>` over the
/// body's SHA-256.
fn verify_v1(r: &signet_tests::Run, public: &[u8; 32], body: &str) {
    let auth = header(r, "Authorization");
    let (id, sig) = auth.split_once(':').unwrap_or_else(|| panic!("{auth}"));
    assert_eq!(id, signet_proto::key::key_id(public));
    let digest = signet_client::sha256(body.as_bytes());
    let prepared = encord::prepare(
        Scheme::EncordV1,
        "POST",
        "/v2/public/projects",
        &digest,
        public,
        0,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    verify(
        public,
        prepared.message(),
        &hex::decode(sig).unwrap_or_default(),
    );
}

/// Checks v2 headers (RFC 9421 signature base the agent built).
fn verify_v2(r: &signet_tests::Run, public: &[u8; 32], body: &str) {
    let input = header(r, "Signature-Input");
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
        "/v2/public/projects",
        &digest,
        public,
        created,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let b64 = header(r, "Signature")
        .strip_prefix("encord-sig=:")
        .and_then(|s| s.strip_suffix(':'))
        .unwrap_or_else(|| panic!("bad Signature header:\n{r}"));
    let sig = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("{e}"));
    verify(public, prepared.message(), &sig);
}

/// `generate --store pkcs11` makes the pair on the token: the private key
/// is sensitive, never extractable, a token object, and its value cannot
/// be read (pkcs11-tool's listing, then `C_GetAttributeValue(CKA_VALUE)`
/// through the module itself). Import onto the token is refused without
/// --allow-import.
#[test]
fn generated_keys_never_leave_the_token() {
    let hsm = Hsm::new();
    let agent = hsm.start_agent(&hsm.config(&hsm.pin_file(PIN)));
    let r = agent.signet(["generate", "hsm-bot", "--store", "pkcs11"]);
    r.assert_ok();
    assert!(r.stderr.contains("pkcs11"), "{r}");
    let listing = hsm.pkcs11_tool(&["--list-objects", "--type", "privkey"]);
    listing.assert_ok();
    let ours = listing
        .stdout
        .split("Private Key Object")
        .find(|o| o.contains("label:      hsm-bot"))
        .unwrap_or_else(|| panic!("no private key labelled hsm-bot:\n{listing}"));
    assert!(ours.contains("EC_EDWARDS"), "{ours}");
    assert!(ours.contains("sensitive"), "{ours}");
    assert!(ours.contains("never extractable"), "{ours}");

    // The module itself refuses the value (in a child: the module reads
    // SOFTHSM2_CONF, process-wide, when it is initialised).
    let check = run(hsm
        .tool(
            &std::env::current_exe()
                .unwrap_or_default()
                .display()
                .to_string(),
        )
        .args([
            "--exact",
            "pkcs11::value_is_refused_by_the_module",
            "--include-ignored",
            "--nocapture",
        ])
        .env("SIGNET_HSM_CHECK", "hsm-bot"));
    assert!(
        check.status.success() && check.stdout.contains("CKA_VALUE refused"),
        "{check}"
    );

    // Listed with source pkcs11, registered like any key.
    let list = agent.signet(["list"]);
    list.assert_ok();
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("hsm-bot "))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(row.contains("pkcs11"), "{row}");
    let reg = agent.signet(["register", "hsm-bot"]);
    reg.assert_ok();
    assert!(reg.stdout.contains("ssh-ed25519 "), "{reg}");

    // Import onto the token: refused by default (the CLI, and the daemon
    // for a client that asks without the flag), allowed with the flag.
    let file = agent.keygen("ed25519", "migrated");
    let r = agent.signet([
        "import".as_ref(),
        file.private.as_os_str(),
        "--name".as_ref(),
        "migrated".as_ref(),
        "--store".as_ref(),
        "pkcs11".as_ref(),
    ]);
    r.assert_fail();
    assert!(r.stderr.contains("--allow-import"), "{r}");
    let mut client =
        signet_client::Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    let key =
        ssh_key::PrivateKey::read_openssh_file(&file.private).unwrap_or_else(|e| panic!("{e}"));
    let pair = key
        .key_data()
        .ed25519()
        .unwrap_or_else(|| panic!("not ed25519"));
    let seed = signet_proto::Ed25519Seed::new(pair.private.to_bytes());
    let public = pair.public.0;
    let e = client
        .run(signet_client::op::Import {
            seed: &seed,
            public: &public,
            name: "migrated",
            comment: "",
            store: "pkcs11",
            allow_import: false,
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("refused") && e.contains("--allow-import"), "{e}");
    agent
        .signet([
            "import".as_ref(),
            file.private.as_os_str(),
            "--name".as_ref(),
            "migrated".as_ref(),
            "--store".as_ref(),
            "pkcs11".as_ref(),
            "--allow-import".as_ref(),
        ])
        .assert_ok();
    assert_eq!(public_of(&agent, "migrated"), public);
    let listing = hsm.pkcs11_tool(&["--list-objects", "--type", "privkey"]);
    let migrated = listing
        .stdout
        .split("Private Key Object")
        .find(|o| o.contains("label:      migrated"))
        .unwrap_or_else(|| panic!("{listing}"));
    // It was outside the token once: the token says so.
    assert!(!migrated.contains("never extractable"), "{migrated}");
}

/// Run in a child by the test above, with the token's `SOFTHSM2_CONF`:
/// the generated private key's attributes, read through the module.
#[test]
#[ignore = "a helper the pkcs11 tests run in a child process"]
fn value_is_refused_by_the_module() {
    let Ok(label) = std::env::var("SIGNET_HSM_CHECK") else {
        return;
    };
    let ctx = Pkcs11::new(MODULE).unwrap_or_else(|e| panic!("{e}"));
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap_or_else(|e| panic!("{e}"));
    let slot = ctx
        .get_slots_with_token()
        .unwrap_or_default()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|i| i.label() == LABEL))
        .unwrap_or_else(|| panic!("no token {LABEL}"));
    let session = ctx.open_ro_session(slot).unwrap_or_else(|e| panic!("{e}"));
    session
        .login(UserType::User, Some(&AuthPin::new(PIN.into())))
        .unwrap_or_else(|e| panic!("{e}"));
    let key = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.into_bytes()),
        ])
        .unwrap_or_default()
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no private key"));
    let info = session
        .get_attribute_info(key, &[AttributeType::Value])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(info.as_slice(), [AttributeInfo::Sensitive]),
        "CKA_VALUE is readable: {info:?}"
    );
    let flags = session
        .get_attributes(
            key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::Token,
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    for a in &flags {
        match a {
            Attribute::Sensitive(v) | Attribute::NeverExtractable(v) | Attribute::Token(v) => {
                assert!(*v, "{a:?}")
            }
            Attribute::Extractable(v) => assert!(!*v, "{a:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(flags.len(), 4, "{flags:?}");
    println!("CKA_VALUE refused; sensitive, never extractable, on the token");
}

/// A token key is listed by `ssh-add -l`, logs in to a loopback sshd, and
/// signs Encord v1 and v2 requests that verify, through the CLI and the
/// Python adapter.
#[test]
fn token_keys_sign_ssh_and_encord_requests() {
    let hsm = Hsm::new();
    let agent = hsm.start_agent(&hsm.config(&hsm.pin_file(PIN)));
    agent
        .signet(["generate", "deploy", "--store", "pkcs11"])
        .assert_ok();
    let public = public_of(&agent, "deploy");
    let l = agent.ssh_add(["-l"]);
    l.assert_ok();
    assert!(
        l.stdout.contains(" deploy (ED25519)"),
        "ssh-add -l does not list the token key:\n{l}"
    );

    // ssh login with it.
    let dir = agent.dir().join("sshd");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let line = agent.signet(["pubkey", "deploy"]);
    line.assert_ok();
    let authorized = dir.join("authorized_keys");
    fs::write(&authorized, &line.stdout).unwrap_or_else(|e| panic!("{e}"));
    let sshd = start_sshd(&agent, &dir, &authorized);
    let r = ssh_login(&agent, &sshd, &my_user_name());
    assert!(
        r.status.success() && r.stdout.trim() == "signet-ok",
        "login with the token key failed:\n{r}\n--- sshd\n{}\n--- signetd\n{}",
        sshd.log(),
        agent.log()
    );

    // Encord v1 and v2.
    let body = r#"{"title":"signed on a token"}"#;
    let v1 = sign_request(&agent, "deploy", "encord-v1", body);
    v1.assert_ok();
    verify_v1(&v1, &public, body);
    let v2 = sign_request(&agent, "deploy", "encord-v2", body);
    v2.assert_ok();
    verify_v2(&v2, &public, body);

    // The Python adapter, through the same socket.
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        py.exists(),
        "{} not found: run `bash scripts/install-test-deps.sh` first",
        py.display()
    );
    let script = format!(
        "import hashlib, sys\n\
         from signet_encord.agent import AgentClient\n\
         c = AgentClient({:?})\n\
         r = c.sign_request('encord-v1', 'POST', '/v2/public/projects', hashlib.sha256({body:?}.encode()).digest(), key='deploy')\n\
         print(dict(r.headers)['Authorization'])\n",
        agent.socket().display().to_string()
    );
    let mut cmd = Command::new(&py);
    agent.clean_env(&mut cmd);
    let r = run_timeout(cmd.args(["-c", &script]), Duration::from_secs(60));
    r.assert_ok();
    let as_run = signet_tests::Run {
        stdout: format!("Authorization: {}", r.stdout.trim()),
        ..r
    };
    verify_v1(&as_run, &public, body);
}

/// A wrong PIN is named, counted and never retried by signetd itself; at
/// `max_pin_tries` (2) signetd stops, even for the right PIN, before the
/// token's own limit; the token is not locked (the right PIN works
/// elsewhere) and the agent's other keys sign. Without a PIN file, `signet
/// unlock --token` gives the PIN and the keys appear.
#[test]
fn a_wrong_pin_is_counted_and_not_retried() {
    let hsm = Hsm::new();
    hsm.pkcs11_tool(&[
        "--keypairgen",
        "--key-type",
        "EC:edwards25519",
        "--label",
        "ops",
        "--id",
        "0a",
    ])
    .assert_ok();
    let agent = hsm.start_agent(&hsm.config(&hsm.pin_file("0000-wrong")));
    let line = agent.wait_log_line(&["wrong PIN for token", LABEL]);
    assert!(
        line.contains("1 of at most 2 wrong PINs"),
        "the count is not reported: {line}"
    );
    let l = agent.ssh_add(["-l"]);
    assert!(!l.stdout.contains(" ops "), "{l}");
    // Another key still signs.
    let other = agent.keygen("ed25519", "memory-key");
    agent.ssh_add([&other.private]).assert_ok();
    let data = agent.dir().join("data");
    fs::write(&data, "x").unwrap_or_else(|e| panic!("{e}"));
    agent
        .ssh_keygen([
            "-Y".as_ref(),
            "sign".as_ref(),
            "-n".as_ref(),
            "test".as_ref(),
            "-f".as_ref(),
            other.public.as_os_str(),
            data.as_os_str(),
        ])
        .assert_ok();
    assert_eq!(
        agent.log().matches("wrong PIN for token").count(),
        1,
        "signetd tried the wrong PIN more than once:\n{}",
        agent.log()
    );
    // A second wrong PIN from the user: counted, 2 of 2.
    let unlock = |pin: &str| {
        run_with_input(
            agent
                .signet_command()
                .args(["unlock", "--token", "--passphrase-stdin"]),
            format!("{pin}\n").as_bytes(),
        )
    };
    let r = unlock("1111-also-wrong");
    r.assert_fail();
    assert!(r.stderr.contains("2 of at most 2 wrong PINs"), "{r}");
    // Now signet stops, even for the right PIN: the token never sees a
    // third try from it.
    let r = unlock(PIN);
    r.assert_fail();
    assert!(r.stderr.contains("not trying another PIN"), "{r}");
    assert!(!agent.ssh_add(["-l"]).stdout.contains(" ops "));
    // The token is not locked: the right PIN still logs in.
    hsm.pkcs11_tool(&["--list-objects"]).assert_ok();

    // No PIN file: the agent waits for `signet unlock --token`.
    drop(agent);
    let agent = hsm.start_agent(&format!(
        "[pkcs11]\nmodule = \"{MODULE}\"\ntoken = \"{LABEL}\"\n"
    ));
    agent.wait_log_line(&["waits for its PIN"]);
    assert!(!agent.ssh_add(["-l"]).stdout.contains(" ops "));
    let r = run_with_input(
        agent
            .signet_command()
            .args(["unlock", "--token", "--passphrase-stdin"]),
        format!("{PIN}\n").as_bytes(),
    );
    r.assert_ok();
    assert!(r.stderr.contains("1 key(s) loaded: ops"), "{r}");
    let l = agent.ssh_add(["-l"]);
    assert!(l.stdout.contains(" ops (ED25519)"), "{l}");
}

/// `ssh-add -s` (SSH_AGENTC_ADD_SMARTCARD_KEY) never loads the module a
/// client names: refused by default, with the reason in the log; with
/// `allow_ssh_add_smartcard` its PIN logs in to the configured token, and
/// only when it names the configured module.
#[test]
fn ssh_add_s_is_refused_unless_configured() {
    let hsm = Hsm::new();
    hsm.pkcs11_tool(&[
        "--keypairgen",
        "--key-type",
        "EC:edwards25519",
        "--label",
        "card",
        "--id",
        "0b",
    ])
    .assert_ok();
    let bare = format!("[pkcs11]\nmodule = \"{MODULE}\"\ntoken = \"{LABEL}\"\n");
    let agent = hsm.start_agent(&bare);
    let r = agent.ssh_add_with_passphrase(PIN, ["-s", MODULE]);
    r.assert_fail();
    agent.wait_log_line(&[
        "ssh-add -s/-e is refused",
        "never loads a PKCS#11 module a client names",
    ]);
    assert!(!agent.ssh_add(["-l"]).stdout.contains(" card "));
    drop(agent);

    let agent = hsm.start_agent(&format!("{bare}allow_ssh_add_smartcard = true\n"));
    let elsewhere = agent.dir().join("libother.so");
    fs::copy(MODULE, &elsewhere).unwrap_or_else(|e| panic!("{e}"));
    let r = agent.ssh_add_with_passphrase(PIN, ["-s".as_ref(), elsewhere.as_os_str()]);
    r.assert_fail();
    agent.wait_log_line(&["is not the configured [pkcs11] module"]);
    agent
        .ssh_add_with_passphrase(PIN, ["-s", MODULE])
        .assert_ok();
    let l = agent.ssh_add(["-l"]);
    assert!(l.stdout.contains(" card (ED25519)"), "{l}");
    let r = agent.ssh_add_with_passphrase(PIN, ["-e", MODULE]);
    r.assert_fail();
}

/// The token directory removed under a running agent: the token key is
/// refused with a reason that names the token, an in-memory key signs on;
/// the directory back: the token key signs again, no restart.
#[test]
fn a_token_that_goes_away_refuses_only_its_keys_and_recovers() {
    let hsm = Hsm::new();
    let agent = hsm.start_agent(&hsm.config(&hsm.pin_file(PIN)));
    agent
        .signet(["generate", "hsm-key", "--store", "pkcs11"])
        .assert_ok();
    let public = public_of(&agent, "hsm-key");
    let other = agent.keygen("ed25519", "memory-key");
    agent.ssh_add([&other.private]).assert_ok();
    let body = "{}";
    verify_v1(
        &sign_request(&agent, "hsm-key", "encord-v1", body),
        &public,
        body,
    );

    let away = hsm.dir.path().join("tokens.away");
    fs::rename(hsm.tokens(), &away).unwrap_or_else(|e| panic!("{e}"));
    let r = sign_request(&agent, "hsm-key", "encord-v1", body);
    r.assert_fail();
    assert!(
        r.stderr.contains("hsm-key") && r.stderr.contains("is not present"),
        "the refusal does not say why:\n{r}"
    );
    let ok = sign_request(&agent, "memory-key", "encord-v1", body);
    ok.assert_ok();

    fs::rename(&away, hsm.tokens()).unwrap_or_else(|e| panic!("{e}"));
    let back = wait_for(
        Duration::from_secs(20),
        "the token key to sign again",
        || {
            let r = sign_request(&agent, "hsm-key", "encord-v1", body);
            if r.status.success() {
                Some(r)
            } else {
                std::thread::sleep(Duration::from_millis(300));
                None
            }
        },
    );
    verify_v1(&back, &public, body);
}

/// A module outside the allowed directories stops signetd at start with a
/// message naming it; the same module is accepted once its directory is
/// allowed.
#[test]
fn a_module_outside_the_allow_list_is_refused_at_start() {
    let hsm = Hsm::new();
    let copy = hsm.dir.path().join("lib").join("libsofthsm2.so");
    fs::create_dir_all(copy.parent().unwrap_or(hsm.dir.path())).unwrap_or_else(|e| panic!("{e}"));
    fs::copy(MODULE, &copy).unwrap_or_else(|e| panic!("{e}"));
    let pin = hsm.pin_file(PIN);
    let config = |extra: &str| {
        format!(
            "[pkcs11]\nmodule = \"{}\"\ntoken = \"{LABEL}\"\npin_file = \"{}\"\n{extra}",
            copy.display(),
            pin.display()
        )
    };
    let run_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    signet_tests::chmod(run_dir.path(), 0o700);
    let file = run_dir.path().join("config.toml");
    fs::write(&file, config("")).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(signet_tests::bin("signetd"));
    cmd.env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", run_dir.path())
        .env("XDG_STATE_HOME", run_dir.path())
        .env("SIGNET_STORE", "keyutils")
        .env("SIGNET_KEYRING_SERVICE", "signet-it-pkcs11-refused")
        .env("SOFTHSM2_CONF", hsm.conf())
        .arg("--config")
        .arg(&file)
        .arg("--socket")
        .arg(run_dir.path().join("s.sock"));
    let r = run_timeout(&mut cmd, Duration::from_secs(30));
    assert_eq!(r.code(), Some(1), "{r}");
    assert!(
        r.stderr.contains("is not in an allowed directory")
            && r.stderr.contains(&copy.display().to_string()),
        "{r}"
    );
    assert!(!run_dir.path().join("s.sock").exists());

    // Allowed explicitly (user mode: the user's own file may): it starts.
    let agent = hsm.start_agent(&config(&format!(
        "allowed_module_dirs = [\"{}\"]\n",
        copy.parent().unwrap_or(hsm.dir.path()).display()
    )));
    agent.wait_log_line(&["logged in"]);
}
