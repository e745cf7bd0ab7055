//! The key-store commands: generate, import, register, pubkey, load, unload,
//! rename, delete, doctor, and the stored-key half of list, remove and
//! status.
//!
//! The CLI never touches the OS keyring: the agent does all keyring I/O. The
//! only secret that passes through here is a key being imported, parsed in
//! memory (`keyfile`) and sent over the socket in a zeroizing type.

use std::io::{self, BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;
use signet_client::{Client, Error as ClientError, KeyInfo, StoreInfo, StoredKey};
use signet_proto::index::{IndexFile, State};
use signet_proto::key::{ed25519_blob, fingerprint, key_id, openssh_line, KeySelector};
use signet_proto::text::escape;

use super::{out, Ctx};
use crate::cli::StoreArg;
use crate::cli::{
    exit, DeleteArgs, DoctorArgs, GenerateArgs, ImportArgs, LoadArgs, NameArgs, RenameArgs,
    UnloadArgs,
};
use crate::failure::Failure;
use crate::secrets::{self, display_path, PassphraseSource};

/// The public key line of a stored key.
pub fn line(k: &StoredKey) -> String {
    openssh_line(&k.public, &k.comment)
}

/// A stored key as `--json` shows it.
fn stored_json(k: &StoredKey) -> serde_json::Value {
    json!({
        "name": k.name,
        "key_id": key_id(&k.public),
        "fingerprint": fingerprint(&ed25519_blob(&k.public)),
        "public_key": line(k),
        "store": k.store,
        "loaded": k.loaded,
        "expires_in_secs": k.expires_in,
    })
}

/// What `generate` and `import` say when the key store does not survive a
/// reboot: the kernel keyring keeps keys in kernel memory only.
const KEYUTILS_FORGETS: &str = "the keyutils key store (the kernel keyring) keeps keys in kernel memory only: they do NOT survive a reboot";

/// `signet generate NAME`.
pub fn generate(ctx: &Ctx, a: GenerateArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let comment = a.comment.as_deref().unwrap_or("");
    let k = match a.store {
        StoreArg::Keyring => {
            super::seal::with_store(ctx, &mut client, |c| c.generate(&a.name, comment))
        }
        StoreArg::Pkcs11 => client
            .generate_on_token(&a.name, comment)
            .map_err(anyhow::Error::from),
    }
    .with_context(|| format!("could not generate {:?}", a.name))?;
    ctx.note(format_args!(
        "generated {} ({}) in the {} key store; register it with `signet register {}`",
        escape(&k.name),
        fingerprint(&ed25519_blob(&k.public)),
        k.store,
        escape(&k.name)
    ));
    if k.store == "keyutils" {
        // A generated key exists nowhere else, and signet never exports a
        // private key: at the next reboot it is gone.
        ctx.note(format_args!(
            "warning: {KEYUTILS_FORGETS}, and a generated key has no other copy (signet never exports it): \
             after a reboot {} is gone; register a second key with Encord, or keep keys in a store \
             that persists (a Secret Service: [store] backend)",
            escape(&k.name)
        ));
    }
    ctx.show(
        &(line(&k) + "\n"),
        &json!({"generated": stored_json(&k), "survives_reboot": k.store != "keyutils"}),
    )
}

/// Why `--remove-source` may not remove `path`: a symbolic link (removing
/// it leaves the key at its target) or a file with other hard links
/// (removing one name leaves the key under the others). Returns the file's
/// identity, to check again right before removing it.
#[cfg(unix)]
fn removable_source(path: &Path, shown: &str) -> Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    let meta =
        std::fs::symlink_metadata(path).with_context(|| format!("cannot inspect {shown}"))?;
    let refuse = |why: String| -> anyhow::Error {
        Failure::new("source_not_removable", exit::ERROR, why).into()
    };
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "its target".to_owned());
        return Err(refuse(format!(
            "refusing --remove-source: {shown} is a symbolic link (to {}): removing it would leave the private key in the file it points to. Import that file itself, or import without --remove-source and delete the key file yourself; nothing was imported or removed",
            escape(&target)
        )));
    }
    if !meta.file_type().is_file() {
        return Err(refuse(format!(
            "refusing --remove-source: {shown} is not a regular file; nothing was imported or removed"
        )));
    }
    if meta.nlink() > 1 {
        return Err(refuse(format!(
            "refusing --remove-source: {shown} has {} hard links: removing this name would leave the private key under the others (find them with `find / -xdev -samefile {shown}`). Import without --remove-source and delete every link yourself; nothing was imported or removed",
            meta.nlink(),
        )));
    }
    Ok((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn removable_source(path: &Path, shown: &str) -> Result<(u64, u64)> {
    let meta =
        std::fs::symlink_metadata(path).with_context(|| format!("cannot inspect {shown}"))?;
    if !meta.file_type().is_file() {
        return Err(Failure::new(
            "source_not_removable",
            exit::ERROR,
            format!("refusing --remove-source: {shown} is not a regular file; nothing was imported or removed"),
        )
        .into());
    }
    Ok((0, 0))
}

fn default_import_name(comment: &str, file: &Path) -> String {
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && !s.starts_with(['.', '-'])
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c))
    };
    if valid(comment) {
        return comment.to_owned();
    }
    if file.as_os_str() == "-" {
        return "imported".to_owned();
    }
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| valid(s))
        .unwrap_or_else(|| "imported".to_owned())
}

