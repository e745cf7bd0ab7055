//! `doctor`: find and repair disagreements between the index and the
//! keyring, finish or undo interrupted operations (the journal of the
//! module above), and in a sealed store check the store key and every
//! entry's seal.

use signet_proto::key::{ed25519_blob, fingerprint};
use signet_proto::keystore::DoctorReport;

use super::{now_rfc3339, public_of, Vault, VaultError};
use crate::hardening::SecretBuf;
use crate::store::backend::{STORE_KEY_ACCOUNT, STORE_KEY_NEXT_ACCOUNT};
use crate::store::index::{Entry, IndexFile, State};
use crate::store::seal::{self, Kind, Recipient, StoreKey};

/// What an entry's bytes say about the key they should hold.
enum Holds {
    /// The key, verified (clear, or sealed and opened).
    Key,
    /// A sealed entry, intact and sealed to this store's key, that could
    /// not be opened (the store is locked).
    SealedIntact,
    /// The key in the clear, in a sealed store.
    Clear,
    /// Something else, with why.
    Wrong(String),
}

impl Vault {
    fn holds(
        &self,
        e: &Entry,
        bytes: &SecretBuf,
        recipient: Option<Recipient>,
        key: Option<&StoreKey>,
    ) -> Holds {
        match seal::classify(bytes.as_slice()) {
            Kind::Plain => {
                let mut seed = [0u8; 32];
                seed.copy_from_slice(bytes.as_slice());
                let ok = Some(public_of(&seed)) == e.public();
                zeroize::Zeroize::zeroize(&mut seed);
                match (ok, recipient) {
                    (false, _) => Holds::Wrong("the keyring entry for its key id holds a different key".into()),
                    (true, Some(_)) => Holds::Clear,
                    (true, None) => Holds::Key,
                }
            }
            Kind::Sealed => {
                let Some(ours) = recipient else {
                    return Holds::Wrong(
                        "it is sealed, but keys.toml has no [sealing] record of a store key".into(),
                    );
                };
                match seal::sealed_to(bytes.as_slice()) {
                    Err(why) => return Holds::Wrong(format!("its sealed entry cannot be read: {why}")),
                    Ok(to) if to != ours => {
                        return Holds::Wrong(format!(
                            "it is sealed to another store key ({}…) than this store's ({}…)",
                            to.short(),
                            ours.short()
                        ))
                    }
                    Ok(_) => {}
                }
                let Some(k) = key else {
                    return Holds::SealedIntact;
                };
                match k.open(&e.key_id, bytes.as_slice()) {
                    Ok(seed) if Some(public_of(&seed)) == e.public() => Holds::Key,
                    Ok(_) => Holds::Wrong("its sealed entry holds a different key".into()),
                    Err(why) => Holds::Wrong(format!("its sealed entry does not open: {why}")),
                }
            }
            Kind::Newer { kind, version } => Holds::Wrong(format!(
                "its entry was written by a newer signet ({kind} format version {version}): upgrade signet"
            )),
            Kind::StoreKey | Kind::Unknown => {
                Holds::Wrong("its entry is not one signet wrote".into())
            }
        }
    }

