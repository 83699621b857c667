"""Search by referenceId (docs/API.md: the caller's reference is stored, returned and
searchable): GET /api/v1/transactions?referenceId=&limit= reads every shard and merges."""

import time
import unittest
import urllib.parse

from harness import (WalletdTestCase, account_on_shard, assert_error, cluster, start_node,
                     unique_key, wait_until)

SHARDS = 2


def unique_ref(prefix="ref"):
    return unique_key(prefix)[:64]


class SearchTest(WalletdTestCase):

    def search(self, ref, api=None, **params):
        query = urllib.parse.urlencode({"referenceId": ref, **params})
        return (api or self.api).get(f"/api/v1/transactions?{query}")

    def wallet_on(self, shard, api=None):
        api = api or self.api
        return api.create_wallet(account_on_shard(shard, SHARDS))

    def assert_page(self, r, ref):
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.data), {"referenceId", "transactions", "hasMore"}, r)
        self.assertEqual(r.data["referenceId"], ref)
        return r.data["transactions"]

    def test_finds_a_reference_on_every_shard_newest_first(self):
        ref, other = unique_ref(), unique_ref("other")
        w0, w1 = self.wallet_on(0), self.wallet_on(1)
        made = []
        for wallet, amount in ((w0, 100), (w1, 200), (w0, 300)):
            r = self.api.credit(wallet, amount, ref=ref)
            self.assertEqual(r.status, 201, r)
            made.append(r.data["id"])
            time.sleep(0.005)  # distinct createdAt, so newest-first is unambiguous
        r = self.api.authorize(w1, 50, ref=ref)
        self.assertEqual(r.status, 201, r)
        made.append(r.data["id"])
        self.assertEqual(self.api.credit(w1, 7, ref=other).status, 201)

        found = self.assert_page(self.search(ref), ref)
        self.assertEqual([t["id"] for t in found], list(reversed(made)))
        self.assertEqual({t["walletId"] for t in found}, {w0, w1})  # both shards answered
        self.assertFalse(self.search(ref).data["hasMore"])
        for t in found:  # each one exactly as GET /transactions/{id} shows it
            self.assertEqual(t, self.api.get(f"/api/v1/transactions/{t['id']}").data)

        # a capture shows in the search at once (the search reads what a GET reads)
        r = self.api.capture(made[-1], 20)
        self.assertEqual(r.status, 200, r)
        found = self.assert_page(self.search(ref), ref)
        self.assertEqual((found[0]["status"], found[0]["capturedAmount"]), ("COMPLETED", 20))

    def test_limit_and_has_more(self):
        ref = unique_ref()
        w0, w1 = self.wallet_on(0), self.wallet_on(1)
        ids = []
        for i in range(5):
            r = self.api.credit((w0, w1)[i % 2], 10 + i, ref=ref)
            ids.append(r.data["id"])
            time.sleep(0.005)
        r = self.search(ref, limit=2)
        self.assertEqual([t["id"] for t in self.assert_page(r, ref)], ids[::-1][:2])
        self.assertTrue(r.data["hasMore"])
        r = self.search(ref, limit=5)
        self.assertEqual([t["id"] for t in self.assert_page(r, ref)], ids[::-1])
        self.assertFalse(r.data["hasMore"])

    def test_reference_with_reserved_characters(self):
        ref = f"order #1/a&b=c?{unique_ref()}"[:64]
        r = self.api.credit(self.wallet_on(0), 5, ref=ref)
        self.assertEqual(r.status, 201, r)
        found = self.assert_page(self.search(ref), ref)
        self.assertEqual([t["id"] for t in found], [r.data["id"]])

    def test_reference_is_matched_exactly_trailing_spaces_included(self):
        ref = unique_ref("pad")[:60]
        ids = {}
        for suffix, shard in (("", 0), (" ", 0), ("  ", 1), (" x", 1)):
            r = self.api.credit(self.wallet_on(shard), 5, ref=ref + suffix)
            self.assertEqual(r.status, 201, r)
            ids[suffix] = r.data["id"]
        for suffix in ("", " ", "  "):
            with self.subTest(reference=ref + suffix):
                found = self.assert_page(self.search(ref + suffix), ref + suffix)
                self.assertEqual([t["id"] for t in found], [ids[suffix]])
                self.assertEqual(found[0]["referenceId"], ref + suffix)

    def test_unknown_reference_and_other_tenants_find_nothing(self):
        ref = unique_ref()
        self.assertEqual(self.assert_page(self.search(ref), ref), [])
        self.assertEqual(self.api.credit(self.wallet_on(1), 5, ref=ref).status, 201)
        self.assertEqual(len(self.assert_page(self.search(ref), ref)), 1)
        self.assertEqual(self.assert_page(self.search(ref, api=self.api_b), ref), [])

    def test_bad_queries_are_refused(self):
        for query in ("", "?limit=5", "?referenceId=", "?referenceId=" + "x" * 65,
                      "?referenceId=a%01b", "?referenceId=%C3%A9t%C3%A9"):
            r = self.api.get(f"/api/v1/transactions{query}")
            assert_error(self, r, 400, "VALIDATION_ERROR")
            self.assertIn("referenceId", r.json["message"])
        for limit in ("0", "201", "-1", "ten", "1.5"):
            r = self.api.get(f"/api/v1/transactions?referenceId=r&limit={limit}")
            assert_error(self, r, 400, "VALIDATION_ERROR")
        r = self.api.post("/api/v1/transactions", {"referenceId": "r"})
        assert_error(self, r, 405, "METHOD_NOT_ALLOWED")
        self.assertEqual(r.header("Allow"), "GET")
        r = self.api.get("/api/v1/transactions?referenceId=r", key=False)
        assert_error(self, r, 401, "UNAUTHORIZED")

    def test_zz_a_shard_down_fails_the_search_instead_of_answering_half(self):
        ref = unique_ref()
        self.assertEqual(self.api.credit(self.wallet_on(0), 5, ref=ref).status, 201)
        self.assertEqual(self.api.credit(self.wallet_on(1), 6, ref=ref).status, 201)
        self.addCleanup(start_node, "shard1-primary")
        cluster("stop", "shard1-primary")
        r = self.search(ref)
        assert_error(self, r, 503, "SERVICE_UNAVAILABLE")
        start_node("shard1-primary")
        # each pooled connection reconnects on its own, after a 200 ms back-off from its last
        # failed attempt (and `cluster start` can be quicker than that): until then a search
        # may still meet one that answers 503, so wait for a few answers in a row
        wait_until(lambda: all(self.search(ref).status == 200 for _ in range(3)), 30,
                   interval=0.2, message="search answers again after the primary is back")
        self.assertEqual(len(self.assert_page(self.search(ref), ref)), 2)


if __name__ == "__main__":
    unittest.main()
