"""Every kustomization under k8s/ builds with `kubectl kustomize`, and every document it yields
(plus the Secret template) is checked against the Kubernetes API types by scripts/validate/k8s.mjs:
kubernetes-models' validate() (types, required fields), removed apiVersions refused, and a
TypeScript --strict check against the models' interfaces (unknown fields). Each kind of mistake,
made on purpose in a copy, must fail."""

import os
import unittest

from common import K8S, VALIDATE, BrokenCopy, edit, kustomizations, node_tools, run, tool


def validate(root, only=None):
    """Runs k8s.mjs on every kustomization and the Secret template under root/k8s, or on the
    targets (paths relative to root/k8s) in only."""
    if only:
        targets = [os.path.join(root, "k8s", t) for t in only]
    else:
        targets = kustomizations(os.path.join(root, "k8s")) + [
            os.path.join(root, "k8s", "templates", "secrets.yaml")]
    kubectl = tool("kubectl", "kubectl (with kustomize) is on the development image; install it")
    return run([node_tools(), os.path.join(VALIDATE, "k8s.mjs"), "--kubectl", kubectl, *targets])


class ManifestsTest(unittest.TestCase):
    def test_every_kustomization_is_found(self):
        found = {os.path.relpath(p, K8S) for p in kustomizations()}
        for expected in ("base", "overlays/production", "overlays/production-rps",
                         "overlays/production/migrate", "jobs/migrate"):
            self.assertIn(expected, found)

    def test_manifests_are_valid(self):
        rc, out = validate(os.path.dirname(K8S))
        self.assertEqual(rc, 0, out)
        print(out.strip())

    # (what is broken, file under k8s/, text, replaced by, target to validate, expected message)
    BROKEN = [
        # validate() does not see an unknown field; the TypeScript --strict check does.
        ("unknown field", "base/deployment.yaml", "          readinessProbe:",
         "          readinesProbe:", "base",
         "'\"readinesProbe\"' does not exist in type 'IContainer'"),
        ("removed apiVersion", "base/hpa.yaml", "apiVersion: autoscaling/v2",
         "apiVersion: autoscaling/v2beta2", "base",
         "autoscaling/v2beta2 was removed in Kubernetes v1.26"),
        ("removed Ingress API", "base/ingress.yaml", "apiVersion: networking.k8s.io/v1",
         "apiVersion: extensions/v1beta1", "base", "extensions/v1beta1 was removed"),
        ("wrong type", "base/service.yaml", "      port: 3000", '      port: "3000"', "base",
         "Service/walletd: data/spec/ports/0/port must be integer"),
        ("missing required field", "base/deployment.yaml",
         "        - name: walletd\n          image: walletd", "        - image: walletd", "base",
         "must have required property name"),
        ("unknown kind", "base/pdb.yaml", "kind: PodDisruptionBudget",
         "kind: PodDisruptionBudgets", "base", "no kind PodDisruptionBudgets in policy/v1"),
        ("unknown field in a Prometheus Operator object",
         "components/monitoring/podmonitor.yaml", "      interval: 15s",
         "      intervall: 15s", "overlays/production", "'\"intervall\"' does not exist in type"),
        ("kustomize cannot build", "overlays/production/kustomization.yaml", "  - ../../base",
         "  - ../../bse", "overlays/production", "kubectl kustomize"),
        ("unknown field in the Secret template", "templates/secrets.yaml",
         "type: Opaque\nstringData:", "type: Opaque\nstringDatas:", "templates/secrets.yaml",
         "'\"stringDatas\"' does not exist in type 'ISecret'"),
    ]

    def test_broken_copies_fail(self):
        """Each mistake in its own copy of k8s/; one validator run over all the copies (one
        TypeScript program), and each copy must be reported with its own message."""
        copies = [BrokenCopy("k8s") for _ in self.BROKEN]
        roots = [c.__enter__() for c in copies]
        try:
            targets = []
            for root, (_, path, old, new, target, _) in zip(roots, self.BROKEN):
                edit(os.path.join(root, "k8s", path), old, new)
                targets.append(os.path.join(root, "k8s", target))
            kubectl = tool("kubectl", "kubectl (with kustomize) is on the development image")
            rc, out = run([node_tools(), os.path.join(VALIDATE, "k8s.mjs"), "--kubectl", kubectl,
                           *targets])
        finally:
            for c in copies:
                c.__exit__(None, None, None)
        self.assertNotEqual(rc, 0, out)
        lines = out.splitlines()
        for target, (what, *_, expect) in zip(targets, self.BROKEN):
            with self.subTest(what):
                mine = [line for line in lines if line.startswith(f"k8s: {target}")]
                self.assertTrue(any(expect in line for line in mine),
                                f"{what}: expected {expect!r} for {target}; got:\n{out}")


if __name__ == "__main__":
    unittest.main()
