#!/usr/bin/env python3
"""loadtest/tools/bench_seed.py - create and fund the wallets loadtest/bench spreads its load over.

Creates COUNT wallets for new accounts (<prefix>-<i>) and credits each with AMOUNT minor units,
every request with an Idempotency-Key (a retry after a network error or 5xx replays, it never
moves money twice), over CONCURRENCY keep-alive connections. Writes one wallet ID per line to OUT.
Exits non-zero, naming the failure, if any wallet cannot be created or funded.

usage: bench_seed.py --url http://127.0.0.1:3900 --key-file K --count 1000 --amount 10**12 --out F
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

_local = threading.local()


def _conn(base):
    c = getattr(_local, "conn", None)
    if c is None:
        u = urllib.parse.urlsplit(base)
        c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
        _local.conn = c
    return c


def post(base, key, path, body, idem, attempts=5):
    payload = json.dumps(body).encode()
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Idempotency-Key": idem,
    }
    last = None
    for attempt in range(attempts):
        try:
            c = _conn(base)
            c.request("POST", path, body=payload, headers=headers)
            r = c.getresponse()
            raw = r.read()
            if r.status < 500 and not (r.status == 409 and b"IDEMPOTENCY_KEY_IN_PROGRESS" in raw):
                return r.status, json.loads(raw)
            last = f"{r.status} {raw[:200]!r}"
        except (OSError, http.client.HTTPException) as e:
            last = f"{type(e).__name__}: {e}"
            try:
                _local.conn.close()
            except Exception:
                pass
            _local.conn = None
        time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"POST {path} failed after {attempts} attempts: {last}")


def make_wallet(base, key, prefix, i, amount, currency):
    account = f"{prefix}-{i}"
    status, doc = post(base, key, "/api/v1/wallets", {"accountId": account, "currency": currency},
                       f"{prefix}-wallet-{i}")
    if status != 201:
        raise RuntimeError(f"create wallet {account}: {status} {doc}")
    wid = doc["data"]["id"]
    status, doc = post(base, key, "/api/v1/transactions/credit",
                       {"walletId": wid, "amount": amount, "referenceId": f"{prefix}-fund"},
                       f"{prefix}-credit-{i}")
    if status != 201 or doc["data"]["status"] != "COMPLETED":
        raise RuntimeError(f"credit {wid}: {status} {doc}")
    return wid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--amount", type=int, default=10**12)
    ap.add_argument("--currency", default="USD")
    ap.add_argument("--prefix", required=True, help="account ID prefix, unique per run")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.key_file) as f:
        key = f.read().strip()

    started = time.monotonic()
    ids = [None] * a.count
    with concurrent.futures.ThreadPoolExecutor(a.concurrency) as pool:
        futs = {pool.submit(make_wallet, a.url, key, a.prefix, i, a.amount, a.currency): i
                for i in range(a.count)}
        for fut in concurrent.futures.as_completed(futs):
            ids[futs[fut]] = fut.result()  # raises: the bench stops with the reason
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(ids) + "\n")
    os.replace(tmp, a.out)
    print(f"seeded {a.count} wallets with {a.amount} each in {time.monotonic() - started:.1f}s "
          f"-> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - a clear one-line reason for the bench's log
        print(f"bench_seed: error: {e}", file=sys.stderr)
        sys.exit(1)
