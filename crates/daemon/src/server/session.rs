//! One client connection: read frames, dispatch, write replies. Generic over
//! the stream, so a Unix socket and a Windows named pipe share it.
//!
//! Reads go into one reusable buffer, grown only to the size a validated
//! length prefix announces (never past `MAX_FRAME_LEN`), so a frame costs one
//! `read` in the common case. Once a frame has started, the rest of it must
//! arrive within the frame timeout (slow-loris); between frames the idle
//! timeout applies, counted from the last reply and enforced by the sweeper
//! in `server::idle` rather than by a timer per read (so a busy connection arms no
//! timer at all); a request being handled (a confirm prompt can take
//! minutes) never counts as idle. Framing errors, EOF, timeouts and shutdown
//! end the connection; nothing else does. Buffers that held a key or passphrase are
//! wiped before they are reused or freed.
//!
//! Who wrote each request goes with it to the dispatcher: on a Unix socket
//! every read says which process wrote its bytes (`SO_PASSCRED`, see
//! [`Conn`]), and the session keeps, for the bytes it holds, which writer
//! wrote which, so a request's writer is known even when requests arrive
//! together or one arrives in pieces.

use std::sync::Arc;
use std::time::Duration;

use signet_proto::{frame, Request};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;
use tracing::debug;
use zeroize::Zeroize as _;

use crate::access::peer::{Client, Writer};
use crate::agent::Agent;
use crate::dispatch;
use crate::server::idle::{IdleWatch, Registration};

const INITIAL_BUFFER: usize = 4096;

/// Why a connection ended (for the debug log).
#[derive(Debug, thiserror::Error)]
enum Ended {
    /// EOF between frames, the idle timeout, or shutdown.
    #[error("closed")]
    Closed,
    /// A length prefix over the cap, or an empty frame.
    #[error("framing error: {0}")]
    Framing(signet_proto::Error),
    /// EOF inside a frame.
    #[error("connection closed in the middle of a frame")]
    MidFrame,
    /// The rest of a started frame did not arrive in time.
    #[error("frame not completed within the frame timeout")]
    FrameTimeout,
    /// Reading failed.
    #[error("read failed: {0}")]
    Read(std::io::Error),
    /// Writing a reply failed.
    #[error("write failed: {0}")]
    Write(std::io::Error),
    /// The client did not read its replies within the frame timeout.
    #[error("client stopped reading replies")]
    NotReading,
    /// Closed to make room for a new connection of the same uid.
    #[error("closed to make room for a newer connection of the same uid")]
    Evicted,
}

/// A connection as a session reads it: bytes, and who wrote them.
pub(crate) trait Conn: AsyncWrite + Unpin {
    /// Reads into `buf`'s spare capacity (there is some): how many bytes
    /// came (0 at EOF), and who wrote them.
    fn read_some<'a>(
        &'a mut self,
        buf: &'a mut Vec<u8>,
    ) -> impl std::future::Future<Output = std::io::Result<(usize, Writer)>> + 'a;
}

