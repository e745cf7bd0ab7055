//! Reading key files and passphrases. Every secret lives only in zeroizing
//! types and only until the command that needed it has sent it.
//!
//! A passphrase is asked for as `ssh-add` asks: on the terminal when there
//! is one, else through an askpass program (`SIGNET_ASKPASS`, else
//! `SSH_ASKPASS`; `SSH_ASKPASS_REQUIRE=force` prefers it even with a
//! terminal, `never` forbids it), up to three times; `--passphrase-stdin`
//! reads the first line of stdin once, for scripts.

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use signet_client::{Ed25519Seed, Error as ClientError, Passphrase};
use zeroize::Zeroizing;

use crate::keyfile;

/// An Ed25519 key read from a file, ready for `add`.
pub struct LoadedKey {
    /// The secret seed (zeroized on drop).
    pub seed: Ed25519Seed,
    /// The public key.
    pub public: [u8; 32],
    /// The key file's comment.
    pub comment: String,
    /// Which format it was, for messages.
    pub format: &'static str,
}

/// Where the passphrase of an encrypted key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphraseSource {
    /// Asked: the terminal, else an askpass program.
    Ask,
    /// The first line of stdin.
    Stdin,
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Shows `-` as "stdin" in messages.
pub fn display_path(path: &Path) -> String {
    if is_stdin(path) {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Reads and, if needed, decrypts an Ed25519 private key file for `signet
/// add` and `signet import`: OpenSSH, PKCS#8 PEM, Encord's downloaded
/// `.txt`, through [`keyfile::parse`]. A file that group or others can
/// read is refused unless `force` (ssh-add's rule).
pub fn read_key_file(path: &Path, source: PassphraseSource, force: bool) -> Result<LoadedKey> {
    let shown = display_path(path);
    if is_stdin(path) && source == PassphraseSource::Stdin {
        bail!("--passphrase-stdin cannot be used when the key itself is read from stdin: pass the key as a file");
    }
    keyfile::check_permissions(path, &shown, force)?;
    let data = keyfile::read_source(path, &shown)?;
    let tries = match source {
        PassphraseSource::Stdin => 1,
        // A key read from stdin leaves no stdin to type on, but a
        // terminal or askpass may still answer.
        PassphraseSource::Ask => keyfile::PASSPHRASE_TRIES,
    };
    let key = keyfile::parse(&data, &shown, tries, &mut |_attempt| match source {
        PassphraseSource::Stdin => read_stdin_line(),
        PassphraseSource::Ask => ask(
            &format!("Enter passphrase for {shown}: "),
            &format!(
                "{shown} is encrypted and there is no terminal to ask for its passphrase: \
                 pass --passphrase-stdin and pipe it in, or set SIGNET_ASKPASS (or SSH_ASKPASS) \
                 to a program that asks"
            ),
        ),
    })?;
    Ok(LoadedKey {
        seed: key.seed,
        public: key.public,
        comment: key.comment,
        format: key.format,
    })
}

/// The askpass program to use, if any: `SIGNET_ASKPASS`, else
/// `SSH_ASKPASS` unless `SSH_ASKPASS_REQUIRE=never`.
fn askpass_program() -> Option<OsString> {
    let nonempty = |v: OsString| (!v.is_empty()).then_some(v);
    if let Some(p) = std::env::var_os("SIGNET_ASKPASS").and_then(nonempty) {
        return Some(p);
    }
    if std::env::var("SSH_ASKPASS_REQUIRE").is_ok_and(|v| v == "never") {
        return None;
    }
    std::env::var_os("SSH_ASKPASS").and_then(nonempty)
}

/// Whether to prompt on the terminal (else through askpass).
fn use_terminal() -> bool {
    let forced = std::env::var("SSH_ASKPASS_REQUIRE").is_ok_and(|v| v == "force")
        && askpass_program().is_some();
    io::stdin().is_terminal() && !forced
}

/// Asks for a secret: on the terminal, else through the askpass program;
/// `no_way` is the error when neither is there.
pub fn ask(prompt: &str, no_way: &str) -> Result<Zeroizing<String>> {
    if use_terminal() {
        return Ok(Zeroizing::new(
            rpassword::prompt_password(prompt)
                .context("could not read the passphrase from the terminal")?,
        ));
    }
    match askpass_program() {
        Some(program) => run_askpass(&program, prompt.trim_end()),
        None => bail!("{no_way}"),
    }
}

/// Runs an askpass program as ssh-add does: the prompt as its argument, the
/// answer on its stdout (first line); a non-zero exit means no answer.
fn run_askpass(program: &OsString, prompt: &str) -> Result<Zeroizing<String>> {
    let shown = Path::new(program).display().to_string();
    let mut child = Command::new(program)
        .arg(prompt)
        .env_remove("SSH_ASKPASS_PROMPT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run the askpass program {shown}"))?;
    let mut answer = Zeroizing::new(Vec::with_capacity(256));
    if let Some(mut out) = child.stdout.take() {
        out.read_to_end(&mut answer)
            .with_context(|| format!("cannot read the answer of {shown}"))?;
    }
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for {shown}"))?;
    if !status.success() {
        bail!("the askpass program {shown} gave no passphrase ({status}): nothing was done");
    }
    let text = std::str::from_utf8(&answer)
        .with_context(|| format!("the answer of {shown} is not UTF-8"))?;
    let line = text.lines().next().unwrap_or_default();
    Ok(Zeroizing::new(line.to_owned()))
}

/// Reads the first line of stdin, without its line ending.
pub fn read_stdin_line() -> Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::with_capacity(256));
    io::stdin()
        .lock()
        .read_line(&mut line)
        .context("could not read the passphrase from stdin")?;
    let trimmed = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed);
    Ok(line)
}

