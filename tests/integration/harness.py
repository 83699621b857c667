"""Shared harness for walletd's integration tests (Python standard library only).

Everything here talks to real parts: the local cluster started by `scripts/cluster up`
(MariaDB primaries with GTID replicas, Redis), a real `walletd` process started per test class,
and plain HTTP over loopback.

Environment (set by ctest, see tests/CMakeLists.txt):
  WALLETD_BIN, WALLETCTL_BIN   the binaries under test
  WALLETD_REPO                 the repository root (for scripts/cluster and migrations/)
  CLUSTER_DIR, CLUSTER_PORT_BASE, CLUSTER_REDIS_PORT   optional: a non-default cluster
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

REPO = os.environ.get("WALLETD_REPO") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
WALLETD = os.environ.get("WALLETD_BIN") or os.path.join(REPO, "build", "walletd")
WALLETCTL = os.environ.get("WALLETCTL_BIN") or os.path.join(REPO, "build", "walletctl")
CLUSTER = os.path.join(REPO, "scripts", "cluster")

TENANTS = ("tenant-a", "tenant-b")


def cluster(*args, check=True, input=None):
    """Runs scripts/cluster with args; returns stdout."""
    res = subprocess.run([CLUSTER, *args], capture_output=True, text=True, input=input,
                         timeout=300)
    if check and res.returncode != 0:
        raise RuntimeError(f"scripts/cluster {' '.join(args)} failed: {res.stderr}")
    return res.stdout


def cluster_env():
    """The variables `scripts/cluster env` exports, as a dict."""
    env = {}
    for line in cluster("env").splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            env[name] = value.strip("'\"")
    return env


def sql(node, query):
    """Runs query as admin on a cluster node (database walletd); returns rows as lists."""
    out = cluster("sql", node, "-N", "-B", "-e", query)
    return [line.split("\t") for line in out.splitlines() if line]


def sql_value(node, query):
    rows = sql(node, query)
    return rows[0][0] if rows else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def walletctl(*args, env=None, check=True):
    full = dict(os.environ)
    full.update(cluster_env())
    full.update(env or {})
    res = subprocess.run([WALLETCTL, *args], capture_output=True, text=True, env=full,
                         timeout=300)
    if check and res.returncode != 0:
        raise RuntimeError(f"walletctl {' '.join(args)} failed: {res.stdout} {res.stderr}")
    return res


_migrated = False


def ensure_migrated():
    global _migrated
    if not _migrated:
        walletctl("migrate", "--dir", os.path.join(REPO, "migrations"))
        _migrated = True


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    @property
    def data(self):
        return self.json.get("data") if isinstance(self.json, dict) else None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class Client:
    """A keep-alive HTTP/1.1 client for one walletd, bound to one API key."""

    def __init__(self, port, key=None, timeout=30):
        self.port = port
        self.key = key
        self.timeout = timeout
        self.conn = None

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, raw_body=None, key=True):
        hdrs = {}
        if key and self.key:
            hdrs["Authorization"] = f"Bearer {self.key}"
        if body is not None:
            raw_body = json.dumps(body).encode()
        if raw_body is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, path, body=raw_body, headers=hdrs)
                resp = conn.getresponse()
                raw = resp.read().decode("utf-8", "replace")
                return Response(resp.status, resp.getheaders(), raw)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # the server closed an idle keep-alive connection: retry once
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, key_header=None, **kw):
        headers = dict(kw.pop("headers", None) or {})
        if key_header is not None:
            headers["Idempotency-Key"] = key_header
        return self.request("POST", path, body=body, headers=headers, **kw)

    # -- convenience for the money API ---------------------------------------------------
    def create_wallet(self, account, currency="USD"):
        r = self.post("/api/v1/wallets", {"accountId": account, "currency": currency})
        assert r.status == 201, r
        return r.data["id"]

    def credit(self, wallet, amount, key=None, ref="ref"):
        return self.post("/api/v1/transactions/credit",
                         {"walletId": wallet, "amount": amount, "referenceId": ref},
                         key_header=key or unique_key())

    def authorize(self, wallet, amount, key=None, ref="ref", **extra):
        body = {"walletId": wallet, "amount": amount, "referenceId": ref}
        body.update(extra)
        return self.post("/api/v1/transactions/authorize", body, key_header=key or unique_key())

    def capture(self, txn, amount=None, key=None):
        body = {"transactionId": txn}
        if amount is not None:
            body["amount"] = amount
        return self.post("/api/v1/transactions/debit", body, key_header=key or unique_key())

    def debit(self, wallet, amount, key=None, ref="ref"):
        return self.post("/api/v1/transactions/debit",
                         {"walletId": wallet, "amount": amount, "referenceId": ref},
                         key_header=key or unique_key())

    def void(self, txn, key=None):
        return self.post("/api/v1/transactions/void", {"transactionId": txn},
                         key_header=key or unique_key())

    def wallet(self, wallet):
        r = self.get(f"/api/v1/wallets/{wallet}", headers={"X-Consistency": "strong"})
        assert r.status == 200, r
        return r.data


_key_counter = [0]
_key_lock = threading.Lock()


def unique_key(prefix="k"):
    with _key_lock:
        _key_counter[0] += 1
        return f"{prefix}-{os.getpid()}-{time.time_ns()}-{_key_counter[0]}"


def unique_account(prefix="acct"):
    return unique_key(prefix).replace("k-", "")[:64]


class Walletd:
    """A walletd process on a free port, with its own API key file and log file."""

    def __init__(self, workers=2, env=None, tenants=TENANTS):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="walletd-test-")
        self.keys_file = os.path.join(self.dir, "api_keys")
        self.log_path = os.path.join(self.dir, "walletd.log")
        self.keys = {}
        for tenant in tenants:
            res = walletctl("apikey", "create", "--tenant", tenant, "--file", self.keys_file)
            self.keys[tenant] = res.stdout.strip()
        self.env = dict(os.environ)
        self.env.update(cluster_env())
        self.env.update({
            "PORT": str(self.port), "HOST": "127.0.0.1", "WORKERS": str(workers),
            "API_KEYS_FILE": self.keys_file, "DRAIN_DELAY_SECONDS": "1",
            "SHUTDOWN_TIMEOUT_SECONDS": "10", "LOG_LEVEL": "info",
        })
        self.env.update(env or {})
        self.proc = None

    def start(self, wait_ready=True):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([WALLETD], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if wait_ready:
            self.wait_ready()
        return self

    def client(self, tenant=TENANTS[0]):
        return Client(self.port, self.keys.get(tenant))

    def ready_status(self):
        try:
            c = Client(self.port, timeout=5)
            r = c.get("/health/ready", key=False)
            c.close()
            return r
        except OSError:
            return None

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"walletd exited with {self.proc.returncode}: {self.tail()}")
            r = self.ready_status()
            if r is not None and r.status == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"walletd not ready after {timeout}s: {self.tail()}")

    def worker_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return sorted(int(p) for p in out.split())

    def stop(self, timeout=60):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.log.close()

    def tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def log_lines(self):
        with open(self.log_path, "rb") as f:
            return [json.loads(line) for line in f.read().splitlines()
                    if line.startswith(b"{")]


class WalletdTestCase(unittest.TestCase):
    """One walletd for the whole class; self.api (tenant-a) and self.api_b (tenant-b)."""

    workers = 2
    env = None

    @classmethod
    def setUpClass(cls):
        ensure_migrated()
        cls.server = Walletd(workers=cls.workers, env=cls.env).start()
        cls.api = cls.server.client(TENANTS[0])
        cls.api_b = cls.server.client(TENANTS[1])

    @classmethod
    def tearDownClass(cls):
        cls.api.close()
        cls.api_b.close()
        rc = cls.server.stop()
        if rc != 0:
            raise AssertionError(f"walletd exited {rc}: {cls.server.tail()}")

    def funded_wallet(self, amount=10_000, currency="USD", api=None):
        api = api or self.api
        w = api.create_wallet(unique_account(), currency)
        if amount:
            r = api.credit(w, amount)
            self.assertEqual(r.status, 201, r)
        return w


def parallel(fn, args_list, threads=None):
    """Runs fn(*args) for every args in args_list concurrently; returns results in order."""
    results = [None] * len(args_list)
    barrier = threading.Barrier(len(args_list) if threads is None else threads)

    def run(i, args):
        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        results[i] = fn(*args)

    ts = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args_list)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return results