#[cfg(target_os = "linux")]
impl Conn for tokio::net::UnixStream {
    async fn read_some(&mut self, buf: &mut Vec<u8>) -> std::io::Result<(usize, Writer)> {
        use std::os::fd::AsFd as _;
        loop {
            self.readable().await?;
            // A short read drains the socket. Its readiness is then
            // forgotten, as tokio's own poll_read does, so that the next
            // read waits for epoll and this session goes to the back of the
            // queue: without it a session whose client answers at once is
            // served back to back while the others wait (signet-bench at 64
            // clients: p50 23 µs, p99 25 ms, where the ideal agent has 0.8
            // and 2 ms). The closure reports a short read as WouldBlock,
            // because then `try_io` clears the readiness it saw *before*
            // the read: readiness from bytes that came after it is kept, so
            // no wake-up is lost.
            let mut short = None;
            let got = self.try_io(tokio::io::Interest::READABLE, || {
                // Read into the spare capacity, zeroed first (only
                // initialised memory is handed to the kernel).
                let start = buf.len();
                buf.resize(buf.capacity(), 0);
                let asked = buf.len() - start;
                let read = crate::hardening::recv_with_sender(self.as_fd(), &mut buf[start..]);
                let n = read.as_ref().map_or(0, |(n, _)| *n);
                buf.truncate(start + n);
                match read {
                    Ok(r) if r.0 > 0 && r.0 < asked => {
                        short = Some(r);
                        Err(std::io::ErrorKind::WouldBlock.into())
                    }
                    other => other,
                }
            });
            let got = match (got, short) {
                (_, Some(r)) => Ok(r),
                (got, None) => got,
            };
            match got {
                Ok((n, sender)) => {
                    let writer = match sender {
                        Some(s) => Writer::Process {
                            pid: s.pid,
                            uid: s.uid,
                        },
                        // SO_PASSCRED is set: bytes without credentials are
                        // of no one signetd can name.
                        None if n > 0 => Writer::Mixed,
                        None => Writer::Untracked,
                    };
                    return Ok((n, writer));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
impl Conn for tokio::net::UnixStream {
    async fn read_some(&mut self, buf: &mut Vec<u8>) -> std::io::Result<(usize, Writer)> {
        use tokio::io::AsyncReadExt as _;
        Ok((self.read_buf(buf).await?, Writer::Untracked))
    }
}

#[cfg(windows)]
impl Conn for tokio::net::windows::named_pipe::NamedPipeServer {
    async fn read_some(&mut self, buf: &mut Vec<u8>) -> std::io::Result<(usize, Writer)> {
        use tokio::io::AsyncReadExt as _;
        Ok((self.read_buf(buf).await?, Writer::Untracked))
    }
}

/// Which writer wrote which of the bytes a session holds: `(end, writer)`
/// segments in buffer order, `end` an offset into the buffer.
#[derive(Default)]
struct Writers(std::collections::VecDeque<(usize, Writer)>);

impl Writers {
    /// `writer` wrote the buffer's bytes up to `end`, after the last segment.
    fn wrote(&mut self, end: usize, writer: Writer) {
        match self.0.back_mut() {
            Some((last, w)) if *w == writer => *last = end,
            _ => self.0.push_back((end, writer)),
        }
    }

    /// The writer of the first `len` bytes, which leave the buffer.
    fn take(&mut self, len: usize) -> Writer {
        let mut writer: Option<Writer> = None;
        let mut start = 0;
        for (end, w) in &self.0 {
            if start >= len {
                break;
            }
            writer = Some(writer.map_or(*w, |acc| acc.and(*w)));
            start = *end;
        }
        self.0.retain_mut(|(end, _)| {
            *end = end.saturating_sub(len);
            *end > 0
        });
        writer.unwrap_or(Writer::Mixed)
    }
}

/// Serves one connection until it ends.
pub async fn serve<S>(
    mut stream: S,
    client: Client,
    agent: Arc<Agent>,
    idle: Arc<IdleWatch>,
    activity: Registration,
) where
    S: Conn,
{
    let mut buf = WipedBuffer(Vec::with_capacity(INITIAL_BUFFER));
    let mut writers = Writers::default();
    let mut out = Vec::with_capacity(INITIAL_BUFFER);
    let why = loop {
        let cfg = agent.config();
        match next_frame(
            &mut stream,
            &mut buf.0,
            &mut writers,
            &agent,
            &activity.closed,
            &activity.evicted,
            cfg.agent.frame_timeout(),
        )
        .await
        {
            Ok(Some(total)) => {
                idle.busy(&activity);
                let body = &buf.0[frame::LEN_PREFIX..total];
                let secret = body.first().is_some_and(|t| Request::carries_secret(*t));
                let writer = writers.take(total);
                dispatch::serve(&agent, body, &client, writer, &mut out).await;
                if secret {
                    buf.0[..total].zeroize();
                }
                buf.0.drain(..total);
                if buf.0.capacity() > 16 * INITIAL_BUFFER && buf.0.len() < INITIAL_BUFFER {
                    // Give back the room a large frame needed; wipe it first.
                    let mut small = Vec::with_capacity(INITIAL_BUFFER);
                    small.extend_from_slice(&buf.0);
                    buf.0.zeroize();
                    buf.0 = small;
                }
                let write = timeout_at(
                    Instant::now() + cfg.agent.frame_timeout(),
                    stream.write_all(&out),
                )
                .await;
                if secret {
                    // A `get-secret@signet` reply carries a secret: wipe
                    // what was written (extension replies are small).
                    out.as_mut_slice().zeroize();
                }
                out.clear();
                idle.touch(&activity);
                match write {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => break Ended::Write(e),
                    Err(_) => break Ended::NotReading,
                }
            }
            Ok(None) => break Ended::Closed,
            Err(why) => break why,
        }
    };
    debug!(peer = %client, "connection ended: {why}");
}

/// Reads until `buf` starts with a whole frame and returns the frame's total
/// length; `None` on a clean end (EOF between frames, idle timeout, shutdown).
async fn next_frame<S: Conn>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    writers: &mut Writers,
    agent: &Agent,
    idle: &CancellationToken,
    evicted: &CancellationToken,
    frame_timeout: Duration,
) -> Result<Option<usize>, Ended> {
    let mut deadline: Option<Instant> = None;
    loop {
        match frame::split(buf) {
            Ok(Some((_, total))) => return Ok(Some(total)),
            Ok(None) => {}
            Err(e) => return Err(Ended::Framing(e)),
        }
        // The prefix (if complete) is valid: make room for the whole frame, no more.
        let want = match buf.first_chunk::<{ frame::LEN_PREFIX }>() {
            Some(p) => frame::LEN_PREFIX + frame::body_len(*p).map_err(Ended::Framing)?,
            None => INITIAL_BUFFER,
        };
        if buf.capacity() < want {
            // Grow into a fresh allocation and wipe the old one, which may hold
            // the start of a frame carrying a key.
            let mut bigger = Vec::with_capacity(want);
            bigger.extend_from_slice(buf);
            buf.zeroize();
            *buf = bigger;
        }
        let started = !buf.is_empty();
        if started && deadline.is_none() {
            deadline = Some(Instant::now() + frame_timeout);
        }
        let read = async {
            if buf.len() >= INITIAL_BUFFER.max(want) {
                // Cannot happen: split would have found the frame.
                return Ok((0, Writer::Untracked));
            }
            stream.read_some(buf).await
        };
        let n = tokio::select! {
            biased;
            _ = evicted.cancelled() => return Err(Ended::Evicted),
            _ = agent.shutdown.cancelled(), if !started => return Ok(None),
            _ = idle.cancelled(), if !started => return Ok(None),
            r = with_deadline(read, deadline) => r,
        };
        match n {
            Some(Ok((0, _))) if started => return Err(Ended::MidFrame),
            Some(Ok((0, _))) => return Ok(None),
            Some(Ok((_, writer))) => writers.wrote(buf.len(), writer),
            Some(Err(e)) => return Err(Ended::Read(e)),
            None if started => return Err(Ended::FrameTimeout),
            None => return Ok(None),
        }
    }
}

async fn with_deadline<F: std::future::Future>(
    f: F,
    deadline: Option<Instant>,
) -> Option<F::Output> {
    match deadline {
        Some(d) => timeout_at(d, f).await.ok(),
        None => Some(f.await),
    }
}

/// A read buffer that is wiped when the connection ends.
struct WipedBuffer(Vec<u8>);

impl Drop for WipedBuffer {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_has_the_writers_of_its_own_bytes() {
        let a = Writer::Process { pid: 7, uid: 1 };
        let b = Writer::Process { pid: 8, uid: 1 };
        let mut w = Writers::default();
        // Two requests in one read from a, then one in two reads from a and b.
        w.wrote(20, a);
        w.wrote(30, a);
        w.wrote(35, b);
        assert_eq!(w.take(10), a);
        assert_eq!(w.take(10), a);
        assert_eq!(w.take(15), Writer::Mixed);
        // A request in pieces from one writer, the next begun by another.
        w.wrote(4, b);
        w.wrote(12, b);
        w.wrote(16, a);
        assert_eq!(w.take(12), b);
        assert_eq!(w.take(4), a);
        assert_eq!(w.take(1), Writer::Mixed, "no bytes: no writer");
    }
}
