"""The PrometheusRule's alerts pass `promtool check rules` and the unit tests in
k8s/components/monitoring/tests/alerts.test.yaml (`promtool test rules`). The rule groups are
taken from the built PrometheusRule (the one source), written as a plain rules file beside a copy
of the tests. A bad PromQL expression, and an alert whose threshold drifted, must fail."""

import os
import shutil
import tempfile
import unittest

import yaml

from common import K8S, build, edit, run, tool, BrokenCopy

MONITORING = os.path.join("k8s", "components", "monitoring")
TESTS = os.path.join(MONITORING, "tests", "alerts.test.yaml")


def promtool():
    return tool("promtool", "apt-get install prometheus (Debian's package ships promtool)")


def rules_of(k8s_root):
    """The spec (rule groups) of the PrometheusRule the production overlay builds."""
    docs = build(os.path.join(k8s_root, "overlays", "production"))
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    if len(rules) != 1:
        raise AssertionError(f"expected one PrometheusRule in overlays/production, got {len(rules)}")
    return rules[0]["spec"]


def check(repo_root):
    """(rc of promtool check rules, rc of promtool test rules, output) for repo_root."""
    work = tempfile.mkdtemp(prefix="walletd-alerts-")
    try:
        with open(os.path.join(work, "walletd.rules.yaml"), "w", encoding="utf-8") as f:
            yaml.safe_dump(rules_of(os.path.join(repo_root, "k8s")), f, sort_keys=False)
        shutil.copy(os.path.join(repo_root, TESTS), work)
        rc1, out1 = run([promtool(), "check", "rules", "walletd.rules.yaml"], cwd=work)
        rc2, out2 = run([promtool(), "test", "rules", "alerts.test.yaml"], cwd=work)
        return rc1, rc2, out1 + out2
    finally:
        shutil.rmtree(work, ignore_errors=True)


class AlertsTest(unittest.TestCase):
    def test_rules_check_and_unit_tests_pass(self):
        rc1, rc2, out = check(os.path.dirname(K8S))
        self.assertEqual((rc1, rc2), (0, 0), out)
        self.assertIn("SUCCESS: 6 rules found", out)
        rc, version = run([promtool(), "--version"])
        print(version.splitlines()[0])

    def test_the_alerts(self):
        names = [r["alert"] for g in rules_of(K8S)["groups"] for r in g["rules"]]
        self.assertEqual(names, ["HighErrorRate", "HighLatency", "LowThroughput",
                                 "DatabaseConnectionSaturation", "ShardPrimaryDown", "RedisDown"])

    def test_bad_promql_fails_check(self):
        with BrokenCopy("k8s") as root:
            edit(os.path.join(root, MONITORING, "prometheusrule.yaml"),
                 "sum by (le) (rate(", "sum by (le) (rate((")
            rc1, _, out = check(root)
        self.assertNotEqual(rc1, 0, out)
        self.assertIn("parse error", out)

    def test_drifted_threshold_fails_unit_tests(self):
        with BrokenCopy("k8s") as root:
            edit(os.path.join(root, MONITORING, "prometheusrule.yaml"), "> 0.01", "> 0.05")
            rc1, rc2, out = check(root)
        self.assertEqual(rc1, 0, out)
        self.assertNotEqual(rc2, 0, out)
        self.assertIn("HighErrorRate", out)


if __name__ == "__main__":
    unittest.main()
