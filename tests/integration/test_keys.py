"""API keys are revocable without a restart (issue 14, item 6): walletd reloads its key file on
SIGHUP and when the file changes (a Kubernetes Secret volume swaps it in place), keeps the old
keys when the new file does not load, and refuses to start on a key file other users can read."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import (WALLETD, Walletd, cluster_env, ensure_migrated, free_port, one_shot,
                     wait_until, walletctl)


def status(w, tenant_key):
    return one_shot(w.port, "GET", f"/api/v1/wallets/wal_{'0' * 36}", key=tenant_key).status


def without_tenant(path, tenant):
    with open(path) as f:
        lines = [line for line in f if f" {tenant} " not in line]
    return "".join(lines)


def replace_file(path, text):
    """Writes text to a new file and renames it over path (an atomic swap, as a Secret)."""
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


class KeyReloadTest(unittest.TestCase):
    def setUp(self):
        ensure_migrated()
        self.w = Walletd(workers=2).start()
        self.addCleanup(self.w.stop)
        self.a, self.b = self.w.keys["tenant-a"], self.w.keys["tenant-b"]

    def test_sighup_revokes_and_adds(self):
        self.assertEqual(status(self.w, self.a), 404)  # authenticated: no such wallet
        text = without_tenant(self.w.keys_file, "tenant-a")
        with open(self.w.keys_file, "w") as f:  # rewritten in place, same inode
            f.write(text)
        c = walletctl("apikey", "create", "--tenant", "tenant-c", "--file",
                      self.w.keys_file).stdout.strip()
        self.w.proc.send_signal(signal.SIGHUP)
        # every worker (the kernel picks one per connection) stops taking the key
        wait_until(lambda: all(status(self.w, self.a) == 401 for _ in range(8)), 5,
                   message="tenant-a's key revoked")
        self.assertTrue(all(status(self.w, self.b) == 404 for _ in range(8)))
        self.assertTrue(all(status(self.w, c) == 404 for _ in range(8)))

    def test_file_swap_is_noticed_without_a_signal(self):
        replace_file(self.w.keys_file, without_tenant(self.w.keys_file, "tenant-b"))
        wait_until(lambda: all(status(self.w, self.b) == 401 for _ in range(8)), 6,
                   message="tenant-b's key revoked after the file was swapped")
        self.assertEqual(status(self.w, self.a), 404)

    def test_a_broken_file_keeps_the_old_keys(self):
        replace_file(self.w.keys_file, "this is not a key line\n")
        self.w.proc.send_signal(signal.SIGHUP)
        time.sleep(2.5)
        self.assertTrue(all(status(self.w, self.a) == 404 for _ in range(8)))
        self.assertTrue(any("API keys not reloaded" in line.get("msg", "")
                            for line in self.w.log_lines()))


class KeyFileModeTest(unittest.TestCase):
    def test_readable_by_others_is_refused(self):
        d = tempfile.mkdtemp(prefix="walletd-keys-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "api_keys")
        walletctl("apikey", "create", "--tenant", "t", "--file", path)
        env = dict(os.environ)
        env.update(cluster_env())
        env.update({"PORT": str(free_port()), "HOST": "127.0.0.1", "WORKERS": "1",
                    "API_KEYS_FILE": path})
        other_group = next(g for g in (1, 2, 3, 65534) if g != os.getegid())
        for mode, group in ((0o644, None), (0o604, None), (0o620, None), (0o640, other_group)):
            with self.subTest(mode=oct(mode), group=group):
                os.chmod(path, mode)
                if group is not None:
                    os.chown(path, -1, group)
                res = subprocess.run([WALLETD], env=env, capture_output=True, text=True,
                                     timeout=10)
                self.assertNotEqual(res.returncode, 0, res.stderr)
                self.assertIn("API_KEYS_FILE", res.stderr)
                self.assertIn("chmod 600", res.stderr)
                os.chown(path, -1, os.getegid())
        os.chmod(path, 0o640)  # readable by walletd's own group (a Secret with fsGroup): fine
        w = subprocess.Popen([WALLETD], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: w.poll() is not None or _live(env["PORT"]), 10,
                       message="walletd up")
            self.assertIsNone(w.poll(), w.stderr.read() if w.poll() is not None else "")
        finally:
            w.terminate()
            w.wait(30)
            w.stderr.close()


def _live(port):
    try:
        return one_shot(int(port), "GET", "/health/live").status == 200
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
