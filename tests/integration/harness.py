"""Shared harness for walletd's integration tests (Python standard library, and PyYAML and
jsonschema for the response check of spec.py).

Everything here talks to real parts: the local cluster started by `scripts/cluster up`
(MariaDB primaries with GTID replicas, Redis), a real `walletd` process started per test class,
and plain HTTP over loopback. Every response that Client and one_shot receive is checked against
api/openapi.yaml (spec.py): a status, code, header or body the spec does not document fails the
test that received it.

Environment (set by ctest, see tests/CMakeLists.txt):
  WALLETD_BIN, WALLETCTL_BIN   the binaries under test
  WALLETD_REPO                 the repository root (for scripts/cluster and migrations/)
  CLUSTER_DIR, CLUSTER_PORT_BASE, CLUSTER_REDIS_PORT   optional: a non-default cluster
"""

import datetime
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

import spec

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


def start_node(node):
    """`cluster start NODE`: starts a stopped node and waits until it answers. A node that is
    already running is left alone (exit 0), so this also serves as a cleanup after a stop."""
    cluster("start", node)


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
    """A keep-alive HTTP/1.1 client for one walletd, bound to one API key.

    Most tests check what their own writes did, so by default this client's GETs read strong
    (X-Consistency: strong, the shard primary); a test that sends its own X-Consistency or
    X-Consistency-Token header, or sets consistency=None, gets what it asks for. Replica reads,
    tokens and staleness are tested in test_reads.py."""

    def __init__(self, port, key=None, timeout=30, consistency="strong"):
        self.port = port
        self.key = key
        self.timeout = timeout
        self.consistency = consistency
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
        if method in ("GET", "HEAD") and self.consistency and not any(
                h.lower() in ("x-consistency", "x-consistency-token") for h in (headers or {})):
            hdrs["X-Consistency"] = self.consistency
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, path, body=raw_body, headers=hdrs)
                resp = conn.getresponse()
                raw = resp.read().decode("utf-8", "replace")
                spec.check_response(method, path, resp.status, resp.getheaders(), raw)
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
    """A walletd process on a free port, with its own API key file and log file; binary is the
    program to run (default WALLETD_BIN)."""

    def __init__(self, workers=2, env=None, tenants=TENANTS, binary=None):
        self.binary = binary or WALLETD
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
            # every test client is the one source 127.0.0.1, and suites send bad keys on
            # purpose by the hundred; test_edge checks the default budget on its own
            "AUTH_FAILURES_PER_SECOND": "100000",
        })
        self.env.update(env or {})
        # with ADMIN_PORT the probes and /metrics are answered there only
        self.probe_port = int(self.env["ADMIN_PORT"]) if self.env.get("ADMIN_PORT") else self.port
        self.proc = None

    def start(self, wait_ready=True):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if wait_ready:
            self.wait_ready()
        return self

    def client(self, tenant=TENANTS[0]):
        return Client(self.port, self.keys.get(tenant))

    def ready_status(self):
        try:
            c = Client(self.probe_port, timeout=5)
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

    def metric(self, name, **labels):
        """The sum of the samples of one metric (those whose labels include labels), read from
        a fresh GET /metrics; AssertionError unless that answers 200."""
        r = one_shot(self.probe_port, "GET", "/metrics")
        if r.status != 200:
            raise AssertionError(f"GET /metrics: {r!r}")
        return metric_sum(parse_metrics(r.raw), name, **labels)

    def worker_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return sorted(int(p) for p in out.split())

    SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error:")

    def stop(self, timeout=60):
        """SIGTERM; returns the exit code. Fails if a sanitizer reported anything meanwhile:
        a worker that ASan or UBSan aborts is restarted by the master, so the exit code alone
        would hide it."""
        if self.proc is None or self.proc.poll() is not None:
            self.close_log()
            self.check_sanitizers()
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.close_log()
            self.check_sanitizers()

    def close_log(self):
        log = getattr(self, "log", None)
        if log is not None and not log.closed:
            log.close()

    def check_sanitizers(self):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read()
        except OSError:
            return
        for mark in self.SANITIZER_MARKS:
            if mark in text:
                at = text.index(mark)
                raise AssertionError("sanitizer report in walletd's output:\n" +
                                     text[max(0, at - 200):at + 3000].decode("utf-8", "replace"))

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
    """One walletd for the whole class, with API keys for the tenants; self.api (the first
    tenant, tenant-a by default) and self.api_b (the second, tenant-b)."""

    workers = 2
    env = None
    tenants = TENANTS

    @classmethod
    def setUpClass(cls):
        ensure_migrated()
        cls.server = cls.new_server().start()
        cls.api = cls.server.client(cls.tenants[0])
        cls.api_b = cls.server.client(cls.tenants[1])

    @classmethod
    def new_server(cls):
        """The walletd the class runs, not started yet (a subclass may run another kind)."""
        return Walletd(workers=cls.workers, env=cls.env, tenants=cls.tenants)

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

    def connected_clients(self, n, tenant=None):
        """n clients of this class's walletd (the first tenant's key unless tenant is given),
        each already connected (one /health/live answered 200), so that requests sent together
        really leave together. They are closed at the test's cleanup (closing earlier is fine)."""
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        for _ in range(n):
            c = self.server.client(tenant or self.tenants[0])
            clients.append(c)
            self.assertEqual(c.get("/health/live", key=False).status, 200)
        return clients


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


