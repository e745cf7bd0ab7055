//! How results are printed: signed headers as lines, JSON or curl arguments;
//! the key list; the status report; shell export lines.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use signet_client::{Header, KeyInfo, Status};
use signet_proto::text::escape;

use signet_proto::duration;

use crate::cli::HeaderFormat;

#[derive(Serialize)]
struct HeaderJson<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct SignedJson<'a> {
    created: u64,
    headers: Vec<HeaderJson<'a>>,
}

/// Formats signed headers; the result ends with a newline.
pub fn headers(
    created: u64,
    headers: &[Header],
    format: HeaderFormat,
) -> serde_json::Result<String> {
    Ok(match format {
        HeaderFormat::Headers => headers
            .iter()
            .map(|h| format!("{}: {}\n", h.name, h.value))
            .collect(),
        HeaderFormat::Json => {
            let doc = SignedJson {
                created,
                headers: headers
                    .iter()
                    .map(|h| HeaderJson {
                        name: &h.name,
                        value: &h.value,
                    })
                    .collect(),
            };
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        HeaderFormat::Curl => headers
            .iter()
            .map(|h| {
                format!(
                    "header = {}\n",
                    curl_quote(&format!("{}: {}", h.name, h.value))
                )
            })
            .collect(),
    })
}

/// A value for a curl config file (`curl -K`): in double quotes, with `\`
/// and `"` escaped and control characters written as curl's escapes, so
/// that curl reads back exactly `s` (no shell is involved).
pub fn curl_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0b' => out.push_str("\\v"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Quotes `s` for a POSIX shell: bare when it is plainly safe, else in
/// single quotes with each `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,@%=".contains(&b));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Which shell `signet start` and `signet env` write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    /// sh, bash, zsh.
    Posix,
    /// fish.
    Fish,
    /// csh, tcsh.
    Csh,
}

impl Shell {
    /// The shell `$SHELL` names, as `ssh-agent` decides: a name ending in
    /// `csh` is csh, `fish` is fish, anything else (or nothing) POSIX.
    pub fn from_env(shell: Option<&std::ffi::OsStr>) -> Self {
        let name = shell
            .map(Path::new)
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with("csh") {
            Shell::Csh
        } else if name == "fish" {
            Shell::Fish
        } else {
            Shell::Posix
        }
    }
}

/// `SIGNET_AUTH_SOCK=PATH; export SIGNET_AUTH_SOCK;`, as `ssh-agent -s` prints.
pub fn env_line(socket: &Path, shell: Shell) -> String {
    env_var_line("SIGNET_AUTH_SOCK", socket, shell)
}

/// [`env_line`], and with `ssh` the same for `SSH_AUTH_SOCK` (`signet env
/// --ssh`).
pub fn env_lines(socket: &Path, shell: Shell, ssh: bool) -> String {
    let mut out = env_line(socket, shell);
    if ssh {
        out.push_str(&env_var_line("SSH_AUTH_SOCK", socket, shell));
    }
    out
}

fn env_var_line(var: &str, socket: &Path, shell: Shell) -> String {
    let p = shell_quote(&socket.to_string_lossy());
    match shell {
        Shell::Posix => format!("{var}={p}; export {var};\n"),
        Shell::Fish => fish_line(var, socket),
        Shell::Csh => format!("setenv {var} {p};\n"),
    }
}

/// `signet start`'s line: `export SIGNET_AUTH_SOCK=PATH;` for POSIX shells,
/// else the shell's own form, as [`env_line`].
pub fn start_line(socket: &Path, shell: Shell) -> String {
    start_var_line("SIGNET_AUTH_SOCK", socket, shell)
}

/// [`start_line`], and with `ssh` the same for `SSH_AUTH_SOCK` (`signet
/// start --ssh`).
pub fn start_lines(socket: &Path, shell: Shell, ssh: bool) -> String {
    let mut out = start_line(socket, shell);
    if ssh {
        out.push_str(&start_var_line("SSH_AUTH_SOCK", socket, shell));
    }
    out
}

