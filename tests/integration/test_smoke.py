"""Smoke test: a real walletd on the real cluster answers live, ready and one money round trip."""

import unittest

from harness import WalletdTestCase


class SmokeTest(WalletdTestCase):
    def test_live_ready_and_a_credit(self):
        self.assertEqual(self.api.get("/health/live", key=False).status, 200)
        self.assertEqual(self.api.get("/health/ready", key=False).status, 200)
        w = self.funded_wallet(1234)
        self.assertEqual(self.api.wallet(w)["balance"], 1234)


if __name__ == "__main__":
    unittest.main()
