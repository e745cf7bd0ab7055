//! The daemon binds only in a socket directory it can vouch for (issue #12).
//!
//! Played with real users (`useradd`, `setpriv`; needs root, as CI runs):
//! another local user creates the victim's default socket directory first —
//! world-writable and sticky, world-readable, private, or as a link to a
//! directory of their own. The victim's signetd refuses to start, names the
//! directory, its owner and mode, and says what to do; no socket of the
//! victim's appears anywhere the attacker controls. Without
//! `XDG_RUNTIME_DIR` the default is under the victim's home (the old
//! `<tmp>/signet-<uid>` is ignored even when squatted), and the daemon and
//! the CLI agree on it. System mode leaves an existing directory's mode as
//! it found it (the temp dir stands in for `/tmp`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use signet_tests::{
    bin, chmod, mode_of, run, run_timeout, shared_tempdir, wait_for, Agent, AgentOptions, TempUser,
    DEADLINE,
};

/// A victim with a private home in `base`, and an attacker.
struct Scene {
    base: tempfile::TempDir,
    victim: TempUser,
    attacker: TempUser,
}

impl Scene {
    fn new() -> Self {
        let base = shared_tempdir();
        let victim = TempUser::create("sgvic");
        let attacker = TempUser::create("sgatk");
        // A world-writable sticky directory owned by root: what /tmp is.
        let shared = base.path().join("shared");
        fs::create_dir(&shared).unwrap_or_else(|e| panic!("{e}"));
        chmod(&shared, 0o1777);
        let home = base.path().join("home");
        fs::create_dir(&home).unwrap_or_else(|e| panic!("{e}"));
        victim.chown(&home);
        chmod(&home, 0o700);
        Self {
            base,
            victim,
            attacker,
        }
    }

    fn shared(&self) -> PathBuf {
        self.base.path().join("shared")
    }

    fn home(&self) -> PathBuf {
        self.base.path().join("home")
    }

    /// Runs `argv` as the attacker; it must succeed.
    fn attacker_does(&self, argv: &[&str]) {
        let (prog, args) = argv.split_first().unwrap_or_else(|| panic!("empty argv"));
        run(self.attacker.command(prog).args(args)).assert_ok();
    }

    /// `signetd` as the victim with only HOME (and `extra`) set.
    fn victim_signetd(&self, extra: &[(&str, &Path)]) -> Command {
        let mut cmd = self.victim.command(bin("signetd"));
        // The victim's own keyring service (its user, and so its user
        // keyring, is removed with the test).
        cmd.env("HOME", self.home())
            .env(
                "SIGNET_KEYRING_SERVICE",
                format!("signet-test-victim-{}", std::process::id()),
            )
            .args(["--log-level", "debug"]);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    }
}

/// Every socket file under `dir` (not following links).
fn sockets_under(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt as _;
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_socket() {
                found.push(e.path());
            } else if t.is_dir() {
                todo.push(e.path());
            }
        }
    }
    found
}

