"""Test instrumentation for unmodified scripts run in subprocesses (python/tests/test_real_zero_change.py).

With this directory on PYTHONPATH and SIGNET_TEST_WIRE naming a file, the
interpreter's network is replaced at start-up (`requests.Session.send`, see
`_wire.py`): every request the script sends is recorded to that file and
answered with a canned Encord response. Nothing from encord or signet_encord
is imported here, so the script's own imports are what trigger the import hook.
"""

import os

if os.environ.get("SIGNET_TEST_WIRE"):
    import importlib.util

    _path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_wire.py")
    _spec = importlib.util.spec_from_file_location("_signet_test_wire", _path)
    _wire = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_wire)
    _wire.install(os.environ["SIGNET_TEST_WIRE"])
