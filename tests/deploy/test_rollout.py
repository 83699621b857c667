"""A rolling update without a failed request, through a real load balancer.

No Kubernetes runs here, but the contract the ALB relies on can be tested: HAProxy (Debian's)
in front of three walletd processes ("pods", each on its own port), health-checking
GET /health/ready as the ALB does (every 500 ms, down after 2 failures, up after 2 successes; no
retries, since the ALB does not retry either). k6 sends a constant arrival rate through it
(loadtest/rollout.js) while each pod in turn is replaced as a Deployment's rolling update does
with the readiness gate: a replacement starts on a new port and is added through HAProxy's
runtime API; once HAProxy sees it UP, the old pod gets SIGTERM. walletd turns /health/ready 503 at
once and keeps serving for DRAIN_DELAY_SECONDS (3 s here, longer than the 1 s HAProxy needs to
mark it down), then stops accepting and exits.

Passes when k6 exits 0 with zero failed requests and exactly the planned number of requests,
every pod exited 0, and `walletctl verify` is clean. Needs the local cluster (scripts/test starts
it) and k6 (scripts/find-k6); without k6 the test is skipped, saying so, never passed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from common import REPO, run, tool

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import harness  # noqa: E402

RATE = 60          # requests a second
DURATION_S = 40    # of constant rate; the rollout takes ~20 s of it
DRAIN_S = 3        # DRAIN_DELAY_SECONDS of the pods: > fall x inter (1 s) of the health check
SLOTS = 6          # HAProxy server slots: 3 pods + 3 replacements


def find_k6():
    res = subprocess.run([os.path.join(REPO, "scripts", "find-k6")], capture_output=True,
                         text=True)
    return res.stdout.strip() if res.returncode == 0 else None


class HAProxy:
    """HAProxy on a free loopback port with SLOTS server slots, driven by its runtime API."""

    def __init__(self, workdir):
        self.port = harness.free_port()
        self.sock = os.path.join(workdir, "haproxy.sock")
        self.cfg = os.path.join(workdir, "haproxy.cfg")
        self.log = open(os.path.join(workdir, "haproxy.log"), "wb")
        with open(self.cfg, "w", encoding="utf-8") as f:
            f.write(f"""global
    stats socket {self.sock} mode 600 level admin
    maxconn 4096

defaults
    mode http
    retries 0
    timeout connect 2s
    timeout client 65s
    timeout server 30s
    timeout http-keep-alive 60s

frontend api
    bind 127.0.0.1:{self.port}
    default_backend pods

backend pods
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    default-server check inter 500ms fall 2 rise 2
    server-template pod 1-{SLOTS} 127.0.0.1:1 disabled
