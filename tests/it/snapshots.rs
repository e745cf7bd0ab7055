//! CLI snapshots (trycmd, as rage's `tests/cmd`): `--help` of every
//! command, the exit codes with what is printed, and `list` against a real
//! agent holding one fixed key, unlocked and locked. The expected output
//! lives in `tests/cmd/*/*.toml`; `TRYCMD=overwrite cargo nextest run -E
//! 'test(/snapshots::/)'` rewrites it after an intended change (review the
//! diff).
//!
//! Every case runs the built `signet` with `COLUMNS` empty (so neither clap
//! nor `list` depends on the terminal) and, where an agent is needed, with
//! `SIGNET_AUTH_SOCK` pointing at one started here.

use std::path::{Path, PathBuf};

use signet_proto::message::{Request, Response};
use signet_tests::{bin, Agent, TestKey};

fn cases(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cmd").join(dir)
}

fn suite() -> trycmd::TestCases {
    let t = trycmd::TestCases::new();
    t.register_bin("signet", bin("signet"))
        .env("COLUMNS", "")
        .env("SHELL", "/bin/sh")
        .env("SIGNET_ASKPASS", "")
        .env("SSH_ASKPASS", "");
    t
}

/// `--help` of `signet` and of every command. A command without a case
/// fails here, so a new one gets its snapshot.
#[test]
fn help_of_every_command() {
    let listed = {
        use std::process::Command;
        let r = signet_tests::run(Command::new(bin("signet")).env("COLUMNS", "").arg("-h"));
        r.assert_ok();
        r.stdout
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            // A command's line starts with two spaces; a wrapped description more.
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .filter(|c| c != "help")
            .collect::<Vec<_>>()
    };
    for c in &listed {
        assert!(
            cases("help").join(format!("{c}.toml")).exists(),
            "no tests/cmd/help/{c}.toml: add `bin.name = \"signet\"` and `args = [\"{c}\", \"--help\"]`, then TRYCMD=overwrite"
        );
    }
    suite().case(cases("help").join("*.toml"));
}

/// The exit codes of cli::EXIT_CODES that need no agent: 0, 1, 2, 3.
#[test]
fn exit_codes_without_an_agent() {
    suite().case(cases("exit").join("*.toml"));
}

fn agent_with_the_snapshot_key() -> Agent {
    let agent = Agent::start();
    let key = TestKey::from_seed(7, "snapshot-key");
    assert_eq!(
        agent.connect().request(&key.add_request(vec![])),
        Response::Success
    );
    agent
}

/// `list`, `pubkey` and exit 5 against an agent holding one fixed key.
#[test]
fn against_an_agent_list_and_exit_5() {
    let agent = agent_with_the_snapshot_key();
    suite()
        .env("SIGNET_AUTH_SOCK", agent.socket().display().to_string())
        .case(cases("agent").join("*.toml"));
}

/// Exit 4 and "hidden while locked" against a locked agent.
#[test]
fn against_a_locked_agent_exit_4() {
    let agent = agent_with_the_snapshot_key();
    assert_eq!(
        agent
            .connect()
            .request(&Request::Lock(signet_proto::Passphrase::new(
                b"snapshot".to_vec()
            ))),
        Response::Success
    );
    suite()
        .env("SIGNET_AUTH_SOCK", agent.socket().display().to_string())
        .case(cases("locked").join("*.toml"));
}
