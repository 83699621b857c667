"""Tenants never see or touch each other's wallets: another tenant's resource is a plain 404."""

import unittest

from harness import (WalletdTestCase, assert_error, id_bucket, ledger_rows, random_txn_id,
                     random_wallet_id, unique_account, unique_key, wallet_invariants,
                     wallet_primary)


class TenantIsolationTest(WalletdTestCase):
    def setUp(self):
        self.account = unique_account("tenant")
        self.wallet = self.api.create_wallet(self.account)
        credit = self.api.credit(self.wallet, 1000)
        self.assertEqual(credit.status, 201, credit)
        self.credit_txn = credit.data["id"]
        hold = self.api.authorize(self.wallet, 300)
        self.assertEqual(hold.status, 201, hold)
        self.hold = hold.data["id"]
        self.node = wallet_primary(self.wallet)

    def snapshot(self):
        return (self.api.wallet(self.wallet), ledger_rows(self.node, self.wallet),
                self.api.get(f"/api/v1/transactions/{self.hold}").raw)

    def assert_same_404(self, r, twin):
        """r is the 404 a resource that does not exist at all would get (twin)."""
        assert_error(self, r, 404, "NOT_FOUND")
        assert_error(self, twin, 404, "NOT_FOUND")
        self.assertEqual(r.raw, twin.raw)

    def test_reads_of_another_tenants_resources_are_not_found(self):
        b = self.api_b
        bucket = id_bucket(self.wallet)
        ghost_w, ghost_t = random_wallet_id(bucket), random_txn_id(bucket)
        self.assert_same_404(b.get(f"/api/v1/wallets/{self.wallet}"),
                             b.get(f"/api/v1/wallets/{ghost_w}"))
        self.assert_same_404(b.get(f"/api/v1/wallets/{self.wallet}?consistency=strong"),
                             b.get(f"/api/v1/wallets/{ghost_w}?consistency=strong"))
        self.assert_same_404(b.get(f"/api/v1/wallets/{self.wallet}/ledger"),
                             b.get(f"/api/v1/wallets/{ghost_w}/ledger"))
        for txn in (self.hold, self.credit_txn):
            self.assert_same_404(b.get(f"/api/v1/transactions/{txn}"),
                                 b.get(f"/api/v1/transactions/{ghost_t}"))
        r = b.get(f"/api/v1/accounts/{self.account}/wallets")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data, {"accountId": self.account, "wallets": []})
        # tenant-a still sees everything
        self.assertEqual(self.api.get(f"/api/v1/wallets/{self.wallet}").status, 200)
        r = self.api.get(f"/api/v1/accounts/{self.account}/wallets")
        self.assertEqual([w["id"] for w in r.data["wallets"]], [self.wallet])

    def test_writes_on_another_tenants_resources_are_not_found(self):
        before = self.snapshot()
        b = self.api_b
        bucket = id_bucket(self.wallet)
        ghost_w, ghost_t = random_wallet_id(bucket), random_txn_id(bucket)
        pairs = [
            (b.credit(self.wallet, 100), b.credit(ghost_w, 100)),
            (b.authorize(self.wallet, 100), b.authorize(ghost_w, 100)),
            (b.authorize(self.wallet, 100, currency="USD"),
             b.authorize(ghost_w, 100, currency="USD")),
            (b.debit(self.wallet, 100), b.debit(ghost_w, 100)),
            (b.capture(self.hold), b.capture(ghost_t)),
            (b.capture(self.hold, 100), b.capture(ghost_t, 100)),
            (b.void(self.hold), b.void(ghost_t)),
            (b.capture(self.credit_txn), b.capture(ghost_t)),
            (b.void(self.credit_txn), b.void(ghost_t)),
        ]
        for r, twin in pairs:
            with self.subTest(r=r):
                self.assert_same_404(r, twin)
        self.assertEqual(self.snapshot(), before)
        balance, held, ledger_sum, held_sum, pending = wallet_invariants(self.node, self.wallet)
        self.assertEqual((balance, held, ledger_sum, held_sum, pending),
                         (1000, 300, 1000, 300, 300))
        # the hold is still tenant-a's to capture
        r = self.api.capture(self.hold, 200)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.api.wallet(self.wallet)["balance"], 800)

    def test_another_tenants_key_replays_nothing(self):
        # tenant-b sends tenant-a's exact request with tenant-a's key: no replay of a's answer
        key = unique_key("steal")
        first = self.api.credit(self.wallet, 10, key=key)
        self.assertEqual(first.status, 201, first)
        before = self.snapshot()
        r = self.api_b.credit(self.wallet, 10, key=key)
        assert_error(self, r, 404, "NOT_FOUND")
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertNotIn(self.wallet, r.raw)
        self.assertEqual(self.snapshot(), before)

    def test_same_account_id_is_separate_per_tenant(self):
        wb = self.api_b.create_wallet(self.account)  # same account and currency, other tenant
        self.assertNotEqual(wb, self.wallet)
        self.assertEqual(self.api_b.credit(wb, 5).status, 201)
        ra = self.api.get(f"/api/v1/accounts/{self.account}/wallets")
        rb = self.api_b.get(f"/api/v1/accounts/{self.account}/wallets")
        self.assertEqual([w["id"] for w in ra.data["wallets"]], [self.wallet])
        self.assertEqual([(w["id"], w["balance"]) for w in rb.data["wallets"]], [(wb, 5)])
        assert_error(self, self.api.get(f"/api/v1/wallets/{wb}"), 404, "NOT_FOUND")
        self.assertEqual(self.api.wallet(self.wallet)["balance"], 1000)


if __name__ == "__main__":
    unittest.main()
