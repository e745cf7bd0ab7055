//! `ssh-keygen -Y sign` with the private key held only by `signetd`, checked
//! by `ssh-keygen -Y verify`.

use std::fs;

use signet_tests::{run, Agent};

#[test]
fn ssh_keygen_signs_through_the_agent_and_verifies() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "signer");
    agent.ssh_add([&key.private]).assert_ok();
    // Only the agent holds the private key now.
    fs::remove_file(&key.private).unwrap_or_else(|e| panic!("rm private key: {e}"));

    let dir = agent.dir().join("sign");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let message = dir.join("message.txt");
    fs::write(&message, b"release v1.2.3 sha256 0123abcd\n")
        .unwrap_or_else(|e| panic!("write: {e}"));

    // Given a .pub, ssh-keygen asks the agent for the signature.
    let r = agent.ssh_keygen([
        "-Y".as_ref(),
        "sign".as_ref(),
        "-n".as_ref(),
        "file".as_ref(),
        "-f".as_ref(),
        key.public.as_os_str(),
        message.as_os_str(),
    ]);
    r.assert_ok();
    let sig = dir.join("message.txt.sig");
    let armored = fs::read_to_string(&sig).unwrap_or_else(|e| panic!("read sig: {e}"));
    assert!(
        armored.starts_with("-----BEGIN SSH SIGNATURE-----"),
        "{armored}"
    );

    let allowed = dir.join("allowed_signers");
    fs::write(
        &allowed,
        format!("signer@example {}\n", key.public_key_part()),
    )
    .unwrap_or_else(|e| panic!("write: {e}"));

    // ssh-keygen -Y verify reads the message from stdin.
    let verify_sh = |data: &std::path::Path, namespace: &str| {
        run(agent
            .ssh_tool("/bin/sh")
            .arg("-c")
            .arg("exec ssh-keygen -Y verify -f \"$1\" -I signer@example -n \"$2\" -s \"$3\" < \"$4\"")
            .arg("sh")
            .arg(&allowed)
            .arg(namespace)
            .arg(&sig)
            .arg(data))
    };

    let r = verify_sh(&message, "file");
    r.assert_ok();
    assert!(
        r.stdout
            .contains("Good \"file\" signature for signer@example"),
        "{r}"
    );

    // A tampered message must not verify.
    let tampered = dir.join("tampered.txt");
    fs::write(&tampered, b"release v1.2.4 sha256 0123abcd\n")
        .unwrap_or_else(|e| panic!("write: {e}"));
    verify_sh(&tampered, "file").assert_fail();

    // Nor under another namespace.
    verify_sh(&message, "git").assert_fail();
}
