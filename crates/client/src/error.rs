//! The one error type of the client, with messages that say what to do.

use std::io;
use std::path::PathBuf;

use signet_proto::extension::ErrorCode;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to `signetd`.
///
/// Every variant's message says what happened and what to do about it, so a
/// CLI can print it as it is. New variants may be added in minor releases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing listens at the socket (it does not exist, or connecting was
    /// refused).
    #[error("no agent running at {}: start one with `signet start`", path.display())]
    NotRunning {
        /// The socket path tried.
        path: PathBuf,
        /// The error from connecting.
        #[source]
        source: io::Error,
    },

    /// No socket path: the rule found nothing to go on, or the path is too
    /// long for a socket address.
    #[error("{0}")]
    NoSocketPath(#[from] signet_proto::paths::PathError),

    /// The socket is served by another user: not this process's uid, not
    /// root. Nothing was sent.
    #[error(
        "refusing to talk to {}: it is served by uid {server_uid}, not by you (uid {own_uid}) or root; \
         it is not your agent and may be an attack (another user impersonating it to capture keys); \
         nothing was sent. Point SIGNET_AUTH_SOCK at your own agent, or unset it and run `signet start`",
        path.display()
    )]
    UntrustedAgent {
        /// The socket path.
        path: PathBuf,
        /// The uid that serves it.
        server_uid: u32,
        /// This process's effective uid.
        own_uid: u32,
    },

    /// The default socket's directory fails the check `signetd` makes before
    /// it binds; nothing was connected to.
    #[error("refusing to connect to {}: {reason}", path.display())]
    UnsafeSocketDir {
        /// The socket path.
        path: PathBuf,
        /// What is wrong with its directory, and what to do.
        reason: String,
    },

    /// Connecting was refused by the socket's file permissions.
    #[error(
        "permission denied connecting to {}: your user or groups are not allowed to use this socket; \
         ask its owner (a system agent's operator adds users to `[system] allow_uids`/`allow_groups` \
         and the socket's group, docs/service-accounts.md)",
        path.display()
    )]
    PermissionDenied {
        /// The socket path.
        path: PathBuf,
        /// The error from connecting.
        #[source]
        source: io::Error,
    },

    /// Reading from or writing to the agent's socket failed.
    #[error(
        "I/O error talking to the agent at {}: {source}: check that it still runs with `signet status`",
        path.display()
    )]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Reading the data to sign (a request body) failed.
    #[error("could not read the request body: {0}")]
    ReadBody(#[source] io::Error),

    /// The agent refused the request. `reason` is the agent's own sentence, or
    /// a generic one when the agent answered with a bare `SSH_AGENT_FAILURE`.
    #[error("{reason}")]
    Refused {
        /// What went wrong and what to do.
        reason: String,
        /// signet's error code, when the agent sent one.
        code: Option<ErrorCode>,
    },

    /// The agent is locked.
    #[error("the agent is locked: unlock it with `signet unlock`")]
    Locked,

    /// The agent is still locked after an unlock attempt: the passphrase was
    /// wrong.
    #[error("wrong passphrase: the agent is still locked; try again (`signet unlock`; each wrong try makes the agent wait longer before it answers)")]
    WrongPassphrase,

    /// An unlock was refused because the agent is not locked.
    #[error("the agent is not locked: nothing to unlock")]
    NotLocked,

    /// No loaded key matches the selector.
    #[error("{}", no_such_key(selector))]
    NoSuchKey {
        /// The name, key id or fingerprint asked for (empty: none named).
        selector: String,
    },

    /// The key named was loaded, but its lifetime has ended (the agent
    /// remembers recently expired keys; see `diagnose@signet`).
    #[error("{}", key_expired(name, *expired_secs_ago, *lifetime_secs, origin))]
    KeyExpired {
        /// The key's name.
        name: String,
        /// How long ago its lifetime ended.
        expired_secs_ago: u64,
        /// The lifetime it had.
        lifetime_secs: u64,
        /// Where it came from (`agent`, `keyring`, `credential`, `file`).
        origin: String,
    },

    /// Several loaded keys match the selector (or none was named and several
    /// are loaded).
    #[error("{}", ambiguous_key(selector, candidates))]
    AmbiguousKey {
        /// The name asked for (empty: none named).
        selector: String,
        /// Fingerprints of the matching keys, when known.
        candidates: Vec<String>,
    },

    /// The agent speaks a different version of signet's protocol.
    #[error("{}", protocol_mismatch(path, *agent, *client))]
    ProtocolMismatch {
        /// The socket path.
        path: PathBuf,
        /// The agent's protocol version, when it said.
        agent: Option<u32>,
        /// This client's protocol version.
        client: u32,
    },

    /// The socket answers the SSH agent protocol but not signet's extensions.
    #[error(
        "the agent at {} is not signetd (an ssh-agent?): point SIGNET_AUTH_SOCK at signetd's socket, or run `signet start`",
        path.display()
    )]
    NotSignet {
        /// The socket path.
        path: PathBuf,
    },

    /// A request would exceed the agent's message size limit.
    #[error(
        "the request is {len} bytes, over the agent's {max}-byte message limit: sign a digest of large data instead"
    )]
    TooLarge {
        /// The request size.
        len: usize,
        /// The limit ([`signet_proto::MAX_FRAME_LEN`]).
        max: usize,
    },

    /// An argument was not valid (an unparsable URL, a bad method, a lifetime
    /// out of range); nothing was sent.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was invalid.
        what: &'static str,
        /// Why, and what is expected.
        reason: String,
    },

    /// The agent's reply was well-formed but not what the request expects.
    #[error(
        "unexpected reply from the agent: {reason}: check that signet and signetd are the same version (`signet status`)"
    )]
    BadReply {
        /// What was wrong.
        reason: String,
    },

    /// The agent sent a malformed or unexpected reply.
    #[error(
        "malformed reply from the agent: {0}: check that signet and signetd are the same version (`signet status`)"
    )]
    Protocol(#[from] signet_proto::Error),
}

