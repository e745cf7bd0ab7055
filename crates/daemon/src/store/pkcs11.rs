//! Keys that never leave a PKCS#11 token (`[pkcs11]`): the module, the
//! token's sessions and login, finding, generating and signing with its
//! Ed25519 keys.
//!
//! **Owns**: the one loaded module (`C_Initialize` once per daemon), the
//! token's slot, a small pool of sessions reused across signatures, the
//! user PIN (in locked memory, kept to log in again after the token comes
//! back) and the count of wrong PINs. **Must not**: hold a private key's
//! value (the token does; keys made here are `CKA_SENSITIVE`,
//! `!CKA_EXTRACTABLE`), load a module outside the allowed directories,
//! or retry a PIN the token might count towards locking itself.
//!
//! Every call blocks (the module talks to a device, a daemon or a network
//! HSM): callers in async code go through `tokio::task::spawn_blocking`.
//!
//! When a call fails because the token went away (removed, its daemon
//! restarted, the module's state lost), every session is dropped and the
//! next signature looks for the token again, logs in with the PIN it kept
//! and finds the key by its `CKA_ID`; until then only this token's keys are
//! refused, with the reason.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::RawAuthPin;
use zeroize::{Zeroize, Zeroizing};

use crate::config::{module_allowed, Pkcs11Config, TokenKeyRef, TokenSelector};
use crate::hardening::LockedBox;

/// DER of the Ed25519 curve's OID (1.3.101.112, RFC 8410), as
/// `CKA_EC_PARAMS` names it in PKCS#11 3.0.
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// The same curve by name (PrintableString "edwards25519"), which some
/// modules write instead.
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";

/// Idle sessions kept open for reuse (more are opened when more signatures
/// run at once, and closed again when they finish).
const IDLE_SESSIONS: usize = 4;

/// How often at most the module is re-initialised to look for a token that
/// went away (signatures in between are refused at once).
const REINIT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The longest PIN kept (PKCS#11 modules accept far shorter ones).
const MAX_PIN: usize = 256;

/// A PIN in locked memory, wiped on drop.
struct PinBytes {
    bytes: [u8; MAX_PIN],
    len: usize,
}

impl Drop for PinBytes {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

/// Why the token refused or failed. Every message names the token and
/// says what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// The module lies outside the allowed directories.
    #[error("PKCS#11 module {} is not in an allowed directory ({dirs}): install it there, or (as root, for a system agent) add its directory to [pkcs11] allowed_module_dirs", module.display())]
    NotAllowed {
        /// The module as resolved.
        module: PathBuf,
        /// The allowed directories.
        dirs: String,
    },
    /// The module cannot be loaded or initialised.
    #[error("cannot load PKCS#11 module {}: {detail}", module.display())]
    Module {
        /// The module.
        module: PathBuf,
        /// Why.
        detail: String,
    },
    /// The token is not there (now).
    #[error("{token} is not present ({detail}): insert it (or check the module's configuration, e.g. SOFTHSM2_CONF); its keys sign again as soon as it is back")]
    Absent {
        /// Which token.
        token: String,
        /// What the module said.
        detail: String,
    },
    /// No PIN was given yet.
    #[error("{token} needs its user PIN: run `signet unlock --token` (or set [pkcs11] pin_file / pin_credential)")]
    NoPin {
        /// Which token.
        token: String,
    },
    /// The PIN was wrong.
    #[error("wrong PIN for {token} ({tries} of at most {max} wrong PINs signet makes in a row{remaining}): check the PIN and give it again with `signet unlock --token`")]
    WrongPin {
        /// Which token.
        token: String,
        /// Wrong PINs so far.
        tries: u32,
        /// The most signet makes.
        max: u32,
        /// What the token says about tries left.
        remaining: String,
    },
    /// signet stopped trying PINs.
    #[error("not trying another PIN for {token}: {why}; check the PIN, then restart signetd (a token whose PIN is locked needs its SO to unlock it)")]
    PinStopped {
        /// Which token.
        token: String,
        /// Why.
        why: String,
    },
    /// The PIN source could not be read.
    #[error("cannot read the PIN for {token}: {detail}")]
    PinSource {
        /// Which token.
        token: String,
        /// What is wrong and what to do.
        detail: String,
    },
    /// A configured key is not on the token.
    #[error("{token} has no Ed25519 private key {key}: list its keys with `pkcs11-tool --module MODULE --list-objects --login`, or create one with `signet generate NAME --store pkcs11`")]
    NoSuchKey {
        /// Which token.
        token: String,
        /// The key.
        key: String,
    },
    /// Anything else the module said.
    #[error("{token}: {op} failed: {detail}")]
    Failed {
        /// Which token.
        token: String,
        /// The operation.
        op: &'static str,
        /// What the module said.
        detail: String,
    },
}

/// An Ed25519 key on the token: its label, id and public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKeyInfo {
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// The 32-byte public key.
    pub public: [u8; 32],
}

