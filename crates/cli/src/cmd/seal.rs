//! The sealed key store: `unlock-store`, `lock-store`, `passwd`, and the
//! unlock that `load`, `generate` and `import` offer when the agent says
//! the store is locked.
//!
//! Design decision: **one verb, `signet unlock-store`**, separate from
//! `signet unlock`. The two locks are different things: `signet lock`
//! hides the loaded keys behind a passphrase the user picks for the
//! moment (as `ssh-add -x`), while the key store's passphrase protects the
//! keys at rest and is the same every session. Folding them into one verb
//! would make `signet unlock` ask for one passphrase or the other depending
//! on state. `signet lock` does lock both (the store key is forgotten), so
//! stepping away needs one command.
//!
//! The passphrase is asked once per command: on the terminal, else through
//! the askpass program (`SIGNET_ASKPASS`, else `SSH_ASKPASS`), up to three
//! tries; `--passphrase-stdin` reads it from the first line of stdin. It
//! goes to the agent in a zeroizing type and is never kept here.

use anyhow::Result;
use serde_json::json;
use signet_client::{Client, Error as ClientError, ErrorCode, StoreInfo, UnlockStoreReply};
use signet_proto::duration::human;
use signet_proto::text::escape;

use super::Ctx;
use crate::cli::{exit, PasswdArgs, UnlockStoreArgs};
use crate::failure::Failure;
use crate::keyfile::PASSPHRASE_TRIES;
use crate::secrets;

/// Whether `e` says the sealed key store is locked (or has no passphrase
/// yet).
pub fn store_locked(e: &ClientError) -> bool {
    e.code() == Some(ErrorCode::StoreLocked)
}

fn wrong_passphrase(e: &ClientError) -> bool {
    e.code() == Some(ErrorCode::WrongPassphrase)
}

/// "locks again in 59m if unused" / "no timeout".
fn until(secs: Option<u64>) -> String {
    match secs {
        Some(s) => format!(
            "it locks again in {} if unused ([store] unlock_idle; unlock_max bounds it)",
            human(s)
        ),
        None => "no timeout: it stays unlocked until `signet lock-store`, `signet lock` or the agent stops".to_owned(),
    }
}

/// Asks the passphrase (choosing one when the store has none yet) and
/// unlocks: up to three tries when asked, one from stdin.
fn unlock_flow(
    ctx: &Ctx,
    client: &mut Client,
    info: &StoreInfo,
    from_stdin: bool,
) -> Result<UnlockStoreReply> {
    let create = info.sealing == "not set up";
    if create {
        ctx.note(format_args!(
            "the {} key store has no passphrase yet: the one you choose now seals every key in it \
             (a process that reads the keyring then gets ciphertext only); it is asked once per session",
            info.backend
        ));
    }
    let tries = if from_stdin { 1 } else { PASSPHRASE_TRIES };
    let mut attempt = 1;
    loop {
        let pass = if create {
            secrets::read_new_store_passphrase(from_stdin, "New key store passphrase: ")?
        } else {
            secrets::read_store_passphrase(from_stdin, "Key store passphrase: ")?
        };
        match client.unlock_store(&pass, create) {
            Err(e) if wrong_passphrase(&e) && attempt < tries => {
                ctx.note("wrong passphrase, try again");
                attempt += 1;
            }
            Err(e) if wrong_passphrase(&e) => {
                return Err(Failure::new("wrong_passphrase", exit::ERROR, e.to_string()).into())
            }
            other => return Ok(other?),
        }
    }
}

fn report(ctx: &Ctx, r: &UnlockStoreReply) {
    if r.created {
        ctx.note("the key store is sealed with the new passphrase; keep it safe: without it the stored keys cannot be loaded");
    }
    if !r.sealed.is_empty() {
        let names: Vec<String> = r.sealed.iter().map(|n| escape(n)).collect();
        ctx.note(format_args!(
            "sealed {} key(s) that were stored in the clear: {}",
            names.len(),
            names.join(", ")
        ));
    }
    ctx.note(format_args!(
        "unlocked the key store ({})",
        until(r.unlocked_for)
    ));
    if !r.loaded.is_empty() {
        let names: Vec<String> = r.loaded.iter().map(|n| escape(n)).collect();
        ctx.note(format_args!("loaded {} (autoload)", names.join(", ")));
    }
    for p in &r.problems {
        ctx.note(format_args!("warning: {}", escape(p)));
    }
}

fn reply_json(r: &UnlockStoreReply) -> serde_json::Value {
    json!({
        "unlocked": true,
        "created": r.created,
        "unlocked_for_secs": r.unlocked_for,
        "sealed": r.sealed,
        "loaded": r.loaded,
        "problems": r.problems,
    })
}

/// The store's sealing as the agent reports it; an agent or store that is
/// not sealed is an error that says so.
fn sealed_info(client: &mut Client) -> Result<StoreInfo> {
    let info = client.store_info()?;
    if info.seal.is_empty() {
        return Err(Failure::new(
            "unsupported",
            exit::ERROR,
            "this agent predates sealed key stores: upgrade signetd (and restart it)",
        )
        .into());
    }
    Ok(info)
}