fn start_var_line(var: &str, socket: &Path, shell: Shell) -> String {
    match shell {
        Shell::Posix => format!("export {var}={};\n", shell_quote(&socket.to_string_lossy())),
        other => env_var_line(var, socket, other),
    }
}

/// fish quotes like POSIX shells but also treats `\` inside single quotes.
fn fish_line(var: &str, socket: &Path) -> String {
    let raw = socket.to_string_lossy();
    let safe = !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,@%=".contains(&b));
    let p = if safe {
        raw.into_owned()
    } else {
        format!("'{}'", raw.replace('\\', "\\\\").replace('\'', "\\'"))
    };
    format!("set -gx {var} {p};\n")
}

/// One loaded key as `signet list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRow {
    /// Name (comment).
    pub name: String,
    /// Encord key id (hex of the raw public key).
    pub key_id: String,
    /// `SHA256:` fingerprint.
    pub fingerprint: String,
    /// Seconds until removal, `null` for no lifetime.
    pub expires_in_secs: Option<u64>,
    /// Whether each use is confirmed.
    pub confirm: bool,
    /// Where the key came from.
    pub source: String,
    /// The `ssh-ed25519 AAAA… name` public key line.
    pub public_key: String,
    /// Whether the key is stored in the OS keyring (false: added for this
    /// session only, with `ssh-add` or `signet add`).
    pub stored: bool,
    /// Whether it is loaded in the agent.
    pub loaded: bool,
    /// The key store holding it (stored keys only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// When it was stored (stored keys only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Index state when not `active` (an interrupted operation: run `signet doctor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The key's policy in one line, when it has one (loaded keys only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The key's OpenSSH certificates in the agent, when it has some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertRow>,
    /// Whether the key itself is an SSH identity (false: only its
    /// certificates were added). Shown only when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub certificate_only: bool,
}

/// One OpenSSH certificate of a loaded key, as `signet list` shows it.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct CertRow {
    /// Its comment (name) as added.
    pub name: String,
    /// `SHA256:` fingerprint of the certificate.
    pub fingerprint: String,
    /// `user` or `host`.
    #[serde(rename = "type")]
    pub cert_type: &'static str,
    /// The key id (`ssh-keygen -I`).
    pub key_id: String,
    /// Principals (`ssh-keygen -n`); empty: any.
    pub principals: Vec<String>,
    /// Valid from (RFC 3339 UTC); `null`: always.
    pub valid_after: Option<String>,
    /// Valid until (RFC 3339 UTC); `null`: forever.
    pub valid_before: Option<String>,
    /// The `SHA256:` fingerprint of the certificate authority.
    pub ca_fingerprint: String,
    /// Seconds until the agent removes it, `null` for never.
    pub expires_in_secs: Option<u64>,
    /// Whether each use is confirmed.
    pub confirm: bool,
}

impl From<&signet_client::CertificateInfo> for CertRow {
    fn from(c: &signet_client::CertificateInfo) -> Self {
        Self {
            name: c.name.clone(),
            fingerprint: signet_proto::key::fingerprint(&c.blob),
            cert_type: if c.host { "host" } else { "user" },
            key_id: c.key_id.clone(),
            principals: c.principals.clone(),
            valid_after: (c.valid_after != 0).then(|| duration::rfc3339(c.valid_after)),
            valid_before: (c.valid_before != u64::MAX).then(|| duration::rfc3339(c.valid_before)),
            ca_fingerprint: c.ca_fingerprint.clone(),
            expires_in_secs: c.expires_in,
            confirm: c.confirm,
        }
    }
}

