//! Bearer secrets in the agent's custody (issue 21): Encord resource API
//! keys and bearer tokens stored with `signet secret add` in the real
//! kernel keyring and the real gnome-keyring, listed without their values,
//! released by `get-secret@signet` only as their rule allows (another uid
//! of a system agent gets nothing), every release audited without the
//! value, and removed. Bad input (a secret on the command line, an unknown
//! secret, the wrong kind, a rule's refusal, an expired secret, a locked
//! agent) gets a message naming it and the next step, and the value shows
//! up in no log, error, audit line or `/proc/*/cmdline`.

use std::time::Duration;

use serde_json::Value;
use signet_tests::keystore::{Store, StoreAgent};
use signet_tests::{bin, run, wait_for, Run};

/// A value that looks like an Encord API key (and is found by a plain
/// substring search wherever it leaks).
const API_KEY: &str = "sk-SIGNETTEST-4f1d9a7c2b8e-api-key-value";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.SIGNETTEST-bearer-token.c2lnbmF0dXJl";
const PROJECT: &str = "0c9a55e1-7d3b-4c1e-9b6f-1a2b3c4d5e6f";

/// Kernel keyring descriptions of the secrets under `service`.
fn keyutils_secret_accounts(service: &str) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/keys").unwrap_or_default();
    let suffix = format!("@{service}:");
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (flags, desc) = (f.get(1)?, f.get(8)?);
            if !flags.starts_with('I') || flags.contains(['R', 'D', 'i']) {
                return None;
            }
            let (name, _) = desc.split_once(&suffix)?;
            name.strip_prefix("keyring:signet-secret.")
                .map(str::to_owned)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn add_api_key(agent: &StoreAgent, name: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "secret",
        "add",
        name,
        "--kind",
        "encord-api-key",
        "--resource",
        PROJECT,
        "--scopes",
        "LABEL_READ,LABEL_WRITE",
        "--title",
        "labelling pipeline",
        "--stdin",
    ];
    args.extend_from_slice(extra);
    agent.signet_input(args, format!("{API_KEY}\n").as_bytes())
}

fn secret_list(agent: &StoreAgent) -> Vec<Value> {
    let r = agent.signet(["--json", "secret", "list"]);
    r.assert_ok();
    assert!(
        !r.stdout.contains(API_KEY) && !r.stdout.contains(TOKEN),
        "{r}"
    );
    match serde_json::from_str::<Value>(&r.stdout) {
        Ok(Value::Array(a)) => a,
        other => panic!("not a JSON array ({other:?}):\n{r}"),
    }
}

fn audit_log(agent: &StoreAgent) -> String {
    std::fs::read_to_string(agent.dir().join("state/signet/audit.log")).unwrap_or_default()
}

/// The value appears nowhere it must not: the daemon's log, the audit log,
/// the index files.
fn assert_nowhere(agent: &StoreAgent, value: &str) {
    let cfg = agent.config_dir();
    for (what, text) in [
        ("daemon log", agent.log()),
        ("audit log", audit_log(agent)),
        (
            "secret index",
            std::fs::read_to_string(cfg.join("secrets.toml")).unwrap_or_default(),
        ),
        (
            "key index",
            std::fs::read_to_string(cfg.join("keys.toml")).unwrap_or_default(),
        ),
    ] {
        assert!(
            !text.contains(value),
            "the secret is in the {what}:\n{text}"
        );
    }
}

