"""Faults under load: nothing acknowledged is lost, nothing is duplicated or created, and one
shard's outage stays that shard's (issue #13; docs/RELIABILITY.md has a run's table).

Two walletd pods (two processes, two workers each) share an API key file; shard 1's primary is
reached through a TCP fault proxy of the suite's own (tests/integration/faultproxy.py: this
kernel has no netem). For each fault, bank.Bank runs a steady load of mixed movements on fresh
wallets of both shards from clients that retry until they get a definitive answer, the fault
happens in the middle, and then every movement is accounted for (bank.py says how).

FAULT_SCALE (default 1) stretches every phase and the offered rate's duration for longer runs;
FAULT_RATE (default 120 movements/s) sets the offered rate. Each fault's numbers are printed and
appended to $CLUSTER_DIR/faults/report.jsonl.
"""

import json
import os
import random
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from bank import Bank, verify_all  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from harness import (REPO, TENANTS, Walletd, cluster, cluster_env, ensure_migrated,  # noqa: E402
                     start_node, wait_until)

SCALE = float(os.environ.get("FAULT_SCALE", "1"))
RATE = float(os.environ.get("FAULT_RATE", "120"))
QUERY_TIMEOUT_S = 3  # DB_QUERY_TIMEOUT_SECONDS of the pods: the blackhole outlasts it
REPORT_DIR = os.path.join(os.environ.get("CLUSTER_DIR") or os.path.join(REPO, ".cluster"),
                          "faults")


def node_pid(node):
    """The pid of a cluster node's running server, from its pid file."""
    d = os.environ.get("CLUSTER_DIR") or os.path.join(REPO, ".cluster")
    name = "redis/redis.pid" if node == "redis" else f"{node}/mysqld.pid"
    with open(os.path.join(d, name)) as f:
        return int(f.read().strip())


def alive(pid):
    """True while pid runs (a zombie no longer does)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Fault:
    """begin(), then hold() for the fault's duration, then end() (always, even on failure)."""
    name = "?"
    shard = None  # the one shard the fault is of, if it is of one
    seconds = 5.0
    detail = ""   # what the fault did, counted, for the report

    def begin(self):
        pass

    def hold(self):
        time.sleep(self.seconds * SCALE)

    def end(self):
        pass