impl CertRow {
    /// One line: `certificate of NAME: user, key id "…", principals …,
    /// valid … to …, CA SHA256:…` (everything the certificate's issuer or
    /// the client chose is escaped).
    fn line(&self, key: &str) -> String {
        let principals = if self.principals.is_empty() {
            "any principal".to_owned()
        } else {
            let ps: Vec<String> = self.principals.iter().map(|p| escape(p)).collect();
            format!("principals {}", ps.join(","))
        };
        let mut line = format!(
            "certificate of {}: {} {}, {} certificate, key id \"{}\", {principals}, valid {} to {}, CA {}",
            escape(key),
            escape(&self.name),
            self.fingerprint,
            self.cert_type,
            escape(&self.key_id),
            self.valid_after.as_deref().unwrap_or("always"),
            self.valid_before.as_deref().unwrap_or("forever"),
            self.ca_fingerprint,
        );
        if let Some(secs) = self.expires_in_secs {
            let _ = write!(line, ", removed in {}", duration::human(secs));
        }
        if self.confirm {
            line.push_str(", confirm");
        }
        line
    }
}

impl KeyRow {
    /// A row for a stored key (loaded or not).
    pub fn from_stored(k: &signet_client::StoredKey) -> Self {
        let blob = signet_proto::key::ed25519_blob(&k.public);
        Self {
            name: k.name.clone(),
            key_id: signet_proto::key::key_id(&k.public),
            fingerprint: signet_proto::key::fingerprint(&blob),
            expires_in_secs: k.expires_in,
            confirm: false,
            source: k.store.clone(),
            public_key: signet_proto::key::openssh_line(&k.public, &k.comment),
            stored: true,
            loaded: k.loaded,
            store: Some(k.store.clone()),
            created_at: Some(k.created_at.clone()),
            state: (k.state != "active").then(|| k.state.clone()),
            policy: None,
            certificates: Vec::new(),
            certificate_only: false,
        }
    }
}

impl From<&KeyInfo> for KeyRow {
    fn from(k: &KeyInfo) -> Self {
        Self {
            name: k.name.clone(),
            key_id: k.key_id(),
            fingerprint: k.fingerprint(),
            expires_in_secs: k.expires_in.map(|d| d.as_secs()),
            confirm: k.confirm,
            source: k.source.clone(),
            public_key: k.openssh_line(),
            stored: false,
            loaded: true,
            store: None,
            created_at: None,
            state: None,
            policy: k.policy.clone(),
            certificates: k.certificates.iter().map(CertRow::from).collect(),
            certificate_only: !k.listed,
        }
    }
}

/// "expires in 14m" or "no lifetime".
pub fn expiry(expires_in_secs: Option<u64>) -> String {
    match expires_in_secs {
        Some(s) => format!("expires in {}", duration::human(s)),
        None => "no lifetime".to_owned(),
    }
}

/// The human key list: a header and one aligned line per key, or `no keys
/// loaded`. `width`: the terminal's columns (`None`: no limit, every
/// column in full, as `--wide`). A table wider than the terminal drops the
/// key id and the confirm column (folded into EXPIRES), then shortens
/// fingerprints and names with `…`, and says how to see everything.
pub fn key_table(rows: &[KeyRow], width: Option<usize>) -> String {
    if rows.is_empty() {
        return "no keys loaded\n".to_owned();
    }
    let state = |r: &KeyRow| match (&r.state, r.loaded) {
        (Some(state), _) => format!("{}: run `signet doctor`", escape(state)),
        (None, false) => "not loaded".to_owned(),
        (None, true) => expiry(r.expires_in_secs),
    };
    let wide: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                escape(&r.name),
                r.fingerprint.clone(),
                state(r),
                if r.confirm { "yes" } else { "no" }.to_owned(),
                escape(&r.source),
                r.key_id.clone(),
            ]
        })
        .collect();
    let wide_header = [
        "NAME",
        "FINGERPRINT",
        "EXPIRES",
        "CONFIRM",
        "SOURCE",
        "KEY ID",
    ];
    let mut out = match width {
        Some(w) if table_width(&wide_header, &wide) > w => narrow_table(rows, &state, w),
        _ => table(&wide_header, &wide),
    };
    // Each key's policy on its own line under the table, one line per key,
    // so the table keeps its columns.
    for r in rows {
        if let Some(p) = &r.policy {
            let _ = writeln!(out, "policy of {}: {}", escape(&r.name), escape(p));
        }
    }
    // Certificates likewise, one line each.
    for r in rows {
        if r.certificate_only {
            let _ = writeln!(
                out,
                "{} is loaded only with its certificates (the key alone is no SSH identity)",
                escape(&r.name)
            );
        }
        for c in &r.certificates {
            let _ = writeln!(out, "{}", c.line(&r.name));
        }
    }
    out
}

