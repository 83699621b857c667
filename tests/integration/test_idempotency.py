"""Idempotency keys: byte-for-byte replay, reuse detection, what is and is not stored, races."""

import json
import unittest

from harness import (PRIMARIES, TENANTS, WalletdTestCase, account_on_shard, assert_error,
                     id_bucket, ledger_rows, parallel, random_wallet_id, sql_int, sql_str,
                     sql_value, unique_account, unique_key, wallet_primary)

CREDIT = "/api/v1/transactions/credit"
AUTHORIZE = "/api/v1/transactions/authorize"
DEBIT = "/api/v1/transactions/debit"
VOID = "/api/v1/transactions/void"


class IdempotencyTest(WalletdTestCase):
    def setUp(self):
        self.wallet = self.funded_wallet(1000)
        self.node = wallet_primary(self.wallet)
        self.assertIsNotNone(self.node, "the new wallet is on no primary")

    # -- helpers ------------------------------------------------------------------------------
    def state(self, wallet=None):
        """(balance, held, ledger rows) of a wallet, read from its primary."""
        wallet = wallet or self.wallet
        w = self.api.wallet(wallet)
        return (w["balance"], w["held"], ledger_rows(self.node, wallet))

    def key_record(self, key, tenant=TENANTS[0], node=None):
        """status_code of the idempotency record on the wallet's shard, or None."""
        return sql_int(node or self.node,
                       "SELECT status_code FROM idempotency_keys WHERE tenant_id = "
                       f"{sql_str(tenant)} AND idem_key = {sql_str(key)}")

    def assert_replay(self, first, again):
        self.assertIsNone(first.header("Idempotent-Replayed"), first)
        self.assertEqual(again.status, first.status, again)
        self.assertEqual(again.raw, first.raw)
        self.assertEqual(again.header("Idempotent-Replayed"), "true", again.headers)

    # -- replay -------------------------------------------------------------------------------
    def test_replay_of_every_money_operation(self):
        w = self.wallet
        ops = [
            ("credit", 201, CREDIT, {"walletId": w, "amount": 250, "referenceId": "r-c"}),
            ("authorize", 201, AUTHORIZE, {"walletId": w, "amount": 300, "referenceId": "r-a"}),
            ("debit", 201, DEBIT, {"walletId": w, "amount": 50, "referenceId": "r-d"}),
        ]
        for name, status, path, body in ops:
            with self.subTest(op=name):
                key = unique_key(name)
                first = self.api.post(path, body, key_header=key)
                self.assertEqual(first.status, status, first)
                before = self.state()
                again = self.api.post(path, body, key_header=key)
                self.assert_replay(first, again)
                self.assertEqual(self.state(), before)
                self.assertEqual(self.key_record(key), status)
                if name == "authorize":
                    hold = first.data["id"]
        self.assertEqual(self.state()[:2], (1200, 300))

        # capture and void of holds
        hold2 = self.api.authorize(w, 100).data["id"]
        for name, path, body in (("capture", DEBIT, {"transactionId": hold, "amount": 120}),
                                 ("void", VOID, {"transactionId": hold2})):
            with self.subTest(op=name):
                key = unique_key(name)
                first = self.api.post(path, body, key_header=key)
                self.assertEqual(first.status, 200, first)
                before = self.state()
                again = self.api.post(path, body, key_header=key)
                self.assert_replay(first, again)
                self.assertEqual(self.state(), before)
        self.assertEqual(self.state()[:2], (1080, 0))

        # wallet creation accepts a key too
        key = unique_key("create")
        body = {"accountId": unique_account(), "currency": "USD"}
        first = self.api.post("/api/v1/wallets", body, key_header=key)
        self.assertEqual(first.status, 201, first)
        self.assert_replay(first, self.api.post("/api/v1/wallets", body, key_header=key))

    def test_same_request_compared_after_parsing(self):
        key = unique_key()
        first = self.api.credit(self.wallet, 77, key=key, ref="parsed")
        self.assertEqual(first.status, 201, first)
        before = self.state()
        reordered = ('{ "referenceId" : "parsed",\n "amount":77, "walletId":"%s" }'
                     % self.wallet).encode()
        again = self.api.post(CREDIT, raw_body=reordered, key_header=key)
        self.assert_replay(first, again)
        self.assertEqual(self.state(), before)

    def test_key_reused_for_a_different_request(self):
        key = unique_key()
        first = self.api.credit(self.wallet, 100, key=key)
        self.assertEqual(first.status, 201, first)
        before = self.state()
        w = self.wallet
        different = [
            (CREDIT, {"walletId": w, "amount": 101, "referenceId": "ref"}),  # other amount
            (CREDIT, {"walletId": w, "amount": 100, "referenceId": "ref2"}),  # other reference
            (AUTHORIZE, {"walletId": w, "amount": 100, "referenceId": "ref"}),  # other path
            (DEBIT, {"walletId": w, "amount": 100, "referenceId": "ref"}),
        ]
        for path, body in different:
            with self.subTest(path=path, body=body):
                r = self.api.post(path, body, key_header=key)
                assert_error(self, r, 422, "IDEMPOTENCY_KEY_REUSED")
                self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(self.state(), before)
        # the original is still replayed afterwards
        self.assert_replay(first, self.api.credit(self.wallet, 100, key=key))

    # -- the two headers ----------------------------------------------------------------------
    def test_x_idempotency_key_header(self):
        key = unique_key("x")
        body = {"walletId": self.wallet, "amount": 10, "referenceId": "ref"}
        first = self.api.post(CREDIT, body, headers={"X-Idempotency-Key": key})
        self.assertEqual(first.status, 201, first)
        before = self.state()
        # the same key by either header is the same key
        self.assert_replay(first, self.api.post(CREDIT, body, headers={"X-Idempotency-Key": key}))
        self.assert_replay(first, self.api.post(CREDIT, body, key_header=key))
        self.assert_replay(first, self.api.post(
            CREDIT, body, headers={"X-Idempotency-Key": key, "Idempotency-Key": key}))
        self.assertEqual(self.state(), before)

        both = unique_key("both")
        r = self.api.post(CREDIT, body, headers={"X-Idempotency-Key": both,
                                                 "Idempotency-Key": both})
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(self.state()[0], before[0] + 10)

        before = self.state()
        k1, k2 = unique_key("one"), unique_key("two")
        r = self.api.post(CREDIT, body, headers={"X-Idempotency-Key": k1, "Idempotency-Key": k2})
        assert_error(self, r, 400, "INVALID_IDEMPOTENCY_KEY")
        self.assertEqual(self.state(), before)
        self.assertIsNone(self.key_record(k1))
        self.assertIsNone(self.key_record(k2))

    # -- missing and malformed keys -----------------------------------------------------------
    def test_missing_key(self):
        hold = self.api.authorize(self.wallet, 100).data["id"]
        before = self.state()
        w = self.wallet
        requests = [
            (CREDIT, {"walletId": w, "amount": 10, "referenceId": "ref"}),
            (AUTHORIZE, {"walletId": w, "amount": 10, "referenceId": "ref"}),
            (DEBIT, {"walletId": w, "amount": 10, "referenceId": "ref"}),
            (DEBIT, {"transactionId": hold, "amount": 10}),
            (DEBIT, {"transactionId": hold}),
            (VOID, {"transactionId": hold}),
        ]
        for path, body in requests:
            with self.subTest(path=path, body=body):
                assert_error(self, self.api.post(path, body), 400, "IDEMPOTENCY_KEY_REQUIRED")
        self.assertEqual(self.state(), before)
        r = self.api.get(f"/api/v1/transactions/{hold}")
        self.assertEqual(r.data["status"], "PENDING")
        self.assertEqual(sql_int(self.node, "SELECT COUNT(*) FROM transactions WHERE "
                                            f"wallet_id = {sql_str(w)}"), 2)

    def test_malformed_keys(self):
        body = {"walletId": self.wallet, "amount": 10, "referenceId": "ref"}
        before = self.state()
        bad = ["k" * 256, "", "tab\there", "bell\x07", "del\x7f", "caf\xe9", "nul-ish\x01x"]
        for key in bad:
            for header in ("Idempotency-Key", "X-Idempotency-Key"):
                with self.subTest(key=key, header=header):
                    r = self.api.post(CREDIT, body, headers={header: key})
                    assert_error(self, r, 400, "INVALID_IDEMPOTENCY_KEY")
        self.assertEqual(self.state(), before)
        # the longest valid key, with every printable character class
        longest = (unique_key() + " ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}")
        longest = longest + "z" * (255 - len(longest))
        r = self.api.post(CREDIT, body, key_header=longest)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.key_record(longest), 201)
        self.assert_replay(r, self.api.post(CREDIT, body, key_header=longest))
        self.assertEqual(self.state()[0], before[0] + 10)

    # -- what is stored -----------------------------------------------------------------------
    def test_business_refusal_is_stored_and_replayed(self):
        key = unique_key("refusal")
        first = self.api.authorize(self.wallet, 5000, key=key)
        assert_error(self, first, 422, "INSUFFICIENT_FUNDS")
        self.assertEqual(self.key_record(key), 422)
        # the wallet now has enough, but the key's answer stays the same
        self.assertEqual(self.api.credit(self.wallet, 10_000).status, 201)
        before = self.state()
        again = self.api.authorize(self.wallet, 5000, key=key)
        self.assert_replay(first, again)
        self.assertEqual(self.state(), before)
        self.assertEqual(before[1], 0)

    def test_state_refusal_is_stored(self):
        hold = self.api.authorize(self.wallet, 100).data["id"]
        self.assertEqual(self.api.void(hold).status, 200)
        key = unique_key("state")
        first = self.api.capture(hold, key=key)
        assert_error(self, first, 409, "INVALID_TRANSACTION_STATE")
        self.assertEqual(self.key_record(key), 409)
        self.assert_replay(first, self.api.capture(hold, key=key))

    def test_not_found_and_wallet_exists_are_stored(self):
        key = unique_key("ghost")
        ghost = random_wallet_id(id_bucket(self.wallet))  # this wallet's shard, no such wallet
        first = self.api.credit(ghost, 10, key=key)
        assert_error(self, first, 404, "NOT_FOUND")
        self.assertEqual(self.key_record(key), 404)
        self.assert_replay(first, self.api.credit(ghost, 10, key=key))

        account = unique_account()
        self.api.create_wallet(account)
        key = unique_key("exists")
        body = {"accountId": account, "currency": "USD"}
        first = self.api.post("/api/v1/wallets", body, key_header=key)
        assert_error(self, first, 409, "WALLET_EXISTS")
        self.assert_replay(first, self.api.post("/api/v1/wallets", body, key_header=key))

    def test_validation_refusal_is_not_stored(self):
        key = unique_key("validation")
        before = self.state()
        r = self.api.post(CREDIT, {"walletId": self.wallet, "amount": -5, "referenceId": "ref"},
                          key_header=key)
        assert_error(self, r, 400, "INVALID_AMOUNT")
        self.assertEqual(self.state(), before)
        for node in PRIMARIES:
            self.assertIsNone(self.key_record(key, node=node))
        # a corrected retry with the same key executes afresh
        r = self.api.credit(self.wallet, 5, key=key)
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(self.state(), (before[0] + 5, before[1], before[2] + 1))
        self.assertEqual(self.key_record(key), 201)

    def test_record_lives_on_the_wallets_shard(self):
        key = unique_key("where")
        r = self.api.credit(self.wallet, 10, key=key)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.key_record(key), 201)
        other = [n for n in PRIMARIES if n != self.node][0]
        self.assertIsNone(self.key_record(key, node=other))
        stored = sql_value(self.node, "SELECT COUNT(*) FROM idempotency_keys WHERE tenant_id = "
                                      f"{sql_str(TENANTS[0])} AND idem_key = {sql_str(key)} "
                                      "AND response IS NOT NULL AND status_code = 201")
        self.assertEqual(stored, "1")
        replay = self.api.credit(self.wallet, 10, key=key)
        self.assert_replay(r, replay)
        self.assertEqual(self.key_record(key), 201)

    def test_keys_are_scoped_per_tenant(self):
        key = unique_key("shared")
        a = self.api.credit(self.wallet, 10, key=key)
        self.assertEqual(a.status, 201, a)
        wb = self.funded_wallet(0, api=self.api_b)
        node_b = wallet_primary(wb)
        # a different request from tenant-b with tenant-a's key string executes for tenant-b
        b = self.api_b.credit(wb, 20, key=key)
        self.assertEqual(b.status, 201, b)
        self.assertIsNone(b.header("Idempotent-Replayed"))
        self.assertEqual(b.data["walletId"], wb)
        self.assertEqual(self.api_b.wallet(wb)["balance"], 20)
        self.assertEqual(self.key_record(key, tenant=TENANTS[1], node=node_b), 201)
        # and each tenant's replay is its own answer
        self.assert_replay(b, self.api_b.credit(wb, 20, key=key))
        self.assert_replay(a, self.api.credit(self.wallet, 10, key=key))
        self.assertEqual(self.api_b.wallet(wb)["balance"], 20)

    def test_key_scope_is_the_resource_wherever_it_lives(self):
        """A key is scoped to the resource the request names (the wallet of a credit, the
        transaction of a capture): the same key for another wallet is another request, and that
        holds alike whether the other wallet is on the same shard or not."""
        key = unique_key("scope")
        home = int(self.node[len("shard")])
        same = self.api.create_wallet(account_on_shard(home, 2))
        other = self.api.create_wallet(account_on_shard(1 - home, 2))
        first = self.api.credit(self.wallet, 10, key=key)
        self.assertEqual(first.status, 201, first)
        for w in (same, other):
            with self.subTest(shard="same" if w == same else "other"):
                r = self.api.credit(w, 20, key=key)
                self.assertEqual(r.status, 201, r)
                self.assertIsNone(r.header("Idempotent-Replayed"))
                self.assertEqual(self.api.wallet(w)["balance"], 20)
                self.assert_replay(r, self.api.credit(w, 20, key=key))
                self.assertEqual(self.api.wallet(w)["balance"], 20)
                scope = sql_value(wallet_primary(w), "SELECT scope_id FROM idempotency_keys "
                                  f"WHERE idem_key = {sql_str(key)} AND scope_id = {sql_str(w)}")
                self.assertEqual(scope, w)
        # on the first wallet the key is still taken: another request with it is refused
        assert_error(self, self.api.credit(self.wallet, 11, key=key), 422,
                     "IDEMPOTENCY_KEY_REUSED")
        self.assert_replay(first, self.api.credit(self.wallet, 10, key=key))
        # capture and void are scoped to their transaction
        t1 = self.api.authorize(self.wallet, 30).data["id"]
        t2 = self.api.authorize(self.wallet, 40).data["id"]
        key = unique_key("txn-scope")
        self.assertEqual(self.api.capture(t1, key=key).status, 200)
        r = self.api.void(t2, key=key)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["status"], "VOIDED")
        assert_error(self, self.api.void(t1, key=key), 422, "IDEMPOTENCY_KEY_REUSED")

    def test_keys_that_differ_only_in_trailing_spaces_are_two_keys(self):
        key = unique_key("pad")
        a = self.api.credit(self.wallet, 10, key=key)
        b = self.api.credit(self.wallet, 20, key=key + " ")
        c = self.api.credit(self.wallet, 30, key=key + "  ")
        for r in (a, b, c):
            self.assertEqual(r.status, 201, r)
            self.assertIsNone(r.header("Idempotent-Replayed"), r)
        self.assertEqual(self.state()[:2], (1060, 0))
        self.assert_replay(b, self.api.credit(self.wallet, 20, key=key + " "))

    # -- concurrency --------------------------------------------------------------------------
    def test_concurrent_identical_requests_move_once(self):
        for op in ("credit", "authorize"):
            with self.subTest(op=op):
                self.concurrent_identical(op)

    def concurrent_identical(self, op):
        key = unique_key("race-" + op)
        path = CREDIT if op == "credit" else AUTHORIZE
        body = json.dumps({"walletId": self.wallet, "amount": 123,
                           "referenceId": "race"}).encode()
        before = self.state()
        clients = self.connected_clients(20)
        answers = parallel(lambda c: c.post(path, raw_body=body, key_header=key),
                           [(c,) for c in clients])
        for c in clients:
            c.close()
        originals = [r for r in answers if r.status == 201 and
                     r.header("Idempotent-Replayed") is None]
        self.assertEqual(len(originals), 1, answers)
        original = originals[0]
        for r in answers:
            if r is original:
                continue
            if r.status == 409:
                assert_error(self, r, 409, "IDEMPOTENCY_KEY_IN_PROGRESS")
            else:
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.raw, original.raw)
                self.assertEqual(r.header("Idempotent-Replayed"), "true")
        balance, held, rows = self.state()
        if op == "credit":
            self.assertEqual((balance, held), (before[0] + 123, before[1]))
        else:
            self.assertEqual((balance, held), (before[0], before[1] + 123))
        self.assertEqual(rows, before[2] + 1)
        self.assertEqual(sql_int(self.node, "SELECT COUNT(*) FROM transactions WHERE "
                                            f"wallet_id = {sql_str(self.wallet)} AND "
                                            f"amount = 123"), 1 if op == "credit" else 2)
        # afterwards, a retry is a plain replay
        self.assert_replay(original, self.api.post(path, raw_body=body, key_header=key))


