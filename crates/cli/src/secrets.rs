//! Reading key files and passphrases. Every secret lives only in zeroizing
//! types and only until the command that needed it has sent it.

use std::io::{self, BufRead, IsTerminal};
use std::path::Path;

use anyhow::{bail, Context, Result};
use signet_client::{Ed25519Seed, Passphrase};
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
}

/// Where the passphrase of an encrypted key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphraseSource {
    /// Prompt on the terminal (only when stdin is one).
    Terminal,
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
/// add`: the same formats and messages as `signet import` (OpenSSH, PKCS#8
/// PEM, Encord's downloaded `.txt`), through [`keyfile::parse`].
pub fn read_key_file(path: &Path, source: PassphraseSource) -> Result<LoadedKey> {
    let shown = display_path(path);
    if is_stdin(path) && source == PassphraseSource::Stdin {
        bail!("--passphrase-stdin cannot be used when the key itself is read from stdin: pass the key as a file");
    }
    let data = keyfile::read_source(path, &shown)?;
    let key = keyfile::parse(&data, &shown, || read_key_passphrase(&shown, source))?;
    Ok(LoadedKey {
        seed: key.seed,
        public: key.public,
        comment: key.comment,
    })
}

fn read_key_passphrase(shown: &str, source: PassphraseSource) -> Result<Zeroizing<String>> {
    match source {
        PassphraseSource::Stdin => read_stdin_line(),
        PassphraseSource::Terminal => {
            if !io::stdin().is_terminal() {
                bail!(
                    "{shown} is encrypted and stdin is not a terminal to ask for its passphrase: \
                     pass --passphrase-stdin and pipe the passphrase in"
                );
            }
            let p = Zeroizing::new(
                rpassword::prompt_password(format!("Enter passphrase for {shown}: "))
                    .context("could not read the passphrase from the terminal")?,
            );
            Ok(p)
        }
    }
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

/// The passphrase for `signet lock` (asked twice on a terminal) or
/// `signet unlock` (asked once).
pub fn read_lock_passphrase(from_stdin: bool, confirm: bool) -> Result<Passphrase> {
    let pass = if from_stdin {
        read_stdin_line()?
    } else {
        if !io::stdin().is_terminal() {
            bail!("stdin is not a terminal to ask for the passphrase: pass --passphrase-stdin and pipe it in");
        }
        let first = Zeroizing::new(
            rpassword::prompt_password("Agent passphrase: ")
                .context("could not read the passphrase from the terminal")?,
        );
        if confirm {
            let again = Zeroizing::new(
                rpassword::prompt_password("Again, to confirm: ")
                    .context("could not read the passphrase from the terminal")?,
            );
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

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::private::{Ed25519Keypair, KeypairData};
    use ssh_key::LineEnding;
    use ssh_key::PrivateKey;

    #[test]
    fn reads_an_openssh_ed25519_key() -> Result<()> {
        let pair = Ed25519Keypair::from_seed(&[7; 32]);
        let public = pair.public.0;
        let key = PrivateKey::new(KeypairData::Ed25519(pair), "ci-bot")?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("id_ed25519");
        std::fs::write(&path, key.to_openssh(LineEnding::LF)?.as_bytes())?;
        let loaded = read_key_file(&path, PassphraseSource::Terminal)?;
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
        match read_key_file(&path, PassphraseSource::Terminal) {
            Err(e) => assert!(e.to_string().contains("ssh-keygen -t ed25519"), "{e}"),
            Ok(_) => anyhow::bail!("garbage accepted"),
        }
        Ok(())
    }
}
