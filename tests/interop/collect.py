#!/usr/bin/env python3
"""Turns a test runner's own report into interop result lines.

  collect.py go-json FILE SUITE AGENT          # `go test -json` output
  collect.py junit FILE SUITE AGENT [VARIANT]  # pytest --junitxml

Appends SUITE<TAB>TEST<TAB>AGENT<TAB>pass|fail|skip<TAB>DETAIL lines to
$INTEROP_RESULTS (see tests/interop/lib.sh). Test names: go/TestName[/sub],
SUITE/FILE::test_name (VARIANT, if given, after FILE in brackets). Exits 1
if the report holds no test at all. Standard library only.
"""

import json
import os
import sys
import xml.etree.ElementTree as ET


def clean(text, limit=400):
    return " ".join(text.split())[:limit]


def emit(out, suite, test, agent, status, detail=""):
    out.write(f"{suite}\t{test}\t{agent}\t{status}\t{clean(detail)}\n")


def go_json(path, suite, agent, out):
    results = {}
    output = {}
    order = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            test = ev.get("Test")
            if not test:
                continue
            action = ev.get("Action")
            if action == "output":
                text = ev.get("Output", "")
                # Keep what a failing test says, not the RUN/PASS banners.
                if not text.lstrip().startswith(("=== ", "--- ")):
                    output.setdefault(test, []).append(text)
            elif action in ("pass", "fail", "skip"):
                if test not in results:
                    order.append(test)
                results[test] = action
    for test in order:
        # A parent of subtests passes or fails with them: report the leaves.
        if any(t.startswith(test + "/") for t in order):
            continue
        status = results[test]
        detail = "".join(output.get(test, [])) if status != "pass" else ""
        emit(out, suite, f"{suite}/{test}", agent, status, detail)
    return len(order)


def junit(path, suite, agent, variant, out):
    tree = ET.parse(path)
    n = 0
    for case in tree.iter("testcase"):
        name = case.get("name", "?")
        classname = case.get("classname", "")
        # pytest: classname "tests.test_agent._TestAgent" -> file test_agent.py
        parts = classname.split(".")
        module = next((p for p in parts if p.startswith("test_")), parts[-1] if parts else "?")
        file = module + ".py"
        if variant:
            file += f"[{variant}]"
        test = f"{suite}/{file}::{name}"
        status, detail = "pass", ""
        for child in case:
            if child.tag in ("failure", "error"):
                status = "fail"
                detail = (child.get("message") or "") + " " + (child.text or "")[-300:]
                break
            if child.tag == "skipped":
                status = "skip"
                detail = child.get("message") or ""
        emit(out, suite, test, agent, status, detail)
        n += 1
    return n


def main():
    kind, path, suite, agent = sys.argv[1:5]
    with open(os.environ["INTEROP_RESULTS"], "a", encoding="utf-8") as out:
        if kind == "go-json":
            n = go_json(path, suite, agent, out)
        elif kind == "junit":
            variant = sys.argv[5] if len(sys.argv) > 5 else ""
            n = junit(path, suite, agent, variant, out)
        else:
            sys.exit(f"unknown report kind {kind}")
    if n == 0:
        print(f"collect: no test in {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
