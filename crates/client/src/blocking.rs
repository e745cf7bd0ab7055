//! The blocking client: one connection, reused for every request.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use signet_proto::encord::Scheme;
use signet_proto::extension::{ExplainReply, SignHttpRequest, Status, VersionReply};
use signet_proto::{frame, Ed25519Seed, Identity, Passphrase, Response};
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::http::{self, SignedHeaders};
use crate::keys::{self, KeyInfo, Signature};
use crate::ops;
use crate::socket;

#[cfg(unix)]
type Stream = std::os::unix::net::UnixStream;
#[cfg(windows)]
type Stream = std::fs::File;

/// Connects, and checks who serves the socket before anything is sent
/// (see [`crate::trust`]).
#[cfg(unix)]
fn open(path: &Path) -> Result<Stream> {
    crate::trust::check_default_dir(path)?;
    let stream = Stream::connect(path).map_err(|e| ops::connect_error(path, e))?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let uid = crate::trust::server_uid(&stream);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let uid = crate::trust::server_uid_of_path(path);
    let uid = uid.map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    crate::trust::check_server(path, uid)?;
    Ok(stream)
}

#[cfg(windows)]
fn open(path: &Path) -> Result<Stream> {
    // A named pipe opens like a file; signetd serves each open as a connection.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| ops::connect_error(path, e))
}

/// Room for a reply read in one go (signatures and most replies fit).
const REPLY_BUFFER: usize = 4096;

/// Waits until the reply can be read, in poll(2) rather than in read(2).
///
/// Performance: a thread blocked in read(2) on a Unix stream socket is woken
/// each time the agent *consumes* our request (the kernel's write-space
/// callback wakes every sleeper on the socket, whatever it waits for), only
/// to find no reply yet and sleep again; that wake-up is paid by the agent,
/// in its read. poll(2) waits for input only, so this thread is woken once,
/// by the reply. Measured with signet-bench's client, which does the same
/// (4 clients, 2 cores): the agent's context switches per signature fell
/// from 1.59 to 0.86 and its throughput rose by about a tenth.
#[cfg(unix)]
fn wait_readable(stream: &Stream, timeout: Option<Duration>) -> io::Result<()> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    use std::os::fd::AsFd as _;
    let timeout = timeout
        .map(Timespec::try_from)
        .transpose()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "timeout too long"))?;
    let fd = stream.as_fd();
    loop {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, timeout.as_ref()) {
            // Timed out: the same error a read timeout gives.
            Ok(0) => return Err(io::ErrorKind::WouldBlock.into()),
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(unix)]
fn set_timeouts(stream: &Stream, timeout: Option<Duration>) -> io::Result<()> {
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)
}

#[cfg(windows)]
fn set_timeouts(_stream: &Stream, _timeout: Option<Duration>) -> io::Result<()> {
    // std offers no timeouts on pipe handles.
    Ok(())
}

/// Why one exchange failed: `Closed` may be retried on a fresh connection.
enum Failure {
    Closed(io::Error),
    Fatal(Error),
}

