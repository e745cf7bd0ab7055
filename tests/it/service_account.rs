//! The build-machine scenario: `signetd --system` runs as root with an
//! allow-list of one group; a CI job running as an unprivileged member of
//! that group signs a real Encord v2 request through the socket (with
//! `signet sign-request` and under `signet exec`); a user outside the group
//! is refused even though the socket is world-writable, and the refusal is
//! logged with the caller's uid and pid.
//!
//! Needs root (CI runs as root): it creates a group and two users with
//! unique names (`useradd`/`groupadd`) and removes them at the end.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use ed25519_dalek::Verifier as _;
use signet_proto::encord::{self, Scheme};
use signet_tests::{
    bin, chmod, generate_key, my_uid, read_ed25519_private, run, system_tool, Agent, AgentOptions,
    Run, CHILD_PATH,
};

/// A group and users made for this test, deleted on drop.
struct Accounts {
    group: String,
    member: String,
    outsider: String,
}

impl Accounts {
    fn create() -> Self {
        // Short (useradd limits names to 32 characters) and unique per run.
        let tag = format!(
            "{}{}",
            std::process::id(),
            std::time::UNIX_EPOCH
                .elapsed()
                .map(|d| d.subsec_micros())
                .unwrap_or(0)
                % 1000
        );
        let a = Accounts {
            group: format!("sgci{tag}"),
            member: format!("sgjob{tag}"),
            outsider: format!("sgout{tag}"),
        };
        let sbin = |tool: &str| system_tool(&format!("/usr/sbin/{tool}"));
        run(Command::new(sbin("groupadd")).arg(&a.group)).assert_ok();
        for (user, extra) in [(&a.member, Some(&a.group)), (&a.outsider, None)] {
            let mut cmd = Command::new(sbin("useradd"));
            cmd.args(["--no-create-home", "--no-user-group", "--gid", "nogroup"])
                .args(["--shell", "/usr/sbin/nologin", "--home-dir", "/nonexistent"]);
            if let Some(g) = extra {
                cmd.args(["--groups", g]);
            }
            run(cmd.arg(user)).assert_ok();
        }
        a
    }

    fn uid(&self, user: &str) -> u32 {
        let r = run(Command::new("id").args(["-u", user]));
        r.assert_ok();
        r.stdout
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{e}: {r}"))
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for user in [&self.member, &self.outsider] {
            let _ = Command::new("/usr/sbin/userdel").arg(user).status();
        }
        let _ = Command::new("/usr/sbin/groupdel").arg(&self.group).status();
    }
}

/// A command run as `user` with their groups from the group database
/// (`setpriv --init-groups`), as a CI runner starts a job.
fn as_user(user: &str, program: &Path) -> Command {
    let mut cmd = Command::new(system_tool("/usr/bin/setpriv"));
    cmd.env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", "/nonexistent")
        .args([
            &format!("--reuid={user}"),
            "--regid=nogroup",
            "--init-groups",
            "--",
        ])
        .arg(program);
    cmd
}

fn sign_request_as(user: &str, socket: &Path) -> Run {
    run(as_user(user, &bin("signet"))
        .arg("--socket")
        .arg(socket)
        .args([
            "sign-request",
            "--key",
            "ci-bot",
            "--method",
            "POST",
            "--url",
            "https://api.encord.com/v2/public/projects",
            "--body",
            "{}",
            "--format",
            "headers",
        ]))
}