# -- helpers for process-model and configuration tests (additive) ---------------------------

def parse_ts(text):
    """An API or log timestamp ("2026-11-23T13:28:02.123Z", always UTC) as an aware datetime
    (use .timestamp() for seconds since the epoch)."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def wait_until(predicate, timeout, interval=0.05, message="condition"):
    """Polls predicate() until it returns something truthy (returned); AssertionError after
    timeout seconds, with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message}: not reached within {timeout}s (last: {last!r})")
        time.sleep(interval)


def account_on_shard(shard, shard_count, prefix="acct"):
    """A fresh account ID that the default shard map puts on shard (account_bucket and
    bucket_shard are defined further down)."""
    while True:
        account = unique_account(prefix)
        if bucket_shard(account_bucket(account), shard_count) == shard:
            return account


def one_shot(port, method, path, key=None, body=None, headers=None, timeout=10,
             consistency="strong"):
    """One request on a fresh connection (closed afterwards), so the kernel picks a worker
    anew for each call; GETs read strong unless told otherwise (see Client). Raises
    OSError/http.client errors on connection failures."""
    hdrs = {}
    if key:
        hdrs["Authorization"] = f"Bearer {key}"
    if method in ("GET", "HEAD") and consistency and path.startswith("/api/"):
        hdrs["X-Consistency"] = consistency
    raw = None
    if body is not None:
        raw = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=raw, headers=hdrs)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        spec.check_response(method, path, resp.status, resp.getheaders(), text)
        return Response(resp.status, resp.getheaders(), text)
    finally:
        conn.close()


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels.items())): float}."""
    import re
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$', line)
        if not m:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def metric_sum(samples, name, **labels):
    """Sum of the samples of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


# -- helpers for the money, idempotency, routing and bad-input suites ----------------------------
# (additions only; account_bucket and bucket_shard are also used by account_on_shard above)

SHARD_BUCKETS = 16384
PRIMARIES = ("shard0-primary", "shard1-primary")
REPLICAS = ("shard0-replica", "shard1-replica")
ERROR_KEYS = {"status", "code", "message"}


def account_bucket(account):
    """The account's bucket, exactly as walletd computes it (BLAKE2b-128, first 8 bytes LE)."""
    import hashlib
    digest = hashlib.blake2b(account.encode(), digest_size=16).digest()
    return int.from_bytes(digest[:8], "little") % SHARD_BUCKETS


