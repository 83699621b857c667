"""The per-tenant rate limit (docs/API.md, "Rate limits": 429 with Retry-After; a token bucket
per tenant shared by all pods through Redis; Redis down keeps money moving and says so).

Every walletd here runs with a slow refill (RATE_LIMIT_RPS=1) and a small burst, so how many
requests may pass is known to within the refill of the test's own elapsed time. Tenants are
unique per test, so no other test's traffic shares their buckets.
"""

import concurrent.futures
import math
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (Walletd, assert_error, ensure_migrated, free_port, random_wallet_id, sql,
                     unique_account, unique_key, unique_tenant, wait_until, wallet_primary)

RPS = 1


def limited_env(burst, rps=RPS, **extra):
    env = {"RATE_LIMIT_RPS": str(rps), "RATE_LIMIT_BURST": str(burst)}
    env.update(extra)
    return env


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port, so stopping it disturbs no
    other test (the cluster's Redis is shared)."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="walletd-redis-")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, 10, message=f"redis-server on {self.port} answers PING")
        return self

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class RateLimitTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        ensure_migrated()

    def start_walletd(self, env, tenants, workers=2):
        w = Walletd(workers=workers, env=env, tenants=tenants).start()
        self.addCleanup(self.stop_walletd, w)
        return w

    def stop_walletd(self, w):
        rc = w.stop()
        self.assertEqual(rc, 0, w.tail())

    def assert_429(self, r):
        assert_error(self, r, 429, "RATE_LIMITED")
        retry = r.header("Retry-After")
        self.assertIsNotNone(retry, r)
        self.assertTrue(retry.isdigit() and int(retry) >= 1, r)
        return int(retry)

    def test_over_the_burst_is_429_and_writes_nothing(self):
        tenant = unique_tenant("rl")
        burst = 8
        w = self.start_walletd(limited_env(burst), (tenant,))
        api = w.client(tenant)
        self.addCleanup(api.close)

        first = time.monotonic()
        wallet = api.create_wallet(unique_account())
        self.assertEqual(api.credit(wallet, 10_000).status, 201)
        results = []
        for _ in range(burst + 6):
            key = unique_key("rl")
            results.append((key, api.authorize(wallet, 100, key=key)))
        elapsed = time.monotonic() - first

        passed = [k for k, r in results if r.status == 201]
        refused = [(k, r) for k, r in results if r.status != 201]
        for _, r in refused:
            self.assert_429(r)
        # two tokens went to create and credit; the rest of the burst plus what refilled since
        self.assertGreaterEqual(len(passed), burst - 2)
        self.assertLessEqual(len(passed), burst - 2 + math.ceil(elapsed * RPS))
        self.assertTrue(refused, "some requests must be over the limit")

        # nothing of a refused request reached the database: no hold, no transaction, no key
        node = wallet_primary(wallet)
        held, txns = (int(v) for v in sql(
            node, f"SELECT held, (SELECT COUNT(*) FROM transactions WHERE wallet_id = '{wallet}') "
                  f"FROM wallets WHERE id = '{wallet}'")[0])
        self.assertEqual(held, 100 * len(passed))
        self.assertEqual(txns, 1 + len(passed))
        keys = ",".join(f"'{k}'" for k, _ in refused)
        self.assertEqual(sql(node, "SELECT COUNT(*) FROM idempotency_keys "
                                   f"WHERE idem_key IN ({keys})")[0][0], "0")
        self.assertEqual(w.metric("wallet_rate_limited_total"), len(refused))

        # after Retry-After the same key runs afresh: it was never stored
        key, last = refused[-1]
        time.sleep(int(last.header("Retry-After")))
        again = api.authorize(wallet, 100, key=key)
        self.assertEqual(again.status, 201, again)
        self.assertIsNone(again.header("Idempotent-Replayed"), again)

    def test_the_bucket_is_shared_by_every_pod_and_kept_per_tenant(self):
        tenant, other = unique_tenant("rl-shared"), unique_tenant("rl-other")
        burst = 10
        pods = [self.start_walletd(limited_env(burst), (tenant, other), workers=1)
                for _ in range(2)]
        clients = [p.client(tenant) for p in pods]
        for c in clients:
            self.addCleanup(c.close)

        first = time.monotonic()
        statuses = [[], []]
        for i in range(3 * burst):
            r = clients[i % 2].get(f"/api/v1/wallets/{random_wallet_id()}")
            self.assertIn(r.status, (404, 429), r)
            statuses[i % 2].append(r.status)
        elapsed = time.monotonic() - first

        passed = sum(s.count(404) for s in statuses)
        # one bucket for both pods: about one burst in all, not one burst per pod
        self.assertGreaterEqual(passed, burst)
        self.assertLessEqual(passed, burst + math.ceil(elapsed * RPS))
        self.assertLess(passed, 2 * burst)
        for pod_statuses in statuses:
            self.assertIn(404, pod_statuses)
            self.assertIn(429, pod_statuses)

        # the other tenant's bucket is untouched, on either pod
        for p in pods:
            c = p.client(other)
            r = c.get(f"/api/v1/wallets/{random_wallet_id()}")
            c.close()
            assert_error(self, r, 404, "NOT_FOUND")

    def test_leases_under_concurrency_never_admit_more_than_the_bucket(self):
        # burst 256: each HTTP thread may lease up to 256 / 32 = 8 tokens at a time
        tenant = unique_tenant("rl-lease")
        burst, workers, http_threads, lease_max = 256, 2, 2, 8
        w = self.start_walletd(limited_env(burst, HTTP_THREADS=str(http_threads)), (tenant,),
                               workers=workers)
        clients = [w.client(tenant) for _ in range(8)]
        for c in clients:
            self.addCleanup(c.close)

        def hammer(c):
            return [c.get(f"/api/v1/wallets/{random_wallet_id()}").status for _ in range(60)]
        first = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
            statuses = [s for batch in pool.map(hammer, clients) for s in batch]
        elapsed = time.monotonic() - first

        self.assertEqual(set(statuses) - {404, 429}, set(), statuses)
        passed = statuses.count(404)
        # never more than the bucket held plus its refill ...
        self.assertLessEqual(passed, burst + math.ceil(elapsed * RPS))
        # ... and at most the leases left over at the end (one per HTTP thread) less
        self.assertGreaterEqual(passed, burst - workers * http_threads * (lease_max - 1))
        self.assertEqual(w.metric("wallet_rate_limited_total"), statuses.count(429))

    def test_limit_zero_is_off(self):
        tenant = unique_tenant("rl-off")
        w = self.start_walletd(limited_env(burst=1, rps=0), (tenant,))
        api = w.client(tenant)
        self.addCleanup(api.close)
        for _ in range(30):
            r = api.get(f"/api/v1/wallets/{random_wallet_id()}")
            assert_error(self, r, 404, "NOT_FOUND")
        self.assertEqual(w.metric("wallet_rate_limited_total"), 0)

    def test_redis_down_lets_money_move_and_says_so(self):
        redis = PrivateRedis().start()
        self.addCleanup(redis.close)
        tenant = unique_tenant("rl-down")
        burst = 3
        w = self.start_walletd(limited_env(burst, REDIS_URL=f"redis://127.0.0.1:{redis.port}/0"),
                               (tenant,), workers=1)
        api = w.client(tenant)
        self.addCleanup(api.close)
        wallet = api.create_wallet(unique_account())

        def refused_once():
            return api.get(f"/api/v1/wallets/{wallet}").status == 429
        wait_until(refused_once, 10, interval=0, message="the bucket runs dry")
        self.assertEqual(w.metric("wallet_rate_limit_unchecked_total"), 0)

        redis.kill()
        for i in range(5):
            r = api.credit(wallet, 10, key=unique_key("rl-down"))
            self.assertEqual(r.status, 201, r)
        r = api.get(f"/api/v1/wallets/{wallet}", headers={"X-Consistency": "strong"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["balance"], 50)
        self.assertGreaterEqual(w.metric("wallet_rate_limit_unchecked_total"), 6)
        warned = [ln for ln in w.log_lines() if ln.get("level") == "warn"
                  and "rate limit: redis unavailable" in ln.get("msg", "")]
        self.assertEqual(len(warned), 1, w.tail())

        # a new Redis (empty: no bucket, no script) brings the limit back
        redis.start()
        wait_until(refused_once, 10, interval=0.01, message="limits apply again")
        self.assertTrue(any("rate limit: redis answers again" in ln.get("msg", "")
                            for ln in w.log_lines()), w.tail())


if __name__ == "__main__":
    unittest.main()