fn entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_default_socket_directory_another_user_made_first_is_refused() {
    for mode in ["1777", "0755", "0700", "link"] {
        let scene = Scene::new();
        let shared = scene.shared();
        let dir = shared.join("signet");
        let dir_s = dir.to_string_lossy().into_owned();
        // The attacker's own directory, open to all (a relay would sit here).
        let own = shared.join("mallory");
        let own_s = own.to_string_lossy().into_owned();
        if mode == "link" {
            scene.attacker_does(&["mkdir", "-m", "0777", &own_s]);
            scene.attacker_does(&["ln", "-s", &own_s, &dir_s]);
        } else {
            scene.attacker_does(&["mkdir", "-m", mode, &dir_s]);
        }

        // The victim's default: $XDG_RUNTIME_DIR/signet/agent.sock.
        let r = run_timeout(
            &mut scene.victim_signetd(&[("XDG_RUNTIME_DIR", &shared)]),
            DEADLINE,
        );
        r.assert_code(1);
        let (vic, atk) = (scene.victim.uid, scene.attacker.uid);
        let want = if mode == "link" {
            format!(
                "refusing to use the socket directory {dir_s}: {dir_s} is a symbolic link (to {own_s}, owned by uid {atk}); \
                 the socket's directory must be a real directory: signet never follows a link there: \
                 remove the link (`rm {dir_s}`) and let signetd create the directory, or choose another socket"
            )
        } else {
            let m = u32::from_str_radix(mode, 8).unwrap_or(0);
            format!(
                "refusing to use the socket directory {dir_s}: {dir_s} is owned by uid {atk} (mode {m:04o}); \
                 the socket's directory must be owned by uid {vic} with no group or other permissions (mode 0700): \
                 another user may have created it to intercept the agent: remove {dir_s} (as root if need be) \
                 or choose another socket"
            )
        };
        assert!(
            r.stderr.contains(&want),
            "mode {mode}: expected\n  {want}\n{r}"
        );
        // Nothing of the victim's in the attacker's directories, or anywhere.
        let attacker_dir = if mode == "link" { &own } else { &dir };
        assert_eq!(entries(attacker_dir), Vec::<String>::new(), "mode {mode}");
        assert_eq!(
            sockets_under(scene.base.path()),
            Vec::<PathBuf>::new(),
            "mode {mode}"
        );
        assert_eq!(
            fs::symlink_metadata(&dir).map(|m| m.is_symlink()).ok(),
            Some(mode == "link"),
            "the attacker's entry must be left as it was"
        );
    }
}

/// The victim's signetd, started in the background; killed by pid on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn without_xdg_runtime_dir_the_default_is_under_home_even_if_tmp_is_squatted() {
    let scene = Scene::new();
    let shared = scene.shared();
    // The old default, <tmp>/signet-<uid>, made first by the attacker, with a
    // socket of their own in it.
    let old = shared.join(format!("signet-{}", scene.victim.uid));
    let old_s = old.to_string_lossy().into_owned();
    scene.attacker_does(&["mkdir", "-m", "1777", &old_s]);

    let node = rustix::system::uname();
    let label = signet_proto::paths::host_label(&node.nodename().to_string_lossy());
    let run_dir = scene.home().join(".local/state/signet/run");
    let socket = run_dir.join(format!("agent.{label}.sock"));
    let log = scene.base.path().join("signetd.log");
    let logf = fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
    let child = scene
        .victim_signetd(&[("TMPDIR", &shared)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(logf)
        .spawn()
        .unwrap_or_else(|e| panic!("starting signetd: {e}"));
    let mut daemon = Running(child);
    wait_for(DEADLINE, "the victim's socket under their home", || {
        if let Ok(Some(status)) = daemon.0.try_wait() {
            panic!(
                "signetd exited with {status}\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        socket.exists().then_some(())
    });
    assert_eq!(
        entries(&old),
        Vec::<String>::new(),
        "nothing in <tmp>/signet-<uid>"
    );
    assert_eq!(sockets_under(&shared), Vec::<PathBuf>::new());
    // The directory signetd made for it is the victim's alone.
    assert_eq!(mode_of(&run_dir), 0o700);
    assert_eq!(mode_of(&socket), 0o600);

    // The CLI, as the victim with the same environment, finds the same
    // socket and verifies it is running there.
    let r = run(scene
        .victim
        .command(bin("signet"))
        .env("HOME", scene.home())
        .env("TMPDIR", &shared)
        .arg("start"));
    r.assert_ok();
    assert_eq!(
        r.stdout,
        format!("export SIGNET_AUTH_SOCK={};\n", socket.display())
    );
    assert!(r.stderr.contains("is already running at"), "{r}");
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_child(&daemon.0),
        rustix::process::Signal::TERM,
    );
    let status = daemon.0.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
    assert!(!socket.exists(), "signetd removes its socket at exit");
}

#[test]
fn system_mode_leaves_an_existing_directory_as_it_found_it() {
    for mode in [0o1777, 0o711] {
        let base = shared_tempdir();
        let dir = base.path().join("tmp");
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        chmod(&dir, mode);
        let socket = dir.join("agent.sock");
        let config = format!(
            "[system]\n\n[audit]\npath = {:?}\n",
            base.path().join("audit.log")
        );
        let mut agent = Agent::start_with(AgentOptions {
            socket: Some(socket.clone()),
            config: Some(config),
            args: vec!["--system".to_owned()],
        });
        assert_eq!(mode_of(&dir), mode, "while running\n{}", agent.log());
        assert_eq!(
            mode_of(&socket),
            0o666,
            "the socket is opened for the allow-list"
        );
        agent.signal(signet_tests::Signal::TERM);
        agent.wait_exit();
        assert_eq!(mode_of(&dir), mode, "after stopping");
    }
    // A directory signetd makes itself is 0755: the allowed users must reach it.
    let base = shared_tempdir();
    let socket = base.path().join("run/signet/agent.sock");
    let config = format!(
        "[system]\n\n[audit]\npath = {:?}\n",
        base.path().join("audit.log")
    );
    let agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some(config),
        args: vec!["--system".to_owned()],
    });
    assert_eq!(mode_of(&base.path().join("run")), 0o755, "{}", agent.log());
    assert_eq!(mode_of(&base.path().join("run/signet")), 0o755);
}

