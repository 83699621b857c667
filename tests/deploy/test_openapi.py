"""api/openapi.yaml: @redocly/cli lint passes (and fails on a broken copy); its paths and methods
are exactly the router's route table (api/handlers.c); its error codes are exactly the public
codes of core/error.h (WD_CODES less those wd_error_public folds), each under the status error.h
gives it; and the harness's response check (tests/integration/spec.py) refuses what the spec
does not document: an unknown code or status, an undocumented header, a missing required header,
a body with an unknown field."""

import os
import re
import sys
import unittest

import yaml

from common import REPO, VALIDATE, BrokenCopy, edit, node_tools, run

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import spec  # noqa: E402  (the harness's checker, tested here without a server)

SPEC = os.path.join(REPO, "api", "openapi.yaml")
REDOCLY_ENV = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}


def read(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        return f.read()


def lint(path):
    return run([node_tools(), os.path.join(VALIDATE, "node_modules", "@redocly", "cli", "bin",
                                           "cli.js"),
                "lint", "--config", os.path.join(VALIDATE, "redocly.yaml"), path],
               env=REDOCLY_ENV)


def router_routes():
    """{(METHOD, "/api/v1/wallets/{}")} from the route table in api/handlers.c."""
    text = read("api/handlers.c")
    table = re.search(r"const struct \w+ \w*routes\[\] = \{(.*?)\n\};", text, re.S)
    if not table:
        raise AssertionError("the route table (const struct ... routes[]) not found in api/handlers.c")
    routes = set(re.findall(r'\{"([A-Z]+)", "([^"]+)"', table.group(1)))
    if not routes:
        raise AssertionError("no routes parsed from the route table")
    return routes


def spec_doc():
    with open(SPEC, encoding="utf-8") as f:
        return yaml.safe_load(f)


def public_codes():
    """{CODE: status} of the codes clients can see."""
    codes = dict((n, int(s)) for n, s in re.findall(r"X\((\w+), (\d{3}),", read("core/error.h")))
    body = re.search(r"int wd_\w*public\(int code\)\s*\{(.*?)\n\}", read("core/error.c"), re.S)
    folded = set(re.findall(r"case WD_E_(\w+):", body.group(1))) if body else set()
    if not codes or not folded:
        raise AssertionError("WD_CODES in core/error.h or wd_error_public in core/error.c not parsed")
    return {n: s for n, s in codes.items() if n not in folded}


def allowed_codes(schema):
    """The codes a response schema allows: the intersection of every enum of a `code` property in
    it (the schemas combine with allOf)."""
    enums = []

    def walk(node):
        if isinstance(node, dict):
            code = (node.get("properties") or {}).get("code")
            if isinstance(code, dict) and "enum" in code:
                enums.append(set(code["enum"]))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(schema)
    return set.intersection(*enums) if enums else set()


class OpenApiTest(unittest.TestCase):
    def test_lint_passes(self):
        rc, out = lint(SPEC)
        self.assertEqual(rc, 0, out)
        with open(os.path.join(VALIDATE, "node_modules", "@redocly", "cli", "package.json")) as f:
            version = yaml.safe_load(f)["version"]
        print(f"@redocly/cli {version}: api/openapi.yaml (OpenAPI 3.1) valid")

    def test_lint_fails_on_broken_copies(self):
        cases = [
            ("a schema of an unknown type", "        status: {type: integer, minimum: 400",
             "        status: {type: integr, minimum: 400"),
            ("an example that breaks its schema", "data: {status: live}}",
             "data: {status: alive}}"),
            ("a response without a description", "        '201':\n          description: The new wallet.\n",
             "        '201':\n"),
        ]
        for what, old, new in cases:
            with self.subTest(what), BrokenCopy("api/openapi.yaml") as root:
                path = os.path.join(root, "api", "openapi.yaml")
                edit(path, old, new)
                rc, out = lint(path)
                self.assertNotEqual(rc, 0, f"{what}: lint passed\n{out}")

    def test_paths_are_the_routers_routes(self):
        doc = spec_doc()
        in_spec = set()
        for path, item in doc["paths"].items():
            for method in item:
                if method in spec.METHODS:
                    in_spec.add((method.upper(), re.sub(r"\{[^}]+\}", "{}", path)))
        self.assertEqual(in_spec, router_routes())

    def test_error_codes_are_core_errors(self):
        codes = public_codes()
        self.assertEqual(set(spec_doc()["components"]["schemas"]["ErrorCode"]["enum"]), set(codes))
        # Every code a response lists is documented under the status core/error.h gives it.
        checker = spec.Spec()
        seen = set()
        responses = [(f"{m} {p}", s, r) for p, item in checker.doc["paths"].items()
                     for m, op in item.items() if m in spec.METHODS
                     for s, r in op["responses"].items()]
        responses += [("route not found", "404", checker.route_not_found),
                      ("method not allowed", "405", checker.method_not_allowed),
                      ("malformed request", "400", checker.malformed_request)]
        for where, status, response in responses:
            if int(status) < 400:
                continue
            for media in (response.get("content") or {}).values():
                for name in allowed_codes(media["schema"]):
                    seen.add(name)
                    self.assertEqual(codes.get(name), int(status),
                                     f"{where}: {name} listed under {status}")
        self.assertEqual(seen, set(codes), "every public code is answered by some operation")


class ResponseCheckTest(unittest.TestCase):
    """The harness's checker on responses made up here (no server)."""

    OK_WALLET = ('{"status":200,"code":"OK","data":{"id":"wal_' + "0" * 36 + '","accountId":"a",'
                 '"currency":"USD","status":"ACTIVE","balance":5,"held":0,"available":5,'
                 '"createdAt":"2026-11-23T13:51:07.815Z","updatedAt":"2026-11-23T13:51:07.815Z"}}')
    JSON = [("Content-Type", "application/json"), ("X-Request-Id", "abc")]

    def setUp(self):
        self.spec = spec.Spec()

    def refused(self, method, path, status, headers, body, expect):
        with self.assertRaises(spec.SpecError) as ctx:
            self.spec.check(method, path, status, headers, body)
        self.assertIn(expect, str(ctx.exception))

    def test_documented_responses_pass(self):
        self.spec.check("GET", "/api/v1/wallets/wal_x", 200, self.JSON, self.OK_WALLET)
        self.spec.check("HEAD", "/api/v1/wallets/wal_x", 200, self.JSON, "")
        self.spec.check("GET", "/nope", 404, self.JSON,
                        '{"status":404,"code":"ROUTE_NOT_FOUND","message":"no such route"}')
        self.spec.check("DELETE", "/api/v1/transactions/credit", 405,
                        self.JSON + [("Allow", "POST")],
                        '{"status":405,"code":"METHOD_NOT_ALLOWED","message":"m"}')

    def test_undocumented_code_is_refused(self):
        # e.g. a new 400 code that the spec does not list yet
        self.refused("GET", "/api/v1/wallets/wal_x", 400, self.JSON,
                     '{"status":400,"code":"ACCOUNT_FROZEN","message":"m"}', "code")
        # a known code on an operation that cannot answer it (reads never commit)
        self.refused("GET", "/api/v1/wallets/wal_x", 503, self.JSON + [("Retry-After", "1")],
                     '{"status":503,"code":"OUTCOME_UNKNOWN","message":"m"}', "code")

    def test_code_under_the_wrong_status_is_refused(self):
        self.refused("GET", "/api/v1/wallets/wal_x", 404, self.JSON,
                     '{"status":404,"code":"ROUTE_NOT_FOUND","message":"m"}', "ROUTE_NOT_FOUND")

    def test_undocumented_status_is_refused(self):
        self.refused("GET", "/api/v1/wallets/wal_x", 409, self.JSON,
                     '{"status":409,"code":"WALLET_EXISTS","message":"m"}', "status not documented")

    def test_undocumented_header_is_refused(self):
        self.refused("POST", "/api/v1/transactions/debit", 200,
                     self.JSON + [("X-Served-By", "shard0-replica")], self.OK_WALLET,
                     "header 'x-served-by' is not documented")

    def test_missing_required_header_is_refused(self):
        self.refused("GET", "/api/v1/wallets/wal_x", 503, self.JSON,
                     '{"status":503,"code":"SERVICE_UNAVAILABLE","message":"m"}', "retry-after")

    def test_unknown_field_is_refused(self):
        self.refused("GET", "/api/v1/wallets/wal_x", 200, self.JSON,
                     self.OK_WALLET.replace('"held":0', '"held":0,"frozen":0'), "frozen")

    def test_wrong_allow_is_refused(self):
        self.refused("GET", "/api/v1/transactions/void", 405, self.JSON + [("Allow", "GET, POST")],
                     '{"status":405,"code":"METHOD_NOT_ALLOWED","message":"m"}', "Allow")

    def test_wrong_content_type_is_refused(self):
        self.refused("GET", "/health/live", 200, [("Content-Type", "text/html"), ("X-Request-Id", "a")],
                     '{"status":200,"code":"OK","data":{"status":"live"}}', "Content-Type")


if __name__ == "__main__":
    unittest.main()