/// The table for a terminal `width` columns wide: NAME, EXPIRES (with
/// ", confirm"), SOURCE, FINGERPRINT, shortened to fit.
fn narrow_table(rows: &[KeyRow], state: &dyn Fn(&KeyRow) -> String, width: usize) -> String {
    let header = ["NAME", "EXPIRES", "SOURCE", "FINGERPRINT"];
    let mut cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            // Compact: "14m" rather than "expires in 14m".
            let mut st = match (&r.state, r.loaded, r.expires_in_secs) {
                (None, true, Some(secs)) => duration::human(secs),
                _ => state(r),
            };
            if r.confirm {
                st.push_str(", confirm");
            }
            vec![
                escape(&r.name),
                st,
                escape(&r.source),
                r.fingerprint.clone(),
            ]
        })
        .collect();
    // Fingerprints first (their start identifies them), then names, never
    // below a readable minimum.
    for (col, min) in [(3usize, 16usize), (0, 12)] {
        let over = table_width(&header, &cells).saturating_sub(width);
        if over == 0 {
            break;
        }
        let longest = cells
            .iter()
            .map(|c| c[col].chars().count())
            .max()
            .unwrap_or(0);
        let keep = longest.saturating_sub(over).max(min);
        for c in &mut cells {
            c[col] = shorten(&c[col], keep);
        }
    }
    let mut out = table(&header, &cells);
    out.push_str(
        "(narrowed to the terminal: `signet list --wide` shows key ids and whole fingerprints)\n",
    );
    out
}

/// `s` cut to `max` characters, the last one `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn column_widths(header: &[&str], rows: &[Vec<String>]) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for l in rows {
        for (w, cell) in widths.iter_mut().zip(l) {
            *w = (*w).max(cell.chars().count());
        }
    }
    widths
}

/// The width of the widest line of [`table`].
fn table_width(header: &[&str], rows: &[Vec<String>]) -> usize {
    let widths = column_widths(header, rows);
    widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1)
}

/// Aligned columns, two spaces apart, the last one not padded.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let widths = column_widths(header, rows);
    let mut out = String::new();
    let mut row = |cells: &[&str]| {
        let last = cells.len() - 1;
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                let pad = w.saturating_sub(cell.chars().count());
                let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push('\n');
    };
    row(header);
    for l in rows {
        let cells: Vec<&str> = l.iter().map(String::as_str).collect();
        row(&cells);
    }
    out
}

/// The terminal's width if stdout is one, else `$COLUMNS` if set, else
/// `None` (no limit: a pipe gets every column).
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal as _;
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        if let Ok(ws) = rustix::termios::tcgetwinsize(&stdout) {
            if ws.ws_col > 0 {
                return Some(usize::from(ws.ws_col));
            }
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &usize| c > 0)
}

/// `signet explain`: the decision, then the key's policy.
pub fn explanation(reply: &signet_client::ExplainReply) -> String {
    let verdict = if reply.allowed { "allowed" } else { "refused" };
    let policy = if reply.summary.is_empty() {
        "none (the key is unrestricted)"
    } else {
        reply.summary.as_str()
    };
    format!(
        "{verdict}: {}\npolicy: {policy}\n(rate limits are not checked by a dry run)\n",
        reply.reason
    )
}

