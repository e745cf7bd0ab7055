//! Layer 1: who is calling.
//!
//! **Owns**: the peer's kernel credentials (SO_PEERCRED, [`peer`]), the
//! facts about its process that rules use ([`caller`]: executable, unit,
//! groups, with the executable cache), the user and group databases
//! ([`accounts`]), the allow-list of who may connect ([`allow`]), and
//! each caller's role, admin or signer ([`roles`]). **Must not**: decide
//! what a caller may sign (that is `policy`) or do (the gate in
//! `dispatch`), or import anything but `config`.

pub mod accounts;
pub mod allow;
pub mod caller;
pub mod peer;
pub mod roles;
