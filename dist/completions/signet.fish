# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_signet_global_optspecs
    string join \n socket= json h/help V/version
end

function __fish_signet_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_signet_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_signet_using_subcommand
    set -l cmd (__fish_signet_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c signet -n "__fish_signet_needs_command" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_needs_command" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c signet -n "__fish_signet_needs_command" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_needs_command" -f -a "start" -d 'Start signetd in the background unless one already answers (here, or at another default socket path: that one is used); prints the line that sets SIGNET_AUTH_SOCK for `eval "$(signet start)"`, for the shell in $SHELL unless --sh, --fish or --csh says otherwise'
complete -c signet -n "__fish_signet_needs_command" -f -a "env" -d 'Print the shell line that points SIGNET_AUTH_SOCK at the agent (for the shell in $SHELL unless --sh, --fish or --csh says otherwise)'
complete -c signet -n "__fish_signet_needs_command" -f -a "stop" -d 'Ask the agent to stop, and wait until it has'
complete -c signet -n "__fish_signet_needs_command" -f -a "status" -d 'Show the agent\'s version, pid, socket, lock state, key count (hidden while locked), uptime and key store'
complete -c signet -n "__fish_signet_needs_command" -f -a "reload" -d 'Make the agent re-read its configuration file, as SIGHUP does, and say whether it took it (an invalid file is refused; the agent keeps the configuration it has)'
complete -c signet -n "__fish_signet_needs_command" -f -a "add" -d 'Add an Ed25519 private key file to the agent for this session, as `ssh-add` does (`-t` lifetime, `-c` confirm); refuses a key file that others can read unless --force'
complete -c signet -n "__fish_signet_needs_command" -f -a "list" -d 'List stored and loaded keys: each stored key, whether it is loaded and its expiry, plus keys added for this session only (prints "no keys loaded" and exits 0 when there are none; exits 4 when the agent is locked). With no agent running it still shows the stored keys, read from the index file (keys.toml), marked "not loaded (agent not running)", and exits 3. The table fits the terminal; --wide shows every column in full'
complete -c signet -n "__fish_signet_needs_command" -f -a "remove" -d 'Unload a key from the agent, as `ssh-add -d` does (--all: every key, `ssh-add -D`). A stored key stays in the OS keyring (`signet load` loads it again; `signet delete` deletes it)'
complete -c signet -n "__fish_signet_needs_command" -f -a "delete" -d 'Delete a stored key from the OS keyring and the index, unloading it first; asks on a terminal, needs --yes otherwise. This cannot be undone'
complete -c signet -n "__fish_signet_needs_command" -f -a "generate" -d 'Make a new Ed25519 key inside the agent and store it in the OS keyring (it never touches disk); prints its public key line'
complete -c signet -n "__fish_signet_needs_command" -f -a "import" -d 'Store an Ed25519 private key file in the OS keyring: OpenSSH (encrypted or not), PKCS#8 PEM, or the private key .txt Encord\'s web app downloads; `-` reads stdin'
complete -c signet -n "__fish_signet_needs_command" -f -a "register" -d 'Show what to paste into Encord to register a key (a stored key, or any key the agent holds), and where'
complete -c signet -n "__fish_signet_needs_command" -f -a "pubkey" -d 'Print a key\'s `ssh-ed25519 AAAA… comment` line (a stored key, or any key the agent holds: session keys, systemd credentials, key files)'
complete -c signet -n "__fish_signet_needs_command" -f -a "load" -d 'Load stored keys from the OS keyring into the agent'
complete -c signet -n "__fish_signet_needs_command" -f -a "unload" -d 'Unload stored keys from the agent (they stay in the keyring)'
complete -c signet -n "__fish_signet_needs_command" -f -a "rename" -d 'Rename a stored key'
complete -c signet -n "__fish_signet_needs_command" -f -a "doctor" -d 'Check that the key index and the OS keyring agree; finish or undo interrupted operations (exits 1 while problems remain)'
complete -c signet -n "__fish_signet_needs_command" -f -a "lock" -d 'Lock the agent with a passphrase: it signs nothing until unlocked'
complete -c signet -n "__fish_signet_needs_command" -f -a "unlock" -d 'Unlock the agent; with --token, give its PKCS#11 token\'s PIN'
complete -c signet -n "__fish_signet_needs_command" -f -a "sign-request" -d 'Sign an Encord HTTP request and print the headers to add to it'
complete -c signet -n "__fish_signet_needs_command" -f -a "sign" -d 'Sign a file\'s bytes with a loaded key; prints the 64-byte Ed25519 signature in base64'
complete -c signet -n "__fish_signet_needs_command" -f -a "install-units" -d 'Write the systemd units (--user, --system) or the launchd agent (--launchd) with this installation\'s signetd, and print the commands that enable them'
complete -c signet -n "__fish_signet_needs_command" -f -a "exec" -d 'Run a command (a CI job) with SIGNET_AUTH_SOCK set, after checking that the agent answers and --key is loaded; ENCORD_SSH_KEY becomes the reference `signet:<key id>` (the Encord SDK then signs through the agent), ENCORD_SSH_KEY_FILE is removed; exits with the command\'s status'
complete -c signet -n "__fish_signet_needs_command" -f -a "explain" -d 'Say which policy rule would allow or refuse a request, without signing (exits 0 when it would be signed, 1 when refused)'
complete -c signet -n "__fish_signet_needs_command" -f -a "secret" -d 'Keep Encord resource API keys and bearer tokens in the agent\'s key store, released only to callers a rule allows (docs/secrets.md)'
complete -c signet -n "__fish_signet_needs_command" -f -a "audit" -d 'Check (`verify`) or show (`tail`) the agent\'s hash-chained audit log'
complete -c signet -n "__fish_signet_needs_command" -f -a "completions" -d 'Print the completion script for a shell (`signet completions bash > /usr/share/bash-completion/completions/signet`), or write all five into a directory with --dir'
complete -c signet -n "__fish_signet_needs_command" -f -a "man" -d 'Print signet(1) as roff (`signet man | man -l -`), or write every page (signet(1), one signet-COMMAND(1) per command, signetd(8)) into a directory with --dir'
complete -c signet -n "__fish_signet_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c signet -n "__fish_signet_using_subcommand start" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand start" -s s -l sh -d 'Print for sh, bash, zsh (as `ssh-agent -s`)'
complete -c signet -n "__fish_signet_using_subcommand start" -l fish -d 'Print for fish'
complete -c signet -n "__fish_signet_using_subcommand start" -s c -l csh -d 'Print for csh and tcsh (as `ssh-agent -c`)'
complete -c signet -n "__fish_signet_using_subcommand start" -l ssh -d 'Also set SSH_AUTH_SOCK to the agent\'s socket, so that ssh, ssh-add, git and every other SSH agent client use signetd (as the only SSH agent: `eval "$(signet start --ssh)"` replaces `eval "$(ssh-agent)"`)'
complete -c signet -n "__fish_signet_using_subcommand start" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand start" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand start" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand env" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand env" -s s -l sh -d 'Print for sh, bash, zsh (as `ssh-agent -s`)'
complete -c signet -n "__fish_signet_using_subcommand env" -l fish -d 'Print for fish'
complete -c signet -n "__fish_signet_using_subcommand env" -s c -l csh -d 'Print for csh and tcsh (as `ssh-agent -c`)'
complete -c signet -n "__fish_signet_using_subcommand env" -l ssh -d 'Also set SSH_AUTH_SOCK to the agent\'s socket, so that ssh, ssh-add, git and every other SSH agent client use signetd (as the only SSH agent: `eval "$(signet start --ssh)"` replaces `eval "$(ssh-agent)"`)'
complete -c signet -n "__fish_signet_using_subcommand env" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand env" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand env" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand stop" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand stop" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand stop" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand stop" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand status" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand status" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand status" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand status" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand reload" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand reload" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand reload" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand reload" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand add" -l name -d 'The key\'s name [default: the key\'s comment, else the file name]' -r
complete -c signet -n "__fish_signet_using_subcommand add" -s t -l lifetime -d 'Remove the key after this long: 90s, 15m, 8h, 2d, 1h30m, or seconds' -r
complete -c signet -n "__fish_signet_using_subcommand add" -l remember -d 'With --confirm: after a yes, do not ask again for this long when the same process (same pid, start time and executable) uses the key; `signet lock` forgets every such approval' -r
complete -c signet -n "__fish_signet_using_subcommand add" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand add" -s c -l confirm -d 'Ask for confirmation before every use of the key (the agent needs an askpass program: SIGNET_ASKPASS or SSH_ASKPASS in its environment)'
complete -c signet -n "__fish_signet_using_subcommand add" -l passphrase-stdin -d 'Read the key\'s passphrase from the first line of stdin (for scripts)'
complete -c signet -n "__fish_signet_using_subcommand add" -l force -d 'Use a key file that group or others can read (ssh-add refuses it)'
complete -c signet -n "__fish_signet_using_subcommand add" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand add" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand add" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand list" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand list" -s w -l wide -d 'Every column in full (key id, whole fingerprints), however wide'
complete -c signet -n "__fish_signet_using_subcommand list" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand list" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand list" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand remove" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand remove" -s a -l all -d 'Unload every key from the agent (deletes nothing from the keyring)'
complete -c signet -n "__fish_signet_using_subcommand remove" -s y -l yes -d 'Accepted for old scripts and ignored: `remove` never deletes (`signet delete --yes` does)'
complete -c signet -n "__fish_signet_using_subcommand remove" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand remove" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand remove" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand delete" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand delete" -s y -l yes -d 'Delete without asking (required when stdin is not a terminal)'
complete -c signet -n "__fish_signet_using_subcommand delete" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand delete" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand delete" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand generate" -l comment -d 'The comment at the end of its public key line [default: NAME]' -r
complete -c signet -n "__fish_signet_using_subcommand generate" -l store -d 'Where the key is made: the agent\'s key store, or its PKCS#11 token (`[pkcs11]`: the pair is made on the token, sensitive and never extractable)' -r -f -a "keyring\t'The agent\'s key store (OS keyring and index)'
pkcs11\t'The agent\'s PKCS#11 token (`[pkcs11]` in signetd\'s configuration)'"
complete -c signet -n "__fish_signet_using_subcommand generate" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand generate" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c signet -n "__fish_signet_using_subcommand generate" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand import" -l name -d 'The key\'s name [default: the key\'s comment if it is a valid name, else the file name]' -r
complete -c signet -n "__fish_signet_using_subcommand import" -l comment -d 'The comment for its public key line [default: the file\'s, else NAME]' -r
complete -c signet -n "__fish_signet_using_subcommand import" -l store -d 'Where the key goes: the agent\'s key store, or its PKCS#11 token (refused unless --allow-import)' -r -f -a "keyring\t'The agent\'s key store (OS keyring and index)'
pkcs11\t'The agent\'s PKCS#11 token (`[pkcs11]` in signetd\'s configuration)'"
complete -c signet -n "__fish_signet_using_subcommand import" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand import" -l passphrase-stdin -d 'Read an encrypted key\'s passphrase from the first line of stdin'
complete -c signet -n "__fish_signet_using_subcommand import" -l remove-source -d 'Delete FILE once the key has been stored and read back from the keyring'
complete -c signet -n "__fish_signet_using_subcommand import" -l force -d 'Use a key file that group or others can read (ssh-add refuses it)'
complete -c signet -n "__fish_signet_using_subcommand import" -l allow-import -d 'With --store pkcs11: write a key that existed outside the token onto it (migration; weaker than `signet generate --store pkcs11`, whose key never left the token)'
complete -c signet -n "__fish_signet_using_subcommand import" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c signet -n "__fish_signet_using_subcommand import" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand register" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand register" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand register" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand register" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand pubkey" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand pubkey" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand pubkey" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand pubkey" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand load" -l lifetime -d 'Unload after this long: 90s, 15m, 8h, 2d, seconds, or 0 for never [default: the key\'s `lifetime` in the configuration, else `[agent] default_lifetime`, 8h unless configured]' -r
complete -c signet -n "__fish_signet_using_subcommand load" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand load" -l all -d 'Load every stored key'
complete -c signet -n "__fish_signet_using_subcommand load" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand load" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand load" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand unload" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand unload" -l all -d 'Unload every stored key'
complete -c signet -n "__fish_signet_using_subcommand unload" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand unload" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand unload" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand rename" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand rename" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand rename" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand rename" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand doctor" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand doctor" -l fix -d 'Also drop index entries whose secret is gone from the keyring'
complete -c signet -n "__fish_signet_using_subcommand doctor" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand lock" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand lock" -l passphrase-stdin -d 'Read the passphrase from the first line of stdin instead of the terminal'
complete -c signet -n "__fish_signet_using_subcommand lock" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand lock" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand lock" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand unlock" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand unlock" -l passphrase-stdin -d 'Read the passphrase (with --token: the PIN) from the first line of stdin instead of the terminal'
complete -c signet -n "__fish_signet_using_subcommand unlock" -l token -d 'Give the user PIN of the agent\'s PKCS#11 token (`[pkcs11]` without pin_file or pin_credential): one try; the agent counts wrong PINs and stops before the token would lock'
complete -c signet -n "__fish_signet_using_subcommand unlock" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand unlock" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand unlock" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l key -d 'The key: name, key id or SHA256 fingerprint [default: $SIGNET_KEY (set by `signet exec --key`), else the only loaded key]' -r
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l secret -d 'Instead of a signature, the headers of this stored secret (released by its rule, audited): an encord-api-key gives `Authorization: <key>` and `ResourceID: <id>` (v1 /public requests), an encord-bearer `Authorization: Bearer <token>`; --method and the body are then not needed' -r
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l method -d 'The HTTP method, e.g. GET or POST' -r
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l url -d 'The request\'s full URL, or just its path and query (`/public/user?x=1`)' -r
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l body-file -d 'A file holding the body, hashed as it is read; `-` reads stdin' -r -F
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l body -d 'The body as a string [default: empty]' -r
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l scheme -d 'The signing scheme' -r -f -a "encord-v1\t'`Authorization: <key id>:<signature of the body\'s SHA-256>`'
encord-v2\t'RFC 9421 `Content-Digest`, `Signature-Input` and `Signature`'"
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l format -d 'How to print the headers [default: headers, or json with --json]. With curl: `signet sign-request … --format curl | curl -K - URL --data-binary @body.json` (not --data, which strips newlines: the body sent must be the body signed)' -r -f -a "headers\t'One `Name: value` line per header (`curl -H @-` reads them)'
json\t'`{"created": N, "headers": [{"name": …, "value": …}]}`'
curl\t'A curl config, one `header = "Name: value"` line per header: pipe it into `curl -K - URL --data-binary @FILE` (or `curl -K <(signet sign-request …)`), no quoting needed'"
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand sign-request" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand sign-request" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c signet -n "__fish_signet_using_subcommand sign-request" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand sign" -l key -d 'The key: name, key id or SHA256 fingerprint [default: the only loaded key]' -r
complete -c signet -n "__fish_signet_using_subcommand sign" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand sign" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand sign" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand sign" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand install-units" -l dir -d 'Write into this directory instead' -r -F
complete -c signet -n "__fish_signet_using_subcommand install-units" -l signetd -d 'The signetd binary the units start [default: `signetd` next to this `signet`]' -r -F
complete -c signet -n "__fish_signet_using_subcommand install-units" -l group -d 'With --system: the group that owns the socket file (SocketGroup=); it must be in `[system] allow_groups` of the system configuration' -r
complete -c signet -n "__fish_signet_using_subcommand install-units" -l config -d 'With --system: the system configuration to read allow_groups and the `source = "credential"` keys from (one LoadCredentialEncrypted= line each)' -r -F
complete -c signet -n "__fish_signet_using_subcommand install-units" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand install-units" -l user -d 'systemd user units (signet.socket, signet.service) into $XDG_CONFIG_HOME/systemd/user'
complete -c signet -n "__fish_signet_using_subcommand install-units" -l system -d 'systemd system units for build machines (signet-system.socket, signet-system.service) into /etc/systemd/system'
complete -c signet -n "__fish_signet_using_subcommand install-units" -l launchd -d 'the macOS LaunchAgent com.signet.agent.plist into ~/Library/LaunchAgents'
complete -c signet -n "__fish_signet_using_subcommand install-units" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand install-units" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand install-units" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand exec" -l key -d 'Check that this key (name, key id or SHA256 fingerprint) is loaded, and pass it to the job as SIGNET_KEY, and as ENCORD_SSH_KEY=signet:ID where ID is its key id' -r
complete -c signet -n "__fish_signet_using_subcommand exec" -l secret -d 'Put this stored secret into the job\'s environment (and nowhere else): an encord-api-key as ENCORD_API_KEY plus ENCORD_PROJECT_ID or ENCORD_DATASET_ID (--resource-type) holding its resource; an encord-bearer as ENCORD_BEARER_TOKEN. CORD_API_KEY, CORD_PROJECT_ID, CORD_DATASET_ID and whichever of ENCORD_PROJECT_ID/ENCORD_DATASET_ID is not set are removed' -r
complete -c signet -n "__fish_signet_using_subcommand exec" -l resource-type -d 'With --secret and an encord-api-key: whether its resource is a project or a dataset' -r -f -a "project\t'ENCORD_PROJECT_ID'
dataset\t'ENCORD_DATASET_ID'"
complete -c signet -n "__fish_signet_using_subcommand exec" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand exec" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c signet -n "__fish_signet_using_subcommand exec" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand explain" -l key -d 'The key: name, key id or SHA256 fingerprint [default: the only loaded key]' -r
complete -c signet -n "__fish_signet_using_subcommand explain" -l method -d 'The HTTP method (not for --scheme ssh)' -r
complete -c signet -n "__fish_signet_using_subcommand explain" -l url -d 'The request\'s full URL, or its path and query (not for --scheme ssh)' -r
complete -c signet -n "__fish_signet_using_subcommand explain" -l scheme -d 'The scheme the request would be signed with' -r -f -a "encord-v1\t'Encord v1 (`Authorization` header)'
encord-v2\t'Encord v2 (RFC 9421)'"
complete -c signet -n "__fish_signet_using_subcommand explain" -l as-uid -d 'Evaluate as this uid (another uid than your own: root or an admin of a system agent only)' -r
complete -c signet -n "__fish_signet_using_subcommand explain" -l as-exe -d 'Evaluate as this executable path [default: this process\'s]' -r
complete -c signet -n "__fish_signet_using_subcommand explain" -l as-unit -d 'Evaluate as running in this systemd unit: NAME (a system unit), user:NAME (a user unit) or a cgroup path [default: this process\'s]' -r
complete -c signet -n "__fish_signet_using_subcommand explain" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand explain" -l ssh -d 'Ask about raw SSH signing (ssh, ssh-keygen -Y sign, signet sign)'
complete -c signet -n "__fish_signet_using_subcommand explain" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c signet -n "__fish_signet_using_subcommand explain" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -f -a "add" -d 'Store an Encord API key or bearer token in the agent\'s key store, read from a prompt on the terminal (not echoed) or from stdin with --stdin; never from the command line'
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -f -a "list" -d 'List the stored secrets: name, kind, resource, title, rule, expiry and the fingerprint of the value (never the value)'
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -f -a "remove" -d 'Delete a stored secret from the key store'
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -f -a "mint-bearer" -d 'Ask Encord for a bearer token, signed by an agent key (GET /v2/public/user/bearer-token), and store it as an encord-bearer secret: for a job that cannot reach the agent later'
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -f -a "fingerprint" -d 'Print the fingerprint of a value read from the terminal or stdin, to compare with `signet secret list`'
complete -c signet -n "__fish_signet_using_subcommand secret; and not __fish_seen_subcommand_from add list remove mint-bearer fingerprint help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l kind -d 'What it is' -r -f -a "encord-api-key\t'A project\'s or dataset\'s API key (Encord SDK up to 0.1.145): needs --resource'
encord-bearer\t'A bearer token (EncordUserClient.create_with_bearer_token)'"
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l resource -d 'The project or dataset id the API key belongs to' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l scopes -d 'The API key\'s scopes, as created (LABEL_READ,LABEL_WRITE,…): shown by `signet secret list`' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l title -d 'A title for people' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l lifetime -d 'Stop releasing it after this long: 8h, 30d, … [default: never, or `[secrets.NAME] lifetime`]' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l value -d 'Refused: a secret on the command line is visible to every process' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l api-key -d 'Refused, as --value' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l token -d 'Refused, as --value' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l replace -d 'Replace a stored secret of this name (its old value is deleted once the new one is stored)'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l stdin -d 'Read the value from stdin (all of it, one trailing newline removed)'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from list" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from list" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from remove" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from remove" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -l key -d 'The agent key that signs the request (name, key id or fingerprint)' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -l domain -d 'Encord\'s API [default: $ENCORD_DOMAIN, else `https://api.encord.com`]' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -l ca-file -d 'Trust the CA certificates in this PEM file instead of the built-in roots (a TLS-inspecting proxy, a test stand-in)' -r -F
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -l lifetime -d 'Stop releasing the token after this long [default: never]' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -l title -d 'A title for people' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -l replace -d 'Replace a stored secret of this name'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from mint-bearer" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from fingerprint" -l value -d 'Refused: a secret on the command line is visible to every process' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from fingerprint" -l api-key -d 'Refused, as --value' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from fingerprint" -l token -d 'Refused, as --value' -r
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from fingerprint" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from fingerprint" -l stdin -d 'Read the value from stdin (all of it, one trailing newline removed)'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from fingerprint" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from fingerprint" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from fingerprint" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "add" -d 'Store an Encord API key or bearer token in the agent\'s key store, read from a prompt on the terminal (not echoed) or from stdin with --stdin; never from the command line'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the stored secrets: name, kind, resource, title, rule, expiry and the fingerprint of the value (never the value)'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Delete a stored secret from the key store'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "mint-bearer" -d 'Ask Encord for a bearer token, signed by an agent key (GET /v2/public/user/bearer-token), and store it as an encord-bearer secret: for a job that cannot reach the agent later'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "fingerprint" -d 'Print the fingerprint of a value read from the terminal or stdin, to compare with `signet secret list`'
complete -c signet -n "__fish_signet_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -l path -d 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]' -r -F
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -l system -d 'The system agent\'s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log'
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -f -a "verify" -d 'Check the log and its rotated files: the hash chain, every seal\'s signature, the end against the latest seal kept elsewhere (the agent, audit.head) and the rotated files that must exist; names every problem with its file and line (exit 1) or prints what is intact'
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -f -a "tail" -d 'Show the latest entries'
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -f -a "pubkey" -d 'Print the audit public key the agent seals its log with (hex): keep it somewhere safe to verify copies of the log later (--pubkey)'
complete -c signet -n "__fish_signet_using_subcommand audit; and not __fish_seen_subcommand_from verify tail pubkey help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from verify" -l pubkey -d 'Check the seals with this audit public key (64 hex digits, as `signet audit pubkey` printed it) [default: the running agent\'s]' -r
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from verify" -l path -d 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]' -r -F
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from verify" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from verify" -l system -d 'The system agent\'s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from verify" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from tail" -l key -d 'Only entries of this key (name or key id)' -r
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from tail" -s n -l lines -d 'How many entries to show first' -r
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from tail" -l path -d 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]' -r -F
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from tail" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from tail" -s f -l follow -d 'Keep printing new entries as they are written'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from tail" -l system -d 'The system agent\'s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from tail" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from tail" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from tail" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from pubkey" -l path -d 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]' -r -F
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from pubkey" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from pubkey" -l system -d 'The system agent\'s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from pubkey" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from pubkey" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from pubkey" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check the log and its rotated files: the hash chain, every seal\'s signature, the end against the latest seal kept elsewhere (the agent, audit.head) and the rotated files that must exist; names every problem with its file and line (exit 1) or prints what is intact'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "tail" -d 'Show the latest entries'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "pubkey" -d 'Print the audit public key the agent seals its log with (hex): keep it somewhere safe to verify copies of the log later (--pubkey)'
complete -c signet -n "__fish_signet_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c signet -n "__fish_signet_using_subcommand completions" -l dir -d 'Write the scripts for every shell into DIR instead (signet.bash, _signet, signet.fish, signet.elv, _signet.ps1)' -r -F
complete -c signet -n "__fish_signet_using_subcommand completions" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand completions" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c signet -n "__fish_signet_using_subcommand completions" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand man" -l dir -d 'Write every page into DIR (signet.1, signet-COMMAND.1…, signetd.8)' -r -F
complete -c signet -n "__fish_signet_using_subcommand man" -l socket -d 'The agent\'s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]' -r -F
complete -c signet -n "__fish_signet_using_subcommand man" -l json -d 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged'
complete -c signet -n "__fish_signet_using_subcommand man" -s h -l help -d 'Print help'
complete -c signet -n "__fish_signet_using_subcommand man" -s V -l version -d 'Print version'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "start" -d 'Start signetd in the background unless one already answers (here, or at another default socket path: that one is used); prints the line that sets SIGNET_AUTH_SOCK for `eval "$(signet start)"`, for the shell in $SHELL unless --sh, --fish or --csh says otherwise'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "env" -d 'Print the shell line that points SIGNET_AUTH_SOCK at the agent (for the shell in $SHELL unless --sh, --fish or --csh says otherwise)'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "stop" -d 'Ask the agent to stop, and wait until it has'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "status" -d 'Show the agent\'s version, pid, socket, lock state, key count (hidden while locked), uptime and key store'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "reload" -d 'Make the agent re-read its configuration file, as SIGHUP does, and say whether it took it (an invalid file is refused; the agent keeps the configuration it has)'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "add" -d 'Add an Ed25519 private key file to the agent for this session, as `ssh-add` does (`-t` lifetime, `-c` confirm); refuses a key file that others can read unless --force'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "list" -d 'List stored and loaded keys: each stored key, whether it is loaded and its expiry, plus keys added for this session only (prints "no keys loaded" and exits 0 when there are none; exits 4 when the agent is locked). With no agent running it still shows the stored keys, read from the index file (keys.toml), marked "not loaded (agent not running)", and exits 3. The table fits the terminal; --wide shows every column in full'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "remove" -d 'Unload a key from the agent, as `ssh-add -d` does (--all: every key, `ssh-add -D`). A stored key stays in the OS keyring (`signet load` loads it again; `signet delete` deletes it)'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "delete" -d 'Delete a stored key from the OS keyring and the index, unloading it first; asks on a terminal, needs --yes otherwise. This cannot be undone'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "generate" -d 'Make a new Ed25519 key inside the agent and store it in the OS keyring (it never touches disk); prints its public key line'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "import" -d 'Store an Ed25519 private key file in the OS keyring: OpenSSH (encrypted or not), PKCS#8 PEM, or the private key .txt Encord\'s web app downloads; `-` reads stdin'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "register" -d 'Show what to paste into Encord to register a key (a stored key, or any key the agent holds), and where'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "pubkey" -d 'Print a key\'s `ssh-ed25519 AAAA… comment` line (a stored key, or any key the agent holds: session keys, systemd credentials, key files)'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "load" -d 'Load stored keys from the OS keyring into the agent'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "unload" -d 'Unload stored keys from the agent (they stay in the keyring)'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "rename" -d 'Rename a stored key'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "doctor" -d 'Check that the key index and the OS keyring agree; finish or undo interrupted operations (exits 1 while problems remain)'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "lock" -d 'Lock the agent with a passphrase: it signs nothing until unlocked'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "unlock" -d 'Unlock the agent; with --token, give its PKCS#11 token\'s PIN'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "sign-request" -d 'Sign an Encord HTTP request and print the headers to add to it'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "sign" -d 'Sign a file\'s bytes with a loaded key; prints the 64-byte Ed25519 signature in base64'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "install-units" -d 'Write the systemd units (--user, --system) or the launchd agent (--launchd) with this installation\'s signetd, and print the commands that enable them'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "exec" -d 'Run a command (a CI job) with SIGNET_AUTH_SOCK set, after checking that the agent answers and --key is loaded; ENCORD_SSH_KEY becomes the reference `signet:<key id>` (the Encord SDK then signs through the agent), ENCORD_SSH_KEY_FILE is removed; exits with the command\'s status'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "explain" -d 'Say which policy rule would allow or refuse a request, without signing (exits 0 when it would be signed, 1 when refused)'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "secret" -d 'Keep Encord resource API keys and bearer tokens in the agent\'s key store, released only to callers a rule allows (docs/secrets.md)'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "audit" -d 'Check (`verify`) or show (`tail`) the agent\'s hash-chained audit log'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "completions" -d 'Print the completion script for a shell (`signet completions bash > /usr/share/bash-completion/completions/signet`), or write all five into a directory with --dir'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "man" -d 'Print signet(1) as roff (`signet man | man -l -`), or write every page (signet(1), one signet-COMMAND(1) per command, signetd(8)) into a directory with --dir'
complete -c signet -n "__fish_signet_using_subcommand help; and not __fish_seen_subcommand_from start env stop status reload add list remove delete generate import register pubkey load unload rename doctor lock unlock sign-request sign install-units exec explain secret audit completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c signet -n "__fish_signet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "add" -d 'Store an Encord API key or bearer token in the agent\'s key store, read from a prompt on the terminal (not echoed) or from stdin with --stdin; never from the command line'
complete -c signet -n "__fish_signet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "list" -d 'List the stored secrets: name, kind, resource, title, rule, expiry and the fingerprint of the value (never the value)'
complete -c signet -n "__fish_signet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "remove" -d 'Delete a stored secret from the key store'
complete -c signet -n "__fish_signet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "mint-bearer" -d 'Ask Encord for a bearer token, signed by an agent key (GET /v2/public/user/bearer-token), and store it as an encord-bearer secret: for a job that cannot reach the agent later'
complete -c signet -n "__fish_signet_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "fingerprint" -d 'Print the fingerprint of a value read from the terminal or stdin, to compare with `signet secret list`'
complete -c signet -n "__fish_signet_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "verify" -d 'Check the log and its rotated files: the hash chain, every seal\'s signature, the end against the latest seal kept elsewhere (the agent, audit.head) and the rotated files that must exist; names every problem with its file and line (exit 1) or prints what is intact'
complete -c signet -n "__fish_signet_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "tail" -d 'Show the latest entries'
complete -c signet -n "__fish_signet_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "pubkey" -d 'Print the audit public key the agent seals its log with (hex): keep it somewhere safe to verify copies of the log later (--pubkey)'
