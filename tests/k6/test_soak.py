"""soak.js under a real k6 for 1 minute at its 200 iterations/s.

See k6run.py for what every k6 test checks.
"""

import unittest

from k6run import K6TestCase


class SoakTest(K6TestCase):
    def test_soak(self):
        """soak.js for 1 minute at its 200 iterations/s (1-2 requests each)."""
        rate, seconds = 200, 60
        summary = self.run_k6("soak.js", 600, DURATION=f"{seconds}s", RATE=rate)
        row = self.scenario(summary, "soak")
        self.assertGreaterEqual(row["iterations"], 0.9 * rate * seconds, row)
        self.assertGreaterEqual(row["requests"], row["iterations"], row)
        self.assertLessEqual(row["requests"], 2 * row["iterations"], row)
        self.assertLess(row["dropped"], 100, row)  # also a threshold


if __name__ == "__main__":
    unittest.main()