/// `signet unlock-store`.
pub(crate) fn unlock_store(ctx: &Ctx, a: &UnlockStoreArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let info = sealed_info(&mut client)?;
    if info.seal == "none" && info.sealing.is_empty() {
        ctx.note(format_args!(
            "the {} key store is not sealed ([store] seal = \"none\"): there is nothing to unlock; its keys load without a passphrase",
            info.backend
        ));
        return ctx.show("", &json!({"unlocked": false, "sealed": false}));
    }
    if info.sealing == "unlocked" {
        ctx.note(format_args!(
            "the key store is already unlocked ({})",
            until(info.unlocked_for)
        ));
        return ctx.show(
            "",
            &json!({"unlocked": true, "was_unlocked": true, "unlocked_for_secs": info.unlocked_for}),
        );
    }
    let r = unlock_flow(ctx, &mut client, &info, a.passphrase_stdin)?;
    report(ctx, &r);
    ctx.show("", &reply_json(&r))
}

/// `signet lock-store`.
pub(crate) fn lock_store(ctx: &Ctx) -> Result<()> {
    let mut client = ctx.connect()?;
    let was = client.lock_store()?;
    if was {
        ctx.note("locked the key store: loaded keys stay loaded; `signet unlock-store` before loading more");
    } else {
        ctx.note("the key store was not unlocked");
    }
    ctx.show("", &json!({"locked": true, "was_unlocked": was}))
}

/// `signet passwd`.
pub(crate) fn passwd(ctx: &Ctx, a: &PasswdArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let info = sealed_info(&mut client)?;
    if info.sealing == "not set up" || info.sealing.is_empty() {
        return Err(Failure::new(
            "not_sealed",
            exit::ERROR,
            "the key store has no passphrase to change: `signet unlock-store` chooses one",
        )
        .into());
    }
    let tries = if a.passphrase_stdin {
        1
    } else {
        PASSPHRASE_TRIES
    };
    let mut attempt = 1;
    // Asked first, so a wrong one is retried before a new one is asked for.
    let old = loop {
        let old =
            secrets::read_store_passphrase(a.passphrase_stdin, "Current key store passphrase: ")?;
        if a.passphrase_stdin {
            break old;
        }
        match client.unlock_store(&old, false) {
            Err(e) if wrong_passphrase(&e) && attempt < tries => {
                ctx.note("wrong passphrase, try again");
                attempt += 1;
            }
            Err(e) if wrong_passphrase(&e) => {
                return Err(Failure::new("wrong_passphrase", exit::ERROR, e.to_string()).into())
            }
            Err(e) => return Err(e.into()),
            Ok(_) => break old,
        }
    };
    let new = secrets::read_new_store_passphrase(a.passphrase_stdin, "New key store passphrase: ")?;
    match client.passwd(&old, &new) {
        Err(e) if wrong_passphrase(&e) => {
            Err(Failure::new("wrong_passphrase", exit::ERROR, e.to_string()).into())
        }
        Err(e) => Err(e.into()),
        Ok(()) => {
            ctx.note("changed the key store's passphrase (the store key was wrapped again; the keys themselves were not touched)");
            ctx.show("", &json!({"changed": true}))
        }
    }
}

/// Runs `op`; if the agent answers that the sealed key store is locked (or
/// has no passphrase yet) and a passphrase can be asked for, unlocks it
/// (asking once; choosing the passphrase the first time) and runs `op`
/// again. Otherwise the error stands, with what to do.
pub(crate) fn with_store<T>(
    ctx: &Ctx,
    client: &mut Client,
    mut op: impl FnMut(&mut Client) -> Result<T, ClientError>,
) -> Result<T> {
    match op(client) {
        Err(e) if store_locked(&e) => {
            let info = sealed_info(client)?;
            // A store without a passphrase yet is set up the same way (the
            // new passphrase asked twice), so a first `generate` on a
            // terminal just works.
            let can_unlock = matches!(info.sealing.as_str(), "locked" | "not set up");
            if !can_unlock || !secrets::can_ask() {
                return Err(Failure::new("store_locked", exit::LOCKED, e.to_string()).into());
            }
            let r = unlock_flow(ctx, client, &info, false)?;
            report(ctx, &r);
            op(client).map_err(|e| {
                if store_locked(&e) {
                    Failure::new("store_locked", exit::LOCKED, e.to_string()).into()
                } else {
                    anyhow::Error::from(e)
                }
            })
        }
        other => Ok(other?),
    }
}

/// The sealing lines of `signet status`.
pub fn status_text(info: &StoreInfo) -> String {
    match (info.seal.as_str(), info.sealing.as_str()) {
        ("", _) => String::new(),
        (_, "unlocked") => format!("sealed:  passphrase: unlocked ({})\n", until(info.unlocked_for)),
        (_, "locked") => {
            "sealed:  passphrase: locked (`signet unlock-store` to load keys)\n".to_owned()
        }
        (_, "not set up") => "sealed:  passphrase, not set up yet (`signet unlock-store` chooses one and seals every stored key)\n".to_owned(),
        _ => "sealed:  no ([store] seal = \"none\": the keyring holds the keys themselves)\n".to_owned(),
    }
}