/// `signet import FILE`.
pub fn import(ctx: &Ctx, a: ImportArgs) -> Result<()> {
    let shown = display_path(&a.file);
    let from_stdin = a.file.as_os_str() == "-";
    if from_stdin && a.passphrase_stdin {
        anyhow::bail!("--passphrase-stdin cannot be used when the key itself is read from stdin: pass the key as a file");
    }
    if from_stdin && a.remove_source {
        anyhow::bail!("--remove-source needs a file: there is nothing to remove when the key comes from stdin");
    }
    if a.store == StoreArg::Pkcs11 && !a.allow_import {
        anyhow::bail!("importing into the PKCS#11 token is refused: a key made there with `signet generate NAME --store pkcs11` never existed outside the token, an imported one did (whoever had the file may still have it); to migrate anyway, add --allow-import (see docs/pkcs11.md)");
    }
    if a.allow_import && a.store != StoreArg::Pkcs11 {
        anyhow::bail!("--allow-import applies to --store pkcs11 only");
    }
    // Refused before anything is read or sent: a link or a hard-linked
    // file cannot be removed safely, whatever happens next.
    let identity = if a.remove_source {
        Some(removable_source(&a.file, &shown)?)
    } else {
        None
    };
    // Connect first: no point asking for a passphrase with no agent running.
    let mut client = ctx.connect()?;
    if a.remove_source && !a.force && a.store == StoreArg::Keyring {
        let info = client.store_info()?;
        if info.backend == "keyutils" {
            return Err(Failure::new(
                "store_forgets",
                exit::ERROR,
                format!(
                    "refusing --remove-source: {KEYUTILS_FORGETS}, so {shown} would be the only copy left to lose; \
                     keep the file (import without --remove-source), use a store that persists (a Secret Service: \
                     [store] backend), or pass --force to remove it anyway; nothing was imported or removed"
                ),
            )
            .into());
        }
    }
    let source = if a.passphrase_stdin {
        PassphraseSource::Stdin
    } else {
        PassphraseSource::Ask
    };
    let key = secrets::read_key_file(&a.file, source, a.force)?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| default_import_name(&key.comment, &a.file));
    let comment = a.comment.clone().unwrap_or_else(|| key.comment.clone());
    let format = key.format;
    let stored = match a.store {
        StoreArg::Keyring => super::seal::with_store(ctx, &mut client, |c| {
            c.import_ed25519(&key.seed, &key.public, &name, &comment)
        }),
        StoreArg::Pkcs11 => client
            .import_to_token(&key.seed, &key.public, &name, &comment)
            .map_err(anyhow::Error::from),
    }
    .with_context(|| format!("could not import {shown}"))?;
    drop(key);
    ctx.note(format_args!(
        "imported {shown} ({format}) as {} ({}) into the {} key store",
        escape(&stored.name),
        fingerprint(&ed25519_blob(&stored.public)),
        stored.store
    ));
    if stored.store == "keyutils" {
        ctx.note(format_args!(
            "warning: {KEYUTILS_FORGETS}: keep {shown} (or another copy) to import it again after a reboot"
        ));
    }
    // The agent replies only after reading the key back from the keyring and
    // comparing it: only now is the source safe to delete.
    if let Some(identity) = identity {
        // The same file as checked before (not replaced by a link or given
        // another name meanwhile).
        let again = removable_source(&a.file, &shown)
            .with_context(|| format!("the key is stored, but {shown} was not removed"))?;
        if again != identity {
            return Err(Failure::new(
                "source_changed",
                exit::ERROR,
                format!("the key is stored, but {shown} was replaced while it was imported: it was not removed"),
            )
            .into());
        }
        std::fs::remove_file(&a.file)
            .with_context(|| format!("the key is stored, but {shown} could not be removed"))?;
        ctx.note(format_args!("removed {shown}"));
    }
    ctx.show(
        "",
        &json!({
            "imported": stored_json(&stored),
            "source_removed": a.remove_source,
            "survives_reboot": stored.store != "keyutils",
        }),
    )
}

