"""Run unmodified Encord scripts and tools in fresh interpreters, against a real signetd.

The interpreter is this test run's virtualenv (`sys.executable`), where pip
installed signet-encord and so its `signet_encord.pth`: the import hook is
exercised exactly as a user gets it. The script's network is replaced by
`wire_site/sitecustomize.py` (requests are recorded to a file and answered
with canned Encord responses); nothing else about the script or the SDK is
changed. The environment is clean: a fresh empty HOME, no SIGNET_* / ENCORD_* /
SSH_* variables but those a test sets.
"""

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import _wire

WIRE_SITE = str(Path(__file__).resolve().parent / "wire_site")
VENV_BIN = Path(sys.executable).parent


class Ran:
    def __init__(self, proc: subprocess.CompletedProcess, sent: list):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.sent = sent  # the PreparedRequests the script sent, in order

    def __repr__(self):
        return "exit %s\n--- stdout\n%s\n--- stderr\n%s" % (self.returncode, self.stdout, self.stderr[-4000:])


def write_script(directory: Path, name: str, source: str) -> Path:
    path = Path(directory) / name
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def clean_env(tmp: Path, socket_path: Optional[str], extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    home = Path(tmp) / "home"
    home.mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SIGNET_", "ENCORD_", "SSH_", "PYTHON")) and k not in ("HOME", "XDG_RUNTIME_DIR")
    }
    env.update(
        {
            "HOME": str(home),
            "PYTHONPATH": WIRE_SITE,
            "PYTHONDONTWRITEBYTECODE": "1",
            "SIGNET_TEST_WIRE": str(Path(tmp) / ("wire-%s.jsonl" % uuid.uuid4().hex)),
            "NO_COLOR": "1",
            "TERM": "dumb",
            "COLUMNS": "200",
        }
    )
    if socket_path is not None:
        env["SIGNET_AUTH_SOCK"] = socket_path
    env.update(extra or {})
    return env


def run(argv: List[str], env: Dict[str, str], cwd: Optional[Path] = None, timeout: float = 120) -> Ran:
    """Run `argv` (a script under `sys.executable`, a console script, or `signet exec …`)."""
    record = env["SIGNET_TEST_WIRE"]
    proc = subprocess.run(
        [str(a) for a in argv],
        env=env,
        cwd=str(cwd) if cwd else None,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Ran(proc, _wire.load(record))


def python(script: Path) -> List[str]:
    return [sys.executable, str(script)]