/// Store, list, release, restart, release again, remove — over `store`.
fn round_trip(store: Store) {
    let mut agent = StoreAgent::start(store);
    add_api_key(&agent, "labels", &[]).assert_ok();
    let bearer = agent.signet_input(
        [
            "secret",
            "add",
            "bot-token",
            "--kind",
            "encord-bearer",
            "--stdin",
        ],
        TOKEN.as_bytes(),
    );
    bearer.assert_ok();
    assert!(bearer.stderr.contains("only an admin"), "{bearer}");

    // Listed with everything but the value.
    let list = secret_list(&agent);
    assert_eq!(list.len(), 2, "{list:?}");
    let labels = list
        .iter()
        .find(|s| s["name"] == "labels")
        .unwrap_or_else(|| panic!("{list:?}"));
    assert_eq!(labels["kind"], "encord-api-key");
    assert_eq!(labels["resource"], PROJECT);
    assert_eq!(labels["title"], "labelling pipeline");
    assert_eq!(
        labels["scopes"],
        serde_json::json!(["LABEL_READ", "LABEL_WRITE"])
    );
    assert_eq!(labels["state"], "active");
    let fp = labels["fingerprint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(fp.starts_with("SHA256:"), "{labels}");
    // The fingerprint is the one of the value given (and of nothing else).
    let same = agent.signet_input(["secret", "fingerprint", "--stdin"], API_KEY.as_bytes());
    same.assert_ok();
    assert_eq!(same.stdout.trim(), fp);
    let human = agent.signet(["secret", "list"]);
    human.assert_ok();
    for needle in [
        "labels",
        "bot-token",
        "encord-bearer",
        PROJECT,
        "(admins only)",
    ] {
        assert!(human.stdout.contains(needle), "{needle}:\n{human}");
    }
    assert!(!human.stdout.contains(API_KEY), "{human}");

    // The value is in the real store, under an account of its own.
    match store {
        Store::Keyutils => {
            assert_eq!(keyutils_secret_accounts(agent.service()).len(), 2);
        }
        Store::SecretService => {
            let found = secret_tool_search(&agent);
            assert!(found.contains("signet-secret."), "{found}");
        }
    }

    // Released to the owner (an admin: these secrets have no rule), as the
    // headers curl needs.
    let r = agent.signet([
        "sign-request",
        "--secret",
        "labels",
        "--url",
        "https://api.encord.com/public",
    ]);
    r.assert_ok();
    assert_eq!(
        r.stdout,
        format!("Authorization: {API_KEY}\nResourceID: {PROJECT}\n")
    );
    let r = agent.signet([
        "sign-request",
        "--secret",
        "bot-token",
        "--url",
        "https://api.encord.com/v2/public/projects",
        "--format",
        "curl",
    ]);
    r.assert_ok();
    assert_eq!(
        r.stdout,
        format!("header = \"Authorization: Bearer {TOKEN}\"\n")
    );

    // A new daemon finds both in the store.
    agent.restart(&[]);
    let r = agent.signet(["sign-request", "--secret", "labels", "--url", "/public"]);
    r.assert_ok();
    assert!(r.stdout.contains(API_KEY), "{r}");

    // Every release audited: who, which secret, never the value.
    let audit = wait_for(Duration::from_secs(10), "three release records", || {
        let text = audit_log(&agent);
        (text.matches("\"event\":\"release\"").count() >= 3).then_some(text)
    });
    let releases: Vec<Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "release")
        .collect();
    assert_eq!(releases.len(), 3, "{audit}");
    assert_eq!(releases[0]["key"], "labels");
    assert_eq!(releases[0]["scheme"], "encord-api-key");
    assert_eq!(releases[0]["target"], PROJECT);
    assert_eq!(releases[1]["key"], "bot-token");
    assert_eq!(releases[0]["uid"], u64::from(signet_tests::my_uid()));
    assert!(releases[0]["pid"].as_u64().is_some(), "{}", releases[0]);
    assert!(
        releases[0]["exe"]
            .as_str()
            .is_some_and(|e| e.ends_with("/signet")),
        "{}",
        releases[0]
    );
    let verify = agent.signet(["audit", "verify"]);
    verify.assert_ok();
    assert_nowhere(&agent, API_KEY);
    assert_nowhere(&agent, TOKEN);

    // Removed: gone from the list, the store and the agent.
    let r = agent.signet(["secret", "remove", "labels"]);
    r.assert_ok();
    assert!(r.stderr.contains(&fp), "{r}");
    let list = secret_list(&agent);
    assert_eq!(list.len(), 1, "{list:?}");
    if store == Store::Keyutils {
        assert_eq!(keyutils_secret_accounts(agent.service()).len(), 1);
    }
    let r = agent.signet(["sign-request", "--secret", "labels", "--url", "/public"]);
    r.assert_code(5);
    assert!(r.stderr.contains("no secret named \"labels\""), "{r}");
    assert!(r.stderr.contains("signet secret list"), "{r}");
    agent.signet(["secret", "remove", "bot-token"]).assert_ok();
    if store == Store::SecretService {
        let found = secret_tool_search(&agent);
        assert!(!found.contains("signet-secret."), "{found}");
    } else {
        assert!(keyutils_secret_accounts(agent.service()).is_empty());
    }
}

