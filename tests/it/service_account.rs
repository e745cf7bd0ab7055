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
    // The audit log in the temp dir: system mode's default is /var/lib/signet.
    let config = format!(
        "[system]\nallow_groups = [\"{}\"]\n\n[keys.ci-bot]\nsource = \"file\"\npath = \"{}\"\n\n[audit]\npath = {:?}\n",
        accounts.group,
        key.private.display(),
        base.path().join("audit.log")
    );
    let agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some(config),
        args: vec!["--system".to_owned()],
    });
    agent.wait_log_line(&["loaded configured key", "ci-bot"]);
    let listening = agent.wait_log_line(&["listening", "system=true"]);
    assert!(
        listening.contains(&format!("uids [{}]", accounts.uid(&accounts.member))),
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
}

#[test]
fn system_mode_with_an_empty_allow_list_serves_root_only() {
    assert_eq!(my_uid(), 0, "needs root; run the tests as root (CI does)");
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
        .arg("--socket")
        .arg(base.path().join("agent.sock")));
    r.assert_code(1);
    assert!(
        r.stderr.contains("no-such-group-signet") && r.stderr.contains("groupadd"),
        "{r}"
    );
    assert!(!base.path().join("agent.sock").exists());
}
