//! `signet exec`: runs a job with the agent's socket in its environment.
//!
//! Checks first that the agent answers (and that `--key` names a loaded key),
//! so a job fails before it starts rather than halfway through. Then replaces
//! this process with the command (`execvp`): its exit status is the job's.
//! The job gets `SIGNET_AUTH_SOCK`, `SIGNET_KEY` (the `--key` argument) and
//! `ENCORD_SSH_KEY=signet:<key id>` (`signet:` without `--key`: the only
//! loaded key), a key *reference* that the `signet_encord` import hook turns
//! into agent signing inside the unmodified Encord SDK and encord-agents. It
//! never gets key material: whatever `ENCORD_SSH_KEY` held is replaced, and
//! `ENCORD_SSH_KEY_FILE` is removed (one variable, so the SDK, which prefers
//! the file, and encord-agents, which prefers the variable, agree).
//!
//! With `--secret NAME` the agent releases that stored secret (its rule
//! decides, and the release is audited) and the job gets it in exactly the
//! variables [`secret_environment`] lists, never on a command line.

use std::path::Path;

use super::Ctx;
use crate::cli::{ExecArgs, ResourceType};
use anyhow::{Context as _, Result};
use signet_client::Client;

/// Environment variables that could carry a raw private key into the job
/// (`ENCORD_SSH_KEY` is then set to a reference).
pub const REMOVED_VARS: [&str; 2] = ["ENCORD_SSH_KEY", "ENCORD_SSH_KEY_FILE"];

/// The variable an encord-bearer secret is passed in (the SDK reads none:
/// `signet_encord.bearer_client()` asks the agent, and a job passes this to
/// `EncordUserClient.create_with_bearer_token(os.environ[...])`).
pub const BEARER_VAR: &str = "ENCORD_BEARER_TOKEN";

/// What `signet exec --secret` does to the job's environment: each
/// variable set (`Some`) or removed (`None`). An encord-api-key sets
/// `ENCORD_API_KEY` and `ENCORD_PROJECT_ID` or `ENCORD_DATASET_ID`, and
/// removes the legacy `CORD_*` names and the other id (the SDK would read
/// them as fallbacks); an encord-bearer sets [`BEARER_VAR`].
pub fn secret_environment(
    r: &signet_client::Released,
    resource_type: ResourceType,
) -> Vec<(&'static str, Option<&str>)> {
    let value = r.value.expose_str();
    match r.info.kind {
        signet_client::SecretKind::EncordApiKey => {
            let (set, unset) = match resource_type {
                ResourceType::Project => ("ENCORD_PROJECT_ID", "ENCORD_DATASET_ID"),
                ResourceType::Dataset => ("ENCORD_DATASET_ID", "ENCORD_PROJECT_ID"),
            };
            vec![
                ("ENCORD_API_KEY", Some(value)),
                (set, Some(r.info.resource.as_str())),
                (unset, None),
                ("CORD_API_KEY", None),
                ("CORD_PROJECT_ID", None),
                ("CORD_DATASET_ID", None),
            ]
        }
        signet_client::SecretKind::EncordBearer => vec![(BEARER_VAR, Some(value))],
    }
}

/// The key reference the job's Encord SDK gets in `ENCORD_SSH_KEY`.
pub fn encord_key_reference(key_id: Option<&str>) -> String {
    format!("signet:{}", key_id.unwrap_or_default())
}

/// Runs `signet exec`; returns only on error.
pub fn exec(ctx: &Ctx, a: ExecArgs) -> Result<()> {
    use std::os::unix::process::CommandExt as _;
    let socket = ctx.socket()?;
    let socket = std::path::absolute(&socket)
        .with_context(|| format!("cannot resolve the socket path {}", socket.display()))?;
    let mut client = Client::connect_to(&socket)
        .map_err(|e| super::agent::explain_not_running(ctx, &socket, e))?;
    client.version()?;
    let key_id = match &a.key {
        Some(key) => Some(client.resolve(key)?.key_id()),
        None => None,
    };
    let released = match &a.secret {
        Some(name) => Some(super::secret::release(&mut client, name)?),
        None => None,
    };
    drop(client);
    let (program, args) = a
        .command
        .split_first()
        .context("no command given: signet exec [--key KEY] -- CMD ARGS…")?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).env("SIGNET_AUTH_SOCK", &socket);
    match &a.key {
        Some(k) => cmd.env("SIGNET_KEY", k),
        None => cmd.env_remove("SIGNET_KEY"),
    };
    for var in REMOVED_VARS {
        cmd.env_remove(var);
    }
    cmd.env("ENCORD_SSH_KEY", encord_key_reference(key_id.as_deref()));
    if let Some(r) = &released {
        for (var, value) in secret_environment(r, a.resource_type) {
            match value {
                Some(v) => cmd.env(var, v),
                None => cmd.env_remove(var),
            };
        }
    }
    drop(released);
    let err = cmd.exec();
    // Shell conventions: 127 not found, 126 found but not runnable.
    let code = if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    eprintln!("signet: cannot run {}: {err}", Path::new(program).display());
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_reference() {
        let id = "ab".repeat(32);
        assert_eq!(encord_key_reference(Some(&id)), format!("signet:{id}"));
        assert_eq!(encord_key_reference(None), "signet:");
    }
}
