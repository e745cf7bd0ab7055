
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'signet' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'signet'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'signet' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start signetd in the background unless one already answers (here, or at another default socket path: that one is used); prints the line that sets SIGNET_AUTH_SOCK for `eval "$(signet start)"`, for the shell in $SHELL unless --sh, --fish or --csh says otherwise')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Print the shell line that points SIGNET_AUTH_SOCK at the agent (for the shell in $SHELL unless --sh, --fish or --csh says otherwise)')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Ask the agent to stop, and wait until it has')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the agent''s version, pid, socket, lock state, key count (hidden while locked), uptime and key store')
            [CompletionResult]::new('reload', 'reload', [CompletionResultType]::ParameterValue, 'Make the agent re-read its configuration file, as SIGHUP does, and say whether it took it (an invalid file is refused; the agent keeps the configuration it has)')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add an Ed25519 private key file to the agent for this session, as `ssh-add` does (`-t` lifetime, `-c` confirm); refuses a key file that others can read unless --force')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored and loaded keys: each stored key, whether it is loaded and its expiry, plus keys added for this session only (prints "no keys loaded" and exits 0 when there are none; exits 4 when the agent is locked). With no agent running it still shows the stored keys, read from the index file (keys.toml), marked "not loaded (agent not running)", and exits 3. The table fits the terminal; --wide shows every column in full')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Unload a key from the agent, as `ssh-add -d` does (--all: every key, `ssh-add -D`). A stored key stays in the OS keyring (`signet load` loads it again; `signet delete` deletes it)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a stored key from the OS keyring and the index, unloading it first; asks on a terminal, needs --yes otherwise. This cannot be undone')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Make a new Ed25519 key inside the agent and store it in the OS keyring (it never touches disk); prints its public key line')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Store an Ed25519 private key file in the OS keyring: OpenSSH (encrypted or not), PKCS#8 PEM, or the private key .txt Encord''s web app downloads; `-` reads stdin')
            [CompletionResult]::new('register', 'register', [CompletionResultType]::ParameterValue, 'Show what to paste into Encord to register a key (a stored key, or any key the agent holds), and where')
            [CompletionResult]::new('pubkey', 'pubkey', [CompletionResultType]::ParameterValue, 'Print a key''s `ssh-ed25519 AAAA… comment` line (a stored key, or any key the agent holds: session keys, systemd credentials, key files)')
            [CompletionResult]::new('load', 'load', [CompletionResultType]::ParameterValue, 'Load stored keys from the OS keyring into the agent')
            [CompletionResult]::new('unload', 'unload', [CompletionResultType]::ParameterValue, 'Unload stored keys from the agent (they stay in the keyring)')
            [CompletionResult]::new('rename', 'rename', [CompletionResultType]::ParameterValue, 'Rename a stored key')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check that the key index and the OS keyring agree; finish or undo interrupted operations (exits 1 while problems remain)')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Lock the agent with a passphrase: it signs nothing and shows no keys until unlocked; loaded keys stay loaded (hidden), and a sealed key store is locked too')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Unlock the agent (its loaded keys sign again); with --token, give its PKCS#11 token''s PIN')
            [CompletionResult]::new('unlock-store', 'unlock-store', [CompletionResultType]::ParameterValue, 'Unlock the sealed key store: asks its passphrase once (the first time, chooses one and seals every key stored so far); `load`, autoload, `generate` and `import` then work without asking until `[store] unlock_idle` (1h) or `unlock_max` (8h) pass, `signet lock` or `lock-store`, SIGUSR1, or the agent stops')
            [CompletionResult]::new('lock-store', 'lock-store', [CompletionResultType]::ParameterValue, 'Lock the sealed key store again (the agent forgets its unlock); loaded keys stay loaded')
            [CompletionResult]::new('passwd', 'passwd', [CompletionResultType]::ParameterValue, 'Change the sealed key store''s passphrase (the store key is wrapped again; no key is resealed). With --passphrase-stdin: the current passphrase on the first line, the new one on the second')
            [CompletionResult]::new('sign-request', 'sign-request', [CompletionResultType]::ParameterValue, 'Sign an Encord HTTP request and print the headers to add to it')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Sign a file''s bytes with a loaded key; prints the 64-byte Ed25519 signature in base64')
            [CompletionResult]::new('install-units', 'install-units', [CompletionResultType]::ParameterValue, 'Write the systemd units (--user, --system) or the launchd agent (--launchd) with this installation''s signetd, and print the commands that enable them')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command (a CI job) with SIGNET_AUTH_SOCK set, after checking that the agent answers and --key is loaded; ENCORD_SSH_KEY becomes the reference `signet:<key id>` (the Encord SDK then signs through the agent), ENCORD_SSH_KEY_FILE is removed; exits with the command''s status')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Say which policy rule would allow or refuse a request, without signing (exits 0 when it would be signed, 1 when refused)')
            [CompletionResult]::new('secret', 'secret', [CompletionResultType]::ParameterValue, 'Keep Encord resource API keys and bearer tokens in the agent''s key store, released only to callers a rule allows (docs/secrets.md)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Check (`verify`) or show (`tail`) the agent''s hash-chained audit log')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for a shell (`signet completions bash > /usr/share/bash-completion/completions/signet`), or write all five into a directory with --dir')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print signet(1) as roff (`signet man | man -l -`), or write every page (signet(1), one signet-COMMAND(1) per command, signetd(8)) into a directory with --dir')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'signet;start' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Print for sh, bash, zsh (as `ssh-agent -s`)')
            [CompletionResult]::new('--sh', '--sh', [CompletionResultType]::ParameterName, 'Print for sh, bash, zsh (as `ssh-agent -s`)')
            [CompletionResult]::new('--fish', '--fish', [CompletionResultType]::ParameterName, 'Print for fish')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Print for csh and tcsh (as `ssh-agent -c`)')
            [CompletionResult]::new('--csh', '--csh', [CompletionResultType]::ParameterName, 'Print for csh and tcsh (as `ssh-agent -c`)')
            [CompletionResult]::new('--ssh', '--ssh', [CompletionResultType]::ParameterName, 'Also set SSH_AUTH_SOCK to the agent''s socket, so that ssh, ssh-add, git and every other SSH agent client use signetd (as the only SSH agent: `eval "$(signet start --ssh)"` replaces `eval "$(ssh-agent)"`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;env' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Print for sh, bash, zsh (as `ssh-agent -s`)')
            [CompletionResult]::new('--sh', '--sh', [CompletionResultType]::ParameterName, 'Print for sh, bash, zsh (as `ssh-agent -s`)')
            [CompletionResult]::new('--fish', '--fish', [CompletionResultType]::ParameterName, 'Print for fish')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Print for csh and tcsh (as `ssh-agent -c`)')
            [CompletionResult]::new('--csh', '--csh', [CompletionResultType]::ParameterName, 'Print for csh and tcsh (as `ssh-agent -c`)')
            [CompletionResult]::new('--ssh', '--ssh', [CompletionResultType]::ParameterName, 'Also set SSH_AUTH_SOCK to the agent''s socket, so that ssh, ssh-add, git and every other SSH agent client use signetd (as the only SSH agent: `eval "$(signet start --ssh)"` replaces `eval "$(ssh-agent)"`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;stop' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;status' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;reload' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;add' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The key''s name [default: the key''s comment, else the file name]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Remove the key after this long: 90s, 15m, 8h, 2d, 1h30m, or seconds')
            [CompletionResult]::new('--lifetime', '--lifetime', [CompletionResultType]::ParameterName, 'Remove the key after this long: 90s, 15m, 8h, 2d, 1h30m, or seconds')
            [CompletionResult]::new('--remember', '--remember', [CompletionResultType]::ParameterName, 'With --confirm: after a yes, do not ask again for this long when the same process (same pid, start time and executable) uses the key; `signet lock` forgets every such approval')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Ask for confirmation before every use of the key (the agent needs an askpass program: SIGNET_ASKPASS or SSH_ASKPASS in its environment)')
            [CompletionResult]::new('--confirm', '--confirm', [CompletionResultType]::ParameterName, 'Ask for confirmation before every use of the key (the agent needs an askpass program: SIGNET_ASKPASS or SSH_ASKPASS in its environment)')
            [CompletionResult]::new('--passphrase-stdin', '--passphrase-stdin', [CompletionResultType]::ParameterName, 'Read the key''s passphrase from the first line of stdin (for scripts)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Use a key file that group or others can read (ssh-add refuses it)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;list' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Every column in full (key id, whole fingerprints), however wide')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Every column in full (key id, whole fingerprints), however wide')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;remove' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Unload every key from the agent (deletes nothing from the keyring)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Unload every key from the agent (deletes nothing from the keyring)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Accepted for old scripts and ignored: `remove` never deletes (`signet delete --yes` does)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Accepted for old scripts and ignored: `remove` never deletes (`signet delete --yes` does)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;delete' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Delete without asking (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Delete without asking (required when stdin is not a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;generate' {
            [CompletionResult]::new('--comment', '--comment', [CompletionResultType]::ParameterName, 'The comment at the end of its public key line [default: NAME]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where the key is made: the agent''s key store, or its PKCS#11 token (`[pkcs11]`: the pair is made on the token, sensitive and never extractable)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;import' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The key''s name [default: the key''s comment if it is a valid name, else the file name]')
            [CompletionResult]::new('--comment', '--comment', [CompletionResultType]::ParameterName, 'The comment for its public key line [default: the file''s, else NAME]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where the key goes: the agent''s key store, or its PKCS#11 token (refused unless --allow-import)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--passphrase-stdin', '--passphrase-stdin', [CompletionResultType]::ParameterName, 'Read an encrypted key''s passphrase from the first line of stdin')
            [CompletionResult]::new('--remove-source', '--remove-source', [CompletionResultType]::ParameterName, 'Delete FILE once the key has been stored and read back from the keyring')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Use a key file that group or others can read (ssh-add refuses it); with --remove-source, remove the file even though the key store does not survive a reboot (the kernel keyring)')
            [CompletionResult]::new('--allow-import', '--allow-import', [CompletionResultType]::ParameterName, 'With --store pkcs11: write a key that existed outside the token onto it (migration; weaker than `signet generate --store pkcs11`, whose key never left the token)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;register' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;pubkey' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;load' {
            [CompletionResult]::new('--lifetime', '--lifetime', [CompletionResultType]::ParameterName, 'Unload after this long: 90s, 15m, 8h, 2d, seconds, or 0 for never [default: the key''s `lifetime` in the configuration, else `[agent] default_lifetime`, 8h unless configured]')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Load every stored key')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;unload' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Unload every stored key')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;rename' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;doctor' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'Also drop index entries whose secret is gone from the keyring')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;lock' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--passphrase-stdin', '--passphrase-stdin', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of stdin instead of the terminal')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;unlock' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--passphrase-stdin', '--passphrase-stdin', [CompletionResultType]::ParameterName, 'Read the passphrase (with --token: the PIN) from the first line of stdin instead of the terminal')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Give the user PIN of the agent''s PKCS#11 token (`[pkcs11]` without pin_file or pin_credential): one try; the agent counts wrong PINs and stops before the token would lock')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;unlock-store' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--passphrase-stdin', '--passphrase-stdin', [CompletionResultType]::ParameterName, 'Read the passphrase from the first line of stdin instead of asking (for scripts; the first unlock, which chooses the passphrase, then takes it without asking twice)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;lock-store' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;passwd' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--passphrase-stdin', '--passphrase-stdin', [CompletionResultType]::ParameterName, 'Read the current passphrase from the first line of stdin and the new one from the second, instead of asking (for scripts)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;sign-request' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key: name, key id or SHA256 fingerprint [default: $SIGNET_KEY (set by `signet exec --key`), else the only loaded key]')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Instead of a signature, the headers of this stored secret (released by its rule, audited): an encord-api-key gives `Authorization: <key>` and `ResourceID: <id>` (v1 /public requests), an encord-bearer `Authorization: Bearer <token>`; --method and the body are then not needed')
            [CompletionResult]::new('--method', '--method', [CompletionResultType]::ParameterName, 'The HTTP method, e.g. GET or POST')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The request''s full URL, or just its path and query (`/public/user?x=1`)')
            [CompletionResult]::new('--body-file', '--body-file', [CompletionResultType]::ParameterName, 'A file holding the body, hashed as it is read; `-` reads stdin')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'The body as a string [default: empty]')
            [CompletionResult]::new('--scheme', '--scheme', [CompletionResultType]::ParameterName, 'The signing scheme')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print the headers [default: headers, or json with --json]. With curl: `signet sign-request … --format curl | curl -K - URL --data-binary @body.json` (not --data, which strips newlines: the body sent must be the body signed)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;sign' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key: name, key id or SHA256 fingerprint [default: the only loaded key]')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;install-units' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write into this directory instead')
            [CompletionResult]::new('--signetd', '--signetd', [CompletionResultType]::ParameterName, 'The signetd binary the units start [default: `signetd` next to this `signet`]')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'With --system: the group that owns the socket file (SocketGroup=); it must be in `[system] allow_groups` of the system configuration')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'With --system: the system configuration to read allow_groups and the `source = "credential"` keys from (one LoadCredentialEncrypted= line each)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'systemd user units (signet.socket, signet.service) into $XDG_CONFIG_HOME/systemd/user')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'systemd system units for build machines (signet-system.socket, signet-system.service) into /etc/systemd/system')
            [CompletionResult]::new('--launchd', '--launchd', [CompletionResultType]::ParameterName, 'the macOS LaunchAgent com.signet.agent.plist into ~/Library/LaunchAgents')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;exec' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Check that this key (name, key id or SHA256 fingerprint) is loaded, and pass it to the job as SIGNET_KEY, and as ENCORD_SSH_KEY=signet:ID where ID is its key id')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Put this stored secret into the job''s environment (and nowhere else): an encord-api-key as ENCORD_API_KEY plus ENCORD_PROJECT_ID or ENCORD_DATASET_ID (--resource-type) holding its resource; an encord-bearer as ENCORD_BEARER_TOKEN. CORD_API_KEY, CORD_PROJECT_ID, CORD_DATASET_ID and whichever of ENCORD_PROJECT_ID/ENCORD_DATASET_ID is not set are removed')
            [CompletionResult]::new('--resource-type', '--resource-type', [CompletionResultType]::ParameterName, 'With --secret and an encord-api-key: whether its resource is a project or a dataset')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;explain' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key: name, key id or SHA256 fingerprint [default: the only loaded key]')
            [CompletionResult]::new('--method', '--method', [CompletionResultType]::ParameterName, 'The HTTP method (not for --scheme ssh)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'The request''s full URL, or its path and query (not for --scheme ssh)')
            [CompletionResult]::new('--scheme', '--scheme', [CompletionResultType]::ParameterName, 'The scheme the request would be signed with')
            [CompletionResult]::new('--as-uid', '--as-uid', [CompletionResultType]::ParameterName, 'Evaluate as this uid (another uid than your own: root or an admin of a system agent only)')
            [CompletionResult]::new('--as-exe', '--as-exe', [CompletionResultType]::ParameterName, 'Evaluate as this executable path [default: this process''s]')
            [CompletionResult]::new('--as-unit', '--as-unit', [CompletionResultType]::ParameterName, 'Evaluate as running in this systemd unit: NAME (a system unit), user:NAME (a user unit) or a cgroup path [default: this process''s]')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--ssh', '--ssh', [CompletionResultType]::ParameterName, 'Ask about raw SSH signing (ssh, ssh-keygen -Y sign, signet sign)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;secret' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Store an Encord API key or bearer token in the agent''s key store, read from a prompt on the terminal (not echoed) or from stdin with --stdin; never from the command line')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the stored secrets: name, kind, resource, title, rule, expiry and the fingerprint of the value (never the value)')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete a stored secret from the key store')
            [CompletionResult]::new('mint-bearer', 'mint-bearer', [CompletionResultType]::ParameterValue, 'Ask Encord for a bearer token, signed by an agent key (GET /v2/public/user/bearer-token), and store it as an encord-bearer secret: for a job that cannot reach the agent later')
            [CompletionResult]::new('fingerprint', 'fingerprint', [CompletionResultType]::ParameterValue, 'Print the fingerprint of a value read from the terminal or stdin, to compare with `signet secret list`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'signet;secret;add' {
            [CompletionResult]::new('--kind', '--kind', [CompletionResultType]::ParameterName, 'What it is')
            [CompletionResult]::new('--resource', '--resource', [CompletionResultType]::ParameterName, 'The project or dataset id the API key belongs to')
            [CompletionResult]::new('--scopes', '--scopes', [CompletionResultType]::ParameterName, 'The API key''s scopes, as created (LABEL_READ,LABEL_WRITE,…): shown by `signet secret list`')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'A title for people')
            [CompletionResult]::new('--lifetime', '--lifetime', [CompletionResultType]::ParameterName, 'Stop releasing it after this long: 8h, 30d, … [default: never, or `[secrets.NAME] lifetime`]')
            [CompletionResult]::new('--value', '--value', [CompletionResultType]::ParameterName, 'Refused: a secret on the command line is visible to every process')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Refused, as --value')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Refused, as --value')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--replace', '--replace', [CompletionResultType]::ParameterName, 'Replace a stored secret of this name (its old value is deleted once the new one is stored)')
            [CompletionResult]::new('--stdin', '--stdin', [CompletionResultType]::ParameterName, 'Read the value from stdin (all of it, one trailing newline removed)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;secret;list' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;secret;remove' {
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;secret;mint-bearer' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The agent key that signs the request (name, key id or fingerprint)')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'Encord''s API [default: $ENCORD_DOMAIN, else `https://api.encord.com`]')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file instead of the built-in roots (a TLS-inspecting proxy, a test stand-in)')
            [CompletionResult]::new('--lifetime', '--lifetime', [CompletionResultType]::ParameterName, 'Stop releasing the token after this long [default: never]')
            [CompletionResult]::new('--title', '--title', [CompletionResultType]::ParameterName, 'A title for people')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--replace', '--replace', [CompletionResultType]::ParameterName, 'Replace a stored secret of this name')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;secret;fingerprint' {
            [CompletionResult]::new('--value', '--value', [CompletionResultType]::ParameterName, 'Refused: a secret on the command line is visible to every process')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Refused, as --value')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Refused, as --value')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--stdin', '--stdin', [CompletionResultType]::ParameterName, 'Read the value from stdin (all of it, one trailing newline removed)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;secret;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Store an Encord API key or bearer token in the agent''s key store, read from a prompt on the terminal (not echoed) or from stdin with --stdin; never from the command line')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the stored secrets: name, kind, resource, title, rule, expiry and the fingerprint of the value (never the value)')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete a stored secret from the key store')
            [CompletionResult]::new('mint-bearer', 'mint-bearer', [CompletionResultType]::ParameterValue, 'Ask Encord for a bearer token, signed by an agent key (GET /v2/public/user/bearer-token), and store it as an encord-bearer secret: for a job that cannot reach the agent later')
            [CompletionResult]::new('fingerprint', 'fingerprint', [CompletionResultType]::ParameterValue, 'Print the fingerprint of a value read from the terminal or stdin, to compare with `signet secret list`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'signet;secret;help;add' {
            break
        }
        'signet;secret;help;list' {
            break
        }
        'signet;secret;help;remove' {
            break
        }
        'signet;secret;help;mint-bearer' {
            break
        }
        'signet;secret;help;fingerprint' {
            break
        }
        'signet;secret;help;help' {
            break
        }
        'signet;audit' {
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'The system agent''s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the log and its rotated files: the hash chain, every seal''s signature, the end against the latest seal kept elsewhere (the agent, audit.head) and the rotated files that must exist; names every problem with its file and line (exit 1) or prints what is intact')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Show the latest entries')
            [CompletionResult]::new('pubkey', 'pubkey', [CompletionResultType]::ParameterValue, 'Print the audit public key the agent seals its log with (hex): keep it somewhere safe to verify copies of the log later (--pubkey)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'signet;audit;verify' {
            [CompletionResult]::new('--pubkey', '--pubkey', [CompletionResultType]::ParameterName, 'Check the seals with this audit public key (64 hex digits, as `signet audit pubkey` printed it) [default: the running agent''s]')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'The system agent''s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;audit;tail' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Only entries of this key (name or key id)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many entries to show first')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'How many entries to show first')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing new entries as they are written')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing new entries as they are written')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'The system agent''s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;audit;pubkey' {
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'The log file [default: the log of the agent at the socket, which it names; with no agent, $XDG_STATE_HOME/signet/audit.log, or /var/lib/signet/audit.log with --system]')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'The system agent''s log: asks the agent at /run/signet/agent.sock (or --socket), else reads /var/lib/signet/audit.log')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;audit;help' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the log and its rotated files: the hash chain, every seal''s signature, the end against the latest seal kept elsewhere (the agent, audit.head) and the rotated files that must exist; names every problem with its file and line (exit 1) or prints what is intact')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Show the latest entries')
            [CompletionResult]::new('pubkey', 'pubkey', [CompletionResultType]::ParameterValue, 'Print the audit public key the agent seals its log with (hex): keep it somewhere safe to verify copies of the log later (--pubkey)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'signet;audit;help;verify' {
            break
        }
        'signet;audit;help;tail' {
            break
        }
        'signet;audit;help;pubkey' {
            break
        }
        'signet;audit;help;help' {
            break
        }
        'signet;completions' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write the scripts for every shell into DIR instead (signet.bash, _signet, signet.fish, signet.elv, _signet.ps1)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write every page into DIR (signet.1, signet-COMMAND.1…, signetd.8)')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The agent''s socket [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock, else $XDG_STATE_HOME/signet/run/agent.HOST.sock]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout, whether the command succeeds (its result) or fails ({"error": {"kind", "message", "exit_code"}}); exit statuses are unchanged')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'signet;help' {
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start signetd in the background unless one already answers (here, or at another default socket path: that one is used); prints the line that sets SIGNET_AUTH_SOCK for `eval "$(signet start)"`, for the shell in $SHELL unless --sh, --fish or --csh says otherwise')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'Print the shell line that points SIGNET_AUTH_SOCK at the agent (for the shell in $SHELL unless --sh, --fish or --csh says otherwise)')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Ask the agent to stop, and wait until it has')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the agent''s version, pid, socket, lock state, key count (hidden while locked), uptime and key store')
            [CompletionResult]::new('reload', 'reload', [CompletionResultType]::ParameterValue, 'Make the agent re-read its configuration file, as SIGHUP does, and say whether it took it (an invalid file is refused; the agent keeps the configuration it has)')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add an Ed25519 private key file to the agent for this session, as `ssh-add` does (`-t` lifetime, `-c` confirm); refuses a key file that others can read unless --force')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored and loaded keys: each stored key, whether it is loaded and its expiry, plus keys added for this session only (prints "no keys loaded" and exits 0 when there are none; exits 4 when the agent is locked). With no agent running it still shows the stored keys, read from the index file (keys.toml), marked "not loaded (agent not running)", and exits 3. The table fits the terminal; --wide shows every column in full')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Unload a key from the agent, as `ssh-add -d` does (--all: every key, `ssh-add -D`). A stored key stays in the OS keyring (`signet load` loads it again; `signet delete` deletes it)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a stored key from the OS keyring and the index, unloading it first; asks on a terminal, needs --yes otherwise. This cannot be undone')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Make a new Ed25519 key inside the agent and store it in the OS keyring (it never touches disk); prints its public key line')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Store an Ed25519 private key file in the OS keyring: OpenSSH (encrypted or not), PKCS#8 PEM, or the private key .txt Encord''s web app downloads; `-` reads stdin')
            [CompletionResult]::new('register', 'register', [CompletionResultType]::ParameterValue, 'Show what to paste into Encord to register a key (a stored key, or any key the agent holds), and where')
            [CompletionResult]::new('pubkey', 'pubkey', [CompletionResultType]::ParameterValue, 'Print a key''s `ssh-ed25519 AAAA… comment` line (a stored key, or any key the agent holds: session keys, systemd credentials, key files)')
            [CompletionResult]::new('load', 'load', [CompletionResultType]::ParameterValue, 'Load stored keys from the OS keyring into the agent')
            [CompletionResult]::new('unload', 'unload', [CompletionResultType]::ParameterValue, 'Unload stored keys from the agent (they stay in the keyring)')
            [CompletionResult]::new('rename', 'rename', [CompletionResultType]::ParameterValue, 'Rename a stored key')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check that the key index and the OS keyring agree; finish or undo interrupted operations (exits 1 while problems remain)')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Lock the agent with a passphrase: it signs nothing and shows no keys until unlocked; loaded keys stay loaded (hidden), and a sealed key store is locked too')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Unlock the agent (its loaded keys sign again); with --token, give its PKCS#11 token''s PIN')
            [CompletionResult]::new('unlock-store', 'unlock-store', [CompletionResultType]::ParameterValue, 'Unlock the sealed key store: asks its passphrase once (the first time, chooses one and seals every key stored so far); `load`, autoload, `generate` and `import` then work without asking until `[store] unlock_idle` (1h) or `unlock_max` (8h) pass, `signet lock` or `lock-store`, SIGUSR1, or the agent stops')
            [CompletionResult]::new('lock-store', 'lock-store', [CompletionResultType]::ParameterValue, 'Lock the sealed key store again (the agent forgets its unlock); loaded keys stay loaded')
            [CompletionResult]::new('passwd', 'passwd', [CompletionResultType]::ParameterValue, 'Change the sealed key store''s passphrase (the store key is wrapped again; no key is resealed). With --passphrase-stdin: the current passphrase on the first line, the new one on the second')
            [CompletionResult]::new('sign-request', 'sign-request', [CompletionResultType]::ParameterValue, 'Sign an Encord HTTP request and print the headers to add to it')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Sign a file''s bytes with a loaded key; prints the 64-byte Ed25519 signature in base64')
            [CompletionResult]::new('install-units', 'install-units', [CompletionResultType]::ParameterValue, 'Write the systemd units (--user, --system) or the launchd agent (--launchd) with this installation''s signetd, and print the commands that enable them')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command (a CI job) with SIGNET_AUTH_SOCK set, after checking that the agent answers and --key is loaded; ENCORD_SSH_KEY becomes the reference `signet:<key id>` (the Encord SDK then signs through the agent), ENCORD_SSH_KEY_FILE is removed; exits with the command''s status')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Say which policy rule would allow or refuse a request, without signing (exits 0 when it would be signed, 1 when refused)')
            [CompletionResult]::new('secret', 'secret', [CompletionResultType]::ParameterValue, 'Keep Encord resource API keys and bearer tokens in the agent''s key store, released only to callers a rule allows (docs/secrets.md)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Check (`verify`) or show (`tail`) the agent''s hash-chained audit log')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the completion script for a shell (`signet completions bash > /usr/share/bash-completion/completions/signet`), or write all five into a directory with --dir')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print signet(1) as roff (`signet man | man -l -`), or write every page (signet(1), one signet-COMMAND(1) per command, signetd(8)) into a directory with --dir')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'signet;help;start' {
            break
        }
        'signet;help;env' {
            break
        }
        'signet;help;stop' {
            break
        }
        'signet;help;status' {
            break
        }
        'signet;help;reload' {
            break
        }
        'signet;help;add' {
            break
        }
        'signet;help;list' {
            break
        }
        'signet;help;remove' {
            break
        }
        'signet;help;delete' {
            break
        }
        'signet;help;generate' {
            break
        }
        'signet;help;import' {
            break
        }
        'signet;help;register' {
            break
        }
        'signet;help;pubkey' {
            break
        }
        'signet;help;load' {
            break
        }
        'signet;help;unload' {
            break
        }
        'signet;help;rename' {
            break
        }
        'signet;help;doctor' {
            break
        }
        'signet;help;lock' {
            break
        }
        'signet;help;unlock' {
            break
        }
        'signet;help;unlock-store' {
            break
        }
        'signet;help;lock-store' {
            break
        }
        'signet;help;passwd' {
            break
        }
        'signet;help;sign-request' {
            break
        }
        'signet;help;sign' {
            break
        }
        'signet;help;install-units' {
            break
        }
        'signet;help;exec' {
            break
        }
        'signet;help;explain' {
            break
        }
        'signet;help;secret' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Store an Encord API key or bearer token in the agent''s key store, read from a prompt on the terminal (not echoed) or from stdin with --stdin; never from the command line')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the stored secrets: name, kind, resource, title, rule, expiry and the fingerprint of the value (never the value)')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete a stored secret from the key store')
            [CompletionResult]::new('mint-bearer', 'mint-bearer', [CompletionResultType]::ParameterValue, 'Ask Encord for a bearer token, signed by an agent key (GET /v2/public/user/bearer-token), and store it as an encord-bearer secret: for a job that cannot reach the agent later')
            [CompletionResult]::new('fingerprint', 'fingerprint', [CompletionResultType]::ParameterValue, 'Print the fingerprint of a value read from the terminal or stdin, to compare with `signet secret list`')
            break
        }
        'signet;help;secret;add' {
            break
        }
        'signet;help;secret;list' {
            break
        }
        'signet;help;secret;remove' {
            break
        }
        'signet;help;secret;mint-bearer' {
            break
        }
        'signet;help;secret;fingerprint' {
            break
        }
        'signet;help;audit' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the log and its rotated files: the hash chain, every seal''s signature, the end against the latest seal kept elsewhere (the agent, audit.head) and the rotated files that must exist; names every problem with its file and line (exit 1) or prints what is intact')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Show the latest entries')
            [CompletionResult]::new('pubkey', 'pubkey', [CompletionResultType]::ParameterValue, 'Print the audit public key the agent seals its log with (hex): keep it somewhere safe to verify copies of the log later (--pubkey)')
            break
        }
        'signet;help;audit;verify' {
            break
        }
        'signet;help;audit;tail' {
            break
        }
        'signet;help;audit;pubkey' {
            break
        }
        'signet;help;completions' {
            break
        }
        'signet;help;man' {
            break
        }
        'signet;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
