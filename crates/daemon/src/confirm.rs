//! Layer 2: confirming a key's use with the user (`ssh-add -c`).
//!
//! **Owns**: running the askpass program and reading its answer. **Must
//! not**: decide anything else (the policy layer decides, this only asks),
//! or import another layer-2 module.
//!
//! The agent runs an askpass program (`SIGNET_ASKPASS`, else `SSH_ASKPASS`)
//! with the prompt as its argument and `SSH_ASKPASS_PROMPT=confirm`, as
//! OpenSSH's agent does, and reads its answer as OpenSSH's
//! `ask_permission()` does: yes is exit status 0 *and* an answer (the first
//! line of its output, at most [`MAX_ANSWER`] bytes read) that is empty or
//! `yes` in any case. Anything else is no: exit 0 with "no" (or any other
//! word) printed, a non-zero exit, no askpass program, a failure to run
//! it, or no answer within the timeout. Confirm fails closed.

use std::ffi::OsString;
use std::time::Duration;

use tokio::process::Command;

/// How long the user has to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// How much of the askpass program's output is read (OpenSSH reads 1 KiB).
pub const MAX_ANSWER: usize = 1024;

/// Why a use was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// Neither `SIGNET_ASKPASS` nor `SSH_ASKPASS` is set.
    #[error("confirmation required but signetd has no askpass program to ask with: start it with SIGNET_ASKPASS (or SSH_ASKPASS) set, e.g. `SIGNET_ASKPASS=/usr/bin/ssh-askpass signet start`")]
    NoAskpass,
    /// The askpass program could not be started.
    #[error("cannot run askpass program {}: {source}", program.display())]
    Spawn {
        /// The program.
        program: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Nobody answered within the timeout.
    #[error("no answer to the confirmation prompt in time")]
    Timeout,
    /// The user said no (or the program failed).
    #[error("the user declined the confirmation prompt")]
    Declined,
    /// The program exited 0 but answered something other than yes.
    #[error("the confirmation prompt was answered {0:?}, not yes (an askpass program confirms with exit status 0 and an empty or \"yes\" answer)")]
    NotYes(String),
}

/// Whether an askpass answer (its output) is yes: the first line empty or
/// `yes`, in any case (OpenSSH's `ask_permission`).
fn is_yes(output: &[u8]) -> bool {
    let end = output
        .iter()
        .position(|b| *b == b'\r' || *b == b'\n')
        .unwrap_or(output.len());
    let first = &output[..end];
    first.is_empty() || first.eq_ignore_ascii_case(b"yes")
}

/// Asks the user; `Ok` only on an explicit yes.
pub async fn ask(prompt: &str) -> Result<(), ConfirmError> {
    let Some(program) = askpass_program() else {
        return Err(ConfirmError::NoAskpass);
    };
    let mut cmd = Command::new(&program);
    cmd.arg(prompt)
        .env("SSH_ASKPASS_PROMPT", "confirm")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let spawn_error = |source| ConfirmError::Spawn {
        program: program.clone().into(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_error)?;
    let answer = async {
        use tokio::io::AsyncReadExt as _;
        let mut output = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            // Bounded: the rest of a longer answer is not read (the
            // program may block writing it; it is killed on drop).
            stdout
                .take(MAX_ANSWER as u64)
                .read_to_end(&mut output)
                .await?;
        }
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, output))
    };
    let (status, output) = match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
        Ok(Ok(done)) => done,
        Ok(Err(source)) => return Err(spawn_error(source)),
        Err(_) => return Err(ConfirmError::Timeout),
    };
    if !status.success() {
        return Err(ConfirmError::Declined);
    }
    if !is_yes(&output) {
        let first = String::from_utf8_lossy(&output);
        let first = first.lines().next().unwrap_or_default();
        let shown: String = first.chars().take(40).collect();
        return Err(ConfirmError::NotYes(signet_proto::text::escape(&shown)));
    }
    Ok(())
}

/// Whether the agent can ask at all: an askpass program is configured.
/// Without one, every use of a key that needs confirmation is refused.
pub fn available() -> bool {
    askpass_program().is_some()
}

fn askpass_program() -> Option<OsString> {
    ["SIGNET_ASKPASS", "SSH_ASKPASS"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::is_yes;

    #[test]
    fn only_an_empty_answer_or_yes_is_yes() {
        for yes in [&b""[..], b"\n", b"yes", b"YES\n", b"Yes\r\nno", b"\nno"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in [
            &b"no"[..],
            b"no\n",
            b"y",
            b"yes please",
            b" yes",
            b"yess",
            b"ok\n",
        ] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
