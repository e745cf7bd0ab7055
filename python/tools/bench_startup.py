"""What the import hook's `.pth` file adds to interpreter start-up, and what `import signet_encord` costs.

    python python/tools/bench_startup.py [--rounds N] [--json]

Start-up: two throw-away virtualenvs of this interpreter, one bare and one with
signet-encord installed from python/ as a regular wheel (no dependencies: the
`.pth` never imports encord), are started alternately with
`python -X importtime -c pass`. The figure is the difference of the medians of
the `site` module's cumulative import time (site runs every `.pth` file), with
the `signet_encord*` modules' own lines alongside; the budget is 1 ms.

Imports: in the virtualenv this runs from (the test .venv, which has encord),
`import signet_encord` vs `import encord`, as `-X importtime` reports them: the
package must not import encord until a name that needs it is used.

Bytecode is written on the first run (PYTHONDONTWRITEBYTECODE is dropped), so
every measured round reads cached bytecode, as an installed package does.
Figures are medians over interleaved rounds; run on a quiet machine.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_PYTHON = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SIGNET_"))}
    return e


def importtime(python, code):
    """{module: (self µs, cumulative µs)} for the top-level imports `python -X importtime -c code` reports."""
    r = subprocess.run(
        [str(python), "-X", "importtime", "-c", code], env=env(), capture_output=True, text=True, check=True
    )
    out = {}
    for line in r.stderr.splitlines():
        m = LINE.match(line)
        if m:
            self_us, cum_us, _indent, name = m.groups()
            out[name] = (int(self_us), int(cum_us))
    return out


def make_venvs(tmp):
    bare, hooked = tmp / "bare", tmp / "hooked"
    for v in (bare, hooked):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(v)], check=True)
    wheels = tmp / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(REPO_PYTHON)],
        check=True,
    )
    (wheel,) = wheels.glob("signet_encord-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(hooked / "bin" / "python"), "install", "--quiet",
         "--no-deps", str(wheel)],
        check=True,
    )
    return bare / "bin" / "python", hooked / "bin" / "python"


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="signet-bench-startup-") as d:
        bare, hooked = make_venvs(Path(d))
        for python in (bare, hooked):  # write bytecode, warm the page cache
            importtime(python, "pass")
        site_bare, site_hooked, ours = [], [], []
        for _ in range(args.rounds):
            site_bare.append(importtime(bare, "pass")["site"][1])
            t = importtime(hooked, "pass")
            site_hooked.append(t["site"][1])
            ours.append(sum(s for name, (s, _c) in t.items() if "signet_encord" in name))
        check = subprocess.run(
            [str(hooked), "-c", "import sys; print(sorted(m for m in sys.modules if 'encord' in m))"],
            env=env(), capture_output=True, text=True, check=True,
        ).stdout.strip()

    # import costs in this interpreter's environment (needs encord installed)
    imp_ours, imp_encord = [], []
    for _ in range(max(5, args.rounds // 4)):
        imp_ours.append(importtime(sys.executable, "import signet_encord")["signet_encord"][1])
        imp_encord.append(importtime(sys.executable, "import encord")["encord"][1])

    result = {
        "rounds": args.rounds,
        "python": sys.version.split()[0],
        "site_bare_us": median(site_bare),
        "site_with_pth_us": median(site_hooked),
        "pth_added_us": median(site_hooked) - median(site_bare),
        "pth_added_paired_us": median([h - b for h, b in zip(site_hooked, site_bare)]),
        "signet_encord_modules_self_us": median(ours),
        "modules_at_start": check,
        "import_signet_encord_us": median(imp_ours),
        "import_encord_us": median(imp_encord),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("interpreter start-up (python -X importtime -c pass), %d interleaved rounds, Python %s"
          % (args.rounds, result["python"]))
    print("  site, bare virtualenv            %8.0f µs" % result["site_bare_us"])
    print("  site, with signet_encord.pth     %8.0f µs" % result["site_with_pth_us"])
    print("  added by the .pth (medians)      %8.0f µs   (paired: %.0f µs; budget 1000 µs)"
          % (result["pth_added_us"], result["pth_added_paired_us"]))
    print("  _signet_encord_hook own time     %8.0f µs" % result["signet_encord_modules_self_us"])
    print("  modules loaded at start          %s" % result["modules_at_start"])
    print("imports (this environment)")
    print("  import signet_encord             %8.0f µs" % result["import_signet_encord_us"])
    print("  import encord                    %8.0f µs" % result["import_encord_us"])


if __name__ == "__main__":
    main()
