"""Foundation: the process model (master + workers, restart, drain), dependency health, the
engine reconnecting after an outage, replication, migrations, metrics and the listen port.

Every wait is a poll with a bound; nothing sleeps and hopes. Tests that stop a cluster node
always start it again in a cleanup, even when they fail.
"""

import http.client
import json
import os
import re
import signal
import threading
import time
import unittest

from harness import (REPO, TENANTS, Walletd, WalletdTestCase, account_on_shard, cluster,
                     cluster_env, ensure_migrated, id_bucket, bucket_shard, metric_sum, one_shot,
                     parse_metrics, parse_ts, sql, sql_value, start_node, unique_key,
                     wait_until, walletctl)

SHARD_COUNT = int(cluster_env().get("SHARD_COUNT", "2"))

READY_WITHIN = 5.0      # HEALTH_INTERVAL_MS is 1000 by default: one or two check rounds
RECOVER_WITHIN = 10.0   # after `cluster start`, which returns once the node answers

# glibc fills freed heap memory with this byte, so a read after free shows up as garbage in
# the output instead of silently printing the old bytes (the ASan build aborts instead).
DEBUG_ENV = {"MALLOC_PERTURB_": "165"}


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def log_time(line):
    """A log line's "ts" as seconds since the epoch."""
    return parse_ts(line["ts"]).timestamp()


def replacement_worker(server, old, keep):
    """The pid of a worker of server that is not in old, once server has its 2 workers again and
    keep is still one of them; None until then."""
    pids = server.worker_pids()
    fresh = [p for p in pids if p not in old]
    return fresh[0] if len(pids) == 2 and keep in pids and fresh else None


def wait_every_worker(server, want, timeout, message, interval=0.02, request_timeout=5,
                      seen=None):
    """Polls /health/ready on fresh connections until every worker of server has given an
    answer for which want(answer) holds (workers are told apart by the access log's pid, and
    each checks its dependencies on its own clock). Returns those answers by request ID; every
    answer is also appended to seen, if given."""
    workers = set(server.worker_pids())
    tag = unique_key("ready")
    good = {}
    n = [0]

    def check():
        rid = f"{tag}-{n[0]}"
        n[0] += 1
        try:
            r = one_shot(server.port, "GET", "/health/ready", timeout=request_timeout,
                         headers={"X-Request-Id": rid})
        except (OSError, http.client.HTTPException):
            return None
        if seen is not None:
            seen.append(r)
        if want(r):
            good[rid] = r
        pids = {line["pid"] for line in server.log_lines() if line.get("requestId") in good}
        return good if good and pids >= workers else None
    return wait_until(check, timeout, interval=interval, message=message)


