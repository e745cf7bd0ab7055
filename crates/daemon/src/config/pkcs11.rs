//! `[pkcs11]`: keys that never leave a PKCS#11 token (an HSM, a smart card,
//! a cloud HSM's library, SoftHSM2 in tests).
//!
//! ```toml
//! [pkcs11]
//! module = "/usr/lib/softhsm/libsofthsm2.so"  # must sit in allowed_module_dirs
//! token = "signet"                # the token's label (or token_serial = "…")
//! pin_file = "/etc/signet/token.pin"   # or pin_credential = "token-pin";
//!                                 # neither: `signet unlock --token` asks
//! keys = ["deploy", "id:01ab"]    # by label or id; none: every Ed25519 key
//! ```
//!
//! The PIN is never in this file or on a command line: it comes from a
//! file only signetd's user can read, a systemd credential, or the user.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Invalid;

/// The directories a module may be loaded from when `allowed_module_dirs`
/// is not set: where Debian, Ubuntu, Fedora and Arch install PKCS#11
/// modules (SoftHSM2, OpenSC, p11-kit's proxy, vendor HSM clients that
/// follow the p11-kit layout). As OpenSSH's `ssh-agent -P`, a module
/// elsewhere is refused: loading one runs its code inside the agent.
pub const DEFAULT_MODULE_DIRS: &[&str] = &[
    "/usr/lib/softhsm",
    "/usr/lib/pkcs11",
    "/usr/lib/x86_64-linux-gnu/softhsm",
    "/usr/lib/x86_64-linux-gnu/pkcs11",
    "/usr/lib/aarch64-linux-gnu/softhsm",
    "/usr/lib/aarch64-linux-gnu/pkcs11",
    "/usr/lib64/pkcs11",
    "/usr/lib64/softhsm",
    "/usr/local/lib/softhsm",
    "/usr/local/lib/pkcs11",
];

/// How many wrong PINs in a row signetd makes at most, when not set: below
/// every common token's own limit (3 for most smart cards and HSMs), so
/// that signet never locks a token by retrying.
pub const DEFAULT_MAX_PIN_TRIES: u32 = 2;

/// `[pkcs11]` section.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (a shared library), an absolute path inside one
    /// of `allowed_module_dirs`. No module: no `[pkcs11]` keys.
    pub module: Option<PathBuf>,
    /// The token, by its label.
    pub token: Option<String>,
    /// The token, by its serial number (instead of `token`).
    pub token_serial: Option<String>,
    /// A file holding the user PIN (one line), owned by signetd's user and
    /// not readable by group or others.
    pub pin_file: Option<PathBuf>,
    /// A systemd credential holding the user PIN
    /// (`$CREDENTIALS_DIRECTORY/NAME`).
    pub pin_credential: Option<String>,
    /// The keys to use, by label or `id:HEX`; empty: every Ed25519 private
    /// key on the token.
    pub keys: Vec<String>,
    /// Directories a module may be loaded from [default:
    /// [`DEFAULT_MODULE_DIRS`]]. In system mode only a configuration file
    /// owned by root (and not writable by others) may set it.
    pub allowed_module_dirs: Option<Vec<PathBuf>>,
    /// Wrong PINs in a row after which signetd stops trying until it is
    /// restarted [default: 2]; it also never tries when the token says the
    /// next wrong PIN would lock it.
    pub max_pin_tries: u32,
    /// Let `ssh-add -s PATH` (SSH_AGENTC_ADD_SMARTCARD_KEY) give the PIN of
    /// the configured token, when PATH is the configured module; without
    /// it `ssh-add -s` is refused. A client can never load a module.
    pub allow_ssh_add_smartcard: bool,
}

impl Default for Pkcs11Config {
    fn default() -> Self {
        Self {
            module: None,
            token: None,
            token_serial: None,
            pin_file: None,
            pin_credential: None,
            keys: Vec::new(),
            allowed_module_dirs: None,
            max_pin_tries: DEFAULT_MAX_PIN_TRIES,
            allow_ssh_add_smartcard: false,
        }
    }
}

