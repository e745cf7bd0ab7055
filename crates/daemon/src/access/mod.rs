//! Layer 1: who is calling.
//!
//! **Owns**: the peer's kernel credentials (SO_PEERCRED, [`peer`]), the
//! facts about its process that rules use ([`caller`]: executable, unit,
//! groups, with the executable cache), the user and group databases
//! ([`accounts`]), and the allow-list of who may connect ([`allow`]).
//! **Must not**: decide what a caller may sign (that is `policy`), or import
//! anything but `config`.

pub mod accounts;
pub mod allow;
pub mod caller;
pub mod peer;
