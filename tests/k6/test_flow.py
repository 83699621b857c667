"""flow.js under a real k6 for ~30 s: authorize, then capture, at 50 VUs.

See k6run.py for what every k6 test checks.
"""

import unittest

from k6run import K6TestCase, vu_seconds


class FlowTest(K6TestCase):
    def test_flow(self):
        """flow.js for ~30 s: 50 VUs, 5 s ramps around 20 s; each iteration authorize + capture."""
        vus, ramp, hold, sleep = 50, 5, 20, 0.1
        summary = self.run_k6("flow.js", 600, VUS=vus, RAMP=f"{ramp}s", DURATION=f"{hold}s")
        row = self.scenario(summary, "flow")
        # A VU repeats authorize, capture, sleep: if each flow took flow.js's p(95) limit of
        # 400 ms, the run would still make at least this many (at a few ms it makes ~4x more).
        floor = vu_seconds([(ramp, vus), (hold, vus), (ramp, 0)]) / (sleep + 0.4)
        self.assertGreaterEqual(row["iterations"], floor, row)
        # two requests per flow (an iteration cut short by the ramp-down may leave one more)
        self.assertGreaterEqual(row["requests"], 2 * row["iterations"], row)
        self.assertLessEqual(row["requests"], 2 * row["iterations"] + 2 * vus, row)


if __name__ == "__main__":
    unittest.main()