class FaultsTest(unittest.TestCase):
    results = []

    @classmethod
    def setUpClass(cls):
        ensure_migrated()
        env = cluster_env()
        url = env["DATABASE_SHARD_1_URL"]
        head, _, tail = url.rpartition("@")
        host_port, _, db = tail.partition("/")
        cls.proxy = FaultProxy(int(host_port.rsplit(":", 1)[1]))
        pod_env = {
            "DATABASE_SHARD_1_URL": f"{head}@127.0.0.1:{cls.proxy.port}/{db}",
            "DB_QUERY_TIMEOUT_SECONDS": str(QUERY_TIMEOUT_S),
            "RESOLVE_TIMEOUT_SECONDS": "3",
            "HEALTH_INTERVAL_MS": "250",
            "RATE_LIMIT_RPS": "100000",
            "LOG_LEVEL": "warn",
        }
        cls.pods = [Walletd(workers=2, env=pod_env)]
        cls.key = cls.pods[0].keys[TENANTS[0]]
        cls.pods.append(Walletd(workers=2, env=pod_env))
        cls.pods[1].env["API_KEYS_FILE"] = cls.pods[0].keys_file  # one fleet, one key
        for pod in cls.pods:
            pod.start()
        os.makedirs(REPORT_DIR, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        codes = []
        for pod in cls.pods:
            codes.append(pod.stop())
        cls.proxy.close()
        if cls.results:
            print("\n" + table(cls.results))
        if any(c != 0 for c in codes):
            raise AssertionError(f"walletd exit codes {codes}")

    def setUp(self):
        for pod in self.pods:  # a pod a previous fault killed runs again
            if pod.proc.poll() is not None:
                pod.start()
        self.proxy.clear()

    def tearDown(self):
        self.proxy.clear()
        for node in ("shard0-primary", "shard1-primary", "shard0-replica", "shard1-replica",
                     "redis"):
            start_node(node)

    # -- the run and its checks ---------------------------------------------------------------
    def run_fault(self, fault):
        bank = Bank([p.port for p in self.pods], self.key, rate=RATE,
                    seed=random.randrange(1 << 30))
        bank.run(fault, before_s=3 * SCALE, after_s=5 * SCALE)
        for node in ("shard0-replica", "shard1-replica"):
            start_node(node)
        cluster("wait-replicas", "60")
        other = (1 - fault.shard) if fault.shard is not None else None
        r = bank.result(other_shard=other)
        r["fault"] = fault.name + (f" ({fault.detail})" if fault.detail else "")
        r["verify"] = verify_all(self)
        type(self).results.append(r)
        with open(os.path.join(REPORT_DIR, "report.jsonl"), "a") as f:
            f.write(json.dumps(r) + "\n")
        print(json.dumps(r))

        problems = "\n".join(bank.first_problems())
        self.assertEqual(r["unresolved"], 0, f"movements without a definitive answer:\n{problems}")
        self.assertEqual((r["lost"], r["duplicated"]), (0, 0), r)
        self.assertEqual(r["transactions_differ"], [], r)
        b = r["bank"]
        self.assertEqual((b["balance"], b["held"]), (b["expected_balance"], b["expected_held"]), r)
        self.assertGreater(r["acknowledged"], RATE * 5 * SCALE, r)  # the load really ran
        if other is not None:
            self.assertGreater(r["other_shard_during"], 0, r)
            self.assertEqual(r["other_shard_retried"], 0,
                             f"shard {other} was affected by shard {fault.shard}'s fault: {r}")
        return r

    # -- walletd processes --------------------------------------------------------------------
    def test_kill_9_of_a_worker(self):
        pod = self.pods[0]

        class KillWorker(Fault):
            name = "kill -9 of a walletd worker"
            seconds = 4.0

            def begin(self):
                os.kill(pod.worker_pids()[0], signal.SIGKILL)

        self.run_fault(KillWorker())
        self.assertEqual(len(pod.worker_pids()), 2)  # the master replaced it

    def test_kill_9_of_a_pod_and_a_restart(self):
        pod = self.pods[0]

        class KillPod(Fault):
            name = "kill -9 of a whole walletd pod, restarted"
            seconds = 3.0

            def begin(self):
                victims = [pod.proc.pid] + pod.worker_pids()
                for pid in victims:
                    os.kill(pid, signal.SIGKILL)
                pod.proc.wait()
                wait_until(lambda: not any(alive(p) for p in victims), 5, message="pod gone")

            def end(self):
                pod.close_log()
                pod.start()

        self.run_fault(KillPod())

    # -- a shard primary ----------------------------------------------------------------------
    def test_shard_primary_stopped_and_started(self):
        class StopPrimary(Fault):
            name = "shard 1 primary stopped, started"
            shard = 1

            def begin(self):
                cluster("stop", "shard1-primary")

            def end(self):
                start_node("shard1-primary")

        self.run_fault(StopPrimary())

    def test_shard_primary_killed_9_crash_recovery(self):
        class KillPrimary(Fault):
            name = "shard 1 primary kill -9 (crash recovery)"
            shard = 1
            seconds = 3.0

            def begin(self):
                pid = node_pid("shard1-primary")
                os.kill(pid, signal.SIGKILL)
                wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, message="killed")

            def end(self):
                start_node("shard1-primary")

        self.run_fault(KillPrimary())

    def test_replica_stopped(self):
        class StopReplica(Fault):
            name = "shard 1 replica stopped, started"
            shard = 1

            def begin(self):
                cluster("stop", "shard1-replica")

            def end(self):
                start_node("shard1-replica")

        self.run_fault(StopReplica())

    def test_redis_stopped(self):
        class StopRedis(Fault):
            name = "Redis stopped, started"

            def begin(self):
                cluster("stop", "redis")

            def end(self):
                start_node("redis")

        self.run_fault(StopRedis())

    # -- the network between walletd and shard 1's primary ------------------------------------
    def test_network_latency(self):
        proxy = self.proxy

        class Latency(Fault):
            name = "100-500 ms latency to shard 1 primary"
            shard = 1
            seconds = 6.0

            def hold(self):
                end = time.monotonic() + self.seconds * SCALE
                while time.monotonic() < end:
                    proxy.set_latency(random.uniform(0.1, 0.5))
                    time.sleep(1)

            def end(self):
                proxy.set_latency(0)

        self.run_fault(Latency())

    def test_network_resets(self):
        proxy = self.proxy

        class Resets(Fault):
            name = "connections to shard 1 primary reset"
            shard = 1

            def hold(self):
                end = time.monotonic() + self.seconds * SCALE
                resets = 0
                accepted = proxy.accepted
                while time.monotonic() < end:
                    resets += proxy.reset_all()
                    time.sleep(0.5)
                self.detail = (f"every 0.5 s: {resets} connections reset, "
                               f"{proxy.accepted - accepted} new ones")

        fault = Resets()
        self.run_fault(fault)
        self.assertNotIn(" 0 connections reset", fault.detail)  # the fault really bit

    def test_network_blackhole(self):
        proxy = self.proxy

        class Blackhole(Fault):
            name = f"blackhole to shard 1 primary > DB_QUERY_TIMEOUT ({QUERY_TIMEOUT_S} s)"
            shard = 1
            seconds = QUERY_TIMEOUT_S + 3.0

            def begin(self):
                proxy.set_blackhole(True)

            def end(self):
                proxy.set_blackhole(False)

        self.run_fault(Blackhole())


def table(results):
    """The fault table of docs/RELIABILITY.md."""
    head = ("| fault | movements sent | acknowledged | refused | retried | lost | duplicated "
            "| bank total | verify | longest (s) | what the retries met |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for r in results:
        b = r["bank"]
        bank = "ok" if (b["balance"], b["held"]) == (b["expected_balance"],
                                                     b["expected_held"]) else "WRONG"
        rows.append(f"| {r['fault']} | {r['sent']:,} | {r['acknowledged']:,} | {r['refused']} | "
                    f"{r['retried']} | {r['lost']} | {r['duplicated']} | {bank} | "
                    f"{'clean' if r['verify'].startswith('ok') else r['verify']} | "
                    f"{r['longest_s']} | "
                    f"{', '.join(f'{k} ×{v}' for k, v in list(r['interruptions'].items())[:3])} |")
    return head + "\n" + "\n".join(rows)


if __name__ == "__main__":
    unittest.main()
