//! `[keys.NAME]`: settings for one key, and where a configured key comes from.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Invalid, Lifetime};

/// `[keys.NAME]`: settings for one stored key.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct KeyConfig {
    /// Load the key when the daemon starts.
    pub autoload: bool,
    /// How long the agent keeps the key once loaded (overrides
    /// `[agent] default_lifetime`; `"0"` = until unloaded).
    pub lifetime: Option<Lifetime>,
    /// Ask the user before every use of the key.
    pub confirm: bool,
    /// With `confirm`: after a yes, the same process (pid, start time and
    /// executable) is not asked again for this key for this long; `0` /
    /// `"none"`: ask every time. `signet lock` forgets every such yes.
    pub confirm_remember: Option<Lifetime>,
    /// Load the key at start-up from this source, failing closed:
    /// `credential`, `file` or `keyring` (see [`KeySource`]).
    pub source: Option<String>,
    /// `source = "credential"`: the credential's name [default: the key's name].
    pub credential: Option<String>,
    /// `source = "file"`: the key file's absolute path.
    pub path: Option<PathBuf>,
    /// The `[policies.NAME]` rule this key obeys (keys are matched by name,
    /// whatever their source); none = unrestricted.
    pub policy: Option<String>,
}

/// Where a configured key comes from (`[keys.NAME] source`), loaded at
/// start-up, failing closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `$CREDENTIALS_DIRECTORY/<name>` (systemd `LoadCredential=`/`LoadCredentialEncrypted=`).
    Credential(String),
    /// A plain file with owner-only permissions.
    File(PathBuf),
    /// The key store (OS keyring) of `signet generate`/`signet import`.
    Keyring,
}

impl KeySource {
    /// The source named by a `[keys.NAME]` table, if it names one.
    pub fn of(name: &str, k: &KeyConfig) -> Result<Option<Self>, Invalid> {
        let bad = |problem: String| Invalid::KeySource {
            key: name.to_owned(),
            problem,
        };
        let Some(source) = k.source.as_deref() else {
            if k.path.is_some() || k.credential.is_some() {
                return Err(bad(
                    "`path`/`credential` need `source = \"file\"`/`\"credential\"`".to_owned(),
                ));
            }
            return Ok(None);
        };
        let only = |field: &str, set: bool| {
            if set {
                Err(bad(format!(
                    "`{field}` does not apply to source = {source:?}"
                )))
            } else {
                Ok(())
            }
        };
        match source {
            "credential" => {
                only("path", k.path.is_some())?;
                let cred = k.credential.clone().unwrap_or_else(|| name.to_owned());
                if cred.is_empty() || cred.contains('/') || cred == "." || cred == ".." {
                    return Err(bad(format!(
                        "credential name {cred:?} must be a plain file name"
                    )));
                }
                Ok(Some(KeySource::Credential(cred)))
            }
            "file" => {
                only("credential", k.credential.is_some())?;
                match &k.path {
                    Some(p) if p.is_absolute() => Ok(Some(KeySource::File(p.clone()))),
                    Some(p) => Err(bad(format!("path {} must be absolute", p.display()))),
                    None => Err(bad(
                        "source = \"file\" needs `path = \"/absolute/path\"`".to_owned()
                    )),
                }
            }
            "keyring" => {
                only("path", k.path.is_some())?;
                only("credential", k.credential.is_some())?;
                Ok(Some(KeySource::Keyring))
            }
            other => Err(bad(format!(
                "source = {other:?} is not a key source: use \"credential\", \"file\" or \"keyring\" \
                 (an unencrypted file is only ever read when named explicitly with source = \"file\")"
            ))),
        }
    }

    /// The source for logs and errors.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Credential(c) => format!("systemd credential {c:?}"),
            KeySource::File(p) => format!("file {}", p.display()),
            KeySource::Keyring => "the key store".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_config(text: &str) -> KeyConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sources_parse_and_refuse_nonsense() {
        let of = |t: &str| KeySource::of("ci", &key_config(t)).map_err(|e| e.to_string());
        assert_eq!(
            of("source = \"credential\""),
            Ok(Some(KeySource::Credential("ci".into())))
        );
        assert_eq!(
            of("source = \"credential\"\ncredential = \"bot\""),
            Ok(Some(KeySource::Credential("bot".into())))
        );
        assert_eq!(
            of("source = \"file\"\npath = \"/k\""),
            Ok(Some(KeySource::File("/k".into())))
        );
        assert_eq!(of("source = \"keyring\""), Ok(Some(KeySource::Keyring)));
        assert_eq!(of("autoload = true"), Ok(None));
        for bad in [
            "source = \"plaintext\"",
            "source = \"file\"",
            "source = \"file\"\npath = \"relative\"",
            "source = \"credential\"\ncredential = \"../x\"",
            "path = \"/k\"",
            "source = \"keyring\"\npath = \"/k\"",
        ] {
            let e = of(bad).err().unwrap_or_default();
            assert!(e.starts_with("keys.ci: "), "accepted {bad:?}: {e:?}");
        }
    }
}
