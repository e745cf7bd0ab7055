"""paramiko's agent client (paramiko.Agent, AgentKey) against $SSH_AUTH_SOCK.

Run by tests/interop/suites/paramiko.sh (and suites/idle.sh) once per agent,
after the suite has added the keys in --keys with ssh-add. Prints one line
per test: NAME<TAB>pass|fail|skip<TAB>DETAIL.

  agent_client.py --keys DIR --types T,... --host H --port P --user U --known-hosts F
  agent_client.py --keys DIR --idle SECS     # the kept-connection test only

Tests, per key type T (the key DIR/id_T, added to the agent beforehand):
  Agent.get_keys[T]         the agent lists the key (blob and comment)
  AgentKey.sign_ssh_data[T] the agent's signature verifies with paramiko
  Transport.auth_publickey[T]  paramiko logs in to a loopback OpenSSH sshd
                            with the agent's key and runs a command
  Agent.kept-connection-signs-after-silence[ed25519]
                            one Agent connection, silent for SECS seconds,
                            then a signature (paramiko, like IDEs, keeps it)
"""

import argparse
import base64
import os
import sys
import time
import traceback

import paramiko
from paramiko.message import Message

# A key type -> the signature algorithm to ask for (SHA-2 for RSA, as
# OpenSSH's clients do; the others have one).
SIG_ALGORITHM = {"ssh-rsa": "rsa-sha2-256"}


def public_blob(keys_dir, t):
    with open(os.path.join(keys_dir, f"id_{t}.pub"), encoding="ascii") as f:
        kind, b64 = f.read().split()[:2]
    return kind, base64.b64decode(b64)


def find(agent, blob):
    for k in agent.get_keys():
        if k.blob == blob:
            return k
    return None


def check_list(agent, keys_dir, t):
    kind, blob = public_blob(keys_dir, t)
    key = find(agent, blob)
    if key is None:
        return "fail", f"{kind} key not listed by the agent ({len(agent.get_keys())} keys listed)"
    if key.get_name() != kind:
        return "fail", f"listed as {key.get_name()}, want {kind}"
    if key.comment != f"interop-{t}":
        return "fail", f"comment {key.comment!r}, want 'interop-{t}'"
    return "pass", ""


def check_sign(agent, keys_dir, t):
    kind, blob = public_blob(keys_dir, t)
    key = find(agent, blob)
    if key is None:
        return "fail", f"{kind} key not listed by the agent"
    data = os.urandom(64)
    sig = key.sign_ssh_data(data, SIG_ALGORITHM.get(kind))
    pub = paramiko.PKey.from_type_string(kind, blob)
    if not pub.verify_ssh_sig(data, Message(sig)):
        return "fail", "the agent's signature does not verify"
    if pub.verify_ssh_sig(data + b"x", Message(sig)):
        return "fail", "the signature verifies for other data too"
    return "pass", ""


def check_auth(agent, keys_dir, t, a):
    kind, blob = public_blob(keys_dir, t)
    key = find(agent, blob)
    if key is None:
        return "fail", f"{kind} key not listed by the agent"
    client = paramiko.SSHClient()
    client.load_host_keys(a.known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(a.host, port=a.port, username=a.user, pkey=key,
                       allow_agent=False, look_for_keys=False, timeout=20)
        _, out, _ = client.exec_command("echo interop-ok", timeout=20)
        text = out.read().decode().strip()
        if text != "interop-ok":
            return "fail", f"command printed {text!r}"
    finally:
        client.close()
    return "pass", ""


def check_idle(keys_dir, secs):
    agent = paramiko.Agent()
    try:
        kind, blob = public_blob(keys_dir, "ed25519")
        key = find(agent, blob)
        if key is None:
            return "fail", "ssh-ed25519 key not listed by the agent"
        time.sleep(secs)
        data = os.urandom(32)
        try:
            sig = key.sign_ssh_data(data)
        except (paramiko.SSHException, OSError) as e:
            return "fail", f"the agent closed the connection after {secs}s of silence ({type(e).__name__}: {e})"
        if not paramiko.PKey.from_type_string(kind, blob).verify_ssh_sig(data, Message(sig)):
            return "fail", "the agent's signature does not verify"
        return "pass", f"signed after {secs}s of silence on one connection"
    finally:
        agent.close()


def report(name, fn, *args):
    try:
        status, detail = fn(*args)
    except Exception as e:  # a test's own failure, reported as such
        status, detail = "fail", f"{type(e).__name__}: {e} " + traceback.format_exc(limit=2)
    print(f"{name}\t{status}\t{' '.join(detail.split())}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", required=True)
    ap.add_argument("--types", default="ed25519,rsa,ecdsa")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--user")
    ap.add_argument("--known-hosts")
    ap.add_argument("--idle", type=int)
    a = ap.parse_args()
    if not os.environ.get("SSH_AUTH_SOCK"):
        sys.exit("SSH_AUTH_SOCK is not set")

    if a.idle is not None:
        name = "Agent.kept-connection-signs-after-silence[ed25519]"
        if a.idle <= 0:
            print(f"{name}\tskip\tSIGNET_INTEROP_IDLE_SECS=0", flush=True)
        else:
            report(name, check_idle, a.keys, a.idle)
        return 0

    agent = paramiko.Agent()
    try:
        for t in a.types.split(","):
            report(f"Agent.get_keys[{t}]", check_list, agent, a.keys, t)
            report(f"AgentKey.sign_ssh_data[{t}]", check_sign, agent, a.keys, t)
            report(f"Transport.auth_publickey[{t}]", check_auth, agent, a.keys, t, a)
    finally:
        agent.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
