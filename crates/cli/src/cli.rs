//! The command line, as clap types and nothing else: no I/O, no command
//! logic, and no `crate::` paths, so that the file can be compiled on its
//! own (by a build script, or `signet man`/`signet completions`, which
//! render it) as rage's `cli.rs` is.
//!
//! Each command's code lives in `cmd/`; the exit statuses are here because
//! `--help` shows them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

const LONG_ABOUT: &str = "\
signet keeps Ed25519 keys in a local agent (signetd) and signs with them, \
so that Encord SDK requests and SSH logins never need the private key in the \
calling process.

Start the agent with `eval \"$(signet start)\"`, then either keep keys in \
the OS keyring (`signet generate NAME` or `signet import FILE`, \
`signet register NAME` to register the key with Encord, `signet load NAME` \
to use it) or add a key file for this session only (`signet add \
~/.ssh/id_ed25519`). Sign Encord requests with `signet sign-request` or \
through the Python and Rust clients.

Stored keys rest in the OS keyring (Secret Service, or the Linux kernel \
keyring, which does not survive a reboot); the agent does all keyring \
access. `signet status` shows which store is used and why.";

/// Exit statuses, the same for every command: the one table `--help` shows
/// and docs/cli.md must repeat (a test compares them).
pub const EXIT_CODES: &[(u8, &str)] = &[
    (exit::OK, "success"),
    (
        exit::ERROR,
        "error: the agent refused, bad input, or an I/O error",
    ),
    (exit::USAGE, "usage error: unknown command or bad arguments"),
    (
        exit::NOT_RUNNING,
        "no agent is running at the socket (start one with `signet start`); \
         `signet list` still prints the stored keys from the index first",
    ),
    (
        exit::LOCKED,
        "the agent is locked (`signet unlock`), or its sealed key store is \
         (`signet unlock-store`)",
    ),
    (
        exit::NO_KEY,
        "no loaded key matches the `KEY` argument, or several do",
    ),
];

/// The exit statuses by name.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// The agent refused, bad input, or an I/O error.
    pub const ERROR: u8 = 1;
    /// Unknown command or bad arguments (clap's code).
    pub const USAGE: u8 = 2;
    /// No agent is running at the socket.
    pub const NOT_RUNNING: u8 = 3;
    /// The agent is locked.
    pub const LOCKED: u8 = 4;
    /// No loaded key matches, or several do.
    pub const NO_KEY: u8 = 5;
}

/// The text after `signet --help`: the exit statuses and what `KEY` means.
pub fn after_long_help() -> String {
    let mut s = String::from("Exit status:\n");
    for (code, meaning) in EXIT_CODES {
        s.push_str(&format!("  {code}  {meaning}\n"));
    }
    s.push_str(
        "\nKEY arguments name a loaded key by its name (comment), its key id (64 hex \
         digits: the raw public key) or its `SHA256:` fingerprint.",
    );
    s
}

