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
//! ## Exit status
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success (`signet list` with no keys loaded prints `no keys loaded` and exits 0; a locked agent exits 4 instead) |
//! | 1 | error: the agent refused, bad input, or an I/O error |
//! | 2 | usage error: unknown command or bad arguments (clap's code) |
//! | 3 | no agent is running at the socket (`signet list` still prints the stored keys from the index first) |
//! | 4 | the agent is locked |
//! | 5 | no loaded key matches the KEY argument, or several do |
//!
//! Errors are printed on stderr as `signet: <message>`.

mod args;
mod audit_cmds;
mod commands;
mod duration;
mod exec;
mod file_paths;
mod keyfile;
mod lifecycle;
mod output;
mod secrets;
mod store_cmds;
mod units;

use std::process::ExitCode;

use clap::Parser;
use signet_client::Error as ClientError;

/// Exit status for an error, from the client error inside it if any.
fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ClientError>() {
            return match e {
                ClientError::NotRunning { .. } => 3,
                ClientError::Locked => 4,
                ClientError::NoSuchKey { .. } | ClientError::AmbiguousKey { .. } => 5,
                ClientError::Refused {
                    code:
                        Some(
                            signet_client::ErrorCode::NoSuchKey
                            | signet_client::ErrorCode::AmbiguousKey,
                        ),
                    ..
                } => 5,
                _ => 1,
            };
        }
    }
    1
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
    let cli = args::Cli::parse();
    match commands::run(cli) {
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
