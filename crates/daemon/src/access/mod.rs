//! Layer 1: who is calling.
//!
//! **Owns**: the peer's kernel credentials (SO_PEERCRED) and the
//! connection's client ([`peer`]), the peer's process pinned at accept by a
//! pidfd with the facts read through it ([`process`]), those facts for one
//! request, read again and checked when a rule needs them ([`caller`]:
//! executable, unit, groups), which systemd unit a cgroup path is
//! ([`unit`]), the user and group databases ([`accounts`]), the allow-list
//! of who may connect ([`allow`]), and each caller's role, admin or signer
//! ([`roles`]). **Must not**: decide what a caller may sign (that is
//! `policy`) or do (the gate in `dispatch`), or import anything but
//! `config` and `hardening`.

pub mod accounts;
pub mod allow;
pub mod caller;
pub mod peer;
pub mod process;
pub mod roles;
pub mod unit;
