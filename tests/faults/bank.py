"""The bank under faults: a steady load of money movements from clients that retry until they
know, and the checks that nothing acknowledged was lost, duplicated or created.

Like Jepsen's bank test, but every movement is accounted for one by one as well as in total.
Client threads send credits, authorizations, captures, voids and direct debits at a steady
offered rate to two walletd pods, on wallets of both shards. A request without a definitive
answer (a timeout, a connection error, a 5xx, 409 IDEMPOTENCY_KEY_IN_PROGRESS, 429) is sent again
with the same Idempotency-Key until one comes — to the other pod if this one does not answer, as
a load balancer would. Every attempt is logged. Afterwards (check()):

- every movement got a definitive answer;
- the ledger rows of the test's wallets are exactly those the acknowledged (2xx) movements
  imply, each once: a missing row is a lost movement, a row too many a duplicated (or unasked)
  one; the transactions are exactly the acknowledged creations, in the state the log implies;
- the bank total: sum of balances = credits - captures - direct debits; sum of held = the holds
  still pending;
- `walletctl verify` and `walletctl verify --replicas` are clean;
- and, for a fault of one shard, the other shard's movements sent during it needed no retry.
"""

import http.client
import json
import random
import threading
import time

from harness import account_on_shard, sql, sql_str, unique_key, walletctl

SHARDS = 2
NODES = {0: "shard0-primary", 1: "shard1-primary"}

# A definitive answer: the client knows what happened. Anything else is retried with the key.
RETRY_STATUSES = {429, 500, 502, 503, 504}
RETRY_CODES = {"IDEMPOTENCY_KEY_IN_PROGRESS"}


class Movement:
    """One client request, as many attempts as it takes."""

    def __init__(self, kind, shard, wallet, amount, hold=None):
        self.kind = kind          # credit | authorize | capture | void | debit
        self.shard = shard
        self.wallet = wallet
        self.amount = amount      # credit/authorize/debit amount; capture amount
        self.hold = hold          # capture/void: (txn id, held amount)
        self.key = unique_key(f"bank-{kind}")
        self.sent_at = None       # monotonic time of the first attempt
        self.attempts = []        # (monotonic time, what happened) per attempt
        self.status = None        # the definitive status, or None while unresolved
        self.data = None          # the definitive answer's data (2xx) or error code
        self.done_at = None

    @property
    def acked(self):
        return self.status is not None and 200 <= self.status < 300

    @property
    def retried(self):
        return len(self.attempts) > 1

    def request(self):
        if self.kind in ("credit", "authorize", "debit"):
            path = f"/api/v1/transactions/{self.kind}"
            body = {"walletId": self.wallet, "amount": self.amount,
                    "referenceId": f"bank-{self.kind}"}
        elif self.kind == "capture":
            path = "/api/v1/transactions/debit"
            body = {"transactionId": self.hold[0], "amount": self.amount}
        else:
            path = "/api/v1/transactions/void"
            body = {"transactionId": self.hold[0]}
        return path, json.dumps(body).encode()


class Pods:
    """Keep-alive connections of one client thread to each pod."""

    def __init__(self, ports, key, timeout):
        self.ports = ports
        self.key = key
        self.timeout = timeout
        self.conns = [None] * len(ports)

    def send(self, i, path, body, idem_key):
        if self.conns[i] is None:
            self.conns[i] = http.client.HTTPConnection("127.0.0.1", self.ports[i],
                                                       timeout=self.timeout)
        conn = self.conns[i]
        try:
            conn.request("POST", path, body=body, headers={
                "Authorization": f"Bearer {self.key}", "Content-Type": "application/json",
                "Idempotency-Key": idem_key})
            resp = conn.getresponse()
            raw = resp.read()
            if resp.getheader("Connection", "").lower() == "close":
                self.close(i)
            return resp.status, raw
        except (OSError, http.client.HTTPException):
            self.close(i)
            raise

    def close(self, i):
        if self.conns[i] is not None:
            self.conns[i].close()
            self.conns[i] = None

    def close_all(self):
        for i in range(len(self.conns)):
            self.close(i)


