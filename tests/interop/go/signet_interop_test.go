// Copied by tests/interop/suites/go.sh into a copy of Debian's
// golang.org/x/crypto/ssh/agent (package agent), beside Go's own tests, so
// that these run with Go's own helpers (startOpenSSHAgent starts `ssh-agent`
// from PATH: OpenSSH's or signetd's, tests/interop/bin/signet-ssh-agent).
//
// Go's TestAgent, TestLockOpenSSHAgent, TestAuth and TestSetupForwardAgent
// start with RSA or DSA keys and stop at the first failure, so against an
// agent that holds Ed25519 keys only they say nothing about Ed25519. The same
// checks here run once per key type (a subtest each), or with Ed25519 keys
// where Go's own test hard-codes RSA/DSA. Plus the OpenSSH semantics issue
// #23 names: an empty lock passphrase is refused.

package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"golang.org/x/crypto/ssh"
)

// The key types of Go's test data, Ed25519 first.
var interopKeyTypes = []string{"ed25519", "rsa", "dsa", "ecdsa", "ecdsap384", "ecdsap521"}

// Go's testAgentInterface (list empty, add, list, sign, verify) per key type.
func TestSignetInteropAgent(t *testing.T) {
	for _, keyType := range interopKeyTypes {
		keyType := keyType
		t.Run(keyType, func(t *testing.T) {
			testOpenSSHAgent(t, testPrivateKeys[keyType], nil, 0)
		})
	}
}

// Go's testAgentInterface with a 1-second lifetime constraint: the key must
// be gone once it has passed.
func TestSignetInteropLifetime(t *testing.T) {
	t.Run("ed25519", func(t *testing.T) {
		testOpenSSHAgent(t, testPrivateKeys["ed25519"], nil, 1)
	})
}

// Go's TestCert with an Ed25519 user certificate (Go's uses RSA): added with
// its key, listed as the certificate, signs (issue #23 item 1).
func TestSignetInteropCert(t *testing.T) {
	t.Run("ed25519", func(t *testing.T) {
		cert := &ssh.Certificate{
			Key:             testPublicKeys["ed25519"],
			ValidPrincipals: []string{"gopher"},
			ValidBefore:     ssh.CertTimeInfinity,
			CertType:        ssh.UserCert,
		}
		if err := cert.SignCert(rand.Reader, testSigners["ed25519"]); err != nil {
			t.Fatalf("SignCert: %v", err)
		}
		testOpenSSHAgent(t, testPrivateKeys["ed25519"], cert, 0)
	})
}

// Go's TestAuth with an Ed25519 user key: an SSH client authenticates to
// Go's SSH server with the agent's signer.
func TestSignetInteropAuth(t *testing.T) {
	t.Run("ed25519", func(t *testing.T) {
		agent, _, cleanup := startOpenSSHAgent(t)
		defer cleanup()
		a, b, err := netPipe()
		if err != nil {
			t.Fatalf("netPipe: %v", err)
		}
		defer a.Close()
		defer b.Close()
		if err := agent.Add(AddedKey{PrivateKey: testPrivateKeys["ed25519"], Comment: "comment"}); err != nil {
			t.Fatalf("Add: %v", err)
		}
		serverConf := ssh.ServerConfig{}
		serverConf.AddHostKey(testSigners["ecdsa"])
		serverConf.PublicKeyCallback = func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), testPublicKeys["ed25519"].Marshal()) {
				return nil, nil
			}
			return nil, errors.New("pubkey rejected")
		}
		serverErr := make(chan error, 1)
		go func() {
			conn, _, _, err := ssh.NewServerConn(a, &serverConf)
			if err == nil {
				conn.Close()
			}
			serverErr <- err
		}()
		conf := ssh.ClientConfig{HostKeyCallback: ssh.InsecureIgnoreHostKey()}
		conf.Auth = append(conf.Auth, ssh.PublicKeysCallback(agent.Signers))
		conn, _, _, err := ssh.NewClientConn(b, "", &conf)
		if err != nil {
			t.Fatalf("NewClientConn: %v", err)
		}
		conn.Close()
		if err := <-serverErr; err != nil {
			t.Fatalf("server: %v", err)
		}
	})
}

// Go's testLockAgent with two Ed25519 keys (Go's adds RSA and DSA keys): a
// locked agent lists nothing and refuses sign, remove and remove-all; a
// wrong passphrase does not unlock it; the right one does.
func TestSignetInteropLock(t *testing.T) {
	t.Run("ed25519", func(t *testing.T) {
		agent, _, cleanup := startOpenSSHAgent(t)
		defer cleanup()
		_, second, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatalf("GenerateKey: %v", err)
		}
		if err := agent.Add(AddedKey{PrivateKey: testPrivateKeys["ed25519"], Comment: "comment 1"}); err != nil {
			t.Fatalf("Add: %v", err)
		}
		if err := agent.Add(AddedKey{PrivateKey: second, Comment: "comment 2"}); err != nil {
			t.Fatalf("Add: %v", err)
		}
		if keys, err := agent.List(); err != nil || len(keys) != 2 {
			t.Fatalf("List: %v keys, %v; want 2", len(keys), err)
		}
		passphrase := []byte("secret")
		if err := agent.Lock(passphrase); err != nil {
			t.Fatalf("Lock: %v", err)
		}
		if keys, err := agent.List(); err != nil || len(keys) != 0 {
			t.Fatalf("List while locked: %v keys, %v; want 0", len(keys), err)
		}
		pub := testPublicKeys["ed25519"]
		if _, err := agent.Sign(pub, []byte("hello")); err == nil {
			t.Fatalf("Sign while locked did not fail")
		}
		if err := agent.Remove(pub); err == nil {
			t.Fatalf("Remove while locked did not fail")
		}
		if err := agent.RemoveAll(); err == nil {
			t.Fatalf("RemoveAll while locked did not fail")
		}
		if err := agent.Unlock([]byte("wrong")); err == nil {
			t.Fatalf("Unlock with a wrong passphrase succeeded")
		}
		if err := agent.Unlock(passphrase); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		if err := agent.Remove(pub); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		if keys, err := agent.List(); err != nil || len(keys) != 1 {
			t.Fatalf("List: %v keys, %v; want 1", len(keys), err)
		}
	})
}