/// What gnome-keyring holds under the agent's service (`secret-tool`, on
/// the agent's session bus).
fn secret_tool_search(agent: &StoreAgent) -> String {
    let mut cmd = std::process::Command::new(signet_tests::system_tool("/usr/bin/secret-tool"));
    cmd.env_clear()
        .env("DBUS_SESSION_BUS_ADDRESS", agent.session_bus())
        .env("HOME", agent.dir().join("home"))
        .args(["search", "--all", "service", agent.service()]);
    let r = run(&mut cmd);
    format!("{}{}", r.stdout, r.stderr)
}

#[test]
fn store_list_release_remove_in_the_kernel_keyring() {
    round_trip(Store::Keyutils);
}

#[test]
fn store_list_release_remove_in_gnome_keyring() {
    round_trip(Store::SecretService);
}

/// Everything refused says what and what next, and stores or releases nothing.
#[test]
fn bad_input_is_named_and_nothing_leaks() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    // A secret on the command line: refused before anything is sent.
    for args in [
        vec![
            "secret",
            "add",
            "x",
            "--kind",
            "encord-api-key",
            "--resource",
            PROJECT,
            "--value",
            API_KEY,
        ],
        vec![
            "secret",
            "add",
            "x",
            "--kind",
            "encord-bearer",
            "--token",
            TOKEN,
        ],
        vec!["secret", "add", "x", "--kind", "encord-bearer", TOKEN],
        vec![
            "secret",
            "add",
            "x",
            "--kind",
            "encord-api-key",
            "--api-key",
            API_KEY,
            "--resource",
            PROJECT,
        ],
    ] {
        let r = agent.signet(&args);
        r.assert_code(2);
        assert!(r.stderr.contains("refusing a secret given as"), "{r}");
        assert!(r.stderr.contains("--stdin"), "{r}");
        assert!(
            !r.stderr.contains(API_KEY) && !r.stderr.contains(TOKEN),
            "{r}"
        );
    }
    assert!(secret_list(&agent).is_empty());
    // No terminal and no --stdin: told how.
    let r = agent.signet_input(["secret", "add", "x", "--kind", "encord-bearer"], b"");
    r.assert_code(1);
    assert!(r.stderr.contains("--stdin"), "{r}");
    // An API key without its resource; a value with a space; an empty one.
    let r = agent.signet_input(
        ["secret", "add", "x", "--kind", "encord-api-key", "--stdin"],
        API_KEY.as_bytes(),
    );
    r.assert_code(1);
    assert!(r.stderr.contains("--resource ID"), "{r}");
    let r = agent.signet_input(
        ["secret", "add", "x", "--kind", "encord-bearer", "--stdin"],
        b"two words",
    );
    r.assert_code(1);
    assert!(
        r.stderr.contains("byte 4") && !r.stderr.contains("two words"),
        "{r}"
    );
    let r = agent.signet_input(
        ["secret", "add", "x", "--kind", "encord-bearer", "--stdin"],
        b"\n",
    );
    r.assert_code(1);
    assert!(r.stderr.contains("empty"), "{r}");

    // A name taken: refused unless --replace, which keeps one secret.
    add_api_key(&agent, "labels", &[]).assert_ok();
    let r = add_api_key(&agent, "labels", &[]);
    r.assert_code(1);
    assert!(r.stderr.contains("--replace"), "{r}");
    add_api_key(&agent, "labels", &["--replace"]).assert_ok();
    assert_eq!(secret_list(&agent).len(), 1);
    assert_eq!(keyutils_secret_accounts(agent.service()).len(), 1);

    // The wrong kind for the consumer: an API key on a v2 URL.
    let r = agent.signet([
        "sign-request",
        "--secret",
        "labels",
        "--url",
        "https://api.encord.com/v2/public/projects",
    ]);
    r.assert_code(1);
    assert!(
        r.stderr.contains("v1 API only") && r.stderr.contains("labels"),
        "{r}"
    );
    assert!(
        !r.stdout.contains(API_KEY) && !r.stderr.contains(API_KEY),
        "{r}"
    );

    // Expired: refused with the time and the way out.
    add_api_key(&agent, "short", &["--lifetime", "1s"]).assert_ok();
    std::thread::sleep(Duration::from_millis(2100));
    let r = agent.signet(["sign-request", "--secret", "short", "--url", "/public"]);
    r.assert_code(1);
    assert!(r.stderr.contains("secret short: expired at"), "{r}");
    assert!(r.stderr.contains("--replace"), "{r}");

    // A rule that refuses this caller (its executable), and a release rate.
    std::fs::write(
        agent.config_dir().join("config.toml"),
        "[policies.python-only]\nexecutables = [\"/usr/bin/python3*\"]\n\n\
         [policies.anyone]\nuids = [0]\n\n\
         [secrets.labels]\npolicy = \"python-only\"\n\n\
         [secrets.limited]\npolicy = \"anyone\"\nreleases_per_minute = 1\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    agent.restart(&[]);
    let r = agent.signet(["sign-request", "--secret", "labels", "--url", "/public"]);
    r.assert_code(1);
    assert!(
        r.stderr.contains("secret labels: caller executable")
            && r.stderr.contains("not allowed by rule python-only"),
        "{r}"
    );
    add_api_key(&agent, "limited", &[]).assert_ok();
    agent
        .signet(["sign-request", "--secret", "limited", "--url", "/public"])
        .assert_ok();
    let r = agent.signet(["sign-request", "--secret", "limited", "--url", "/public"]);
    r.assert_code(1);
    assert!(r.stderr.contains("release rate limit reached"), "{r}");

    // A locked agent releases nothing.
    agent
        .signet_input(["lock", "--passphrase-stdin"], b"pw\n")
        .assert_ok();
    let r = agent.signet(["sign-request", "--secret", "limited", "--url", "/public"]);
    r.assert_code(4);
    assert!(r.stderr.contains("locked"), "{r}");
    let r = agent.signet(["secret", "list"]);
    r.assert_code(4);
    agent
        .signet_input(["unlock", "--passphrase-stdin"], b"pw\n")
        .assert_ok();

    // Every refusal audited with its reason, and the value nowhere.
    let audit = wait_for(Duration::from_secs(10), "refusal records", || {
        let t = audit_log(&agent);
        t.contains("release rate limit").then_some(t)
    });
    assert!(
        audit.contains("\"scheme\":\"get-secret@signet\""),
        "{audit}"
    );
    assert!(audit.contains("not allowed by rule python-only"), "{audit}");
    assert!(audit.contains("expired at"), "{audit}");
    assert_nowhere(&agent, API_KEY);
}