/// The one stored key `selector` names: its exact name first, then a name,
/// key id or fingerprint match.
fn find(client: &mut Client, selector: &str) -> Result<StoredKey> {
    let keys = client.stored_keys()?;
    let sel = KeySelector::parse(selector);
    let exact = keys.iter().find(|k| k.name == selector);
    if let Some(k) = exact {
        return Ok(k.clone());
    }
    let mut hits = keys.iter().filter(|k| sel.matches(&k.public, &k.name));
    match (hits.next(), hits.next()) {
        (Some(k), None) => Ok(k.clone()),
        (None, _) => Err(Failure::no_key(
            "no_such_key",
            format!("no stored key matches {selector:?}: `signet list` shows the stored keys"),
        )
        .into()),
        (Some(_), Some(_)) => Err(Failure::no_key(
            "ambiguous_key",
            format!("several stored keys match {selector:?}: name one exactly"),
        )
        .into()),
    }
}

/// The stored key `selector` names, if any.
pub fn find_stored(client: &mut Client, selector: &str) -> Result<Option<StoredKey>> {
    match find(client, selector) {
        Ok(k) => Ok(Some(k)),
        Err(e)
            if e.downcast_ref::<Failure>()
                .is_some_and(|f| f.kind == "no_such_key") =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A key for `pubkey` and `register`: a stored key, else any key the agent
/// holds (session keys, systemd credentials, key files).
enum AnyKey {
    Stored(StoredKey),
    Loaded(KeyInfo),
}

impl AnyKey {
    fn name(&self) -> &str {
        match self {
            AnyKey::Stored(k) => &k.name,
            AnyKey::Loaded(k) => &k.name,
        }
    }
    fn public(&self) -> [u8; 32] {
        match self {
            AnyKey::Stored(k) => k.public,
            AnyKey::Loaded(k) => k.public,
        }
    }
    fn line(&self) -> String {
        match self {
            AnyKey::Stored(k) => line(k),
            AnyKey::Loaded(k) => k.openssh_line(),
        }
    }
    fn source(&self) -> String {
        match self {
            AnyKey::Stored(k) => k.store.clone(),
            AnyKey::Loaded(k) => k.source.clone(),
        }
    }
}

fn find_any(client: &mut Client, selector: &str) -> Result<AnyKey> {
    if let Some(k) = find_stored(client, selector)? {
        return Ok(AnyKey::Stored(k));
    }
    match client.resolve(selector) {
        Ok(k) => Ok(AnyKey::Loaded(k)),
        Err(ClientError::NoSuchKey { .. }) => Err(Failure::no_key(
            "no_such_key",
            format!("no stored or loaded key matches {selector:?}: `signet list` shows every key"),
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// `signet pubkey NAME`.
pub fn pubkey(ctx: &Ctx, a: NameArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let k = find_any(&mut client, &a.name)?;
    let public = k.public();
    ctx.show(
        &(k.line() + "\n"),
        &json!({
            "name": k.name(),
            "public_key": k.line(),
            "key_id": key_id(&public),
            "fingerprint": fingerprint(&ed25519_blob(&public)),
            "source": k.source(),
        }),
    )
}

#[derive(Serialize)]
struct RegisterJson {
    title: String,
    public_key: String,
    key_id: String,
    fingerprint: String,
    source: String,
    user_key: &'static str,
    service_account: &'static str,
}

const USER_STEPS: &str = "Encord web app → Settings → API keys (or Public keys) → add a new key: \
paste the public key line, give it the title above, save";
const SERVICE_STEPS: &str = "Encord web app → Workspace Settings → Service Accounts → choose or \
create the service account → add a public key: paste the public key line, give it the title above, save";

/// `signet register NAME`.
pub fn register(ctx: &Ctx, a: NameArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let k = find_any(&mut client, &a.name)?;
    let public = k.public();
    let doc = RegisterJson {
        title: k.name().to_owned(),
        public_key: k.line(),
        key_id: key_id(&public),
        fingerprint: fingerprint(&ed25519_blob(&public)),
        source: k.source(),
        user_key: USER_STEPS,
        service_account: SERVICE_STEPS,
    };
    let then = match &k {
        AnyKey::Stored(s) => format!(
            "Then use it: `signet load {}` and sign with `signet sign-request` or the SDK adapters.\n\
             The private key stays in the OS keyring; nothing above is secret.\n",
            escape(&s.name)
        ),
        AnyKey::Loaded(l) => format!(
            "The key is loaded in the agent (source: {}); sign with `signet sign-request` or the SDK adapters.\n\
             Nothing above is secret.\n",
            escape(&l.source)
        ),
    };
    let text = format!(
        "Register key {name:?} with Encord\n\
         \n\
         Title:        {title}\n\
         Public key:   {line}\n\
         Key id:       {id}\n\
         Fingerprint:  {fp}\n\
         \n\
         Paste the public key line (one line, starting with ssh-ed25519) into Encord:\n\
         \n\
         \x20 As your own user key:\n\
         \x20   1. Open the Encord web app and go to Settings → API keys.\n\
         \x20   2. Add a new public key; paste the line above; use {title:?} as its title.\n\
         \x20   3. Save. Requests signed with this key now act as you.\n\
         \n\
         \x20 As a service account's key:\n\
         \x20   1. Go to Workspace Settings → Service Accounts.\n\
         \x20   2. Choose (or create) the service account; add a public key; paste the line above.\n\
         \x20   3. Save. Requests signed with this key act as that service account.\n\
         \n\
         {then}",
        name = escape(k.name()),
        title = escape(&doc.title),
        line = escape(&doc.public_key),
        id = doc.key_id,
        fp = doc.fingerprint,
    );
    ctx.show(&text, &doc)
}

/// `signet load`.
pub fn load(ctx: &Ctx, a: LoadArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let loaded = super::seal::with_store(ctx, &mut client, |c| {
        c.load_stored(&a.names, a.all, a.lifetime)
    })?;
    for k in &loaded {
        let until = match k.expires_in {
            Some(s) => format!("unloaded in {}", signet_proto::duration::human(s)),
            None => "no lifetime".to_owned(),
        };
        ctx.note(format_args!("loaded {} ({until})", escape(&k.name)));
    }
    let doc: Vec<_> = loaded.iter().map(stored_json).collect();
    ctx.show("", &json!({"loaded": doc}))
}

/// `signet unload`.
pub fn unload(ctx: &Ctx, a: UnloadArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let gone = client.unload_stored(&a.names, a.all)?;
    if gone.is_empty() {
        ctx.note("no stored keys were loaded");
    }
    for k in &gone {
        ctx.note(format_args!("unloaded {}", escape(&k.name)));
    }
    let doc: Vec<_> = gone.iter().map(stored_json).collect();
    ctx.show("", &json!({"unloaded": doc}))
}

/// `signet rename OLD NEW`.
pub fn rename(ctx: &Ctx, a: RenameArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let k = client.rename_stored(&a.old, &a.new)?;
    ctx.note(format_args!(
        "renamed {} to {}",
        escape(&a.old),
        escape(&k.name)
    ));
    ctx.show(
        "",
        &json!({"renamed": {"from": a.old, "to": k.name, "key": stored_json(&k)}}),
    )
}

/// `signet delete KEY`: a stored key out of the keyring and the index.
pub fn delete(ctx: &Ctx, a: DeleteArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let Some(stored) = find_stored(&mut client, &a.key)? else {
        // A session key is not stored: say how to unload it instead.
        if let Ok(k) = client.resolve(&a.key) {
            return Err(Failure::no_key(
                "not_stored",
                format!(
                    "{} is not stored in the keyring (source: {}): there is nothing to delete; \
                     `signet remove {}` unloads it from the agent",
                    escape(&k.name),
                    escape(&k.source),
                    escape(&k.name)
                ),
            )
            .into());
        }
        return Err(find(&mut client, &a.key)
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("no stored key matches {:?}", a.key)));
    };
    confirm_delete(&stored, a.yes)?;
    let k = client.delete_stored(&stored.name)?;
    ctx.note(format_args!(
        "deleted {} ({}) from the {} key store",
        escape(&k.name),
        fingerprint(&ed25519_blob(&k.public)),
        k.store
    ));
    ctx.show("", &json!({"deleted": stored_json(&k)}))
}

/// `signet doctor [--fix]`.
pub fn doctor(ctx: &Ctx, a: DoctorArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let info = client.store_info()?;
    let report = client.doctor(a.fix)?;
    let doc = json!({
        "store": info.backend,
        "findings": report.findings,
        "remaining": report.remaining,
    });
    let mut text = format!("key store: {} (index {})\n", info.backend, info.index);
    if report.findings.is_empty() {
        text.push_str("index and keyring agree\n");
    }
    for f in &report.findings {
        text.push_str(&format!("- {}\n", escape(f)));
    }
    if report.remaining > 0 {
        if !ctx.json {
            out(&text)?;
        }
        return Err(Failure::new(
            "problems_remain",
            exit::ERROR,
            format!(
                "{} problem(s) remain: see above (`signet doctor --fix` drops entries whose secret is gone)",
                report.remaining
            ),
        )
        .with_data(doc)
        .into());
    }
    ctx.show(&text, &doc)
}

/// Asks "delete?" on the terminal; refuses without one unless `yes`.
pub fn confirm_delete(k: &StoredKey, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !io::stdin().is_terminal() {
        return Err(Failure::new(
            "confirmation_needed",
            exit::ERROR,
            format!(
                "refusing to delete stored key {:?} without confirmation: stdin is not a terminal; pass --yes",
                k.name
            ),
        )
        .into());
    }
    eprint!(
        "Delete stored key {:?} ({}) from the {} keyring? This cannot be undone. [y/N] ",
        k.name,
        fingerprint(&ed25519_blob(&k.public)),
        k.store
    );
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("could not read the answer")?;
    if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        return Err(Failure::new("declined", exit::ERROR, "not deleted").into());
    }
    Ok(())
}

/// The store part of `signet status`.
pub fn status_text(info: &StoreInfo) -> String {
    let mut s = format!(
        "store:   {} ({})\n\
         \x20        {}\n\
         service: {}\n\
         index:   {}\n",
        info.backend, info.reason, info.persistence, info.service, info.index
    );
    s.push_str(&super::seal::status_text(info));
    if !info.problem.is_empty() {
        s.push_str(&format!("problem: {}\n", info.problem));
    }
    s
}

/// The key index file, found by the daemon's own rule (`signetd`'s
/// `ConfigSource::index_path`): `[store] index` in the configuration file,
/// else `keys.toml` next to it; the configuration file is `$SIGNET_CONFIG`,
/// else `$XDG_CONFIG_HOME/signet/config.toml` (`~/.config/signet/…`). (The
/// `signet` command has no `--config`: it never reads the configuration
/// otherwise; an agent started with `signetd --config FILE` is found through
/// `SIGNET_CONFIG` only.)
fn index_path() -> Result<PathBuf> {
    let (config, _) = crate::file_paths::with_env(signet_proto::paths::config_file);
    let configured = match std::fs::read_to_string(&config) {
        Ok(text) => {
            let doc: toml::Table = text.parse().with_context(|| {
                format!(
                    "cannot find the key index: the configuration {} is invalid",
                    config.display()
                )
            })?;
            doc.get("store")
                .and_then(|s| s.get("index"))
                .and_then(|i| i.as_str())
                .map(PathBuf::from)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "cannot find the key index: cannot read the configuration {}",
                    config.display()
                )
            })
        }
    };
    Ok(signet_proto::paths::index_file(
        &config,
        configured.as_deref(),
    ))
}

/// A stored key as `signet list --json` shows it with no agent running (the
/// fields of the usual rows, and `agent_running: false`).
#[derive(Serialize)]
struct OfflineRow {
    name: String,
    key_id: String,
    fingerprint: String,
    expires_in_secs: Option<u64>,
    confirm: bool,
    source: String,
    public_key: String,
    stored: bool,
    loaded: bool,
    agent_running: bool,
    store: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
}

const NOT_LOADED_OFFLINE: &str = "not loaded (agent not running)";

fn offline_rows(index: &Path) -> Result<Vec<OfflineRow>> {
    let text = match std::fs::read_to_string(index) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the key index {}", index.display()))
        }
    };
    // The daemon's own schema (signet_proto::index): what is listed here is
    // what the daemon would load, and an index it would refuse is reported
    // with the same reason rather than shown in part.
    let doc: IndexFile = toml::from_str(&text)
        .map_err(anyhow::Error::from)
        .and_then(|f: IndexFile| f.check().map(|()| f).map_err(anyhow::Error::from))
        .with_context(|| {
            format!(
                "the key index {} is invalid (`signet doctor` with the agent running says more)",
                index.display()
            )
        })?;
    let mut rows = Vec::new();
    for e in doc.keys {
        let Some(public) = e.public() else { continue };
        let comment = if e.comment.is_empty() {
            e.name.clone()
        } else {
            e.comment.clone()
        };
        rows.push(OfflineRow {
            key_id: key_id(&public),
            fingerprint: fingerprint(&ed25519_blob(&public)),
            expires_in_secs: None,
            confirm: false,
            source: e.store.clone(),
            public_key: openssh_line(&public, &comment),
            stored: true,
            loaded: false,
            agent_running: false,
            store: e.store,
            created_at: e.created_at,
            state: (e.state != State::Active).then(|| e.state.as_str().to_owned()),
            name: e.name,
        });
    }
    Ok(rows)
}

