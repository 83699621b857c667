"""Runs last: `walletctl verify` passes after every other suite, every replica holds exactly what
its primary holds (`verify --replicas`), and both really detect breakage."""

import unittest

from harness import WalletdTestCase, sql, sql_str, wallet_primary, walletctl


class VerifyTest(WalletdTestCase):
    def verify(self):
        return walletctl("verify", check=False)

    def test_a_verify_passes_after_everything(self):
        res = self.verify()
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertTrue(res.stdout.startswith("ok"), res.stdout)
        self.assertIn("0 violations", res.stdout)

    def test_b_verify_detects_breakage(self):
        w = self.funded_wallet(1000)
        hold = self.api.authorize(w, 100)
        self.assertEqual(hold.status, 201, hold)
        node = wallet_primary(w)
        self.assertIsNotNone(node)
        wallet_where = f"WHERE id = {sql_str(w)}"
        hold_where = f"WHERE id = {sql_str(hold.data['id'])}"
        before = sql(node, f"SELECT balance, held FROM wallets {wallet_where}")
        self.assertEqual(before, [["1000", "100"]])

        # a balance changed behind walletd's back: balance != sum(ledger)
        try:
            sql(node, f"UPDATE wallets SET balance = balance + 1 {wallet_where}")
            res = self.verify()
            self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
            self.assertTrue(res.stdout.splitlines()[-1].startswith("FAILED"), res.stdout)
            broken = [line for line in res.stdout.splitlines() if w in line]
            self.assertTrue(broken, res.stdout)
            self.assertTrue(any("balance" in line for line in broken), broken)
        finally:
            sql(node, f"UPDATE wallets SET balance = balance - 1 {wallet_where}")
        self.assertEqual(sql(node, f"SELECT balance, held FROM wallets {wallet_where}"), before)

        # a hold that vanished behind walletd's back: held != sum of pending holds
        try:
            sql(node, f"UPDATE transactions SET status = 'VOIDED' {hold_where}")
            res = self.verify()
            self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
            self.assertIn(w, res.stdout)
        finally:
            sql(node, f"UPDATE transactions SET status = 'PENDING' {hold_where}")

        res = self.verify()
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertTrue(res.stdout.startswith("ok"), res.stdout)

    def test_c_replicas_match_their_primaries_after_everything(self):
        res = walletctl("verify", "--replicas", check=False)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("2 replicas compared, 0 violations", res.stdout + res.stderr)
        for shard in (0, 1):
            self.assertIn(f"shard {shard}: replica 0 holds exactly what its primary holds",
                          res.stdout)

    def test_d_verify_replicas_detects_a_diverged_replica(self):
        w = self.funded_wallet(500)
        replica = wallet_primary(w).replace("primary", "replica")
        where = f"WHERE id = {sql_str(w)}"
        walletctl("verify", "--replicas")  # caught up, equal

        # a row changed on the replica alone (outside replication, not binlogged)
        try:
            sql(replica, f"SET SESSION sql_log_bin = 0; UPDATE wallets SET balance = balance + 1 "
                         f"{where}")
            res = walletctl("verify", "--replicas", check=False)
            self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
            self.assertTrue(res.stdout.splitlines()[-1].startswith("FAILED"), res.stdout)
            shard = replica[len("shard")]
            diffs = [line for line in res.stdout.splitlines()
                     if line.startswith(f"shard {shard}: table") and "differs" in line]
            self.assertEqual(len(diffs), 1, res.stdout + res.stderr)  # that table only
            self.assertIn("walletd.wallets", diffs[0])
        finally:
            sql(replica, f"SET SESSION sql_log_bin = 0; UPDATE wallets SET balance = balance - 1 "
                         f"{where}")
        res = walletctl("verify", "--replicas", check=False)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)


if __name__ == "__main__":
    unittest.main()
