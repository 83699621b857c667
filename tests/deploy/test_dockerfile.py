"""The Dockerfile passes two linters (scripts/validate/dockerfile.mjs: dockerlinter with Debian's
shellcheck, and dockerfile-utils) and has the shape the deployment relies on. It is not built:
there is no Docker engine on the development or CI machines. Broken copies must fail."""

import os
import re
import unittest

from common import REPO, VALIDATE, BrokenCopy, edit, node_tools, run, tool


def lint(path):
    tool("shellcheck", "apt-get install shellcheck")
    return run([node_tools(), os.path.join(VALIDATE, "dockerfile.mjs"), path])


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class DockerfileTest(unittest.TestCase):
    def test_lint_passes(self):
        rc, out = lint(os.path.join(REPO, "Dockerfile"))
        self.assertEqual(rc, 0, out)
        print(out.strip())

    def test_shape(self):
        text = read(os.path.join(REPO, "Dockerfile"))
        froms = re.findall(r"^FROM (\S+)", text, re.M)
        self.assertEqual(froms, ["debian:12", "debian:12-slim"], "build on Debian 12, run on slim")
        runtime = text[text.rindex("\nFROM "):]
        self.assertRegex(runtime, r"\nUSER [0-9]+:[0-9]+\n", "a numeric non-root user")
        self.assertNotRegex(runtime, r"\nUSER (0|root)\b")
        self.assertIn('ENTRYPOINT ["/usr/local/bin/walletd"]', runtime)
        self.assertRegex(runtime, r"COPY --from=build .*/walletctl ")
        self.assertRegex(runtime, r"COPY --from=build /src/migrations/ /usr/share/walletd/migrations/")
        self.assertNotIn("-dev", runtime, "no build packages in the runtime image")
        self.assertNotRegex(text, r"(?im)^(ENV|ARG)\s+\S*(PASSWORD|SECRET|TOKEN|_URL|KEY)",
                            "no secrets baked in")

    def test_dockerignore_keeps_secrets_out(self):
        lines = read(os.path.join(REPO, ".dockerignore")).splitlines()
        rules = [l for l in lines if l.strip() and not l.startswith("#")]
        self.assertEqual(rules[0], "*", "everything is excluded first, then the sources allowed")
        allowed = {l[1:].rstrip("/") for l in lines if l.startswith("!")}
        for secret in (".cluster", ".git", "build", "scripts"):
            self.assertNotIn(secret, allowed)
        for needed in ("CMakeLists.txt", "api", "cmd", "core", "db", "shard", "wallet", "tests",
                       "migrations", "loadtest/ceiling.c"):
            self.assertIn(needed, allowed)

    def broken(self, old, new, expect):
        with BrokenCopy("Dockerfile") as root:
            path = os.path.join(root, "Dockerfile")
            edit(path, old, new)
            rc, out = lint(path)
        self.assertNotEqual(rc, 0, out)
        self.assertIn(expect, out)

    def test_root_user_fails(self):
        self.broken("USER 10001:10001", "USER root", "Last user should not be root")

    def test_missing_yes_fails(self):
        self.broken("apt-get install -y --no-install-recommends \\\n        build-essential",
                    "apt-get install --no-install-recommends \\\n        build-essential",
                    "Use the -y switch")

    def test_apt_lists_left_behind_fails(self):
        self.broken("    && rm -rf /var/lib/apt/lists/* \\\n    && groupadd", "    && groupadd",
                    "Delete the apt-get lists")

    def test_shellcheck_finding_fails(self):
        self.broken('cmake --build build -j"$(nproc)"', "cmake --build build -j$(nproc)",
                    "SC2046")

    def test_second_entrypoint_fails(self):
        self.broken('ENTRYPOINT ["/usr/local/bin/walletd"]',
                    'ENTRYPOINT ["/usr/local/bin/walletd"]\nENTRYPOINT /bin/sh',
                    "There can only be one")


if __name__ == "__main__":
    unittest.main()
