//! Who is calling: the peer's kernel credentials and the allow-list.

pub mod allow;
pub mod peer;