/// `signet status --json`.
#[derive(Debug, Serialize)]
pub struct StatusJson<'a> {
    /// Always true here (not running exits with code 3).
    pub running: bool,
    /// The agent's release.
    pub agent_version: &'a str,
    /// Its protocol version.
    pub protocol: u32,
    /// Its pid.
    pub pid: u32,
    /// Its socket.
    pub socket: &'a str,
    /// Whether it is locked.
    pub locked: bool,
    /// Loaded keys; `null` while locked (the agent hides them).
    pub keys: Option<u32>,
    /// Seconds since it started.
    pub uptime_secs: u64,
}

impl<'a> From<&'a Status> for StatusJson<'a> {
    fn from(s: &'a Status) -> Self {
        Self {
            running: true,
            agent_version: &s.agent_version,
            protocol: s.protocol,
            pid: s.pid,
            socket: &s.socket,
            locked: s.locked,
            keys: (!s.locked).then_some(s.keys),
            uptime_secs: s.uptime_secs,
        }
    }
}

/// The human status report.
pub fn status_text(s: &Status) -> String {
    format!(
        "signetd {} (protocol {})\n\
         pid:     {}\n\
         socket:  {}\n\
         locked:  {}\n\
         keys:    {}\n\
         uptime:  {}\n",
        s.agent_version,
        s.protocol,
        s.pid,
        s.socket,
        if s.locked {
            "yes: nothing is signed until `signet unlock`"
        } else {
            "no"
        },
        if s.locked {
            "hidden while locked".to_owned()
        } else {
            s.keys.to_string()
        },
        duration::human(s.uptime_secs),
    )
}

