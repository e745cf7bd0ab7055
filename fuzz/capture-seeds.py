#!/usr/bin/env python3
"""Capture real client traffic to signetd as fuzz seeds.

Usage: python3 fuzz/capture-seeds.py [SIGNETD] [SIGNET] [OUT_DIR]
(defaults: target/debug/signetd, target/debug/signet, fuzz/seeds)

Starts signetd in a private temporary directory and a relay in front of it,
then runs the real OpenSSH clients (ssh-add -l/-L/add/-T/-t/-c/-d/-D/-x/-X,
ssh-keygen -Y sign) and the signet CLI through the relay. Every message a
client sends is written to OUT_DIR as one file: the message body without its
length prefix, named after its type. Identical messages are written once.

The keys are throwaway keys generated for the capture (ssh-keygen, no
passphrase) and deleted afterwards, so the ADD_IDENTITY seeds hold no secret
anyone uses. The lock passphrase is "throwaway-lock-passphrase".
"""

import hashlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

NAMES = {
    11: "request-identities",
    13: "sign-request",
    17: "add-identity",
    18: "remove-identity",
    19: "remove-all-identities",
    22: "lock",
    23: "unlock",
    25: "add-id-constrained",
    27: "extension",
}


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class Relay:
    def __init__(self, listen_path, agent_path):
        self.agent_path = agent_path
        self.frames = []
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(listen_path)
        self.server.listen(16)
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        agent = socket.socket(socket.AF_UNIX)
        agent.connect(self.agent_path)
        try:
            while True:
                prefix = read_exact(client, 4)
                if prefix is None:
                    return
                (length,) = struct.unpack(">I", prefix)
                body = read_exact(client, length)
                if body is None:
                    return
                with self.lock:
                    self.frames.append(body)
                agent.sendall(prefix + body)
                rprefix = read_exact(agent, 4)
                if rprefix is None:
                    return
                (rlength,) = struct.unpack(">I", rprefix)
                rbody = read_exact(agent, rlength)
                if rbody is None:
                    return
                client.sendall(rprefix + rbody)
        finally:
            client.close()
            agent.close()


def extension_name(body):
    if len(body) < 5:
        return "short"
    (n,) = struct.unpack(">I", body[1:5])
    name = body[5 : 5 + n].decode("utf-8", "replace")
    return "".join(c if c.isalnum() or c in "-." else "-" for c in name)


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    signetd = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "target/debug/signetd")
    signet = sys.argv[2] if len(sys.argv) > 2 else os.path.join(repo, "target/debug/signet")
    out_dir = sys.argv[3] if len(sys.argv) > 3 else os.path.join(repo, "fuzz/seeds")
    os.makedirs(out_dir, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="signet-capture.") as tmp:
        os.chmod(tmp, 0o700)
        agent_sock = os.path.join(tmp, "agent.sock")
        relay_sock = os.path.join(tmp, "relay.sock")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": tmp,
            "XDG_RUNTIME_DIR": tmp,
            "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
            "XDG_STATE_HOME": os.path.join(tmp, "state"),
        }
        daemon = subprocess.Popen(
            [signetd, "--socket", agent_sock, "--log-level", "warn"],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                if os.path.exists(agent_sock):
                    break
                time.sleep(0.05)
            relay = Relay(relay_sock, agent_sock)
            cenv = dict(env, SSH_AUTH_SOCK=relay_sock, SIGNET_AUTH_SOCK=relay_sock)

            def run(*args, **extra):
                e = dict(cenv, **extra)
                subprocess.run(list(args), env=e, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

            key = os.path.join(tmp, "throwaway")
            rsa = os.path.join(tmp, "throwaway-rsa")
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fuzz-seed", "-f", key],
                           env=env, check=True)
            subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-C", "fuzz-rsa", "-f", rsa],
                           env=env, check=True)
            askpass = os.path.join(tmp, "askpass")
            with open(askpass, "w") as f:
                f.write("#!/bin/sh\necho throwaway-lock-passphrase\n")
            os.chmod(askpass, 0o700)
            pw = {"SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
            data = os.path.join(tmp, "data.txt")
            with open(data, "w") as f:
                f.write("signet fuzz seed\n")

            run("ssh-add", "-l")
            run("ssh-add", key)
            run("ssh-add", "-l")
            run("ssh-add", "-L")
            run("ssh-add", "-T", key + ".pub")
            run("ssh-keygen", "-Y", "sign", "-f", key + ".pub", "-n", "file", data)
            run(signet, "status")
            run(signet, "list")
            run(signet, "sign-request", "--key", "fuzz-seed", "--method", "POST",
                "--url", "https://api.encord.com/v2/public/projects?limit=10", "--body", "{}")
            run(signet, "sign-request", "--key", "fuzz-seed", "--method", "GET",
                "--url", "/public/user", "--scheme", "encord-v1")
            run("ssh-add", "-x", **pw)
            run("ssh-add", "-X", **pw)
            run("ssh-add", "-d", key + ".pub")
            run("ssh-add", "-t", "60", key)
            run("ssh-add", "-D")
            run("ssh-add", "-c", key)
            run("ssh-add", "-c", "-t", "90", key)
            run("ssh-add", rsa)
            run("ssh-add", "-D")
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)

    seen = set()
    written = 0
    counters = {}
    for body in relay.frames:
        digest = hashlib.sha256(body).hexdigest()
        if digest in seen or not body:
            continue
        seen.add(digest)
        kind = NAMES.get(body[0], "type-%d" % body[0])
        if body[0] == 27:
            kind += "-" + extension_name(body)
        counters[kind] = counters.get(kind, 0) + 1
        name = "%s-%d.bin" % (kind, counters[kind])
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(body)
        written += 1
    print("captured %d frames, %d distinct, written to %s" % (len(relay.frames), written, out_dir))


if __name__ == "__main__":
    main()
