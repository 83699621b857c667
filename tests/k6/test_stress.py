"""stress-test.js under a real k6: the seed's stages in ~1 minute, a tenth of its VUs.

See k6run.py for what every k6 test checks.
"""

import unittest

from k6run import K6TestCase, parse_stages, vu_seconds

# The seed's stages at 1/16 of their length (16 min -> 1 min) and a tenth of its VUs (10 -> 50 ->
# 100). At 1,000 VUs k6 alone takes a large share of this 2-core machine, which also runs walletd,
# two MariaDB primaries with their replicas and Redis: the run would then measure the machine,
# not walletd, and miss p(99) < 500 ms. The full profile is measured by loadtest/k6-profiles
# (docs/PERFORMANCE.md), not gated here.
STRESS_STAGES_SCALE = "0.0625"
STRESS_VUS_SCALE = "0.1"


class StressTest(K6TestCase):
    def test_stress(self):
        """stress-test.js, the old service's profile scaled to ~1 min and a tenth of its VUs."""
        summary = self.run_k6("stress-test.js", 600, STAGES_SCALE=STRESS_STAGES_SCALE,
                              VUS_SCALE=STRESS_VUS_SCALE)
        row = self.scenario(summary, "default")
        # A VU repeats authorize, sleep 0.1 s: at authorize's p(95) limit of 200 ms the stages
        # the script ran (its summary says which) still make this many.
        floor = vu_seconds(parse_stages(summary["settings"]["STAGES"])) / (0.1 + 0.2)
        self.assertGreaterEqual(row["iterations"], floor, row)
        self.assertEqual(row["requests"], row["iterations"], row)  # one authorization each


if __name__ == "__main__":
    unittest.main()
