"""Reads served by replicas (docs/API.md, "Reads and consistency"): real GTID replication.

A read goes round-robin to a replica of its shard that the health checks last saw replicating
within MAX_REPLICA_LAG_SECONDS; else to the primary, counted with the reason. A token from a
write's answer makes a read see that write; X-Consistency: strong reads the primary.
These clients send no consistency header unless a test says so (consistency=None).
"""

import base64
import threading
import time
import unittest

from harness import (Walletd, account_on_shard, assert_error, cluster, ensure_migrated, sql,
                     sql_str, start_node, unique_key, wait_until)

SHARDS = 2
REPLICA = {0: "shard0-replica", 1: "shard1-replica"}
PRIMARY = {0: "shard0-primary", 1: "shard1-primary"}


class ReadsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        ensure_migrated()
        cls.server = Walletd(workers=1, env={"HEALTH_INTERVAL_MS": "200",
                                             "MAX_REPLICA_LAG_SECONDS": "2"}).start()
        cls.api = cls.server.client()
        cls.api.consistency = None

    @classmethod
    def tearDownClass(cls):
        cls.api.close()
        rc = cls.server.stop()
        if rc != 0:
            raise AssertionError(f"walletd exited {rc}: {cls.server.tail()}")

    def tearDown(self):
        for shard in (0, 1):  # whatever a test stopped runs again for the next
            start_node(PRIMARY[shard])
            start_node(REPLICA[shard])
            sql(REPLICA[shard], "START SLAVE")

    # -- helpers ------------------------------------------------------------------------------
    def reads(self, shard, role):
        return self.server.metric("wallet_reads_total", shard=str(shard), role=role)

    def primary_reads(self, shard, reason):
        return self.server.metric("wallet_reads_primary_total", shard=str(shard), reason=reason)

    def wallet_on(self, shard, amount=1000):
        w = self.api.create_wallet(account_on_shard(shard, SHARDS))
        r = self.api.credit(w, amount)
        self.assertEqual(r.status, 201, r)
        return w, r.header("X-Consistency-Token")

    def wait_replica_serves(self, shard):
        """Until /health/ready says the shard's replica serves reads."""
        def serving():
            r = self.api.get("/health/ready", key=False)
            return r.status == 200 and r.data["checks"][f"shard{shard}Replicas"][0]["servesReads"]
        wait_until(serving, 30, 0.1, f"shard {shard}'s replica serving reads")

    def get_wallet(self, w, **headers):
        return self.api.get(f"/api/v1/wallets/{w}", headers=headers or None)

    # -- the split ----------------------------------------------------------------------------
    def test_most_reads_of_a_mixed_workload_go_to_replicas(self):
        wallets = [self.wallet_on(s)[0] for s in (0, 1, 0, 1)]
        for s in (0, 1):
            self.wait_replica_serves(s)
        before = {(s, role): self.reads(s, role) for s in (0, 1) for role in ("replica", "primary")}
        txns = []
        for i in range(40):
            w = wallets[i % len(wallets)]
            r = self.api.credit(w, 1 + i, ref=f"mix-{i % 3}")
            self.assertEqual(r.status, 201, r)
            txns.append(r.data["id"])
            for path in (f"/api/v1/wallets/{w}", f"/api/v1/wallets/{w}/ledger?limit=5",
                         f"/api/v1/transactions/{txns[-1]}" if i % 2 else
                         f"/api/v1/transactions?referenceId=mix-{i % 3}&limit=3"):
                r = self.api.get(path)
                self.assertIn(r.status, (200, 404), r)  # a row a replica has yet to apply: 404
        replica = sum(self.reads(s, "replica") - before[(s, "replica")] for s in (0, 1))
        primary = sum(self.reads(s, "primary") - before[(s, "primary")] for s in (0, 1))
        self.assertGreater(replica + primary, 0)
        self.assertGreaterEqual(replica / (replica + primary), 0.9, (replica, primary))

    # -- faults -------------------------------------------------------------------------------
    def test_reads_survive_a_stopped_primary(self):
        w, token = self.wallet_on(1, 700)
        self.wait_replica_serves(1)
        cluster("wait-replicas", "30")
        cluster("stop", PRIMARY[1])
        self.addCleanup(start_node, PRIMARY[1])
        for _ in range(20):  # at once: no gap while the health checks catch up
            r = self.get_wallet(w)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.data["balance"], 700)
            time.sleep(0.05)
        r = self.api.credit(w, 5)
        assert_error(self, r, 503, "SERVICE_UNAVAILABLE")  # writes need the primary
        self.assertEqual(self.get_wallet(w).data["balance"], 700)
        # a strong read needs the primary; it says so rather than answer from a replica
        assert_error(self, self.get_wallet(w, **{"X-Consistency": "strong"}), 503,
                     "SERVICE_UNAVAILABLE")

    def test_a_stopped_replica_costs_no_client_error_and_is_used_again(self):
        w, _ = self.wallet_on(0)
        self.wait_replica_serves(0)
        cluster("stop", REPLICA[0])
        self.addCleanup(start_node, REPLICA[0])
        fallback = self.primary_reads(0, "no_fit_replica") + self.primary_reads(0, "retry")
        for _ in range(30):
            r = self.get_wallet(w)
            self.assertEqual(r.status, 200, r)
            time.sleep(0.03)
        self.assertGreater(self.primary_reads(0, "no_fit_replica") + self.primary_reads(0, "retry"),
                           fallback)
        start_node(REPLICA[0])
        sql(REPLICA[0], "START SLAVE")
        self.wait_replica_serves(0)
        replica = self.reads(0, "replica")
        for _ in range(10):
            self.assertEqual(self.get_wallet(w).status, 200)
        self.assertGreaterEqual(self.reads(0, "replica") - replica, 9)

    def test_a_lagging_replica_is_left_within_a_check_and_used_after_it_catches_up(self):
        w, _ = self.wallet_on(0)
        self.wait_replica_serves(0)
        sql(REPLICA[0], "STOP SLAVE SQL_THREAD")
        self.addCleanup(sql, REPLICA[0], "START SLAVE SQL_THREAD")
        for i in range(5):  # writes go on while the replica applies nothing
            self.assertEqual(self.api.credit(w, 1).status, 201)
        time.sleep(0.5)  # two health checks
        no_fit = self.primary_reads(0, "no_fit_replica")
        for _ in range(10):
            r = self.get_wallet(w)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.data["balance"], 1005)  # the primary answers: nothing stale
        self.assertEqual(self.primary_reads(0, "no_fit_replica") - no_fit, 10)
        sql(REPLICA[0], "START SLAVE SQL_THREAD")
        self.wait_replica_serves(0)
        replica = self.reads(0, "replica")
        self.assertEqual(self.get_wallet(w).data["balance"], 1005)
        self.assertEqual(self.reads(0, "replica") - replica, 1)

    # -- tokens and strong reads ------------------------------------------------------------------
    def test_a_token_read_sees_its_write_even_with_the_replica_held_behind(self):
        w, _ = self.wallet_on(0, 100)
        self.wait_replica_serves(0)
        cluster("wait-replicas", "30")
        sql(REPLICA[0], "STOP SLAVE SQL_THREAD")
        self.addCleanup(sql, REPLICA[0], "START SLAVE SQL_THREAD")
        r = self.api.credit(w, 23)
        self.assertEqual(r.status, 201, r)
        token = r.header("X-Consistency-Token")
        self.assertTrue(token)
        g = self.get_wallet(w, **{"X-Consistency-Token": token})
        self.assertEqual((g.status, g.data["balance"]), (200, 123), g)
        # the replica still has the old balance: only the primary could answer this
        self.assertEqual(sql(REPLICA[0], f"SELECT balance FROM wallets WHERE id = {sql_str(w)}"),
                         [["100"]])

    def test_token_reads_see_their_writes_and_are_mostly_replica_reads(self):
        wallets = [self.wallet_on(s)[0] for s in (0, 1)]
        for s in (0, 1):
            self.wait_replica_serves(s)
        before = sum(self.reads(s, "replica") for s in (0, 1))
        for i in range(30):
            w = wallets[i % 2]
            r = self.api.authorize(w, 1)
            self.assertEqual(r.status, 201, r)
            t = self.api.get(f"/api/v1/transactions/{r.data['id']}",
                             headers={"X-Consistency-Token": r.header("X-Consistency-Token")})
            self.assertEqual((t.status, t.data["status"]), (200, "PENDING"), t)
            self.assertEqual(t.data, r.data)
        self.assertGreaterEqual(sum(self.reads(s, "replica") for s in (0, 1)) - before, 20)

    def test_replays_carry_a_token_too(self):
        w, _ = self.wallet_on(0)
        key = unique_key()
        first = self.api.credit(w, 9, key=key)
        again = self.api.credit(w, 9, key=key)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        token = again.header("X-Consistency-Token")
        self.assertTrue(token)
        g = self.get_wallet(w, **{"X-Consistency-Token": token})
        self.assertEqual(g.data["balance"], 1009)
        self.assertTrue(first.header("X-Consistency-Token"))

    def test_bad_tokens_are_refused(self):
        w0, token0 = self.wallet_on(0)
        w1, token1 = self.wallet_on(1)
        # a token of shard 1 presented for a shard-0 wallet
        assert_error(self, self.get_wallet(w0, **{"X-Consistency-Token": token1}), 400,
                     "INVALID_CONSISTENCY_TOKEN")
        forged = base64.urlsafe_b64encode(b"v1:7:0-1-5").decode().rstrip("=")  # shard 7 of 2
        for bad in ("x", "djE6", forged, token0 + "A", "v1:0:0-1-5"):
            with self.subTest(token=bad):
                assert_error(self, self.get_wallet(w0, **{"X-Consistency-Token": bad}), 400,
                             "INVALID_CONSISTENCY_TOKEN")
        # any shard's token is accepted by a search of every shard
        r = self.api.get("/api/v1/transactions?referenceId=ref",
                         headers={"X-Consistency-Token": token1})
        self.assertEqual(r.status, 200, r)

    def test_strong_reads_go_to_the_primary(self):
        w, _ = self.wallet_on(1)
        strong = self.primary_reads(1, "strong")
        self.assertEqual(self.get_wallet(w, **{"X-Consistency": "strong"}).status, 200)
        self.assertEqual(self.api.get(f"/api/v1/wallets/{w}?consistency=strong").status, 200)
        self.assertEqual(self.primary_reads(1, "strong") - strong, 2)

    def test_an_unknown_consistency_level_is_refused_not_read_as_default(self):
        w, _ = self.wallet_on(1)
        for headers, path in (({"X-Consistency": "STRONG"}, ""), ({"X-Consistency": "eventual"}, ""),
                              ({}, "?consistency=weak"), ({"X-Consistency": ""}, "")):
            with self.subTest(headers=headers, path=path):
                r = self.api.get(f"/api/v1/wallets/{w}{path}", headers=headers or None)
                assert_error(self, r, 400, "VALIDATION_ERROR")
                self.assertIn("strong", r.json["message"])

    # -- pagination ---------------------------------------------------------------------------
    def test_ledger_pages_on_replicas_stay_exact_while_entries_are_appended(self):
        w, _ = self.wallet_on(0, 1)
        for i in range(30):
            self.assertEqual(self.api.credit(w, 1).status, 201)
        cluster("wait-replicas", "30")
        self.wait_replica_serves(0)
        stop = threading.Event()
        writer = self.server.client()

        def append():
            while not stop.is_set():
                writer.credit(w, 1)

        t = threading.Thread(target=append, daemon=True)
        t.start()
        seen, cursor, pages = [], None, 0
        try:
            while True:
                q = f"/api/v1/wallets/{w}/ledger?limit=7" + (f"&cursor={cursor}" if cursor else "")
                r = self.api.get(q)
                self.assertEqual(r.status, 200, r)
                seen += [(e["transactionId"], e["type"]) for e in r.data["entries"]]
                pages += 1
                cursor = r.data["nextCursor"]
                if not cursor:
                    break
                time.sleep(0.02)
        finally:
            stop.set()
            t.join(10)
            writer.close()
        self.assertGreater(pages, 3)
        self.assertEqual(len(seen), len(set(seen)))  # none repeated (one entry per credit)
        # Entry IDs are opaque: the primary's ledger, newest first, from the first entry seen
        # down, is what the pages must have shown in that order: none skipped, none out of order.
        truth = [(row[0], row[1]) for row in sql(PRIMARY[0],
                 f"SELECT transaction_id, entry_type FROM ledger WHERE wallet_id = {sql_str(w)} "
                 "ORDER BY id DESC")]
        self.assertIn(seen[0], truth)
        self.assertEqual(seen, truth[truth.index(seen[0]):])


if __name__ == "__main__":
    unittest.main()