fn offline_table(rows: &[OfflineRow], index: &Path) -> String {
    if rows.is_empty() {
        return format!(
            "no stored keys in {} (and no agent running)\n",
            index.display()
        );
    }
    let header = ["NAME", "FINGERPRINT", "STATUS", "STORE", "KEY ID"];
    let lines: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                signet_proto::text::escape(&r.name),
                r.fingerprint.clone(),
                match &r.state {
                    Some(state) => format!("{state}: run `signet doctor` once the agent runs"),
                    None => NOT_LOADED_OFFLINE.to_owned(),
                },
                r.store.clone(),
                r.key_id.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for l in &lines {
        for (w, cell) in widths.iter_mut().zip(l) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let mut push = |cells: [&str; 5]| {
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == cells.len() - 1 {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        text.push('\n');
    };
    push(header);
    for l in &lines {
        push([&l[0], &l[1], &l[2], &l[3], &l[4]]);
    }
    text
}

/// `signet list` when no agent answers: the stored keys from the index file
/// (it holds no secret, so the CLI may read it), each marked "not loaded
/// (agent not running)", then `not_running` is returned so the command still
/// exits 3 and says how to start the agent. Keys added for a session only
/// (`signet add`, `ssh-add`) died with the agent and are not shown.
pub fn list_offline(ctx: &Ctx, not_running: anyhow::Error) -> Result<()> {
    let shown = index_path().and_then(|index| {
        let rows = offline_rows(&index)?;
        Ok((index, rows))
    });
    let keys = match shown {
        Ok((index, rows)) => {
            if !ctx.json {
                out(&offline_table(&rows, &index))?;
            }
            serde_json::to_value(&rows)?
        }
        // Still exit 3 for the missing agent; say why no keys are shown.
        Err(e) => {
            ctx.note(format_args!("cannot show the stored keys: {e:#}"));
            serde_json::Value::Null
        }
    };
    // --json: the error, with the stored keys from the index beside it
    // (and whatever the error already carried, such as another agent).
    let mut data = not_running
        .downcast_ref::<Failure>()
        .map(|f| f.data.clone())
        .unwrap_or_default();
    data.insert("keys".to_owned(), keys);
    data.insert("agent_running".to_owned(), json!(false));
    Err(Failure::new(
        "not_running",
        exit::NOT_RUNNING,
        crate::failure::message(&not_running),
    )
    .with_data(serde_json::Value::Object(data))
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_names() {
        assert_eq!(default_import_name("ci-bot", Path::new("x")), "ci-bot");
        assert_eq!(
            default_import_name("a b", Path::new("/k/id_ed25519")),
            "id_ed25519"
        );
        assert_eq!(default_import_name("", Path::new("-")), "imported");
        assert_eq!(
            default_import_name("", Path::new("/k/my key.txt")),
            "imported"
        );
    }
}
