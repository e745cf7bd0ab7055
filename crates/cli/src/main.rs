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
mod failure;
mod file_paths;
mod keyfile;
mod lifecycle;
mod output;
mod secrets;

use std::process::ExitCode;

use clap::Parser;
use cli::exit;

/// Whether the raw arguments ask for `--json` (before `--`, after which they
/// belong to `signet exec`'s command), for errors clap reports before the
/// command line is parsed.
fn wants_json() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// clap's error in one line, without its `error: ` prefix.
fn usage_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let informative =
                matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            if wants_json() && !informative {
                let doc = serde_json::json!({"error": {
                    "kind": "usage",
                    "message": usage_message(&e),
                    "exit_code": exit::USAGE,
                }});
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                eprint!("{e}");
                return ExitCode::from(exit::USAGE);
            }
            e.exit()
        }
    };
    let json = cli.json;
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("signet: {}", failure::message(&err));
            if json && !cmd::emitted() {
                let doc = failure::document(&err);
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            ExitCode::from(failure::exit_code(&err))
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
}
