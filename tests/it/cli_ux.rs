//! Issue 19's habits of the anchors and promises, against the real daemon:
//! `--json` on every command (one document, success or failure), a
//! confirmation remembered for one process (counted by a fake askpass),
//! ssh-add's habits (`-t`/`-c`, unprotected key files, three passphrase
//! tries through askpass, `start --fish/--csh` and `$SHELL`), `signet
//! reload`, a list that fits the terminal, and `pubkey`/`register` for keys
//! that are not stored.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use signet_client::Client;
use signet_tests::keystore::{Store, StoreAgent};
use signet_tests::{
    bin, chmod, generate_key, run, run_with_input, Agent, AgentOptions, Run, CHILD_PATH,
};

#[track_caller]
fn says(r: &Run, needles: &[&str]) {
    for n in needles {
        assert!(r.stderr.contains(n), "stderr lacks {n:?}:\n{r}");
    }
}

/// The subcommands `signet --help` lists.
fn subcommands() -> Vec<String> {
    let r = run(Command::new(bin("signet"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .arg("-h"));
    r.assert_ok();
    r.stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A command's line starts with two spaces; a wrapped description more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// Every subcommand, run with `--json`, prints exactly one JSON document on
/// stdout, and when it fails the document is `{"error": {kind, message,
/// exit_code}}` with the process's own exit status.
#[test]
fn every_subcommand_prints_one_json_document_success_or_failure() {
    let agent = StoreAgent::start(Store::Keyutils);
    let keys = agent.dir().join("keys");
    let session = generate_key(&keys, "ed25519", "j");
    let to_add = generate_key(&keys, "ed25519", "j-added");
    let to_import = generate_key(&keys, "ed25519", "j-import");
    agent
        .signet(["add".as_ref(), session.private.as_os_str()])
        .assert_ok();
    let data = keys.join("data");
    fs::write(&data, b"sign me").unwrap_or_else(|e| panic!("{e}"));
    let units = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = |p: &Path| p.to_string_lossy().into_owned();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    // (subcommand, arguments, stdin): in order (lock before unlock, stop last).
    let cases: Vec<(&str, Vec<String>, &[u8])> = vec![
        ("start", s(&["start"]), b""),
        ("env", s(&["env"]), b""),
        ("status", s(&["status"]), b""),
        ("reload", s(&["reload"]), b""),
        ("add", vec!["add".into(), p(&to_add.private)], b""),
        ("list", s(&["list"]), b""),
        ("remove", s(&["remove", "j-added"]), b""),
        ("generate", s(&["generate", "jg"]), b""),
        (
            "import",
            vec![
                "import".into(),
                p(&to_import.private),
                "--name".into(),
                "ji".into(),
            ],
            b"",
        ),
        ("register", s(&["register", "jg"]), b""),
        ("pubkey", s(&["pubkey", "j"]), b""),
        ("load", s(&["load", "jg"]), b""),
        ("unload", s(&["unload", "jg"]), b""),
        ("rename", s(&["rename", "ji", "ji2"]), b""),
        ("delete", s(&["delete", "ji2"]), b""), // no terminal, no --yes: refused
        ("doctor", s(&["doctor"]), b""),
        // The harness unlocked the store: already unlocked (success).
        ("unlock-store", s(&["unlock-store"]), b""),
        ("lock-store", s(&["lock-store"]), b""),
        // A wrong current passphrase: refused.
        (
            "passwd",
            s(&["passwd", "--passphrase-stdin"]),
            b"wrong\nnew\n",
        ),
        (
            "sign-request",
            s(&[
                "sign-request",
                "--key",
                "j",
                "--method",
                "GET",
                "--url",
                "/v2/x",
            ]),
            b"",
        ),
        (
            "sign",
            vec!["sign".into(), "--key".into(), "j".into(), p(&data)],
            b"",
        ),
        ("explain", s(&["explain", "--key", "j", "--ssh"]), b""),
        (
            "exec",
            s(&["exec", "--key", "not-loaded", "--", "true"]),
            b"",
        ),
        (
            "install-units",
            vec![
                "install-units".into(),
                "--user".into(),
                "--dir".into(),
                p(units.path()),
                "--signetd".into(),
                p(&bin("signetd")),
            ],
            b"",
        ),
        (
            "audit",
            vec![
                "audit".into(),
                "verify".into(),
                "--path".into(),
                p(&keys.join("no.log")),
            ],
            b"",
        ),
        (
            "secret",
            s(&["secret", "add", "js", "--kind", "encord-bearer", "--stdin"]),
            b"json-case-token\n",
        ),
        ("secret", s(&["secret", "list"]), b""),
        ("secret", s(&["secret", "remove", "no-such-secret"]), b""),
        ("completions", s(&["completions", "fish"]), b""),
        ("man", s(&["man"]), b""),
        ("lock", s(&["lock", "--passphrase-stdin"]), b"pw\n"),
        ("unlock", s(&["unlock", "--passphrase-stdin"]), b"wrong\n"),
        ("stop", s(&["stop"]), b""),
    ];
    let listed = subcommands();
    assert!(listed.len() > 20, "{listed:?}");
    for c in &listed {
        assert!(
            cases.iter().any(|(name, _, _)| name == c),
            "`signet {c}` has no --json case here: add one"
        );
    }
    let mut failures = 0;
    for (name, args, input) in &cases {
        let mut cmd = agent.signet_command();
        cmd.arg("--json").args(args);
        let r = run_with_input(&mut cmd, input);
        let doc: Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{name}: stdout is not one JSON document ({e}):\n{r}"));
        match r.code() {
            Some(0) => assert!(
                doc.get("error").is_none(),
                "{name}: an error on success:\n{r}"
            ),
            Some(code) => {
                failures += 1;
                let e = &doc["error"];
                assert_eq!(e["exit_code"], code, "{name}:\n{r}");
                assert!(
                    e["kind"].as_str().is_some_and(|k| !k.is_empty()),
                    "{name}:\n{r}"
                );
                assert!(
                    e["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{name}:\n{r}"
                );
            }
            None => panic!("{name}: killed:\n{r}"),
        }
    }
    // The failures above are real ones (delete without --yes, exec of a key
    // not loaded, a missing audit log, a wrong passphrase).
    assert!(failures >= 4, "only {failures} failures exercised");
    // A usage error is a document too, with clap's exit status.
    let r = run(agent.signet_command().args(["--json", "frobnicate"]));
    r.assert_code(2);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r}"));
    assert_eq!(doc["error"]["kind"], "usage");
    assert_eq!(doc["error"]["exit_code"], 2);
}

/// A fake askpass that says yes and counts: one line per call in `calls`,
/// the prompt appended to `prompts`.
fn counting_askpass(dir: &Path) -> PathBuf {
    let script = dir.join("counting-askpass");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho call >> '{calls}'\nprintf '%s\\n---\\n' \"$1\" >> '{prompts}'\nexit 0\n",
            calls = dir.join("calls").display(),
            prompts = dir.join("prompts").display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    chmod(&script, 0o700);
    script
}

fn calls(agent: &Agent) -> usize {
    fs::read_to_string(agent.dir().join("calls"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn a_remembered_confirmation_spares_only_the_process_that_said_yes_until_lock() {
    let agent = Agent::start_customized(AgentOptions::default(), |dir, cmd| {
        cmd.env("SIGNET_ASKPASS", counting_askpass(dir));
    });
    let key = agent.keygen("ed25519", "rem");
    let r = agent.signet([
        "add".as_ref(),
        "-c".as_ref(),
        "--remember".as_ref(),
        "10m".as_ref(),
        key.private.as_os_str(),
    ]);
    r.assert_ok();
    says(&r, &["each use confirmed", "a yes lasts 10m"]);
    let data = agent.dir().join("data");
    fs::write(&data, b"x").unwrap_or_else(|e| panic!("{e}"));
    let cli_sign = || {
        agent
            .signet([
                "sign".as_ref(),
                "--key".as_ref(),
                "rem".as_ref(),
                data.as_os_str(),
            ])
            .assert_ok();
    };
    // This test process: asked once, then remembered.
    let mut client = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    let k = client.resolve("rem").unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..3 {
        client
            .sign(&k.key_blob, b"m")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(calls(&agent), 1, "asked more than once for one process");
    let prompts = fs::read_to_string(agent.dir().join("prompts")).unwrap_or_default();
    assert!(
        prompts.contains("A yes is remembered for 10m for this process only")
            && prompts.contains(&format!("pid {}", std::process::id()))
            && prompts.contains("`signet lock` forgets it"),
        "{prompts}"
    );
    // Each `signet sign` is another process: asked each time.
    cli_sign();
    assert_eq!(calls(&agent), 2);
    cli_sign();
    assert_eq!(calls(&agent), 3);
    // A new connection of this same process is still this process.
    let mut again = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    again
        .sign(&k.key_blob, b"m")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(calls(&agent), 3);
    // `signet lock` forgets every approval.
    run_with_input(
        agent.signet_command().args(["lock", "--passphrase-stdin"]),
        b"pw\n",
    )
    .assert_ok();
    run_with_input(
        agent
            .signet_command()
            .args(["unlock", "--passphrase-stdin"]),
        b"pw\n",
    )
    .assert_ok();
    client
        .sign(&k.key_blob, b"m")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(calls(&agent), 4, "a yes survived the lock");
    client
        .sign(&k.key_blob, b"m")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(calls(&agent), 4);
    // Without --remember every use asks.
    let plain = agent.keygen("ed25519", "plain-confirm");
    agent
        .signet(["add".as_ref(), "-c".as_ref(), plain.private.as_os_str()])
        .assert_ok();
    let p = client
        .resolve("plain-confirm")
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .sign(&p.key_blob, b"m")
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .sign(&p.key_blob, b"m")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(calls(&agent), 6);
    // --remember needs --confirm.
    agent
        .signet([
            "add".as_ref(),
            "--remember".as_ref(),
            "1m".as_ref(),
            plain.private.as_os_str(),
        ])
        .assert_code(2);
}

/// An askpass that answers `wrong` until its `n`th call, then `pw`
/// (`n = 0`: always wrong); calls counted in `calls`.
fn passphrase_askpass(dir: &Path, n: u32) -> PathBuf {
    let script = dir.join(format!("pass-askpass-{n}"));
    let calls = dir.join(format!("pass-calls-{n}"));
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho call >> '{c}'\nk=$(wc -l < '{c}')\nif [ {n} -ne 0 ] && [ \"$k\" -ge {n} ]; then echo pw; else echo wrong; fi\n",
            c = calls.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    chmod(&script, 0o700);
    script
}

#[test]
fn ssh_add_habits_unprotected_files_three_tries_and_askpass_without_a_tty() {
    let agent = Agent::start();
    let keys = agent.dir().join("keys");
    // An encrypted key (ssh-keygen -N pw).
    let enc = keys.join("enc");
    run(signet_tests::ssh_command("ssh-keygen")
        .env("HOME", &keys)
        .args(["-q", "-t", "ed25519", "-N", "pw", "-C", "enc", "-f"])
        .arg(&enc))
    .assert_ok();
    // Others may read it: refused with ssh-add's reason, --force takes it.
    chmod(&enc, 0o644);
    let r = agent.signet(["add".as_ref(), enc.as_os_str()]);
    r.assert_code(1);
    says(
        &r,
        &[
            "UNPROTECTED PRIVATE KEY FILE",
            "Permissions 0644",
            "chmod 600",
            "--force",
        ],
    );
    chmod(&enc, 0o600);
    // No terminal and no askpass: how to give the passphrase.
    let r = agent.signet(["add".as_ref(), enc.as_os_str()]);
    r.assert_code(1);
    says(&r, &["--passphrase-stdin", "SIGNET_ASKPASS"]);
    // Askpass, right on the third try.
    let ask = passphrase_askpass(agent.dir(), 3);
    let r = run(agent.signet_command().env("SIGNET_ASKPASS", &ask).args([
        "add".as_ref(),
        "-t".as_ref(),
        "1h".as_ref(),
        enc.as_os_str(),
    ]));
    r.assert_ok();
    assert_eq!(r.stderr.matches("bad passphrase for").count(), 2, "{r}");
    says(&r, &["added enc", "removed in 1h"]);
    assert_eq!(
        fs::read_to_string(agent.dir().join("pass-calls-3"))
            .unwrap_or_default()
            .lines()
            .count(),
        3
    );
    // Always wrong: three tries through SSH_ASKPASS, then a clear refusal.
    let never = passphrase_askpass(agent.dir(), 0);
    let r = run(agent
        .signet_command()
        .env("SSH_ASKPASS", &never)
        .args(["add".as_ref(), enc.as_os_str()]));
    r.assert_code(1);
    says(
        &r,
        &["wrong passphrase for", "3 tries", "nothing was added"],
    );
    assert_eq!(
        fs::read_to_string(agent.dir().join("pass-calls-0"))
            .unwrap_or_default()
            .lines()
            .count(),
        3
    );
    // --passphrase-stdin: one try.
    let r = run_with_input(
        agent.signet_command().args([
            "add".as_ref(),
            "--passphrase-stdin".as_ref(),
            enc.as_os_str(),
        ]),
        b"wrong\n",
    );
    r.assert_code(1);
    says(&r, &["1 try"]);
    // The key added with -t 1h carries its lifetime.
    let list: Value = serde_json::from_str(&agent.signet(["--json", "list"]).stdout)
        .unwrap_or_else(|e| panic!("{e}"));
    let secs = list[0]["expires_in_secs"].as_u64().unwrap_or(0);
    assert!((3590..=3600).contains(&secs), "{list}");
}

#[test]
fn start_and_env_speak_the_shell_in_shell_or_the_one_asked_for() {
    let agent = Agent::start();
    let sock = agent.socket().display().to_string();
    let with_shell = |shell: &str, args: &[&str]| {
        let r = run(agent.signet_command().env("SHELL", shell).args(args));
        r.assert_ok();
        r.stdout
    };
    assert_eq!(
        with_shell("/usr/bin/fish", &["start"]),
        format!("set -gx SIGNET_AUTH_SOCK {sock};\n")
    );
    assert_eq!(
        with_shell("/bin/tcsh", &["start"]),
        format!("setenv SIGNET_AUTH_SOCK {sock};\n")
    );
    assert_eq!(
        with_shell("/bin/bash", &["start"]),
        format!("export SIGNET_AUTH_SOCK={sock};\n")
    );
    assert_eq!(
        with_shell("/usr/bin/fish", &["start", "--sh"]),
        format!("export SIGNET_AUTH_SOCK={sock};\n")
    );
    assert_eq!(
        with_shell("/bin/bash", &["start", "--csh"]),
        format!("setenv SIGNET_AUTH_SOCK {sock};\n")
    );
    assert_eq!(
        with_shell("/bin/bash", &["start", "--fish"]),
        format!("set -gx SIGNET_AUTH_SOCK {sock};\n")
    );
    assert_eq!(
        with_shell("/bin/zsh", &["env"]),
        format!("SIGNET_AUTH_SOCK={sock}; export SIGNET_AUTH_SOCK;\n")
    );
    assert_eq!(
        with_shell("/bin/csh", &["env"]),
        format!("setenv SIGNET_AUTH_SOCK {sock};\n")
    );
    // The fish line works in fish, if it is installed; the csh line in csh.
    for (shell, args) in [
        ("/usr/bin/fish", vec!["-c"]),
        ("/bin/csh", vec!["-f", "-c"]),
    ] {
        if !Path::new(shell).exists() {
            continue;
        }
        let line = with_shell(shell, &["env"]);
        let r = run(Command::new(shell)
            .env_clear()
            .env("PATH", CHILD_PATH)
            .args(&args)
            .arg(format!("{line} echo $SIGNET_AUTH_SOCK")));
        r.assert_ok();
        assert_eq!(r.stdout.trim(), sock, "{shell}:\n{r}");
    }
}

#[test]
fn reload_says_whether_the_agent_took_the_new_configuration() {
    let agent = Agent::start_with(AgentOptions {
        config: Some("[agent]\nidle_timeout_secs = 600\n".into()),
        ..AgentOptions::default()
    });
    let config = agent.config_file();
    fs::write(&config, "[agent]\nidle_timeout_secs = 30\n").unwrap_or_else(|e| panic!("{e}"));
    let r = agent.signet(["reload"]);
    r.assert_ok();
    says(
        &r,
        &["configuration reloaded from", &config.display().to_string()],
    );
    agent.wait_log_line(&["reload requested over the socket", "reloaded"]);
    fs::write(&config, "[agent]\nidle_timeout_sec = 30\n").unwrap_or_else(|e| panic!("{e}"));
    let r = agent.signet(["reload"]);
    r.assert_code(1);
    says(
        &r,
        &["keeping the previous configuration", "idle_timeout_sec"],
    );
    // Still serving, with the configuration it had.
    agent.signet(["status"]).assert_ok();
}

#[test]
fn list_fits_the_terminal_and_wide_shows_everything() {
    let agent = Agent::start();
    for name in ["first", "a-rather-long-key-name-for-a-narrow-terminal"] {
        let k = agent.keygen("ed25519", name);
        agent
            .signet(["add".as_ref(), k.private.as_os_str()])
            .assert_ok();
    }
    let narrow = run(agent.signet_command().env("COLUMNS", "64").arg("list"));
    narrow.assert_ok();
    for l in narrow.stdout.lines().filter(|l| !l.starts_with('(')) {
        assert!(l.chars().count() <= 64, "{l:?}:\n{narrow}");
    }
    assert!(narrow.stdout.contains("signet list --wide"), "{narrow}");
    assert!(!narrow.stdout.contains("KEY ID"), "{narrow}");
    // A pipe (no COLUMNS) and --wide get every column.
    for r in [
        agent.signet(["list"]),
        run(agent
            .signet_command()
            .env("COLUMNS", "64")
            .args(["list", "--wide"])),
    ] {
        r.assert_ok();
        assert!(
            r.stdout
                .lines()
                .next()
                .unwrap_or_default()
                .contains("KEY ID"),
            "{r}"
        );
        assert!(r.stdout.lines().any(|l| l.chars().count() > 120), "{r}");
    }
}

#[test]
fn pubkey_and_register_work_for_keys_that_are_not_stored() {
    let agent = Agent::start();
    let k = agent.keygen("ed25519", "session-key");
    agent
        .signet(["add".as_ref(), k.private.as_os_str()])
        .assert_ok();
    let r = agent.signet(["pubkey", "session-key"]);
    r.assert_ok();
    assert!(r.stdout.starts_with(&k.public_key_part()), "{r}");
    let r = agent.signet(["--json", "register", "session-key"]);
    r.assert_ok();
    let doc: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r}"));
    assert!(doc["public_key"]
        .as_str()
        .unwrap_or_default()
        .starts_with(&k.public_key_part()));
    assert_eq!(doc["fingerprint"], k.fingerprint().as_str());
    assert_eq!(doc["source"], "agent");
    let r = agent.signet(["register", "session-key"]);
    r.assert_ok();
    assert!(
        r.stdout.contains("loaded in the agent (source: agent)"),
        "{r}"
    );
    agent.signet(["pubkey", "nobody"]).assert_code(5);
}