class Bank:
    """The load and its log. wallets: {shard: [wallet ids]}, funded by logged credits."""

    def __init__(self, ports, key, wallets_per_shard=12, threads=8, rate=120.0,
                 client_timeout=5.0, drain_s=90.0, seed=None):
        self.ports = ports
        self.key = key
        self.threads = threads
        self.rate = rate
        self.client_timeout = client_timeout
        self.drain_s = drain_s
        self.rng = random.Random(seed)
        self.movements = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.give_up_at = None
        self.wallets = {s: [] for s in range(SHARDS)}
        self.window = None  # (start, end) monotonic: while the fault was on
        pods = Pods(ports, key, client_timeout)
        for shard in range(SHARDS):
            for _ in range(wallets_per_shard):
                self.wallets[shard].append(self._create_wallet(pods, shard))
        for shard in range(SHARDS):  # funding is part of the log like any credit
            for w in self.wallets[shard]:
                m = Movement("credit", shard, w, 1_000_000)
                self._settle(pods, m, 0)
                assert m.acked, f"funding {w}: {m.status} {m.data}"
        pods.close_all()

    def _create_wallet(self, pods, shard):
        account = account_on_shard(shard, SHARDS, prefix="bank")
        body = json.dumps({"accountId": account, "currency": "USD"}).encode()
        status, raw = pods.send(0, "/api/v1/wallets", body, unique_key("bank-wallet"))
        assert status == 201, (status, raw)
        return json.loads(raw)["data"]["id"]

    # -- the clients ------------------------------------------------------------------------
    def _settle(self, pods, m, home):
        """Sends m until it has a definitive answer (or the drain deadline passes)."""
        with self.lock:
            self.movements.append(m)
        path, body = m.request()
        pod = home
        backoff = 0.05
        m.sent_at = time.monotonic()
        while True:
            now = time.monotonic()
            if self.give_up_at is not None and now > self.give_up_at:
                return
            try:
                status, raw = pods.send(pod, path, body, m.key)
            except (OSError, http.client.HTTPException) as e:
                m.attempts.append((now, f"pod {pod}: {type(e).__name__}"))
                pod = (pod + 1) % len(self.ports)  # the balancer moves on
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.5)
                continue
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = {}
            code = answer.get("code")
            m.attempts.append((now, f"pod {pod}: {status} {code}"))
            if status in RETRY_STATUSES or code in RETRY_CODES:
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.5)
                continue
            m.status = status
            m.data = answer.get("data") if 200 <= status < 300 else code
            m.done_at = time.monotonic()
            return

    def _client(self, n):
        rng = random.Random(self.rng.random())
        pods = Pods(self.ports, self.key, self.client_timeout)
        # Each client works on one shard's wallets (customers are), so a client stuck on a
        # shard that is down does not hold back the other shard's traffic.
        shard = n % SHARDS
        home = (n // SHARDS) % len(self.ports)
        holds = []  # this client's pending holds: (txn, amount, shard, wallet)
        interval = self.threads / self.rate
        next_at = time.monotonic() + rng.random() * interval
        while not self.stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at = max(next_at + interval, time.monotonic())
            roll = rng.random()
            if holds and roll < 0.30:
                txn, held, _, wallet = holds.pop(rng.randrange(len(holds)))
                if roll < 0.20:
                    m = Movement("capture", shard, wallet, rng.randint(1, held), (txn, held))
                else:
                    m = Movement("void", shard, wallet, 0, (txn, held))
            else:
                wallet = rng.choice(self.wallets[shard])
                kind = rng.choices(("credit", "authorize", "debit"), (3, 4, 2))[0]
                m = Movement(kind, shard, wallet, rng.randint(1, 500))
            self._settle(pods, m, home)
            if m.kind == "authorize" and m.acked:
                holds.append((m.data["id"], m.amount, m.shard, m.wallet))
        pods.close_all()

    def run(self, fault, before_s=3.0, after_s=5.0):
        """Load for before_s, fault.begin(), fault.hold(), fault.end(), load for after_s, then
        stop sending new movements and let every one in flight settle."""
        threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                   for n in range(self.threads)]
        for t in threads:
            t.start()
        try:
            time.sleep(before_s)
            start = time.monotonic()
            fault.begin()
            fault.hold()
        finally:
            fault.end()
        self.window = (start, time.monotonic())
        time.sleep(after_s)
        self.stop.set()
        self.give_up_at = time.monotonic() + self.drain_s
        for t in threads:
            t.join(self.drain_s + 30)
        self.ended_at = time.monotonic()

    # -- the checks ---------------------------------------------------------------------------
    def expected_rows(self):
        """(txn, entry type, amount, held change) -> how many times the acknowledged movements
        say the ledger holds it."""
        rows = {}
        for m in self.movements:
            if not m.acked:
                continue
            if m.kind == "credit":
                row = (m.data["id"], "CREDIT", m.amount, 0)
            elif m.kind == "authorize":
                row = (m.data["id"], "HOLD", 0, m.amount)
            elif m.kind == "debit":
                row = (m.data["id"], "DEBIT", -m.amount, 0)
            elif m.kind == "capture":
                row = (m.hold[0], "CAPTURE", -m.amount, -m.hold[1])
            else:
                row = (m.hold[0], "RELEASE", 0, -m.hold[1])
            rows[row] = rows.get(row, 0) + 1
        return rows

    def ledger_rows(self):
        rows = {}
        for shard in range(SHARDS):
            ids = ", ".join(sql_str(w) for w in self.wallets[shard])
            for txn, kind, amount, held in sql(
                    NODES[shard], "SELECT transaction_id, entry_type, amount, held_delta FROM "
                    f"ledger WHERE wallet_id IN ({ids})"):
                row = (txn, kind, int(amount), int(held))
                rows[row] = rows.get(row, 0) + 1
        return rows

    def totals(self):
        """Sum of balances and of held over the test's wallets, on the primaries."""
        balance = held = 0
        for shard in range(SHARDS):
            ids = ", ".join(sql_str(w) for w in self.wallets[shard])
            (b, h), = sql(NODES[shard], "SELECT COALESCE(SUM(balance), 0), COALESCE(SUM(held), "
                                        f"0) FROM wallets WHERE id IN ({ids})")
            balance += int(b)
            held += int(h)
        return balance, held

    def transactions(self):
        out = {}
        for shard in range(SHARDS):
            ids = ", ".join(sql_str(w) for w in self.wallets[shard])
            for txn, kind, status, amount, captured in sql(
                    NODES[shard], "SELECT id, type, status, amount, COALESCE(captured_amount, "
                    f"-1) FROM transactions WHERE wallet_id IN ({ids})"):
                out[txn] = (kind, status, int(amount), int(captured))
        return out

    def expected_transactions(self):
        out = {}
        kinds = {"credit": "CREDIT", "authorize": "AUTHORIZATION", "debit": "DEBIT"}
        for m in self.movements:
            if m.acked and m.kind in kinds:
                status = "PENDING" if m.kind == "authorize" else "COMPLETED"
                out[m.data["id"]] = (kinds[m.kind], status, m.amount, -1)
        for m in self.movements:
            if m.acked and m.kind == "capture":
                out[m.hold[0]] = ("AUTHORIZATION", "COMPLETED", m.hold[1], m.amount)
            elif m.acked and m.kind == "void":
                out[m.hold[0]] = ("AUTHORIZATION", "VOIDED", m.hold[1], -1)
        return out

    def result(self, other_shard=None):
        """Everything check() asserts, as numbers: a row of docs/RELIABILITY.md's table."""
        want, have = self.expected_rows(), self.ledger_rows()
        lost = sum(n - have.get(row, 0) for row, n in want.items() if n > have.get(row, 0))
        extra = sum(n - want.get(row, 0) for row, n in have.items() if n > want.get(row, 0))
        credits = sum(m.amount for m in self.movements if m.acked and m.kind == "credit")
        spent = sum(m.amount for m in self.movements
                    if m.acked and m.kind in ("capture", "debit"))
        settled = {m.hold[0] for m in self.movements if m.acked and m.kind in ("capture", "void")}
        pending = sum(m.amount for m in self.movements
                      if m.acked and m.kind == "authorize" and m.data["id"] not in settled)
        balance, held = self.totals()
        txns_want, txns_have = self.expected_transactions(), self.transactions()
        start, end = self.window
        during = [m for m in self.movements if m.sent_at is not None and start <= m.sent_at <= end]
        other = [m for m in during if m.shard == other_shard] if other_shard is not None else []
        return {
            "sent": len(self.movements),
            "acknowledged": sum(m.acked for m in self.movements),
            "refused": sum(m.status is not None and not m.acked for m in self.movements),
            "unresolved": sum(m.status is None for m in self.movements),
            "retried": sum(m.retried for m in self.movements),
            "attempts": sum(len(m.attempts) for m in self.movements),
            "lost": lost,
            "duplicated": extra,
            "bank": {"balance": balance, "expected_balance": credits - spent, "held": held,
                     "expected_held": pending},
            "transactions_differ": sorted(
                t for t in set(txns_want) | set(txns_have)
                if txns_want.get(t) != txns_have.get(t))[:5],
            "during": len(during),
            "other_shard_during": len(other),
            "other_shard_retried": sum(m.retried or not m.acked for m in other),
            "interruptions": interruptions(self.movements),
            "longest_s": round(max((m.done_at - m.sent_at for m in self.movements
                                    if m.done_at), default=0), 2),
        }

    def first_problems(self, n=5):
        """A few movements that needed retries, with their attempts, for a failure message."""
        out = []
        for m in self.movements:
            if m.retried or m.status is None:
                out.append(f"{m.kind} {m.key} on shard {m.shard}: "
                           f"{[a for _, a in m.attempts][:6]} -> {m.status} {m.data!r:.80}")
            if len(out) >= n:
                break
        return out


def interruptions(movements):
    """What the attempts that got no definitive answer met, counted: "503 OUTCOME_UNKNOWN",
    "ConnectionRefusedError", "TimeoutError", ..."""
    out = {}
    for m in movements:
        for _, what in m.attempts[:-1] if m.status is not None else m.attempts:
            what = what.split(": ", 1)[1]
            out[what] = out.get(what, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def verify_all(test):
    """walletctl verify and verify --replicas, clean."""
    res = walletctl("verify", "--replicas", check=False)
    test.assertEqual(res.returncode, 0, res.stdout + res.stderr)
    return res.stdout.strip().splitlines()[-1]