def bucket_shard(bucket, shard_count=2):
    """The shard of a bucket under the default even split (no SHARD_MAP)."""
    return bucket * shard_count // SHARD_BUCKETS


def id_bucket(resource_id):
    """The bucket embedded in a wal_/txn_ ID (the 4 hex digits after the prefix)."""
    return int(resource_id[4:8], 16)


def sql_str(value):
    """A SQL string literal (the values the tests use are printable ASCII)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def sql_int(node, query):
    value = sql_value(node, query)
    return None if value is None or value == "NULL" else int(value)


def find_primary(table, row_id):
    """The primary node holding the row with this id in table (tries both), or None."""
    for node in PRIMARIES:
        if sql_int(node, f"SELECT COUNT(*) FROM {table} WHERE id = {sql_str(row_id)}"):
            return node
    return None


def wallet_primary(wallet_id):
    return find_primary("wallets", wallet_id)


def ledger_rows(node, wallet_id):
    return sql_int(node, f"SELECT COUNT(*) FROM ledger WHERE wallet_id = {sql_str(wallet_id)}")


def wallet_row(node, wallet_id):
    """(balance, held) of a wallet straight from the database."""
    rows = sql(node, f"SELECT balance, held FROM wallets WHERE id = {sql_str(wallet_id)}")
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def wallet_invariants(node, wallet_id):
    """(balance, held, sum(ledger.amount), sum(ledger.held_delta), sum(pending holds))."""
    w = sql_str(wallet_id)
    row = sql(node, "SELECT w.balance, w.held, "
                    f"(SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE wallet_id = {w}), "
                    f"(SELECT COALESCE(SUM(held_delta), 0) FROM ledger WHERE wallet_id = {w}), "
                    f"(SELECT COALESCE(SUM(amount), 0) FROM transactions WHERE wallet_id = {w} "
                    " AND type = 'AUTHORIZATION' AND status = 'PENDING') "
                    f"FROM wallets w WHERE w.id = {w}")[0]
    return tuple(int(v) for v in row)


def tenant_row_counts(tenant):
    """Rows a tenant owns on every primary: wallets, transactions, ledger, idempotency keys."""
    t = sql_str(tenant)
    counts = {}
    for node in PRIMARIES:
        row = sql(node, f"SELECT (SELECT COUNT(*) FROM wallets WHERE tenant_id = {t}), "
                        f"(SELECT COUNT(*) FROM transactions WHERE tenant_id = {t}), "
                        "(SELECT COUNT(*) FROM ledger l JOIN wallets w ON w.id = l.wallet_id "
                        f" WHERE w.tenant_id = {t}), "
                        f"(SELECT COUNT(*) FROM idempotency_keys WHERE tenant_id = {t})")[0]
        for table, value in zip(("wallets", "transactions", "ledger", "idempotency_keys"), row):
            counts[(node, table)] = int(value)
    return counts


def unique_tenant(prefix="t"):
    """A tenant name no other run uses, so its rows can be counted apart from everyone else's."""
    return f"{prefix}-{os.getpid()}-{time.time_ns()}"[:64]


def random_wallet_id(bucket=0):
    """A well-formed wallet ID that no wallet has."""
    return f"wal_{bucket:04x}" + os.urandom(16).hex()


def random_txn_id(bucket=0):
    return f"txn_{bucket:04x}" + os.urandom(16).hex()


def assert_error(test, r, status, code):
    """r is exactly the error envelope {"status","code","message"} with this status and code."""
    test.assertEqual(r.status, status, r)
    test.assertIsInstance(r.json, dict, r)
    test.assertEqual(set(r.json), ERROR_KEYS, r)
    test.assertEqual(r.json["status"], status, r)
    test.assertEqual(r.json["code"], code, r)
    test.assertIsInstance(r.json["message"], str, r)
    test.assertTrue(r.json["message"], r)
