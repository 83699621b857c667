"""Idempotency records are kept for the retention period (24 h), then purged by the sweeper.

Records are aged by moving their created_at back in the database (the sweeper compares it with
the clock), so the test does not wait a day. A purged key executes afresh; a younger one replays.
"""

import time
import unittest

from harness import (WalletdTestCase, sql, sql_int, sql_str, unique_key, wait_until,
                     wallet_primary)


class PurgeTest(WalletdTestCase):
    env = {"SWEEPER_INTERVAL_MS": "200"}

    def record_count(self, node, key):
        return sql_int(node, "SELECT COUNT(*) FROM idempotency_keys WHERE tenant_id = 'tenant-a' "
                             f"AND idem_key = {sql_str(key)}")

    def age(self, node, key, hours):
        sql(node, "UPDATE idempotency_keys SET created_at = UTC_TIMESTAMP(3) - INTERVAL "
                  f"{hours} HOUR WHERE tenant_id = 'tenant-a' AND idem_key = {sql_str(key)}")

    def test_records_older_than_retention_are_purged_and_younger_ones_kept(self):
        wallet = self.funded_wallet(1000)
        node = wallet_primary(wallet)
        old_key, young_key = unique_key("old"), unique_key("young")
        first_old = self.api.credit(wallet, 5, key=old_key)
        first_young = self.api.credit(wallet, 7, key=young_key)
        self.assertEqual((first_old.status, first_young.status), (201, 201))
        self.assertEqual(self.record_count(node, old_key), 1)

        self.age(node, old_key, 25)    # past the 24 h retention
        self.age(node, young_key, 23)  # not yet
        wait_until(lambda: self.record_count(node, old_key) == 0, timeout=15,
                   message="the sweeper purges the 25 h old record")
        time.sleep(0.5)  # a few more sweeper rounds
        self.assertEqual(self.record_count(node, young_key), 1)

        # The young key still replays byte for byte; the purged one executes as a new request.
        again_young = self.api.credit(wallet, 7, key=young_key)
        self.assertEqual(again_young.raw, first_young.raw)
        self.assertEqual(again_young.header("Idempotent-Replayed"), "true")
        again_old = self.api.credit(wallet, 5, key=old_key)
        self.assertEqual(again_old.status, 201)
        self.assertIsNone(again_old.header("Idempotent-Replayed"))
        self.assertNotEqual(again_old.data["id"], first_old.data["id"])
        self.assertEqual(self.api.wallet(wallet)["balance"], 1000 + 5 + 7 + 5)


if __name__ == "__main__":
    unittest.main()
