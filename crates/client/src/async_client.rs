//! The async client (feature `tokio`): the same operations as
//! [`crate::Client`] over a [`tokio::net::UnixStream`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use signet_proto::encord::Scheme;
use signet_proto::extension::{SignHttpRequest, Status, VersionReply};
use signet_proto::{frame, Ed25519Seed, Identity, Passphrase, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::http::{self, SignedHeaders, HASH_BUFFER_LEN};
use crate::keys::{self, KeyInfo, Signature};
use crate::ops;
use crate::socket;

/// Connects, and checks who serves the socket before anything is sent
/// (see [`crate::trust`]).
async fn open(path: &Path) -> Result<UnixStream> {
    crate::trust::check_default_dir(path)?;
    let stream = UnixStream::connect(path)
        .await
        .map_err(|e| ops::connect_error(path, e))?;
    let cred = stream.peer_cred().map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    crate::trust::check_server(path, cred.uid())?;
    Ok(stream)
}

enum Failure {
    Closed(io::Error),
    Fatal(Error),
}

/// An async connection to `signetd`; see [`crate::Client`] for the behaviour
/// of each operation, which is identical.
///
/// ```no_run
/// # async fn demo() -> Result<(), signet_client::Error> {
/// let mut agent = signet_client::AsyncClient::connect().await?;
/// let keys = agent.list_keys().await?;
/// println!("{} keys loaded", keys.len());
/// # Ok(()) }
/// ```
pub struct AsyncClient {
    path: PathBuf,
    stream: Option<UnixStream>,
    out: Vec<u8>,
    inbuf: Vec<u8>,
    agent: Option<VersionReply>,
}

impl fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncClient")
            .field("path", &self.path)
            .field("connected", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}

impl AsyncClient {
    /// Connects to the agent at [`crate::Client::socket_path`].
    pub async fn connect() -> Result<Self> {
        Self::connect_to(socket::default_path()?).await
    }

    /// Connects to the agent at `path`.
    pub async fn connect_to(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let stream = open(&path).await?;
        Ok(Self {
            path,
            stream: Some(stream),
            out: Vec::new(),
            inbuf: Vec::new(),
            agent: None,
        })
    }

    /// The socket this client talks to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn call(
        &mut self,
        secret: bool,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<Response> {
        self.out.clear();
        if secret {
            self.out.reserve(ops::SECRET_RESERVE);
        }
        let result = match encode(&mut self.out).and_then(|()| ops::check_size(&self.out)) {
            Ok(()) => self.send_and_receive().await,
            Err(e) => Err(e),
        };
        if secret {
            self.out.zeroize();
        }
        result
    }

    async fn send_and_receive(&mut self) -> Result<Response> {
        let reused = self.stream.is_some();
        match self.exchange().await {
            Ok(r) => Ok(r),
            Err(Failure::Closed(_)) if reused => {
                self.agent = None;
                match self.exchange().await {
                    Ok(r) => Ok(r),
                    Err(f) => Err(self.failure(f)),
                }
            }
            Err(f) => Err(self.failure(f)),
        }
    }

    fn failure(&self, f: Failure) -> Error {
        match f {
            Failure::Closed(source) => Error::Io {
                path: self.path.clone(),
                source,
            },
            Failure::Fatal(e) => e,
        }
    }

    async fn exchange(&mut self) -> std::result::Result<Response, Failure> {
        let result = self.exchange_inner().await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange_inner(&mut self) -> std::result::Result<Response, Failure> {
        let path = self.path.clone();
        if self.stream.is_none() {
            let s = open(&path).await.map_err(Failure::Fatal)?;
            self.stream = Some(s);
        }
        let io_fail = |e: io::Error| {
            if ops::is_closed(&e) {
                Failure::Closed(e)
            } else {
                Failure::Fatal(Error::Io {
                    path: path.clone(),
                    source: e,
                })
            }
        };
        let Some(stream) = self.stream.as_mut() else {
            return Err(io_fail(io::ErrorKind::NotConnected.into()));
        };
        stream.write_all(&self.out).await.map_err(io_fail)?;
        stream.flush().await.map_err(io_fail)?;
        let mut prefix = [0u8; frame::LEN_PREFIX];
        stream.read_exact(&mut prefix).await.map_err(io_fail)?;
        let len = frame::body_len(prefix).map_err(|e| Failure::Fatal(e.into()))?;
        self.inbuf.clear();
        self.inbuf.resize(len, 0);
        stream.read_exact(&mut self.inbuf).await.map_err(|e| {
            Failure::Fatal(Error::Io {
                path: path.clone(),
                source: e,
            })
        })?;
        Response::decode(&self.inbuf).map_err(|e| Failure::Fatal(e.into()))
    }

    async fn ensure_signet(&mut self) -> Result<()> {
        if self.agent.is_none() {
            self.version().await?;
        }
        Ok(())
    }

    /// See [`crate::Client::version`].
    pub async fn version(&mut self) -> Result<VersionReply> {
        let resp = self
            .call(false, |out| {
                ops::encode_version(out);
                Ok(())
            })
            .await?;
        let reply = ops::version_reply(resp, &self.path)?;
        self.agent = Some(reply.clone());
        Ok(reply)
    }

    /// See [`crate::Client::query`].
    pub async fn query(&mut self) -> Result<Vec<String>> {
        let resp = self
            .call(false, |out| {
                ops::encode_query(out);
                Ok(())
            })
            .await?;
        ops::query_reply(resp)
    }

    /// See [`crate::Client::status`].
    pub async fn status(&mut self) -> Result<Status> {
        self.ensure_signet().await?;
        let resp = self
            .call(false, |out| {
                ops::encode_status(out);
                Ok(())
            })
            .await?;
        ops::status_reply(resp)
    }

    /// See [`crate::Client::list_identities`].
    pub async fn list_identities(&mut self) -> Result<Vec<Identity>> {
        let resp = self
            .call(false, |out| {
                ops::encode(out, &signet_proto::Request::RequestIdentities);
                Ok(())
            })
            .await?;
        ops::identities_reply(resp)
    }

    /// See [`crate::Client::list_keys`].
    pub async fn list_keys(&mut self) -> Result<Vec<KeyInfo>> {
        self.ensure_signet().await?;
        let resp = self
            .call(false, |out| {
                ops::encode_list(out);
                Ok(())
            })
            .await?;
        ops::list_reply(resp)
    }

    /// See [`crate::Client::resolve`].
    pub async fn resolve(&mut self, selector: &str) -> Result<KeyInfo> {
        let keys = self.list_keys().await?;
        keys::resolve_in(keys, selector)
    }

    /// See [`crate::Client::sign`].
    pub async fn sign(&mut self, key_blob: &[u8], data: &[u8]) -> Result<Signature> {
        let resp = self
            .call(false, |out| {
                ops::encode_sign(out, key_blob, data);
                Ok(())
            })
            .await?;
        ops::sign_reply(resp, key_blob)
    }

    /// See [`crate::Client::add_ed25519`].
    pub async fn add_ed25519(
        &mut self,
        seed: &Ed25519Seed,
        public: &[u8; 32],
        name: &str,
        lifetime: Option<Duration>,
        confirm: bool,
    ) -> Result<()> {
        let resp = self
            .call(true, |out| {
                ops::encode_add(out, seed, public, name, lifetime, confirm)
            })
            .await?;
        ops::success(resp, ops::ADD_REFUSED, name)
    }

    /// See [`crate::Client::remove`].
    pub async fn remove(&mut self, key_blob: &[u8]) -> Result<()> {
        let resp = self
            .call(false, |out| {
                ops::encode_remove(out, key_blob);
                Ok(())
            })
            .await?;
        ops::success(
            resp,
            ops::REMOVE_REFUSED,
            &signet_proto::key::fingerprint(key_blob),
        )
    }

    /// See [`crate::Client::remove_all`].
    pub async fn remove_all(&mut self) -> Result<()> {
        let resp = self
            .call(false, |out| {
                ops::encode(out, &signet_proto::Request::RemoveAllIdentities);
                Ok(())
            })
            .await?;
        ops::success(resp, ops::REMOVE_ALL_REFUSED, "")
    }

    /// See [`crate::Client::lock`].
    pub async fn lock(&mut self, passphrase: &Passphrase) -> Result<()> {
        let resp = self
            .call(true, |out| {
                ops::encode_lock(out, passphrase, true);
                Ok(())
            })
            .await?;
        ops::success(resp, ops::LOCK_REFUSED, "")
    }

    /// See [`crate::Client::unlock`].
    pub async fn unlock(&mut self, passphrase: &Passphrase) -> Result<()> {
        let resp = self
            .call(true, |out| {
                ops::encode_lock(out, passphrase, false);
                Ok(())
            })
            .await?;
        ops::success(resp, ops::UNLOCK_REFUSED, "")
    }

    /// See [`crate::Client::stop`].
    pub async fn stop(&mut self) -> Result<()> {
        self.ensure_signet().await?;
        let resp = self
            .call(false, |out| {
                ops::encode_stop(out);
                Ok(())
            })
            .await?;
        self.stream = None;
        self.agent = None;
        ops::stop_reply(resp)
    }

    /// See [`crate::Client::sign_request`].
    pub async fn sign_request(
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
        self.ensure_signet().await?;
        let resp = self
            .call(false, |out| {
                ops::encode_sign_request(out, &req);
                Ok(())
            })
            .await?;
        ops::sign_request_reply(resp, selector)
    }

    /// See [`crate::Client::sign_request_body`].
    pub async fn sign_request_body(
        &mut self,
        key: Option<&str>,
        scheme: Scheme,
        method: &str,
        url_or_target: &str,
        body: &[u8],
    ) -> Result<SignedHeaders> {
        self.sign_request(key, scheme, method, url_or_target, http::sha256(body))
            .await
    }

    /// See [`crate::Client::sign_request_reader`]; the body is an
    /// [`AsyncRead`], hashed through one fixed buffer.
    pub async fn sign_request_reader(
        &mut self,
        key: Option<&str>,
        scheme: Scheme,
        method: &str,
        url_or_target: &str,
        mut body: impl AsyncRead + Unpin,
    ) -> Result<SignedHeaders> {
        http::request_target(method, url_or_target)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; HASH_BUFFER_LEN];
        loop {
            let n = body.read(&mut buf).await.map_err(Error::ReadBody)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        self.sign_request(key, scheme, method, url_or_target, hasher.finalize().into())
            .await
    }
}