// OpenSSH's agent refuses an empty lock passphrase (process_lock_agent:
// "empty password not supported") and stays unlocked (issue #23 item 3).
func TestSignetInteropLockEmptyPassphrase(t *testing.T) {
	agent, _, cleanup := startOpenSSHAgent(t)
	defer cleanup()
	if err := agent.Add(AddedKey{PrivateKey: testPrivateKeys["ed25519"], Comment: "comment"}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := agent.Lock([]byte{}); err == nil {
		t.Errorf("Lock with an empty passphrase succeeded")
		// Leave the agent as we found it for the checks below.
		_ = agent.Unlock([]byte{})
	}
	if keys, err := agent.List(); err != nil || len(keys) != 1 {
		t.Fatalf("List after an empty-passphrase lock: %v keys, %v; want 1 (not locked)", len(keys), err)
	}
}

// Remove, remove-all, and signing with a key the agent does not hold.
func TestSignetInteropRemove(t *testing.T) {
	t.Run("ed25519", func(t *testing.T) {
		agent, _, cleanup := startOpenSSHAgent(t)
		defer cleanup()
		_, second, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatalf("GenerateKey: %v", err)
		}
		secondSigner, err := ssh.NewSignerFromKey(second)
		if err != nil {
			t.Fatalf("NewSignerFromKey: %v", err)
		}
		for _, k := range []interface{}{testPrivateKeys["ed25519"], second} {
			if err := agent.Add(AddedKey{PrivateKey: k, Comment: "c"}); err != nil {
				t.Fatalf("Add: %v", err)
			}
		}
		if err := agent.Remove(secondSigner.PublicKey()); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		if _, err := agent.Sign(secondSigner.PublicKey(), []byte("hello")); err == nil {
			t.Fatalf("Sign with a removed key did not fail")
		}
		if err := agent.Remove(secondSigner.PublicKey()); err == nil {
			t.Fatalf("Remove of a key the agent does not hold did not fail")
		}
		if keys, err := agent.List(); err != nil || len(keys) != 1 {
			t.Fatalf("List: %v keys, %v; want 1", len(keys), err)
		}
		if err := agent.RemoveAll(); err != nil {
			t.Fatalf("RemoveAll: %v", err)
		}
		if keys, err := agent.List(); err != nil || len(keys) != 0 {
			t.Fatalf("List: %v keys, %v; want 0", len(keys), err)
		}
	})
}

// Go's TestSetupForwardAgent with an Ed25519 key (Go's uses RSA): the agent
// reached through an SSH connection's forwarded agent channel.
func TestSignetInteropForwardAgent(t *testing.T) {
	t.Run("ed25519", func(t *testing.T) {
		a, b, err := netPipe()
		if err != nil {
			t.Fatalf("netPipe: %v", err)
		}
		defer a.Close()
		defer b.Close()
		_, socket, cleanup := startOpenSSHAgent(t)
		defer cleanup()
		serverConf := ssh.ServerConfig{NoClientAuth: true}
		serverConf.AddHostKey(testSigners["ecdsa"])
		incoming := make(chan *ssh.ServerConn, 1)
		serverErr := make(chan error, 1)
		go func() {
			conn, _, _, err := ssh.NewServerConn(a, &serverConf)
			if err != nil {
				serverErr <- err
				return
			}
			incoming <- conn
		}()
		conf := ssh.ClientConfig{HostKeyCallback: ssh.InsecureIgnoreHostKey()}
		conn, chans, reqs, err := ssh.NewClientConn(b, "", &conf)
		if err != nil {
			t.Fatalf("NewClientConn: %v", err)
		}
		client := ssh.NewClient(conn, chans, reqs)
		if err := ForwardToRemote(client, socket); err != nil {
			t.Fatalf("ForwardToRemote: %v", err)
		}
		var server *ssh.ServerConn
		select {
		case server = <-incoming:
		case err := <-serverErr:
			t.Fatalf("server: %v", err)
		}
		ch, reqs2, err := server.OpenChannel(channelType, nil)
		if err != nil {
			t.Fatalf("OpenChannel(%q): %v", channelType, err)
		}
		go ssh.DiscardRequests(reqs2)
		testAgentInterface(t, NewClient(ch), testPrivateKeys["ed25519"], nil, 0)
		conn.Close()
	})
}