class FoundationTest(WalletdTestCase):
    """One shared walletd (2 workers) for the tests that do not stop or kill it."""

    workers = 2
    env = DEBUG_ENV

    # -- small helpers ----------------------------------------------------------------------
    def req(self, method, path, body=None, headers=None, key=True, server=None, timeout=10):
        server = server or self.server
        k = server.keys[TENANTS[0]] if key else None
        return one_shot(server.port, method, path, key=k, body=body, headers=headers,
                        timeout=timeout)

    def create_wallet(self, shard=None, server=None):
        account = (account_on_shard(shard, SHARD_COUNT) if shard is not None
                   else unique_key("acct")[:64])
        r = self.req("POST", "/api/v1/wallets", {"accountId": account, "currency": "USD"},
                     server=server)
        self.assertEqual(r.status, 201, r)
        wid = r.data["id"]
        if shard is not None:
            self.assertEqual(bucket_shard(id_bucket(wid), SHARD_COUNT), shard, wid)
        return wid

    def credit(self, wallet, amount, key=None, ref=None, server=None):
        body = {"walletId": wallet, "amount": amount, "referenceId": ref or unique_key("ref")}
        return self.req("POST", "/api/v1/transactions/credit", body,
                        headers={"Idempotency-Key": key or unique_key()}, server=server)

    def balance(self, wallet, server=None):
        r = self.req("GET", f"/api/v1/wallets/{wallet}", headers={"X-Consistency": "strong"},
                     server=server)
        self.assertEqual(r.status, 200, r)
        return r.data["balance"]

    def ready(self, server=None):
        try:
            r = self.req("GET", "/health/ready", key=False, server=server, timeout=5)
        except (OSError, http.client.HTTPException):
            return None
        if hasattr(self, "ready_seen"):
            self.ready_seen.append(r)
        return r

    def wait_every_worker(self, want, timeout, message):
        """wait_every_worker() on this class's walletd; returns the last answer that held."""
        answers = wait_every_worker(self.server, want, timeout, message,
                                    seen=getattr(self, "ready_seen", None))
        return list(answers.values())[-1]

    def assert_ready_answers_well_formed(self):
        """Every /health/ready answer seen had the documented shape: 200 OK, or 503 NOT_READY
        with a readable message and the checks."""
        bad = [r for r in self.ready_seen
               if not (r.status in (200, 503) and isinstance(r.json, dict) and
                       isinstance((r.data or r.json).get("checks"), dict) and
                       (r.status == 200 or re.fullmatch(r"[ -~]+", r.json.get("message", ""))))]
        if bad:
            self.fail(f"{len(bad)} of {len(self.ready_seen)} /health/ready answers lack the "
                      f"checks or a readable message, e.g. {bad[0]!r}")

    def assert_log_well_formed(self):
        """No log line lost its message to unreadable bytes (a read of freed memory)."""
        bad = [line for line in self.server.log_lines()
               if not re.fullmatch(r"[ -~]+", str(line.get("msg", "")))
               or line.get("msg") == "(message not valid UTF-8)"]
        if bad:
            self.fail(f"{len(bad)} log lines have an unreadable message, e.g. {bad[:3]}")

    def assert_ready_ok(self, r):
        self.assertIsNotNone(r)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.code, "OK", r)
        self.assertEqual(r.data["status"], "ready", r)
        checks = r.data["checks"]
        for i in range(SHARD_COUNT):
            self.assertEqual(checks[f"shard{i}"], "ok", r)
        self.assertEqual(checks["redis"], "ok", r)
        self.assertIs(checks["draining"], False, r)

    # -- tests ------------------------------------------------------------------------------
    def test_ready_and_live(self):
        for _ in range(4):  # fresh connections: both workers answer the same
            self.assert_ready_ok(self.ready())
            r = self.req("GET", "/health/live", key=False)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.data, {"status": "live"}, r)

    def test_shard_primary_outage_and_recovery(self):
        w0 = self.create_wallet(shard=0)
        w1 = self.create_wallet(shard=1)
        self.assertEqual(self.credit(w0, 1000).status, 201)
        self.assertEqual(self.credit(w1, 1000).status, 201)
        master = self.server.proc.pid
        workers = self.server.worker_pids()
        self.assertEqual(len(workers), 2, workers)

        self.addCleanup(start_node, "shard0-primary")
        self.ready_seen = []
        cluster("stop", "shard0-primary")
        t0 = time.monotonic()

        # every pod sees this at once: readiness stays 200 (the fleet stays in the load
        # balancer), and the outage is reported, in the body and the metrics
        r = self.wait_every_worker(
            lambda r: r.status == 200 and r.data["checks"]["shard0"] == "down",
            READY_WITHIN, "every worker: ready 200 reporting shard0 down")
        self.assertEqual(r.data["checks"]["shard1"], "ok", r)
        self.assertEqual(r.data["checks"]["redis"], "ok", r)
        self.assertLess(time.monotonic() - t0, READY_WITHIN)
        self.assertEqual(self.server.metric("wallet_shard_primary_up", shard="0"), 0)
        self.assertEqual(self.server.metric("wallet_shard_primary_up", shard="1"), 1)

        # money for a shard-0 wallet: 503, Retry-After, nothing written; shard 1 unaffected
        key, ref = unique_key("outage"), unique_key("outage-ref")
        for _ in range(2):  # fresh connections: whichever worker answers, same result
            t = time.monotonic()
            r = self.credit(w0, 77, key=key, ref=ref)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.code, "SERVICE_UNAVAILABLE", r)
            self.assertIsNotNone(r.header("Retry-After"), r.headers)
            self.assertLess(time.monotonic() - t, 5.0, "a down shard must fail fast")
        r = self.req("GET", f"/api/v1/wallets/{w0}")  # a strong read needs the primary
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.code, "SERVICE_UNAVAILABLE", r)
        self.assertIsNotNone(r.header("Retry-After"), r.headers)
        r = one_shot(self.server.port, "GET", f"/api/v1/wallets/{w0}",
                     key=self.server.keys[TENANTS[0]], consistency=None)
        self.assertEqual((r.status, r.data["balance"]), (200, 1000), r)  # a default read: the replica
        r = self.credit(w1, 5)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.balance(w1), 1005)

        start_node("shard0-primary")
        self.wait_every_worker(lambda r: r.status == 200 and r.data["checks"]["shard0"] == "ok",
                               RECOVER_WITHIN, "every worker: shard0 ok after the primary is back")
        self.assert_ready_ok(self.ready())
        self.assertIsNone(self.server.proc.poll(), "walletd must not have exited")
        self.assertEqual(self.server.proc.pid, master)
        self.assertEqual(self.server.worker_pids(), workers, "no worker may have restarted")

        # nothing of the refused credit reached shard 0
        self.assertEqual(sql_value("shard0-primary",
                                   f"SELECT COUNT(*) FROM transactions WHERE reference_id='{ref}'"),
                         "0")
        self.assertEqual(sql_value("shard0-primary",
                                   f"SELECT COUNT(*) FROM idempotency_keys WHERE idem_key='{key}'"),
                         "0")
        self.assertEqual(self.balance(w0), 1000)

        # the engine reconnected: the same key now executes afresh (a 503 is never stored)
        r = self.credit(w0, 77, key=key, ref=ref)
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.header("Idempotent-Replayed"), r.headers)
        for _ in range(6):  # fresh connections: both workers' writers reconnected
            self.assertEqual(self.credit(w0, 1).status, 201)
        self.assertEqual(self.balance(w0), 1083)
        self.assertEqual(sql_value("shard0-primary",
                                   f"SELECT COUNT(*) FROM transactions WHERE reference_id='{ref}'"),
                         "1")
        # what ready and the log said about the outage was readable all along
        self.assert_ready_answers_well_formed()
        self.assert_log_well_formed()

    def test_redis_outage_and_recovery(self):
        w0 = self.create_wallet(shard=0)
        w1 = self.create_wallet(shard=1)
        master = self.server.proc.pid
        workers = self.server.worker_pids()

        self.addCleanup(start_node, "redis")
        self.ready_seen = []
        cluster("stop", "redis")

        r = self.wait_every_worker(
            lambda r: r.status == 200 and r.data["checks"]["redis"] == "down",
            READY_WITHIN, "every worker: ready 200 reporting redis down")
        for i in range(SHARD_COUNT):
            self.assertEqual(r.data["checks"][f"shard{i}"], "ok", r)
        self.assertEqual(self.server.metric("wallet_redis_up"), 0)

        # Redis is not on the money path
        for w in (w0, w1, w0, w1):
            r = self.credit(w, 10)
            self.assertEqual(r.status, 201, r)
        self.assertEqual(self.balance(w0), 20)
        self.assertEqual(self.balance(w1), 20)

        start_node("redis")
        self.wait_every_worker(lambda r: r.status == 200 and r.data["checks"]["redis"] == "ok",
                               RECOVER_WITHIN, "every worker: redis ok after it is back")
        self.assert_ready_ok(self.ready())
        self.assertEqual(self.server.proc.pid, master)
        self.assertEqual(self.server.worker_pids(), workers)
        self.assert_ready_answers_well_formed()
        self.assert_log_well_formed()

    def test_replica_outage_is_reported_but_not_unready(self):
        # Replicas are reported with their lag; readiness never depends on them.
        r = self.ready()
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x["state"] for x in r.json["data"]["checks"]["shard1Replicas"]], ["ok"])
        self.assertGreaterEqual(r.json["data"]["checks"]["shard1Replicas"][0]["lagSeconds"], 0)
        self.addCleanup(start_node, "shard1-replica")
        cluster("stop", "shard1-replica")
        self.wait_every_worker(
            lambda r: r.status == 200 and
            [x["state"] for x in r.json["data"]["checks"]["shard1Replicas"]] == ["down"],
            READY_WITHIN, "every worker: ready 200 with shard 1's replica reported down")
        w1 = self.create_wallet(shard=1)
        self.assertEqual(self.credit(w1, 5).status, 201)  # writes never need a replica
        start_node("shard1-replica")
        self.wait_every_worker(
            lambda r: r.status == 200 and
            [x["state"] for x in r.json["data"]["checks"]["shard1Replicas"]] == ["ok"],
            RECOVER_WITHIN, "every worker: shard 1's replica ok again")

    def test_primary_write_is_read_back_from_replica(self):
        for shard in range(SHARD_COUNT):
            w = self.create_wallet(shard=shard)
            self.assertEqual(self.credit(w, 4242).status, 201)
            cluster("wait-replicas", "30")
            rows = sql(f"shard{shard}-replica",
                       f"SELECT balance, held FROM wallets WHERE id='{w}'")
            self.assertEqual(rows, [["4242", "0"]], f"shard {shard} replica")
            entries = sql_value(f"shard{shard}-replica",
                                f"SELECT COUNT(*) FROM ledger WHERE wallet_id='{w}'")
            self.assertEqual(entries, "1")

    def test_migrate_is_idempotent_and_replicated(self):
        walletctl("migrate", "--dir", os.path.join(REPO, "migrations"))
        res = walletctl("migrate", "--dir", os.path.join(REPO, "migrations"))
        applied = {int(m.group(1)): int(m.group(2)) for m in
                   re.finditer(r"^shard (\d+): (\d+) migration\(s\) applied$", res.stdout, re.M)}
        self.assertEqual(applied, {i: 0 for i in range(SHARD_COUNT)}, res.stdout)

        files = sorted(f for f in os.listdir(os.path.join(REPO, "migrations"))
                       if f.endswith(".sql"))
        self.assertTrue(files)
        cluster("wait-replicas", "30")
        for shard in range(SHARD_COUNT):
            for role in ("primary", "replica"):
                rows = sql(f"shard{shard}-{role}",
                           "SELECT name FROM schema_migrations ORDER BY version")
                self.assertEqual([r[0] for r in rows], files, f"shard{shard}-{role}")

    def test_metrics_counts_requests_of_both_workers(self):
        workers = set(self.server.worker_pids())
        self.assertEqual(len(workers), 2)
        route = "GET /health/live"

        before = self.server.metric("wallet_http_requests_total", route=route, status="2xx")

        tag = unique_key("metrics")
        made = 0

        def tagged_lines():
            return [line for line in self.server.log_lines()
                    if str(line.get("requestId", "")).startswith(tag)]

        def all_logged():
            lines = tagged_lines()
            return lines if len(lines) == made else None

        def both_served():
            nonlocal made
            for _ in range(10):
                r = self.req("GET", "/health/live", key=False,
                             headers={"X-Request-Id": f"{tag}-{made}"})
                self.assertEqual(r.status, 200)
                made += 1
            # a request is counted, then logged, when it completes (just after its answer)
            lines = wait_until(all_logged, 2, message="every request logged")
            served = {line["pid"] for line in lines}
            return served if served == workers else None
        # fresh connections until both workers have logged some
        served = wait_until(both_served, 10, interval=0,
                            message="requests reached both workers")
        self.assertTrue(served <= workers, served)

        r = self.req("GET", "/metrics", key=False)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"), r.headers)
        self.assertIn("# TYPE wallet_http_requests_total counter", r.raw)
        samples = parse_metrics(r.raw)
        live = metric_sum(samples, "wallet_http_requests_total", route=route, status="2xx")
        self.assertEqual(live - before, made, "the pod's total counts every worker's requests")
        for name in ("wallet_http_request_duration_ms_count", "wallet_worker_restarts_total",
                     "wallet_db_connections_max"):
            self.assertTrue(any(n == name for n, _ in samples), name)
        self.assertEqual(metric_sum(samples, "wallet_worker_restarts_total"), 0)

    def test_second_instance_on_same_port_refuses_to_start(self):
        other = Walletd(workers=1)
        other.port = self.server.port
        other.env["PORT"] = str(self.server.port)
        t = time.monotonic()
        other.start(wait_ready=False)
        self.addCleanup(other.stop)
        rc = other.proc.wait(5)
        self.assertNotEqual(rc, 0, other.tail())
        self.assertLess(time.monotonic() - t, 5)
        self.assertIn("PORT", other.tail())
        self.assert_ready_ok(self.ready())  # the first one is untouched


