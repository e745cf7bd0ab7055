//! The key store: keys at rest in the OS keyring, managed by the agent.
//!
//! The agent does all keyring I/O and holds all key material; these calls
//! only ask it. [`Client::import_ed25519`] is the one that carries a secret
//! (the key the caller read from a file): its request buffer is wiped right
//! after it is sent, as for [`Client::add_ed25519`].

use std::time::Duration;

use signet_proto::extension::{self, ErrorCode, ExtensionError};
use signet_proto::keystore::{
    decode_stored_list, encode_names, DoctorReport, GenerateRequest, ImportRequest, Selection,
    StoreInfo, StoredKey,
};
use signet_proto::{Ed25519Seed, Response};

use crate::blocking::Client;
use crate::error::{Error, Result};
use crate::ops;

/// Turns a key-store reply into its contents, keeping the agent's own reason
/// for every failure (it names the key and says what to do).
fn contents(resp: Response, name: &str) -> Result<Vec<u8>> {
    if let Response::ExtensionFailure(c) = &resp {
        if let Ok(Some(e)) = ExtensionError::decode(c) {
            return Err(match e.code {
                ErrorCode::Locked => Error::Locked,
                code => Error::Refused {
                    reason: e.reason,
                    code: Some(code),
                },
            });
        }
    }
    ops::extension_reply(resp, name, "")
}

fn lifetime_secs(lifetime: Option<Duration>) -> Option<u64> {
    // Sub-second parts round up; an explicit zero means "no lifetime".
    lifetime.map(|l| l.as_secs() + u64::from(l.subsec_nanos() > 0))
}

impl Client {
    /// Makes a new Ed25519 key inside the agent and stores it in the OS
    /// keyring under `name` (the key never leaves the agent).
    pub fn generate(&mut self, name: &str, comment: &str) -> Result<StoredKey> {
        let req = GenerateRequest {
            name: name.to_owned(),
            comment: comment.to_owned(),
        };
        let resp = self.extension_call(extension::GENERATE, false, |out| req.encode(out))?;
        Ok(StoredKey::decode(&contents(resp, extension::GENERATE)?)?)
    }

    /// Stores a key read from a file in the OS keyring (through the agent),
    /// after the agent has read it back and compared it.
    pub fn import_ed25519(
        &mut self,
        seed: &Ed25519Seed,
        public: &[u8; 32],
        name: &str,
        comment: &str,
    ) -> Result<StoredKey> {
        let req = ImportRequest {
            name: name.to_owned(),
            comment: comment.to_owned(),
            seed: seed.clone(),
            public: *public,
        };
        let resp = self.extension_call(extension::IMPORT, true, |out| {
            out.reserve(ops::SECRET_RESERVE);
            req.encode(out)
        })?;
        drop(req);
        Ok(StoredKey::decode(&contents(resp, extension::IMPORT)?)?)
    }

    /// Every stored key, with whether it is loaded.
    pub fn stored_keys(&mut self) -> Result<Vec<StoredKey>> {
        let resp = self.extension_call(extension::STORED, false, |_| {})?;
        Ok(decode_stored_list(&contents(resp, extension::STORED)?)?)
    }

    /// Loads stored keys into the agent (`all`, or by name). `lifetime`:
    /// `None` uses the configured lifetime; `Some(Duration::ZERO)` none.
    pub fn load_stored(
        &mut self,
        names: &[String],
        all: bool,
        lifetime: Option<Duration>,
    ) -> Result<Vec<StoredKey>> {
        let sel = Selection {
            all,
            names: names.to_vec(),
            lifetime: lifetime_secs(lifetime),
        };
        let resp = self.extension_call(extension::LOAD, false, |out| sel.encode(out))?;
        Ok(decode_stored_list(&contents(resp, extension::LOAD)?)?)
    }

    /// Unloads stored keys from the agent (they stay in the keyring).
    pub fn unload_stored(&mut self, names: &[String], all: bool) -> Result<Vec<StoredKey>> {
        let sel = Selection {
            all,
            names: names.to_vec(),
            lifetime: None,
        };
        let resp = self.extension_call(extension::UNLOAD, false, |out| sel.encode(out))?;
        Ok(decode_stored_list(&contents(resp, extension::UNLOAD)?)?)
    }

    /// Deletes a stored key from the keyring and the index (unloading it).
    pub fn delete_stored(&mut self, name: &str) -> Result<StoredKey> {
        let resp =
            self.extension_call(extension::DELETE, false, |out| encode_names(out, &[name]))?;
        Ok(StoredKey::decode(&contents(resp, extension::DELETE)?)?)
    }

    /// Renames a stored key.
    pub fn rename_stored(&mut self, old: &str, new: &str) -> Result<StoredKey> {
        let resp = self.extension_call(extension::RENAME, false, |out| {
            encode_names(out, &[old, new])
        })?;
        Ok(StoredKey::decode(&contents(resp, extension::RENAME)?)?)
    }

    /// Checks that the index and the keyring agree, finishing interrupted
    /// operations; `fix` also drops entries whose secret is gone.
    pub fn doctor(&mut self, fix: bool) -> Result<DoctorReport> {
        let resp = self.extension_call(extension::DOCTOR, false, |out| out.push(u8::from(fix)))?;
        Ok(DoctorReport::decode(&contents(resp, extension::DOCTOR)?)?)
    }

    /// Which key store the agent uses, why, and whether it answers.
    pub fn store_info(&mut self) -> Result<StoreInfo> {
        let resp = self.extension_call(extension::STORE, false, |_| {})?;
        Ok(StoreInfo::decode(&contents(resp, extension::STORE)?)?)
    }
}
