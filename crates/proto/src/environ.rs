//! Which environment variables may carry a secret, decided the same way by
//! `signet start` (which does not pass them to `signetd`) and `signetd`
//! (which drops them at start-up).
//!
//! Pure: the caller hands in the names. A name is secret if it is one of
//! [`SECRET_VARS`] or if one of its `_`-separated words (any case) is in
//! [`SECRET_WORDS`]: `ENCORD_SSH_KEY`, `AWS_SECRET_ACCESS_KEY`,
//! `GITHUB_TOKEN`, `SSH_ASKPASS_PASSWORD`, `DB_PASS`. Words are matched
//! whole, so `SIGNET_KEYRING_SERVICE`, `GNOME_KEYRING_CONTROL`,
//! `SSH_ASKPASS`, `SSH_AUTH_SOCK` and `CREDENTIALS_DIRECTORY` (what systemd
//! credentials need) are kept.

/// Variables that are always dropped: the Encord SDK reads a raw private key
/// (or its file) from the first two.
pub const SECRET_VARS: &[&str] = &[
    "ENCORD_SSH_KEY",
    "ENCORD_SSH_KEY_FILE",
    "SSH_ASKPASS_PASSWORD",
];

/// Words that make a variable look like it holds a key, a password or a token.
pub const SECRET_WORDS: &[&str] = &[
    "KEY",
    "KEYS",
    "APIKEY",
    "PRIVKEY",
    "PRIVATEKEY",
    "PASS",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
    "TOKEN",
];

/// Whether a variable named `name` may hold a secret.
pub fn is_secret(name: &str) -> bool {
    SECRET_VARS.iter().any(|v| v.eq_ignore_ascii_case(name))
        || name
            .split(['_', '-', '.'])
            .any(|w| SECRET_WORDS.iter().any(|s| s.eq_ignore_ascii_case(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_by_name_and_by_word() {
        for name in [
            "ENCORD_SSH_KEY",
            "ENCORD_SSH_KEY_FILE",
            "SSH_ASKPASS_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "ci_job_token",
            "DB_PASS",
            "OPENAI_APIKEY",
            "MY_PRIVATE_KEY",
            "PGPASSWORD_X_PASSWD",
            "SIGNET_KEY",
        ] {
            assert!(is_secret(name), "{name}");
        }
    }

    #[test]
    fn what_signetd_and_its_children_need_is_kept() {
        for name in [
            "HOME",
            "PATH",
            "PWD",
            "SSH_AUTH_SOCK",
            "SSH_ASKPASS",
            "SSH_ASKPASS_PROMPT",
            "SIGNET_ASKPASS",
            "SIGNET_KEYRING_SERVICE",
            "GNOME_KEYRING_CONTROL",
            "DBUS_SESSION_BUS_ADDRESS",
            "CREDENTIALS_DIRECTORY",
            "XAUTHORITY",
            "LISTEN_FDS",
            "NOTIFY_SOCKET",
            "KEYBOARD_LAYOUT",
            "PASSAGE_DIR",
        ] {
            assert!(!is_secret(name), "{name}");
        }
    }
}
