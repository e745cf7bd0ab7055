//! Blocking client-side framing: the cheapest way to talk to an agent, so the
//! benchmark measures the agent and not the client.

use std::io::{self, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;

use signet_proto::{frame, Request, MAX_FRAME_LEN};

/// How a client waits for the agent's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClientKind {
    /// In poll(2), then one read(2): as signet-client does.
    Poll,
    /// Blocked in read(2): as `ssh-add`, paramiko and the Python adapter
    /// do. The agent's read of the request then wakes the sleeping reader
    /// once for nothing (the socket's write space changed), a cost the poll
    /// client spares the agent.
    Read,
}

impl ClientKind {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Poll => "poll",
            ClientKind::Read => "read",
        }
    }
}

/// Reads one whole frame into `buf` (grown as needed) and returns its total
/// length (prefix included). Usually one `poll` and one `read`.
pub fn read_frame(stream: &mut UnixStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    read_frame_with(stream, buf, true)
}

/// [`read_frame`] the way a client of `kind` waits.
pub fn read_frame_as(
    stream: &mut UnixStream,
    buf: &mut Vec<u8>,
    kind: ClientKind,
) -> io::Result<usize> {
    read_frame_with(stream, buf, kind == ClientKind::Poll)
}

/// [`read_frame`], waiting in poll(2) first only if `poll_first`.
pub fn read_frame_with(
    stream: &mut UnixStream,
    buf: &mut Vec<u8>,
    poll_first: bool,
) -> io::Result<usize> {
    if buf.len() < 4096 {
        buf.resize(4096, 0);
    }
    let mut filled = 0;
    loop {
        // Wait in poll(2), as signet-client does: a reader blocked in
        // read(2) is woken, for nothing, when the agent consumes the request
        // (see signet-client's `wait_readable`). Both agents get this client.
        if poll_first {
            use std::os::fd::AsFd as _;
            let fd = stream.as_fd();
            let mut fds = [rustix::event::PollFd::new(
                &fd,
                rustix::event::PollFlags::IN,
            )];
            rustix::event::poll(&mut fds, None)?;
        }
        let n = stream.read(&mut buf[filled..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "agent closed the connection",
            ));
        }
        filled += n;
        if let Some(prefix) = buf.first_chunk::<{ frame::LEN_PREFIX }>() {
            let len = u32::from_be_bytes(*prefix) as usize;
            if len > MAX_FRAME_LEN {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "reply frame over the cap",
                ));
            }
            let need = frame::LEN_PREFIX + len;
            if buf.len() < need {
                buf.resize(need, 0);
            }
            if filled >= need {
                return Ok(need);
            }
        }
    }
}

/// Sends one frame and returns the reply body (without its prefix).
pub fn round_trip<'b>(
    stream: &mut UnixStream,
    request: &[u8],
    buf: &'b mut Vec<u8>,
) -> io::Result<&'b [u8]> {
    stream.write_all(request)?;
    let total = read_frame(stream, buf)?;
    Ok(&buf[frame::LEN_PREFIX..total])
}

/// True once an agent answers `REQUEST_IDENTITIES` on `sock`.
pub fn answers(sock: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return false;
    };
    let mut req = Vec::new();
    Request::RequestIdentities.encode_frame(&mut req);
    let mut buf = Vec::new();
    round_trip(&mut s, &req, &mut buf).is_ok_and(|body| body.first() == Some(&12))
}
