"""Routing: an account's bucket decides its shard; IDs embed the bucket; rows land on that
shard's primary (and only there) and replicate to its replica."""

import unittest

from harness import (PRIMARIES, REPLICAS, TENANTS, WalletdTestCase, account_bucket,
                     account_on_shard, bucket_shard, cluster, cluster_env, id_bucket, sql,
                     sql_int, sql_str, unique_account, unique_key)


def accounts_on_each_shard():
    """One fresh account whose bucket is on shard 0 and one on shard 1."""
    return account_on_shard(0, 2, "route"), account_on_shard(1, 2, "route")


def count(node, table, column, value):
    return sql_int(node, f"SELECT COUNT(*) FROM {table} WHERE {column} = {sql_str(value)}")


class RoutingTest(WalletdTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cluster_env()
        if env.get("SHARD_COUNT") != "2" or env.get("SHARD_MAP"):
            raise unittest.SkipTest("these checks assume 2 shards split evenly")

    def test_bucket_hash_is_fixed(self):
        # the account -> bucket hash is fixed forever: pinned values (BLAKE2b-128 of the account
        # ID, first 8 bytes little-endian, mod 16384), as walletd embeds them in wallet IDs
        pinned = {"cust-42": 6695, "pinned-account-1": 16173, "pinned-account-2": 2677,
                  "A.b:c-d_e": 12187, "x" * 64: 12877}
        for account, bucket in pinned.items():
            with self.subTest(account=account):
                self.assertEqual(account_bucket(account), bucket)
                # these accounts persist across runs: make sure one wallet exists, then read it
                r = self.api.post("/api/v1/wallets", {"accountId": account, "currency": "USD"})
                self.assertIn(r.status, (201, 409), r)
                r = self.api.get(f"/api/v1/accounts/{account}/wallets")
                self.assertEqual(r.status, 200, r)
                self.assertTrue(r.data["wallets"], r)
                for w in r.data["wallets"]:
                    self.assertEqual(w["id"][4:8], f"{bucket:04x}")
        # and the server agrees with this computation for many fresh accounts
        for _ in range(20):
            account = unique_account("agree")
            w = self.api.create_wallet(account)
            self.assertEqual(id_bucket(w), account_bucket(account), (account, w))

    def test_wallets_land_on_their_accounts_shard(self):
        for shard, account in enumerate(accounts_on_each_shard()):
            with self.subTest(shard=shard, account=account):
                bucket = account_bucket(account)
                self.assertEqual(bucket_shard(bucket), shard)
                w = self.api.create_wallet(account)
                self.assertEqual(w[4:8], f"{bucket:04x}")
                self.assertEqual(id_bucket(w), bucket)
                home, other = PRIMARIES[shard], PRIMARIES[1 - shard]
                self.assertEqual(count(home, "wallets", "id", w), 1)
                self.assertEqual(count(other, "wallets", "id", w), 0)
                row = sql(home, "SELECT tenant_id, account_id, currency, balance, held FROM "
                                f"wallets WHERE id = {sql_str(w)}")
                self.assertEqual(row, [[TENANTS[0], account, "USD", "0", "0"]])
                # a second currency of the same account is on the same shard
                w2 = self.api.create_wallet(account, "EUR")
                self.assertEqual(w2[4:8], w[4:8])
                self.assertEqual(count(home, "wallets", "id", w2), 1)
                r = self.api.get(f"/api/v1/accounts/{account}/wallets")
                self.assertEqual([x["id"] for x in r.data["wallets"]], [w, w2])

    def test_transactions_land_on_their_wallets_shard(self):
        for shard, account in enumerate(accounts_on_each_shard()):
            with self.subTest(shard=shard):
                home, other = PRIMARIES[shard], PRIMARIES[1 - shard]
                w = self.api.create_wallet(account)
                key = unique_key("route")
                credit = self.api.credit(w, 500, key=key)
                self.assertEqual(credit.status, 201, credit)
                hold = self.api.authorize(w, 100)
                self.assertEqual(hold.status, 201, hold)
                for txn in (credit.data["id"], hold.data["id"]):
                    self.assertEqual(txn[4:8], w[4:8])  # the transaction ID embeds the bucket
                    self.assertEqual(count(home, "transactions", "id", txn), 1)
                    self.assertEqual(count(other, "transactions", "id", txn), 0)
                    self.assertEqual(count(home, "ledger", "transaction_id", txn), 1)
                    self.assertEqual(count(other, "ledger", "transaction_id", txn), 0)
                self.assertEqual(count(home, "ledger", "wallet_id", w), 2)
                self.assertEqual(count(other, "ledger", "wallet_id", w), 0)
                self.assertEqual(count(home, "idempotency_keys", "idem_key", key), 1)
                self.assertEqual(count(other, "idempotency_keys", "idem_key", key), 0)
                # capture routes by the transaction ID alone
                cap = self.api.capture(hold.data["id"], 40)
                self.assertEqual(cap.status, 200, cap)
                self.assertEqual(sql(home, "SELECT balance, held FROM wallets WHERE id = "
                                           f"{sql_str(w)}"), [["460", "0"]])

    def test_rows_reach_the_replica(self):
        wallets = []
        for shard, account in enumerate(accounts_on_each_shard()):
            w = self.api.create_wallet(account)
            self.assertEqual(self.api.credit(w, 321).status, 201)
            wallets.append(w)
        cluster("wait-replicas", "30")
        for shard, w in enumerate(wallets):
            with self.subTest(shard=shard):
                replica, other = REPLICAS[shard], REPLICAS[1 - shard]
                self.assertEqual(sql(replica, "SELECT balance, held FROM wallets WHERE id = "
                                              f"{sql_str(w)}"), [["321", "0"]])
                self.assertEqual(count(replica, "ledger", "wallet_id", w), 1)
                self.assertEqual(count(other, "wallets", "id", w), 0)


if __name__ == "__main__":
    unittest.main()