/// Talk to signetd, the local Ed25519 credential agent.
#[derive(Debug, Parser)]
#[command(
    name = "signet",
    version,
    long_about = LONG_ABOUT,
    after_long_help = after_long_help(),
    propagate_version = true
)]
pub struct Cli {
    /// The agent's socket [default: $SIGNET_AUTH_SOCK, else
    /// $XDG_RUNTIME_DIR/signet/agent.sock, else
    /// $XDG_STATE_HOME/signet/run/agent.HOST.sock]
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Print exactly one JSON document on stdout, whether the command
    /// succeeds (its result) or fails ({"error": {"kind", "message",
    /// "exit_code"}}); exit statuses are unchanged
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start signetd in the background unless one already answers (here, or
    /// at another default socket path: that one is used); prints the line
    /// that sets SIGNET_AUTH_SOCK for `eval "$(signet start)"`, for the shell
    /// in $SHELL unless --sh, --fish or --csh says otherwise
    Start(ShellArgs),
    /// Print the shell line that points SIGNET_AUTH_SOCK at the agent (for
    /// the shell in $SHELL unless --sh, --fish or --csh says otherwise)
    Env(ShellArgs),
    /// Ask the agent to stop, and wait until it has
    Stop,
    /// Show the agent's version, pid, socket, lock state, key count (hidden
    /// while locked), uptime and key store
    Status,
    /// Make the agent re-read its configuration file, as SIGHUP does, and
    /// say whether it took it (an invalid file is refused; the agent keeps
    /// the configuration it has)
    Reload,
    /// Add an Ed25519 private key file to the agent for this session, as
    /// `ssh-add` does (`-t` lifetime, `-c` confirm); refuses a key file that
    /// others can read unless --force
    Add(AddArgs),
    /// List stored and loaded keys: each stored key, whether it is loaded
    /// and its expiry, plus keys added for this session only (prints "no
    /// keys loaded" and exits 0 when there are none; exits 4 when the agent
    /// is locked). With no agent running it still shows the stored keys,
    /// read from the index file (keys.toml), marked "not loaded (agent not
    /// running)", and exits 3. The table fits the terminal; --wide shows
    /// every column in full
    List(ListArgs),
    /// Unload a key from the agent, as `ssh-add -d` does (--all: every key,
    /// `ssh-add -D`). A stored key stays in the OS keyring (`signet load`
    /// loads it again; `signet delete` deletes it)
    Remove(RemoveArgs),
    /// Delete a stored key from the OS keyring and the index, unloading it
    /// first; asks on a terminal, needs --yes otherwise. This cannot be
    /// undone
    Delete(DeleteArgs),
    /// Make a new Ed25519 key inside the agent and store it in the OS
    /// keyring (it never touches disk); prints its public key line
    Generate(GenerateArgs),
    /// Store an Ed25519 private key file in the OS keyring: OpenSSH
    /// (encrypted or not), PKCS#8 PEM, or the private key .txt Encord's web
    /// app downloads; `-` reads stdin
    Import(ImportArgs),
    /// Show what to paste into Encord to register a key (a stored key, or
    /// any key the agent holds), and where
    Register(NameArgs),
    /// Print a key's `ssh-ed25519 AAAA… comment` line (a stored key, or any
    /// key the agent holds: session keys, systemd credentials, key files)
    Pubkey(NameArgs),
    /// Load stored keys from the OS keyring into the agent
    Load(LoadArgs),
    /// Unload stored keys from the agent (they stay in the keyring)
    Unload(UnloadArgs),
    /// Rename a stored key
    Rename(RenameArgs),
    /// Check that the key index and the OS keyring agree; finish or undo
    /// interrupted operations (exits 1 while problems remain)
    Doctor(DoctorArgs),
    /// Lock the agent with a passphrase: it signs nothing and shows no keys
    /// until unlocked; loaded keys stay loaded (hidden), and a sealed key
    /// store is locked too
    Lock(PassphraseArgs),
    /// Unlock the agent (its loaded keys sign again); with --token, give its
    /// PKCS#11 token's PIN
    Unlock(UnlockArgs),
    /// Unlock the sealed key store: asks its passphrase once (the first
    /// time, chooses one and seals every key stored so far); `load`,
    /// autoload, `generate` and `import` then work without asking until
    /// `[store] unlock_idle` (1h) or `unlock_max` (8h) pass, `signet lock`
    /// or `lock-store`, SIGUSR1, or the agent stops
    UnlockStore(UnlockStoreArgs),
    /// Lock the sealed key store again (the agent forgets its unlock);
    /// loaded keys stay loaded
    LockStore,
    /// Change the sealed key store's passphrase (the store key is wrapped
    /// again; no key is resealed). With --passphrase-stdin: the current
    /// passphrase on the first line, the new one on the second
    Passwd(PasswdArgs),
    /// Sign an Encord HTTP request and print the headers to add to it
    SignRequest(SignRequestArgs),
    /// Sign a file's bytes with a loaded key; prints the 64-byte Ed25519
    /// signature in base64
    Sign(SignArgs),
    /// Write the systemd units (--user, --system) or the launchd agent
    /// (--launchd) with this installation's signetd, and print the commands
    /// that enable them
    InstallUnits(InstallUnitsArgs),
    /// Run a command (a CI job) with SIGNET_AUTH_SOCK set, after checking
    /// that the agent answers and --key is loaded; ENCORD_SSH_KEY becomes
    /// the reference `signet:<key id>` (the Encord SDK then signs through
    /// the agent), ENCORD_SSH_KEY_FILE is removed; exits with the command's
    /// status
    Exec(ExecArgs),
    /// Say which policy rule would allow or refuse a request, without
    /// signing (exits 0 when it would be signed, 1 when refused)
    Explain(ExplainArgs),
    /// Keep Encord resource API keys and bearer tokens in the agent's key
    /// store, released only to callers a rule allows (docs/secrets.md)
    Secret(SecretArgs),
    /// Check (`verify`) or show (`tail`) the agent's hash-chained audit log
    Audit(AuditArgs),
    /// Print the completion script for a shell (`signet completions bash >
    /// /usr/share/bash-completion/completions/signet`), or write all five
    /// into a directory with --dir
    Completions(CompletionsArgs),
    /// Print signet(1) as roff (`signet man | man -l -`), or write every
    /// page (signet(1), one signet-COMMAND(1) per command, signetd(8)) into
    /// a directory with --dir
    Man(ManArgs),
}

/// `signet completions`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["shell", "dir"])))]
pub struct CompletionsArgs {
    /// The shell to print the script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Option<CompletionShell>,
    /// Write the scripts for every shell into DIR instead (signet.bash,
    /// _signet, signet.fish, signet.elv, _signet.ps1)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The shells `signet completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// bash (bash-completion)
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
    /// elvish
    Elvish,
    /// PowerShell
    Powershell,
}

/// `signet man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page into DIR (signet.1, signet-COMMAND.1…, signetd.8)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `signet explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The key: name, key id or SHA256 fingerprint [default: the only loaded key]
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// The HTTP method (not for --scheme ssh)
    #[arg(long, required_unless_present = "ssh")]
    pub method: Option<String>,
    /// The request's full URL, or its path and query (not for --scheme ssh)
    #[arg(long, required_unless_present = "ssh")]
    pub url: Option<String>,
    /// The scheme the request would be signed with
    #[arg(long, value_enum, default_value_t = ExplainScheme::EncordV2)]
    pub scheme: ExplainScheme,
    /// Ask about raw SSH signing (ssh, ssh-keygen -Y sign, signet sign)
    #[arg(long, conflicts_with_all = ["method", "url"])]
    pub ssh: bool,
    /// Evaluate as this uid (another uid than your own: root or an admin of
    /// a system agent only)
    #[arg(long, value_name = "UID")]
    pub as_uid: Option<u32>,
    /// Evaluate as this executable path [default: this process's]
    #[arg(long, value_name = "PATH")]
    pub as_exe: Option<String>,
    /// Evaluate as running in this systemd unit: NAME (a system unit),
    /// user:NAME (a user unit) or a cgroup path [default: this process's]
    #[arg(long, value_name = "UNIT")]
    pub as_unit: Option<String>,
}

