//! Layer 2: confirming a key's use with the user (`ssh-add -c`).
//!
//! **Owns**: running the askpass program and reading its answer. **Must
//! not**: decide anything else (the policy layer decides, this only asks),
//! or import another layer-2 module.
//!
//! The agent runs an askpass program (`SIGNET_ASKPASS`, else `SSH_ASKPASS`)
//! with the prompt as its argument and `SSH_ASKPASS_PROMPT=confirm`, as
//! OpenSSH's agent does; exit status 0 means yes. No askpass program, a
//! failure to run it, or no answer within the timeout all mean no: confirm
//! fails closed.

use std::ffi::OsString;
use std::time::Duration;

use tokio::process::Command;

/// How long the user has to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

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
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let status = match tokio::time::timeout(ANSWER_TIMEOUT, async { cmd.status().await }).await {
        Ok(Ok(status)) => status,
        Ok(Err(source)) => {
            return Err(ConfirmError::Spawn {
                program: program.into(),
                source,
            })
        }
        Err(_) => return Err(ConfirmError::Timeout),
    };
    if status.success() {
        Ok(())
    } else {
        Err(ConfirmError::Declined)
    }
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