/// A connection to `signetd`.
///
/// Every method sends one request and waits for its one reply on the same
/// connection; requests are encoded into a buffer the client keeps, and
/// buffers that held a key or passphrase are zeroed right after the request.
/// If the agent has closed an idle connection, the client reconnects once and
/// resends.
///
/// Before the first signet extension (`list_keys`, `status`, `sign_request`,
/// `stop`) the client checks the agent's protocol version with
/// [`Client::version`], once per client.
///
/// ```no_run
/// # fn main() -> Result<(), signet_client::Error> {
/// let mut agent = signet_client::Client::connect()?;
/// for key in agent.list_keys()? {
///     println!("{} {}", key.name, key.fingerprint());
/// }
/// # Ok(()) }
/// ```
pub struct Client {
    path: PathBuf,
    stream: Option<Stream>,
    out: Vec<u8>,
    inbuf: Vec<u8>,
    timeout: Option<Duration>,
    agent: Option<VersionReply>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("path", &self.path)
            .field("connected", &self.stream.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the agent at [`Client::socket_path`].
    ///
    /// Fails with [`Error::NotRunning`] when nothing listens there.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), signet_client::Error> {
    /// let mut agent = signet_client::Client::connect()?;
    /// let v = agent.version()?;
    /// println!("signetd {} (protocol {})", v.agent_version, v.protocol);
    /// # Ok(()) }
    /// ```
    pub fn connect() -> Result<Self> {
        Self::connect_to(Self::socket_path()?)
    }

    /// Connects to the agent at `path` (a Unix socket; on Windows a named
    /// pipe such as `\\.\pipe\signet-agent`).
    ///
    /// Before anything is sent, the server must be this process's own uid or
    /// root (`SO_PEERCRED`), or this fails with [`Error::UntrustedAgent`];
    /// at the default socket path its directory must also pass the check
    /// `signetd` makes ([`Error::UnsafeSocketDir`]).
    pub fn connect_to(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let stream = open(&path)?;
        Ok(Self {
            path,
            stream: Some(stream),
            out: Vec::new(),
            inbuf: Vec::new(),
            timeout: None,
            agent: None,
        })
    }

    /// Where the agent listens: `$SIGNET_AUTH_SOCK`, else
    /// `$XDG_RUNTIME_DIR/signet/agent.sock`, else
    /// `$XDG_STATE_HOME/signet/run/agent.<host>.sock` (`$XDG_STATE_HOME` being
    /// `~/.local/state` by default): the rule of
    /// [`signet_proto::paths::socket_path`]. On Windows: `$SIGNET_AUTH_SOCK`,
    /// else `\\.\pipe\signet-agent`.
    ///
    /// Fails with [`Error::NoSocketPath`] when no rule applies (no `HOME`) or
    /// the path is too long for a socket address.
    pub fn socket_path() -> Result<PathBuf> {
        Ok(socket::default_path()?)
    }

    /// The socket this client talks to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets a deadline for each read and write (`None`, the default, waits
    /// for as long as the agent takes, e.g. while a user confirms a key use).
    /// Unix only; ignored on Windows.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.timeout = timeout;
        if let Some(s) = &self.stream {
            set_timeouts(s, timeout).map_err(|e| self.io_error(e))?;
        }
        Ok(())
    }

