//! What the blocking and the async transport share: reading exactly one
//! reply frame (in as few reads as the kernel allows, refusing a second
//! reply), telling a closed idle connection from a real failure, and
//! mapping connect errors. No I/O here: each transport moves the bytes.

use std::io;
use std::path::Path;

use signet_proto::{frame, Response};

use crate::error::Error;

/// Room for a reply read in one go (signatures and most replies fit).
const REPLY_BUFFER: usize = 4096;

/// Why one exchange failed: `Closed` may be retried on a fresh connection.
pub(crate) enum Failure {
    /// The agent had closed the connection we kept (an idle timeout): one
    /// retry on a new connection is safe.
    Closed(io::Error),
    /// Anything else.
    Fatal(Error),
}

impl Failure {
    /// An I/O error while sending or waiting for the reply's first bytes.
    pub(crate) fn io(path: &Path, e: io::Error) -> Self {
        if is_closed(&e) {
            Failure::Closed(e)
        } else {
            Failure::Fatal(io_error(path, e))
        }
    }

    /// The error the caller sees.
    pub(crate) fn into_error(self, path: &Path) -> Error {
        match self {
            Failure::Closed(e) => io_error(path, e),
            Failure::Fatal(e) => e,
        }
    }
}

pub(crate) fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// One reply frame being read: the whole reply in one read in the common
/// case (as much as the buffer holds), then only what the length prefix says
/// is missing. More bytes than one reply means the stream is out of step.
#[derive(Default)]
pub(crate) struct ReplyBuf {
    buf: Vec<u8>,
    filled: usize,
    total: Option<usize>,
}

/// What [`ReplyBuf::advance`] found.
pub(crate) enum Progress {
    /// Read more into [`ReplyBuf::spare`].
    More,
    /// The whole frame is here: [`ReplyBuf::response`].
    Done,
}

impl ReplyBuf {
    /// Wipes the buffer (a reply that carried a secret).
    pub(crate) fn wipe(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buf);
        self.filled = 0;
        self.total = None;
    }

    /// Starts reading a new reply.
    pub(crate) fn start(&mut self) {
        self.buf.clear();
        self.buf.resize(REPLY_BUFFER, 0);
        self.filled = 0;
        self.total = None;
    }

    /// Where the next read goes.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.filled..]
    }

    /// Records `n` bytes read. A reply cut short (`n == 0`) is a closed
    /// connection only if nothing of it had arrived.
    pub(crate) fn advance(&mut self, n: usize, path: &Path) -> Result<Progress, Failure> {
        if n == 0 {
            let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
            return Err(if self.filled == 0 {
                Failure::Closed(eof)
            } else {
                Failure::Fatal(io_error(path, eof))
            });
        }
        self.filled += n;
        if self.total.is_none() && self.filled >= frame::LEN_PREFIX {
            let mut prefix = [0u8; frame::LEN_PREFIX];
            prefix.copy_from_slice(&self.buf[..frame::LEN_PREFIX]);
            let total = frame::LEN_PREFIX
                + frame::body_len(prefix).map_err(|e| Failure::Fatal(e.into()))?;
            if self.filled > total {
                // One request, one reply.
                return Err(Failure::Fatal(io_error(
                    path,
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the agent sent more than one reply",
                    ),
                )));
            }
            self.buf.resize(total, 0);
            self.total = Some(total);
        }
        match self.total {
            Some(t) if self.filled == t => Ok(Progress::Done),
            Some(t) if self.filled > t => Err(Failure::Fatal(io_error(
                path,
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the agent sent more than one reply",
                ),
            ))),
            _ => Ok(Progress::More),
        }
    }

    /// The reply, once [`Progress::Done`].
    pub(crate) fn response(&self) -> Result<Response, Failure> {
        let total = self.total.unwrap_or(frame::LEN_PREFIX);
        Response::decode(&self.buf[frame::LEN_PREFIX..total]).map_err(|e| Failure::Fatal(e.into()))
    }
}

/// Whether an I/O error means the agent closed a connection we had kept
/// open (an idle timeout, say), so that one retry on a new connection is safe.
pub(crate) fn is_closed(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected | UnexpectedEof
    )
}

/// Maps a connect error: nothing listening is [`Error::NotRunning`].
pub(crate) fn connect_error(path: &Path, e: io::Error) -> Error {
    use io::ErrorKind::*;
    match e.kind() {
        NotFound | ConnectionRefused => Error::NotRunning {
            path: path.to_owned(),
            source: e,
        },
        PermissionDenied => Error::PermissionDenied {
            path: path.to_owned(),
            source: e,
        },
        _ => io_error(path, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(resp: &Response) -> Vec<u8> {
        let mut out = Vec::new();
        resp.encode_frame(&mut out);
        out
    }

    fn feed(buf: &mut ReplyBuf, bytes: &[u8]) -> Result<Progress, Failure> {
        let spare = buf.spare();
        spare[..bytes.len()].copy_from_slice(bytes);
        buf.advance(bytes.len(), Path::new("/s"))
    }

    #[test]
    fn a_reply_in_pieces_then_whole() {
        let f = frame(&Response::Success);
        let mut b = ReplyBuf::default();
        b.start();
        assert!(matches!(feed(&mut b, &f[..2]), Ok(Progress::More)));
        assert!(matches!(feed(&mut b, &f[2..]), Ok(Progress::Done)));
        assert!(matches!(b.response(), Ok(Response::Success)));
        b.start();
        assert!(matches!(feed(&mut b, &f), Ok(Progress::Done)));
    }

    #[test]
    fn two_replies_are_refused() {
        let mut f = frame(&Response::Success);
        f.extend(frame(&Response::Failure));
        let mut b = ReplyBuf::default();
        b.start();
        match feed(&mut b, &f) {
            Err(Failure::Fatal(Error::Io { source, .. })) => {
                assert!(source.to_string().contains("more than one reply"))
            }
            _ => panic!("a second reply was accepted"),
        }
    }

    #[test]
    fn eof_before_anything_is_a_closed_connection_after_is_not() {
        let mut b = ReplyBuf::default();
        b.start();
        assert!(matches!(
            b.advance(0, Path::new("/s")),
            Err(Failure::Closed(_))
        ));
        b.start();
        let _ = feed(&mut b, &[0, 0]);
        assert!(matches!(
            b.advance(0, Path::new("/s")),
            Err(Failure::Fatal(_))
        ));
    }

    #[test]
    fn an_oversized_prefix_is_refused_before_allocating() {
        let mut b = ReplyBuf::default();
        b.start();
        assert!(matches!(
            feed(&mut b, &[0xff, 0xff, 0xff, 0xff]),
            Err(Failure::Fatal(Error::Protocol(_)))
        ));
    }
}
