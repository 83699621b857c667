"""What a client is told when the database fails around COMMIT, and at shutdown.

walletd's shard 0 primary is reached through a fault proxy of the suite's own
(faultproxy.FaultProxy), so the faults are real network faults on a real MariaDB:
- the COMMIT reaches the primary and commits, but its OK never comes back and the connection
  drops (then reconnecting is refused for a while, or not);
- the connection drops right after COMMIT was sent and the primary receives it a moment later,
  while walletd has already reconnected and runs the batch again;
- the primary stops answering altogether while requests are in flight and walletd is told to stop.
The contract (docs/API.md, "Errors and retries"): a movement that committed is answered with its
result, first-time (no Idempotent-Replayed); when the outcome cannot be learned in time the
answer is 503 OUTCOME_UNKNOWN, never a 503 that says nothing was committed.
"""

import signal
import threading
import time
import unittest

from faultproxy import FaultProxy
from harness import (Walletd, account_on_shard, cluster_env, ensure_migrated, sql_int, sql_str,
                     unique_key, wait_until)

SHARD0 = "shard0-primary"


def proxied_env(proxy, extra=None):
    """walletd's environment with shard 0's primary reached through proxy."""
    url = cluster_env()["DATABASE_SHARD_0_URL"]
    head, _, tail = url.rpartition("@")
    host_port, _, db = tail.partition("/")
    env = {"DATABASE_SHARD_0_URL": f"{head}@127.0.0.1:{proxy.port}/{db}",
           "SWEEPER_INTERVAL_MS": "3600000"}  # the sweeper's own commits stay out of the way
    env.update(extra or {})
    return env


def ledger_count(wallet_id):
    return sql_int(SHARD0, f"SELECT COUNT(*) FROM ledger WHERE wallet_id = {sql_str(wallet_id)}")


def balance(wallet_id):
    return sql_int(SHARD0, f"SELECT balance FROM wallets WHERE id = {sql_str(wallet_id)}")


class LostCommitTest(unittest.TestCase):
    """A COMMIT whose answer is lost: resolved before answering, or said to be unknown."""

    @classmethod
    def setUpClass(cls):
        ensure_migrated()
        port = int(cluster_env()["DATABASE_SHARD_0_URL"].rsplit(":", 1)[1].split("/")[0])
        cls.proxy = FaultProxy(port)
        # A short batch window, so that requests sent together share one group commit.
        cls.server = Walletd(workers=1, env=proxied_env(cls.proxy, {
            "RESOLVE_TIMEOUT_SECONDS": "2", "BATCH_WINDOW_US": "100000"})).start()
        time.sleep(1)  # the sweeper's first pass runs at start; let it finish before any fault
        cls.api = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.api.close()
        rc = cls.server.stop()
        cls.proxy.close()
        if rc != 0:
            raise AssertionError(f"walletd exited {rc}: {cls.server.tail()}")

    def setUp(self):
        self.proxy.clear()
        self.addCleanup(self.proxy.clear)

    def wallet(self, amount=0, key=None):
        w = self.api.create_wallet(account_on_shard(0, 2))
        if amount:
            self.assertEqual(self.api.credit(w, amount).status, 201)
        return w

    def assert_first_time(self, r, status=201):
        self.assertEqual(r.status, status, r)
        self.assertIsNone(r.header("Idempotent-Replayed"), r)

    def test_lost_commit_reply_is_resolved_and_answered_first_time(self):
        w = self.wallet()
        key = unique_key()
        self.proxy.lose_next_commit_reply(refuse_s=0.5)  # the first reconnects are refused too
        r = self.api.credit(w, 700, key=key)
        self.assertEqual(self.proxy.lost_commit_replies, 1)
        self.assert_first_time(r)
        self.assertEqual(r.data["amount"], 700)
        self.assertEqual((balance(w), ledger_count(w)), (700, 1))  # it moved, once
        again = self.api.credit(w, 700, key=key)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.raw, r.raw)
        self.assertEqual((balance(w), ledger_count(w)), (700, 1))

    def test_unresolvable_commit_is_outcome_unknown_and_the_same_key_learns_it(self):
        w = self.wallet()
        key = unique_key()
        self.proxy.lose_next_commit_reply(refuse_s=30)  # longer than RESOLVE_TIMEOUT_SECONDS
        started = time.monotonic()
        r = self.api.credit(w, 300, key=key)
        took = time.monotonic() - started
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.code, "OUTCOME_UNKNOWN", r)
        self.assertIn("Idempotency-Key", r.json["message"])
        self.assertTrue(r.header("Retry-After"), r)
        self.assertLess(took, 10, f"resolution is bounded by RESOLVE_TIMEOUT_SECONDS: "
                                  f"{self.server.tail(15)}")
        self.assertEqual((balance(w), ledger_count(w)), (300, 1))  # it had committed
        self.proxy.stop_refusing()
        again = wait_until(lambda: (lambda x: x if x.status != 503 else None)(
            self.api.credit(w, 300, key=key)), 10, 0.2, "the shard back")
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")  # the earlier request's
        self.assertEqual(again.data["amount"], 300)
        self.assertEqual((balance(w), ledger_count(w)), (300, 1))

    def test_rerun_that_finds_its_own_commit_answers_first_time(self):
        w = self.wallet(1000)
        key = unique_key()
        # The connection drops once COMMIT is sent; the primary gets it 0.5 s later, while
        # walletd has reconnected and is running the batch again (its locks wait for it).
        self.proxy.hold_next_commit(0.5)
        r = self.api.authorize(w, 250, key=key)
        self.assertEqual(self.proxy.held_commits_delivered, 1)
        self.assert_first_time(r)
        self.assertEqual(r.data["status"], "PENDING")
        self.assertEqual(sql_int(SHARD0, "SELECT held FROM wallets WHERE id = " + sql_str(w)),
                         250)
        self.assertEqual(ledger_count(w), 2)  # the credit and one hold
        again = self.api.authorize(w, 250, key=key)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.raw, r.raw)

    def test_keyless_create_recognises_the_wallet_it_created(self):
        account = account_on_shard(0, 2)
        self.proxy.hold_next_commit(0.5)
        r = self.api.post("/api/v1/wallets", {"accountId": account, "currency": "USD"})
        self.assertEqual(self.proxy.held_commits_delivered, 1)
        self.assert_first_time(r)
        rows = sql_int(SHARD0, f"SELECT COUNT(*) FROM wallets WHERE account_id = "
                               f"{sql_str(account)}")
        self.assertEqual(rows, 1)
        self.assertEqual(sql_int(SHARD0, "SELECT COUNT(*) FROM wallets WHERE id = " +
                                 sql_str(r.data["id"])), 1)
        self.assertEqual(r.data["accountId"], account)

    def test_every_op_of_a_batch_whose_commit_reply_was_lost_is_answered_once(self):
        wallets = [self.wallet() for _ in range(6)]
        keys = [unique_key() for _ in wallets]
        clients = [self.server.client() for _ in wallets]
        for c in clients:
            self.assertEqual(c.get("/health/live", key=False).status, 200)
        self.proxy.lose_next_commit_reply(refuse_s=0.3)
        results = [None] * len(wallets)

        def send(i):
            results[i] = clients[i].credit(wallets[i], 100 + i, key=keys[i])

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(wallets))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for c in clients:
            c.close()
        self.assertEqual(self.proxy.lost_commit_replies, 1)
        for i, r in enumerate(results):
            self.assert_first_time(r)
            self.assertEqual(r.data["amount"], 100 + i)
            self.assertEqual((balance(wallets[i]), ledger_count(wallets[i])), (100 + i, 1))


