"""Configuration: a bad environment stops walletd at once with a message (on stderr) that names
the variable; a valid configuration whose dependency is down still starts and says so on
/health/ready (a shard primary never reached keeps it unready; Redis down does not).

Fast: nothing here needs the schema; the cluster is only read through `scripts/cluster env`
(and shard 0 / Redis are expected to answer in the last test).
"""

import http.client
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import (WALLETD, Walletd, cluster_env, free_port, one_shot, wait_until,
                     walletctl)

EXIT_WITHIN = 2.0

# README "Configuration" (DATABASE_SHARD_<n>_* are matched by prefix)
CONFIG_VARS = {
    "PORT", "HOST", "WORKERS", "HTTP_THREADS", "SHARD_COUNT", "SHARD_MAP", "DB_POOL_SIZE",
    "DB_READ_POOL_SIZE", "DB_CONNECT_TIMEOUT_SECONDS", "DB_QUERY_TIMEOUT_SECONDS", "BATCH_MAX",
    "BATCH_WINDOW_US", "MAX_REPLICA_LAG_SECONDS", "REDIS_URL", "API_KEYS_FILE", "LOG_LEVEL",
    "ACCESS_LOG", "DRAIN_DELAY_SECONDS", "SHUTDOWN_TIMEOUT_SECONDS", "KEEPALIVE_TIMEOUT_SECONDS",
    "MAX_BODY_BYTES", "IDEMPOTENCY_RETENTION_HOURS", "HOLD_DEFAULT_EXPIRY_SECONDS",
    "HOLD_MAX_EXPIRY_SECONDS", "SWEEPER_INTERVAL_MS", "HEALTH_INTERVAL_MS", "AUTH_FAILURES_PER_SECOND",
    "LOG_BUFFER_BYTES", "MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_IP", "REQUEST_TIMEOUT_SECONDS",
    "CURSOR_KEY_FILE", "ADMIN_PORT",
}


class ConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="walletd-config-")
        cls.keys_file = os.path.join(cls.dir, "api_keys")
        walletctl("apikey", "create", "--tenant", "tenant-a", "--file", cls.keys_file)
        cls.cluster = cluster_env()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def base_env(self):
        """A complete, valid configuration; none of walletd's variables is inherited."""
        env = {k: v for k, v in os.environ.items()
               if k not in CONFIG_VARS and not k.startswith("DATABASE_SHARD_")}
        env.update(self.cluster)
        env.update({
            "PORT": str(free_port()), "HOST": "127.0.0.1", "WORKERS": "1",
            "API_KEYS_FILE": self.keys_file, "LOG_LEVEL": "info",
            "DRAIN_DELAY_SECONDS": "0", "SHUTDOWN_TIMEOUT_SECONDS": "5",
        })
        return env

    def assert_refused(self, variable, set_=None, unset=(), contains=None):
        """Starts walletd with base_env() changed by set_/unset; it must exit non-zero within
        EXIT_WITHIN seconds with a stderr message naming variable."""
        env = self.base_env()
        for name in unset:
            env.pop(name, None)
        env.update(set_ or {})
        t = time.monotonic()
        proc = subprocess.Popen([WALLETD], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=EXIT_WITHIN + 3)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.fail(f"walletd kept running with a bad {variable}: {err} {out[-500:]}")
        elapsed = time.monotonic() - t
        self.assertNotEqual(proc.returncode, 0, f"{variable}: {err} {out}")
        self.assertLess(elapsed, EXIT_WITHIN, f"{variable}: took {elapsed:.2f}s to refuse")
        self.assertIn(variable, err, f"stderr must name {variable}: {err!r}")
        if contains:
            self.assertIn(contains, err)
        return err

    # -- shards -------------------------------------------------------------------------------
    def test_missing_shard_count(self):
        self.assert_refused("SHARD_COUNT", unset=["SHARD_COUNT"])

    def test_shard_count_not_a_number(self):
        self.assert_refused("SHARD_COUNT", set_={"SHARD_COUNT": "abc"})

    def test_shard_count_out_of_range(self):
        self.assert_refused("SHARD_COUNT", set_={"SHARD_COUNT": "0"})
        self.assert_refused("SHARD_COUNT", set_={"SHARD_COUNT": "65"})

    def test_missing_url_of_a_counted_shard(self):
        self.assert_refused("DATABASE_SHARD_1_URL", set_={"SHARD_COUNT": "2"},
                            unset=["DATABASE_SHARD_1_URL"])

    def test_shard_url_bad_scheme(self):
        self.assert_refused("DATABASE_SHARD_0_URL", set_={
            "DATABASE_SHARD_0_URL": "postgres://walletd:walletd@127.0.0.1:3306/walletd"})

    def test_shard_url_bad_port(self):
        for port in ("99999", "abc", "0", ""):
            self.assert_refused("DATABASE_SHARD_0_URL", set_={
                "DATABASE_SHARD_0_URL": f"mysql://walletd:walletd@127.0.0.1:{port}/walletd"})

    def test_shard_url_without_database(self):
        self.assert_refused("DATABASE_SHARD_0_URL", set_={
            "DATABASE_SHARD_0_URL": "mysql://walletd:walletd@127.0.0.1:3306"})

    def test_replica_url_malformed(self):
        self.assert_refused("DATABASE_SHARD_0_REPLICA_URLS", set_={
            "DATABASE_SHARD_0_REPLICA_URLS": "mysql://walletd:walletd@127.0.0.1:3306/walletd,"
                                             "redis://127.0.0.1:1/walletd"})

    def test_shard_map_with_a_gap(self):
        self.assert_refused("SHARD_MAP", set_={"SHARD_COUNT": "2",
                                               "SHARD_MAP": "0-8000=0,8192-16383=1"})

    def test_shard_map_naming_a_shard_that_does_not_exist(self):
        self.assert_refused("SHARD_MAP", set_={"SHARD_COUNT": "2",
                                               "SHARD_MAP": "0-8191=0,8192-16383=2"})

    # -- redis --------------------------------------------------------------------------------
    def test_missing_redis_url(self):
        self.assert_refused("REDIS_URL", unset=["REDIS_URL"])

    def test_redis_url_bad_scheme(self):
        self.assert_refused("REDIS_URL", set_={"REDIS_URL": "http://127.0.0.1:6379/0"})

    # -- API keys -----------------------------------------------------------------------------
    def test_missing_api_keys_file(self):
        self.assert_refused("API_KEYS_FILE", unset=["API_KEYS_FILE"])

    def test_api_keys_file_does_not_exist(self):
        self.assert_refused("API_KEYS_FILE",
                            set_={"API_KEYS_FILE": os.path.join(self.dir, "no-such-file")})

    def test_api_keys_file_malformed_line(self):
        bad = os.path.join(self.dir, "bad_keys")
        with open(self.keys_file) as src, open(bad, "w") as dst:
            dst.write(src.read())
            dst.write("this is not a key line\n")
        os.chmod(bad, 0o600)  # a key file others can read is refused before it is read
        self.assert_refused("API_KEYS_FILE", set_={"API_KEYS_FILE": bad}, contains="line 2")

    # -- server -------------------------------------------------------------------------------
    def test_workers_zero(self):
        self.assert_refused("WORKERS", set_={"WORKERS": "0"})

    def test_port_out_of_range(self):
        self.assert_refused("PORT", set_={"PORT": "70000"})

    def test_host_not_an_address(self):
        self.assert_refused("HOST", set_={"HOST": "not-an-address"})

    def test_log_level_unknown(self):
        self.assert_refused("LOG_LEVEL", set_={"LOG_LEVEL": "loud"})

    def test_other_numbers_are_range_checked(self):
        for name, value in (("DB_POOL_SIZE", "0"), ("HEALTH_INTERVAL_MS", "1"),
                            ("DRAIN_DELAY_SECONDS", "-1"), ("MAX_BODY_BYTES", "10"),
                            ("IDEMPOTENCY_RETENTION_HOURS", "1"), ("ACCESS_LOG", "maybe")):
            with self.subTest(name=name):
                self.assert_refused(name, set_={name: value})

    # -- a dependency down is not a configuration error ---------------------------------------
    def start_valid(self, changes):
        """Starts a walletd (a harness.Walletd, so stopping it also checks its log for sanitizer
        reports) with base_env() plus changes, stopped at cleanup; returns (get(path),
        stop_checked())."""
        server = Walletd(workers=1, tenants=("tenant-a",))
        env = self.base_env()  # exactly this configuration: nothing of walletd's is inherited
        env.update({"PORT": str(server.port), "API_KEYS_FILE": server.keys_file})
        env.update(changes)
        server.env = env
        server.start(wait_ready=False)
        self.addCleanup(server.stop)

        def get(path):
            if server.proc.poll() is not None:
                self.fail(f"walletd exited with {server.proc.returncode}: {server.tail()}")
            try:
                return one_shot(server.port, "GET", path, timeout=3)
            except (OSError, http.client.HTTPException):
                return None

        def stop_checked():
            self.assertEqual(server.stop(), 0, server.tail())
        return get, stop_checked

    def assert_up_but_not_ready(self, get, check, message_prefix):
        r = wait_until(lambda: (r := get("/health/live")) is not None and r.status == 200 and r,
                       10, message="live 200 with a dependency down")
        self.assertEqual(r.data, {"status": "live"})

        def reported_down():
            r = get("/health/ready")
            return r if r is not None and r.json and \
                r.json.get("checks", {}).get(check) == "down" else None
        r = wait_until(reported_down, 5, message=f"ready reports {check} down")
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.code, "NOT_READY", r)
        self.assertTrue(r.json["message"].startswith(message_prefix), r)
        for other in ("shard0", "shard1", "redis"):
            if other != check:
                self.assertEqual(r.json["checks"][other], "ok", r)
        return r

    def test_unreachable_shard_still_starts_and_is_not_ready(self):
        dead_port = free_port()  # nothing listens there
        get, stop = self.start_valid({
            "SHARD_COUNT": "2",
            "DATABASE_SHARD_1_URL": f"mysql://walletd:walletd@127.0.0.1:{dead_port}/walletd",
            "DATABASE_SHARD_1_REPLICA_URLS": "",
            "HEALTH_INTERVAL_MS": "200",
        })
        self.assert_up_but_not_ready(get, "shard1", "shard 1 primary")
        stop()  # and it stops cleanly

    def test_unreachable_redis_still_starts_and_is_ready(self):
        # Redis carries no money: without it the rate limit is off, and the pod takes traffic
        get, stop = self.start_valid({
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "HEALTH_INTERVAL_MS": "200",
        })

        def ready_with_redis_down():
            r = get("/health/ready")
            return r if r is not None and r.status == 200 and \
                r.data["checks"]["redis"] == "down" else None
        r = wait_until(ready_with_redis_down, 10, message="ready 200 reporting redis down")
        for shard in ("shard0", "shard1"):
            self.assertEqual(r.data["checks"][shard], "ok", r)
        metrics = get("/metrics")
        self.assertIn("wallet_redis_up 0\n", metrics.raw, metrics)
        stop()

if __name__ == "__main__":
    unittest.main()
