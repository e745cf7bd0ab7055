//! Executable documentation: the code blocks of `README.md` and `docs/*.md`
//! are run or checked, so that what the docs tell a newcomer works.
//!
//! # The convention, for anyone writing docs
//!
//! - A fenced block whose info string starts with `sh`, `bash` or `shell` is
//!   **run**, in the README and in every `docs/*.md`, unless the info string
//!   goes on with `no-run: REASON`, e.g. ```` ```sh no-run: needs systemd as
//!   PID 1 ````. The reason is required (renderers show only the first word);
//!   anything else after the language is an error, so a typo cannot turn a
//!   block off.
//! - An HTML comment right before a block, `<!-- setup: COMMANDS -->`
//!   (invisible when rendered), runs first in the same shell: it provides
//!   what the text says the reader already has, such as a key file or a
//!   loaded key. Keep it to that.
//! - A ```` ```toml ```` block must be a whole configuration file that
//!   `signetd` accepts (`signetd::config::parse`: unknown keys, wrong types
//!   and undefined policies are errors), unless marked `no-check: REASON`.
//!   The block after `<!-- config: defaults -->` must parse to exactly the
//!   built-in defaults.
//! - Other blocks (`text`, `json`, `yaml`, `python`, `rust`) are not run
//!   here; the README's Rust snippet is compiled as a doc test of
//!   `signet-client`.
//!
//! # How a shell block runs
//!
//! In a fresh temporary directory with its own `HOME`, XDG directories,
//! `TMPDIR` and keyring service name (`SIGNET_KEYRING_SERVICE`); `PATH`
//! starts with `$SIGNET_BIN_DIR` (the built `signet` and `signetd`); a
//! private `signetd` already answers on the default socket
//! `$XDG_RUNTIME_DIR/signet/agent.sock`, with `SIGNET_AUTH_SOCK` set to it,
//! as after `eval "$(signet start)"`. The block runs under `bash -euo
//! pipefail`, with `SIGNET_ASKPASS` set to a program that answers the key
//! store's passphrase (the reader types it when asked), in a directory whose entries link to the repository's
//! top-level ones (so `bash scripts/quickstart.sh` works, and files a block
//! creates stay in the temporary directory).
//!
//! A block that runs `curl` also gets a loopback HTTPS stand-in for
//! `api.encord.com` (`tests/fixtures/encord_standin.py`), reached through a
//! `.curlrc` with `connect-to` and the stand-in's own certificate, so the
//! block is exactly what a reader types. Every request it records must carry
//! a valid Encord v1 or v2 signature over exactly the body received, by a key
//! the agent signed with for that body (its audit log says so); a block that
//! runs curl must send at least one request.
//!
//! Afterwards every process the block left behind (found by a marker in its
//! environment) is stopped and the kernel keyring entries of its service
//! name are removed. A failure names the file and line and shows the block,
//! its output and the agent's log.
//!
//! # Also checked
//!
//! Relative links and their anchors resolve; repository paths named in
//! backticks (`crates/…`, `tests/…`, `scripts/…`, …) exist, so a file moved
//! without its docs fails here; the README stays within 8 KiB and shows the
//! quick start and the test command that `.ci/run` runs.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use signet_tests::{bin, bin_dir, chmod, run_timeout, system_tool, Run, CHILD_PATH, DEADLINE};

/// How long one block may run (the quick start takes a few seconds).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// The README must fit on a page (issue 13).
const README_MAX_BYTES: usize = 8 * 1024;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap_or_else(|e| panic!("the repository root: {e}"))
}

