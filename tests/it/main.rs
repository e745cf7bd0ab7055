//! signet's integration tests: one binary (as ripgrep), one module per area.
//!
//! Every test starts the real `signetd` (and `signet`) binaries from
//! `$SIGNET_BIN_DIR` and drives them through real sockets with real tools;
//! see `signet_tests` (tests/src) for the harness.

mod abuse;
mod audit;
mod bad_input;
mod bounds;
mod caller_facts;
mod cli;
mod cli_messages;
mod cli_ux;
mod client;
mod docs;
mod environ;
mod faults;
mod forged_text;
mod gate;
mod hardening;
mod key_binding;
mod keystore_common;
mod keystore_faults;
mod keystore_keyutils;
mod keystore_sealed;
mod keystore_secret_service;
mod launchd;
mod lifecycle;
mod load;
mod openssh_semantics;
mod packaging;
mod peer_check;
mod peer_trust;
mod pkcs11;
mod policy;
mod raw_signing;
mod redteam;
mod secrets;
mod service_account;
mod snapshots;
mod socket_dir;
mod ssh_add;
mod ssh_certs;
mod ssh_keygen_sign;
mod ssh_login;
mod systemd_activation;
mod systemd_creds;
mod systemd_units;