/// `signet exec --secret`: the job gets exactly the documented variables,
/// and no process's command line holds the value.
#[test]
fn exec_sets_exactly_the_documented_variables() {
    let agent = StoreAgent::start(Store::Keyutils);
    add_api_key(&agent, "labels", &[]).assert_ok();
    agent
        .signet_input(
            ["secret", "add", "bot", "--kind", "encord-bearer", "--stdin"],
            TOKEN.as_bytes(),
        )
        .assert_ok();
    let dir = agent.dir().join("exec");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let marker = dir.join("running");
    // The job: says it runs, waits to be scanned, prints its environment.
    let job = format!(
        "touch {m}; while [ -e {m} ]; do sleep 0.05; done; env -0",
        m = marker.display()
    );
    let env_of = |args: &[&str], value: &str, stale: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut cmd = agent.signet_command();
        for (k, v) in stale {
            cmd.env(k, v);
        }
        cmd.args(["exec"])
            .args(args)
            .args(["--", "/bin/sh", "-c", &job]);
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
        wait_for(Duration::from_secs(10), "the job", || {
            marker.exists().then_some(())
        });
        // While it runs: no process's command line holds the value.
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                assert!(
                    !cmdline.windows(value.len()).any(|w| w == value.as_bytes()),
                    "{} has the secret on its command line",
                    entry.path().display()
                );
            }
        }
        std::fs::remove_file(&marker).unwrap_or_else(|e| panic!("{e}"));
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    let baseline = env_of(&[], API_KEY, &[]);
    let diff = |env: &[(String, String)]| -> Vec<(String, String)> {
        let mut d: Vec<(String, String)> = env
            .iter()
            .filter(|kv| !baseline.contains(kv))
            .cloned()
            .collect();
        d.sort();
        d
    };
    let stale = [
        ("CORD_API_KEY", "stale"),
        ("CORD_PROJECT_ID", "stale"),
        ("ENCORD_DATASET_ID", "stale"),
    ];
    let api = env_of(&["--secret", "labels"], API_KEY, &stale);
    assert_eq!(
        diff(&api),
        vec![
            ("ENCORD_API_KEY".to_owned(), API_KEY.to_owned()),
            ("ENCORD_PROJECT_ID".to_owned(), PROJECT.to_owned()),
        ]
    );
    assert!(
        api.iter()
            .all(|(k, _)| !k.starts_with("CORD_") && k != "ENCORD_DATASET_ID"),
        "{api:?}"
    );
    let dataset = env_of(
        &["--secret", "labels", "--resource-type", "dataset"],
        API_KEY,
        &[],
    );
    assert_eq!(
        diff(&dataset),
        vec![
            ("ENCORD_API_KEY".to_owned(), API_KEY.to_owned()),
            ("ENCORD_DATASET_ID".to_owned(), PROJECT.to_owned()),
        ]
    );
    let bearer = env_of(&["--secret", "bot"], TOKEN, &[]);
    assert_eq!(
        diff(&bearer),
        vec![("ENCORD_BEARER_TOKEN".to_owned(), TOKEN.to_owned())]
    );
    // An unknown secret: the job does not start.
    let r = agent.signet(["exec", "--secret", "nope", "--", "/bin/true"]);
    r.assert_code(5);
    assert!(r.stderr.contains("no secret named \"nope\""), "{r}");
    assert_nowhere(&agent, API_KEY);
    assert_nowhere(&agent, TOKEN);
}

