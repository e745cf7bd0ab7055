"""pytest plugin: asyncssh's tests/test_agent.py with Ed25519 keys only.

Loaded by tests/interop/suites/asyncssh.sh (`-p interop_ed25519`) for the
"[ed25519]" run. asyncssh's agent tests ask for RSA and ECDSA test keys
(get_test_key('ssh-rsa'), get_test_key('ecdsa-sha2-nistp256')) and stop at
the first refusal, so against an agent that holds Ed25519 keys only they say
nothing about Ed25519. Here every key they ask for is an Ed25519 key of the
same index instead; nothing else in the tests changes.
"""

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    import tests.test_agent as agent_tests

    original = agent_tests.get_test_key

    def ed25519_test_key(alg_name, key_id=0, **kwargs):
        if alg_name.startswith(("ssh-rsa", "ecdsa-", "ssh-dss")):
            alg_name = "ssh-ed25519"
        return original(alg_name, key_id, **kwargs)

    agent_tests.get_test_key = ed25519_test_key