    /// Finds and repairs disagreements between index and store.
    ///
    /// `full`: also check every active key's secret (may prompt for a keyring
    /// unlock; start-up passes false and checks only interrupted operations,
    /// the store key and orphans). `fix`: drop active entries whose secret
    /// is gone. `key`: the unlocked store key, if the agent has it: sealed
    /// entries are then opened and checked, and keys found in the clear are
    /// sealed (finishing an interrupted migration).
    pub fn doctor(
        &self,
        full: bool,
        fix: bool,
        key: Option<&StoreKey>,
    ) -> Result<DoctorReport, VaultError> {
        let _one = self.serialise();
        let mut report = DoctorReport::default();
        report.findings.extend(self.repair_sealing()?);
        let listed = self.call_store(|s| s.list())?;
        let store = self.store()?;
        let name = store.name();
        let sealing = self.sealing()?;
        let recipient = sealing
            .as_ref()
            .filter(|s| s.state == State::Active)
            .and_then(|s| Recipient::from_hex(&s.recipient));
        if let Some(ours) = recipient {
            match store.get(STORE_KEY_ACCOUNT)? {
                None => {
                    report.remaining += 1;
                    report.findings.push(
                        VaultError::StoreKeyMissing {
                            store: name.to_owned(),
                            account: STORE_KEY_ACCOUNT,
                        }
                        .to_string(),
                    );
                }
                Some(b) => match seal::store_key_recipient(b.as_slice()) {
                    Ok(r) if r == ours => {}
                    Ok(r) => {
                        report.remaining += 1;
                        report.findings.push(
                            VaultError::StoreKeyMismatch {
                                store: name.to_owned(),
                                keyring: r.short(),
                                index: ours.short(),
                            }
                            .to_string(),
                        );
                    }
                    Err(why) => {
                        report.remaining += 1;
                        report.findings.push(format!(
                            "the store key in the {name} key store cannot be used: {why}: restore the keyring from a backup"
                        ));
                    }
                },
            }
            if store.get(STORE_KEY_NEXT_ACCOUNT)?.is_some() {
                report.findings.push(
                    "an interrupted `signet passwd` left a second wrapping of the store key: \
                     the next `signet unlock-store` finishes it (with the new passphrase) or \
                     undoes it (with the old one)"
                        .to_owned(),
                );
            }
        }
        // Secrets deleted by this run: the listing above still names them.
        let mut deleted: Vec<String> = Vec::new();
        let mut to_seal: Vec<Entry> = Vec::new();
        self.index.update(|f: &mut IndexFile| {
            let snapshot = f.keys.clone();
            for e in snapshot {
                let key_name = &e.name;
                match e.state {
                    State::Pending => match store.get(&e.key_id)? {
                        Some(bytes) => match self.holds(&e, &bytes, recipient, key) {
                            Holds::Key | Holds::SealedIntact | Holds::Clear => {
                                if let Some(x) = f.by_key_id_mut(&e.key_id) {
                                    x.state = State::Active;
                                }
                                report.findings.push(format!(
                                    "key {key_name:?}: an interrupted generate/import had stored the secret; finished it (now active)"
                                ));
                            }
                            Holds::Wrong(why) => {
                                report.remaining += 1;
                                report.findings.push(format!(
                                    "key {key_name:?}: pending, and {why}; left both alone: inspect the keyring"
                                ));
                            }
                        },
                        None => {
                            f.remove(&e.key_id);
                            report.findings.push(format!(
                                "key {key_name:?}: an interrupted generate/import never reached the keyring; dropped the incomplete entry (nothing was stored)"
                            ));
                        }
                    },
                    State::Removing => {
                        store.delete(&e.key_id)?;
                        deleted.push(e.key_id.clone());
                        f.remove(&e.key_id);
                        report.findings.push(format!(
                            "key {key_name:?}: finished an interrupted remove"
                        ));
                    }
                    State::Active if full => match store.get(&e.key_id)? {
                        None if fix => {
                            f.remove(&e.key_id);
                            report.findings.push(format!(
                                "key {key_name:?}: its secret is gone from the {name} key store; dropped the entry (--fix)"
                            ));
                        }
                        None => {
                            report.remaining += 1;
                            report.findings.push(format!(
                                "key {key_name:?}: its secret is missing from the {name} key store{}: import it again, or drop the entry with `signet doctor --fix`",
                                if name == "keyutils" { " (the kernel keyring forgets everything at reboot)" } else { "" }
                            ));
                        }
                        Some(bytes) => match self.holds(&e, &bytes, recipient, key) {
                            Holds::Key | Holds::SealedIntact => {}
                            Holds::Clear if key.is_some() => to_seal.push(e.clone()),
                            Holds::Clear => {
                                report.remaining += 1;
                                report.findings.push(format!(
                                    "key {key_name:?}: stored in the clear in a sealed store: `signet unlock-store` seals it"
                                ));
                            }
                            Holds::Wrong(why) => {
                                report.remaining += 1;
                                report.findings.push(format!(
                                    "key {key_name:?}: {why}; nothing was deleted: restore the entry from a backup of the keyring or import the key again"
                                ));
                            }
                        },
                    },
                    State::Active => {}
                }
            }
            if let Some(ids) = &listed {
                for id in ids {
                    if f.by_key_id(id).is_some() || deleted.contains(id) {
                        continue;
                    }
                    let mut public = [0u8; 32];
                    if hex::decode_to_slice(id, &mut public).is_err() {
                        continue;
                    }
                    let mut adopted = format!("recovered-{}", &id[..8]);
                    let mut n = 2;
                    while f.by_name(&adopted).is_some() {
                        adopted = format!("recovered-{}-{n}", &id[..8]);
                        n += 1;
                    }
                    f.keys.push(Entry {
                        name: adopted.clone(),
                        comment: adopted.clone(),
                        key_id: id.clone(),
                        fingerprint: fingerprint(&ed25519_blob(&public)),
                        created_at: now_rfc3339(),
                        store: name.to_owned(),
                        state: State::Active,
                    });
                    report.findings.push(format!(
                        "key id {id}: a secret in the {name} key store had no index entry; added it as {adopted:?} (rename it with `signet rename`)"
                    ));
                }
            }
            Ok::<_, VaultError>(())
        })?;
        // Finish an interrupted migration: seal what is still in the clear.
        if let Some(k) = key {
            for e in to_seal {
                let Some(bytes) = store.get(&e.key_id)? else {
                    continue;
                };
                match self.seal_one(k, &e.name, &e.key_id, bytes.as_slice(), e.public()) {
                    Ok(()) => report.findings.push(format!(
                        "key {:?}: was stored in the clear; sealed it",
                        e.name
                    )),
                    Err(why) => {
                        report.remaining += 1;
                        report.findings.push(format!(
                            "key {:?}: stored in the clear and could not be sealed: {why}",
                            e.name
                        ));
                    }
                }
            }
        }
        Ok(report)
    }
}