/// What the login state is.
struct Login {
    /// The PIN the token accepted (kept to log in again after it returns).
    pin: Option<LockedBox<PinBytes>>,
    /// Wrong PINs in a row.
    wrong: u32,
    /// The slot the token was found in, while it is there.
    slot: Option<Slot>,
    /// Bumped whenever the sessions are dropped: object handles found
    /// before are not trusted after.
    generation: u64,
}

/// The token: one module, one token in it, its sessions.
pub struct Token {
    ctx: Pkcs11,
    selector: TokenSelector,
    label: String,
    max_tries: u32,
    login: Mutex<Login>,
    idle: Mutex<Vec<(u64, Session)>>,
    reinit_at: Mutex<Option<std::time::Instant>>,
    /// Private-key handles by `CKA_ID`, found once per generation (a
    /// search is three module calls; a signature then is two).
    handles: Mutex<Vec<(u64, Vec<u8>, ObjectHandle)>>,
}

/// Resolves `module` and checks it against the allow-list.
pub fn check_module(module: &Path, dirs: &[PathBuf]) -> Result<PathBuf, TokenError> {
    let resolved = std::fs::canonicalize(module).map_err(|e| TokenError::Module {
        module: module.to_owned(),
        detail: format!("{e} (is the module installed? e.g. `apt-get install softhsm2`)"),
    })?;
    if !module_allowed(&resolved, dirs) {
        return Err(TokenError::NotAllowed {
            module: resolved,
            dirs: dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(resolved)
}

fn ck(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, f) => format!("{f}: {}", rv_name(*rv)),
        other => other.to_string(),
    }
}

/// The return value's name (the module's long prose is for manuals).
fn rv_name(rv: RvError) -> String {
    let s = format!("{rv:?}");
    // `PinIncorrect` → `CKR_PIN_INCORRECT`
    let mut out = String::from("CKR_");
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Whether an error means the token (or the module's link to it) is gone,
/// so that the sessions must be dropped and the token found again.
fn gone(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::SlotIdInvalid
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::GeneralError
                | RvError::CryptokiNotInitialized,
            _
        )
    )
}

impl Token {
    /// Loads the module (once: keep the `Token`), checks it against the
    /// allow-list first, and initialises it. The token itself need not be
    /// present yet.
    pub fn open(config: &Pkcs11Config) -> Result<Self, TokenError> {
        let module = config.module.clone().unwrap_or_default();
        let resolved = check_module(&module, &config.module_dirs())?;
        let selector = config.token_selector().ok_or_else(|| TokenError::Module {
            module: module.clone(),
            detail: "no token named in [pkcs11]".to_owned(),
        })?;
        let fail = |e: CkError| TokenError::Module {
            module: resolved.clone(),
            detail: ck(&e),
        };
        let ctx = Pkcs11::new(&resolved).map_err(fail)?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(fail)?;
        Ok(Self {
            ctx,
            label: selector.to_string(),
            selector,
            max_tries: config.max_pin_tries(),
            login: Mutex::new(Login {
                pin: None,
                wrong: 0,
                slot: None,
                generation: 0,
            }),
            idle: Mutex::new(Vec::new()),
            reinit_at: Mutex::new(None),
            handles: Mutex::new(Vec::new()),
        })
    }

    /// The token as the configuration names it (`token "signet"`).
    pub fn describe(&self) -> &str {
        &self.label
    }

    fn login_state(&self) -> MutexGuard<'_, Login> {
        self.login.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failed(&self, op: &'static str, e: &CkError) -> TokenError {
        if gone(e) {
            return TokenError::Absent {
                token: self.label.clone(),
                detail: ck(e),
            };
        }
        TokenError::Failed {
            token: self.label.clone(),
            op,
            detail: ck(e),
        }
    }

    /// The slot holding the token now.
    fn find_slot(&self) -> Result<Slot, TokenError> {
        let absent = |detail: String| TokenError::Absent {
            token: self.label.clone(),
            detail,
        };
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(|e| absent(ck(&e)))?;
        for slot in slots {
            let Ok(info) = self.ctx.get_token_info(slot) else {
                continue;
            };
            let hit = match &self.selector {
                TokenSelector::Label(l) => info.label().trim_end() == l,
                TokenSelector::Serial(s) => info.serial_number().trim_end() == s,
            };
            if hit {
                return Ok(slot);
            }
        }
        Err(absent("no slot holds it".to_owned()))
    }

    /// The slot holding the token; if no slot does, the module is
    /// re-initialised (at most every [`REINIT_EVERY`]) and asked again: some
    /// modules (SoftHSM2 among them) only notice a token that came back
    /// after `C_Finalize`/`C_Initialize`. The module stays loaded; every
    /// session (and the login) is dropped, so the generation moves on.
    fn find_or_reinit(&self, state: &mut Login) -> Result<Slot, TokenError> {
        match self.find_slot() {
            Ok(s) => Ok(s),
            Err(e) => {
                let mut last = self.reinit_at.lock().unwrap_or_else(|p| p.into_inner());
                if last.is_some_and(|t| t.elapsed() < REINIT_EVERY) {
                    return Err(e);
                }
                *last = Some(std::time::Instant::now());
                drop(last);
                state.generation += 1;
                state.slot = None;
                let old: Vec<_> =
                    std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
                for (_, s) in old {
                    let _ = s.close();
                }
                let _ = self.ctx.clone().finalize();
                self.ctx
                    .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
                    .map_err(|e| TokenError::Absent {
                        token: self.label.clone(),
                        detail: format!("re-initialising the module: {}", ck(&e)),
                    })?;
                self.find_slot()
            }
        }
    }

    /// What the token says about its user PIN's tries, for messages.
    fn pin_flags(&self, slot: Slot) -> (bool, bool, String) {
        match self.ctx.get_token_info(slot) {
            Ok(i) if i.user_pin_locked() => {
                (true, true, "; the token says the PIN is locked".to_owned())
            }
            Ok(i) if i.user_pin_final_try() => (
                false,
                true,
                "; the token says one more wrong PIN locks it".to_owned(),
            ),
            Ok(i) if i.user_pin_count_low() => {
                (false, false, "; the token says few tries remain".to_owned())
            }
            _ => (false, false, String::new()),
        }
    }

    /// Logs in with `pin` (from a file, a credential or the user), counting
    /// a wrong one; never tries when signet's limit is reached or the token
    /// says the next wrong PIN locks it. On success the PIN is kept (locked
    /// memory) for logging in again after the token returns.
    pub fn login(&self, pin: &[u8]) -> Result<(), TokenError> {
        if pin.is_empty() || pin.len() > MAX_PIN {
            return Err(TokenError::PinSource {
                token: self.label.clone(),
                detail: format!("a PIN has 1 to {MAX_PIN} bytes"),
            });
        }
        let mut state = self.login_state();
        if state.wrong >= self.max_tries {
            return Err(TokenError::PinStopped {
                token: self.label.clone(),
                why: format!(
                    "{} wrong PINs in a row already ([pkcs11] max_pin_tries = {})",
                    state.wrong, self.max_tries
                ),
            });
        }
        let slot = match state.slot {
            Some(s) => s,
            None => self.find_or_reinit(&mut state)?,
        };
        let (locked, final_try, said) = self.pin_flags(slot);
        if locked || final_try {
            return Err(TokenError::PinStopped {
                token: self.label.clone(),
                why: said.trim_start_matches("; ").to_owned(),
            });
        }
        let session = self
            .ctx
            .open_ro_session(slot)
            .map_err(|e| self.failed("opening a session", &e))?;
        let raw = RawAuthPin::new(Box::new(pin.to_vec()));
        match session.login_with_raw(UserType::User, &raw) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
                _,
            )) => {
                state.wrong += 1;
                let (_, _, remaining) = self.pin_flags(slot);
                return Err(TokenError::WrongPin {
                    token: self.label.clone(),
                    tries: state.wrong,
                    max: self.max_tries,
                    remaining,
                });
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                state.wrong = self.max_tries;
                return Err(TokenError::PinStopped {
                    token: self.label.clone(),
                    why: "the token says the PIN is locked".to_owned(),
                });
            }
            Err(e) => return Err(self.failed("login", &e)),
        }
        let mut kept = PinBytes {
            bytes: [0; MAX_PIN],
            len: pin.len(),
        };
        kept.bytes[..pin.len()].copy_from_slice(pin);
        let kept = LockedBox::new(kept).map_err(|e| TokenError::Failed {
            token: self.label.clone(),
            op: "keeping the PIN in locked memory",
            detail: e.to_string(),
        })?;
        state.pin = Some(kept);
        state.wrong = 0;
        state.slot = Some(slot);
        let generation = state.generation;
        drop(state);
        // This session keeps the login alive (it is per application and
        // token, and ends with the last session).
        self.put_back(generation, session);
        Ok(())
    }

    /// Whether a PIN was accepted (so that the token's keys can be used).
    pub fn logged_in(&self) -> bool {
        self.login_state().pin.is_some()
    }

    /// Drops every session (the token went away); the next use finds it
    /// again.
    fn reset(&self, generation: u64) {
        let mut state = self.login_state();
        if state.generation != generation {
            return;
        }
        state.generation += 1;
        state.slot = None;
        drop(state);
        let old: Vec<_> = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        // Closing a session of a vanished token fails; that is expected.
        for (_, s) in old {
            let _ = s.close();
        }
    }

    /// A session on the token, logged in: an idle one, or a new one (the
    /// token found again and logged in with the kept PIN if it went away).
    fn session(&self) -> Result<(u64, Session), TokenError> {
        let mut state = self.login_state();
        let generation = state.generation;
        if state.slot.is_some() {
            if let Some(s) = self
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop()
                .filter(|(g, _)| *g == generation)
            {
                return Ok(s);
            }
        }
        let Some(pin) = &state.pin else {
            return Err(TokenError::NoPin {
                token: self.label.clone(),
            });
        };
        let pin = RawAuthPin::new(Box::new(pin.bytes[..pin.len].to_vec()));
        let slot = match state.slot {
            Some(s) => s,
            None => self.find_or_reinit(&mut state)?,
        };
        let session = self
            .ctx
            .open_ro_session(slot)
            .map_err(|e| self.failed("opening a session", &e))?;
        if state.slot.is_none() {
            // The token came back: log in again with the PIN it accepted.
            match session.login_with_raw(UserType::User, &pin) {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                    // Not the same token any more (or its PIN changed):
                    // forget the PIN rather than try it again.
                    state.pin = None;
                    state.wrong += 1;
                    return Err(TokenError::WrongPin {
                        token: self.label.clone(),
                        tries: state.wrong,
                        max: self.max_tries,
                        remaining: "; the PIN it accepted before was refused after it came back"
                            .to_owned(),
                    });
                }
                Err(e) => return Err(self.failed("login", &e)),
            }
            state.slot = Some(slot);
        }
        Ok((generation, session))
    }

    fn put_back(&self, generation: u64, session: Session) {
        // Lock order: `login` before `idle`, as in `session`.
        let current = self.login_state().generation;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_SESSIONS && generation == current {
            idle.push((generation, session));
        }
    }

    /// Runs `f` on a logged-in session; if the token went away, drops the
    /// sessions and tries once more (it may be back already).
    fn with_session<T>(
        &self,
        op: &'static str,
        f: impl Fn(&Session) -> Result<T, CkError>,
    ) -> Result<T, TokenError> {
        let mut last = None;
        for _ in 0..2 {
            let (generation, session) = self.session()?;
            match f(&session) {
                Ok(v) => {
                    self.put_back(generation, session);
                    return Ok(v);
                }
                Err(e) if gone(&e) => {
                    drop(session);
                    self.reset(generation);
                    last = Some(e);
                }
                Err(e) => {
                    self.put_back(generation, session);
                    return Err(self.failed(op, &e));
                }
            }
        }
        Err(match last {
            Some(e) => self.failed(op, &e),
            None => TokenError::Absent {
                token: self.label.clone(),
                detail: String::new(),
            },
        })
    }

    /// The Ed25519 private keys on the token (with their public keys),
    /// those `refs` names (all when empty).
    pub fn keys(&self, refs: &[TokenKeyRef]) -> Result<Vec<TokenKeyInfo>, TokenError> {
        let all = self.with_session("listing keys", list_keys)?;
        if refs.is_empty() {
            return Ok(all);
        }
        refs.iter()
            .map(|r| {
                all.iter()
                    .find(|k| match r {
                        TokenKeyRef::Label(l) => k.label == *l,
                        TokenKeyRef::Id(id) => k.id == *id,
                    })
                    .cloned()
                    .ok_or_else(|| TokenError::NoSuchKey {
                        token: self.label.clone(),
                        key: match r {
                            TokenKeyRef::Label(l) => format!("labelled {l:?}"),
                            TokenKeyRef::Id(id) => format!("with id {}", hex::encode(id)),
                        },
                    })
            })
            .collect()
    }

    /// Signs `message` (pure Ed25519, `CKM_EDDSA`) with the private key
    /// whose `CKA_ID` is `id`.
    pub fn sign(&self, id: &[u8], message: &[u8]) -> Result<[u8; 64], TokenError> {
        let sig = self.with_session("signing", |s| {
            let generation = self.login_state().generation;
            let cached = self
                .handles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .find(|(g, i, _)| *g == generation && i == id)
                .map(|(_, _, h)| *h);
            let key = match cached {
                Some(h) => h,
                None => {
                    let h = find_private(s, id)?.ok_or(CkError::Pkcs11(
                        RvError::KeyHandleInvalid,
                        cryptoki::context::Function::FindObjects,
                    ))?;
                    let mut handles = self.handles.lock().unwrap_or_else(|p| p.into_inner());
                    handles.retain(|(g, i, _)| *g == generation && i != id);
                    handles.push((generation, id.to_vec(), h));
                    h
                }
            };
            s.sign(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                key,
                message,
            )
        })?;
        sig.as_slice().try_into().map_err(|_| TokenError::Failed {
            token: self.label.clone(),
            op: "signing",
            detail: format!(
                "the module returned {} bytes, not a 64-byte Ed25519 signature",
                sig.len()
            ),
        })
    }

    /// Creates an Ed25519 key pair on the token labelled `label`: the
    /// private key `CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE` and not
    /// `CKA_EXTRACTABLE`, so it never leaves the token.
    pub fn generate(&self, label: &str) -> Result<TokenKeyInfo, TokenError> {
        let id = new_id();
        let (public_t, private_t) = templates(label, &id);
        let public = self.with_rw_session("generating a key pair", |s| {
            let (pubh, _) =
                s.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public_t, &private_t)?;
            ec_point(s, pubh)
        })?;
        Ok(TokenKeyInfo {
            label: label.to_owned(),
            id,
            public,
        })
    }

    /// Writes an existing key onto the token (`signet import --store pkcs11
    /// --allow-import`): weaker than [`Token::generate`], since the key
    /// existed outside the token; marked sensitive and not extractable
    /// from now on (the token sets `CKA_NEVER_EXTRACTABLE` false).
    pub fn import(
        &self,
        label: &str,
        seed: &[u8; 32],
        public: [u8; 32],
    ) -> Result<TokenKeyInfo, TokenError> {
        let id = new_id();
        let (mut public_t, mut private_t) = templates(label, &id);
        public_t.push(Attribute::Class(ObjectClass::PUBLIC_KEY));
        public_t.push(Attribute::EcPoint(der_octets(&public)));
        private_t.push(Attribute::Class(ObjectClass::PRIVATE_KEY));
        private_t.push(Attribute::EcParams(ED25519_OID.to_vec()));
        private_t.push(Attribute::Value(seed.to_vec()));
        let r = self.with_rw_session("importing a key", |s| {
            let private = s.create_object(&private_t)?;
            // Both objects or neither: a private key without its public
            // half would be invisible to signet and left behind.
            if let Err(e) = s.create_object(&public_t) {
                let _ = s.destroy_object(private);
                return Err(e);
            }
            Ok(())
        });
        for a in &mut private_t {
            if let Attribute::Value(v) = a {
                v.zeroize();
            }
        }
        r?;
        Ok(TokenKeyInfo {
            label: label.to_owned(),
            id,
            public,
        })
    }

    /// Deletes the key pair with this `CKA_ID`; false if there was none.
    pub fn delete(&self, id: &[u8]) -> Result<bool, TokenError> {
        self.handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(_, i, _)| i != id);
        self.with_rw_session("deleting a key", |s| {
            let found = s.find_objects(&[Attribute::Id(id.to_vec())])?;
            let any = !found.is_empty();
            for o in found {
                s.destroy_object(o)?;
            }
            Ok(any)
        })
    }

    /// A read-write session (for generate/import/delete), not pooled.
    fn with_rw_session<T>(
        &self,
        op: &'static str,
        f: impl Fn(&Session) -> Result<T, CkError>,
    ) -> Result<T, TokenError> {
        // Make sure the token is found and logged in (the login is shared
        // by every session of this application).
        let (generation, anchor) = self.session()?;
        let slot = self.login_state().slot;
        let r = match slot {
            Some(slot) => match self.ctx.open_rw_session(slot) {
                Ok(rw) => f(&rw).map_err(|e| {
                    if gone(&e) {
                        self.reset(generation);
                    }
                    self.failed(op, &e)
                }),
                Err(e) => Err(self.failed("opening a read-write session", &e)),
            },
            None => Err(TokenError::Absent {
                token: self.label.clone(),
                detail: String::new(),
            }),
        };
        self.put_back(generation, anchor);
        r
    }
}

