"""Shared by the deployment tests (ctest label "deploy"): where things are, how to run the
validators, and broken copies.

Every tool these tests use is required: a missing one fails the test with what to install, it
never passes silently. The npm validators come from scripts/validate (`scripts/validate/install`,
run by scripts/test); kubectl is on the development and CI image; promtool (Debian `prometheus`),
haproxy and shellcheck are Debian packages that scripts/test installs. Only k6, which no package
source here offers, may be absent: the rollout test then skips and says so.
"""

import os
import shutil
import subprocess
import tempfile

import yaml

REPO = os.environ.get("WALLETD_REPO") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
VALIDATE = os.path.join(REPO, "scripts", "validate")
K8S = os.path.join(REPO, "k8s")


def tool(name, hint):
    """The path of an executable on PATH; AssertionError saying how to get it otherwise."""
    path = shutil.which(name)
    if not path:
        raise AssertionError(f"{name} is not installed: {hint}")
    return path


def node_tools():
    """node, after checking that scripts/validate's pinned packages are installed."""
    node = tool("node", "apt-get install nodejs (scripts/validate/install does it)")
    if not os.path.isdir(os.path.join(VALIDATE, "node_modules", "kubernetes-models")):
        raise AssertionError("the pinned validators are not installed: run scripts/validate/install")
    return node


def run(cmd, cwd=None, env=None, timeout=300):
    """Runs cmd; returns (exit code, stdout + stderr)."""
    full = dict(os.environ)
    full.update(env or {})
    res = subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)
    return res.returncode, res.stdout + res.stderr


def kustomizations(root=K8S):
    """Every kustomization under root that can be built on its own (components cannot)."""
    found = []
    for dirpath, _, files in os.walk(root):
        if "kustomization.yaml" not in files:
            continue
        with open(os.path.join(dirpath, "kustomization.yaml"), encoding="utf-8") as f:
            if yaml.safe_load(f).get("kind") == "Component":
                continue
        found.append(dirpath)
    return sorted(found)


def build(path):
    """The documents `kubectl kustomize path` builds, as Python objects."""
    kubectl = tool("kubectl", "kubectl (with kustomize) is on the development image; install it")
    rc, out = run([kubectl, "kustomize", path])
    if rc != 0:
        raise AssertionError(f"kubectl kustomize {path} failed: {out}")
    return [d for d in yaml.safe_load_all(out) if d]


class BrokenCopy:
    """A temporary copy of the repository's files (only the named top-level entries) to break
    on purpose: `with BrokenCopy("k8s") as root: ...`."""

    def __init__(self, *entries):
        self.entries = entries

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="walletd-broken-")
        for entry in self.entries:
            src = os.path.join(REPO, entry)
            dst = os.path.join(self.dir, entry)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("node_modules"))
            else:
                shutil.copy(src, dst)
        return self.dir

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


def edit(path, old, new, count=1):
    """Replaces old by new in the file (old must be there)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if old not in text:
        raise AssertionError(f"{old!r} not in {path}: the broken copy would not be broken")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, count))