/// `signet explain --scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainScheme {
    /// Encord v1 (`Authorization` header)
    #[value(name = "encord-v1")]
    EncordV1,
    /// Encord v2 (RFC 9421)
    #[value(name = "encord-v2")]
    EncordV2,
}

/// `signet start` / `signet env`: which shell the line is for.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("shell").args(["sh", "fish", "csh"])))]
pub struct ShellArgs {
    /// Print for sh, bash, zsh (as `ssh-agent -s`)
    #[arg(long, short = 's')]
    pub sh: bool,
    /// Print for fish
    #[arg(long)]
    pub fish: bool,
    /// Print for csh and tcsh (as `ssh-agent -c`)
    #[arg(long, short = 'c')]
    pub csh: bool,
    /// Also set SSH_AUTH_SOCK to the agent's socket, so that ssh, ssh-add,
    /// git and every other SSH agent client use signetd (as the only SSH
    /// agent: `eval "$(signet start --ssh)"` replaces `eval "$(ssh-agent)"`)
    #[arg(long)]
    pub ssh: bool,
}

/// `signet list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Every column in full (key id, whole fingerprints), however wide
    #[arg(long, short = 'w')]
    pub wide: bool,
}

/// `signet add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The private key file (OpenSSH format, as `ssh-keygen -t ed25519`
    /// writes it); `-` reads it from stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The key's name [default: the key's comment, else the file name]
    #[arg(long)]
    pub name: Option<String>,
    /// Remove the key after this long: 90s, 15m, 8h, 2d, 1h30m, or seconds
    #[arg(long, short = 't', value_name = "DUR", value_parser = parse_duration)]
    pub lifetime: Option<Duration>,
    /// Ask for confirmation before every use of the key (the agent needs an
    /// askpass program: SIGNET_ASKPASS or SSH_ASKPASS in its environment)
    #[arg(long, short = 'c')]
    pub confirm: bool,
    /// With --confirm: after a yes, do not ask again for this long when the
    /// same process (same pid, start time and executable) uses the key;
    /// `signet lock` forgets every such approval
    #[arg(long, value_name = "DUR", value_parser = parse_duration, requires = "confirm")]
    pub remember: Option<Duration>,
    /// Read the key's passphrase from the first line of stdin (for scripts)
    #[arg(long)]
    pub passphrase_stdin: bool,
    /// Use a key file that group or others can read (ssh-add refuses it)
    #[arg(long)]
    pub force: bool,
}