fn verify_v2_headers(r: &Run, public: &[u8; 32]) {
    let header = |name: &str| {
        r.stdout
            .lines()
            .find_map(|l| {
                l.split_once(": ")
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_owned())
            })
            .unwrap_or_else(|| panic!("no {name} header:\n{r}"))
    };
    let input = header("Signature-Input");
    let created: u64 = input
        .split("created=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no created in {input:?}"));
    let digest = signet_client::sha256(b"{}");
    let prepared = encord::prepare(
        Scheme::EncordV2,
        "POST",
        "/v2/public/projects",
        &digest,
        public,
        created,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sig = header("Signature");
    let sig: [u8; 64] = sig
        .strip_prefix("encord-sig=:")
        .and_then(|s| s.strip_suffix(':'))
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("bad Signature header:\n{r}"));
    ed25519_dalek::VerifyingKey::from_bytes(public)
        .and_then(|k| {
            k.verify(
                prepared.message(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
        })
        .unwrap_or_else(|e| panic!("the job's v2 signature does not verify: {e}\n{r}"));
}

#[test]
fn build_machine_allow_list_by_group() {
    assert_eq!(
        my_uid(),
        0,
        "service_account needs root (useradd, setpriv, a root daemon); run the tests as root (CI does)"
    );
    let accounts = Accounts::create();

    // The machine's layout, in a temp dir every user can traverse: the key
    // file root-only (an explicit `source = "file"`), the socket where
    // system mode puts it relative to its run directory.
    let base = tempfile::Builder::new()
        .prefix("signet-sys.")
        .tempdir()
        .unwrap_or_else(|e| panic!("{e}"));
    chmod(base.path(), 0o755);
    let key = generate_key(&base.path().join("keys"), "ed25519", "ci-bot");
    chmod(&base.path().join("keys"), 0o700);
    let (_, public) = read_ed25519_private(&key.private);
    let socket: PathBuf = base.path().join("run/signet/agent.sock");
    // The agent's state (audit log, audit key) in the temp dir: system
    // mode's default is /var/lib/signet, which the test must not touch.
    let machine = MachineState::snapshot();
    let state = base.path().join("state");
    let config = format!(
        "[system]\nallow_groups = [\"{}\"]\n\n[keys.ci-bot]\nsource = \"file\"\npath = \"{}\"\n",
        accounts.group,
        key.private.display(),
    );
    let mut agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some(config),
        args: vec![
            "--system".to_owned(),
            "--state-dir".to_owned(),
            state.display().to_string(),
        ],
    });
    agent.wait_log_line(&["loaded configured key", "ci-bot"]);
    let listening = agent.wait_log_line(&["listening", "system=true"]);
    // The group, not its members in /etc/group: a process must hold it.
    let gid = run(Command::new("getent").args(["group", &accounts.group]));
    let gid = gid.stdout.split(':').nth(2).unwrap_or_default().to_owned();
    assert!(
        listening.contains(&format!("uids [], processes holding gids [{gid}]")),
        "{listening}"
    );

    // No `signet` group here: the socket is world-writable, so only the
    // daemon's allow-list keeps the outsider out.
    let mode = std::fs::metadata(&socket)
        .unwrap_or_else(|e| panic!("{e}"))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o666, "system-mode socket mode");

    // The job, as a member of the allowed group, signs a real v2 request.
    let r = sign_request_as(&accounts.member, &socket);
    r.assert_ok();
    verify_v2_headers(&r, &public);

    // The same job under `signet exec`: the socket and key name in its
    // environment, the raw key replaced by a reference to the agent key, no
    // key file, and its exit status passed through; `sign-request` without
    // --key signs with $SIGNET_KEY.
    let script = "echo \"sock=$SIGNET_AUTH_SOCK key=$SIGNET_KEY raw=${ENCORD_SSH_KEY-unset} file=${ENCORD_SSH_KEY_FILE-unset}\"; \
                  \"$0\" sign-request --method POST --url https://api.encord.com/v2/public/projects --body '{}' --format headers; \
                  exit 7";
    let r = run(as_user(&accounts.member, &bin("signet"))
        .env("SIGNET_AUTH_SOCK", &socket)
        .env(
            "ENCORD_SSH_KEY",
            "-----BEGIN OPENSSH PRIVATE KEY----- (must not reach the job)",
        )
        .env("ENCORD_SSH_KEY_FILE", "/root/.ssh/encord")
        .args(["exec", "--key", "ci-bot", "--", "/bin/sh", "-c", script])
        .arg(bin("signet")));
    r.assert_code(7);
    assert!(
        r.stdout.contains(&format!(
            "sock={} key=ci-bot raw=signet:{} file=unset",
            socket.display(),
            signet_proto::key::key_id(&public)
        )),
        "{r}"
    );
    verify_v2_headers(&r, &public);

    // `signet exec` refuses to start the job if the key is not there.
    let r = run(as_user(&accounts.member, &bin("signet"))
        .env("SIGNET_AUTH_SOCK", &socket)
        .args(["exec", "--key", "no-such-key", "--", "/bin/echo", "job ran"]));
    r.assert_code(5);
    assert!(!r.stdout.contains("job ran"), "{r}");

    // The outsider is refused: no reply, and the log names uid and pid.
    let outsider_uid = accounts.uid(&accounts.outsider);
    let r = sign_request_as(&accounts.outsider, &socket);
    r.assert_fail();
    assert!(
        !r.stdout.contains("Signature"),
        "the outsider got a signature:\n{r}"
    );
    let refused = agent.wait_log_line(&["refused connection", &format!("uid={outsider_uid}")]);
    assert!(refused.contains("pid=Some("), "{refused}");
    assert!(refused.contains("gid=65534"), "{refused}");
    let r = run(as_user(&accounts.outsider, &bin("signet"))
        .env("SIGNET_AUTH_SOCK", &socket)
        .args(["exec", "--", "/bin/echo", "job ran"]));
    r.assert_fail();
    assert!(!r.stdout.contains("job ran"), "{r}");

    // Every signature and refusal above is in the agent's own log, sealed,
    // and nothing was written outside the test's directory.
    agent.signal(signet_tests::Signal::TERM);
    agent.wait_exit();
    let log = std::fs::read_to_string(state.join("audit.log")).unwrap_or_default();
    assert!(
        log.contains("\"event\":\"sign\"") && log.contains("\"trigger\":\"shutdown\""),
        "{log}"
    );
    assert!(state.join("audit.key").exists());
    machine.assert_unchanged();
}