/// `signet status`'s audit lines: where the log is, whether signing stops
/// when it cannot be written, and whether it is sealed.
pub fn audit_status_text(a: &signet_client::AuditInfo) -> String {
    if !a.enabled {
        return format!("audit:   NOT WRITTEN: {}\n", a.problem);
    }
    let required = if a.required {
        "required: signing stops while it cannot be written"
    } else {
        "not required: signing goes on when it cannot be written ([audit] required = true to stop it)"
    };
    let mut s = format!(
        "audit:   {} ({required}; durability {})\n",
        a.path, a.durability
    );
    match a.public_key {
        Some(k) => s.push_str(&format!(
            "         sealed by audit key {} (`signet audit pubkey`)\n",
            hex::encode(k)
        )),
        None => s.push_str("         NOT SEALED: the agent has no audit key (see its log)\n"),
    }
    if !a.writing {
        s.push_str(&format!(
            "         CANNOT BE WRITTEN: {} ({} records waiting in memory)\n",
            a.problem, a.pending
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Header> {
        vec![
            Header {
                name: "Content-Digest".into(),
                value: "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:".into(),
            },
            Header {
                name: "Signature-Input".into(),
                value: "encord-sig=(\"@method\");created=1;keyid=\"ab\";alg=\"ed25519\"".into(),
            },
            Header {
                name: "X-Quote".into(),
                value: "it's".into(),
            },
        ]
    }

    #[test]
    fn header_lines() -> serde_json::Result<()> {
        let out = headers(1, &sample(), HeaderFormat::Headers)?;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            "Content-Digest: sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
        Ok(())
    }

    #[test]
    fn header_json() -> serde_json::Result<()> {
        let out = headers(1_700_000_000, &sample(), HeaderFormat::Json)?;
        let v: serde_json::Value = serde_json::from_str(&out)?;
        assert_eq!(v["created"], 1_700_000_000);
        assert_eq!(v["headers"][1]["name"], "Signature-Input");
        assert_eq!(v["headers"][2]["value"], "it's");
        Ok(())
    }

    #[test]
    fn header_curl_is_a_curl_config() -> serde_json::Result<()> {
        let out = headers(1, &sample(), HeaderFormat::Curl)?;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                r#"header = "Content-Digest: sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:""#,
                r#"header = "Signature-Input: encord-sig=(\"@method\");created=1;keyid=\"ab\";alg=\"ed25519\"""#,
                r#"header = "X-Quote: it's""#,
            ]
        );
        assert_eq!(curl_quote("a\\b\n"), r#""a\\b\n""#);
        Ok(())
    }

    #[test]
    fn quoting() {
        assert_eq!(
            shell_quote("/run/user/1000/signet/agent.sock"),
            "/run/user/1000/signet/agent.sock"
        );
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$(x)"), "'$(x)'");
    }

    #[test]
    fn ssh_auth_sock_too_with_ssh() {
        let p = Path::new("/tmp/a b");
        assert_eq!(
            start_lines(p, Shell::Posix, true),
            "export SIGNET_AUTH_SOCK='/tmp/a b';\nexport SSH_AUTH_SOCK='/tmp/a b';\n"
        );
        assert_eq!(
            super::env_lines(p, Shell::Csh, true),
            "setenv SIGNET_AUTH_SOCK '/tmp/a b';\nsetenv SSH_AUTH_SOCK '/tmp/a b';\n"
        );
        assert_eq!(
            super::env_lines(p, Shell::Fish, true),
            "set -gx SIGNET_AUTH_SOCK '/tmp/a b';\nset -gx SSH_AUTH_SOCK '/tmp/a b';\n"
        );
        assert_eq!(
            super::env_lines(p, Shell::Posix, false),
            env_line(p, Shell::Posix)
        );
    }

    #[test]
    fn env_lines() {
        let p = Path::new("/tmp/s.sock");
        assert_eq!(
            env_line(p, Shell::Posix),
            "SIGNET_AUTH_SOCK=/tmp/s.sock; export SIGNET_AUTH_SOCK;\n"
        );
        assert_eq!(
            env_line(p, Shell::Fish),
            "set -gx SIGNET_AUTH_SOCK /tmp/s.sock;\n"
        );
        assert_eq!(
            env_line(Path::new("/tmp/a b'c"), Shell::Fish),
            "set -gx SIGNET_AUTH_SOCK '/tmp/a b\\'c';\n"
        );
        assert_eq!(
            start_line(p, Shell::Posix),
            "export SIGNET_AUTH_SOCK=/tmp/s.sock;\n"
        );
        assert_eq!(
            start_line(p, Shell::Csh),
            "setenv SIGNET_AUTH_SOCK /tmp/s.sock;\n"
        );
        assert_eq!(
            env_line(p, Shell::Csh),
            "setenv SIGNET_AUTH_SOCK /tmp/s.sock;\n"
        );
    }

    #[test]
    fn shell_from_env_as_ssh_agent() {
        use std::ffi::OsStr;
        assert_eq!(Shell::from_env(None), Shell::Posix);
        assert_eq!(Shell::from_env(Some(OsStr::new("/bin/bash"))), Shell::Posix);
        assert_eq!(
            Shell::from_env(Some(OsStr::new("/usr/bin/fish"))),
            Shell::Fish
        );
        assert_eq!(Shell::from_env(Some(OsStr::new("/bin/tcsh"))), Shell::Csh);
        assert_eq!(Shell::from_env(Some(OsStr::new("csh"))), Shell::Csh);
    }

    #[test]
    fn the_table_fits_the_terminal() {
        let row = |name: &str| KeyRow {
            name: name.into(),
            key_id: "ab".repeat(32),
            fingerprint: "SHA256:ZmluZ2VycHJpbnQtb2YtYS1rZXktdGhhdC1pcy1sb25nLi4u".into(),
            expires_in_secs: Some(840),
            confirm: true,
            source: "keyring".into(),
            public_key: String::new(),
            stored: true,
            loaded: true,
            store: None,
            created_at: None,
            state: None,
            policy: None,
            certificates: Vec::new(),
            certificate_only: false,
        };
        let rows = [row("ci-bot"), row("a-much-longer-key-name-than-usual")];
        let wide = key_table(&rows, None);
        assert!(wide.lines().next().unwrap_or_default().contains("KEY ID"));
        assert!(wide.lines().any(|l| l.len() > 160), "{wide}");
        for cols in [80, 60] {
            let t = key_table(&rows, Some(cols));
            for l in t.lines().filter(|l| !l.starts_with('(')) {
                assert!(l.chars().count() <= cols, "{cols}: {l:?}\n{t}");
            }
            assert!(t.contains("14m, confirm"), "{t}");
            assert!(t.contains("signet list --wide"), "{t}");
            assert!(t.contains("SHA256:"), "{t}");
        }
        // A terminal wide enough gets every column.
        assert_eq!(key_table(&rows, Some(400)), wide);
    }

    #[test]
    fn key_list() -> serde_json::Result<()> {
        assert_eq!(key_table(&[], None), "no keys loaded\n");
        let row = KeyRow {
            name: "ci-bot".into(),
            key_id: "ab".repeat(32),
            fingerprint: "SHA256:xyz".into(),
            expires_in_secs: Some(840),
            confirm: false,
            source: "agent".into(),
            public_key: "ssh-ed25519 AAAA ci-bot".into(),
            stored: false,
            loaded: true,
            store: None,
            created_at: None,
            state: None,
            policy: None,
            certificates: Vec::new(),
            certificate_only: false,
        };
        let mut second = row.clone();
        second.policy = Some("read-only: schemes encord-v2; methods GET".into());
        second.name = "other".into();
        second.expires_in_secs = None;
        let table = key_table(&[row.clone(), second], None);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("NAME    FINGERPRINT  EXPIRES"));
        assert!(lines[1].contains("expires in 14m"));
        assert!(lines[2].contains("no lifetime"));
        assert_eq!(
            lines.get(3).copied(),
            Some("policy of other: read-only: schemes encord-v2; methods GET")
        );
        assert_eq!(lines.len(), 4);
        let v = serde_json::to_value(&row)?;
        assert_eq!(v["expires_in_secs"], 840);
        assert_eq!(v["key_id"], "ab".repeat(32));
        assert!(v.get("certificates").is_none(), "{v}");
        Ok(())
    }

    #[test]
    fn certificates_are_listed_under_the_table_with_principals_and_validity(
    ) -> serde_json::Result<()> {
        let cert = signet_client::CertificateInfo {
            blob: vec![1, 2, 3],
            name: "id_ed25519".into(),
            key_id: "alice@corp\n".into(),
            host: false,
            principals: vec!["alice".into(), "deploy".into()],
            valid_after: 1_795_468_257,
            valid_before: u64::MAX,
            ca_fingerprint: "SHA256:ca".into(),
            expires_in: Some(60),
            confirm: true,
        };
        let row = KeyRow {
            name: "id_ed25519".into(),
            key_id: "ab".repeat(32),
            fingerprint: "SHA256:xyz".into(),
            expires_in_secs: None,
            confirm: false,
            source: "agent".into(),
            public_key: String::new(),
            stored: false,
            loaded: true,
            store: None,
            created_at: None,
            state: None,
            policy: None,
            certificates: vec![CertRow::from(&cert)],
            certificate_only: true,
        };
        let table = key_table(std::slice::from_ref(&row), None);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[2],
            "id_ed25519 is loaded only with its certificates (the key alone is no SSH identity)"
        );
        assert_eq!(
            lines[3],
            format!(
                "certificate of id_ed25519: id_ed25519 {}, user certificate, key id \"alice@corp\\n\", \
                 principals alice,deploy, valid 2026-11-23T21:10:57Z to forever, CA SHA256:ca, \
                 removed in 1m, confirm",
                signet_proto::key::fingerprint(&[1, 2, 3])
            )
        );
        let v = serde_json::to_value(&row)?;
        assert_eq!(v["certificates"][0]["principals"][1], "deploy");
        assert_eq!(v["certificates"][0]["type"], "user");
        assert_eq!(
            v["certificates"][0]["valid_before"],
            serde_json::Value::Null
        );
        assert_eq!(v["certificate_only"], true);
        Ok(())
    }
}