""")
        haproxy = tool("haproxy", "apt-get install haproxy")
        rc, out = run([haproxy, "-c", "-f", self.cfg])
        if rc != 0:
            raise AssertionError(f"haproxy -c: {out}")
        self.proc = subprocess.Popen([haproxy, "-db", "-f", self.cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        harness.wait_until(lambda: os.path.exists(self.sock), 10, message="haproxy socket")

    def cmd(self, line):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.sock)
            s.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode()

    def states(self):
        """{slot: (operational state, admin state, port)} from `show servers state`."""
        out = {}
        for line in self.cmd("show servers state pods").splitlines():
            f = line.split()
            if len(f) > 18 and f[1] == "pods":
                out[int(f[3].replace("pod", ""))] = (int(f[5]), int(f[6]), int(f[18]))
        return out

    def add(self, slot, port):
        for line in (f"set server pods/pod{slot} addr 127.0.0.1 port {port}",
                     f"set server pods/pod{slot} state ready"):
            reply = self.cmd(line).strip()
            if reply and "changed" not in reply.lower():
                raise AssertionError(f"haproxy: {line}: {reply}")

    def wait_up(self, slot, up=True, timeout=15):
        want = 2 if up else 0
        harness.wait_until(lambda: self.states().get(slot, (None,))[0] == want, timeout,
                           message=f"haproxy pod{slot} {'UP' if up else 'DOWN'}")

    def remove(self, slot):
        self.cmd(f"set server pods/pod{slot} state maint")

    def requests(self):
        """Requests the backend has answered so far (stot of the backend line)."""
        for line in self.cmd("show stat -1 2 -1").splitlines():
            f = line.split(",")
            if len(f) > 7 and f[0] == "pods" and f[1] == "BACKEND":
                return int(f[7])
        return 0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class RolloutTest(unittest.TestCase):
    def rollout(self, drain_s, duration_s, replace):
        """Runs k6 at RATE for duration_s through HAProxy while the pods in replace are replaced
        one by one (pods with DRAIN_DELAY_SECONDS=drain_s). Returns (k6 exit code, requests
        sent, failed requests, seconds the rollout took, k6's output); asserts that every pod
        exited 0."""
        k6 = find_k6()
        if not k6:
            self.skipTest("no k6: set K6, put k6 on PATH, or provide ../shared/tools/k6 "
                          "(scripts/find-k6); the rollout was NOT tested")
        harness.ensure_migrated()
        work = tempfile.mkdtemp(prefix="walletd-rollout-")
        self.addCleanup(lambda: os.environ.get("ROLLOUT_KEEP") or shutil.rmtree(work, True))
        lb = HAProxy(work)
        self.addCleanup(lb.stop)
        pods, exits, first = {}, {}, []

        def start_pod(slot):
            env = {"DRAIN_DELAY_SECONDS": str(drain_s), "SHUTDOWN_TIMEOUT_SECONDS": "10",
                   "LOG_LEVEL": "warn", "ACCESS_LOG": "false", "RATE_LIMIT_RPS": "0"}
            if first:
                env["API_KEYS_FILE"] = first[0].keys_file  # every pod accepts the same keys
            pod = harness.Walletd(workers=1, env=env).start()  # returns once /health/ready is 200
            pods[slot] = pod
            first[:] = first or [pod]
            lb.add(slot, pod.port)
            lb.wait_up(slot)
            return pod

        def stop_all():
            for slot, pod in pods.items():
                if slot not in exits:
                    exits[slot] = pod.stop()
        self.addCleanup(stop_all)

        for slot in (1, 2, 3):
            start_pod(slot)
        summary = os.path.join(work, "summary.json")
        k6_path = os.path.join(work, "k6.log")
        k6_log = open(k6_path, "wb")
        self.addCleanup(k6_log.close)
        proc = subprocess.Popen(
            [k6, "run", "--no-color", f"--summary-export={summary}",
             "-e", f"API_URL=http://127.0.0.1:{lb.port}",
             "-e", f"TEST_TOKEN={first[0].keys[harness.TENANTS[0]]}",
             "-e", f"RATE={RATE}", "-e", f"DURATION={duration_s}s", "-e", "WALLETS=20",
             "-e", f"RESULTS_DIR={work}",  # rollout.js's summary (.txt, .json) beside k6.log
             os.path.join(REPO, "loadtest", "rollout.js")],
            stdout=k6_log, stderr=subprocess.STDOUT, env=dict(os.environ, K6_NO_USAGE_REPORT="true"))
        self.addCleanup(lambda: proc.poll() is None and proc.kill())

        # The rollout starts once k6's constant rate is flowing (setup() made its wallets).
        base = lb.requests()
        harness.wait_until(lambda: proc.poll() is not None or lb.requests() > base + 3 * RATE, 60,
                           message="k6 traffic through haproxy")
        self.assertIsNone(proc.poll(), "k6 stopped before the rollout")
        t0 = time.monotonic()
        for old, new in replace:
            start_pod(new)                        # surge: the replacement is UP in the LB first
            pods[old].proc.send_signal(15)        # then the old pod is terminated
            lb.wait_up(old, up=False, timeout=5)  # the LB sees it draining
            exits[old] = pods[old].stop(timeout=drain_s + 20)
            lb.remove(old)
        took = time.monotonic() - t0
        proc.wait(duration_s + 120)
        k6_log.close()
        with open(k6_path, encoding="utf-8", errors="replace") as f:
            out = f.read()
        with open(summary, encoding="utf-8") as f:
            metrics = json.load(f)["metrics"]
        sent = int(metrics["http_reqs{scenario:rollout}"]["count"])
        # http_req_failed is a rate: its "passes" are the failed requests.
        failed = int(metrics["http_req_failed{scenario:rollout}"].get("passes", 0))
        stop_all()
        self.assertEqual(exits, {s: 0 for s in pods}, "every pod exits 0")
        return proc.returncode, sent, failed, took, out

    def test_rolling_update_without_a_failed_request(self):
        rc, sent, failed, took, out = self.rollout(DRAIN_S, DURATION_S, ((1, 4), (2, 5), (3, 6)))
        self.assertEqual(rc, 0, f"k6 failed:\n{out[-4000:]}")
        self.assertIn(sent, (RATE * DURATION_S, RATE * DURATION_S + 1))  # k6 starts one at each end
        self.assertEqual(failed, 0)
        res = harness.walletctl("verify", check=False)
        self.assertEqual(res.returncode, 0, f"walletctl verify: {res.stdout} {res.stderr}")
        print(f"rollout: {sent} requests at {RATE}/s through haproxy, {failed} failed; 3 pods "
              f"replaced in {took:.1f} s, all 6 exited 0; walletctl verify clean")

    def test_without_a_drain_requests_fail(self):
        """The same with DRAIN_DELAY_SECONDS=0: a pod stops accepting before the LB has marked
        it down, and the test must see failed requests (it is not blind to a bad drain)."""
        rc, sent, failed, _, out = self.rollout(0, 15, ((1, 4), (2, 5)))
        self.assertNotEqual(rc, 0, "k6 passed although pods stopped without draining")
        self.assertGreater(failed, 0, out[-2000:])
        print(f"rollout without drain: {failed} of {sent} requests failed, as they must")


if __name__ == "__main__":
    unittest.main()
