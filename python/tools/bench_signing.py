#!/usr/bin/env python3
"""Micro-benchmark: per-request signing cost, SDK in-process vs signet agent.

Compares, for the same request and the same body:
  sdk   = encord's own `SshConfig.define_headers` (v1) / `SshConfig.define_headers_v2` (v2),
          the private key in this process;
  agent = `signet_encord.SignetConfig.define_headers` / `define_headers_v2`, signed by a
          real signetd this script starts (temp dir, key from ssh-keygen, loaded by ssh-add).
Both sides produce the complete header set (User-Agent, trace id, signature headers) for the
same PreparedRequest / body string. Bodies: 32 B and 1 KiB JSON. After a warm-up, several
interleaved rounds of N requests each; per round the median per-request time; reported:
the median over rounds, and agent/sdk ratio. The issue's target is ratio <= 1.5.

    python python/tools/bench_signing.py [-n 2000] [--rounds 7] [--json] [--profile]

signetd: $SIGNET_BIN_DIR/signetd, else <repo>/target/debug/signetd (build: cargo build --workspace --bins).
"""

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # _signetd: the real-daemon launcher shared with the tests
sys.path.insert(0, str(HERE.parent))

import requests  # noqa: E402
from _signetd import Signetd  # noqa: E402
from encord.configs import SshConfig  # noqa: E402

from signet_encord import SignetConfig  # noqa: E402

URL = "https://api.encord.com/v2/public/projects/3f2504e0-4f89-41d3-9a0c-0305e82c3301/labels?page=2"


def json_body(size: int) -> str:
    """A JSON object of exactly `size` bytes."""
    base = '{"payload":""}'
    body = '{"payload":"%s"}' % ("x" * (size - len(base)))
    assert len(body) == size
    return body


def make_cases(sdk, agent, size):
    body_str = json_body(size)
    body = body_str.encode()
    v1_data = body_str  # v1 signs the request's data string (the Querier's JSON)

    def v2(cfg):
        req = requests.Request("POST", URL, data=body, headers={"Content-Type": "application/json"}).prepare()

        def call():
            cfg.define_headers_v2(req)
            return req.headers

        return call

    def v1(cfg):
        def call():
            return cfg.define_headers("p", "project", v1_data)

        return call

    return {
        ("v1", size): {"sdk": v1(sdk), "agent": v1(agent)},
        ("v2", size): {"sdk": v2(sdk), "agent": v2(agent)},
    }


def check_equivalent(cases):
    """Both sides must produce the same header names (complete headers), signatures from the same key."""
    for (scheme, size), impls in cases.items():
        a, s = dict(impls["agent"]()), dict(impls["sdk"]())
        assert sorted(a) == sorted(s), (scheme, size, sorted(a), sorted(s))
        if scheme == "v1":
            assert a["Authorization"] == s["Authorization"], "v1 signatures differ"
        else:
            assert a["Content-Digest"] == s["Content-Digest"]
            assert a["Signature-Input"].split(";keyid=")[1] == s["Signature-Input"].split(";keyid=")[1]


def time_round(fn, n):
    clock = time.perf_counter_ns
    samples = [0] * n
    for i in range(n):
        t0 = clock()
        fn()
        samples[i] = clock() - t0
    return statistics.median(samples) / 1000.0, sum(samples) / n / 1000.0


def run(args):
    with tempfile.TemporaryDirectory(prefix="signet-bench-") as tmp:
        daemon = Signetd(Path(tmp)).start()
        try:
            key = daemon.add_key("bench")
            sdk = SshConfig.from_ssh_private_key(key.private_text())
            agent = SignetConfig(key="bench", socket=daemon.socket_path)
            cases = {}
            for size in (32, 1024):
                cases.update(make_cases(sdk, agent, size))
            check_equivalent(cases)
            for impls in cases.values():  # warm-up
                for fn in impls.values():
                    for _ in range(args.warmup):
                        fn()
            if args.profile:
                return profile(cases, args.n)
            rounds = {(k, impl): [] for k in cases for impl in ("sdk", "agent")}
            for r in range(args.rounds):
                for k, impls in cases.items():
                    order = ("sdk", "agent") if r % 2 == 0 else ("agent", "sdk")  # interleave
                    for impl in order:
                        rounds[(k, impl)].append(time_round(impls[impl], args.n))
            agent_version = agent.agent.ping().agent_version
            agent.agent.close()
        finally:
            code = daemon.stop()
        if code != 0:
            raise SystemExit("signetd exited with %d\n%s" % (code, daemon.log_tail()))

    results = []
    for (scheme, size) in cases:
        row = {"scheme": scheme, "body_bytes": size}
        for impl in ("sdk", "agent"):
            meds = [m for m, _ in rounds[((scheme, size), impl)]]
            means = [a for _, a in rounds[((scheme, size), impl)]]
            row[impl + "_median_us"] = round(statistics.median(meds), 2)
            row[impl + "_mean_us"] = round(statistics.median(means), 2)
            row[impl + "_round_medians_us"] = [round(m, 2) for m in meds]
        row["ratio"] = round(row["agent_median_us"] / row["sdk_median_us"], 3)
        row["meets_target"] = row["ratio"] <= args.target
        results.append(row)
    return {
        "n": args.n,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "target_ratio": args.target,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "signetd": str(daemon.binary),
        "signetd_version": agent_version,
        "results": results,
    }


def profile(cases, n):
    for (scheme, size), impls in cases.items():
        if size != 1024:
            continue
        for impl in ("sdk", "agent"):
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(n):
                impls[impl]()
            prof.disable()
            print("=== %s %s %d B: %d calls ===" % (impl, scheme, size, n))
            pstats.Stats(prof).sort_stats("tottime").print_stats(14)
    return None


def print_table(report):
    print(
        "signing cost per request, N=%d x %d interleaved rounds (median of round medians; Python %s)"
        % (report["n"], report["rounds"], report["python"])
    )
    print("%-6s %6s %12s %12s %8s  %s" % ("scheme", "body", "sdk (us)", "agent (us)", "ratio", "target <= %.1f" % report["target_ratio"]))
    for r in report["results"]:
        print(
            "%-6s %5dB %12.1f %12.1f %7.2fx  %s"
            % (
                r["scheme"],
                r["body_bytes"],
                r["sdk_median_us"],
                r["agent_median_us"],
                r["ratio"],
                "ok" if r["meets_target"] else "MISSED",
            )
        )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-n", type=int, default=2000, help="requests per round and variant (default 2000)")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    p.add_argument("--warmup", type=int, default=300, help="warm-up requests per variant (default 300)")
    p.add_argument("--target", type=float, default=1.5, help="agent/sdk ratio target (default 1.5)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--profile", action="store_true", help="cProfile N requests of each 1 KiB variant instead")
    args = p.parse_args(argv)
    report = run(args)
    if report is None:
        return 0
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0 if all(r["meets_target"] for r in report["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