class MixedBatchTest(WalletdTestCase):
    """One worker, so concurrent requests for one shard share group commits: replays of old keys
    (which make the batch decide its ops again) beside creates of a wallet that already exists
    (whose claimed "created" reply must be rewritten to 409). Each create's key must store its
    final reply, once; under ASan a stale reply pointer is caught."""
    workers = 1

    def test_replays_and_refused_creates_in_one_batch(self):
        api = self.api
        account = unique_account("mixed")
        wallet = api.create_wallet(account)  # the creates below refer to it: same shard
        for _ in range(5):  # rounds: batches form as the requests arrive
            old = []
            for _ in range(10):
                key = unique_key("mixed-old")
                r = api.credit(wallet, 1, key=key)
                self.assertEqual(r.status, 201, r)
                old.append((key, r))
            clients = self.connected_clients(20)
            create = json.dumps({"accountId": account, "currency": "USD"}).encode()
            new_keys = [unique_key("mixed-create") for _ in range(10)]
            jobs = [(c, "old", key) for c, (key, _) in zip(clients[:10], old)]
            jobs += [(c, "create", key) for c, key in zip(clients[10:], new_keys)]

            def send(c, what, key):
                if what == "create":
                    return c.post("/api/v1/wallets", raw_body=create, key_header=key)
                body = json.dumps({"walletId": wallet, "amount": 1,
                                   "referenceId": "ref"}).encode()
                return c.post(CREDIT, raw_body=body, key_header=key)
            answers = parallel(send, jobs)
            for c in clients:  # this round's connections end here (the cleanup is a backstop)
                c.close()
            for (key, first), r in zip(old, answers[:10]):
                self.assertEqual((r.status, r.raw), (first.status, first.raw), key)
                self.assertEqual(r.header("Idempotent-Replayed"), "true")
            for key, r in zip(new_keys, answers[10:]):
                assert_error(self, r, 409, "WALLET_EXISTS")
                again = api.post("/api/v1/wallets", {"accountId": account, "currency": "USD"},
                                 key_header=key)
                self.assertEqual((again.status, again.raw), (r.status, r.raw), key)
                self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(api.wallet(wallet)["balance"], 50)


if __name__ == "__main__":
    unittest.main()