/// `/var/lib/signet` (the system agent's default state directory) as it
/// was: the tests must leave it as they found it (absent, on a clean CI
/// machine).
struct MachineState(Option<Vec<(String, u64, std::time::SystemTime)>>);

impl MachineState {
    const DIR: &'static str = signet_proto::paths::SYSTEM_STATE_DIR;

    fn snapshot() -> Self {
        let Ok(entries) = std::fs::read_dir(Self::DIR) else {
            return Self(None);
        };
        let mut files: Vec<_> = entries
            .flatten()
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((
                    e.file_name().to_string_lossy().into_owned(),
                    m.len(),
                    m.modified().ok()?,
                ))
            })
            .collect();
        files.sort();
        Self(Some(files))
    }

    fn assert_unchanged(&self) {
        let now = Self::snapshot();
        assert_eq!(
            now.0,
            self.0,
            "{} changed while the test ran: a system-mode agent wrote outside its --state-dir",
            Self::DIR
        );
    }
}

#[test]
fn system_mode_with_an_empty_allow_list_serves_root_only() {
    assert_eq!(my_uid(), 0, "needs root; run the tests as root (CI does)");
    let machine = MachineState::snapshot();
    let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    chmod(base.path(), 0o755);
    let socket = base.path().join("run/signet/agent.sock");
    let agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some(String::new()),
        args: vec!["--system".to_owned()],
    });
    agent.wait_log_line(&["listening", "root only"]);
    // root itself is served.
    agent.signet(["status"]).assert_ok();
    // nobody is not, socket mode notwithstanding.
    let r = run(as_user("nobody", &bin("signet"))
        .arg("--socket")
        .arg(&socket)
        .arg("status"));
    r.assert_fail();
    agent.wait_log_line(&["refused connection", "uid=65534"]);
    // The harness gave it a state directory in its temp dir.
    assert!(agent.system_state_dir().join("audit.log").exists());
    drop(agent);
    machine.assert_unchanged();
}

#[test]
fn system_mode_refuses_an_unknown_group() {
    let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = base.path().join("signetd.toml");
    std::fs::write(
        &cfg,
        "[system]\nallow_groups = [\"no-such-group-signet\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = run(Command::new(bin("signetd"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", base.path())
        .args(["--system", "--config"])
        .arg(&cfg)
        .arg("--state-dir")
        .arg(base.path().join("state"))
        .arg("--socket")
        .arg(base.path().join("agent.sock")));
    r.assert_code(1);
    assert!(
        r.stderr.contains("no-such-group-signet") && r.stderr.contains("groupadd"),
        "{r}"
    );
    assert!(!base.path().join("agent.sock").exists());
}

/// The audit log's lines, parsed.
fn audit_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits until the audit log has a refusal of `operation` (its `scheme`)
/// for `uid` with the role message.
#[track_caller]
fn wait_role_refusal(path: &Path, operation: &str, uid: u32) -> serde_json::Value {
    signet_tests::wait_for(
        signet_tests::DEADLINE,
        &format!("the audit record of the refused {operation}"),
        || {
            audit_lines(path).into_iter().find(|l| {
                l["event"] == "refuse"
                    && l["scheme"] == operation
                    && l["uid"] == uid
                    && l["reason"].as_str().is_some_and(|r| r.contains(NOT_ADMIN))
            })
        },
    )
}

const NOT_ADMIN: &str =
    "refused: this operation needs an admin of the system agent (root or [system] admin_uids)";

