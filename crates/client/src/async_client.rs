//! The async transport (feature `tokio`): the same operations as
//! [`crate::Client`], the same [`crate::op`] ops, over a
//! [`tokio::net::UnixStream`]. Only the moving of bytes differs.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use signet_proto::encord::Scheme;
use signet_proto::extension::{AuditInfo, ExplainReply, Status, VersionReply};
use signet_proto::keystore::{DoctorReport, StoreInfo, StoredKey, UnlockStoreReply};
use signet_proto::secret::{AddSecretRequest, Released, SecretInfo};
use signet_proto::{Ed25519Seed, Identity, Passphrase, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::http::{self, SignedHeaders, HASH_BUFFER_LEN};
use crate::keys::{self, KeyInfo, Signature};
use crate::op::{self, Context, Op};
use crate::socket;
use crate::transport::{self, Failure, Progress, ReplyBuf};

/// Connects, and checks who serves the socket before anything is sent
/// (see [`crate::trust`]).
async fn open(path: &Path) -> Result<UnixStream> {
    crate::trust::check_default_dir(path)?;
    let stream = match UnixStream::connect(path).await {
        Ok(s) => s,
        // The agent's listen queue is full (many connections at once, such
        // as another user flooding a system agent with connections it
        // refuses): a non-blocking connect fails at once, where the blocking
        // client's connect waits in the kernel for its turn. Wait the same
        // way, on a blocking thread.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            let owned = path.to_owned();
            let waited = tokio::task::spawn_blocking(move || {
                let s = std::os::unix::net::UnixStream::connect(&owned)?;
                s.set_nonblocking(true)?;
                Ok::<_, io::Error>(s)
            })
            .await
            .map_err(|join| io::Error::other(join.to_string()))
            .and_then(|r| r)
            .and_then(UnixStream::from_std);
            waited.map_err(|e| transport::connect_error(path, e))?
        }
        Err(e) => return Err(transport::connect_error(path, e)),
    };
    let cred = stream
        .peer_cred()
        .map_err(|source| transport::io_error(path, source))?;
    crate::trust::check_server(path, cred.uid())?;
    Ok(stream)
}

/// An async connection to `signetd`; see [`crate::Client`] for the behaviour
/// of each operation, which is identical (both run the ops of
/// [`crate::op`]).
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
    reply: ReplyBuf,
    timeout: Option<Duration>,
    agent: Option<VersionReply>,
}

