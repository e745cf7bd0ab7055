//! Keys on the PKCS#11 token (`[pkcs11]`) in the key table: the token's
//! handle, logging in, and loading its keys, which are held by reference
//! (the token signs; nothing secret is here).
//!
//! A token key's name is its `CKA_LABEL`; `[keys.NAME]` settings apply to
//! it as to any key (rule, confirm, lifetime: none unless `[keys.NAME]
//! lifetime` says so, since the key stays on the token either way). Locking
//! the agent keeps them listed-but-refused as every key is; the token stays
//! logged in.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::info;

use super::{AddError, Agent, LoadedKey};
use crate::store::pkcs11::{Token, TokenError, TokenKeyInfo};

/// Why token keys were not loaded.
#[derive(Debug, thiserror::Error)]
pub enum TokenLoadError {
    /// No `[pkcs11]` token in this daemon.
    #[error("no PKCS#11 token is configured: add a [pkcs11] section (docs/pkcs11.md) and restart signetd")]
    NoToken,
    /// The token refused or failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A key's name is taken, or the table's limits are reached.
    #[error("cannot load token key {name:?}: {source}")]
    Add {
        /// The key's label.
        name: String,
        /// Why.
        source: AddError,
    },
    /// The blocking thread failed.
    #[error("the token's thread failed: {0}")]
    Task(String),
}

impl Agent {
    /// Installs the token (once, at start-up).
    pub fn set_token(&self, token: Arc<Token>) {
        let _ = self.token.set(token);
    }

    /// The token, when `[pkcs11]` configures one.
    pub fn token(&self) -> Option<Arc<Token>> {
        self.token.get().cloned()
    }

    /// Runs blocking token work off the async workers.
    pub async fn on_token<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Token) -> Result<T, TokenError> + Send + 'static,
    ) -> Result<T, TokenLoadError> {
        let token = self.token().ok_or(TokenLoadError::NoToken)?;
        tokio::task::spawn_blocking(move || f(&token))
            .await
            .map_err(|e| TokenLoadError::Task(e.to_string()))?
            .map_err(TokenLoadError::from)
    }

    /// Logs in with `pin` and loads the token's keys; returns their names.
    pub async fn token_login(
        &self,
        pin: zeroize::Zeroizing<Vec<u8>>,
    ) -> Result<Vec<String>, TokenLoadError> {
        self.on_token(move |t| t.login(&pin)).await?;
        self.load_token_keys().await
    }

    /// Loads the configured keys of the token (all its Ed25519 keys when
    /// `[pkcs11] keys` is empty) into the key table; returns their names.
    pub async fn load_token_keys(&self) -> Result<Vec<String>, TokenLoadError> {
        let refs = self
            .config()
            .pkcs11
            .key_refs()
            .map_err(|e| TokenLoadError::Task(e.to_string()))?;
        let keys = self.on_token(move |t| t.keys(&refs)).await?;
        let mut names = Vec::new();
        for k in keys {
            names.push(self.add_token_key(&k).await?);
        }
        Ok(names)
    }

    /// Adds one token key to the table (after `generate`, or loading).
    pub async fn add_token_key(&self, k: &TokenKeyInfo) -> Result<String, TokenLoadError> {
        let token = self.token().ok_or(TokenLoadError::NoToken)?;
        let config = self.config();
        let key_config = config.keys.get(&k.label);
        let expires_at = key_config
            .and_then(|c| c.lifetime)
            .and_then(|l| l.0)
            .and_then(|s| Instant::now().checked_add(Duration::from_secs(s)));
        let confirm = key_config.is_some_and(|c| c.confirm);
        let remember = key_config
            .and_then(|c| c.confirm_remember)
            .and_then(|r| r.0)
            .map(Duration::from_secs);
        let key = LoadedKey::on_token(token, k, k.label.clone(), expires_at, confirm)
            .with_remember(remember);
        let add = |source| TokenLoadError::Add {
            name: k.label.clone(),
            source,
        };
        let stored = self
            .stored_entries()
            .await
            .map_err(|e| TokenLoadError::Task(e.to_string()))?;
        self.add_key(key, &stored).map_err(add)?;
        info!(key = %k.label, id = %hex::encode(&k.id), "loaded a PKCS#11 token key");
        Ok(k.label.clone())
    }
}