class ProcessLifecycleTest(unittest.TestCase):
    """Tests that kill or stop their own walletd."""

    @classmethod
    def setUpClass(cls):
        ensure_migrated()

    def start_server(self, **env):
        """A walletd of this test's own; also returns a time by which its workers had started."""
        server = Walletd(workers=2, env=dict(DEBUG_ENV, **{k: str(v) for k, v in env.items()}))
        server.start()
        started = time.monotonic()
        self.addCleanup(server.stop)
        return server, started

    def new_wallet(self, server):
        """A wallet created through server, and the API key it was created with."""
        key = server.keys[TENANTS[0]]
        r = one_shot(server.port, "POST", "/api/v1/wallets", key=key,
                     body={"accountId": unique_key("acct")[:64], "currency": "USD"})
        self.assertEqual(r.status, 201, r)
        return key, r.data["id"]

    def both_workers(self, server):
        """server's two worker pids."""
        workers = server.worker_pids()
        self.assertEqual(len(workers), 2)
        return workers

    def test_kill_9_worker_is_replaced(self):
        server, started = self.start_server()
        key, wallet = self.new_wallet(server)
        workers = self.both_workers(server)

        results = []  # (request id, start, end, status or None, error)
        stop = threading.Event()

        def loop():
            n = 0
            while not stop.is_set():
                rid = f"loop-{n}"
                n += 1
                t = time.monotonic()
                try:
                    r = one_shot(server.port, "GET", f"/api/v1/wallets/{wallet}", key=key,
                                 headers={"X-Request-Id": rid}, timeout=5)
                    results.append((rid, t, time.monotonic(), r.status, None))
                except (OSError, http.client.HTTPException) as e:
                    results.append((rid, t, time.monotonic(), None, repr(e)))

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(stop.set)

        def pid_of_requests():
            return {l["requestId"]: l["pid"] for l in server.log_lines()
                    if str(l.get("requestId", "")).startswith("loop-")}

        # both workers serve the loop before the kill
        wait_until(lambda: set(pid_of_requests().values()) >= set(workers), 5,
                   message="both workers served the loop")
        # a worker dying within 1 s of its start is restarted only after a 1 s back-off
        if time.monotonic() - started < 1.5:
            time.sleep(1.5 - (time.monotonic() - started))

        victim, survivor = workers
        t_kill = time.monotonic()
        os.kill(victim, signal.SIGKILL)

        new = wait_until(lambda: replacement_worker(server, workers, survivor), 2.0,
                         interval=0.02, message="a new worker")
        self.assertFalse(pid_alive(victim))

        # the new worker serves: the loop gets a request through it, and it answers ready 200
        wait_until(lambda: new in pid_of_requests().values(), 2.0 - (time.monotonic() - t_kill),
                   interval=0.02, message="the new worker served a loop request")
        n = [0]

        def new_worker_ready():
            rid = f"ready-{n[0]}"
            n[0] += 1
            try:
                r = one_shot(server.port, "GET", "/health/ready", headers={"X-Request-Id": rid},
                             timeout=2)
            except (OSError, http.client.HTTPException):
                return False
            if r.status != 200:
                return False
            return any(l.get("requestId") == rid and l["pid"] == new
                       for l in server.log_lines())
        wait_until(new_worker_ready, max(0.0, 2.0 - (time.monotonic() - t_kill)), interval=0.0,
                   message="ready 200 from the new worker within 2 s of the kill")

        # keep the loop going a little after the recovery, then look at it as a whole
        time.sleep(max(0.0, t_kill + 2.5 - time.monotonic()))
        stop.set()
        thread.join(10)
        self.assertGreater(len(results), 20, "the loop made too few requests")
        bad_status = [r for r in results if r[3] is not None and r[3] != 200]
        self.assertEqual(bad_status, [], "no request may get an error status")
        failed = [r for r in results if r[3] is None]
        self.assertGreaterEqual((len(results) - len(failed)) / len(results), 0.95,
                                f"{len(failed)} of {len(results)} failed: {failed[:5]}")
        # failures can only be requests in flight on the killed worker at the kill
        for rid, t, end, _, err in failed:
            self.assertLessEqual(t, t_kill + 0.5, f"{rid} failed well after the kill: {err}")
        # the surviving worker served throughout: no hole in successful completions
        ok_ends = sorted(r[2] for r in results if r[3] == 200)
        gaps = [b - a for a, b in zip(ok_ends, ok_ends[1:]) if b > t_kill - 0.5]
        self.assertLess(max(gaps), 1.0, "serving stalled around the kill")
        owners = pid_of_requests()
        after_kill = [r for r in results if r[1] > t_kill and r[3] == 200]
        self.assertTrue(any(owners.get(r[0]) == survivor for r in after_kill),
                        "the surviving worker served nothing after the kill")
        self.assertEqual(server.metric("wallet_worker_restarts_total"), 1)
        self.assertTrue(any(l.get("msg", "").endswith(f"restarted as pid {new}")
                            for l in server.log_lines()), "the master logs the restart")
        self.assertIsNone(server.proc.poll())

    def test_worker_dying_right_after_start_is_restarted_after_backoff(self):
        server, started = self.start_server()
        workers = self.both_workers(server)
        if time.monotonic() - started < 1.5:  # let the first workers pass the 1 s mark
            time.sleep(1.5 - (time.monotonic() - started))

        def master_times(pid):
            """(when the master saw pid die, when it started the replacement) from its log."""
            died = restarted = None
            for line in server.log_lines():
                msg = line.get("msg", "")
                if line["pid"] == server.proc.pid and f"(pid {pid}) " in msg:
                    died = log_time(line)
                elif died and restarted is None and " restarted as pid " in msg:
                    restarted = log_time(line)
            return (died, restarted) if died and restarted else None

        def started_at(pid):
            return next(log_time(line) for line in server.log_lines()
                        if line.get("msg", "").endswith(f"restarted as pid {pid}"))

        # a worker that ran for more than 1 s is replaced at once
        victim, survivor = workers
        os.kill(victim, signal.SIGKILL)
        second = wait_until(lambda: replacement_worker(server, workers, survivor), 2.0,
                            interval=0.01, message="immediate replacement")
        died, restarted = wait_until(lambda: master_times(victim), 2.0)
        self.assertLess(restarted - died, 0.3, "no back-off for a worker that ran > 1 s")

        # a worker that dies within 1 s of its start is replaced only after a 1 s back-off
        os.kill(second, signal.SIGKILL)
        third = wait_until(lambda: replacement_worker(server, workers + [second], survivor),
                           3.0, interval=0.01, message="replacement after the back-off")
        died, restarted = wait_until(lambda: master_times(second), 2.0)
        if died - started_at(second) >= 0.9:
            self.skipTest("could not kill the new worker within 1 s of its start")
        self.assertGreaterEqual(restarted - died, 0.95,
                                "a worker dying within 1 s of its start waits the 1 s back-off")
        self.assertLess(restarted - died, 1.6)
        wait_until(lambda: one_shot(server.port, "GET", "/health/ready").status == 200,
                   2.0, message="ready after the restarts")
        self.assertIn(third, server.worker_pids())
        self.assertEqual(server.metric("wallet_worker_restarts_total"), 2)

    def test_sigterm_drains_then_exits_zero(self):
        drain = 2
        server, _ = self.start_server(DRAIN_DELAY_SECONDS=drain, SHUTDOWN_TIMEOUT_SECONDS=10)
        key, wallet = self.new_wallet(server)
        workers = self.both_workers(server)

        def credit_body(amount):
            return {"walletId": wallet, "amount": amount, "referenceId": unique_key("ref")}

        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)

        # every worker turns ready 503 at once (fresh connections until each has said so)
        answers = wait_every_worker(server, lambda r: r.status == 503, 0.5,
                                    "every worker answers ready 503 within 0.5 s of SIGTERM",
                                    interval=0.005, request_timeout=2)
        self.assertLess(time.monotonic() - t0, 0.5)
        for r in answers.values():
            self.assertEqual(r.code, "NOT_READY", r)
            self.assertIs(r.json["checks"]["draining"], True, r)
            self.assertIn("draining", r.json["message"], r)
        for _ in range(6):  # and it stays so
            r = one_shot(server.port, "GET", "/health/ready", timeout=2)
            self.assertEqual(r.status, 503, r)

        # still serving normal requests during the drain window
        credited = 0
        for i in range(4):
            r = one_shot(server.port, "GET", "/health/live", timeout=2)
            self.assertEqual(r.status, 200, r)
            r = one_shot(server.port, "POST", "/api/v1/transactions/credit", key=key,
                         body=credit_body(10), headers={"Idempotency-Key": unique_key()},
                         timeout=2)
            self.assertEqual(r.status, 201, r)
            credited += 10
        self.assertLess(time.monotonic() - t0, drain - 0.3, "too slow to test the drain window")

        # a request in flight when the drain ends: headers and part of the body now, the rest
        # after the end of the drain; it must still complete
        body = json.dumps(credit_body(5)).encode()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        self.addCleanup(conn.close)
        conn.putrequest("POST", "/api/v1/transactions/credit")
        conn.putheader("Authorization", f"Bearer {key}")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Idempotency-Key", unique_key("inflight"))
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body[:10])
        self.assertLess(time.monotonic() - t0, drain - 0.1)
        # after the drain no new connection is taken (the kernel may queue it; nobody answers)
        time.sleep(max(0.0, t0 + drain + 0.3 - time.monotonic()))
        with self.assertRaises((OSError, http.client.HTTPException),
                               msg="a new request was served after the drain ended"):
            one_shot(server.port, "GET", "/health/live", timeout=0.5)
        time.sleep(max(0.0, t0 + drain + 0.8 - time.monotonic()))
        self.assertIsNone(server.proc.poll(), "exited with a request in flight")
        conn.send(body[10:])
        resp = conn.getresponse()
        raw = resp.read()
        self.assertEqual(resp.status, 201, raw)
        credited += 5
        conn.close()

        rc = server.proc.wait(drain + 4 - (time.monotonic() - t0))
        exited = time.monotonic() - t0
        self.assertEqual(rc, 0, server.tail())
        self.assertLess(exited, drain + 4)
        for pid in workers:
            self.assertFalse(pid_alive(pid), f"worker {pid} outlived the master")
        lines = server.log_lines()
        self.assertTrue(any(l.get("msg") == "master: all workers stopped" for l in lines))

        # what was credited during the drain is there
        self.assertEqual(sql_value(f"shard{bucket_shard(id_bucket(wallet), SHARD_COUNT)}-primary",
                                   f"SELECT balance FROM wallets WHERE id='{wallet}'"),
                         str(credited))


if __name__ == "__main__":
    unittest.main()
