//! `signet completions` and `signet man`: shell completion scripts and man
//! pages rendered from the clap definitions the parsers use (`cli.rs`, and
//! signetd's `crates/daemon/src/cli.rs`, compiled in here), so they cannot
//! drift from the commands. Copies are kept under `dist/` for packagers; a
//! test regenerates them and fails when they differ.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;
use clap_complete::{Generator as _, Shell};

use serde_json::json;

use super::Ctx;
use crate::cli::{Cli, CompletionShell, CompletionsArgs, ManArgs};

/// signetd's command line, from the daemon's own file.
#[allow(dead_code)] // signet only renders it; signetd reads the fields.
#[path = "../../../daemon/src/cli.rs"]
mod signetd_cli;

fn shell(s: CompletionShell) -> Shell {
    match s {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
        CompletionShell::Elvish => Shell::Elvish,
        CompletionShell::Powershell => Shell::PowerShell,
    }
}

const SHELLS: [CompletionShell; 5] = [
    CompletionShell::Bash,
    CompletionShell::Zsh,
    CompletionShell::Fish,
    CompletionShell::Elvish,
    CompletionShell::Powershell,
];

/// One completion script: its conventional file name and its text.
pub(crate) fn completion(s: CompletionShell) -> (String, Vec<u8>) {
    let sh = shell(s);
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(sh, &mut cmd, "signet", &mut out);
    (sh.file_name("signet"), out)
}

/// Every completion script, by file name.
pub(crate) fn all_completions() -> Vec<(String, Vec<u8>)> {
    SHELLS.into_iter().map(completion).collect()
}

/// Every man page, by file name: signet(1), one signet-COMMAND(1) per
/// command (nested ones as signet-audit-verify(1)), and signetd(8).
pub(crate) fn all_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut root = Cli::command();
    root.build();
    let mut pages = Vec::new();
    pages.push(("signet.1".to_owned(), render(root.clone(), "1")?));
    let mut stack: Vec<(String, clap::Command)> = root
        .get_subcommands()
        .map(|c| (format!("signet-{}", c.get_name()), c.clone()))
        .collect();
    while let Some((name, cmd)) = stack.pop() {
        if cmd.get_name() == "help" {
            continue;
        }
        for sub in cmd.get_subcommands() {
            stack.push((format!("{name}-{}", sub.get_name()), sub.clone()));
        }
        let page = cmd.name(name.clone());
        pages.push((format!("{name}.1"), render(page, "1")?));
    }
    let mut daemon = signetd_cli::Args::command();
    daemon.build();
    pages.push(("signetd.8".to_owned(), render(daemon, "8")?));
    pages.sort();
    Ok(pages)
}

fn render(cmd: clap::Command, section: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .section(section)
        .manual("signet")
        .render(&mut out)
        .context("could not render a man page")?;
    Ok(out)
}

fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("could not write to stdout")
}

fn wrote(ctx: &Ctx, dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let written: Vec<String> = write_all(dir, files)?
        .iter()
        .map(|p| {
            ctx.note(format_args!("wrote {}", p.display()));
            p.display().to_string()
        })
        .collect();
    ctx.show("", &json!({"written": written}))
}

/// `signet completions`.
pub fn completions(ctx: &Ctx, a: &CompletionsArgs) -> Result<()> {
    match (&a.dir, a.shell) {
        (Some(dir), _) => wrote(ctx, dir, &all_completions()),
        (None, Some(s)) => {
            let (name, script) = completion(s);
            if ctx.json {
                return ctx.emit(&json!({
                    "file": name,
                    "script": String::from_utf8_lossy(&script),
                }));
            }
            stdout(&script)
        }
        (None, None) => anyhow::bail!("name a shell or --dir DIR"),
    }
}

/// `signet man`.
pub fn man(ctx: &Ctx, a: &ManArgs) -> Result<()> {
    let pages = all_pages()?;
    match &a.dir {
        Some(dir) => wrote(ctx, dir, &pages),
        None => {
            let page = pages
                .iter()
                .find(|(n, _)| n == "signet.1")
                .map(|(_, t)| t.as_slice())
                .unwrap_or_default();
            if ctx.json {
                return ctx.emit(&json!({
                    "file": "signet.1",
                    "roff": String::from_utf8_lossy(page),
                }));
            }
            stdout(page)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(sub: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../dist")
            .join(sub)
    }

    /// The files under `dist/` are exactly what `signet man --dir` and
    /// `signet completions --dir` write today; refresh them with
    /// `bash scripts/generate-dist.sh` after changing a command.
    fn assert_in_sync(sub: &str, files: &[(String, Vec<u8>)]) {
        let dir = dist(sub);
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        on_disk.sort();
        let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        assert_eq!(
            on_disk, names,
            "dist/{sub} holds other files than signet generates: run `bash scripts/generate-dist.sh`"
        );
        for (name, text) in files {
            let have = std::fs::read(dir.join(name)).unwrap_or_default();
            assert!(
                have == *text,
                "dist/{sub}/{name} is out of date: run `bash scripts/generate-dist.sh` and commit the result"
            );
        }
    }

    #[test]
    fn dist_man_pages_are_current() -> Result<()> {
        let pages = all_pages()?;
        assert!(pages.iter().any(|(n, _)| n == "signetd.8"));
        assert!(pages.iter().any(|(n, _)| n == "signet-audit-verify.1"));
        assert!(!pages.iter().any(|(n, _)| n == "signet-help.1"));
        assert_in_sync("man", &pages);
        Ok(())
    }

    #[test]
    fn dist_completions_are_current() {
        assert_in_sync("completions", &all_completions());
    }

    /// Every subcommand has a page, and the pages say what the help says:
    /// the exit codes, and signetd's options.
    #[test]
    fn pages_cover_every_command() -> Result<()> {
        let pages = all_pages()?;
        let text = |name: &str| {
            pages
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| String::from_utf8_lossy(t).into_owned())
                .unwrap_or_else(|| panic!("no page {name}"))
        };
        for sub in Cli::command().get_subcommands() {
            let page = text(&format!("signet-{}.1", sub.get_name()));
            assert!(page.contains(".TH signet-"), "{}", sub.get_name());
        }
        let main = text("signet.1");
        assert!(
            main.contains("no agent is running at the socket"),
            "exit codes"
        );
        let daemon = text("signetd.8");
        assert!(daemon.contains(".TH signetd 8"), "{daemon}");
        assert!(daemon.contains("\\-\\-system"), "{daemon}");
        Ok(())
    }
}