const NO_TTY_FOR_LOCK: &str = "stdin is not a terminal to ask for the agent's passphrase: \
pass --passphrase-stdin and pipe it in, or set SIGNET_ASKPASS (or SSH_ASKPASS)";

/// The passphrase for `signet lock`: asked twice (or read from stdin once).
pub fn read_lock_passphrase(from_stdin: bool, confirm: bool) -> Result<Passphrase> {
    let pass = if from_stdin {
        read_stdin_line()?
    } else {
        let first = ask("Agent passphrase: ", NO_TTY_FOR_LOCK)?;
        if confirm {
            let again = ask("Again, to confirm: ", NO_TTY_FOR_LOCK)?;
            if *first != *again {
                bail!("the passphrases do not match: run `signet lock` again");
            }
        }
        first
    };
    if confirm && pass.is_empty() {
        bail!("refusing to lock with an empty passphrase: choose one");
    }
    Ok(Passphrase::new(pass.as_bytes().to_vec()))
}

/// Whether a passphrase can be asked for (a terminal, or an askpass
/// program), so that a command may offer to unlock the key store instead
/// of failing.
pub fn can_ask() -> bool {
    use_terminal() || askpass_program().is_some()
}

const NO_TTY_FOR_STORE: &str = "there is no terminal to ask for the key store's passphrase: \
pass --passphrase-stdin and pipe it in, or set SIGNET_ASKPASS (or SSH_ASKPASS)";

/// The key store's passphrase: the first line of stdin, or asked.
pub fn read_store_passphrase(from_stdin: bool, prompt: &str) -> Result<Passphrase> {
    let pass = if from_stdin {
        read_stdin_line()?
    } else {
        ask(prompt, NO_TTY_FOR_STORE)?
    };
    Ok(Passphrase::new(pass.as_bytes().to_vec()))
}

/// A new passphrase for the key store: asked twice (or read from stdin
/// once); an empty one is refused.
pub fn read_new_store_passphrase(from_stdin: bool, prompt: &str) -> Result<Passphrase> {
    let pass = if from_stdin {
        read_stdin_line()?
    } else {
        let first = ask(prompt, NO_TTY_FOR_STORE)?;
        let again = ask("Again, to confirm: ", NO_TTY_FOR_STORE)?;
        if *first != *again {
            bail!("the passphrases do not match: nothing was changed; try again");
        }
        first
    };
    if pass.is_empty() {
        bail!("refusing an empty passphrase for the key store: choose one");
    }
    Ok(Passphrase::new(pass.as_bytes().to_vec()))
}

const NO_TTY_FOR_PIN: &str = "stdin is not a terminal to ask for the token's PIN: \
pass --passphrase-stdin and pipe it in, or set SIGNET_ASKPASS (or SSH_ASKPASS)";

/// The PKCS#11 token's user PIN, from the terminal (or stdin).
pub fn read_token_pin(from_stdin: bool) -> Result<Passphrase> {
    let pin = if from_stdin {
        read_stdin_line()?
    } else {
        ask("PIN of the agent's PKCS#11 token: ", NO_TTY_FOR_PIN)?
    };
    if pin.is_empty() {
        bail!("no PIN given: run `signet unlock --token` again");
    }
    Ok(Passphrase::new(pin.as_bytes().to_vec()))
}

/// Runs `unlock` with the agent's passphrase: up to three tries when it is
/// asked for, one from stdin.
pub fn with_lock_passphrase(
    from_stdin: bool,
    mut unlock: impl FnMut(&Passphrase) -> Result<(), ClientError>,
) -> Result<()> {
    let tries = if from_stdin {
        1
    } else {
        keyfile::PASSPHRASE_TRIES
    };
    for attempt in 1..=tries {
        let pass = read_lock_passphrase(from_stdin, false)?;
        match unlock(&pass) {
            Err(ClientError::WrongPassphrase) if attempt < tries => {
                eprintln!("signet: wrong passphrase, try again");
            }
            other => return Ok(other?),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::private::{Ed25519Keypair, KeypairData};
    use ssh_key::LineEnding;
    use ssh_key::PrivateKey;

    #[test]
    fn reads_an_openssh_ed25519_key() -> Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let pair = Ed25519Keypair::from_seed(&[7; 32]);
        let public = pair.public.0;
        let key = PrivateKey::new(KeypairData::Ed25519(pair), "ci-bot")?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("id_ed25519");
        std::fs::write(&path, key.to_openssh(LineEnding::LF)?.as_bytes())?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let loaded = read_key_file(&path, PassphraseSource::Ask, false)?;
        assert_eq!(loaded.seed.expose(), &[7; 32]);
        assert_eq!(loaded.public, public);
        assert_eq!(loaded.comment, "ci-bot");
        Ok(())
    }

    #[test]
    fn garbage_is_refused_with_a_hint() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("k");
        std::fs::write(&path, "not a key")?;
        match read_key_file(&path, PassphraseSource::Ask, true) {
            Err(e) => assert!(e.to_string().contains("ssh-keygen -t ed25519"), "{e}"),
            Ok(_) => anyhow::bail!("garbage accepted"),
        }
        Ok(())
    }
}