/// A span of time on the command line: the grammar every part of signet
/// reads (`signet_proto::duration`), at least one second and at most the
/// protocol's `uint32` seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let secs = signet_proto::duration::parse_secs(s).map_err(|e| e.to_string())?;
    if secs == 0 {
        return Err("a lifetime must be at least one second (omit --lifetime for none)".to_owned());
    }
    if secs > u64::from(u32::MAX) {
        return Err(format!(
            "{:?} is too long: the limit is {} seconds",
            s.trim(),
            u32::MAX
        ));
    }
    Ok(Duration::from_secs(secs))
}

/// `signet remove`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["key", "all"])))]
pub struct RemoveArgs {
    /// The key: name, key id or SHA256 fingerprint
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
    /// Unload every key from the agent (deletes nothing from the keyring)
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Accepted for old scripts and ignored: `remove` never deletes (`signet
    /// delete --yes` does)
    #[arg(long, short = 'y', hide = true)]
    pub yes: bool,
}

/// `signet delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The stored key: name, key id or SHA256 fingerprint
    #[arg(value_name = "KEY")]
    pub key: String,
    /// Delete without asking (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `signet generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The new key's name: letters, digits and . _ - @ + (at most 64)
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The comment at the end of its public key line [default: NAME]
    #[arg(long, value_name = "C")]
    pub comment: Option<String>,
    /// Where the key is made: the agent's key store, or its PKCS#11 token
    /// (`[pkcs11]`: the pair is made on the token, sensitive and never
    /// extractable)
    #[arg(long, value_enum, default_value_t = StoreArg::Keyring)]
    pub store: StoreArg,
}

/// `--store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreArg {
    /// The agent's key store (OS keyring and index)
    #[value(name = "keyring")]
    Keyring,
    /// The agent's PKCS#11 token (`[pkcs11]` in signetd's configuration)
    #[value(name = "pkcs11")]
    Pkcs11,
}

/// `signet import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The private key file; `-` reads it from stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The key's name [default: the key's comment if it is a valid name,
    /// else the file name]
    #[arg(long)]
    pub name: Option<String>,
    /// The comment for its public key line [default: the file's, else NAME]
    #[arg(long, value_name = "C")]
    pub comment: Option<String>,
    /// Read an encrypted key's passphrase from the first line of stdin
    #[arg(long)]
    pub passphrase_stdin: bool,
    /// Delete FILE once the key has been stored and read back from the keyring
    #[arg(long)]
    pub remove_source: bool,
    /// Use a key file that group or others can read (ssh-add refuses it);
    /// with --remove-source, remove the file even though the key store does
    /// not survive a reboot (the kernel keyring)
    #[arg(long)]
    pub force: bool,
    /// Where the key goes: the agent's key store, or its PKCS#11 token
    /// (refused unless --allow-import)
    #[arg(long, value_enum, default_value_t = StoreArg::Keyring)]
    pub store: StoreArg,
    /// With --store pkcs11: write a key that existed outside the token onto
    /// it (migration; weaker than `signet generate --store pkcs11`, whose
    /// key never left the token)
    #[arg(long)]
    pub allow_import: bool,
}

/// A command that takes one stored key.
#[derive(Debug, Args)]
pub struct NameArgs {
    /// The stored key: name, key id or SHA256 fingerprint
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `signet load`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["names", "all"])))]
pub struct LoadArgs {
    /// Stored keys to load
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Load every stored key
    #[arg(long)]
    pub all: bool,
    /// Unload after this long: 90s, 15m, 8h, 2d, seconds, or 0 for never
    /// [default: the key's `lifetime` in the configuration, else
    /// `[agent] default_lifetime`, 8h unless configured]
    #[arg(long, value_name = "DUR", value_parser = parse_load_lifetime)]
    pub lifetime: Option<Duration>,
}

