#!/usr/bin/env bash
# asyncssh's own agent tests (tests/test_agent.py from the PyPI sdist of the
# pinned version), against ssh-agent and signetd.
#
# The tests start the agent themselves (`ssh-agent -a agent` from PATH, in
# their temporary directory, killed with SIGTERM at the end), so each run
# puts one agent's `ssh-agent` first in PATH. Two runs per agent:
#   asyncssh/test_agent.py::NAME            as shipped (RSA, ECDSA and
#                                           Ed25519 test keys)
#   asyncssh/test_agent.py[ed25519]::NAME   every test key Ed25519
#                                           (tests/interop/asyncssh/interop_ed25519.py);
#                                           only the tests that use the real
#                                           agent (the others talk to
#                                           asyncssh's mock agent)
set -euo pipefail
# shellcheck source=../lib.sh
source "$INTEROP_HERE/lib.sh"

suite=asyncssh
version="$(sed -n 's/^asyncssh==//p' "$INTEROP_HERE/requirements.txt")"
sdist="$INTEROP_CACHE/asyncssh-$version"
py="$INTEROP_CACHE/venv/bin/python"
[[ -f "$sdist/tests/test_agent.py" && -x "$py" ]] || {
  echo "asyncssh $version's sdist or the venv is missing: run tests/interop/install-deps.sh" >&2
  exit 1
}
work="$INTEROP_RUN/asyncssh"
mkdir -p "$work"
# The tests against asyncssh's mock agent only; not repeated in [ed25519].
mock_only='test_connection_failed or test_no_auth_sock or test_add_keys_failure or test_add_sk_keys or test_get_sk_keys or test_add_remove_smartcard_keys or test_query_extensions or test_errors'

rc=0
for agent in $INTEROP_AGENTS; do
  for variant in "" ed25519; do
    xml="$work/$agent${variant:+-$variant}.xml"
    args=(-q -p no:cacheprovider --junitxml="$xml" -o junit_family=xunit1 tests/test_agent.py)
    [[ -n "$variant" ]] && args+=(-p interop_ed25519 -k "not ($mock_only)")
    # The sdist's tests import asyncssh from the installed (same) version;
    # cwd is the sdist so that `tests` is the sdist's package.
    (cd "$sdist" && PATH="$(agent_bin_dir "$agent"):$PATH" \
      PYTHONPATH="$INTEROP_HERE/asyncssh" PYTHONDONTWRITEBYTECODE=1 \
      with_timeout 300 "$py" -m pytest "${args[@]}") >"$work/$agent${variant:+-$variant}.log" 2>&1 || true
    if [[ -f "$xml" ]]; then
      python3 "$INTEROP_HERE/collect.py" junit "$xml" "$suite" "$agent" "$variant" || rc=1
    else
      echo "no junit report from asyncssh's tests ($agent $variant):" >&2
      tail -n 20 "$work/$agent${variant:+-$variant}.log" >&2
      rc=1
    fi
    tail -n 1 "$work/$agent${variant:+-$variant}.log" | sed "s/^/  asyncssh${variant:+[$variant]} [$agent]: /" >&2
  done
done
exit "$rc"