impl Error {
    /// The agent's error code, when it sent one (see [`Error::Refused`]);
    /// [`ErrorCode::Locked`] etc. for the variants that stand for one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Refused { code, .. } => *code,
            Error::Locked => Some(ErrorCode::Locked),
            Error::NoSuchKey { .. } | Error::KeyExpired { .. } => Some(ErrorCode::NoSuchKey),
            Error::AmbiguousKey { .. } => Some(ErrorCode::AmbiguousKey),
            Error::ProtocolMismatch { .. } => Some(ErrorCode::VersionMismatch),
            _ => None,
        }
    }
}

fn no_such_key(selector: &str) -> String {
    if selector.is_empty() {
        "no key is loaded: add one with `signet add FILE`".to_owned()
    } else {
        format!("no loaded key matches {selector:?}: see the loaded keys with `signet list`")
    }
}

fn key_expired(name: &str, ago: u64, lifetime: u64, origin: &str) -> String {
    use signet_proto::duration::human;
    let how = match origin {
        "keyring" => {
            format!("load it again with `signet load {name}` (`--lifetime 8h` keeps it longer)")
        }
        "agent" => {
            "add it again with `signet add FILE -t DUR` (or `ssh-add -t DUR FILE`)".to_owned()
        }
        _ => "restart the agent to load it from its configuration again \
              (`[keys.NAME] lifetime` sets how long it stays)"
            .to_owned(),
    };
    format!(
        "key {name:?} is no longer loaded: its lifetime of {} ended {} ago; {how}",
        human(lifetime),
        human(ago)
    )
}

fn ambiguous_key(selector: &str, candidates: &[String]) -> String {
    let which = if selector.is_empty() {
        "several keys are loaded and none was named".to_owned()
    } else {
        format!("several loaded keys match {selector:?}")
    };
    let list = if candidates.is_empty() {
        String::new()
    } else {
        format!(" ({})", candidates.join(", "))
    };
    let how = if selector.is_empty() {
        "name one by its name, key id or SHA256 fingerprint"
    } else {
        "name one by its key id or SHA256 fingerprint"
    };
    format!("{which}{list}: {how} (see `signet list`)")
}

fn protocol_mismatch(path: &std::path::Path, agent: Option<u32>, client: u32) -> String {
    let agent = match agent {
        Some(v) => format!("protocol {v}"),
        None => "another protocol version".to_owned(),
    };
    format!(
        "the agent at {} speaks signet {agent}, this client speaks protocol {client}: \
         restart the agent from the same release (`signet stop && signet start`)",
        path.display()
    )
}
