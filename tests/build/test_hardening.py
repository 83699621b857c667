"""The binaries are hardened as the build promises (CMakeLists.txt, WALLETD_HARDEN): position
independent (PIE), full RELRO with BIND_NOW, stack protector, fortified libc calls (not in the
sanitizer build, which goes without _FORTIFY_SOURCE), and CET's ENDBR64 landing pads on x86-64.
Read with readelf and objdump (binutils) from the binaries just built (WALLETD_BIN, WALLETCTL_BIN)."""

import os
import platform
import re
import shutil
import subprocess
import unittest

BINARIES = [os.environ.get("WALLETD_BIN", "build/walletd"),
            os.environ.get("WALLETCTL_BIN", "build/walletctl")]
SANITIZED = os.environ.get("WALLETD_SANITIZE", "OFF").upper() in ("ON", "1", "TRUE")


def tool(name, *args):
    path = shutil.which(name)
    if not path:
        raise AssertionError(f"{name} is not installed: apt-get install binutils")
    return subprocess.run([path, *args], capture_output=True, text=True, check=True).stdout


def readelf(*args):
    return tool("readelf", "-W", *args)


class HardeningTest(unittest.TestCase):
    def found(self, pattern, text, message):
        """pattern (a regex) is in text; the failure says message, not the whole text."""
        self.assertTrue(re.search(pattern, text), message)

    def each(self, check):
        for path in BINARIES:
            with self.subTest(os.path.basename(path)):
                self.assertTrue(os.path.isfile(path), f"{path} is not built")
                check(path)

    def test_position_independent(self):
        self.each(lambda path: self.found(r"Type:\s+DYN", readelf("-h", path),
                                                f"{path} is not a PIE"))

    def test_full_relro(self):
        def check(path):
            self.found("GNU_RELRO", readelf("-l", path), f"{path}: no RELRO segment")
            dynamic = readelf("-d", path)
            self.assertTrue(re.search(r"\(FLAGS\)\s+.*BIND_NOW", dynamic) or
                            re.search(r"\(FLAGS_1\)\s+.*\bNOW\b", dynamic),
                            f"{path}: no BIND_NOW, so RELRO is only partial")
        self.each(check)

    def test_stack_protector(self):
        self.each(lambda path: self.found("__stack_chk_fail", readelf("--dyn-syms", path),
                                             f"{path}: no stack protector"))

    def test_fortified(self):
        if SANITIZED:
            self.skipTest("the sanitizer build goes without _FORTIFY_SOURCE")
        self.each(lambda path: self.found(r"__\w+_chk\b", readelf("--dyn-syms", path),
                                                f"{path}: no fortified (_chk) libc call"))

    def test_control_flow_protection(self):
        # -fcf-protection starts every indirect-branch target with ENDBR64. (The ELF note that
        # would mark the whole binary is the AND over every object linked, and Debian 12's C
        # runtime objects lack it, so the note cannot be what is checked.)
        if platform.machine() not in ("x86_64", "AMD64"):
            self.skipTest("CET is x86-64 only")

        def check(path):
            code = tool("objdump", "-d", "--no-show-raw-insn", "--disassemble=main", path)
            self.found(r"<main>:\s*\n\s*[0-9a-f]+:\s*endbr64", code,
                             f"{path}: main does not start with endbr64 (no -fcf-protection)")
        self.each(check)


if __name__ == "__main__":
    unittest.main()