/// A system agent: a secret whose rule names one uid is released to that
/// uid and to nobody else (another uid on the allow-list gets the refusal
/// and nothing more); a secret without a rule only to an admin.
#[test]
fn a_refused_caller_of_a_system_agent_gets_nothing() {
    use signet_tests::{keystore::keyutils_purge, shared_tempdir, Agent, AgentOptions, TempUser};
    assert_eq!(
        signet_tests::my_uid(),
        0,
        "secrets needs root here (useradd, setpriv, a system agent); run the tests as root (CI does)"
    );
    let allowed = TempUser::create("scok");
    let other = TempUser::create("scno");
    let base = shared_tempdir();
    let socket = base.path().join("run/signet/agent.sock");
    let audit = base.path().join("audit.log");
    let service = format!("signet-test-secrets-{}", std::process::id());
    struct Purge(String);
    impl Drop for Purge {
        fn drop(&mut self) {
            keyutils_purge(&self.0);
        }
    }
    let _purge = Purge(service.clone());
    let config = format!(
        "[system]\nallow_uids = [{}, {}]\n\n[store]\nbackend = \"keyutils\"\nservice = \"{service}\"\n\n\
         [policies.labeller]\nuids = [{}]\n\n[secrets.labels]\npolicy = \"labeller\"\n\n[audit]\npath = {:?}\n",
        allowed.uid, other.uid, allowed.uid, audit
    );
    let agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some(config),
        args: vec!["--system".to_owned()],
    });
    // root (an admin) stores both.
    let mut add = agent.signet_command();
    add.args([
        "secret",
        "add",
        "labels",
        "--kind",
        "encord-api-key",
        "--resource",
        PROJECT,
        "--stdin",
    ]);
    signet_tests::run_with_input(&mut add, API_KEY.as_bytes()).assert_ok();
    let mut add = agent.signet_command();
    add.args([
        "secret",
        "add",
        "admins-only",
        "--kind",
        "encord-bearer",
        "--stdin",
    ]);
    signet_tests::run_with_input(&mut add, TOKEN.as_bytes()).assert_ok();

    let as_user = |user: &TempUser, args: &[&str]| {
        let mut c = user.command(bin("signet"));
        c.env("HOME", "/nonexistent")
            .arg("--socket")
            .arg(&socket)
            .args(args);
        run(&mut c)
    };
    let get = ["sign-request", "--secret", "labels", "--url", "/public"];
    let r = as_user(&allowed, &get);
    r.assert_ok();
    assert!(r.stdout.contains(API_KEY), "{r}");
    let r = as_user(&other, &get);
    r.assert_code(1);
    assert!(
        r.stderr.contains(&format!(
            "secret labels: caller uid {} not allowed by rule labeller",
            other.uid
        )),
        "{r}"
    );
    assert!(
        !r.stdout.contains(API_KEY) && !r.stderr.contains(API_KEY),
        "{r}"
    );
    // exec: the job never starts for the refused caller.
    let r = as_user(
        &other,
        &["exec", "--secret", "labels", "--", "/usr/bin/env"],
    );
    r.assert_code(1);
    assert!(!r.stdout.contains(API_KEY), "{r}");
    // No rule: admins only; signers may not add, remove or list-and-take.
    for user in [&allowed, &other] {
        let r = as_user(
            user,
            &[
                "sign-request",
                "--secret",
                "admins-only",
                "--url",
                "/v2/public/x",
            ],
        );
        r.assert_code(1);
        assert!(r.stderr.contains("only an admin"), "{r}");
        let r = as_user(user, &["secret", "remove", "labels"]);
        r.assert_code(1);
        assert!(r.stderr.contains("admin"), "{r}");
    }
    // The audit log: one release to the allowed uid, refusals for the other.
    let text = wait_for(Duration::from_secs(10), "audit records", || {
        let t = std::fs::read_to_string(&audit).unwrap_or_default();
        (t.matches("\"event\":\"refuse\"").count() >= 5).then_some(t)
    });
    let records: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let releases: Vec<&Value> = records.iter().filter(|r| r["event"] == "release").collect();
    assert_eq!(releases.len(), 1, "{text}");
    assert_eq!(releases[0]["uid"], u64::from(allowed.uid));
    assert_eq!(releases[0]["rule"], "labeller");
    assert!(records.iter().any(|r| r["event"] == "refuse"
        && r["uid"] == u64::from(other.uid)
        && r["key"] == "labels"));
    assert!(!text.contains(API_KEY) && !text.contains(TOKEN), "{text}");
    assert!(
        !agent.log().contains(API_KEY),
        "the daemon log holds the secret"
    );
}