/// A fresh 16-byte `CKA_ID`.
fn new_id() -> Vec<u8> {
    use rand_core::RngCore as _;
    let mut id = vec![0u8; 16];
    rand_core::OsRng.fill_bytes(&mut id);
    id
}

/// The key pair's templates, public and private.
fn templates(label: &str, id: &[u8]) -> (Vec<Attribute>, Vec<Attribute>) {
    let common = |private: bool| {
        vec![
            Attribute::Token(true),
            Attribute::Private(private),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ]
    };
    let mut public = common(false);
    public.extend([
        Attribute::EcParams(ED25519_OID.to_vec()),
        Attribute::Verify(true),
    ]);
    let mut private = common(true);
    private.extend([
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
    ]);
    (public, private)
}

/// `04 20 <32 bytes>`: a DER OCTET STRING, as `CKA_EC_POINT` holds it.
fn der_octets(public: &[u8; 32]) -> Vec<u8> {
    let mut v = vec![0x04, 0x20];
    v.extend_from_slice(public);
    v
}

/// The public key of a public-key object (`CKA_EC_POINT`, DER-wrapped or
/// raw, as modules differ).
fn ec_point(s: &Session, object: ObjectHandle) -> Result<[u8; 32], CkError> {
    let attrs = s.get_attributes(object, &[AttributeType::EcPoint])?;
    for a in attrs {
        if let Attribute::EcPoint(p) = a {
            let raw = match p.as_slice() {
                [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
                other if other.len() == 32 => other,
                _ => break,
            };
            let mut out = [0u8; 32];
            out.copy_from_slice(raw);
            return Ok(out);
        }
    }
    Err(CkError::InvalidValue)
}

fn is_ed25519(params: &[u8]) -> bool {
    params == ED25519_OID || params == ED25519_NAME
}

/// The private key with this `CKA_ID`.
fn find_private(s: &Session, id: &[u8]) -> Result<Option<ObjectHandle>, CkError> {
    Ok(s.find_objects(&[
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(KeyType::EC_EDWARDS),
        Attribute::Id(id.to_vec()),
    ])?
    .into_iter()
    .next())
}

/// Every Ed25519 private key with a matching public-key object.
fn list_keys(s: &Session) -> Result<Vec<TokenKeyInfo>, CkError> {
    let mut out = Vec::new();
    let privates = s.find_objects(&[
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(KeyType::EC_EDWARDS),
    ])?;
    for p in privates {
        let attrs = s.get_attributes(
            p,
            &[
                AttributeType::Label,
                AttributeType::Id,
                AttributeType::EcParams,
            ],
        )?;
        let (mut label, mut id, mut params) = (String::new(), Vec::new(), Vec::new());
        for a in attrs {
            match a {
                Attribute::Label(l) => label = String::from_utf8_lossy(&l).into_owned(),
                Attribute::Id(i) => id = i,
                Attribute::EcParams(e) => params = e,
                _ => {}
            }
        }
        if !is_ed25519(&params) || id.is_empty() {
            continue;
        }
        let publics = s.find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::Id(id.clone()),
        ])?;
        let Some(pubh) = publics.into_iter().next() else {
            continue;
        };
        let Ok(public) = ec_point(s, pubh) else {
            continue;
        };
        out.push(TokenKeyInfo { label, id, public });
    }
    Ok(out)
}

