"""Runs last: `walletctl verify` passes after every other suite, and really detects breakage."""

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


if __name__ == "__main__":
    unittest.main()
