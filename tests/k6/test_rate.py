"""rate.js under a real k6, open model: 400 authorizations/s for 30 s (K6_TEST_RATE to change).

Why not the business average of 1,160/s here: k6 itself costs this machine's CPUs about 1 ms of
CPU per request for a bare POST and about 1.6 ms for rate.js's authorize with its checks
(measured with /usr/bin/time around k6 runs at 300/s: docs/PERFORMANCE.md, "What k6 costs"). At
1,160/s k6 alone would need most of both cores that walletd, four MariaDB servers and Redis also
run on, and the run would measure k6's starvation, not walletd (it did: under a busy machine p99
1.5 s and 17,345 iterations dropped, while walletd's own histogram stayed under 100 ms). 400/s
leaves walletd and the databases their share, and still proves what this test is for: the script
holds an open-model rate under a real k6 with every threshold met. The 1,160/s and 5,000/s runs
are measured, not gated, by loadtest/k6-profiles (docs/PERFORMANCE.md).

See k6run.py for what every k6 test checks.
"""

import os
import unittest

from k6run import K6TestCase

RATE = int(os.environ.get("K6_TEST_RATE", "400"))


class RateTest(K6TestCase):
    def test_rate(self):
        """rate.js's average scenario at RATE authorizations/s for 30 s (open model)."""
        rate, seconds = RATE, 30
        # All of the script's VUs (rate x 0.5 s) made before the start instead of a tenth: when
        # every VU is waiting, k6 drops the iterations due meanwhile and only then makes more VUs,
        # so a 100 ms pause of anything on these shared cores would fail "< 1% dropped", which
        # is there to catch a walletd that cannot keep up.
        summary = self.run_k6("rate.js", 600, SCENARIOS="average", AVERAGE_RATE=rate,
                              DURATION=f"{seconds}s", VU_SECONDS=0.5)
        row = self.scenario(summary, "average")
        self.assertGreaterEqual(row["iterations"], 0.9 * rate * seconds, row)
        self.assertEqual(row["requests"], row["iterations"], row)  # one authorization each
        self.assertLess(row["dropped"], 0.01 * rate * seconds, row)  # also a threshold


if __name__ == "__main__":
    unittest.main()
