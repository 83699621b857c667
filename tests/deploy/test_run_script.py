"""scripts/run serves walletd as a user other than root (issue 14, item 8): started by root, it
runs walletd as the system user "walletd", which can read its key files and nothing of root's.
The image does the same with USER 10001 (test_dockerfile.py, test_agreement.py)."""

import os
import signal
import socket
import subprocess
import time
import unittest

from common import REPO


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError(f"no Uid for {pid}")


class RunScriptTest(unittest.TestCase):
    def test_walletd_is_not_root(self):
        if os.geteuid() != 0:
            self.skipTest("not run as root: scripts/run runs walletd as the caller already")
        port = free_port()
        env = dict(os.environ, PORT=str(port))
        proc = subprocess.Popen([os.path.join(REPO, "scripts", "run")], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                self.assertIsNone(proc.poll(), proc.stdout.read().decode()[-2000:]
                                  if proc.poll() is not None else "")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    time.sleep(0.2)
            # scripts/run ends in exec: the process it started is walletd's master
            self.assertEqual(os.readlink(f"/proc/{proc.pid}/exe"),
                             os.path.realpath(os.path.join(REPO, "build", "walletd")))
            self.assertNotEqual(uid_of(proc.pid), 0, "walletd's master runs as root")
            workers = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)],
                                     capture_output=True, text=True).stdout.split()
            self.assertTrue(workers)
            for pid in workers:
                self.assertNotEqual(uid_of(int(pid)), 0, f"worker {pid} runs as root")
        finally:
            stop(proc)


def stop(proc):
    """SIGTERM to scripts/run's process group (walletd and anything it left), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()
    proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