/// `signet secret mint-bearer`: the exact request the CLI sends (against the
/// loopback HTTPS stand-in of Encord: GET /v2/public/user/bearer-token, no
/// body, a v2 signature by the agent key that verifies), and the token it
/// stores as an encord-bearer secret.
#[test]
fn mint_bearer_sends_a_v2_signed_request_and_stores_the_token() {
    use base64::Engine as _;
    use signet_proto::encord::{self, Scheme};
    let agent = StoreAgent::start(Store::Keyutils);
    let r = agent.signet(["generate", "ci-bot"]);
    r.assert_ok();
    let line = r.stdout.trim().to_owned();
    let blob = base64::engine::general_purpose::STANDARD
        .decode(line.split_whitespace().nth(1).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {line}"));
    let public: [u8; 32] = blob[blob.len() - 32..]
        .try_into()
        .unwrap_or_else(|_| panic!("{line}"));
    agent.signet(["load", "ci-bot"]).assert_ok();

    // The stand-in, with a certificate for 127.0.0.1.
    let dir = agent.dir().join("standin");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let (cert, key, port_file, log, token_file) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("port"),
        dir.join("requests.jsonl"),
        dir.join("token"),
    );
    std::fs::write(&token_file, TOKEN).unwrap_or_else(|e| panic!("{e}"));
    let mut gen = std::process::Command::new(signet_tests::system_tool("/usr/bin/openssl"));
    gen.args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        // An end-entity certificate that is its own trust anchor (webpki
        // refuses a CA certificate as the server's).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert);
    run(&mut gen).assert_ok();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _standin = Kill(
        std::process::Command::new(signet_tests::system_tool("/usr/bin/python3"))
            .arg(repo.join("tests/fixtures/encord_standin.py"))
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .arg("--bearer-token-file")
            .arg(&token_file)
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the stand-in: {e}")),
    );
    let port: u16 = wait_for(Duration::from_secs(20), "the stand-in's port", || {
        std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
    });
    let domain = format!("https://127.0.0.1:{port}");

    // Plain HTTP is refused before anything is signed or sent.
    let r = agent.signet([
        "secret",
        "mint-bearer",
        "bot",
        "--key",
        "ci-bot",
        "--domain",
        "http://127.0.0.1:1",
    ]);
    r.assert_code(1);
    assert!(r.stderr.contains("https://"), "{r}");

    let mut cmd = agent.signet_command();
    cmd.args([
        "secret",
        "mint-bearer",
        "bot",
        "--key",
        "ci-bot",
        "--lifetime",
        "12h",
    ])
    .arg("--domain")
    .arg(&domain)
    .arg("--ca-file")
    .arg(&cert);
    let r = run(&mut cmd);
    r.assert_ok();
    assert!(
        r.stderr
            .contains("minted a bearer token with key \"ci-bot\""),
        "{r}"
    );
    assert!(
        !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
        "{r}"
    );

    // Exactly one request, exactly the SDK's: GET, the path, no body, v2.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let reqs: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(reqs.len(), 1, "{text}");
    let req = &reqs[0];
    assert_eq!(req["method"], "GET");
    assert_eq!(req["target"], "/v2/public/user/bearer-token");
    assert_eq!(req["body"], "");
    let header = |name: &str| -> String {
        req["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|h| {
                (h[0].as_str()?.eq_ignore_ascii_case(name))
                    .then(|| h[1].as_str().map(str::to_owned))?
            })
            .unwrap_or_else(|| panic!("no {name} header: {req}"))
    };
    let input = header("Signature-Input");
    let created: u64 = input
        .split("created=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no created in {input:?}"));
    let prepared = encord::prepare(
        Scheme::EncordV2,
        "GET",
        "/v2/public/user/bearer-token",
        &signet_client::sha256(b""),
        &public,
        created,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sig: [u8; 64] = header("Signature")
        .strip_prefix("encord-sig=:")
        .and_then(|s| s.strip_suffix(':'))
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("bad Signature header: {req}"));
    ed25519_dalek::VerifyingKey::from_bytes(&public)
        .and_then(|k| {
            k.verify_strict(
                prepared.message(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
        })
        .unwrap_or_else(|e| panic!("the v2 signature does not verify: {e}\n{req}"));
    assert_eq!(
        header("Content-Digest"),
        encord::content_digest(&signet_client::sha256(b""))
    );

    // Stored as an encord-bearer secret, released as a bearer header.
    let list = secret_list(&agent);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["name"], "bot");
    assert_eq!(list[0]["kind"], "encord-bearer");
    assert!(list[0]["expires_at"].is_string(), "{list:?}");
    let r = agent.signet([
        "sign-request",
        "--secret",
        "bot",
        "--url",
        "/v2/public/projects",
    ]);
    r.assert_ok();
    assert_eq!(r.stdout, format!("Authorization: Bearer {TOKEN}\n"));
    assert_nowhere(&agent, TOKEN);
}

