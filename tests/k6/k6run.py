"""What the k6 tests share (tests/k6/test_<script>.py: every k6 script in loadtest/ under a real
k6, against the local cluster and a real walletd).

Each test runs one script, scaled down to fit CI, exactly as a user would (`k6 run -e ... -e ...
loadtest/<script>.js` from the repository root), and passes only if
  - k6 exits 0: every threshold of the script was met;
  - the script's handleSummary() JSON (written to a temporary RESULTS_DIR) shows the requests the
    run was meant to make: k6 can meet every threshold with no request at all (an iteration that
    throws sends nothing, and a threshold on an empty metric passes), so counts are checked too;
  - walletd counted exactly the requests k6 says it sent, and answered none of them with a 5xx;
  - `walletctl verify` is clean afterwards.

The k6 is the one scripts/find-k6 names (K6, then k6 on PATH, then ../shared/tools/k6). Without
one every test is skipped with a reason that starts "no k6:", which tests/CMakeLists.txt makes
ctest report as skipped, never passed.

Environment: as for tests/integration (WALLETD_BIN, WALLETCTL_BIN, WALLETD_REPO, the cluster's
CLUSTER_* variables), plus K6.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import (REPO, Walletd, ensure_migrated, metric_sum, one_shot,  # noqa: E402
                     parse_metrics, walletctl)


def find_k6():
    """(path of the k6 to use, None) or (None, why there is none), by scripts/find-k6."""
    res = subprocess.run([os.path.join(REPO, "scripts", "find-k6")], capture_output=True,
                         text=True, timeout=60)
    if res.returncode != 0:
        return None, res.stderr.strip() or "scripts/find-k6 found no k6"
    return res.stdout.strip(), None


def vu_seconds(stages):
    """VU-seconds of a ramping-vus profile [(seconds, target VUs)...] starting at 0 VUs."""
    total, vus = 0.0, 0
    for seconds, target in stages:
        total += seconds * (vus + target) / 2
        vus = target
    return total


def parse_stages(text):
    """stress-test.js's STAGES setting as its summary reports it ("8s:10,19s:50,...")."""
    stages = []
    for stage in text.split(","):
        duration, target = stage.split(":")
        assert duration.endswith("s"), text
        stages.append((float(duration[:-1]), int(target)))
    return stages


# The bounds (ms) of walletd's own latency histogram that the test output shows.
LATENCY_BOUNDS = ("5", "10", "25", "50", "100", "250", "500", "1000", "+Inf")


def metrics_snapshot(server):
    r = one_shot(server.port, "GET", "/metrics")
    if r.status != 200:
        raise AssertionError(f"GET /metrics: {r!r}")
    return parse_metrics(r.raw)


def served(before, after, name, label, value):
    """How much metric name grew in samples with label=value, every route but GET /metrics."""
    def count(samples):
        return (metric_sum(samples, name, **{label: value}) -
                metric_sum(samples, name, route="GET /metrics", **{label: value}))
    return count(after) - count(before)


def latency_line(before, after):
    """walletd's own latency (first byte of the request read to the response written) over the
    run, from its histogram: beside k6's, it says whether time went inside walletd or outside
    it (k6 and walletd waiting for the CPU, on a machine they share)."""
    cumulative = {le: served(before, after, "wallet_http_request_duration_ms_bucket", "le", le)
                  for le in LATENCY_BOUNDS}
    total = cumulative["+Inf"] or 1
    return "walletd's own latency, share of requests within: " + ", ".join(
        f"{le} ms {100 * n / total:.1f}%" for le, n in cumulative.items() if le != "+Inf")


class K6TestCase(unittest.TestCase):
    """One walletd for the test class, and run_k6 to run a script against it."""

    @classmethod
    def setUpClass(cls):
        cls.k6, why = find_k6()
        if cls.k6 is None:
            raise unittest.SkipTest(f"no k6: {why}")
        ensure_migrated()
        # As loadtest/bench runs it: one worker (on 2 cores the databases need the rest), quiet
        # logs, and the per-tenant rate limit on but out of reach (k6-profiles' rate.js sends up to 5,000/s).
        cls.server = Walletd(workers=1, tenants=("k6",), env={
            "RATE_LIMIT_RPS": "1000000000", "ACCESS_LOG": "false", "LOG_LEVEL": "warn",
        }).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        if rc != 0:
            raise AssertionError(f"walletd exited {rc}: {cls.server.tail()}")

    def run_k6(self, script, timeout, **settings):
        """Runs loadtest/<script> with -e NAME=value settings; returns its summary JSON after
        checking k6's exit status, walletd's count of the requests and verify."""
        results = tempfile.mkdtemp(prefix="k6-results-")
        self.addCleanup(shutil.rmtree, results, True)
        settings = dict(settings, API_URL=f"http://127.0.0.1:{self.server.port}",
                        TEST_TOKEN=self.server.keys["k6"], RESULTS_DIR=results)
        # --address '': no REST API server (its port would clash with any other k6 running here)
        args = [self.k6, "run", "--quiet", "--address", ""]
        for name, value in settings.items():
            args += ["-e", f"{name}={value}"]
        args.append(os.path.join("loadtest", script))

        before = metrics_snapshot(self.server)
        started = time.monotonic()
        # K6_NO_USAGE_REPORT: k6 would otherwise report the run to k6's servers at the end
        res = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                             env=dict(os.environ, K6_NO_USAGE_REPORT="true"))
        took = time.monotonic() - started
        after = metrics_snapshot(self.server)
        # k6's summary (printed by the script's handleSummary), walletd's view and k6's log, in
        # the test output.
        print(f"\n--- k6 run {script} ({took:.0f} s, exit {res.returncode})", flush=True)
        print(res.stdout, flush=True)
        print(latency_line(before, after), flush=True)
        log = res.stderr.strip().splitlines()
        if log:
            print("--- k6 log (last 30 lines)\n" + "\n".join(log[-30:]), flush=True)

        self.assertEqual(res.returncode, 0, f"k6 exited {res.returncode}: a threshold failed or "
                         "the script stopped (see its summary and log above)")
        self.assertIsNone(self.server.proc.poll(), f"walletd exited: {self.server.tail()}")
        files = glob.glob(os.path.join(results, "*.json"))
        self.assertEqual(len(files), 1, f"handleSummary wrote {files} (expected one JSON file)")
        with open(files[0]) as f:
            summary = json.load(f)
        self.assertEqual(summary["script"], script)
        self.assertTrue(glob.glob(os.path.join(results, "*.txt")), "no text summary written")

        sent = summary["k6"]["metrics"]["http_reqs"]["values"]["count"]
        answered = {cls: served(before, after, "wallet_http_requests_total", "status", cls)
                    for cls in ("2xx", "4xx", "5xx")}
        self.assertEqual(answered["5xx"], 0, f"walletd answered 5xx: {answered}")
        self.assertEqual(sum(answered.values()), sent,
                         f"k6 sent {sent} requests, walletd answered {answered}")

        verify = walletctl("verify", check=False)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        self.assertIn("0 violations", verify.stdout)
        return summary

    def scenario(self, summary, name):
        rows = [r for r in summary["scenarios"] if r["name"] == name]
        self.assertEqual(len(rows), 1, summary["scenarios"])
        return rows[0]
