"""Every money endpoint's success path and its business refusals, field by field (docs/API.md)."""

import re
import unittest

from harness import (WalletdTestCase, assert_error, parse_ts, random_txn_id, random_wallet_id,
                     unique_account, unique_key)

WALLET_ID = re.compile(r"^wal_[0-9a-f]{36}$")
TXN_ID = re.compile(r"^txn_[0-9a-f]{36}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
WALLET_KEYS = {"id", "accountId", "currency", "status", "balance", "held", "available",
               "createdAt", "updatedAt"}
TXN_KEYS = {"id", "walletId", "type", "status", "amount", "capturedAmount", "currency",
            "referenceId", "expiresAt", "createdAt", "updatedAt"}
ENTRY_KEYS = {"id", "transactionId", "type", "amount", "heldChange", "balanceAfter", "heldAfter",
              "availableAfter", "createdAt"}
MAX_MONEY = 2**53 - 1


class MoneyTest(WalletdTestCase):
    # -- assertions --------------------------------------------------------------------------
    def assert_success(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertEqual(set(r.json), {"status", "code", "data"}, r)
        self.assertEqual(r.json["status"], status)
        self.assertEqual(r.json["code"], "CREATED" if status == 201 else "OK")
        return r.data

    def assert_wallet(self, wallet, balance, held):
        w = self.api.wallet(wallet)
        self.assertEqual((w["balance"], w["held"], w["available"]),
                         (balance, held, balance - held), w)
        return w

    def assert_txn(self, data, **expected):
        self.assertEqual(set(data), TXN_KEYS, data)
        self.assertRegex(data["id"], TXN_ID)
        for field in ("createdAt", "updatedAt"):
            self.assertRegex(data[field], TIMESTAMP)
        for field, value in expected.items():
            self.assertEqual(data[field], value, f"{field} in {data}")

    def assert_completed_movement(self, r, wallet, kind, amount, currency, ref):
        """r is the 201 of a credit or a direct debit: a COMPLETED transaction with no capture
        and no expiry. Returns it."""
        data = self.assert_success(r, 201)
        self.assert_txn(data, walletId=wallet, type=kind, status="COMPLETED", amount=amount,
                        capturedAmount=None, currency=currency, referenceId=ref, expiresAt=None)
        return data

    def assert_expires_in(self, txn, seconds, delta=1):
        """txn expires seconds after it was created (give or take delta)."""
        expiry = parse_ts(txn["expiresAt"]) - parse_ts(txn["createdAt"])
        self.assertAlmostEqual(expiry.total_seconds(), seconds, delta=delta)

    def get_txn(self, txn):
        return self.assert_success(self.api.get(f"/api/v1/transactions/{txn}"), 200)

    def ledger(self, wallet, **query):
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        r = self.api.get(f"/api/v1/wallets/{wallet}/ledger" + (f"?{qs}" if qs else ""))
        data = self.assert_success(r, 200)
        self.assertEqual(set(data), {"walletId", "entries", "nextCursor"}, data)
        self.assertEqual(data["walletId"], wallet)
        for e in data["entries"]:
            self.assertEqual(set(e), ENTRY_KEYS, e)
            self.assertEqual(e["availableAfter"], e["balanceAfter"] - e["heldAfter"], e)
            self.assertRegex(e["createdAt"], TIMESTAMP)
        return data

    def entries(self, wallet):
        """(type, amount, heldChange, balanceAfter, heldAfter) of every entry, newest first."""
        return [(e["type"], e["amount"], e["heldChange"], e["balanceAfter"], e["heldAfter"])
                for e in self.ledger(wallet, limit=200)["entries"]]

    # -- wallets ------------------------------------------------------------------------------
    def test_create_and_get_wallet(self):
        account = unique_account()
        r = self.api.post("/api/v1/wallets", {"accountId": account, "currency": "USD"})
        data = self.assert_success(r, 201)
        self.assertEqual(set(data), WALLET_KEYS, data)
        self.assertRegex(data["id"], WALLET_ID)
        self.assertEqual((data["accountId"], data["currency"], data["status"]),
                         (account, "USD", "ACTIVE"))
        self.assertEqual((data["balance"], data["held"], data["available"]), (0, 0, 0))
        self.assertRegex(data["createdAt"], TIMESTAMP)
        self.assertRegex(data["updatedAt"], TIMESTAMP)

        got = self.assert_success(self.api.get(f"/api/v1/wallets/{data['id']}"), 200)
        self.assertEqual(got, data)
        strong = self.api.get(f"/api/v1/wallets/{data['id']}?consistency=strong")
        self.assertEqual(self.assert_success(strong, 200), data)

    def test_one_wallet_per_account_and_currency_and_list(self):
        account = unique_account()
        usd = self.api.create_wallet(account, "USD")
        r = self.api.post("/api/v1/wallets", {"accountId": account, "currency": "USD"})
        assert_error(self, r, 409, "WALLET_EXISTS")
        eur = self.api.create_wallet(account, "EUR")
        self.assertNotEqual(usd, eur)

        r = self.api.get(f"/api/v1/accounts/{account}/wallets")
        data = self.assert_success(r, 200)
        self.assertEqual(set(data), {"accountId", "wallets"})
        self.assertEqual(data["accountId"], account)
        self.assertEqual([(w["id"], w["currency"]) for w in data["wallets"]],
                         [(usd, "USD"), (eur, "EUR")])  # oldest first
        for w in data["wallets"]:
            self.assertEqual(set(w), WALLET_KEYS)
            self.assertEqual(w["accountId"], account)

        # an account without wallets is an empty list, not a 404
        r = self.api.get(f"/api/v1/accounts/{unique_account()}/wallets")
        self.assertEqual(self.assert_success(r, 200)["wallets"], [])

    # -- credit -------------------------------------------------------------------------------
    def test_credit(self):
        w = self.api.create_wallet(unique_account(), "EUR")
        data = self.assert_completed_movement(self.api.credit(w, 1500, ref="topup-1"), w,
                                              "CREDIT", 1500, "EUR", "topup-1")
        self.assert_wallet(w, 1500, 0)
        self.assertEqual(self.get_txn(data["id"]), data)
        self.assertEqual(self.entries(w), [("CREDIT", 1500, 0, 1500, 0)])
        entry = self.ledger(w)["entries"][0]
        self.assertEqual(entry["transactionId"], data["id"])

    # -- authorize and capture ----------------------------------------------------------------
    def test_authorize_with_currency_then_partial_capture(self):
        w = self.funded_wallet(1000)
        r = self.api.authorize(w, 300, ref="order-1", currency="USD", expiresInSeconds=3600)
        auth = self.assert_success(r, 201)
        self.assert_txn(auth, walletId=w, type="AUTHORIZATION", status="PENDING", amount=300,
                        capturedAmount=None, currency="USD", referenceId="order-1")
        self.assertRegex(auth["expiresAt"], TIMESTAMP)
        self.assert_expires_in(auth, 3600)
        self.assert_wallet(w, 1000, 300)

        r = self.api.capture(auth["id"], 200)
        cap = self.assert_success(r, 200)
        self.assert_txn(cap, id=auth["id"], walletId=w, type="AUTHORIZATION", status="COMPLETED",
                        amount=300, capturedAmount=200, currency="USD", referenceId="order-1",
                        expiresAt=auth["expiresAt"], createdAt=auth["createdAt"])
        self.assert_wallet(w, 800, 0)  # the other 100 of the hold is released
        self.assertEqual(self.entries(w), [
            ("CAPTURE", -200, -300, 800, 0),
            ("HOLD", 0, 300, 1000, 300),
            ("CREDIT", 1000, 0, 1000, 0),
        ])
        self.assertEqual(self.get_txn(auth["id"]), cap)

    def test_authorize_without_currency_default_expiry_and_full_capture(self):
        w = self.funded_wallet(1000)
        auth = self.assert_success(self.api.authorize(w, 400, ref="order-2"), 201)
        self.assert_txn(auth, status="PENDING", amount=400, currency="USD", referenceId="order-2")
        self.assert_expires_in(auth, 7 * 86400)

        cap = self.assert_success(self.api.capture(auth["id"]), 200)  # no amount: the whole hold
        self.assert_txn(cap, status="COMPLETED", amount=400, capturedAmount=400)
        self.assert_wallet(w, 600, 0)
        self.assertEqual(self.entries(w)[0], ("CAPTURE", -400, -400, 600, 0))

    def test_currency_mismatch(self):
        w = self.funded_wallet(1000, currency="EUR")
        assert_error(self, self.api.authorize(w, 100, currency="USD"), 422, "CURRENCY_MISMATCH")
        self.assert_wallet(w, 1000, 0)
        self.assertEqual(len(self.entries(w)), 1)
        self.assert_success(self.api.authorize(w, 100, currency="EUR"), 201)
        self.assert_wallet(w, 1000, 100)

    def test_insufficient_funds_on_authorize(self):
        w = self.funded_wallet(100)
        assert_error(self, self.api.authorize(w, 101), 422, "INSUFFICIENT_FUNDS")
        self.assert_wallet(w, 100, 0)
        self.assert_success(self.api.authorize(w, 60), 201)
        assert_error(self, self.api.authorize(w, 41), 422, "INSUFFICIENT_FUNDS")
        self.assert_wallet(w, 100, 60)
        self.assert_success(self.api.authorize(w, 40), 201)  # exactly the available amount
        self.assert_wallet(w, 100, 100)
        assert_error(self, self.api.authorize(w, 1), 422, "INSUFFICIENT_FUNDS")
        self.assert_wallet(w, 100, 100)
        self.assertEqual(len(self.entries(w)), 3)  # credit + two holds, nothing for refusals

    def test_direct_debit_and_insufficient_funds(self):
        w = self.funded_wallet(100)
        self.assert_success(self.api.authorize(w, 30), 201)
        # the hold counts: only 70 is available
        assert_error(self, self.api.debit(w, 71), 422, "INSUFFICIENT_FUNDS")
        self.assert_wallet(w, 100, 30)
        self.assertEqual(len(self.entries(w)), 2)

        self.assert_completed_movement(self.api.debit(w, 70, ref="shop-9"), w, "DEBIT", 70, "USD",
                                       "shop-9")
        self.assert_wallet(w, 30, 30)
        self.assertEqual(self.entries(w)[0], ("DEBIT", -70, 0, 30, 30))
        assert_error(self, self.api.debit(w, 1), 422, "INSUFFICIENT_FUNDS")
        self.assert_wallet(w, 30, 30)

    def test_amount_exceeds_hold(self):
        w = self.funded_wallet(1000)
        auth = self.assert_success(self.api.authorize(w, 50), 201)
        assert_error(self, self.api.capture(auth["id"], 51), 422, "AMOUNT_EXCEEDS_HOLD")
        self.assert_wallet(w, 1000, 50)
        self.assertEqual(self.get_txn(auth["id"])["status"], "PENDING")
        cap = self.assert_success(self.api.capture(auth["id"], 50), 200)
        self.assertEqual(cap["capturedAmount"], 50)
        self.assert_wallet(w, 950, 0)

    # -- state errors -------------------------------------------------------------------------
    def test_capture_twice_and_void_after_capture(self):
        w = self.funded_wallet(1000)
        auth = self.assert_success(self.api.authorize(w, 100), 201)
        self.assert_success(self.api.capture(auth["id"], 10), 200)
        assert_error(self, self.api.capture(auth["id"], 10), 409, "INVALID_TRANSACTION_STATE")
        assert_error(self, self.api.capture(auth["id"]), 409, "INVALID_TRANSACTION_STATE")
        assert_error(self, self.api.void(auth["id"]), 409, "INVALID_TRANSACTION_STATE")
        self.assert_wallet(w, 990, 0)
        self.assertEqual(len(self.entries(w)), 3)

    def test_void_then_capture(self):
        w = self.funded_wallet(1000)
        auth = self.assert_success(self.api.authorize(w, 100, ref="o-void"), 201)
        r = self.api.void(auth["id"])
        data = self.assert_success(r, 200)
        self.assert_txn(data, id=auth["id"], type="AUTHORIZATION", status="VOIDED", amount=100,
                        capturedAmount=None, referenceId="o-void")
        self.assert_wallet(w, 1000, 0)
        self.assertEqual(self.entries(w)[0], ("RELEASE", 0, -100, 1000, 0))
        assert_error(self, self.api.capture(auth["id"]), 409, "INVALID_TRANSACTION_STATE")
        assert_error(self, self.api.void(auth["id"]), 409, "INVALID_TRANSACTION_STATE")
        self.assert_wallet(w, 1000, 0)
        self.assertEqual(len(self.entries(w)), 3)

    def test_capture_or_void_of_credit_and_debit(self):
        w = self.api.create_wallet(unique_account())
        credit = self.assert_success(self.api.credit(w, 500), 201)
        debit = self.assert_success(self.api.debit(w, 100), 201)
        for txn in (credit["id"], debit["id"]):
            assert_error(self, self.api.capture(txn), 409, "INVALID_TRANSACTION_STATE")
            assert_error(self, self.api.capture(txn, 50), 409, "INVALID_TRANSACTION_STATE")
            assert_error(self, self.api.void(txn), 409, "INVALID_TRANSACTION_STATE")
        self.assert_wallet(w, 400, 0)
        self.assertEqual(len(self.entries(w)), 2)

    # -- unknown and malformed IDs ------------------------------------------------------------
    def test_unknown_ids_are_not_found(self):
        for bucket in (0, 9000, 16383):
            wid, tid = random_wallet_id(bucket), random_txn_id(bucket)
            with self.subTest(bucket=bucket):
                assert_error(self, self.api.get(f"/api/v1/wallets/{wid}"), 404, "NOT_FOUND")
                assert_error(self, self.api.get(f"/api/v1/wallets/{wid}/ledger"), 404,
                             "NOT_FOUND")
                assert_error(self, self.api.get(f"/api/v1/transactions/{tid}"), 404, "NOT_FOUND")
                assert_error(self, self.api.credit(wid, 100), 404, "NOT_FOUND")
                assert_error(self, self.api.authorize(wid, 100), 404, "NOT_FOUND")
                assert_error(self, self.api.debit(wid, 100), 404, "NOT_FOUND")
                assert_error(self, self.api.capture(tid), 404, "NOT_FOUND")
                assert_error(self, self.api.void(tid), 404, "NOT_FOUND")

    def test_malformed_ids_in_paths_are_not_found(self):
        w = self.funded_wallet(100)
        t = self.assert_success(self.api.authorize(w, 10), 201)["id"]
        bad_wallets = ["wal_123", "wal_" + "0" * 35, "wal_" + "0" * 37, w.upper(),
                       "WAL_" + w[4:], "wal_" + "g" * 36, t, "wal_ffff" + "0" * 32,
                       "x" * 40, "wal_%20" + "0" * 33]
        for bad in bad_wallets:
            with self.subTest(wallet=bad):
                assert_error(self, self.api.get(f"/api/v1/wallets/{bad}"), 404, "NOT_FOUND")
                assert_error(self, self.api.get(f"/api/v1/wallets/{bad}/ledger"), 404,
                             "NOT_FOUND")
        for bad in ["txn_1", t.upper(), w, "txn_" + "z" * 36, "txn_ffff" + "0" * 32]:
            with self.subTest(txn=bad):
                assert_error(self, self.api.get(f"/api/v1/transactions/{bad}"), 404, "NOT_FOUND")

    # -- ledger pagination --------------------------------------------------------------------
    def test_ledger_keyset_pagination(self):
        w = self.api.create_wallet(unique_account())
        for amount in range(1, 8):  # 7 entries: balances 1, 3, 6, 10, 15, 21, 28
            self.assert_success(self.api.credit(w, amount), 201)

        page1 = self.ledger(w, limit=3)
        self.assertEqual([e["amount"] for e in page1["entries"]], [7, 6, 5])
        self.assertEqual([e["balanceAfter"] for e in page1["entries"]], [28, 21, 15])
        self.assertIsInstance(page1["nextCursor"], str)

        # entries arriving after page 1 was read must not shift the following pages
        for amount in (100, 200):
            self.assert_success(self.api.credit(w, amount), 201)

        seen = list(page1["entries"])
        cursor = page1["nextCursor"]
        pages = 1
        while cursor is not None:
            page = self.ledger(w, limit=3, cursor=cursor)
            self.assertTrue(page["entries"] or page["nextCursor"] is None, page)
            seen.extend(page["entries"])
            cursor = page["nextCursor"]
            pages += 1
            self.assertLess(pages, 10, "pagination does not end")
        self.assertEqual([e["amount"] for e in seen], [7, 6, 5, 4, 3, 2, 1])
        ids = [e["id"] for e in seen]  # opaque (core/seal): unique, and the same on every read
        self.assertEqual(len(set(ids)), len(ids))
        self.assertEqual([e["id"] for e in self.ledger(w)["entries"]][2:], ids)

        # the whole ledger, newest first, is consistent entry to entry
        everything = self.ledger(w)["entries"]  # default limit 50
        self.assertEqual([e["amount"] for e in everything], [200, 100, 7, 6, 5, 4, 3, 2, 1])
        self.assertIsNone(self.ledger(w)["nextCursor"])
        for newer, older in zip(everything, everything[1:]):
            self.assertEqual(newer["balanceAfter"] - newer["amount"], older["balanceAfter"])
        self.assertEqual(everything[-1]["balanceAfter"], 1)

        # a page exactly as long as what is left
        r = self.ledger(w, limit=9)
        self.assertEqual(len(r["entries"]), 9)
        if r["nextCursor"] is not None:
            self.assertEqual(self.ledger(w, limit=9, cursor=r["nextCursor"])["entries"], [])

    # -- request IDs --------------------------------------------------------------------------
    def test_request_id(self):
        w = self.funded_wallet(100)
        for path in (f"/api/v1/wallets/{w}", "/api/v1/no-such-route", "/health/live"):
            with self.subTest(path=path):
                r = self.api.get(path, headers={"X-Request-Id": "client.req-1:AZ_9"})
                self.assertEqual(r.header("X-Request-Id"), "client.req-1:AZ_9")
                r = self.api.get(path)
                generated = r.header("X-Request-Id")
                self.assertRegex(generated or "", r"^[0-9a-f]{32}$")
                self.assertNotEqual(self.api.get(path).header("X-Request-Id"), generated)
                for invalid in ("has space", "x" * 65, "semi;colon", "sl/ash"):
                    r = self.api.get(path, headers={"X-Request-Id": invalid})
                    self.assertRegex(r.header("X-Request-Id") or "", r"^[0-9a-f]{32}$", invalid)
        r = self.api.get(f"/api/v1/wallets/{w}", headers={"X-Request-Id": "x" * 64})
        self.assertEqual(r.header("X-Request-Id"), "x" * 64)
        r = self.api.credit(w, 5, key=unique_key())
        self.assertRegex(r.header("X-Request-Id") or "", r"^[0-9a-f]{32}$")

    # -- limits -------------------------------------------------------------------------------
    def test_reference_and_expiry_bounds(self):
        w = self.funded_wallet(1000)
        ref = 'q"uote\\back/slash <&> ' + "~" * 40
        ref = ref + "z" * (64 - len(ref))
        self.assertEqual(len(ref), 64)
        r = self.api.authorize(w, 10, ref=ref, expiresInSeconds=2592000)  # the 30-day maximum
        auth = self.assert_success(r, 201)
        self.assertEqual(auth["referenceId"], ref)
        self.assert_expires_in(auth, 2592000)
        self.assertEqual(self.get_txn(auth["id"])["referenceId"], ref)
        short = self.assert_success(self.api.authorize(w, 10, ref="x", expiresInSeconds=1), 201)
        self.assert_expires_in(short, 1, delta=0.01)

    def test_balance_limit_exceeded(self):
        w = self.api.create_wallet(unique_account())
        self.assert_success(self.api.credit(w, MAX_MONEY), 201)
        assert_error(self, self.api.credit(w, 1), 422, "BALANCE_LIMIT_EXCEEDED")
        self.assert_wallet(w, MAX_MONEY, 0)
        self.assertEqual(len(self.entries(w)), 1)
        # the whole balance can still be held and captured exactly
        auth = self.assert_success(self.api.authorize(w, MAX_MONEY), 201)
        self.assert_wallet(w, MAX_MONEY, MAX_MONEY)
        self.assert_success(self.api.capture(auth["id"], MAX_MONEY - 1), 200)
        self.assert_wallet(w, 1, 0)


if __name__ == "__main__":
    unittest.main()