/// A crash (abort) at every step of `secret add`, `--replace` and
/// `secret remove`: after a restart the name holds the old value or the new
/// one, whole, never none and never a torn entry, and the keyring holds no
/// value the index does not name.
#[test]
fn a_crash_at_any_step_leaves_the_old_value_or_the_new_one() {
    const NEW: &str = "sk-SIGNETTEST-the-replacement-value";
    let mut agent = StoreAgent::start(Store::Keyutils);
    let released = |agent: &StoreAgent| -> Option<String> {
        let r = agent.signet(["sign-request", "--secret", "labels", "--url", "/public"]);
        (r.code() == Some(0)).then(|| {
            r.stdout
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("Authorization: "))
                .unwrap_or_default()
                .to_owned()
        })
    };
    // (step, whether the value being added survives)
    for (step, kept) in [
        ("after-secret-pending", false),
        ("after-secret-put", true),
        ("after-secret-commit", true),
    ] {
        // A first add, interrupted.
        agent.restart(&[("SIGNET_FAULT", step)]);
        add_api_key(&agent, "labels", &[]).assert_fail();
        agent.wait_exit();
        agent.restart(&[]);
        assert_eq!(
            released(&agent).as_deref(),
            kept.then_some(API_KEY),
            "{step}"
        );
        if !kept {
            add_api_key(&agent, "labels", &[]).assert_ok();
        }
        assert_eq!(keyutils_secret_accounts(agent.service()).len(), 1, "{step}");
        // A replace, interrupted at the same step.
        agent.restart(&[("SIGNET_FAULT", step)]);
        agent
            .signet_input(
                [
                    "secret",
                    "add",
                    "labels",
                    "--kind",
                    "encord-api-key",
                    "--resource",
                    PROJECT,
                    "--replace",
                    "--stdin",
                ],
                NEW.as_bytes(),
            )
            .assert_fail();
        agent.wait_exit();
        agent.restart(&[]);
        let want = if kept { NEW } else { API_KEY };
        assert_eq!(released(&agent).as_deref(), Some(want), "replace, {step}");
        let list = secret_list(&agent);
        assert_eq!(list.len(), 1, "{step}: {list:?}");
        assert_eq!(list[0]["state"], "active", "{step}");
        assert_eq!(keyutils_secret_accounts(agent.service()).len(), 1, "{step}");
        agent.signet(["secret", "remove", "labels"]).assert_ok();
    }
    // A remove interrupted after its tombstone: finished at the next start.
    add_api_key(&agent, "labels", &[]).assert_ok();
    agent.restart(&[("SIGNET_FAULT", "after-secret-tombstone")]);
    agent.signet(["secret", "remove", "labels"]).assert_fail();
    agent.wait_exit();
    agent.restart(&[]);
    assert!(secret_list(&agent).is_empty());
    assert!(keyutils_secret_accounts(agent.service()).is_empty());
    assert_eq!(released(&agent), None);
}