#[test]
fn a_user_agent_refuses_a_directory_others_can_write_to() {
    // `--socket` straight into a /tmp-like directory: others could replace the
    // socket, so a user's agent refuses it (sticky or not).
    let base = shared_tempdir();
    let dir = base.path().join("tmp");
    fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    chmod(&dir, 0o1777);
    let socket = dir.join("agent.sock");
    let mut cmd = Command::new(bin("signetd"));
    cmd.env_clear()
        .env("PATH", signet_tests::CHILD_PATH)
        .env("HOME", base.path())
        .arg("--socket")
        .arg(&socket);
    let r = run_timeout(&mut cmd, DEADLINE);
    r.assert_code(1);
    let d = dir.display();
    assert!(
        r.stderr.contains(&format!(
            "refusing to use the socket directory {d}: {d} has mode 1777 (owner uid 0); \
             the socket's directory must be owned by uid 0 and not writable by group or others: \
             `chmod go-w {d}`, or remove it and let signetd create it"
        )),
        "{r}"
    );
    assert!(!socket.exists());
    assert_eq!(mode_of(&dir), 0o1777);
}

#[test]
fn a_named_socket_may_sit_in_a_directory_others_can_only_look_into() {
    // `signetd --socket DIR/agent.sock` in the user's own 0755 directory, as
    // `ssh-agent -a` is used (OpenSSH's regress suite does exactly this): it
    // starts, the socket is 0600, the directory is untouched, and another
    // local user still cannot talk to the agent.
    let base = shared_tempdir();
    let user = TempUser::create("sgown");
    let other = TempUser::create("sgoth");
    let home = base.path().join("home");
    let work = base.path().join("work");
    for d in [&home, &work] {
        fs::create_dir(d).unwrap_or_else(|e| panic!("{e}"));
        user.chown(d);
    }
    chmod(&home, 0o700);
    chmod(&work, 0o755);
    let socket = work.join("agent.sock");
    let mut cmd = user.command(bin("signetd"));
    cmd.env("HOME", &home)
        .arg("--socket")
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let _agent = Running(cmd.spawn().unwrap_or_else(|e| panic!("{e}")));
    wait_for(DEADLINE, "the socket", || socket.exists().then_some(()));
    assert_eq!(mode_of(&work), 0o755, "the directory is left as it was");
    assert_eq!(mode_of(&socket) & 0o777, 0o600);
    let r = run(other
        .command("/usr/bin/ssh-add")
        .arg("-l")
        .env("SSH_AUTH_SOCK", &socket));
    assert!(
        r.stderr.contains("Permission denied"),
        "another user reaches the socket: {r}"
    );
    let r = run(user
        .command("/usr/bin/ssh-add")
        .arg("-l")
        .env("SSH_AUTH_SOCK", &socket));
    assert!(
        r.stdout.contains("The agent has no identities."),
        "the owner cannot use the agent: {r}"
    );
}
