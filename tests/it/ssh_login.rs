//! A real SSH login: OpenSSH's `sshd` on a loopback port, `ssh` authenticating
//! with a key that only `signetd` holds.

use std::fs;

use signet_tests::sshd::{ssh_login, start_sshd};
use signet_tests::{my_user_name, Agent};

#[test]
fn ssh_logs_in_with_a_key_only_the_agent_holds() {
    let agent = Agent::start();
    let dir = agent.dir().join("sshd");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let key = agent.keygen("ed25519", "login-key");
    let authorized_keys = dir.join("authorized_keys");
    fs::write(&authorized_keys, format!("{}\n", key.public_line()))
        .unwrap_or_else(|e| panic!("writing authorized_keys: {e}"));

    agent.ssh_add([&key.private]).assert_ok();
    // The login can only succeed through the agent from here on.
    fs::remove_file(&key.private).unwrap_or_else(|e| panic!("rm private key: {e}"));

    let sshd = start_sshd(&agent, &dir, &authorized_keys);
    let user = my_user_name();

    let r = ssh_login(&agent, &sshd, &user);
    assert!(
        r.status.success() && r.stdout.trim() == "signet-ok",
        "ssh login through signetd failed:\n{r}\n--- sshd log\n{}\n--- signetd log\n{}",
        sshd.log(),
        agent.log()
    );
    // sshd accepted exactly this key.
    let fp = key.fingerprint();
    assert!(
        sshd.log()
            .lines()
            .any(|l| l.contains("Accepted publickey") && l.contains(&fp)),
        "sshd did not log accepting {fp}:\n{}",
        sshd.log()
    );

    // Control: with the agent emptied, the same login is refused.
    agent.ssh_add(["-D"]).assert_ok();
    let r = ssh_login(&agent, &sshd, &user);
    r.assert_code(255);
    assert!(r.stderr.contains("Permission denied"), "{r}");
}