/// A system agent with one signer (`allow_uids`) and one admin
/// (`admin_uids`, not on the allow-list: admins may connect anyway). The
/// signer's every admin operation is refused with the role message and
/// audited, through OpenSSH's tools and signet's CLI, and changes nothing:
/// the configured key still signs for the next job. The admin can do all
/// of them, down to stopping the agent.
#[test]
fn a_signer_cannot_change_the_system_agent_and_an_admin_can() {
    use signet_tests::{keystore::keyutils_purge, shared_tempdir, TempUser};
    let signer = TempUser::create("sgsig");
    let admin = TempUser::create("sgadm");
    let base = shared_tempdir();
    let key = generate_key(&base.path().join("keys"), "ed25519", "ci-bot");
    chmod(&base.path().join("keys"), 0o700);
    let (_, public) = read_ed25519_private(&key.private);
    // Key files the two users may read, and an askpass program for ssh-add -x.
    let files = base.path().join("files");
    std::fs::create_dir(&files).unwrap_or_else(|e| panic!("{e}"));
    chmod(&files, 0o755);
    let mine = |user: &TempUser, comment: &str| {
        let k = generate_key(&files.join(&user.name), "ed25519", comment);
        for p in [&k.private, &k.public] {
            user.chown(p);
        }
        user.chown(&files.join(&user.name));
        k
    };
    let signer_key = mine(&signer, "job-key");
    let admin_key = mine(&admin, "admin-key");
    let askpass = files.join("askpass");
    std::fs::write(&askpass, "#!/bin/sh\necho lock-passphrase\n").unwrap_or_else(|e| panic!("{e}"));
    chmod(&askpass, 0o755);

    let socket = base.path().join("run/signet/agent.sock");
    let audit = base.path().join("audit.log");
    let service = format!("signet-test-roles-{}", std::process::id());
    let config = format!(
        "[system]\nallow_uids = [{}]\nadmin_uids = [\"{}\"]\n\n[store]\nbackend = \"keyutils\"\nservice = \"{service}\"\n\n\
         [keys.ci-bot]\nsource = \"file\"\npath = \"{}\"\n\n[audit]\npath = {:?}\n",
        signer.uid,
        admin.name,
        key.private.display(),
        audit
    );
    struct Purge(String);
    impl Drop for Purge {
        fn drop(&mut self) {
            keyutils_purge(&self.0);
        }
    }
    let _purge = Purge(service.clone());
    let mut agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some(config),
        args: vec!["--system".to_owned()],
    });
    agent.wait_log_line(&["loaded configured key", "ci-bot"]);
    agent.wait_log_line(&["roles", &format!("uids [{}]", admin.uid)]);
    // A stored key for rename and delete, made by root (an admin).
    agent.signet(["generate", "stored-one"]).assert_ok();

    let signet_as = |user: &TempUser| {
        let mut c = user.command(bin("signet"));
        c.env("HOME", "/nonexistent").arg("--socket").arg(&socket);
        c
    };
    let ssh_add_as = |user: &TempUser| {
        let mut c = user.command(system_tool("/usr/bin/ssh-add"));
        c.env("SSH_AUTH_SOCK", &socket)
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0");
        c
    };

    // The signer: every admin operation refused.
    let with_reason = |r: &Run| {
        r.assert_code(1);
        assert!(r.stderr.contains(NOT_ADMIN), "no role message:\n{r}");
    };
    with_reason(&run(signet_as(&signer).args([
        "rename",
        "stored-one",
        "mine",
    ])));
    wait_role_refusal(&audit, "rename@signet", signer.uid);
    with_reason(&run(signet_as(&signer).args([
        "delete",
        "stored-one",
        "--yes",
    ])));
    wait_role_refusal(&audit, "delete@signet", signer.uid);
    // A configured key is not stored: `remove` sends REMOVE_IDENTITY.
    let r = run(signet_as(&signer).args(["remove", "ci-bot", "--yes"]));
    r.assert_code(1);
    assert!(r.stderr.contains("admin"), "{r}");
    wait_role_refusal(&audit, "remove-identity", signer.uid);
    with_reason(&run(signet_as(&signer).arg("stop")));
    wait_role_refusal(&audit, "stop@signet", signer.uid);
    with_reason(&run(signet_as(&signer)
        .args(["import", "--name", "ci-bot2"])
        .arg(&signer_key.private)));
    wait_role_refusal(&audit, "import@signet", signer.uid);
    with_reason(&run(signet_as(&signer).args(["load", "stored-one"])));
    wait_role_refusal(&audit, "load@signet", signer.uid);
    with_reason(&run(signet_as(&signer).args(["unload", "ci-bot"])));
    with_reason(&run(signet_as(&signer).arg("doctor")));
    with_reason(&run(signet_as(&signer).args(["generate", "jobs-own"])));
    with_reason(&run(
        signet_as(&signer).args(["explain", "--key", "ci-bot", "--as-uid", "0", "--ssh"])
    ));
    // ADD_IDENTITY, LOCK and REMOVE_ALL are agent-protocol messages: the
    // reply is a bare SSH_AGENT_FAILURE (the protocol has no reason field);
    // the audit record and the agent's log say why.
    let r = run(signet_as(&signer)
        .args(["add", "--name", "ci-bot"])
        .arg(&signer_key.private));
    r.assert_code(1);
    assert!(r.stderr.contains("admin"), "{r}");
    wait_role_refusal(&audit, "add-identity", signer.uid);
    let r = run(ssh_add_as(&signer).arg(&signer_key.private));
    r.assert_fail();
    run(ssh_add_as(&signer).arg("-D")).assert_fail();
    wait_role_refusal(&audit, "remove-all-identities", signer.uid);
    let r = run(ssh_add_as(&signer).arg("-x"));
    r.assert_fail();
    assert!(r.stderr.contains("Failed to lock agent"), "{r}");
    wait_role_refusal(&audit, "lock", signer.uid);
    let refusal = wait_role_refusal(&audit, "rename@signet", signer.uid);
    assert_eq!(refusal["key"], "stored-one");
    agent.wait_log_line(&[NOT_ADMIN, "operation=\"rename@signet\""]);

    // Nothing changed: the next job signs with the configured key, which is
    // still the only loaded key, and the agent is unlocked and running.
    let r = run(signet_as(&signer).args([
        "sign-request",
        "--key",
        "ci-bot",
        "--method",
        "POST",
        "--url",
        "https://api.encord.com/v2/public/projects",
        "--body",
        "{}",
        "--format",
        "headers",
    ]));
    r.assert_ok();
    verify_v2_headers(&r, &public);
    let r = run(ssh_add_as(&signer).arg("-l"));
    r.assert_ok();
    assert_eq!(r.stdout.lines().count(), 1, "{r}");
    assert!(r.stdout.contains("ci-bot"), "{r}");
    // The signer may read: status, list, explain for itself.
    run(signet_as(&signer).arg("status")).assert_ok();
    run(signet_as(&signer).args(["explain", "--key", "ci-bot", "--ssh"])).assert_ok();

    // The admin, not on the allow-list, may connect and do all of it.
    run(signet_as(&admin).args(["explain", "--key", "ci-bot", "--as-uid", "0", "--ssh"]))
        .assert_ok();
    run(signet_as(&admin)
        .args(["import", "--name", "imported"])
        .arg(&admin_key.private))
    .assert_ok();
    run(signet_as(&admin).args(["rename", "imported", "renamed"])).assert_ok();
    run(signet_as(&admin).args(["load", "renamed"])).assert_ok();
    run(signet_as(&admin).args(["unload", "renamed"])).assert_ok();
    run(signet_as(&admin).args(["delete", "renamed", "--yes"])).assert_ok();
    run(signet_as(&admin).args(["delete", "stored-one", "--yes"])).assert_ok();
    run(signet_as(&admin).arg("doctor")).assert_ok();
    run(signet_as(&admin)
        .args(["add", "--name", "added"])
        .arg(&admin_key.private))
    .assert_ok();
    run(ssh_add_as(&admin).arg("-x")).assert_ok();
    // Locked: the signer cannot sign (and cannot unlock: not an admin).
    let r = run(signet_as(&signer).args([
        "sign-request",
        "--key",
        "ci-bot",
        "--method",
        "GET",
        "--url",
        "/v2/public/projects",
    ]));
    r.assert_code(4);
    run(ssh_add_as(&signer).arg("-X")).assert_fail();
    run(ssh_add_as(&admin).arg("-X")).assert_ok();
    run(ssh_add_as(&admin).arg("-D")).assert_ok();
    let r = run(ssh_add_as(&admin).arg("-l"));
    assert!(r.stdout.contains("no identities"), "{r}");
    run(signet_as(&admin).arg("stop")).assert_ok();
    let status = agent.wait_exit();
    assert!(status.success(), "{status}");
    // Every refusal above was the signer's: the admin's operations left none.
    assert!(
        audit_lines(&audit)
            .iter()
            .all(|l| l["event"] != "refuse" || l["uid"] == signer.uid),
        "an admin was refused: {:?}",
        audit_lines(&audit)
    );
}