impl fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncClient")
            .field("path", &self.path)
            .field("connected", &self.stream.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AsyncClient {
    /// Connects to the agent at [`crate::Client::socket_path`].
    pub async fn connect() -> Result<Self> {
        Self::connect_to(socket::default_path()?).await
    }

    /// Connects to the agent at `path`; see [`crate::Client::connect_to`]
    /// for the checks made before anything is sent.
    pub async fn connect_to(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let stream = open(&path).await?;
        Ok(Self {
            path,
            stream: Some(stream),
            out: Vec::new(),
            reply: ReplyBuf::default(),
            timeout: None,
            agent: None,
        })
    }

    /// The socket this client talks to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets a deadline for each request's write and for its reply (`None`,
    /// the default, waits for as long as the agent takes, e.g. while a user
    /// confirms a key use). A request that times out fails with
    /// [`Error::Io`] (`TimedOut`) and the connection is dropped.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.timeout = timeout;
        Ok(())
    }

    /// See [`crate::Client::run`].
    pub async fn run<O: Op>(&mut self, op: O) -> Result<O::Output> {
        if O::SIGNET && self.agent.is_none() {
            self.handshake().await?;
        }
        let result = match self.send(&op).await {
            Ok(reply) => op.decode(reply, &Context { path: &self.path }),
            Err(e) => Err(e),
        };
        if O::CLOSES {
            self.stream = None;
            self.agent = None;
        }
        match result {
            Err(e) => Err(self.explain_missing(e).await),
            ok => ok,
        }
    }

    /// See the blocking client's: a missing key explained by the agent's
    /// memory of expired ones.
    async fn explain_missing(&mut self, e: Error) -> Error {
        if op::missing_selector(&e).is_none() {
            return e;
        }
        let diagnosis = match self.send(&op::Diagnose).await {
            Ok(r) => op::Diagnose.decode(r, &Context { path: &self.path }),
            Err(e) => Err(e),
        };
        op::explain_missing(e, diagnosis.ok())
    }

    async fn send<O: Op>(&mut self, op: &O) -> Result<Response> {
        self.out.clear();
        if O::SECRET {
            self.out.reserve(op::SECRET_RESERVE);
        }
        let result = match op.encode(&mut self.out) {
            Ok(()) => {
                let reused = self.stream.is_some();
                match self.exchange().await {
                    Ok(r) => Ok(r),
                    Err(Failure::Closed(_)) if reused => {
                        self.agent = None;
                        match self.exchange().await {
                            Ok(r) => Ok(r),
                            Err(f) => Err(f.into_error(&self.path)),
                        }
                    }
                    Err(f) => Err(f.into_error(&self.path)),
                }
            }
            Err(e) => Err(e),
        };
        if O::SECRET {
            // The request or its reply carried a secret.
            self.out.zeroize();
            self.reply.wipe();
        }
        result
    }

    async fn exchange(&mut self) -> std::result::Result<Response, Failure> {
        let result = match self.timeout {
            Some(limit) => match tokio::time::timeout(limit, self.exchange_inner()).await {
                Ok(r) => r,
                Err(_) => Err(Failure::Fatal(transport::io_error(
                    &self.path,
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no reply within {limit:?}"),
                    ),
                ))),
            },
            None => self.exchange_inner().await,
        };
        if result.is_err() {
            // After any error the stream's position is unknown: start afresh.
            self.stream = None;
        }
        result
    }

    async fn exchange_inner(&mut self) -> std::result::Result<Response, Failure> {
        if self.stream.is_none() {
            let s = open(&self.path).await.map_err(Failure::Fatal)?;
            self.stream = Some(s);
        }
        let path = &self.path;
        let Some(stream) = self.stream.as_mut() else {
            return Err(Failure::io(path, io::ErrorKind::NotConnected.into()));
        };
        stream
            .write_all(&self.out)
            .await
            .map_err(|e| Failure::io(path, e))?;
        stream.flush().await.map_err(|e| Failure::io(path, e))?;
        self.reply.start();
        loop {
            let n = match stream.read(self.reply.spare()).await {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::io(path, e)),
            };
            if let Progress::Done = self.reply.advance(n, path)? {
                return self.reply.response();
            }
        }
    }

    /// The version handshake: [`op::Version`], remembered for this
    /// connection.
    async fn handshake(&mut self) -> Result<VersionReply> {
        let reply = self.send(&op::Version).await?;
        let version = op::Version.decode(reply, &Context { path: &self.path })?;
        self.agent = Some(version.clone());
        Ok(version)
    }

    /// See [`crate::Client::version`].
    pub async fn version(&mut self) -> Result<VersionReply> {
        self.handshake().await
    }

    /// See [`crate::Client::query`].
    pub async fn query(&mut self) -> Result<Vec<String>> {
        self.run(op::Query).await
    }

    /// See [`crate::Client::status`].
    pub async fn status(&mut self) -> Result<Status> {
        self.run(op::Status).await
    }

    /// See [`crate::Client::audit_info`].
    pub async fn audit_info(&mut self) -> Result<AuditInfo> {
        self.run(op::AuditInfo).await
    }

    /// See [`crate::Client::list_identities`].
    pub async fn list_identities(&mut self) -> Result<Vec<Identity>> {
        self.run(op::ListIdentities).await
    }

    /// See [`crate::Client::list_keys`].
    pub async fn list_keys(&mut self) -> Result<Vec<KeyInfo>> {
        self.run(op::ListKeys).await
    }

    /// See [`crate::Client::resolve`].
    pub async fn resolve(&mut self, selector: &str) -> Result<KeyInfo> {
        let keys = self.list_keys().await?;
        match keys::resolve_in(keys, selector) {
            Err(e) => Err(self.explain_missing(e).await),
            ok => ok,
        }
    }

    /// See [`crate::Client::sign`].
    pub async fn sign(&mut self, key_blob: &[u8], data: &[u8]) -> Result<Signature> {
        self.run(op::Sign { key_blob, data }).await
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
        self.run(op::Add {
            seed,
            public,
            name,
            lifetime,
            confirm,
            remember: None,
        })
        .await
    }

    /// See [`crate::Client::remove`].
    pub async fn remove(&mut self, key_blob: &[u8]) -> Result<()> {
        self.run(op::Remove { key_blob }).await
    }

    /// See [`crate::Client::remove_all`].
    pub async fn remove_all(&mut self) -> Result<()> {
        self.run(op::RemoveAll).await
    }

    /// See [`crate::Client::lock`].
    pub async fn lock(&mut self, passphrase: &Passphrase) -> Result<()> {
        self.run(op::Lock(passphrase)).await
    }

    /// See [`crate::Client::unlock`].
    pub async fn unlock(&mut self, passphrase: &Passphrase) -> Result<()> {
        match self.run(op::Unlock(passphrase)).await {
            Err(e) if op::unlock_is_ambiguous(&e) => {
                let status = self.status().await;
                Err(op::unlock_failure(e, status))
            }
            other => other,
        }
    }

    /// See [`crate::Client::stop`].
    pub async fn stop(&mut self) -> Result<()> {
        self.run(op::Stop).await
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
        self.run(op::SignRequest {
            key,
            scheme,
            method,
            url_or_target,
            body_sha256,
        })
        .await
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

    /// See [`crate::Client::explain`].
    pub async fn explain(&mut self, req: &op::Explain<'_>) -> Result<ExplainReply> {
        self.run(*req).await
    }

    /// See [`crate::Client::diagnose`].
    pub async fn diagnose(&mut self) -> Result<op::Diagnosis> {
        self.run(op::Diagnose).await
    }

    /// See [`crate::Client::reload`].
    pub async fn reload(&mut self) -> Result<String> {
        self.run(op::Reload).await
    }

    /// See [`crate::Client::generate`].
    pub async fn generate(&mut self, name: &str, comment: &str) -> Result<StoredKey> {
        self.run(op::Generate {
            name,
            comment,
            store: "",
        })
        .await
    }

    /// See [`crate::Client::import_ed25519`].
    pub async fn import_ed25519(
        &mut self,
        seed: &Ed25519Seed,
        public: &[u8; 32],
        name: &str,
        comment: &str,
    ) -> Result<StoredKey> {
        self.run(op::Import {
            seed,
            public,
            name,
            comment,
            store: "",
            allow_import: false,
        })
        .await
    }

    /// See [`crate::Client::stored_keys`].
    pub async fn stored_keys(&mut self) -> Result<Vec<StoredKey>> {
        self.run(op::Stored).await
    }

    /// See [`crate::Client::load_stored`].
    pub async fn load_stored(
        &mut self,
        names: &[String],
        all: bool,
        lifetime: Option<Duration>,
    ) -> Result<Vec<StoredKey>> {
        self.run(op::Load {
            names,
            all,
            lifetime,
        })
        .await
    }

    /// See [`crate::Client::unload_stored`].
    pub async fn unload_stored(&mut self, names: &[String], all: bool) -> Result<Vec<StoredKey>> {
        self.run(op::Unload { names, all }).await
    }

    /// See [`crate::Client::delete_stored`].
    pub async fn delete_stored(&mut self, name: &str) -> Result<StoredKey> {
        self.run(op::Delete { name }).await
    }

    /// See [`crate::Client::secret_add`].
    pub async fn secret_add(&mut self, request: &AddSecretRequest) -> Result<SecretInfo> {
        self.run(op::SecretAdd { request }).await
    }

    /// See [`crate::Client::secret_list`].
    pub async fn secret_list(&mut self) -> Result<Vec<SecretInfo>> {
        self.run(op::SecretList).await
    }

    /// See [`crate::Client::secret_remove`].
    pub async fn secret_remove(&mut self, name: &str) -> Result<SecretInfo> {
        self.run(op::SecretRemove { name }).await
    }

    /// See [`crate::Client::get_secret`].
    pub async fn get_secret(&mut self, name: &str) -> Result<Released> {
        self.run(op::GetSecret { name }).await
    }

    /// See [`crate::Client::rename_stored`].
    pub async fn rename_stored(&mut self, old: &str, new: &str) -> Result<StoredKey> {
        self.run(op::Rename { old, new }).await
    }

    /// See [`crate::Client::doctor`].
    pub async fn doctor(&mut self, fix: bool) -> Result<DoctorReport> {
        self.run(op::Doctor { fix }).await
    }

    /// See [`crate::Client::store_info`].
    pub async fn store_info(&mut self) -> Result<StoreInfo> {
        self.run(op::Store).await
    }

    /// Unlocks a sealed key store (see [`crate::Client::unlock_store`]).
    pub async fn unlock_store(
        &mut self,
        passphrase: &Passphrase,
        create: bool,
    ) -> Result<UnlockStoreReply> {
        self.run(op::UnlockStore { passphrase, create }).await
    }

    /// Locks a sealed key store again; true if it was unlocked.
    pub async fn lock_store(&mut self) -> Result<bool> {
        self.run(op::LockStore).await
    }

    /// Changes a sealed key store's passphrase.
    pub async fn passwd(&mut self, old: &Passphrase, new: &Passphrase) -> Result<()> {
        self.run(op::Passwd { old, new }).await
    }
}