fn parse_load_lifetime(s: &str) -> Result<Duration, String> {
    if matches!(s.trim(), "0" | "none" | "never") {
        return Ok(Duration::ZERO);
    }
    parse_duration(s)
}

/// `signet unload`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["names", "all"])))]
pub struct UnloadArgs {
    /// Stored keys to unload
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Unload every stored key
    #[arg(long)]
    pub all: bool,
}

/// `signet rename`.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The stored key: name, key id or SHA256 fingerprint
    #[arg(value_name = "OLD")]
    pub old: String,
    /// Its new name
    #[arg(value_name = "NEW")]
    pub new: String,
}

/// `signet doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also drop index entries whose secret is gone from the keyring
    #[arg(long)]
    pub fix: bool,
}

/// `signet lock` / `unlock` / `unlock-store` / `passwd`.
#[derive(Debug, Args)]
pub struct PassphraseArgs {
    /// Read the passphrase from the first line of stdin instead of the terminal
    #[arg(long)]
    pub passphrase_stdin: bool,
}

/// `signet unlock-store`.
#[derive(Debug, Args)]
pub struct UnlockStoreArgs {
    /// Read the passphrase from the first line of stdin instead of asking
    /// (for scripts; the first unlock, which chooses the passphrase, then
    /// takes it without asking twice)
    #[arg(long)]
    pub passphrase_stdin: bool,
}

/// `signet passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// Read the current passphrase from the first line of stdin and the new
    /// one from the second, instead of asking (for scripts)
    #[arg(long)]
    pub passphrase_stdin: bool,
}

/// `signet unlock`.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Read the passphrase (with --token: the PIN) from the first line of
    /// stdin instead of the terminal
    #[arg(long)]
    pub passphrase_stdin: bool,
    /// Give the user PIN of the agent's PKCS#11 token (`[pkcs11]` without
    /// pin_file or pin_credential): one try; the agent counts wrong PINs
    /// and stops before the token would lock
    #[arg(long)]
    pub token: bool,
}

/// `--scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemeArg {
    /// `Authorization: <key id>:<signature of the body's SHA-256>`
    #[value(name = "encord-v1")]
    EncordV1,
    /// RFC 9421 `Content-Digest`, `Signature-Input` and `Signature`
    #[value(name = "encord-v2")]
    EncordV2,
}

/// `signet sign-request`.
#[derive(Debug, Args)]
pub struct SignRequestArgs {
    /// The key: name, key id or SHA256 fingerprint [default: $SIGNET_KEY (set
    /// by `signet exec --key`), else the only loaded key]
    #[arg(long, value_name = "KEY", env = "SIGNET_KEY", hide_env = true)]
    pub key: Option<String>,
    /// Instead of a signature, the headers of this stored secret (released
    /// by its rule, audited): an encord-api-key gives `Authorization: <key>`
    /// and `ResourceID: <id>` (v1 /public requests), an encord-bearer
    /// `Authorization: Bearer <token>`; --method and the body are then not
    /// needed
    #[arg(long, value_name = "NAME", conflicts_with_all = ["key", "body", "body_file"])]
    pub secret: Option<String>,
    /// The HTTP method, e.g. GET or POST
    #[arg(long, required_unless_present = "secret")]
    pub method: Option<String>,
    /// The request's full URL, or just its path and query (`/public/user?x=1`)
    #[arg(long)]
    pub url: String,
    /// A file holding the body, hashed as it is read; `-` reads stdin
    #[arg(long, value_name = "FILE", conflicts_with = "body")]
    pub body_file: Option<PathBuf>,
    /// The body as a string [default: empty]
    #[arg(long, value_name = "STRING")]
    pub body: Option<String>,
    /// The signing scheme
    #[arg(long, value_enum, default_value_t = SchemeArg::EncordV2)]
    pub scheme: SchemeArg,
    /// How to print the headers [default: headers, or json with --json].
    /// With curl: `signet sign-request … --format curl | curl -K - URL
    /// --data-binary @body.json` (not --data, which strips newlines: the
    /// body sent must be the body signed)
    #[arg(long, value_enum)]
    pub format: Option<HeaderFormat>,
}

