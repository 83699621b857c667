"""Input that must be refused cleanly (docs/API.md): the error envelope, a stable code,
and nothing written. Then random input and raw-socket garbage: never a 5xx, never a crash.

The "nothing written" snapshot counts the rows of a tenant that only this class uses (on both
primaries), so engineers sharing the cluster cannot disturb it."""

import base64
import contextlib
import http.client
import json
import os
import random
import socket
import unittest
import urllib.parse

from harness import (ERROR_KEYS, Walletd, WalletdTestCase, assert_error, tenant_row_counts,
                     unique_account, unique_key, unique_tenant)

CREDIT = "/api/v1/transactions/credit"
AUTHORIZE = "/api/v1/transactions/authorize"
DEBIT = "/api/v1/transactions/debit"
VOID = "/api/v1/transactions/void"
WALLETS = "/api/v1/wallets"
MAX_BODY = 16384


def complete_responses(data):
    """How many whole HTTP responses (headers and Content-Length body) data holds."""
    n = 0
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return n
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        if len(rest) < length:
            return n
        n += 1
        data = rest[length:]


class BadInputTest(WalletdTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tenant = unique_tenant("badinput")  # only this class's rows: see nothing_written
        cls.tenants = (cls.tenant, "tenant-b")
        super().setUpClass()
        # fixtures made before any snapshot: a funded wallet and a pending hold
        cls.account = unique_account("bad")
        cls.wallet = cls.api.create_wallet(cls.account)
        assert cls.api.credit(cls.wallet, 1000).status == 201
        r = cls.api.authorize(cls.wallet, 100)
        assert r.status == 201, r
        cls.hold = r.data["id"]
        cls.workers_at_start = cls.server.worker_pids()

    # -- helpers ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def nothing_written(self):
        before = tenant_row_counts(self.tenant)
        wallet = self.api.wallet(self.wallet)
        yield
        self.assertEqual(tenant_row_counts(self.tenant), before)
        self.assertEqual(self.api.wallet(self.wallet), wallet)

    def check(self, status, code, method, path, body=None, raw=None, headers=None, key=True,
              idem=True):
        """Sends one request and asserts the refusal; returns the response."""
        hdrs = {}
        if idem and method == "POST":
            hdrs["Idempotency-Key"] = unique_key("bad")
        hdrs.update(headers or {})
        if body is not None:
            raw = json.dumps(body).encode()
        r = self.api.request(method, path, raw_body=raw, headers=hdrs, key=key)
        assert_error(self, r, status, code)
        return r

    def assert_alive(self):
        self.assertIsNone(self.server.proc.poll(), "walletd exited")
        self.assertEqual(self.server.worker_pids(), self.workers_at_start,
                         "a worker process died and was restarted")
        r = self.server.ready_status()
        self.assertIsNotNone(r)
        self.assertEqual(r.status, 200, r)

    # -- bodies -------------------------------------------------------------------------------
    def test_malformed_and_non_object_json(self):
        w = self.wallet
        cases = [b'{"walletId":', b'{', b'}', b'', b' ', b'nope', b'{"a" 1}', b"{'a': 1}",
                 b'[1, 2]', b'"string"', b'42', b'null', b'true', b'[]',
                 b'{"walletId":"%s","amount":10,"referenceId":"r"} trailing' % w.encode(),
                 b'{"walletId":"%s","amount":10,"amount":10,"referenceId":"r"}' % w.encode(),
                 b'\xff\xfe{}', b'{"walletId":"\xff"}']
        with self.nothing_written():
            for raw in cases:
                for path in (CREDIT, AUTHORIZE, DEBIT, VOID, WALLETS):
                    with self.subTest(raw=raw, path=path):
                        self.check(400, "INVALID_JSON", "POST", path, raw=raw)

    def test_wrong_types_and_formats(self):
        w, t = self.wallet, self.hold
        credit = {"walletId": w, "amount": 10, "referenceId": "r"}
        cases = [
            (CREDIT, dict(credit, walletId=123), "VALIDATION_ERROR"),
            (CREDIT, dict(credit, walletId=[w]), "VALIDATION_ERROR"),
            (CREDIT, dict(credit, walletId="wal_123"), "VALIDATION_ERROR"),
            (CREDIT, dict(credit, walletId=t), "VALIDATION_ERROR"),  # a txn ID is no wallet ID
            (CREDIT, dict(credit, walletId=w.upper()), "VALIDATION_ERROR"),
            (CREDIT, dict(credit, referenceId=5), "VALIDATION_ERROR"),
            (CREDIT, dict(credit, referenceId=""), "VALIDATION_ERROR"),
            (CREDIT, dict(credit, referenceId="r" * 65), "VALIDATION_ERROR"),
            (CREDIT, dict(credit, referenceId="line\nbreak"), "VALIDATION_ERROR"),
            (CREDIT, dict(credit, referenceId={"a": 1}), "VALIDATION_ERROR"),
            (AUTHORIZE, dict(credit, expiresInSeconds="60"), "VALIDATION_ERROR"),
            (AUTHORIZE, dict(credit, expiresInSeconds=0), "VALIDATION_ERROR"),
            (AUTHORIZE, dict(credit, expiresInSeconds=-1), "VALIDATION_ERROR"),
            (AUTHORIZE, dict(credit, expiresInSeconds=2592001), "VALIDATION_ERROR"),
            (AUTHORIZE, dict(credit, expiresInSeconds=1.5), "VALIDATION_ERROR"),
            (DEBIT, {"transactionId": w}, "VALIDATION_ERROR"),
            (DEBIT, {"transactionId": 7}, "VALIDATION_ERROR"),
            (DEBIT, {"transactionId": t, "walletId": w, "amount": 1}, "VALIDATION_ERROR"),
            (VOID, {"transactionId": "txn_1"}, "VALIDATION_ERROR"),
            (VOID, {"transactionId": None}, "VALIDATION_ERROR"),
            (WALLETS, {"accountId": 42, "currency": "USD"}, "VALIDATION_ERROR"),
            (WALLETS, {"accountId": "", "currency": "USD"}, "VALIDATION_ERROR"),
            (WALLETS, {"accountId": "a" * 65, "currency": "USD"}, "VALIDATION_ERROR"),
            (WALLETS, {"accountId": "with space", "currency": "USD"}, "VALIDATION_ERROR"),
            (WALLETS, {"accountId": "slash/no", "currency": "USD"}, "VALIDATION_ERROR"),
            (WALLETS, {"accountId": "caf\u00e9", "currency": "USD"}, "VALIDATION_ERROR"),
        ]
        with self.nothing_written():
            for path, body, code in cases:
                with self.subTest(path=path, body=body):
                    self.check(400, code, "POST", path, body)

    def test_bad_amounts(self):
        w, t = self.wallet, self.hold
        bad = [10.5, 10.0, 1e2, "100", "", 0, -1, -100, 2**53, 2**63, 2**64, True, False, [1],
               {"v": 1}]
        raw_bad = [b"1e400", b"-1e400", b"18446744073709551616", b"99999999999999999999999",
                   b"1.0e3", b"-0", b"0x10", b"NaN", b"Infinity"]
        with self.nothing_written():
            for amount in bad:
                for path, body in ((CREDIT, {"walletId": w, "referenceId": "r"}),
                                   (AUTHORIZE, {"walletId": w, "referenceId": "r"}),
                                   (DEBIT, {"walletId": w, "referenceId": "r"}),
                                   (DEBIT, {"transactionId": t})):
                    with self.subTest(amount=amount, path=path, body=body):
                        self.check(400, "INVALID_AMOUNT", "POST", path, dict(body, amount=amount))
            for raw in raw_bad:
                body = b'{"walletId":"%s","amount":%s,"referenceId":"r"}' % (w.encode(), raw)
                with self.subTest(raw=raw):
                    r = self.api.request("POST", CREDIT, raw_body=body,
                                         headers={"Idempotency-Key": unique_key()})
                    self.assertEqual(r.status, 400, r)
                    self.assertIn(r.code, ("INVALID_AMOUNT", "INVALID_JSON"), r)
                    assert_error(self, r, 400, r.code)
            # exactly 1e400 and 2^64 are well-formed JSON numbers: they are bad amounts
            for raw in (b"1e400", b"18446744073709551616"):
                body = b'{"walletId":"%s","amount":%s,"referenceId":"r"}' % (w.encode(), raw)
                self.check(400, "INVALID_AMOUNT", "POST", CREDIT, raw=body)

    def test_bad_currencies(self):
        w = self.wallet
        with self.nothing_written():
            for currency in ("usd", "Usd", "US", "USDD", "", "U$D", 840, ["USD"],
                             "US ", "\u00c9UR"):
                with self.subTest(currency=currency):
                    self.check(400, "INVALID_CURRENCY", "POST", WALLETS,
                               {"accountId": unique_account(), "currency": currency})
                    self.check(400, "INVALID_CURRENCY", "POST", AUTHORIZE,
                               {"walletId": w, "amount": 1, "referenceId": "r",
                                "currency": currency})

    def test_missing_and_unknown_fields(self):
        w, t = self.wallet, self.hold
        credit = {"walletId": w, "amount": 10, "referenceId": "r"}
        cases = [(WALLETS, {"accountId": unique_account()}),
                 (WALLETS, {"currency": "USD"}),
                 (WALLETS, {}),
                 (WALLETS, {"accountId": unique_account(), "currency": "USD", "extra": 1})]
        for path in (CREDIT, AUTHORIZE, DEBIT):
            for field in credit:
                cases.append((path, {k: v for k, v in credit.items() if k != field}))
            cases.append((path, dict(credit, unknown=1)))
            cases.append((path, dict(credit, walletid=w)))  # names are case-sensitive
            cases.append((path, dict(credit, referenceId=None)))
        cases += [(DEBIT, {}), (DEBIT, {"amount": 5}), (DEBIT, {"transactionId": t, "x": 1}),
                  (VOID, {}), (VOID, {"transactionId": t, "amount": 5}),
                  (CREDIT, dict(credit, currency="USD")),
                  (CREDIT, dict(credit, expiresInSeconds=60))]
        with self.nothing_written():
            for path, body in cases:
                with self.subTest(path=path, body=body):
                    self.check(400, "VALIDATION_ERROR", "POST", path, body)

    def test_body_too_large(self):
        w = self.wallet
        body = '{"walletId":"%s","amount":10,"referenceId":"r"}' % w
        body = body.replace("{", "{" + " " * (MAX_BODY + 1 - len(body)), 1)
        self.assertGreater(len(body), MAX_BODY)
        with self.nothing_written():
            for path in (CREDIT, AUTHORIZE, DEBIT, WALLETS):
                with self.subTest(path=path):
                    self.check(413, "PAYLOAD_TOO_LARGE", "POST", path, raw=body.encode())
            self.check(413, "PAYLOAD_TOO_LARGE", "POST", CREDIT, raw=b"x" * 1_000_000)
            # the connection is still usable afterwards
            self.assertEqual(self.api.get(f"{WALLETS}/{w}").status, 200)
        # just at the limit is accepted (a whitespace-padded valid body)
        body = ('{"walletId":"%s","amount":1,"referenceId":"at-limit"}' % w)
        body = body.replace("{", "{" + " " * (MAX_BODY - len(body)), 1)
        self.assertEqual(len(body), MAX_BODY)
        r = self.api.post(CREDIT, raw_body=body.encode(), key_header=unique_key())
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.api.debit(w, 1).status, 201)  # put the unit back out

    def test_content_type(self):
        body = json.dumps({"walletId": self.wallet, "amount": 10, "referenceId": "r"}).encode()
        with self.nothing_written():
            for ctype in (None, "text/plain", "application/x-www-form-urlencoded",
                          "application/jsonx", "application/xml", "json", "multipart/form-data"):
                for path in (CREDIT, WALLETS):
                    with self.subTest(ctype=ctype, path=path):
                        self.check(415, "UNSUPPORTED_MEDIA_TYPE", "POST", path, raw=body,
                                   headers={"Content-Type": ctype})
        # parameters and case are fine
        for ctype in ("application/json; charset=utf-8", "Application/JSON"):
            r = self.api.request("POST", CREDIT, raw_body=body,
                                 headers={"Content-Type": ctype, "Idempotency-Key": unique_key()})
            self.assertEqual(r.status, 201, (ctype, r))
        self.assertEqual(self.api.debit(self.wallet, 20).status, 201)

    # -- routes, methods, auth ----------------------------------------------------------------
    def test_unknown_routes(self):
        with self.nothing_written():
            for method, path in (("GET", "/"), ("GET", "/api"), ("GET", "/api/v1"),
                                 ("GET", "/api/v2/wallets"), ("GET", "/api/v1/nope"),
                                 ("POST", "/api/v1/refunds"),
                                 ("POST", "/api/v1/transactions/credit/x"),
                                 ("GET", "/api/v1/wallets/x/y/z"),
                                 ("GET", f"/api/v1/wallets/{self.wallet}/ledger/1"),
                                 ("GET", "/api/v1/wallets//ledger"),
                                 ("GET", "/health"), ("GET", "/api/v1/accounts//wallets"),
                                 ("GET", "/API/V1/WALLETS"), ("GET", "/" + "a/" * 40)):
                with self.subTest(method=method, path=path):
                    self.check(404, "ROUTE_NOT_FOUND", method, path)
                    self.check(404, "ROUTE_NOT_FOUND", method, path, key=False)

    def test_wrong_methods(self):
        w = self.wallet
        cases = [("DELETE", f"{WALLETS}/{w}", "GET"), ("PUT", f"{WALLETS}/{w}", "GET"),
                 ("POST", f"{WALLETS}/{w}", "GET"), ("GET", WALLETS, "POST"),
                 ("PUT", WALLETS, "POST"), ("GET", CREDIT, "POST"), ("GET", VOID, "POST"),
                 ("PATCH", AUTHORIZE, "POST"), ("POST", "/health/live", "GET"),
                 ("DELETE", "/metrics", "GET"), ("POST", f"{WALLETS}/{w}/ledger", "GET")]
        with self.nothing_written():
            for method, path, allow in cases:
                with self.subTest(method=method, path=path):
                    r = self.check(405, "METHOD_NOT_ALLOWED", method, path)
                    self.assertEqual(r.header("Allow"), allow)

    def test_unauthorized(self):
        w = self.wallet
        other = Walletd(tenants=("someone",))  # a real key of a key file this server lacks
        unknown_key = other.keys["someone"]
        bad_auth = [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer",
                    f"Token {self.server.keys[self.tenant]}", f"Bearer {unknown_key}",
                    "Bearer " + "A" * 300, f"Bearer {self.server.keys[self.tenant]}x",
                    f"Bearer {self.server.keys[self.tenant][:-1]}"]
        body = {"walletId": w, "amount": 10, "referenceId": "r"}
        with self.nothing_written():
            for auth in bad_auth:
                with self.subTest(auth=auth):
                    hdrs = {"Authorization": auth}
                    self.check(401, "UNAUTHORIZED", "GET", f"{WALLETS}/{w}", headers=hdrs)
                    self.check(401, "UNAUTHORIZED", "GET", f"/api/v1/accounts/{self.account}"
                               "/wallets", headers=hdrs)
                    self.check(401, "UNAUTHORIZED", "POST", CREDIT, body, headers=hdrs)
                    self.check(401, "UNAUTHORIZED", "POST", WALLETS,
                               {"accountId": unique_account(), "currency": "USD"}, headers=hdrs)
                    self.check(401, "UNAUTHORIZED", "POST", VOID, {"transactionId": self.hold},
                               headers=hdrs)
        # health and metrics need no key
        for path in ("/health/live", "/health/ready", "/metrics"):
            self.assertEqual(self.api.get(path, key=False).status, 200, path)

    def test_bad_ledger_query_and_account_path(self):
        w = self.wallet
        with self.nothing_written():
            for limit in ("0", "201", "-1", "abc", "1.5", "", "10x", "99999999999999999999"):
                with self.subTest(limit=limit):
                    self.check(400, "VALIDATION_ERROR", "GET",
                               f"{WALLETS}/{w}/ledger?limit={urllib.parse.quote(limit)}")
            def b64(text):
                return base64.urlsafe_b64encode(text).rstrip(b"=").decode()

            for cursor in ("zzz", "-1", "", "1" * 100, "eyJpZCI6MX0", b64(b"v1.abc"),
                           b64(b"v2.5"), b64(b"v1.0"), b64(b"v1.-5"), b64(b"v1."),
                           b64(b"v1.99999999999999999999"), b64(b"v1.5") + "==",
                           b64(b"v1.5").upper()):
                with self.subTest(cursor=cursor):
                    self.check(400, "INVALID_CURSOR", "GET",
                               f"{WALLETS}/{w}/ledger?cursor={cursor}")
            # an encoded NUL in a query argument is refused before the route (api/edge.h)
            self.check(400, "MALFORMED_REQUEST", "GET", f"{WALLETS}/{w}/ledger?cursor=%00")
            for account in ("a" * 65, "with%20space", "caf%C3%A9", "a*b", "a%3Bb", "%01"):
                with self.subTest(account=account):
                    self.check(400, "VALIDATION_ERROR", "GET",
                               f"/api/v1/accounts/{account}/wallets")
            # a decoded slash or NUL would change the path itself: refused before routing
            for account in ("a%2Fb", "%00"):
                with self.subTest(account=account):
                    self.check(400, "MALFORMED_REQUEST", "GET",
                               f"/api/v1/accounts/{account}/wallets")
        self.assertEqual(self.api.get(f"{WALLETS}/{w}/ledger?limit=1").status, 200)
        self.assertEqual(self.api.get(f"{WALLETS}/{w}/ledger?limit=200").status, 200)

    def test_refusals_are_stable_across_repeats(self):
        # a refused request is not stored: the same key and body get the same refusal again,
        # and then a valid request with that key executes
        key = unique_key("again")
        body = {"walletId": self.wallet, "amount": 0, "referenceId": "r"}
        with self.nothing_written():
            for _ in range(3):
                r = self.check(400, "INVALID_AMOUNT", "POST", CREDIT, body,
                               headers={"Idempotency-Key": key}, idem=False)
                self.assertIsNone(r.header("Idempotent-Replayed"))

    # -- random input -------------------------------------------------------------------------
    def test_random_input_gets_well_formed_answers(self):
        rng = random.Random(int.from_bytes(os.urandom(4), "little"))
        seed = rng.randrange(2**32)
        rng = random.Random(seed)
        key = self.server.keys[self.tenant]
        w = self.wallet
        valid = json.dumps({"walletId": w, "amount": 10, "referenceId": "r"},
                           separators=(",", ":")).encode()
        self.assertIn(b'"amount":10', valid)
        money_paths = [CREDIT, AUTHORIZE, DEBIT, VOID, WALLETS]

        def rand_bytes(n):
            return bytes(rng.randrange(256) for _ in range(n))

        def rand_header_value(n):
            # any byte a header value can carry on the wire (no CR/LF, no leading space)
            return "".join(chr(rng.choice([*range(0x21, 0x7f), 0x09, 0x20, *range(0x80, 0x100)]))
                           for _ in range(n)).strip()

        problems = []
        with self.nothing_written():
            for i in range(300):
                kind = i % 4
                method, path, body, headers = "POST", rng.choice(money_paths), None, {
                    "Authorization": f"Bearer {key}", "Content-Type": "application/json",
                    "Idempotency-Key": unique_key("fuzz")}
                if kind == 0:  # random bytes as the body
                    body = rand_bytes(rng.randrange(1, 400))
                elif kind == 1:  # random binary-ish path, percent-encoded
                    method = rng.choice(["GET", "POST", "DELETE"])
                    segs = [urllib.parse.quote(rand_bytes(rng.randrange(0, 30)), safe="")
                            for _ in range(rng.randrange(1, 5))]
                    prefix = rng.choice(["/api/v1/wallets/", "/api/v1/transactions/",
                                         "/api/v1/accounts/", "/", "/api/v1/"])
                    path = prefix + "/".join(segs)
                    if rng.random() < 0.3:
                        path += "/ledger?limit=" + urllib.parse.quote(rand_bytes(5), safe="")
                    body = rand_bytes(rng.randrange(0, 50)) if method == "POST" else None
                elif kind == 2:  # random header values on requests that cannot move money
                    for name in rng.sample(["X-Request-Id", "Idempotency-Key", "Authorization",
                                            "X-Idempotency-Key", "Content-Type",
                                            "X-Consistency", "Accept"], 3):
                        headers[name] = rand_header_value(rng.randrange(0, 300))
                    if rng.random() < 0.5:
                        method, path, body = "GET", f"{WALLETS}/{w}", None
                    else:
                        body = valid.replace(b'"amount":10', b'"amount":-10')
                else:  # truncated JSON
                    body = valid[:rng.randrange(0, len(valid))]
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
                    conn.request(method, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    raw = resp.read()
                    status = resp.status
                    conn.close()
                except (OSError, http.client.HTTPException) as e:
                    problems.append((i, method, path, body, headers, repr(e)))
                    continue
                if status >= 500:
                    problems.append((i, method, path, body, headers, status, raw))
                    continue
                if status == 200 and method == "GET":
                    continue  # a random header can be harmless (e.g. X-Consistency)
                try:
                    env = json.loads(raw)
                    ok = (set(env) == ERROR_KEYS and env["status"] == status and
                          400 <= status < 500 and isinstance(env["code"], str))
                except ValueError:
                    ok = False
                if not ok:
                    problems.append((i, method, path, body, headers, status, raw))
        self.assertEqual(problems, [], f"seed {seed}")
        self.assert_alive()

    # -- raw sockets --------------------------------------------------------------------------
    def raw_exchange(self, payload, answers=1, half_close=False, silence=10.0):
        """Sends payload on a fresh socket and reads until the server closes, `answers` HTTP
        responses have arrived, or the server stays silent for `silence` seconds. Returns
        (data, how) with how in "answered", "closed", "silent"; raises on a connection reset."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            try:
                s.sendall(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may stop reading early; what it answered is read below
            if half_close:
                s.shutdown(socket.SHUT_WR)
            s.settimeout(silence)
            data = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    return data, "silent"
                except ConnectionResetError:
                    if data:  # closed with our unread bytes still queued: the answer came first
                        return data, "answered"
                    raise
                if not chunk:
                    return data, "closed"
                data += chunk
                if complete_responses(data) >= answers:
                    return data, "answered"

    def test_raw_socket_garbage(self):
        huge_value = b"a" * 200_000
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
        h = b" HTTP/1.1\r\nHost: x\r\n"
        # complete (if odd) requests: each gets an HTTP answer or a clean close
        complete = [
            b"GARBAGE\r\n\r\n",
            b"GET\r\n\r\n",
            b"GET /health/live\r\n\r\n",
            b"GET /health/live HTTP/9.9\r\n\r\n",
            b"GET /health/live HTTP/1.1\r\n\r\n",  # no Host
            bytes(range(256)) * 4 + b"\r\n\r\n",
            b"GET /" + b"a" * 100_000 + h + b"\r\n",
            b"GET /health/live" + h + b"X-Big: " + huge_value + b"\r\n\r\n",
            b"GET /health/live" + h + many + b"\r\n",
            b"GET /health/live" + h + b"no colon here\r\n\r\n",
            b"GET /health/live" + h + b" : v\r\n\r\n",
            b"GET /health/live" + h + b"Authorization: Bearer \xff\x00\x01\r\n\r\n",
            b"POST /api/v1/wallets" + h + b"Content-Length: -1\r\n\r\n",
            b"POST /api/v1/wallets" + h + b"Content-Length: 99999999999999999999999\r\n\r\n{}",
            b"POST /api/v1/wallets" + h + b"Content-Length: 5\r\nContent-Length: 7\r\n\r\n{}{}{}{",
            b"POST /api/v1/wallets" + h + b"Transfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            b"POST /api/v1/transactions/credit" + h + b"Transfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\n\r\n" + b"4000\r\n" + b" " * 0x4000 + b"\r\n"
            + b"4000\r\n" + b" " * 0x4000 + b"\r\n0\r\n\r\n",
            b"POST /api/v1/transactions/credit" + h + b"Authorization: Bearer "
            + self.server.keys[self.tenant].encode() + b"\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\nIdempotency-Key: raw-chunked\r\n\r\n"
            + b"4000\r\n" + b" " * 0x4000 + b"\r\n" + b"4000\r\n" + b" " * 0x4000
            + b"\r\n0\r\n\r\n",
            b"GET /api/v1/wallets/%00%ff%fe" + h + b"\r\n",
            b"GET /api/v1/wallets/\x00\x01" + h + b"\r\n",
            b"GET http://evil/health/live" + h + b"\r\n",
            b"GET *" + h + b"\r\n",
            b"CONNECT 127.0.0.1:1" + h + b"\r\n",
        ]
        # requests that never finish: waiting for the rest (silence) is fine too
        unfinished = [
            b"GET /health/live" + h,
            b"\r\n\r\n",
            b"POST /api/v1/wallets" + h + b"Content-Length: 100\r\n\r\n{}",
            b"POST /api/v1/wallets" + h + b"Transfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\n\r\nffffffffffffffff\r\n{}",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200),  # TLS hello
        ]
        problems = []

        def bad_answer(data):
            if not data.startswith(b"HTTP/1."):
                return True
            status = data[9:12]
            return status.startswith(b"5") and status != b"505"  # 505: HTTP/9.9 is fine

        with self.nothing_written():
            for payload in complete + unfinished:
                try:
                    data, how = self.raw_exchange(payload,
                                                  silence=10.0 if payload in complete else 1.5)
                except OSError as e:
                    problems.append((payload[:80], repr(e)))
                    continue
                if how == "silent" and payload in complete:
                    problems.append((payload[:80], "no answer and no close", data[:100]))
                elif data and bad_answer(data):
                    problems.append((payload[:80], data[:200]))
            # 50 pipelined requests on one connection: 50 answers
            data, how = self.raw_exchange((b"GET /health/live" + h + b"\r\n") * 50, answers=50)
            self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 50, (how, data[-300:]))
        self.assertEqual(problems, [])
        self.assert_alive()

    def test_ambiguous_http_framing_is_refused(self):
        # RFC 9112 section 6.3: differing Content-Length values make the framing invalid (the
        # server MUST answer 400 and close); with both Transfer-Encoding and Content-Length the
        # server may reject or use the chunked framing, but MUST close the connection afterwards.
        # Otherwise a proxy that frames the request differently can smuggle a second request.
        body = json.dumps({"walletId": self.wallet, "amount": 7, "referenceId": "smuggle"},
                          separators=(",", ":")).encode()
        head = (b"POST /api/v1/transactions/credit HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer " + self.server.keys[self.tenant].encode() + b"\r\n"
                b"Content-Type: application/json\r\n")

        def key():
            return b"Idempotency-Key: " + unique_key("framing").encode() + b"\r\n"

        with self.subTest("Content-Length: N, Content-Length: 2"), self.nothing_written():
            data, how = self.raw_exchange(head + key() + b"Content-Length: %d\r\n"
                                          b"Content-Length: 2\r\n\r\n" % len(body) + body,
                                          answers=2, silence=3.0)
            self.assertTrue(data.startswith(b"HTTP/1.1 400 "), data[:300])
            self.assertIn(b'"code":"MALFORMED_REQUEST"', data)
            self.assertEqual(how, "closed", (how, data[:300]))
        with self.subTest("Content-Length: 2, Content-Length: N"), self.nothing_written():
            data, how = self.raw_exchange(head + key() + b"Content-Length: 2\r\n"
                                          b"Content-Length: %d\r\n\r\n" % len(body) + body,
                                          answers=2, silence=3.0)
            self.assertEqual(complete_responses(data), 1, data[:600])  # never a second request
            self.assertTrue(data.startswith(b"HTTP/1.1 400 "), data[:300])
        with self.subTest("Transfer-Encoding and Content-Length"):
            chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
            data, how = self.raw_exchange(head + key() + b"Transfer-Encoding: chunked\r\n"
                                          b"Content-Length: 3\r\n\r\n" + chunked, answers=2,
                                          silence=3.0)
            self.assertTrue(data.startswith(b"HTTP/1.1 "), data[:300])
            self.assertEqual(how, "closed", (how, data[:300]))

    def test_zz_server_is_still_healthy(self):
        # runs last in this class: after everything above, walletd still serves money
        self.assert_alive()
        r = self.api.credit(self.wallet, 1)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.api.debit(self.wallet, 1).status, 201)


if __name__ == "__main__":
    unittest.main()
