//! How a command fails: its exit status (the table in `cli::EXIT_CODES`),
//! a `kind` for `--json`, and one line for people.
//!
//! Errors from `signet-client` keep their own messages (they say what to
//! do); their exit status and kind follow from the variant. Errors the CLI
//! raises itself are a [`Failure`]; anything else (an I/O error with
//! context) is exit 1, kind `error`.

use serde_json::{json, Map, Value};
use signet_client::{Error as ClientError, ErrorCode};

use crate::cli::exit;

/// An error the CLI raises itself, with its exit status and JSON kind, and
/// optionally data that `--json` adds beside the error (what the command
/// found before it failed).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// The `error.kind` of `--json`.
    pub kind: &'static str,
    /// The exit status.
    pub exit: u8,
    /// What happened and what to do.
    pub message: String,
    /// Fields `--json` puts beside `error` in the document.
    pub data: Map<String, Value>,
}

impl Failure {
    /// A failure with `kind`, exit status `exit` and `message`.
    pub fn new(kind: &'static str, exit: u8, message: impl Into<String>) -> Self {
        Self {
            kind,
            exit,
            message: message.into(),
            data: Map::new(),
        }
    }

    /// No (single) loaded or stored key matches: exit 5.
    pub fn no_key(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(kind, exit::NO_KEY, message)
    }

    /// The document `--json` prints beside the error.
    pub fn with_data(mut self, data: Value) -> Self {
        if let Value::Object(map) = data {
            self.data = map;
        }
        self
    }
}

/// The client error inside `err`, if any.
fn client_error(err: &anyhow::Error) -> Option<&ClientError> {
    err.chain().find_map(|c| c.downcast_ref::<ClientError>())
}

/// The exit status for an error.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(f) = err.downcast_ref::<Failure>() {
        return f.exit;
    }
    match client_error(err) {
        Some(e) => match e {
            ClientError::NotRunning { .. } => exit::NOT_RUNNING,
            ClientError::Locked => exit::LOCKED,
            ClientError::NoSuchKey { .. }
            | ClientError::AmbiguousKey { .. }
            | ClientError::KeyExpired { .. } => exit::NO_KEY,
            ClientError::Refused {
                code: Some(ErrorCode::NoSuchKey | ErrorCode::AmbiguousKey),
                ..
            } => exit::NO_KEY,
            ClientError::Refused {
                code: Some(ErrorCode::Locked),
                ..
            } => exit::LOCKED,
            _ => exit::ERROR,
        },
        None => exit::ERROR,
    }
}

/// The `error.kind` for an error.
pub fn kind(err: &anyhow::Error) -> &'static str {
    if let Some(f) = err.downcast_ref::<Failure>() {
        return f.kind;
    }
    let Some(e) = client_error(err) else {
        return "error";
    };
    match e {
        ClientError::NotRunning { .. } => "not_running",
        ClientError::NoSocketPath(_) => "no_socket_path",
        ClientError::UntrustedAgent { .. } => "untrusted_agent",
        ClientError::UnsafeSocketDir { .. } => "unsafe_socket_dir",
        ClientError::PermissionDenied { .. } => "permission_denied",
        ClientError::Io { .. } | ClientError::ReadBody(_) => "io",
        ClientError::Locked => "locked",
        ClientError::WrongPassphrase => "wrong_passphrase",
        ClientError::NotLocked => "not_locked",
        ClientError::NoSuchKey { .. } => "no_such_key",
        ClientError::AmbiguousKey { .. } => "ambiguous_key",
        ClientError::KeyExpired { .. } => "key_expired",
        ClientError::ProtocolMismatch { .. } => "protocol_mismatch",
        ClientError::NotSignet { .. } => "not_signet",
        ClientError::TooLarge { .. } => "too_large",
        ClientError::InvalidInput { .. } => "invalid_input",
        ClientError::Refused { code, .. } => match code {
            Some(ErrorCode::NoSuchKey) => "no_such_key",
            Some(ErrorCode::AmbiguousKey) => "ambiguous_key",
            Some(ErrorCode::Locked) => "locked",
            Some(ErrorCode::NotAllowed) => "not_allowed",
            Some(ErrorCode::BadRequest) => "bad_request",
            Some(ErrorCode::Unsupported) => "unsupported",
            Some(ErrorCode::Internal) => "agent_error",
            _ => "refused",
        },
        _ => "protocol",
    }
}

/// The error as one line: each context, then the cause, stopping at the
/// client's error or a [`Failure`], whose message is already complete (it
/// says what to do).
pub fn message(err: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in err.chain() {
        parts.push(cause.to_string());
        if cause.downcast_ref::<ClientError>().is_some()
            || cause.downcast_ref::<Failure>().is_some()
        {
            break;
        }
    }
    parts.join(": ")
}

/// The one document `--json` prints for a failed command.
pub fn document(err: &anyhow::Error) -> Value {
    let mut doc = err
        .downcast_ref::<Failure>()
        .map(|f| f.data.clone())
        .unwrap_or_default();
    doc.insert(
        "error".to_owned(),
        json!({
            "kind": kind(err),
            "message": message(err),
            "exit_code": exit_code(err),
        }),
    );
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_kinds_follow_client_errors() {
        let not_running = anyhow::Error::new(ClientError::NotRunning {
            path: "/x".into(),
            source: std::io::ErrorKind::NotFound.into(),
        });
        assert_eq!(exit_code(&not_running), 3);
        assert_eq!(kind(&not_running), "not_running");
        assert_eq!(exit_code(&anyhow::Error::new(ClientError::Locked)), 4);
        let missing = anyhow::Error::new(ClientError::NoSuchKey {
            selector: "k".into(),
        })
        .context("could not sign");
        assert_eq!(exit_code(&missing), 5);
        assert_eq!(kind(&missing), "no_such_key");
        assert_eq!(exit_code(&anyhow::anyhow!("bad input")), 1);
        assert_eq!(kind(&anyhow::anyhow!("bad input")), "error");
        assert_eq!(
            message(&not_running),
            "no agent running at /x: start one with `signet start`"
        );
        assert_eq!(
            message(&missing),
            "could not sign: no loaded key matches \"k\": see the loaded keys with `signet list`"
        );
    }

    #[test]
    fn a_failure_carries_its_code_kind_and_data() {
        let f = anyhow::Error::new(
            Failure::no_key("stored_not_loaded", "k is stored but not loaded")
                .with_data(json!({"key": "k"})),
        );
        assert_eq!(exit_code(&f), 5);
        let doc = document(&f);
        assert_eq!(doc["key"], "k");
        assert_eq!(doc["error"]["kind"], "stored_not_loaded");
        assert_eq!(doc["error"]["exit_code"], 5);
        assert_eq!(doc["error"]["message"], "k is stored but not loaded");
    }
}