// The PIN is never here, but paths and labels are not for every log line
// either: Debug says what matters.
impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token", &self.token)
            .field("token_serial", &self.token_serial)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// Where the PIN comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// `pin_file`.
    File(PathBuf),
    /// `pin_credential`.
    Credential(String),
    /// Nobody configured one: `signet unlock --token` (or `ssh-add -s`
    /// when allowed) gives it.
    Ask,
}

/// Which token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSelector {
    /// By label.
    Label(String),
    /// By serial number.
    Serial(String),
}

impl std::fmt::Display for TokenSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSelector::Label(l) => write!(f, "token {l:?}"),
            TokenSelector::Serial(s) => write!(f, "token with serial {s:?}"),
        }
    }
}

/// A key on the token, as `keys` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKeyRef {
    /// `CKA_LABEL`.
    Label(String),
    /// `CKA_ID` (written `id:HEX`).
    Id(Vec<u8>),
}

impl Pkcs11Config {
    /// Whether a token is configured at all.
    pub fn enabled(&self) -> bool {
        self.module.is_some()
    }

    /// The token to use.
    pub fn token_selector(&self) -> Option<TokenSelector> {
        match (&self.token, &self.token_serial) {
            (Some(l), _) => Some(TokenSelector::Label(l.clone())),
            (None, Some(s)) => Some(TokenSelector::Serial(s.clone())),
            (None, None) => None,
        }
    }

    /// Where the PIN comes from.
    pub fn pin_source(&self) -> PinSource {
        match (&self.pin_file, &self.pin_credential) {
            (Some(p), _) => PinSource::File(p.clone()),
            (None, Some(c)) => PinSource::Credential(c.clone()),
            (None, None) => PinSource::Ask,
        }
    }

    /// The directories modules may be loaded from.
    pub fn module_dirs(&self) -> Vec<PathBuf> {
        match &self.allowed_module_dirs {
            Some(d) => d.clone(),
            None => DEFAULT_MODULE_DIRS.iter().map(PathBuf::from).collect(),
        }
    }

    /// Wrong PINs in a row signetd makes at most.
    pub fn max_pin_tries(&self) -> u32 {
        self.max_pin_tries
    }

    /// The configured keys, parsed.
    pub fn key_refs(&self) -> Result<Vec<TokenKeyRef>, Invalid> {
        self.keys.iter().map(|k| parse_key_ref(k)).collect()
    }
}

fn parse_key_ref(k: &str) -> Result<TokenKeyRef, Invalid> {
    let bad = |problem: String| Invalid::Pkcs11(format!("keys entry {k:?}: {problem}"));
    match k.strip_prefix("id:") {
        Some(h) => hex::decode(h)
            .ok()
            .filter(|id| !id.is_empty())
            .map(TokenKeyRef::Id)
            .ok_or_else(|| bad("an id is written id:HEX (e.g. id:01ab)".to_owned())),
        None if k.is_empty() => Err(bad("empty label".to_owned())),
        None => Ok(TokenKeyRef::Label(k.to_owned())),
    }
}

/// Checks what needs no file system: the settings fit together. Whether
/// the module lies in an allowed directory is checked when it is loaded
/// (`store::pkcs11`), after resolving symbolic links.
pub fn check(c: &Pkcs11Config) -> Result<(), Invalid> {
    let bad = |p: &str| Err(Invalid::Pkcs11(p.to_owned()));
    if let Some(dirs) = &c.allowed_module_dirs {
        if let Some(d) = dirs.iter().find(|d| !d.is_absolute()) {
            return Err(Invalid::Pkcs11(format!(
                "allowed_module_dirs entry {} must be an absolute path",
                d.display()
            )));
        }
    }
    if c.max_pin_tries == 0 {
        return bad("max_pin_tries must be at least 1 (signet stops before the token's own limit; 2 by default)");
    }
    let Some(module) = &c.module else {
        let names_a_token = c.token.is_some()
            || c.token_serial.is_some()
            || c.pin_file.is_some()
            || c.pin_credential.is_some()
            || !c.keys.is_empty();
        if names_a_token {
            return bad("settings without `module`: name the PKCS#11 module, e.g. module = \"/usr/lib/softhsm/libsofthsm2.so\"");
        }
        return Ok(());
    };
    if !module.is_absolute() {
        return bad("module must be an absolute path");
    }
    match (&c.token, &c.token_serial) {
        (None, None) => {
            return bad("name the token: token = \"LABEL\" or token_serial = \"SERIAL\"")
        }
        (Some(_), Some(_)) => return bad("token and token_serial both set: keep one"),
        (Some(l), _) if l.is_empty() => return bad("token must not be empty"),
        _ => {}
    }
    if c.pin_file.is_some() && c.pin_credential.is_some() {
        return bad("pin_file and pin_credential both set: keep one");
    }
    if let Some(p) = &c.pin_file {
        if !p.is_absolute() {
            return bad("pin_file must be an absolute path");
        }
    }
    if let Some(n) = &c.pin_credential {
        if n.is_empty() || n.contains('/') || n == "." || n == ".." {
            return bad("pin_credential must be a plain credential name");
        }
    }
    c.key_refs()?;
    Ok(())
}