/// `signet sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The key: name, key id or SHA256 fingerprint [default: the only loaded key]
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// The file to sign (at most 256 KiB); `-` reads stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `signet sign-request --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HeaderFormat {
    /// One `Name: value` line per header (`curl -H @-` reads them)
    Headers,
    /// `{"created": N, "headers": [{"name": …, "value": …}]}`
    Json,
    /// A curl config, one `header = "Name: value"` line per header: pipe it
    /// into `curl -K - URL --data-binary @FILE` (or `curl -K <(signet
    /// sign-request …)`), no quoting needed
    Curl,
}

/// `signet install-units`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["user", "system", "launchd"])))]
pub struct InstallUnitsArgs {
    /// systemd user units (signet.socket, signet.service) into
    /// $XDG_CONFIG_HOME/systemd/user
    #[arg(long)]
    pub user: bool,
    /// systemd system units for build machines (signet-system.socket,
    /// signet-system.service) into /etc/systemd/system
    #[arg(long)]
    pub system: bool,
    /// the macOS LaunchAgent com.signet.agent.plist into ~/Library/LaunchAgents
    #[arg(long)]
    pub launchd: bool,
    /// Write into this directory instead
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The signetd binary the units start [default: `signetd` next to this `signet`]
    #[arg(long, value_name = "PATH")]
    pub signetd: Option<PathBuf>,
    /// With --system: the group that owns the socket file (SocketGroup=);
    /// it must be in `[system] allow_groups` of the system configuration
    #[arg(
        long,
        value_name = "NAME",
        default_value = "signet",
        requires = "system"
    )]
    pub group: String,
    /// With --system: the system configuration to read allow_groups and
    /// the `source = "credential"` keys from (one LoadCredentialEncrypted=
    /// line each)
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/signet/signetd.toml",
        requires = "system"
    )]
    pub config: PathBuf,
}

/// `signet exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Check that this key (name, key id or SHA256 fingerprint) is loaded,
    /// and pass it to the job as SIGNET_KEY, and as ENCORD_SSH_KEY=signet:ID where ID is its key id
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Put this stored secret into the job's environment (and nowhere
    /// else): an encord-api-key as ENCORD_API_KEY plus ENCORD_PROJECT_ID or
    /// ENCORD_DATASET_ID (--resource-type) holding its resource; an
    /// encord-bearer as ENCORD_BEARER_TOKEN. CORD_API_KEY, CORD_PROJECT_ID,
    /// CORD_DATASET_ID and whichever of ENCORD_PROJECT_ID/ENCORD_DATASET_ID
    /// is not set are removed
    #[arg(long, value_name = "NAME")]
    pub secret: Option<String>,
    /// With --secret and an encord-api-key: whether its resource is a
    /// project or a dataset
    #[arg(long, value_enum, default_value_t = ResourceType::Project, requires = "secret")]
    pub resource_type: ResourceType,
    /// The command and its arguments (after `--`)
    #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// `signet exec --resource-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResourceType {
    /// ENCORD_PROJECT_ID
    Project,
    /// ENCORD_DATASET_ID
    Dataset,
}

/// `signet secret`.
#[derive(Debug, Args)]
pub struct SecretArgs {
    #[command(subcommand)]
    pub command: SecretCommand,
}

/// The secret subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store an Encord API key or bearer token in the agent's key store,
    /// read from a prompt on the terminal (not echoed) or from stdin with
    /// --stdin; never from the command line
    Add(SecretAddArgs),
    /// List the stored secrets: name, kind, resource, title, rule, expiry
    /// and the fingerprint of the value (never the value)
    List,
    /// Delete a stored secret from the key store
    Remove(SecretNameArgs),
    /// Ask Encord for a bearer token, signed by an agent key (GET
    /// /v2/public/user/bearer-token), and store it as an encord-bearer
    /// secret: for a job that cannot reach the agent later
    MintBearer(MintBearerArgs),
    /// Print the fingerprint of a value read from the terminal or stdin, to
    /// compare with `signet secret list`
    Fingerprint(SecretValueArgs),
}

/// `signet secret add --kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SecretKindArg {
    /// A project's or dataset's API key (Encord SDK up to 0.1.145):
    /// needs --resource
    #[value(name = "encord-api-key")]
    EncordApiKey,
    /// A bearer token (EncordUserClient.create_with_bearer_token)
    #[value(name = "encord-bearer")]
    EncordBearer,
}