/// `README.md` and `docs/*.md`, relative to the repository, sorted.
fn doc_files() -> Vec<String> {
    let mut files = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = fs::read_dir(repo().join("docs"))
        .unwrap_or_else(|e| panic!("reading docs/: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

// ---------------------------------------------------------------------------
// Finding the blocks.

/// What a block's info string asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker {
    /// Run (shell) or check (TOML) it.
    Check,
    /// Leave it, for this reason.
    Skip(String),
    /// A marker this file does not understand.
    Bad(String),
}

/// One fenced code block.
#[derive(Debug, Clone)]
struct Block {
    /// The file, relative to the repository.
    file: String,
    /// The line of the opening fence, from 1.
    line: usize,
    /// The first word of the info string.
    lang: String,
    /// What the rest of the info string says.
    marker: Marker,
    /// The block's text, its fence's indentation removed.
    body: String,
    /// `<!-- key: value -->` comments right before the fence.
    directives: Vec<(String, String)>,
}

impl Block {
    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    fn is_shell(&self) -> bool {
        matches!(self.lang.as_str(), "sh" | "bash" | "shell")
    }

    fn directive(&self, key: &str) -> Option<&str> {
        self.directives
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

const DIRECTIVES: &[&str] = &["setup", "config"];

/// Whether `line` closes a block opened by `open` (the same character, at
/// least as many, nothing else).
fn closes(line: &str, open: &str) -> bool {
    let t = line.trim();
    let c = open.chars().next().unwrap_or('`');
    t.len() >= open.len() && t.chars().all(|x| x == c)
}

/// The fence (three or more backticks or tildes) a trimmed line opens with.
fn fence_of(trimmed: &str) -> Option<&str> {
    for c in ['`', '~'] {
        let n = trimmed.chars().take_while(|&x| x == c).count();
        if n >= 3 {
            return Some(&trimmed[..n]);
        }
    }
    None
}

fn marker_of(rest: &str, skip_word: &str) -> Marker {
    let rest = rest.trim();
    if rest.is_empty() {
        return Marker::Check;
    }
    match rest
        .strip_prefix(skip_word)
        .and_then(|r| r.strip_prefix(':'))
    {
        Some(reason) if !reason.trim().is_empty() => Marker::Skip(reason.trim().to_owned()),
        Some(_) => Marker::Bad(format!("`{skip_word}:` needs a reason after it")),
        None => Marker::Bad(format!(
            "unknown marker {rest:?}: the only one is `{skip_word}: REASON`"
        )),
    }
}

/// The `<!-- key: value -->` comments that end right before line `fence`
/// (blank lines between allowed).
fn directives_before(lines: &[&str], fence: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut end = fence;
    loop {
        while end > 0 && lines[end - 1].trim().is_empty() {
            end -= 1;
        }
        if end == 0 || !lines[end - 1].trim_end().ends_with("-->") {
            break;
        }
        let Some(start) = (0..end)
            .rev()
            .find(|&k| lines[k].trim_start().starts_with("<!--"))
        else {
            break;
        };
        let text = lines[start..end].join("\n");
        let inner = text
            .trim()
            .trim_start_matches("<!--")
            .trim_end_matches("-->")
            .trim();
        let (key, value) = inner.split_once(':').unwrap_or((inner, ""));
        out.push((key.trim().to_owned(), value.trim().to_owned()));
        end = start;
    }
    out.reverse();
    out
}

fn parse_blocks(rel: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let indent = lines[i].len() - trimmed.len();
        let Some(fence) = fence_of(trimmed) else {
            i += 1;
            continue;
        };
        let info = trimmed[fence.len()..].trim();
        let lang_end = info.find([' ', '\t', ',']).unwrap_or(info.len());
        let lang = info[..lang_end].to_owned();
        let rest = info[lang_end..].trim_start_matches(',');
        let skip_word = if lang == "toml" { "no-check" } else { "no-run" };
        let marker = match lang.as_str() {
            "sh" | "bash" | "shell" | "toml" => marker_of(rest, skip_word),
            _ => Marker::Check,
        };
        let mut body = String::new();
        let mut j = i + 1;
        while j < lines.len() {
            if closes(lines[j], fence) {
                break;
            }
            let l = lines[j];
            let strip = l.len() - l.trim_start().len();
            body.push_str(&l[strip.min(indent)..]);
            body.push('\n');
            j += 1;
        }
        out.push(Block {
            file: rel.to_owned(),
            line: i + 1,
            lang,
            marker,
            body,
            directives: directives_before(&lines, i),
        });
        i = j + 1;
    }
    out
}

fn all_blocks() -> Vec<Block> {
    doc_files()
        .iter()
        .flat_map(|rel| {
            let text = fs::read_to_string(repo().join(rel))
                .unwrap_or_else(|e| panic!("reading {rel}: {e}"));
            parse_blocks(rel, &text)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// A sandbox per block.

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Everything one block runs in; dropping it stops what the block left
/// running and removes its keyring entries.
struct Sandbox {
    dir: tempfile::TempDir,
    /// `SIGNET_DOCS_RUN=<id>`, in the environment of everything started here.
    marker: String,
    service: String,
    daemon: Option<Child>,
    standin: Option<Child>,
}

/// A request the stand-in recorded.
#[derive(Debug)]
struct Recorded {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("signet-docs.")
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
        for sub in [
            "home", "run", "config", "state", "data", "cache", "tmp", "work",
        ] {
            fs::create_dir_all(dir.path().join(sub))
                .unwrap_or_else(|e| panic!("creating {sub}: {e}"));
        }
        chmod(&dir.path().join("run"), 0o700);
        // The repository's top-level entries, linked, as the reader's clone.
        let work = dir.path().join("work");
        for entry in fs::read_dir(repo()).unwrap_or_else(|e| panic!("reading the repo: {e}")) {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            if name == ".git" || name == "target" {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), work.join(&name))
                .unwrap_or_else(|e| panic!("linking {}: {e}", entry.path().display()));
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!(
            "{}-{n}-{}",
            std::process::id(),
            Instant::now().elapsed().subsec_nanos() ^ random_u32()
        );
        Self {
            dir,
            marker: format!("SIGNET_DOCS_RUN={id}"),
            service: format!("signet-docs-{id}"),
            daemon: None,
            standin: None,
        }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn socket(&self) -> PathBuf {
        self.path("run/signet/agent.sock")
    }

    /// A clean environment: the built binaries first on PATH, private
    /// directories, the agent's socket, this sandbox's marker.
    fn env(&self, cmd: &mut Command) {
        let (key, value) = self
            .marker
            .split_once('=')
            .unwrap_or(("SIGNET_DOCS_RUN", ""));
        let path = format!(
            "{}:{}:{CHILD_PATH}",
            bin_dir().display(),
            self.path("home/.local/bin").display()
        );
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("TMPDIR", self.path("tmp"))
            .env("CURL_HOME", self.path("home"))
            .env("LANG", "C.UTF-8")
            .env("SIGNET_AUTH_SOCK", self.socket())
            .env("SIGNET_KEYRING_SERVICE", &self.service)
            .env("SIGNET_BIN_DIR", bin_dir())
            .env(key, value)
            .current_dir(self.path("work"));
    }

    fn start_daemon(&mut self) {
        let log = fs::File::create(self.path("signetd.log"))
            .unwrap_or_else(|e| panic!("creating the daemon log: {e}"));
        let log2 = log
            .try_clone()
            .unwrap_or_else(|e| panic!("dup log file: {e}"));
        let mut cmd = Command::new(bin("signetd"));
        self.env(&mut cmd);
        cmd.arg("--socket").arg(self.socket());
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log2)
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting signetd: {e}"));
        self.daemon = Some(child);
        let start = Instant::now();
        while std::os::unix::net::UnixStream::connect(self.socket()).is_err() {
            assert!(
                start.elapsed() < DEADLINE,
                "signetd did not answer within {DEADLINE:?}\n--- log\n{}",
                self.daemon_log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn daemon_log(&self) -> String {
        let mut log = fs::read_to_string(self.path("signetd.log")).unwrap_or_default();
        // Agents a block started itself log here (`signet start`).
        if let Ok(more) = fs::read_to_string(self.path("state/signet/signetd.log")) {
            log.push_str("--- state/signet/signetd.log\n");
            log.push_str(&more);
        }
        log
    }

    /// Starts the api.encord.com stand-in and points curl at it.
    fn start_standin(&mut self) {
        let (cert, key) = (self.path("standin-cert.pem"), self.path("standin-key.pem"));
        let mut gen = Command::new(system_tool("/usr/bin/openssl"));
        self.env(&mut gen);
        gen.args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=api.encord.com"])
            .args(["-addext", "subjectAltName=DNS:api.encord.com"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert);
        run_timeout(&mut gen, DEADLINE).assert_ok();
        let port_file = self.path("standin.port");
        let mut cmd = Command::new(system_tool("/usr/bin/python3"));
        self.env(&mut cmd);
        let child = cmd
            .arg(repo().join("tests/fixtures/encord_standin.py"))
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(self.path("standin.jsonl"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                fs::File::create(self.path("standin.err"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .unwrap_or_else(|e| panic!("starting the Encord stand-in: {e}"));
        self.standin = Some(child);
        let start = Instant::now();
        let port = loop {
            if let Some(p) = fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                break p;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the Encord stand-in did not start\n{}",
                fs::read_to_string(self.path("standin.err")).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(20));
        };
        fs::write(
            self.path("home/.curlrc"),
            format!(
                "connect-to = \"api.encord.com:443:127.0.0.1:{port}\"\ncacert = \"{}\"\n",
                cert.display()
            ),
        )
        .unwrap_or_else(|e| panic!("writing .curlrc: {e}"));
    }

    fn run_script(&self, script: &str) -> Run {
        let file = self.path("block.sh");
        fs::write(&file, script).unwrap_or_else(|e| panic!("writing the block: {e}"));
        // The reader types the key store's passphrase when signet asks
        // (`signet unlock-store`, or `generate`/`load` on a locked store):
        // here an askpass program answers for them (the daemon's own
        // askpass, for confirm prompts, is not this one).
        let askpass = self.path("askpass.sh");
        fs::write(&askpass, "#!/bin/sh\necho docs-store-passphrase\n")
            .unwrap_or_else(|e| panic!("writing the askpass: {e}"));
        chmod(&askpass, 0o700);
        let mut cmd = Command::new(system_tool("/bin/bash"));
        self.env(&mut cmd);
        cmd.env("SIGNET_ASKPASS", &askpass).arg(&file);
        run_timeout(&mut cmd, BLOCK_TIMEOUT)
    }

    /// Stops every process started here: the daemon, the stand-in, and
    /// whatever a block left running (`signet start` detaches its agent).
    fn stop_all(&mut self) {
        let marker = self.marker.as_bytes().to_vec();
        let mut left = processes_with(&marker);
        for pid in &left {
            signal(*pid, rustix::process::Signal::TERM);
        }
        let start = Instant::now();
        while !left.is_empty() && start.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(20));
            left = processes_with(&marker);
        }
        for pid in &left {
            signal(*pid, rustix::process::Signal::KILL);
        }
        for child in [self.daemon.take(), self.standin.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn recorded(&self) -> Vec<Recorded> {
        let text = fs::read_to_string(self.path("standin.jsonl")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("stand-in record {line:?}: {e}"));
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                Recorded {
                    method: s("method"),
                    target: s("target"),
                    headers: v["headers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|h| {
                            (
                                h[0].as_str().unwrap_or_default().to_owned(),
                                h[1].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect(),
                    body: base64::engine::general_purpose::STANDARD
                        .decode(s("body"))
                        .unwrap_or_else(|e| panic!("stand-in body: {e}")),
                }
            })
            .collect()
    }

    /// `(key id, body digest)` of every signature in the agent's audit log.
    fn audited_signatures(&self) -> BTreeSet<(String, String)> {
        let text = fs::read_to_string(self.path("state/signet/audit.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "sign")
            .map(|v| {
                (
                    v["key_id"].as_str().unwrap_or_default().to_owned(),
                    v["digest"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_all();
        signet_tests::keystore::keyutils_purge(&self.service);
    }
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    if let Ok(mut f) = fs::File::open("/dev/urandom") {
        use std::io::Read as _;
        let _ = f.read_exact(&mut b);
    }
    u32::from_le_bytes(b)
}

fn signal(pid: i32, sig: rustix::process::Signal) {
    if let Some(p) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// Live (not zombie) processes whose environment holds `marker`.
fn processes_with(marker: &[u8]) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let zombie = fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| Some(s.rsplit_once(')')?.1.trim_start().starts_with('Z')))
                .unwrap_or(true);
            !zombie
                && fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == marker))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Checking what reached the stand-in.

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn verifying_key(key_id: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
    let bytes: [u8; 32] = hex::decode(key_id)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("key id {key_id:?} is not 64 hex digits"))?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|e| format!("key id {key_id} is not an Ed25519 public key: {e}"))
}

/// Checks one request's Encord signature independently of signet's code:
/// v2 by rebuilding the RFC 9421 signature base from what arrived, v1 over
/// the body's SHA-256. Returns the key id that signed.
fn verify_request(r: &Recorded) -> Result<String, String> {
    let digest = sha256(&r.body);
    if let Some(input) = r.header("Signature-Input") {
        let params = input
            .strip_prefix("encord-sig=")
            .ok_or_else(|| format!("Signature-Input {input:?} has no encord-sig label"))?;
        let covered = "(\"@method\" \"@request-target\" \"content-digest\");";
        if !params.starts_with(covered) {
            return Err(format!(
                "Signature-Input {input:?} does not cover {covered}"
            ));
        }
        let key_id = params
            .split(';')
            .find_map(|p| p.strip_prefix("keyid=\""))
            .and_then(|p| p.strip_suffix('"'))
            .ok_or_else(|| format!("Signature-Input {input:?} has no keyid"))?;
        let content_digest = r
            .header("Content-Digest")
            .ok_or("no Content-Digest header")?;
        let expected = format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        if content_digest != expected {
            return Err(format!(
                "Content-Digest {content_digest} is not the body's ({expected}): the body sent is not the body signed"
            ));
        }
        let sig_b64 = r
            .header("Signature")
            .and_then(|s| s.strip_prefix("encord-sig=:"))
            .and_then(|s| s.strip_suffix(':'))
            .ok_or("no Signature: encord-sig=:…: header")?;
        let sig: [u8; 64] = base64::engine::general_purpose::STANDARD
            .decode(sig_b64)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the Signature is not 64 bytes of base64")?;
        let base = format!(
            "\"@method\": {}\n\"@request-target\": {}\n\"content-digest\": {content_digest}\n\"@signature-params\": {params}",
            r.method.to_ascii_uppercase(),
            r.target
        );
        verifying_key(key_id)?
            .verify_strict(base.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| format!("the v2 signature does not verify over:\n{base}"))?;
        return Ok(key_id.to_owned());
    }
    if let Some(auth) = r.header("Authorization") {
        let (key_id, sig_hex) = auth
            .split_once(':')
            .ok_or_else(|| format!("Authorization {auth:?} is not KEY_ID:SIGNATURE"))?;
        let sig: [u8; 64] = hex::decode(sig_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the v1 signature is not 128 hex digits")?;
        verifying_key(key_id)?
            .verify_strict(&digest, &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| {
                "the v1 signature does not verify over the body's SHA-256: the body sent is not the body signed".to_owned()
            })?;
        return Ok(key_id.to_owned());
    }
    Err("unsigned: no Signature-Input and no Authorization header".to_owned())
}

// ---------------------------------------------------------------------------
// Running blocks.

/// Runs one shell block in a fresh sandbox; `Err` is the failure report.
fn run_block(block: &Block) -> Result<(), String> {
    let mut sb = Sandbox::new();
    sb.start_daemon();
    let setup = block.directive("setup").unwrap_or_default();
    let uses_curl = block.body.contains("curl") || setup.contains("curl");
    if uses_curl {
        sb.start_standin();
    }
    let script = format!(
        "set -euo pipefail\n# setup\n{setup}\n# {}\n{}",
        block.at(),
        block.body
    );
    let run = sb.run_script(&script);
    sb.stop_all();
    let mut problems = Vec::new();
    if !run.status.success() {
        problems.push(format!("it exited with {}", run.status));
    }
    if uses_curl && run.status.success() {
        let recorded = sb.recorded();
        if recorded.is_empty() {
            problems.push("it runs curl but no request reached the Encord stand-in".to_owned());
        }
        let audited = sb.audited_signatures();
        for r in &recorded {
            let what = format!("{} {}", r.method, r.target);
            match verify_request(r) {
                Ok(key_id) => {
                    let digest = hex::encode(sha256(&r.body));
                    if !audited.contains(&(key_id.clone(), digest.clone())) {
                        problems.push(format!(
                            "{what}: signed by key {key_id}, but the agent's audit log has no signature by it for this body (sha256 {digest})"
                        ));
                    }
                }
                Err(why) => problems.push(format!("{what}: {why}")),
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut report = format!("{}: {}\n--- block\n", block.at(), problems.join("; "));
    if !setup.is_empty() {
        let _ = writeln!(report, "# setup:\n{setup}");
    }
    report.push_str(&block.body);
    let _ = write!(
        report,
        "--- stdout\n{}\n--- stderr\n{}\n--- signetd log\n{}",
        run.stdout,
        run.stderr,
        sb.daemon_log()
    );
    Err(report)
}

/// Runs every runnable shell block of the files `which` selects; fails with
/// every failing block's report.
fn run_shell_blocks(which: impl Fn(&str) -> bool) {
    let blocks: Vec<Block> = all_blocks()
        .into_iter()
        .filter(|b| which(&b.file) && b.is_shell() && b.marker == Marker::Check)
        .collect();
    assert!(!blocks.is_empty(), "no runnable shell blocks found");
    let failures: Vec<String> = blocks.iter().filter_map(|b| run_block(b).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} shell blocks failed:\n\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n")
    );
}

#[test]
fn readme_shell_blocks_run() {
    run_shell_blocks(|f| f == "README.md");
}

#[test]
fn docs_shell_blocks_run() {
    run_shell_blocks(|f| f.starts_with("docs/"));
}

// ---------------------------------------------------------------------------
// Checks that run nothing.

#[test]
fn every_block_is_marked_correctly() {
    let blocks = all_blocks();
    let mut bad = Vec::new();
    for b in &blocks {
        if let Marker::Bad(why) = &b.marker {
            bad.push(format!("{}: {why}", b.at()));
        }
        for (key, _) in &b.directives {
            if !DIRECTIVES.contains(&key.as_str()) {
                bad.push(format!(
                    "{}: unknown directive <!-- {key}: … --> (known: {})",
                    b.at(),
                    DIRECTIVES.join(", ")
                ));
            }
        }
        if b.directive("setup").is_some() && !(b.is_shell() && b.marker == Marker::Check) {
            bad.push(format!(
                "{}: a setup comment before a block that is not run",
                b.at()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The parser finds what is there: a shell block and the defaults block.
    assert!(blocks.iter().any(|b| b.file == "README.md" && b.is_shell()));
    assert!(blocks
        .iter()
        .any(|b| b.directive("config") == Some("defaults")));
}

#[test]
fn toml_blocks_are_configurations_signetd_accepts() {
    let mut bad = Vec::new();
    let mut checked = 0;
    let mut defaults = 0;
    for b in all_blocks().iter().filter(|b| b.lang == "toml") {
        if b.marker != Marker::Check {
            continue;
        }
        checked += 1;
        match signetd::parse_config(&b.body) {
            Ok(cfg) => {
                if b.directive("config") == Some("defaults") {
                    defaults += 1;
                    if cfg != signetd::Config::default() {
                        bad.push(format!(
                            "{}: documented as the defaults, but differs from Config::default():\n{cfg:#?}",
                            b.at()
                        ));
                    }
                }
            }
            Err(e) => bad.push(format!("{}: signetd refuses it: {e:#}\n{}", b.at(), b.body)),
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    assert!(checked >= 5, "only {checked} TOML blocks found");
    assert_eq!(
        defaults, 1,
        "exactly one block must be marked <!-- config: defaults -->"
    );
}

/// The negative controls: the stand-in check must catch an unsigned
/// request and a body that is not the one signed, for both schemes, and
/// pass a correct v2 request (the README's example is v1).
#[test]
fn stand_in_catches_unsigned_and_tampered_requests() {
    let block = |body: &str| Block {
        file: "tests/it/docs.rs".to_owned(),
        line: 0,
        lang: "sh".to_owned(),
        marker: Marker::Check,
        body: body.to_owned(),
        directives: vec![(
            "setup".to_owned(),
            "ssh-keygen -q -t ed25519 -N '' -C demo -f ~/demo && signet add ~/demo >/dev/null"
                .to_owned(),
        )],
    };
    let url = "https://api.encord.com/v2/public/projects";
    let good_v2 = format!(
        "b='{{\"title\":\"x\"}}'\nsignet sign-request --method POST --url {url} --body \"$b\" | curl -fsS {url} -H @- --data-binary \"$b\"\n"
    );
    assert_eq!(run_block(&block(&good_v2)), Ok(()));
    let cases = [
        (
            format!("curl -fsS {url} --data-binary '{{}}'\n"),
            "unsigned",
        ),
        (
            format!("signet sign-request --method POST --url {url} --body a | curl -fsS {url} -H @- --data-binary b\n"),
            "the body sent is not the body signed",
        ),
        (
            "signet sign-request --scheme encord-v1 --method POST --url https://api.encord.com/public/user --body a |\n  curl -fsS https://api.encord.com/public/user -H @- --data-binary b\n".to_owned(),
            "the body sent is not the body signed",
        ),
        // A block that runs curl must reach the stand-in.
        ("curl --version >/dev/null\n".to_owned(), "no request reached"),
    ];
    for (body, expected) in cases {
        match run_block(&block(&body)) {
            Ok(()) => panic!("accepted:\n{body}"),
            Err(report) => assert!(
                report.contains(expected),
                "expected {expected:?} in the report of\n{body}\n--- report\n{report}"
            ),
        }
    }
}

#[test]
fn readme_test_command_is_what_ci_runs() {
    let readme = all_blocks()
        .into_iter()
        .filter(|b| b.file == "README.md" && b.is_shell())
        .map(|b| b.body)
        .collect::<Vec<_>>();
    assert!(
        readme.iter().any(|b| b.trim() == "bash scripts/test.sh"),
        "the README must show the test command `bash scripts/test.sh` as a block of its own"
    );
    let ci = fs::read_to_string(repo().join(".ci/run")).unwrap_or_else(|e| panic!(".ci/run: {e}"));
    assert!(
        ci.lines().any(|l| l.trim() == "bash scripts/test.sh"),
        ".ci/run must run the README's test command `bash scripts/test.sh`"
    );
    assert!(
        readme
            .iter()
            .any(|b| b.trim() == "bash scripts/quickstart.sh"),
        "the README must show the quick start `bash scripts/quickstart.sh` as a block of its own"
    );
}

#[test]
fn readme_fits_on_a_page() {
    let len = fs::metadata(repo().join("README.md"))
        .map(|m| m.len())
        .unwrap_or(u64::MAX);
    assert!(
        len <= README_MAX_BYTES as u64,
        "README.md is {len} bytes; keep it at most {README_MAX_BYTES}: move reference material to docs/"
    );
}

/// The keys a section accepts, from the parser's own error for an unknown
/// one (serde lists every field it expects).
fn accepted_keys(header: &str) -> BTreeSet<String> {
    let probe = format!("{header}\nzz_not_a_key = 1\n");
    let err = match signetd::parse_config(&probe) {
        Ok(_) => panic!("{header}: an unknown key was accepted"),
        Err(e) => format!("{e:#}"),
    };
    let expected = err
        .split_once("expected")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{header}: no list of expected keys in {err:?}"));
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// docs/configuration.md documents every key of every section, nothing
/// else, and each default written as a literal is the parser's default.
#[test]
fn configuration_md_documents_every_key_and_its_default() {
    let text = fs::read_to_string(repo().join("docs/configuration.md"))
        .unwrap_or_else(|e| panic!("docs/configuration.md: {e}"));
    let prose = without_code_blocks(&text);
    // Each `## `[section]`` heading, then its table's rows.
    let mut sections: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for line in prose.lines() {
        if let Some(h) = line
            .strip_prefix("## `[")
            .and_then(|h| h.strip_suffix("]`"))
        {
            sections.push((h.to_owned(), Vec::new()));
        } else if line.starts_with("## ") {
            sections.push((String::new(), Vec::new()));
        } else if let (Some((name, rows)), true) = (sections.last_mut(), line.starts_with('|')) {
            if !name.is_empty() && !line.starts_with("|---") {
                rows.push(
                    line.trim()
                        .trim_matches('|')
                        .split(" | ")
                        .map(|c| c.trim().to_owned())
                        .collect(),
                );
            }
        }
    }
    sections.retain(|(name, _)| !name.is_empty());
    let documented: BTreeSet<String> = sections
        .iter()
        .map(|(n, _)| n.split('.').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        documented,
        accepted_keys(""),
        "the sections of docs/configuration.md"
    );
    let mut bad = Vec::new();
    for (name, rows) in &sections {
        // `[keys.NAME]` and `[policies.NAME]` are probed with one entry.
        let header = format!("[{}]", name.replace(".NAME", ".x"));
        let baseline = signetd::parse_config(&header).unwrap_or_else(|e| panic!("{header}: {e:#}"));
        let columns = &rows[0];
        let col = |title: &str| columns.iter().position(|c| c == title);
        let (Some(key_col), Some(default_col)) = (col("key"), col("default")) else {
            bad.push(format!(
                "[{name}]: the table needs `key` and `default` columns"
            ));
            continue;
        };
        let mut keys = BTreeSet::new();
        for row in &rows[1..] {
            let key = row[key_col].trim_matches('`').to_owned();
            let default = &row[default_col];
            // A literal default: one backticked value, maybe a note in parentheses.
            if let Some(lit) = default.strip_prefix('`').and_then(|d| d.split_once('`')) {
                if lit.1.trim().is_empty() || lit.1.trim_start().starts_with('(') {
                    match signetd::parse_config(&format!("{header}\n{key} = {}\n", lit.0)) {
                        Ok(cfg) if cfg == baseline => {}
                        Ok(_) => bad.push(format!(
                            "[{name}] {key}: the documented default {} is not the default",
                            lit.0
                        )),
                        Err(e) => bad.push(format!("[{name}] {key} = {}: {e:#}", lit.0)),
                    }
                }
            }
            keys.insert(key);
        }
        let accepted = accepted_keys(&header);
        for missing in accepted.difference(&keys) {
            bad.push(format!(
                "[{name}] {missing}: accepted by signetd, not documented"
            ));
        }
        for extra in keys.difference(&accepted) {
            bad.push(format!(
                "[{name}] {extra}: documented, but signetd does not accept it"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// GitHub's anchor for a heading: lower case, punctuation but `-` and `_`
/// dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors_of(text: &str) -> BTreeSet<String> {
    without_code_blocks(text)
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

/// `text` with its fenced code blocks blanked out.
fn without_code_blocks(text: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<String> = None;
    for line in text.lines() {
        let t = line.trim_start();
        match (&fence, fence_of(t)) {
            (None, Some(f)) => fence = Some(f.to_owned()),
            (Some(open), Some(_)) if closes(t, open) => fence = None,
            (None, None) => {
                out.push_str(line);
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// Every relative link and its anchor resolves, and every repository path
/// the docs name in backticks exists: a file moved without its docs fails
/// here.
#[test]
fn links_and_paths_in_docs_exist() {
    let root = repo();
    let mut files = doc_files();
    files.push("CHANGELOG.md".to_owned());
    let mut bad = Vec::new();
    let link = |s: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let end = after.find(')').unwrap_or(after.len());
            out.push(after[..end].to_owned());
            rest = &after[end..];
        }
        out
    };
    for rel in &files {
        let text = fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let dir = Path::new(rel).parent().unwrap_or(Path::new(""));
        for target in link(&text) {
            if target.starts_with("http") || target.starts_with("mailto:") {
                continue;
            }
            let (path, frag) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                root.join(rel)
            } else {
                root.join(dir).join(path)
            };
            if !file.exists() {
                bad.push(format!("{rel}: link to {target}: no such file"));
                continue;
            }
            if !frag.is_empty() && file.extension().is_some_and(|e| e == "md") {
                let t = fs::read_to_string(&file).unwrap_or_default();
                if !anchors_of(&t).contains(frag) {
                    bad.push(format!("{rel}: link to {target}: no such heading"));
                }
            }
        }
        // `crates/…`, `tests/…` and the like, in backticks outside code blocks.
        let prose = without_code_blocks(&text);
        for (i, piece) in prose.split('`').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            let p = piece.split_whitespace().next().unwrap_or_default();
            let p = p.split("::").next().unwrap_or_default();
            let tracked = [
                "crates/", "tests/", "scripts/", "docs/", "python/", "systemd/", "launchd/",
                "fuzz/", ".ci/",
            ];
            let generated = ["fuzz/corpus", "fuzz/artifacts", "fuzz/target"];
            if tracked.iter().any(|t| p.starts_with(t))
                && !generated.iter().any(|g| p.starts_with(g))
                && !p.contains(['*', '…', '<', '$'])
                && !root.join(p.trim_end_matches(['.', ',', ':', ')'])).exists()
            {
                bad.push(format!("{rel}: `{p}` does not exist"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn block_parser_reads_fences_markers_and_directives() {
    let text = "intro\n\n<!-- setup: touch x\n  && touch y -->\n\n```sh\necho hi\n```\n\n   ```sh no-run: needs root\n   rm -rf /\n   ```\n```bash no_run\n```\n```toml\n[agent]\n```\n````text\n```sh\n````\n";
    let blocks = parse_blocks("t.md", text);
    assert_eq!(blocks.len(), 5, "{blocks:#?}");
    assert_eq!(blocks[0].line, 6);
    assert_eq!(blocks[0].marker, Marker::Check);
    assert_eq!(blocks[0].body, "echo hi\n");
    assert_eq!(blocks[0].directive("setup"), Some("touch x\n  && touch y"));
    assert_eq!(blocks[1].marker, Marker::Skip("needs root".to_owned()));
    assert_eq!(blocks[1].body, "rm -rf /\n");
    assert!(matches!(blocks[2].marker, Marker::Bad(_)));
    assert_eq!(blocks[3].lang, "toml");
    assert_eq!(blocks[4].lang, "text");
    assert_eq!(blocks[4].body, "```sh\n");
    assert_eq!(anchor("`[policies.NAME]`"), "policiesname");
    assert_eq!(
        anchor("Crash safety: the whole key or nothing"),
        "crash-safety-the-whole-key-or-nothing"
    );
}
