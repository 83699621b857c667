"""Hold expiry: the sweeper releases expired holds; a capture of an expired hold is refused (and
releases it if the sweeper has not yet); a void of an expired hold is a state error.

Note: every walletd on the cluster sweeps every tenant's holds, so another walletd (another test
class, another engineer's) may sweep a hold here first; the assertions hold either way."""

import time
import unittest

from harness import (Walletd, WalletdTestCase, account_on_shard, assert_error, ledger_rows,
                     parse_ts, sql, unique_key, wait_until, wallet_invariants, wallet_primary)


class ExpiryMixin:
    def txn(self, txn):
        r = self.api.get(f"/api/v1/transactions/{txn}", headers={"X-Consistency": "strong"})
        self.assertEqual(r.status, 200, r)
        return r.data

    def entries(self, wallet):
        r = self.api.get(f"/api/v1/wallets/{wallet}/ledger?limit=200")
        self.assertEqual(r.status, 200, r)
        return r.data["entries"]

    def assert_released(self, wallet, hold, amount, balance, held_after_release=0):
        w = self.api.wallet(wallet)
        self.assertEqual((w["balance"], w["held"], w["available"]), (balance, 0, balance))
        t = self.txn(hold)
        self.assertEqual((t["status"], t["capturedAmount"]), ("EXPIRED", None))
        releases = [e for e in self.entries(wallet)
                    if e["transactionId"] == hold and e["type"] == "RELEASE"]
        self.assertEqual(len(releases), 1, self.entries(wallet))
        e = releases[0]
        self.assertEqual((e["amount"], e["heldChange"], e["heldAfter"]),
                         (0, -amount, held_after_release))
        node = wallet_primary(wallet)
        b, h, ledger_sum, held_sum, pending = wallet_invariants(node, wallet)
        self.assertEqual((b, h, ledger_sum, held_sum, pending), (balance, 0, balance, 0, 0))

    def new_hold(self, wallet, amount, expires_in_s):
        """The ID of a new hold of amount on wallet, due in expires_in_s seconds."""
        r = self.api.authorize(wallet, amount, expiresInSeconds=expires_in_s)
        self.assertEqual(r.status, 201, r)
        return r.data["id"]

    def wait_until_expired(self, hold):
        """Sleeps until the hold's expiresAt has passed (a wait, not an assertion)."""
        deadline = parse_ts(self.txn(hold)["expiresAt"]).timestamp() + 0.05
        time.sleep(max(0.0, deadline - time.time()))


class SweeperTest(ExpiryMixin, WalletdTestCase):
    env = {"SWEEPER_INTERVAL_MS": "200"}

    def test_sweeper_releases_an_expired_hold(self):
        w = self.funded_wallet(1000)
        hold = self.new_hold(w, 300, 1)
        lasting = self.new_hold(w, 200, 3600)
        self.assertEqual(self.api.wallet(w)["held"], 500)

        wait_until(lambda: self.txn(hold)["status"] != "PENDING", 15, interval=0.1,
                   message="the sweeper did not expire it")
        self.assertEqual(self.txn(hold)["status"], "EXPIRED", "the sweeper did not expire it")
        self.assertEqual(self.txn(lasting)["status"], "PENDING")
        wallet = self.api.wallet(w)
        self.assertEqual((wallet["balance"], wallet["held"], wallet["available"]),
                         (1000, 200, 800))
        newest_release = [e for e in self.entries(w) if e["transactionId"] == hold]
        self.assertEqual([e["type"] for e in newest_release], ["RELEASE", "HOLD"])
        self.assertEqual((newest_release[0]["amount"], newest_release[0]["heldChange"]),
                         (0, -300))

        # capture (debit) of the expired hold: 409 TRANSACTION_EXPIRED; void: not pending
        rows = ledger_rows(wallet_primary(w), w)
        assert_error(self, self.api.capture(hold), 409, "TRANSACTION_EXPIRED")
        assert_error(self, self.api.capture(hold, 100), 409, "TRANSACTION_EXPIRED")
        assert_error(self, self.api.void(hold), 409, "INVALID_TRANSACTION_STATE")
        self.assertEqual(ledger_rows(wallet_primary(w), w), rows)
        self.assertEqual(self.api.wallet(w)["held"], 200)

        self.assertEqual(self.api.void(lasting).status, 200)
        self.assert_released(w, hold, 300, 1000, held_after_release=200)


