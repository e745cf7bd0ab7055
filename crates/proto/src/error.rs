use std::fmt;

/// Everything that can be wrong with bytes on the wire.
///
/// Decode errors inside a well-framed message are answered with
/// `SSH_AGENT_FAILURE` and the connection stays open; [`Error::FrameTooLarge`]
/// and [`Error::EmptyFrame`] are framing errors, after which the stream cannot be
/// resynchronised and the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The length prefix announces more than [`crate::MAX_FRAME_LEN`] bytes.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The length prefix is zero: there is no message type byte.
    #[error("empty frame: a message needs at least its type byte")]
    EmptyFrame,
    /// The message ended before a field was complete.
    #[error("message truncated while reading {0}")]
    Truncated(Field),
    /// The message had bytes left over after its last field.
    #[error("{0} unexpected bytes after the end of the message")]
    TrailingBytes(usize),
    /// A field that must be UTF-8 was not.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(Field),
    /// A field had a value the protocol does not allow.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which field.
        field: Field,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The reply to a request was of a type that request does not expect.
    #[error("unexpected reply of message type {0}")]
    UnexpectedReply(u8),
}

/// Names of the fields a decoder reads, so that errors say where they failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field(pub &'static str);

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
