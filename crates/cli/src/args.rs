//! The command line, as clap types.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::output::HeaderFormat;

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

/// The exit status table, shown by `signet --help` (and copied to the README).
pub const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  error: the agent refused, bad input, or an I/O error
  2  usage error: unknown command or bad arguments
  3  no agent is running at the socket (start one with `signet start`);
     `signet list` still prints the stored keys from the index first
  4  the agent is locked (`signet unlock`)
  5  no loaded key matches the KEY argument, or several do

KEY arguments name a loaded key by its name (comment), its key id (64 hex \
digits: the raw public key) or its `SHA256:` fingerprint.";

/// Talk to signetd, the local Ed25519 credential agent.
#[derive(Debug, Parser)]
#[command(
    name = "signet",
    version,
    long_about = LONG_ABOUT,
    after_long_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    /// The agent's socket [default: $SIGNET_AUTH_SOCK, else
    /// $XDG_RUNTIME_DIR/signet/agent.sock, else $TMPDIR/signet-UID/agent.sock]
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Print data as JSON (status, list, sign, sign-request)
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start signetd in the background unless one already answers; prints
    /// `export SIGNET_AUTH_SOCK=PATH;` for `eval "$(signet start)"`
    Start,
    /// Print the shell line that points SIGNET_AUTH_SOCK at the agent
    Env(EnvArgs),
    /// Ask the agent to stop, and wait until it has
    Stop,
    /// Show the agent's version, pid, socket, lock state, key count and uptime
    Status,
    /// Add an OpenSSH Ed25519 private key file to the agent
    Add(AddArgs),
    /// List stored and loaded keys: each stored key, whether it is loaded
    /// and its expiry, plus keys added for this session only (prints "no
    /// keys loaded" and exits 0 when there are none; exits 4 when the agent
    /// is locked). With no agent running it still shows the stored keys,
    /// read from the index file (keys.toml), marked "not loaded (agent not
    /// running)", and exits 3
    List,
    /// Delete a stored key from the OS keyring and the index (asks on a
    /// terminal; --yes otherwise), or remove a session-only key from the
    /// agent; --all unloads every key from the agent (stored keys stay stored)
    Remove(RemoveArgs),
    /// Make a new Ed25519 key inside the agent and store it in the OS
    /// keyring (it never touches disk); prints its public key line
    Generate(GenerateArgs),
    /// Store an Ed25519 private key file in the OS keyring: OpenSSH
    /// (encrypted or not), PKCS#8 PEM, or the private key .txt Encord's web
    /// app downloads; `-` reads stdin
    Import(ImportArgs),
    /// Show what to paste into Encord to register a stored key, and where
    Register(NameArgs),
    /// Print a stored key's `ssh-ed25519 AAAA… comment` line
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
    /// Lock the agent with a passphrase: it signs nothing until unlocked
    Lock(PassphraseArgs),
    /// Unlock the agent
    Unlock(PassphraseArgs),
    /// Sign an Encord HTTP request and print the headers to add to it
    SignRequest(SignRequestArgs),
    /// Sign a file's bytes with a loaded key; prints the 64-byte Ed25519
    /// signature in base64
    Sign(SignArgs),
    /// Write the systemd units (--user, --system) or the launchd agent
    /// (--launchd) with this installation's signetd, and print the commands
    /// that enable them
    InstallUnits(crate::units::InstallUnitsArgs),
    /// Run a command (a CI job) with SIGNET_AUTH_SOCK set, after checking
    /// that the agent answers and --key is loaded; ENCORD_SSH_KEY becomes
    /// the reference `signet:<key id>` (the Encord SDK then signs through
    /// the agent), ENCORD_SSH_KEY_FILE is removed; exits with the command's
    /// status
    Exec(crate::exec::ExecArgs),
    /// Say which policy rule would allow or refuse a request, without
    /// signing (exits 0 when it would be signed, 1 when refused)
    Explain(ExplainArgs),
    /// Check (`verify`) or show (`tail`) the agent's hash-chained audit log
    Audit(crate::audit_cmds::AuditArgs),
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
    /// Evaluate as this uid (only root may name another uid than its own)
    #[arg(long, value_name = "UID")]
    pub as_uid: Option<u32>,
    /// Evaluate as this executable path [default: this process's]
    #[arg(long, value_name = "PATH")]
    pub as_exe: Option<String>,
    /// Evaluate as running in this systemd unit [default: this process's]
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

/// `signet env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print for fish
    #[arg(long, conflicts_with = "csh")]
    pub fish: bool,
    /// Print for csh/tcsh
    #[arg(long)]
    pub csh: bool,
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
    /// Remove the key after this long: 90s, 15m, 8h, 2d, or seconds
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub lifetime: Option<Duration>,
    /// Ask for confirmation before every use of the key
    #[arg(long)]
    pub confirm: bool,
    /// Read the key's passphrase from the first line of stdin (for scripts)
    #[arg(long)]
    pub passphrase_stdin: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::duration::parse(s)
}

/// `signet remove`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["key", "all"])))]
pub struct RemoveArgs {
    /// The key: name, key id or SHA256 fingerprint
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
    /// Unload every key from the agent (deletes nothing from the keyring)
    #[arg(long)]
    pub all: bool,
    /// Delete a stored key without asking (required when stdin is not a terminal)
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
    crate::duration::parse(s)
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

/// `signet lock` / `signet unlock`.
#[derive(Debug, Args)]
pub struct PassphraseArgs {
    /// Read the passphrase from the first line of stdin instead of the terminal
    #[arg(long)]
    pub passphrase_stdin: bool,
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

impl From<SchemeArg> for signet_client::Scheme {
    fn from(s: SchemeArg) -> Self {
        match s {
            SchemeArg::EncordV1 => signet_client::Scheme::EncordV1,
            SchemeArg::EncordV2 => signet_client::Scheme::EncordV2,
        }
    }
}

/// `signet sign-request`.
#[derive(Debug, Args)]
pub struct SignRequestArgs {
    /// The key: name, key id or SHA256 fingerprint [default: $SIGNET_KEY (set
    /// by `signet exec --key`), else the only loaded key]
    #[arg(long, value_name = "KEY", env = "SIGNET_KEY", hide_env = true)]
    pub key: Option<String>,
    /// The HTTP method, e.g. GET or POST
    #[arg(long)]
    pub method: String,
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
    /// How to print the headers [default: headers, or json with --json]
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
        assert!(matches!(cli.command, Command::List));
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
}
