#!/usr/bin/env python3
"""Writes the licence notices of every crate linked into signet and signetd.

    python3 scripts/third-party-licenses.py --output FILE

The binaries link their Rust dependencies statically, and the licences of
several (MIT and BSD-3-Clause: curve25519-dalek, ed25519-dalek, subtle...)
ask that their notices travel with every binary copy. scripts/package.sh
writes this file into the Debian package as
/usr/share/doc/signet/third-party-licenses.txt.gz; the copyright file
points at it.

Which crates: `cargo metadata` for the host platform, walked from signet-cli
and signetd along normal dependencies only (build scripts and dev-dependencies
are not linked in; proc-macro crates are kept, being what generated part of
the code). For each crate, its declared licence and the text of every
LICENSE*, LICENCE*, COPYING*, NOTICE* or UNLICENSE file it ships, as
published on crates.io (the registry's copy Cargo already unpacked). Offline;
needs the dependencies fetched (any `cargo build` did).
"""

import argparse
import json
import os
import subprocess
import sys

ROOTS = ("signet-cli", "signetd")
PREFIXES = ("license", "licence", "copying", "notice", "unlicense")


def host_triple():
    out = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("host: "):
            return line.split(" ", 1)[1].strip()
    sys.exit("third-party-licenses: rustc -vV names no host triple")


def metadata(repo):
    cmd = ["cargo", "metadata", "--format-version", "1", "--locked", "--offline",
           "--filter-platform", host_triple()]
    out = subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def linked_packages(meta):
    by_id = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    members = set(meta["workspace_members"])
    roots = [p["id"] for p in meta["packages"] if p["name"] in ROOTS and p["id"] in members]
    if len(roots) != len(ROOTS):
        sys.exit("third-party-licenses: %s not all found in the workspace" % ", ".join(ROOTS))
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    return sorted((by_id[p] for p in seen if p not in members),
                  key=lambda p: (p["name"], p["version"]))


def licence_files(package):
    root = os.path.dirname(package["manifest_path"])
    found = []
    declared = package.get("license_file")
    if declared:
        found.append(os.path.normpath(os.path.join(root, declared)))
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name.lower().startswith(PREFIXES) and os.path.isfile(path) and path not in found:
            found.append(path)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    packages = linked_packages(metadata(repo))
    parts = [
        "Third-party software linked into signet and signetd\n"
        "====================================================\n\n"
        "The signet and signetd binaries contain the following Rust crates,\n"
        "each under the licence it declares; their licence and notice files\n"
        "follow, as each crate publishes them on crates.io.\n\n"
    ]
    parts += ["  %s %s  (%s)\n" % (p["name"], p["version"], p.get("license") or "see below")
              for p in packages]
    missing = []
    first_seen = {}  # text with whitespace normalised -> where it was printed in full
    for p in packages:
        files = licence_files(p)
        parts.append("\n\n==> %s %s: %s\n" % (p["name"], p["version"], p.get("license") or "no SPDX licence declared"))
        if not files:
            missing.append(p["name"])
            parts.append("\n(The crate ships no licence file; its declared licence is above.)\n")
        for path in files:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read().strip() + "\n"
            name = "%s %s: %s" % (p["name"], p["version"], os.path.basename(path))
            key = " ".join(text.split())
            if key in first_seen:
                # Most crates ship the same Apache-2.0 text: print it once.
                parts.append("\n--- %s: the same text as %s above\n" % (os.path.basename(path), first_seen[key]))
            else:
                first_seen[key] = name
                parts.append("\n--- %s\n\n%s" % (os.path.basename(path), text))
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("".join(parts))
    print("third-party-licenses: %d crates, %d without a licence file (%s) -> %s" % (
        len(packages), len(missing), ", ".join(missing) or "none", args.output), file=sys.stderr)


if __name__ == "__main__":
    main()
