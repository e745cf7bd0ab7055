//! # signet (the command)
//!
//! **Owns**: the user-facing commands: starting, stopping and inspecting
//! `signetd`, adding keys from OpenSSH key files, listing and removing them,
//! locking, and signing Encord requests and files from the shell. It talks to
//! the agent only through `signet-client`. It reads key files and passphrases,
//! holding them only in zeroizing types until they are sent.
//!
//! **Must not**: keep any key or passphrase after the command ends, print a
//! secret (errors included), or sign anything itself.
//!
//! ## Layout
//!
//! As rage's: `cli.rs` holds the clap definitions and nothing else (so that
//! `signet man` and `signet completions` render the same definitions the
//! parser uses), `cmd/` one file per command family, and the support
//! modules (`output`, `secrets`, `keyfile`, `lifecycle`) beside them.
//!
//! ## Exit status
//!
//! One table, [`cli::EXIT_CODES`], shown by `signet --help` and checked
//! against docs/cli.md by a test.
//!
//! Errors are printed on stderr as `signet: <message>`.

mod cli;
mod cmd;
mod file_paths;
mod keyfile;
mod lifecycle;
mod output;
mod secrets;

use std::process::ExitCode;

use clap::Parser;
use cli::exit;
use signet_client::Error as ClientError;

/// Exit status for an error, from the client error inside it if any.
fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ClientError>() {
            return match e {
                ClientError::NotRunning { .. } => exit::NOT_RUNNING,
                ClientError::Locked => exit::LOCKED,
                ClientError::NoSuchKey { .. } | ClientError::AmbiguousKey { .. } => exit::NO_KEY,
                ClientError::Refused {
                    code:
                        Some(
                            signet_client::ErrorCode::NoSuchKey
                            | signet_client::ErrorCode::AmbiguousKey,
                        ),
                    ..
                } => exit::NO_KEY,
                _ => exit::ERROR,
            };
        }
    }
    exit::ERROR
}

/// The error as one line: each context, then the cause, stopping at the
/// client's error, whose message is already complete (it says what to do).
fn message(err: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in err.chain() {
        parts.push(cause.to_string());
        if cause.downcast_ref::<ClientError>().is_some() {
            break;
        }
    }
    parts.join(": ")
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("signet: {}", message(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/cli.md's exit code table is `cli::EXIT_CODES`, row for row.
    #[test]
    fn docs_list_the_exit_codes_help_shows() {
        let doc = include_str!("../../../docs/cli.md");
        let section = doc
            .split("\n## Exit codes\n")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or_else(|| panic!("docs/cli.md has no `## Exit codes` section"));
        let rows: Vec<(u8, String)> = section
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| code"))
            .filter_map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
                Some((
                    cells.first()?.trim().parse().ok()?,
                    cells.get(1)?.trim().to_owned(),
                ))
            })
            .collect();
        let table: Vec<(u8, String)> = cli::EXIT_CODES
            .iter()
            .map(|(c, m)| (*c, (*m).to_owned()))
            .collect();
        assert_eq!(
            rows, table,
            "docs/cli.md `## Exit codes` differs from cli::EXIT_CODES"
        );
        let help = {
            use clap::CommandFactory as _;
            cli::Cli::command().render_long_help().to_string()
        };
        // Whitespace aside: clap may wrap the help to the terminal.
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let help = words(&help);
        for (code, meaning) in cli::EXIT_CODES {
            assert!(
                help.contains(&words(&format!("{code} {meaning}"))),
                "--help lacks exit code {code}"
            );
        }
    }

    /// cli.rs stays clap definitions only: no paths into the rest of the
    /// crate, so it compiles on its own (`signet man` renders it).
    #[test]
    fn cli_rs_depends_on_nothing_in_the_crate() {
        let text = include_str!("cli.rs");
        // Its own unit tests may look around.
        let text = text.split("#[cfg(test)]").next().unwrap_or(text);
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!code.contains("crate::"), "cli.rs names a crate:: path");
        assert!(!code.contains("super::"), "cli.rs names a super:: path");
    }

    #[test]
    fn exit_codes_follow_client_errors() {
        let not_running = anyhow::Error::new(ClientError::NotRunning {
            path: "/x".into(),
            source: std::io::ErrorKind::NotFound.into(),
        });
        assert_eq!(exit_code(&not_running), 3);
        assert_eq!(exit_code(&anyhow::Error::new(ClientError::Locked)), 4);
        let missing = anyhow::Error::new(ClientError::NoSuchKey {
            selector: "k".into(),
        })
        .context("could not sign");
        assert_eq!(exit_code(&missing), 5);
        assert_eq!(exit_code(&anyhow::anyhow!("bad input")), 1);
        assert_eq!(
            message(&not_running),
            "no agent running at /x: start one with `signet start`"
        );
        assert_eq!(
            message(&missing),
            "could not sign: no loaded key matches \"k\": see the loaded keys with `signet list`"
        );
    }
}
