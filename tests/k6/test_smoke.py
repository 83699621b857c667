"""smoke.js under a real k6, once: 2 VUs, one iteration each, every check exact.

See k6run.py for what every k6 test checks.
"""

import unittest

from k6run import K6TestCase

# Requests one smoke.js iteration makes when every step answers as expected (see its header).
SMOKE_REQUESTS_PER_ITERATION = 19


class SmokeTest(K6TestCase):
    def test_smoke(self):
        """smoke.js once: 2 VUs, one iteration each, every check exact."""
        summary = self.run_k6("smoke.js", 300, VUS=2, ITERATIONS=1)
        row = self.scenario(summary, "smoke")
        self.assertEqual(row["iterations"], 2, row)
        self.assertEqual(row["requests"], 2 * SMOKE_REQUESTS_PER_ITERATION, row)
        self.assertEqual(summary["failedChecks"], [])


if __name__ == "__main__":
    unittest.main()
