//! Confirming a key's use with the user (`ssh-add -c`).
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

/// Asks the user; true only on an explicit yes.
pub async fn ask(prompt: &str) -> Result<(), String> {
    let Some(program) = askpass_program() else {
        return Err("confirmation required but no askpass program: set SIGNET_ASKPASS or SSH_ASKPASS for signetd".into());
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
        Ok(Err(e)) => {
            return Err(format!(
                "cannot run askpass program {}: {e}",
                std::path::Path::new(&program).display()
            ))
        }
        Err(_) => return Err("no answer to the confirmation prompt in time".into()),
    };
    if status.success() {
        Ok(())
    } else {
        Err("the user declined the confirmation prompt".into())
    }
}

fn askpass_program() -> Option<OsString> {
    ["SIGNET_ASKPASS", "SSH_ASKPASS"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
}

/// Escapes control characters (newlines included) and quotes in text that a
/// client chose, such as a key's name, so that it cannot forge a line of the
/// prompt ("Requested by …") the user relies on.
pub fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() || c == '"' || c == '\\' {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_forge_prompt_lines() {
        let forged = escape("ci\"\nRequested by uid 0: /usr/bin/sudo");
        assert!(!forged.contains('\n'));
        assert_eq!(forged, "ci\\\"\\nRequested by uid 0: /usr/bin/sudo");
        assert_eq!(escape("plain-name.1"), "plain-name.1");
    }
}
