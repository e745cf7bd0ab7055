
use builtin;
use str;

set edit:completion:arg-completer[signet] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'signet'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'signet'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand start 'Start signetd in the background unless one already answers (here, or at another default socket path: that one is used); prints the line that sets SIGNET_AUTH_SOCK for `eval "$(signet start)"`, for the shell in $SHELL unless --sh, --fish or --csh says otherwise'
            cand env 'Print the shell line that points SIGNET_AUTH_SOCK at the agent (for the shell in $SHELL unless --sh, --fish or --csh says otherwise)'
            cand stop 'Ask the agent to stop, and wait until it has'
            cand status 'Show the agent''s version, pid, socket, lock state, key count (hidden while locked), uptime and key store'
            cand reload 'Make the agent re-read its configuration file, as SIGHUP does, and say whether it took it (an invalid file is refused; the agent keeps the configuration it has)'
            cand add 'Add an Ed25519 private key file to the agent for this session, as `ssh-add` does (`-t` lifetime, `-c` confirm); refuses a key file that others can read unless --force'
            cand list 'List stored and loaded keys: each stored key, whether it is loaded and its expiry, plus keys added for this session only (prints "no keys loaded" and exits 0 when there are none; exits 4 when the agent is locked). With no agent running it still shows the stored keys, read from the index file (keys.toml), marked "not loaded (agent not running)", and exits 3. The table fits the terminal; --wide shows every column in full'
            cand remove 'Unload a key from the agent, as `ssh-add -d` does (--all: every key, `ssh-add -D`). A stored key stays in the OS keyring (`signet load` loads it again; `signet delete` deletes it)'
            cand delete 'Delete a stored key from the OS keyring and the index, unloading it first; asks on a terminal, needs --yes otherwise. This cannot be undone'
            cand generate 'Make a new Ed25519 key inside the agent and store it in the OS keyring (it never touches disk); prints its public key line'
            cand import 'Store an Ed25519 private key file in the OS keyring: OpenSSH (encrypted or not), PKCS#8 PEM, or the private key .txt Encord''s web app downloads; `-` reads stdin'
            cand register 'Show what to paste into Encord to register a key (a stored key, or any key the agent holds), and where'
            cand pubkey 'Print a key''s `ssh-ed25519 AAAA… comment` line (a stored key, or any key the agent holds: session keys, systemd credentials, key files)'
            cand load 'Load stored keys from the OS keyring into the agent'
            cand unload 'Unload stored keys from the agent (they stay in the keyring)'
            cand rename 'Rename a stored key'
            cand doctor 'Check that the key index and the OS keyring agree; finish or undo interrupted operations (exits 1 while problems remain)'
            cand lock 'Lock the agent with a passphrase: it signs nothing and shows no keys until unlocked; loaded keys stay loaded (hidden), and a sealed key store is locked too'
            cand unlock 'Unlock the agent (its loaded keys sign again); with --token, give its PKCS#11 token''s PIN'
            cand unlock-store 'Unlock the sealed key store: asks its passphrase once (the first time, chooses one and seals every key stored so far); `load`, autoload, `generate` and `import` then work without asking until `[store] unlock_idle` (1h) or `unlock_max` (8h) pass, `signet lock` or `lock-store`, SIGUSR1, or the agent stops'
            cand lock-store 'Lock the sealed key store again (the agent forgets its unlock); loaded keys stay loaded'
            cand passwd 'Change the sealed key store''s passphrase (the store key is wrapped again; no key is resealed). With --passphrase-stdin: the current passphrase on the first line, the new one on the second'
            cand sign-request 'Sign an Encord HTTP request and print the headers to add to it'
            cand sign 'Sign a file''s bytes with a loaded key; prints the 64-byte Ed25519 signature in base64'
            cand install-units 'Write the systemd units (--user, --system) or the launchd agent (--launchd) with this installation''s signetd, and print the commands that enable them'
            cand exec 'Run a command (a CI job) with SIGNET_AUTH_SOCK set, after checking that the agent answers and --key is loaded; ENCORD_SSH_KEY becomes the reference `signet:<key id>` (the Encord SDK then signs through the agent), ENCORD_SSH_KEY_FILE is removed; exits with the command''s status'
            cand explain 'Say which policy rule would allow or refuse a request, without signing (exits 0 when it would be signed, 1 when refused)'
            cand secret 'Keep Encord resource API keys and bearer tokens in the agent''s key store, released only to callers a rule allows (docs/secrets.md)'
            cand audit 'Check (`verify`) or show (`tail`) the agent''s hash-chained audit log'
            cand completions 'Print the completion script for a shell (`signet completions bash > /usr/share/bash-completion/completions/signet`), or write all five into a directory with --dir'
            cand man 'Print signet(1) as roff (`signet man | man -l -`), or write every page (signet(1), one signet-COMMAND(1) per command, signetd(8)) into a directory with --dir'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'signet;start'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand -s 'Print for sh, bash, zsh (as `ssh-agent -s`)'
            cand --sh 'Print for sh, bash, zsh (as `ssh-agent -s`)'
            cand --fish 'Print for fish'
            cand -c 'Print for csh and tcsh (as `ssh-agent -c`)'
            cand --csh 'Print for csh and tcsh (as `ssh-agent -c`)'
            cand --ssh 'Also set SSH_AUTH_SOCK to the agent''s socket, so that ssh, ssh-add, git and every other SSH agent client use signetd (as the only SSH agent: `eval "$(signet start --ssh)"` replaces `eval "$(ssh-agent)"`)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;env'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand -s 'Print for sh, bash, zsh (as `ssh-agent -s`)'
            cand --sh 'Print for sh, bash, zsh (as `ssh-agent -s`)'
            cand --fish 'Print for fish'
            cand -c 'Print for csh and tcsh (as `ssh-agent -c`)'
            cand --csh 'Print for csh and tcsh (as `ssh-agent -c`)'
            cand --ssh 'Also set SSH_AUTH_SOCK to the agent''s socket, so that ssh, ssh-add, git and every other SSH agent client use signetd (as the only SSH agent: `eval "$(signet start --ssh)"` replaces `eval "$(ssh-agent)"`)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;stop'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;status'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;reload'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;add'= {
            cand --name 'The key''s name [default: the key''s comment, else the file name]'
            cand -t 'Remove the key after this long: 90s, 15m, 8h, 2d, 1h30m, or seconds'
            cand --lifetime 'Remove the key after this long: 90s, 15m, 8h, 2d, 1h30m, or seconds'
            cand --remember 'With --confirm: after a yes, do not ask again for this long when the same process (same pid, start time and executable) uses the key; `signet lock` forgets every such approval'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand -c 'Ask for confirmation before every use of the key (the agent needs an askpass program: SIGNET_ASKPASS or SSH_ASKPASS in its environment)'
            cand --confirm 'Ask for confirmation before every use of the key (the agent needs an askpass program: SIGNET_ASKPASS or SSH_ASKPASS in its environment)'
            cand --passphrase-stdin 'Read the key''s passphrase from the first line of stdin (for scripts)'
            cand --force 'Use a key file that group or others can read (ssh-add refuses it)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;list'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand -w 'Every column in full (key id, whole fingerprints), however wide'
            cand --wide 'Every column in full (key id, whole fingerprints), however wide'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;remove'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand -a 'Unload every key from the agent (deletes nothing from the keyring)'
            cand --all 'Unload every key from the agent (deletes nothing from the keyring)'
            cand -y 'Accepted for old scripts and ignored: `remove` never deletes (`signet delete --yes` does)'
            cand --yes 'Accepted for old scripts and ignored: `remove` never deletes (`signet delete --yes` does)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;delete'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand -y 'Delete without asking (required when stdin is not a terminal)'
            cand --yes 'Delete without asking (required when stdin is not a terminal)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;generate'= {
            cand --comment 'The comment at the end of its public key line [default: NAME]'
            cand --store 'Where the key is made: the agent''s key store, or its PKCS#11 token (`[pkcs11]`: the pair is made on the token, sensitive and never extractable)'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;import'= {
            cand --name 'The key''s name [default: the key''s comment if it is a valid name, else the file name]'
            cand --comment 'The comment for its public key line [default: the file''s, else NAME]'
            cand --store 'Where the key goes: the agent''s key store, or its PKCS#11 token (refused unless --allow-import)'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --passphrase-stdin 'Read an encrypted key''s passphrase from the first line of stdin'
            cand --remove-source 'Delete FILE once the key has been stored and read back from the keyring'
            cand --force 'Use a key file that group or others can read (ssh-add refuses it); with --remove-source, remove the file even though the key store does not survive a reboot (the kernel keyring)'
            cand --allow-import 'With --store pkcs11: write a key that existed outside the token onto it (migration; weaker than `signet generate --store pkcs11`, whose key never left the token)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;register'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;pubkey'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;load'= {
            cand --lifetime 'Unload after this long: 90s, 15m, 8h, 2d, seconds, or 0 for never [default: the key''s `lifetime` in the configuration, else `[agent] default_lifetime`, 8h unless configured]'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --all 'Load every stored key'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;unload'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --all 'Unload every stored key'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;rename'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;doctor'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --fix 'Also drop index entries whose secret is gone from the keyring'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;lock'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --passphrase-stdin 'Read the passphrase from the first line of stdin instead of the terminal'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;unlock'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --passphrase-stdin 'Read the passphrase (with --token: the PIN) from the first line of stdin instead of the terminal'
            cand --token 'Give the user PIN of the agent''s PKCS#11 token (`[pkcs11]` without pin_file or pin_credential): one try; the agent counts wrong PINs and stops before the token would lock'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;unlock-store'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --passphrase-stdin 'Read the passphrase from the first line of stdin instead of asking (for scripts; the first unlock, which chooses the passphrase, then takes it without asking twice)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;lock-store'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;passwd'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --passphrase-stdin 'Read the current passphrase from the first line of stdin and the new one from the second, instead of asking (for scripts)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;sign-request'= {
            cand --key 'The key: name, key id or SHA256 fingerprint [default: $SIGNET_KEY (set by `signet exec --key`), else the only loaded key]'
            cand --secret 'Instead of a signature, the headers of this stored secret (released by its rule, audited): an encord-api-key gives `Authorization: <key>` and `ResourceID: <id>` (v1 /public requests), an encord-bearer `Authorization: Bearer <token>`; --method and the body are then not needed'
            cand --method 'The HTTP method, e.g. GET or POST'
            cand --url 'The request''s full URL, or just its path and query (`/public/user?x=1`)'
            cand --body-file 'A file holding the body, hashed as it is read; `-` reads stdin'
            cand --body 'The body as a string [default: empty]'
            cand --scheme 'The signing scheme'
            cand --format 'How to print the headers [default: headers, or json with --json]. With curl: `signet sign-request … --format curl | curl -K - URL --data-binary @body.json` (not --data, which strips newlines: the body sent must be the body signed)'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;sign'= {
            cand --key 'The key: name, key id or SHA256 fingerprint [default: the only loaded key]'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;install-units'= {
            cand --dir 'Write into this directory instead'
            cand --signetd 'The signetd binary the units start [default: `signetd` next to this `signet`]'
            cand --group 'With --system: the group that owns the socket file (SocketGroup=); it must be in `[system] allow_groups` of the system configuration'
            cand --config 'With --system: the system configuration to read allow_groups and the `source = "credential"` keys from (one LoadCredentialEncrypted= line each)'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --user 'systemd user units (signet.socket, signet.service) into $XDG_CONFIG_HOME/systemd/user'
            cand --system 'systemd system units for build machines (signet-system.socket, signet-system.service) into /etc/systemd/system'
            cand --launchd 'the macOS LaunchAgent com.signet.agent.plist into ~/Library/LaunchAgents'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;exec'= {
            cand --key 'Check that this key (name, key id or SHA256 fingerprint) is loaded, and pass it to the job as SIGNET_KEY, and as ENCORD_SSH_KEY=signet:ID where ID is its key id'
            cand --secret 'Put this stored secret into the job''s environment (and nowhere else): an encord-api-key as ENCORD_API_KEY plus ENCORD_PROJECT_ID or ENCORD_DATASET_ID (--resource-type) holding its resource; an encord-bearer as ENCORD_BEARER_TOKEN. CORD_API_KEY, CORD_PROJECT_ID, CORD_DATASET_ID and whichever of ENCORD_PROJECT_ID/ENCORD_DATASET_ID is not set are removed'
            cand --resource-type 'With --secret and an encord-api-key: whether its resource is a project or a dataset'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;explain'= {
            cand --key 'The key: name, key id or SHA256 fingerprint [default: the only loaded key]'
            cand --method 'The HTTP method (not for --scheme ssh)'
            cand --url 'The request''s full URL, or its path and query (not for --scheme ssh)'
            cand --scheme 'The scheme the request would be signed with'
            cand --as-uid 'Evaluate as this uid (another uid than your own: root or an admin of a system agent only)'
            cand --as-exe 'Evaluate as this executable path [default: this process''s]'
            cand --as-unit 'Evaluate as running in this systemd unit: NAME (a system unit), user:NAME (a user unit) or a cgroup path [default: this process''s]'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --ssh 'Ask about raw SSH signing (ssh, ssh-keygen -Y sign, signet sign)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;secret'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Store an Encord API key or bearer token in the agent''s key store, read from a prompt on the terminal (not echoed) or from stdin with --stdin; never from the command line'
            cand list 'List the stored secrets: name, kind, resource, title, rule, expiry and the fingerprint of the value (never the value)'
            cand remove 'Delete a stored secret from the key store'
            cand mint-bearer 'Ask Encord for a bearer token, signed by an agent key (GET /v2/public/user/bearer-token), and store it as an encord-bearer secret: for a job that cannot reach the agent later'
            cand fingerprint 'Print the fingerprint of a value read from the terminal or stdin, to compare with `signet secret list`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'signet;secret;add'= {
            cand --kind 'What it is'
            cand --resource 'The project or dataset id the API key belongs to'
            cand --scopes 'The API key''s scopes, as created (LABEL_READ,LABEL_WRITE,…): shown by `signet secret list`'
            cand --title 'A title for people'
            cand --lifetime 'Stop releasing it after this long: 8h, 30d, … [default: never, or `[secrets.NAME] lifetime`]'
            cand --value 'Refused: a secret on the command line is visible to every process'
            cand --api-key 'Refused, as --value'
            cand --token 'Refused, as --value'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --replace 'Replace a stored secret of this name (its old value is deleted once the new one is stored)'
            cand --stdin 'Read the value from stdin (all of it, one trailing newline removed)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;secret;list'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;secret;remove'= {
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;secret;mint-bearer'= {
            cand --key 'The agent key that signs the request (name, key id or fingerprint)'
            cand --domain 'Encord''s API [default: $ENCORD_DOMAIN, else `https://api.encord.com`]'
            cand --ca-file 'Trust the CA certificates in this PEM file instead of the built-in roots (a TLS-inspecting proxy, a test stand-in)'
            cand --lifetime 'Stop releasing the token after this long [default: never]'
            cand --title 'A title for people'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --replace 'Replace a stored secret of this name'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;secret;fingerprint'= {
            cand --value 'Refused: a secret on the command line is visible to every process'
            cand --api-key 'Refused, as --value'
            cand --token 'Refused, as --value'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --stdin 'Read the value from stdin (all of it, one trailing newline removed)'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;secret;help'= {
            cand add 'Store an Encord API key or bearer token in the agent''s key store, read from a prompt on the terminal (not echoed) or from stdin with --stdin; never from the command line'
            cand list 'List the stored secrets: name, kind, resource, title, rule, expiry and the fingerprint of the value (never the value)'
            cand remove 'Delete a stored secret from the key store'
            cand mint-bearer 'Ask Encord for a bearer token, signed by an agent key (GET /v2/public/user/bearer-token), and store it as an encord-bearer secret: for a job that cannot reach the agent later'
            cand fingerprint 'Print the fingerprint of a value read from the terminal or stdin, to compare with `signet secret list`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'signet;secret;help;add'= {
        }
        &'signet;secret;help;list'= {
        }
        &'signet;secret;help;remove'= {
        }
        &'signet;secret;help;mint-bearer'= {
        }
        &'signet;secret;help;fingerprint'= {
        }
        &'signet;secret;help;help'= {
        }
        &'signet;audit'= {
            cand --path 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --system 'The system agent''s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand verify 'Check the log and its rotated files: the hash chain, every seal''s signature, the end against the latest seal kept elsewhere (the agent, audit.head) and the rotated files that must exist; names every problem with its file and line (exit 1) or prints what is intact'
            cand tail 'Show the latest entries'
            cand pubkey 'Print the audit public key the agent seals its log with (hex): keep it somewhere safe to verify copies of the log later (--pubkey)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'signet;audit;verify'= {
            cand --pubkey 'Check the seals with this audit public key (64 hex digits, as `signet audit pubkey` printed it) [default: the running agent''s]'
            cand --path 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --system 'The system agent''s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;audit;tail'= {
            cand --key 'Only entries of this key (name or key id)'
            cand -n 'How many entries to show first'
            cand --lines 'How many entries to show first'
            cand --path 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand -f 'Keep printing new entries as they are written'
            cand --follow 'Keep printing new entries as they are written'
            cand --system 'The system agent''s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;audit;pubkey'= {
            cand --path 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --system 'The system agent''s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;audit;help'= {
            cand verify 'Check the log and its rotated files: the hash chain, every seal''s signature, the end against the latest seal kept elsewhere (the agent, audit.head) and the rotated files that must exist; names every problem with its file and line (exit 1) or prints what is intact'
            cand tail 'Show the latest entries'
            cand pubkey 'Print the audit public key the agent seals its log with (hex): keep it somewhere safe to verify copies of the log later (--pubkey)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'signet;audit;help;verify'= {
        }
        &'signet;audit;help;tail'= {
        }
        &'signet;audit;help;pubkey'= {
        }
        &'signet;audit;help;help'= {
        }
        &'signet;completions'= {
            cand --dir 'Write the scripts for every shell into DIR instead (signet.bash, _signet, signet.fish, signet.elv, _signet.ps1)'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;man'= {
            cand --dir 'Write every page into DIR (signet.1, signet-COMMAND.1…, signetd.8)'
            cand --socket 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]'
            cand --json 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'signet;help'= {
            cand start 'Start signetd in the background unless one already answers (here, or at another default socket path: that one is used); prints the line that sets SIGNET_AUTH_SOCK for `eval "$(signet start)"`, for the shell in $SHELL unless --sh, --fish or --csh says otherwise'
            cand env 'Print the shell line that points SIGNET_AUTH_SOCK at the agent (for the shell in $SHELL unless --sh, --fish or --csh says otherwise)'
            cand stop 'Ask the agent to stop, and wait until it has'
            cand status 'Show the agent''s version, pid, socket, lock state, key count (hidden while locked), uptime and key store'
            cand reload 'Make the agent re-read its configuration file, as SIGHUP does, and say whether it took it (an invalid file is refused; the agent keeps the configuration it has)'
            cand add 'Add an Ed25519 private key file to the agent for this session, as `ssh-add` does (`-t` lifetime, `-c` confirm); refuses a key file that others can read unless --force'
            cand list 'List stored and loaded keys: each stored key, whether it is loaded and its expiry, plus keys added for this session only (prints "no keys loaded" and exits 0 when there are none; exits 4 when the agent is locked). With no agent running it still shows the stored keys, read from the index file (keys.toml), marked "not loaded (agent not running)", and exits 3. The table fits the terminal; --wide shows every column in full'
            cand remove 'Unload a key from the agent, as `ssh-add -d` does (--all: every key, `ssh-add -D`). A stored key stays in the OS keyring (`signet load` loads it again; `signet delete` deletes it)'
            cand delete 'Delete a stored key from the OS keyring and the index, unloading it first; asks on a terminal, needs --yes otherwise. This cannot be undone'
            cand generate 'Make a new Ed25519 key inside the agent and store it in the OS keyring (it never touches disk); prints its public key line'
            cand import 'Store an Ed25519 private key file in the OS keyring: OpenSSH (encrypted or not), PKCS#8 PEM, or the private key .txt Encord''s web app downloads; `-` reads stdin'
            cand register 'Show what to paste into Encord to register a key (a stored key, or any key the agent holds), and where'
            cand pubkey 'Print a key''s `ssh-ed25519 AAAA… comment` line (a stored key, or any key the agent holds: session keys, systemd credentials, key files)'
            cand load 'Load stored keys from the OS keyring into the agent'
            cand unload 'Unload stored keys from the agent (they stay in the keyring)'
            cand rename 'Rename a stored key'
            cand doctor 'Check that the key index and the OS keyring agree; finish or undo interrupted operations (exits 1 while problems remain)'
            cand lock 'Lock the agent with a passphrase: it signs nothing and shows no keys until unlocked; loaded keys stay loaded (hidden), and a sealed key store is locked too'
            cand unlock 'Unlock the agent (its loaded keys sign again); with --token, give its PKCS#11 token''s PIN'
            cand unlock-store 'Unlock the sealed key store: asks its passphrase once (the first time, chooses one and seals every key stored so far); `load`, autoload, `generate` and `import` then work without asking until `[store] unlock_idle` (1h) or `unlock_max` (8h) pass, `signet lock` or `lock-store`, SIGUSR1, or the agent stops'
            cand lock-store 'Lock the sealed key store again (the agent forgets its unlock); loaded keys stay loaded'
            cand passwd 'Change the sealed key store''s passphrase (the store key is wrapped again; no key is resealed). With --passphrase-stdin: the current passphrase on the first line, the new one on the second'
            cand sign-request 'Sign an Encord HTTP request and print the headers to add to it'
            cand sign 'Sign a file''s bytes with a loaded key; prints the 64-byte Ed25519 signature in base64'
            cand install-units 'Write the systemd units (--user, --system) or the launchd agent (--launchd) with this installation''s signetd, and print the commands that enable them'
            cand exec 'Run a command (a CI job) with SIGNET_AUTH_SOCK set, after checking that the agent answers and --key is loaded; ENCORD_SSH_KEY becomes the reference `signet:<key id>` (the Encord SDK then signs through the agent), ENCORD_SSH_KEY_FILE is removed; exits with the command''s status'
            cand explain 'Say which policy rule would allow or refuse a request, without signing (exits 0 when it would be signed, 1 when refused)'
            cand secret 'Keep Encord resource API keys and bearer tokens in the agent''s key store, released only to callers a rule allows (docs/secrets.md)'
            cand audit 'Check (`verify`) or show (`tail`) the agent''s hash-chained audit log'
            cand completions 'Print the completion script for a shell (`signet completions bash > /usr/share/bash-completion/completions/signet`), or write all five into a directory with --dir'
            cand man 'Print signet(1) as roff (`signet man | man -l -`), or write every page (signet(1), one signet-COMMAND(1) per command, signetd(8)) into a directory with --dir'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'signet;help;start'= {
        }
        &'signet;help;env'= {
        }
        &'signet;help;stop'= {
        }
        &'signet;help;status'= {
        }
        &'signet;help;reload'= {
        }
        &'signet;help;add'= {
        }
        &'signet;help;list'= {
        }
        &'signet;help;remove'= {
        }
        &'signet;help;delete'= {
        }
        &'signet;help;generate'= {
        }
        &'signet;help;import'= {
        }
        &'signet;help;register'= {
        }
        &'signet;help;pubkey'= {
        }
        &'signet;help;load'= {
        }
        &'signet;help;unload'= {
        }
        &'signet;help;rename'= {
        }
        &'signet;help;doctor'= {
        }
        &'signet;help;lock'= {
        }
        &'signet;help;unlock'= {
        }
        &'signet;help;unlock-store'= {
        }
        &'signet;help;lock-store'= {
        }
        &'signet;help;passwd'= {
        }
        &'signet;help;sign-request'= {
        }
        &'signet;help;sign'= {
        }
        &'signet;help;install-units'= {
        }
        &'signet;help;exec'= {
        }
        &'signet;help;explain'= {
        }
        &'signet;help;secret'= {
            cand add 'Store an Encord API key or bearer token in the agent''s key store, read from a prompt on the terminal (not echoed) or from stdin with --stdin; never from the command line'
            cand list 'List the stored secrets: name, kind, resource, title, rule, expiry and the fingerprint of the value (never the value)'
            cand remove 'Delete a stored secret from the key store'
            cand mint-bearer 'Ask Encord for a bearer token, signed by an agent key (GET /v2/public/user/bearer-token), and store it as an encord-bearer secret: for a job that cannot reach the agent later'
            cand fingerprint 'Print the fingerprint of a value read from the terminal or stdin, to compare with `signet secret list`'
        }
        &'signet;help;secret;add'= {
        }
        &'signet;help;secret;list'= {
        }
        &'signet;help;secret;remove'= {
        }
        &'signet;help;secret;mint-bearer'= {
        }
        &'signet;help;secret;fingerprint'= {
        }
        &'signet;help;audit'= {
            cand verify 'Check the log and its rotated files: the hash chain, every seal''s signature, the end against the latest seal kept elsewhere (the agent, audit.head) and the rotated files that must exist; names every problem with its file and line (exit 1) or prints what is intact'
            cand tail 'Show the latest entries'
            cand pubkey 'Print the audit public key the agent seals its log with (hex): keep it somewhere safe to verify copies of the log later (--pubkey)'
        }
        &'signet;help;audit;verify'= {
        }
        &'signet;help;audit;tail'= {
        }
        &'signet;help;audit;pubkey'= {
        }
        &'signet;help;completions'= {
        }
        &'signet;help;man'= {
        }
        &'signet;help;help'= {
        }
    ]
    $completions[$command]
}