/// `signet secret add`.
#[derive(Debug, Args)]
pub struct SecretAddArgs {
    /// The secret's name (1-64 of letters, digits and . _ - @ +)
    #[arg(value_name = "NAME")]
    pub name: String,
    /// What it is
    #[arg(long, value_enum)]
    pub kind: SecretKindArg,
    /// The project or dataset id the API key belongs to
    #[arg(long, value_name = "ID")]
    pub resource: Option<String>,
    /// The API key's scopes, as created (LABEL_READ,LABEL_WRITE,…): shown by
    /// `signet secret list`
    #[arg(long, value_name = "SCOPE,…", value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// A title for people
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Stop releasing it after this long: 8h, 30d, … [default: never, or
    /// `[secrets.NAME] lifetime`]
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub lifetime: Option<Duration>,
    /// Replace a stored secret of this name (its old value is deleted once
    /// the new one is stored)
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub value: SecretValueArgs,
}

/// Where a secret's value comes from: a prompt, or stdin. A value on the
/// command line is refused (`/proc/PID/cmdline` and shell history).
#[derive(Debug, Args)]
pub struct SecretValueArgs {
    /// Read the value from stdin (all of it, one trailing newline removed)
    #[arg(long)]
    pub stdin: bool,
    /// Refused: a secret on the command line is visible to every process
    #[arg(long = "value", hide = true, value_name = "SECRET", num_args = 0..=1)]
    pub value_on_argv: Option<Option<String>>,
    /// Refused, as --value
    #[arg(long = "api-key", hide = true, value_name = "SECRET", num_args = 0..=1)]
    pub api_key_on_argv: Option<Option<String>>,
    /// Refused, as --value
    #[arg(long = "token", hide = true, value_name = "SECRET", num_args = 0..=1)]
    pub token_on_argv: Option<Option<String>>,
    /// Refused, as --value (a secret given as an argument)
    #[arg(hide = true, value_name = "SECRET")]
    pub positional_value: Option<String>,
}

impl SecretValueArgs {
    /// Which refused way of giving the secret was used, if any.
    pub fn on_argv(&self) -> Option<&'static str> {
        if self.value_on_argv.is_some() {
            Some("--value")
        } else if self.api_key_on_argv.is_some() {
            Some("--api-key")
        } else if self.token_on_argv.is_some() {
            Some("--token")
        } else if self.positional_value.is_some() {
            Some("a second argument")
        } else {
            None
        }
    }
}

/// `signet secret remove`.
#[derive(Debug, Args)]
pub struct SecretNameArgs {
    /// The secret's name
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `signet secret mint-bearer`.
#[derive(Debug, Args)]
pub struct MintBearerArgs {
    /// The name to store the token under
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The agent key that signs the request (name, key id or fingerprint)
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Encord's API [default: $ENCORD_DOMAIN, else `https://api.encord.com`]
    #[arg(
        long,
        value_name = "URL",
        env = "ENCORD_DOMAIN",
        hide_env = true,
        default_value = "https://api.encord.com"
    )]
    pub domain: String,
    /// Trust the CA certificates in this PEM file instead of the built-in
    /// roots (a TLS-inspecting proxy, a test stand-in)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Stop releasing the token after this long [default: never]
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub lifetime: Option<Duration>,
    /// A title for people
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Replace a stored secret of this name
    #[arg(long)]
    pub replace: bool,
}

/// `signet audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    /// The log file [default: the log of the agent at the socket, which it
    /// names; with no agent, $XDG_STATE_HOME/signet/audit.log, or
    /// /var/lib/signet/audit.log with --system]
    #[arg(long, global = true, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// The system agent's log: asks the agent at /run/signet/agent.sock
    /// (or --socket), else reads /var/lib/signet/audit.log
    #[arg(long, global = true, conflicts_with = "path")]
    pub system: bool,
}

/// The audit subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the log and its rotated files: the hash chain, every seal's
    /// signature, the end against the latest seal kept elsewhere (the
    /// agent, audit.head) and the rotated files that must exist; names every
    /// problem with its file and line (exit 1) or prints what is intact
    Verify(VerifyArgs),
    /// Show the latest entries
    Tail(TailArgs),
    /// Print the audit public key the agent seals its log with (hex): keep
    /// it somewhere safe to verify copies of the log later (--pubkey)
    Pubkey,
}