/// Reads a PIN file: owned by signetd's user, no access for group or
/// others, one line (a final newline is not part of the PIN).
pub fn read_pin_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let uid = rustix::process::geteuid().as_raw();
    if meta.uid() != uid {
        return Err(format!(
            "{} is owned by uid {}, not by signetd's uid {uid}: run `chown {uid} {}`",
            path.display(),
            meta.uid(),
            path.display()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{} has permissions {mode:04o}, so group or others may read it: run `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    let bytes =
        Zeroizing::new(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
    Ok(one_line(bytes))
}

/// Reads the PIN from `$CREDENTIALS_DIRECTORY/NAME`.
pub fn read_pin_credential(name: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            format!("$CREDENTIALS_DIRECTORY is not set: add `LoadCredentialEncrypted={name}:/etc/signet/credentials/{name}.cred` (or LoadCredential=) to the service unit")
        })?;
    let path = Path::new(&dir).join(name);
    let bytes = Zeroizing::new(std::fs::read(&path).map_err(|e| {
        format!(
            "cannot read {}: {e}; check the unit's LoadCredential[Encrypted]={name}:… line",
            path.display()
        )
    })?);
    Ok(one_line(bytes))
}

fn one_line(bytes: Zeroizing<Vec<u8>>) -> Zeroizing<Vec<u8>> {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    Zeroizing::new(bytes[..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_values_are_named_as_the_standard_does() {
        assert_eq!(rv_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(rv_name(RvError::DeviceRemoved), "CKR_DEVICE_REMOVED");
    }

    #[test]
    fn pin_files_must_be_private() -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("pin");
        std::fs::write(&p, "1234\n")?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640))?;
        let e = read_pin_file(&p).err().unwrap_or_default();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        assert_eq!(read_pin_file(&p).map(|p| p.to_vec()), Ok(b"1234".to_vec()));
        Ok(())
    }

    #[test]
    fn modules_outside_the_allow_list_are_refused_before_loading() {
        let e = check_module(Path::new("/bin/sh"), &[PathBuf::from("/usr/lib/softhsm")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("not in an allowed directory"), "{e}");
    }
}