/// Whether `module` (already resolved) lies directly or deeper inside one
/// of `dirs` (each resolved too when it exists).
pub fn module_allowed(module: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| {
        let d = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        module.starts_with(&d) && module != d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Pkcs11Config, String> {
        let c: Pkcs11Config = toml::from_str(text).map_err(|e| e.to_string())?;
        check(&c).map_err(|e| e.to_string())?;
        Ok(c)
    }

    #[test]
    fn a_full_section_parses() -> Result<(), String> {
        let c = parse(
            "module = \"/usr/lib/softhsm/libsofthsm2.so\"\ntoken = \"signet\"\n\
             pin_file = \"/etc/signet/pin\"\nkeys = [\"deploy\", \"id:01ab\"]\nmax_pin_tries = 1\n",
        )?;
        assert_eq!(c.pin_source(), PinSource::File("/etc/signet/pin".into()));
        assert_eq!(
            c.key_refs().map_err(|e| e.to_string())?,
            vec![
                TokenKeyRef::Label("deploy".into()),
                TokenKeyRef::Id(vec![1, 0xab])
            ]
        );
        assert_eq!(c.max_pin_tries(), 1);
        assert_eq!(c.module_dirs().len(), DEFAULT_MODULE_DIRS.len());
        let c = parse("module = \"/m.so\"\ntoken_serial = \"1234\"\n")?;
        assert_eq!(c.pin_source(), PinSource::Ask);
        assert_eq!(
            c.token_selector(),
            Some(TokenSelector::Serial("1234".into()))
        );
        Ok(())
    }

    #[test]
    fn nonsense_is_refused_by_name() {
        for (text, needle) in [
            ("module = \"rel.so\"\ntoken = \"t\"\n", "absolute"),
            ("module = \"/m.so\"\n", "name the token"),
            (
                "module = \"/m.so\"\ntoken = \"t\"\ntoken_serial = \"s\"\n",
                "both",
            ),
            (
                "module = \"/m.so\"\ntoken = \"t\"\npin_file = \"/p\"\npin_credential = \"c\"\n",
                "both",
            ),
            (
                "module = \"/m.so\"\ntoken = \"t\"\npin_credential = \"../c\"\n",
                "plain",
            ),
            (
                "module = \"/m.so\"\ntoken = \"t\"\nkeys = [\"id:zz\"]\n",
                "id:HEX",
            ),
            (
                "module = \"/m.so\"\ntoken = \"t\"\nmax_pin_tries = 0\n",
                "at least 1",
            ),
            ("token = \"t\"\n", "without `module`"),
            ("module = \"/m.so\"\ntoken = \"t\"\npin = \"1234\"\n", "pin"),
        ] {
            let e = parse(text).err().unwrap_or_default();
            assert!(e.contains(needle), "{text:?} gave {e:?}");
        }
    }

    #[test]
    fn allow_list_is_by_directory() {
        let dirs = vec![PathBuf::from("/usr/lib/softhsm")];
        assert!(module_allowed(
            Path::new("/usr/lib/softhsm/libsofthsm2.so"),
            &dirs
        ));
        assert!(!module_allowed(Path::new("/tmp/evil.so"), &dirs));
        assert!(!module_allowed(Path::new("/usr/lib/softhsmx/a.so"), &dirs));
        assert!(!module_allowed(Path::new("/usr/lib/softhsm"), &dirs));
    }
}