    fn io_error(&self, source: io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Encodes a request with `encode`, sends it and reads the reply.
    fn call(
        &mut self,
        secret: bool,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<Response> {
        self.out.clear();
        if secret {
            self.out.reserve(ops::SECRET_RESERVE);
        }
        let result = encode(&mut self.out)
            .and_then(|()| ops::check_size(&self.out))
            .and_then(|()| self.send_and_receive());
        if secret {
            self.out.zeroize();
        }
        result
    }

    fn send_and_receive(&mut self) -> Result<Response> {
        let reused = self.stream.is_some();
        match self.exchange() {
            Ok(r) => Ok(r),
            Err(Failure::Closed(_)) if reused => {
                // The agent closed the idle connection: reconnect and resend once.
                self.agent = None;
                self.exchange().map_err(|f| self.failure(f))
            }
            Err(f) => Err(self.failure(f)),
        }
    }

    fn failure(&self, f: Failure) -> Error {
        match f {
            Failure::Closed(e) => self.io_error(e),
            Failure::Fatal(e) => e,
        }
    }

    fn exchange(&mut self) -> std::result::Result<Response, Failure> {
        let result = self.exchange_inner();
        if result.is_err() {
            // After any error the stream's position is unknown: start afresh.
            self.stream = None;
        }
        result
    }

    fn exchange_inner(&mut self) -> std::result::Result<Response, Failure> {
        if self.stream.is_none() {
            let s = open(&self.path).map_err(Failure::Fatal)?;
            set_timeouts(&s, self.timeout).map_err(|e| Failure::Fatal(self.io_error(e)))?;
            self.stream = Some(s);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Failure::Fatal(
                self.io_error(io::ErrorKind::NotConnected.into()),
            ));
        };
        let io_fail = |e: io::Error| {
            if ops::is_closed(&e) {
                Failure::Closed(e)
            } else {
                Failure::Fatal(Error::Io {
                    path: self.path.clone(),
                    source: e,
                })
            }
        };
        stream
            .write_all(&self.out)
            .and_then(|()| stream.flush())
            .map_err(io_fail)?;
        #[cfg(unix)]
        wait_readable(stream, self.timeout).map_err(io_fail)?;
        // The whole reply in one read(2) in the common case: read as much as
        // the buffer holds, then only what the prefix says is missing.
        let inbuf = &mut self.inbuf;
        inbuf.clear();
        inbuf.resize(REPLY_BUFFER, 0);
        let mut filled = 0;
        while filled < frame::LEN_PREFIX {
            match stream.read(&mut inbuf[filled..]) {
                Ok(0) => return Err(io_fail(io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_fail(e)),
            }
        }
        let mut prefix = [0u8; frame::LEN_PREFIX];
        prefix.copy_from_slice(&inbuf[..frame::LEN_PREFIX]);
        let total =
            frame::LEN_PREFIX + frame::body_len(prefix).map_err(|e| Failure::Fatal(e.into()))?;
        if filled > total {
            // One request, one reply: more bytes than the reply means the
            // stream is out of step.
            return Err(Failure::Fatal(self.io_error(io::Error::new(
                io::ErrorKind::InvalidData,
                "the agent sent more than one reply",
            ))));
        }
        inbuf.resize(total.max(filled), 0);
        stream.read_exact(&mut inbuf[filled..total]).map_err(|e| {
            Failure::Fatal(Error::Io {
                path: self.path.clone(),
                source: e,
            })
        })?;
        Response::decode(&self.inbuf[frame::LEN_PREFIX..total])
            .map_err(|e| Failure::Fatal(e.into()))
    }

    /// Sends the signet extension `name` (contents written by `encode`) after
    /// the version handshake and returns the agent's reply. `secret`: the
    /// request buffer is wiped after sending. Used by the key-store
    /// operations (`store.rs`).
    pub(crate) fn extension_call(
        &mut self,
        name: &str,
        secret: bool,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Response> {
        self.ensure_signet()?;
        self.call(secret, |out| {
            ops::encode_extension(out, name, encode);
            Ok(())
        })
    }

    fn ensure_signet(&mut self) -> Result<()> {
        if self.agent.is_none() {
            self.version()?;
        }
        Ok(())
    }

    /// Checks that the agent is signetd speaking this client's protocol
    /// version (`version@signet`), and returns its versions.
    ///
    /// Fails with [`Error::ProtocolMismatch`] for another protocol version,
    /// and [`Error::NotSignet`] when the socket is a plain SSH agent.
    pub fn version(&mut self) -> Result<VersionReply> {
        let resp = self.call(false, |out| {
            ops::encode_version(out);
            Ok(())
        })?;
        let reply = ops::version_reply(resp, &self.path)?;
        self.agent = Some(reply.clone());
        Ok(reply)
    }

    /// The extensions the agent supports (the standard `query` extension).
    pub fn query(&mut self) -> Result<Vec<String>> {
        let resp = self.call(false, |out| {
            ops::encode_query(out);
            Ok(())
        })?;
        ops::query_reply(resp)
    }

    /// The agent's status: versions, pid, socket, lock state, key count,
    /// uptime.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), signet_client::Error> {
    /// let st = signet_client::Client::connect()?.status()?;
    /// println!("pid {} locked {} keys {}", st.pid, st.locked, st.keys);
    /// # Ok(()) }
    /// ```
    pub fn status(&mut self) -> Result<Status> {
        self.ensure_signet()?;
        let resp = self.call(false, |out| {
            ops::encode_status(out);
            Ok(())
        })?;
        ops::status_reply(resp)
    }

    /// The standard `REQUEST_IDENTITIES`: public key blobs and comments, as
    /// `ssh-add -L` sees them.
    pub fn list_identities(&mut self) -> Result<Vec<Identity>> {
        let resp = self.call(false, |out| {
            ops::encode(out, &signet_proto::Request::RequestIdentities);
            Ok(())
        })?;
        ops::identities_reply(resp)
    }

    /// The loaded keys with their details (`list@signet`).
    pub fn list_keys(&mut self) -> Result<Vec<KeyInfo>> {
        self.ensure_signet()?;
        let resp = self.call(false, |out| {
            ops::encode_list(out);
            Ok(())
        })?;
        ops::list_reply(resp)
    }

    /// The one loaded key that `selector` names: a name (comment), a key id
    /// (64 hex digits) or a `SHA256:` fingerprint; an empty selector names the
    /// only loaded key.
    ///
    /// Fails with [`Error::NoSuchKey`] or [`Error::AmbiguousKey`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), signet_client::Error> {
    /// let mut agent = signet_client::Client::connect()?;
    /// let key = agent.resolve("ci-bot")?;
    /// let sig = agent.sign(&key.key_blob, b"hello")?;
    /// assert_eq!(sig.as_bytes().len(), 64);
    /// # Ok(()) }
    /// ```
    pub fn resolve(&mut self, selector: &str) -> Result<KeyInfo> {
        let keys = self.list_keys()?;
        keys::resolve_in(keys, selector)
    }

    /// Signs `data` with the key whose public key blob is `key_blob`
    /// (`SIGN_REQUEST`), returning the raw Ed25519 signature.
    pub fn sign(&mut self, key_blob: &[u8], data: &[u8]) -> Result<Signature> {
        let resp = self.call(false, |out| {
            ops::encode_sign(out, key_blob, data);
            Ok(())
        })?;
        ops::sign_reply(resp, key_blob)
    }

    /// Adds an Ed25519 key named `name`, removed after `lifetime` if given,
    /// and confirmed by the user on every use if `confirm`.
    ///
    /// The seed is copied only into the request buffer, which is zeroed once
    /// the request is sent.
    pub fn add_ed25519(
        &mut self,
        seed: &Ed25519Seed,
        public: &[u8; 32],
        name: &str,
        lifetime: Option<Duration>,
        confirm: bool,
    ) -> Result<()> {
        let resp = self.call(true, |out| {
            ops::encode_add(out, seed, public, name, lifetime, confirm)
        })?;
        ops::success(resp, ops::ADD_REFUSED, name)
    }

    /// Removes the key whose public key blob is `key_blob`.
    pub fn remove(&mut self, key_blob: &[u8]) -> Result<()> {
        let resp = self.call(false, |out| {
            ops::encode_remove(out, key_blob);
            Ok(())
        })?;
        ops::success(
            resp,
            ops::REMOVE_REFUSED,
            &signet_proto::key::fingerprint(key_blob),
        )
    }

    /// Removes every key.
    pub fn remove_all(&mut self) -> Result<()> {
        let resp = self.call(false, |out| {
            ops::encode(out, &signet_proto::Request::RemoveAllIdentities);
            Ok(())
        })?;
        ops::success(resp, ops::REMOVE_ALL_REFUSED, "")
    }

    /// Locks the agent with `passphrase`: it refuses to sign or list keys until
    /// unlocked.
    pub fn lock(&mut self, passphrase: &Passphrase) -> Result<()> {
        let resp = self.call(true, |out| {
            ops::encode_lock(out, passphrase, true);
            Ok(())
        })?;
        ops::success(resp, ops::LOCK_REFUSED, "")
    }

    /// Unlocks the agent.
    pub fn unlock(&mut self, passphrase: &Passphrase) -> Result<()> {
        let resp = self.call(true, |out| {
            ops::encode_lock(out, passphrase, false);
            Ok(())
        })?;
        ops::success(resp, ops::UNLOCK_REFUSED, "")
    }

    /// Asks the agent to shut down (`stop@signet`). It replies, then stops;
    /// this client's connection is closed.
    pub fn stop(&mut self) -> Result<()> {
        self.ensure_signet()?;
        let resp = self.call(false, |out| {
            ops::encode_stop(out);
            Ok(())
        })?;
        self.stream = None;
        self.agent = None;
        ops::stop_reply(resp)
    }

    /// Signs an Encord HTTP request (`sign-request@signet`) and returns the
    /// headers to add to it.
    ///
    /// `key` names the key (name, key id or fingerprint; `None`: the only
    /// loaded key). `url_or_target` is a full URL or a path with an optional
    /// query. Only `body_sha256` crosses the socket, never the body.
    ///
    /// ```no_run
    /// use signet_client::{Client, Scheme};
    /// # fn main() -> Result<(), signet_client::Error> {
    /// let body = br#"{"query":1}"#;
    /// let mut agent = Client::connect()?;
    /// let signed = agent.sign_request(
    ///     Some("ci-bot"),
    ///     Scheme::EncordV2,
    ///     "POST",
    ///     "https://api.encord.com/v2/public/projects",
    ///     signet_client::sha256(body),
    /// )?;
    /// for (name, value) in signed.iter() {
    ///     println!("{name}: {value}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn sign_request(
        &mut self,
        key: Option<&str>,
        scheme: Scheme,
        method: &str,
        url_or_target: &str,
        body_sha256: [u8; 32],
    ) -> Result<SignedHeaders> {
        let target = http::request_target(method, url_or_target)?;
        let selector = key.unwrap_or("");
        let req = SignHttpRequest {
            key: selector,
            scheme,
            method,
            target,
            body_sha256,
        };
        self.ensure_signet()?;
        let resp = self.call(false, |out| {
            ops::encode_sign_request(out, &req);
            Ok(())
        })?;
        ops::sign_request_reply(resp, selector)
    }

    /// Asks the agent which policy rule would allow or refuse a request, and
    /// why, without signing (`explain@signet`). `scheme` is `encord-v1`,
    /// `encord-v2` or `ssh`; for HTTP schemes `url_or_target` is reduced to
    /// the request target as [`Client::sign_request`] does.
    pub fn explain(&mut self, req: &Explain<'_>) -> Result<ExplainReply> {
        let target = if req.scheme == "ssh" {
            ""
        } else {
            http::request_target(req.method, req.url_or_target)?
        };
        let selector = req.key.unwrap_or("");
        let wire = signet_proto::extension::ExplainRequest {
            key: selector,
            scheme: req.scheme,
            method: req.method,
            target,
            as_uid: req.as_uid,
            as_exe: req.as_exe.unwrap_or(""),
            as_unit: req.as_unit.unwrap_or(""),
        };
        self.ensure_signet()?;
        let resp = self.call(false, |out| {
            ops::encode_extension(out, signet_proto::extension::EXPLAIN, |out| {
                wire.encode(out)
            });
            Ok(())
        })?;
        let contents = ops::extension_reply(resp, signet_proto::extension::EXPLAIN, selector)?;
        Ok(ExplainReply::decode(&contents)?)
    }

    /// [`Client::sign_request`] for a body held in memory.
    pub fn sign_request_body(
        &mut self,
        key: Option<&str>,
        scheme: Scheme,
        method: &str,
        url_or_target: &str,
        body: &[u8],
    ) -> Result<SignedHeaders> {
        self.sign_request(key, scheme, method, url_or_target, http::sha256(body))
    }

    /// [`Client::sign_request`] for a body read from `body`, hashed through a
    /// fixed buffer: a multi-gigabyte upload is never held in memory. Read
    /// the body again (or from its file) to send it.
    ///
    /// ```no_run
    /// use signet_client::{Client, Scheme};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let file = std::fs::File::open("video.mp4")?;
    /// let signed = Client::connect()?.sign_request_reader(
    ///     None,
    ///     Scheme::EncordV2,
    ///     "PUT",
    ///     "/v2/public/upload",
    ///     file,
    /// )?;
    /// assert!(signed.get("content-digest").is_some());
    /// # Ok(()) }
    /// ```
    pub fn sign_request_reader(
        &mut self,
        key: Option<&str>,
        scheme: Scheme,
        method: &str,
        url_or_target: &str,
        body: impl Read,
    ) -> Result<SignedHeaders> {
        // Validate before reading a possibly huge body.
        http::request_target(method, url_or_target)?;
        let digest = http::sha256_reader(body).map_err(Error::ReadBody)?;
        self.sign_request(key, scheme, method, url_or_target, digest)
    }
}

/// What [`Client::explain`] asks about.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explain<'a> {
    /// The key (name, key id or fingerprint; `None`: the only loaded key).
    pub key: Option<&'a str>,
    /// `encord-v1`, `encord-v2` or `ssh`.
    pub scheme: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The URL or request target.
    pub url_or_target: &'a str,
    /// Evaluate as this uid (root, or your own uid).
    pub as_uid: Option<u32>,
    /// Evaluate as this executable path.
    pub as_exe: Option<&'a str>,
    /// Evaluate as running in this systemd unit.
    pub as_unit: Option<&'a str>,
}