/// `signet audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Check the seals with this audit public key (64 hex digits, as
    /// `signet audit pubkey` printed it) [default: the running agent's]
    #[arg(long, value_name = "HEX")]
    pub pubkey: Option<String>,
}

/// `signet audit tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// Keep printing new entries as they are written
    #[arg(short, long)]
    pub follow: bool,
    /// Only entries of this key (name or key id)
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// How many entries to show first
    #[arg(short = 'n', long, default_value_t = 20)]
    pub lines: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("signet").chain(args.iter().copied()))
    }

    #[test]
    fn global_flags_anywhere() -> Result<(), clap::Error> {
        let cli = parse(&["list", "--json", "--socket", "/tmp/s"])?;
        assert!(cli.json);
        assert_eq!(cli.socket, Some(PathBuf::from("/tmp/s")));
        assert!(matches!(cli.command, Command::List(_)));
        Ok(())
    }

    #[test]
    fn add_arguments() -> Result<(), clap::Error> {
        let cli = parse(&[
            "add",
            "-",
            "--lifetime",
            "15m",
            "--confirm",
            "--name",
            "bot",
        ])?;
        let Command::Add(a) = cli.command else {
            panic!("not add");
        };
        assert_eq!(a.file, PathBuf::from("-"));
        assert_eq!(a.lifetime, Some(Duration::from_secs(900)));
        assert!(a.confirm);
        assert_eq!(a.name.as_deref(), Some("bot"));
        assert!(parse(&["add", "k", "--lifetime", "soon"]).is_err());
        Ok(())
    }

    #[test]
    fn remove_needs_key_or_all_not_both() {
        assert!(parse(&["remove"]).is_err());
        assert!(parse(&["remove", "k", "--all"]).is_err());
        assert!(parse(&["remove", "--all"]).is_ok());
        assert!(parse(&["remove", "SHA256:abc"]).is_ok());
    }

    #[test]
    fn sign_request_arguments() -> Result<(), clap::Error> {
        let cli = parse(&[
            "sign-request",
            "--method",
            "POST",
            "--url",
            "https://api.encord.com/public/user",
            "--body",
            "{}",
            "--format",
            "curl",
        ])?;
        let Command::SignRequest(a) = cli.command else {
            panic!("not sign-request");
        };
        assert_eq!(a.scheme, SchemeArg::EncordV2);
        assert_eq!(a.format, Some(HeaderFormat::Curl));
        assert!(parse(&[
            "sign-request",
            "--method",
            "GET",
            "--url",
            "/",
            "--body",
            "x",
            "--body-file",
            "f"
        ])
        .is_err());
        assert!(parse(&[
            "sign-request",
            "--method",
            "GET",
            "--url",
            "/",
            "--scheme",
            "v3"
        ])
        .is_err());
        Ok(())
    }

    #[test]
    fn usage_errors_exit_2() {
        match parse(&["frobnicate"]) {
            Err(e) => assert_eq!(e.exit_code(), 2),
            Ok(_) => panic!("unknown command accepted"),
        }
    }

    #[test]
    fn help_documents_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("3  no agent is running"));
        assert!(help.contains("5  no loaded key matches"));
    }

    #[test]
    fn accepted_forms() {
        let cases = [
            ("90s", 90),
            ("15m", 900),
            ("8h", 28_800),
            ("2d", 172_800),
            ("600", 600),
            ("1h30m", 5400),
            (" 45 ", 45),
        ];
        for (input, secs) in cases {
            assert_eq!(
                parse_duration(input),
                Ok(Duration::from_secs(secs)),
                "{input}"
            );
        }
    }

    #[test]
    fn refused_forms() {
        for input in [
            "",
            "0",
            "0s",
            "m",
            "15x",
            "1.5h",
            "-5",
            "15 m",
            "99999999999d",
            "5000000000",
        ] {
            assert!(
                parse_duration(input).is_err(),
                "{input:?} should be refused"
            );
        }
    }

    #[test]
    fn human_forms() {
        assert_eq!(signet_proto::duration::human(0), "0s");
        assert_eq!(signet_proto::duration::human(42), "42s");
        assert_eq!(signet_proto::duration::human(840), "14m");
        assert_eq!(signet_proto::duration::human(850), "14m 10s");
        assert_eq!(signet_proto::duration::human(7500), "2h 5m");
        assert_eq!(signet_proto::duration::human(86_400 + 61), "1d");
    }
}
