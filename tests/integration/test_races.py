"""Concurrent money movements on one wallet: no overdraft, no lost or doubled movement."""

import unittest

from harness import (WalletdTestCase, assert_error, ledger_rows, parallel, unique_key,
                     wallet_invariants, wallet_primary)


class RaceTest(WalletdTestCase):
    def assert_invariants(self, wallet, balance, held):
        node = wallet_primary(wallet)
        self.assertIsNotNone(node)
        b, h, ledger_sum, held_sum, pending = wallet_invariants(node, wallet)
        self.assertEqual((b, h), (balance, held))
        self.assertEqual(ledger_sum, b, "balance != sum(ledger.amount)")
        self.assertEqual(held_sum, h, "held != sum(ledger.held_delta)")
        self.assertEqual(pending, h, "held != sum of pending holds")
        self.assertGreaterEqual(b - h, 0)
        return node

    def test_concurrent_authorizations_never_overdraw(self):
        w = self.funded_wallet(1000)
        amount, n = 37, 50
        k = 1000 // amount  # 27
        answers = parallel(lambda c: c.authorize(w, amount, key=unique_key("auth")),
                           [(c,) for c in self.connected_clients(n)])
        ok = [r for r in answers if r.status == 201]
        refused = [r for r in answers if r.status != 201]
        self.assertEqual(len(ok), k, answers)
        for r in refused:
            assert_error(self, r, 422, "INSUFFICIENT_FUNDS")
        self.assertEqual(len({r.data["id"] for r in ok}), k)
        wallet = self.api.wallet(w)
        self.assertEqual(wallet["held"], k * amount)
        self.assertEqual(wallet["available"], 1000 - k * amount)
        self.assertEqual(wallet["balance"], 1000)
        node = self.assert_invariants(w, 1000, k * amount)
        self.assertEqual(ledger_rows(node, w), 1 + k)

    def test_concurrent_direct_debits_never_overdraw(self):
        w = self.funded_wallet(1000)
        amount, n = 37, 50
        k = 1000 // amount
        answers = parallel(lambda c: c.debit(w, amount, key=unique_key("debit")),
                           [(c,) for c in self.connected_clients(n)])
        ok = [r for r in answers if r.status == 201]
        self.assertEqual(len(ok), k, answers)
        for r in answers:
            if r.status != 201:
                assert_error(self, r, 422, "INSUFFICIENT_FUNDS")
        wallet = self.api.wallet(w)
        self.assertEqual((wallet["balance"], wallet["held"], wallet["available"]),
                         (1000 - k * amount, 0, 1000 - k * amount))
        node = self.assert_invariants(w, 1000 - k * amount, 0)
        self.assertEqual(ledger_rows(node, w), 1 + k)

    def test_holds_and_debits_compete_for_the_same_funds(self):
        w = self.funded_wallet(1000)
        cs = self.connected_clients(40)

        def act(i, c):
            if i % 2:
                return c.authorize(w, 50, key=unique_key("mix-a"))
            return c.debit(w, 50, key=unique_key("mix-d"))

        answers = parallel(act, list(enumerate(cs)))
        holds = sum(1 for i, r in enumerate(answers) if i % 2 and r.status == 201)
        debits = sum(1 for i, r in enumerate(answers) if not i % 2 and r.status == 201)
        self.assertEqual(holds + debits, 20, answers)  # 1000 / 50
        for r in answers:
            if r.status != 201:
                assert_error(self, r, 422, "INSUFFICIENT_FUNDS")
        self.assert_invariants(w, 1000 - 50 * debits, 50 * holds)

    def test_capture_and_void_of_one_hold_race(self):
        w = self.funded_wallet(10_000)
        holds = []
        for _ in range(10):
            r = self.api.authorize(w, 100)
            self.assertEqual(r.status, 201, r)
            holds.append(r.data["id"])
        cs = self.connected_clients(20)
        jobs = []
        for i, hold in enumerate(holds):
            jobs.append((cs[2 * i], "capture", hold))
            jobs.append((cs[2 * i + 1], "void", hold))

        def act(c, what, hold):
            if what == "capture":
                return c.capture(hold, 60, key=unique_key("cap"))
            return c.void(hold, key=unique_key("void"))

        answers = parallel(act, jobs)
        captured = 0
        for i, hold in enumerate(holds):
            cap, void = answers[2 * i], answers[2 * i + 1]
            with self.subTest(hold=hold):
                self.assertEqual(sorted([cap.status, void.status]), [200, 409], (cap, void))
                loser = cap if cap.status == 409 else void
                assert_error(self, loser, 409, "INVALID_TRANSACTION_STATE")
                t = self.api.get(f"/api/v1/transactions/{hold}").data
                if cap.status == 200:
                    captured += 1
                    self.assertEqual((t["status"], t["capturedAmount"]), ("COMPLETED", 60))
                else:
                    self.assertEqual((t["status"], t["capturedAmount"]), ("VOIDED", None))
        self.assert_invariants(w, 10_000 - 60 * captured, 0)
        node = wallet_primary(w)
        self.assertEqual(ledger_rows(node, w), 1 + 10 + 10)  # credit, holds, one end per hold

    def test_concurrent_credits_sum_exactly(self):
        w = self.funded_wallet(0)
        cs = self.connected_clients(40)
        answers = parallel(lambda i, c: c.credit(w, i + 1, key=unique_key("credit")),
                           list(enumerate(cs)))
        for r in answers:
            self.assertEqual(r.status, 201, r)
        total = sum(range(1, 41))
        self.assertEqual(self.api.wallet(w)["balance"], total)
        node = self.assert_invariants(w, total, 0)
        self.assertEqual(ledger_rows(node, w), 40)
        # every balanceAfter is distinct: each credit saw the one before it
        entries = self.api.get(f"/api/v1/wallets/{w}/ledger?limit=200").data["entries"]
        self.assertEqual(len(entries), 40)
        self.assertEqual(entries[0]["balanceAfter"], total)
        for newer, older in zip(entries, entries[1:]):
            self.assertEqual(newer["balanceAfter"] - newer["amount"], older["balanceAfter"])


if __name__ == "__main__":
    unittest.main()
