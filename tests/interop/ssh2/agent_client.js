'use strict';
// Node ssh2's agent client (OpenSSHAgent) against $SSH_AUTH_SOCK.
//
// Run by tests/interop/suites/ssh2.sh once per agent, after the suite has
// added DIR/id_TYPE with ssh-add. Prints one line per test:
// NAME<TAB>pass|fail|skip<TAB>DETAIL.
//
//   node agent_client.js DIR TYPES HOST PORT USER
//
// Tests, per key type T:
//   OpenSSHAgent.getIdentities[T]  the agent lists the key (and its comment)
//   OpenSSHAgent.sign[T]           the agent's signature verifies with ssh2
//   Client.agent-auth[T]           ssh2's Client logs in to a loopback
//                                  OpenSSH sshd with that agent key only and
//                                  runs a command

const { readFileSync } = require('fs');
const { join } = require('path');
const { randomBytes } = require('crypto');
const { Client, OpenSSHAgent, utils: { parseKey } } = require('ssh2');
const { sigSSHToASN1 } = require('ssh2/lib/protocol/utils.js');

const [dir, typesArg, host, port, user] = process.argv.slice(2);
const sock = process.env.SSH_AUTH_SOCK;
if (!sock) {
  console.error('SSH_AUTH_SOCK is not set');
  process.exit(2);
}
const HASH = { 'ssh-rsa': 'sha256', 'ecdsa-sha2-nistp256': 'sha256' };

function out(name, status, detail = '') {
  process.stdout.write(`${name}\t${status}\t${String(detail).replace(/\s+/g, ' ')}\n`);
}

function publicKey(t) {
  const text = readFileSync(join(dir, `id_${t}.pub`), 'utf8');
  const key = parseKey(text);
  if (key instanceof Error) throw key;
  return key;
}

const cb = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

async function findKey(agent, want) {
  const keys = await cb((done) => agent.getIdentities(done));
  const blob = want.getPublicSSH();
  return { key: keys.find((k) => k.getPublicSSH().equals(blob)), n: keys.length };
}

// An agent that offers one key type only, so that a login proves that key.
class OneKeyAgent extends OpenSSHAgent {
  constructor(path, want) {
    super(path);
    this.want = want;
  }
  getIdentities(done) {
    super.getIdentities((err, keys) => {
      if (err) return done(err);
      done(null, keys.filter((k) => k.getPublicSSH().equals(this.want.getPublicSSH())));
    });
  }
}

async function testList(t) {
  const want = publicKey(t);
  const { key, n } = await findKey(new OpenSSHAgent(sock), want);
  if (!key) return ['fail', `${want.type} key not listed by the agent (${n} keys listed)`];
  if (key.comment !== `interop-${t}`) return ['fail', `comment ${JSON.stringify(key.comment)}, want interop-${t}`];
  return ['pass'];
}

async function testSign(t) {
  const want = publicKey(t);
  const agent = new OpenSSHAgent(sock);
  const { key } = await findKey(agent, want);
  if (!key) return ['fail', `${want.type} key not listed by the agent`];
  const data = randomBytes(64);
  const hash = HASH[want.type];
  let sig = await cb((done) => agent.sign(key, data, hash ? { hash } : {}, done));
  if (want.type.startsWith('ecdsa-')) sig = sigSSHToASN1(sig, want.type);
  const ok = want.verify(data, sig, hash);
  if (ok !== true) return ['fail', `signature does not verify: ${ok}`];
  const forged = want.verify(Buffer.concat([data, Buffer.from('x')]), sig, hash);
  if (forged === true) return ['fail', 'the signature verifies for other data too'];
  return ['pass'];
}

function testAuth(t) {
  const want = publicKey(t);
  return new Promise((resolve) => {
    const conn = new Client();
    let text = '';
    const timer = setTimeout(() => {
      conn.end();
      resolve(['fail', 'timed out']);
    }, 30000);
    const finish = (r) => {
      clearTimeout(timer);
      conn.end();
      resolve(r);
    };
    conn.on('ready', () => {
      conn.exec('echo interop-ok', (err, stream) => {
        if (err) return finish(['fail', `exec: ${err.message}`]);
        stream.on('data', (d) => { text += d; });
        stream.on('close', () => {
          finish(text.trim() === 'interop-ok' ? ['pass'] : ['fail', `command printed ${JSON.stringify(text)}`]);
        });
      });
    }).on('error', (err) => finish(['fail', err.message]));
    const known = readFileSync(join(process.env.INTEROP_SSHD_DIR, 'host_ed25519.pub'), 'utf8');
    const hostKey = parseKey(known).getPublicSSH();
    conn.connect({
      host, port: Number(port), username: user,
      agent: new OneKeyAgent(sock, want),
      tryKeyboard: false,
      hostVerifier: (key) => Buffer.compare(key, hostKey) === 0,
      readyTimeout: 20000,
    });
  });
}

(async () => {
  for (const t of typesArg.split(',')) {
    for (const [name, fn] of [
      [`OpenSSHAgent.getIdentities[${t}]`, testList],
      [`OpenSSHAgent.sign[${t}]`, testSign],
      [`Client.agent-auth[${t}]`, testAuth],
    ]) {
      try {
        const [status, detail] = await fn(t);
        out(name, status, detail);
      } catch (err) {
        out(name, 'fail', `${err && err.message}`);
      }
    }
  }
})();