class ShutdownWithStuckRequestsTest(unittest.TestCase):
    """SIGTERM while requests wait on a primary that does not answer: every request gets its
    503, the worker does not crash, walletd exits 0, and nothing half-done is committed."""

    def test_stop_answers_every_suspended_request_and_exits_0(self):
        ensure_migrated()
        port = int(cluster_env()["DATABASE_SHARD_0_URL"].rsplit(":", 1)[1].split("/")[0])
        proxy = FaultProxy(port)
        self.addCleanup(proxy.close)
        server = Walletd(workers=1, env=proxied_env(proxy, {
            "SHUTDOWN_TIMEOUT_SECONDS": "1", "DRAIN_DELAY_SECONDS": "0"})).start()
        self.addCleanup(lambda: server.proc.poll() is None and server.proc.kill())
        api = server.client()
        wallets = [api.create_wallet(account_on_shard(0, 2)) for _ in range(4)]
        api.close()
        proxy.set_blackhole(True)  # the primary stops answering (like SIGSTOP)
        results = [None] * len(wallets)

        def send(i):
            c = server.client()
            try:
                results[i] = c.credit(wallets[i], 50, key=unique_key())
            except OSError as e:
                results[i] = e
            finally:
                c.close()

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(wallets))]
        for t in threads:
            t.start()
        time.sleep(1.0)  # all four are in flight, waiting on the primary
        server.proc.send_signal(signal.SIGTERM)
        rc = server.proc.wait(30)
        for t in threads:
            t.join(30)
        server.close_log()
        self.assertEqual(rc, 0, server.tail())
        with open(server.log_path, "rb") as f:
            log = f.read()
        self.assertNotIn(b"suspended connections", log)
        for r in results:
            self.assertNotIsInstance(r, Exception, f"a request got no answer: {r!r}")
            self.assertEqual(r.status, 503, r)
            self.assertIn(r.code, ("SERVICE_UNAVAILABLE", "OUTCOME_UNKNOWN"), r)
            self.assertTrue(r.header("Retry-After"), r)
        server.check_sanitizers()
        proxy.set_blackhole(False)
        time.sleep(1)  # the primary now reads what was stuck and sees the connections gone
        for w, r in zip(wallets, results):
            if r.code == "SERVICE_UNAVAILABLE":
                self.assertEqual(ledger_count(w), 0, "a SERVICE_UNAVAILABLE answer committed")


if __name__ == "__main__":
    unittest.main()