class LateCaptureTest(ExpiryMixin, WalletdTestCase):
    # this walletd's sweeper makes one pass at start and then sleeps for an hour
    env = {"SWEEPER_INTERVAL_MS": "3600000"}

    def test_capture_after_expiry_is_refused_and_releases_the_hold(self):
        w = self.funded_wallet(1000)
        hold = self.new_hold(w, 400, 1)
        self.wait_until_expired(hold)

        key = unique_key("late-capture")
        first = self.api.capture(hold, 100, key=key)
        assert_error(self, first, 409, "TRANSACTION_EXPIRED")
        # released in the same step, whoever got there first
        self.assert_released(w, hold, 400, 1000)
        # the refusal is the key's answer from now on
        again = self.api.capture(hold, 100, key=key)
        self.assertEqual((again.status, again.raw), (first.status, first.raw))
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        assert_error(self, self.api.capture(hold), 409, "TRANSACTION_EXPIRED")
        self.assert_released(w, hold, 400, 1000)

    def test_void_after_expiry_is_a_state_error(self):
        w = self.funded_wallet(1000)
        hold = self.new_hold(w, 250, 1)
        self.wait_until_expired(hold)
        assert_error(self, self.api.void(hold), 409, "INVALID_TRANSACTION_STATE")
        self.assert_released(w, hold, 250, 1000)

    def test_hold_before_expiry_is_still_capturable(self):
        w = self.funded_wallet(1000)
        hold = self.new_hold(w, 250, 60)
        r = self.api.capture(hold)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.api.wallet(w)["balance"], 750)


class ManySweepersTest(ExpiryMixin, WalletdTestCase):
    """Several pods sweep the same shards at once (every pod runs a sweeper): each expired hold
    is released exactly once."""
    env = {"SWEEPER_INTERVAL_MS": "3600000"}  # this class's own pod stays out of it
    PODS = 3

    def test_concurrent_sweepers_release_each_hold_once(self):
        pods = [Walletd(workers=1, env={"SWEEPER_INTERVAL_MS": "20"}) for _ in range(self.PODS)]
        wallets = [self.api.create_wallet(account_on_shard(i % 2, 2)) for i in range(4)]
        holds = {}
        for w in wallets:
            self.assertEqual(self.api.credit(w, 10_000).status, 201)
            for amount in range(1, 11):
                holds[self.new_hold(w, amount, 1)] = w
        for p in pods:  # started together, after the holds: they race for every one of them
            p.start(wait_ready=False)
        for p in pods:
            self.addCleanup(p.stop)
            p.wait_ready()

        wait_until(lambda: all(self.api.wallet(w)["held"] == 0 for w in wallets), 20,
                   interval=0.1, message="every hold released")
        for w in wallets:
            node = wallet_primary(w)
            released = dict(sql(node, "SELECT transaction_id, COUNT(*) FROM ledger "
                                      f"WHERE wallet_id = '{w}' AND entry_type = 'RELEASE' "
                                      "GROUP BY transaction_id"))
            mine = [h for h, hw in holds.items() if hw == w]
            self.assertEqual({h: released.get(h) for h in mine}, {h: "1" for h in mine})
            self.assertEqual(wallet_invariants(node, w), (10_000, 0, 10_000, 0, 0))
        for h in holds:
            self.assertEqual(self.txn(h)["status"], "EXPIRED")
        for p in pods:
            self.assertEqual(p.stop(), 0, p.tail())


if __name__ == "__main__":
    unittest.main()
