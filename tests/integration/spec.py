"""Checks walletd's HTTP responses against api/openapi.yaml (the harness calls check_response for
every response its clients receive).

For the operation that a method and path select (matched as api/router.c does: the pattern with
the most literal segments wins; HEAD is answered as GET without a body), a response passes only
if its status is one the operation documents, its Content-Type is that response's media type,
its body validates against that response's JSON Schema (Draft 2020-12), every header the spec
marks required is there and valid, and every header it sends beyond plain HTTP framing is one the
spec documents for it. A path no route has must be the spec's `x-walletd-route-not-found` answer,
a known path with another method its `x-walletd-method-not-allowed` answer (Allow = the path's
methods). A path with an encoded NUL or slash may only be the `x-walletd-malformed-request` answer.

Needs PyYAML and jsonschema >= 4 (Debian: python3-yaml, python3-jsonschema). The spec is read
and its schemas compiled once per process.
"""

import json
import os
import re
import urllib.parse

try:
    import jsonschema
    import yaml
except ImportError as e:  # a clear failure, never a silent pass
    raise ImportError(f"the integration harness validates responses against api/openapi.yaml and "
                      f"needs PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema): "
                      f"{e}") from e

SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "api",
                         "openapi.yaml")

# Headers of HTTP itself, which the spec does not list per response.
FRAMING_HEADERS = {"content-type", "content-length", "date", "connection", "keep-alive",
                   "transfer-encoding"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecError(AssertionError):
    """A response that the spec does not describe."""


def _resolve(doc, node, seen=()):
    """node with every local $ref replaced by its target (siblings of a $ref are kept beside it
    in an allOf, which is what they mean in JSON Schema 2020-12)."""
    if isinstance(node, list):
        return [_resolve(doc, v, seen) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise SpecError(f"unsupported or recursive $ref {ref!r} in {SPEC_PATH}")
        target = doc
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        target = _resolve(doc, target, seen + (ref,))
        rest = {k: _resolve(doc, v, seen) for k, v in node.items() if k != "$ref"}
        if not rest:
            return target
        if "description" in rest and len(rest) == 1:
            return target
        return {"allOf": [target, rest]}
    return {k: _resolve(doc, v, seen) for k, v in node.items()}


class Spec:
    def __init__(self, path=SPEC_PATH):
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
        self.doc = _resolve(raw, raw)
        self.routes = []  # (segments, {METHOD: operation})
        for template, item in self.doc["paths"].items():
            ops = {m.upper(): op for m, op in item.items() if m in METHODS}
            self.routes.append((template.split("/")[1:], ops))
        self.route_not_found = self.doc["x-walletd-route-not-found"]
        self.method_not_allowed = self.doc["x-walletd-method-not-allowed"]
        self.malformed_request = self.doc["x-walletd-malformed-request"]
        self._validators = {}

    def select(self, method, path):
        """(response map, allowed methods or None, label) for a request. The response map is
        {status: response}; allowed methods are set when the answer must be 405."""
        raw = path.split("?", 1)[0]
        if re.search(r"%(00|2[fF])", raw):  # refused before routing (api/edge.h)
            return {"400": self.malformed_request}, None, f"{method} (malformed) {path}"
        decoded = urllib.parse.unquote(raw)
        segs = decoded.split("/")[1:]
        best, group = -1, []
        for pattern, ops in self.routes:
            if len(pattern) != len(segs):
                continue
            literals = 0
            for p, s in zip(pattern, segs):
                if p.startswith("{"):
                    if not s:
                        break
                elif p != s:
                    break
                else:
                    literals += 1
            else:
                if literals > best:
                    best, group = literals, [ops]
                elif literals == best:
                    group.append(ops)
        if not group:
            return {"404": self.route_not_found}, None, f"{method} (no route) {path}"
        want = "GET" if method == "HEAD" else method
        allowed = set()
        for ops in group:
            allowed |= set(ops)
            if want in ops:
                return ops[want]["responses"], None, f"{want} {ops[want]['operationId']}"
        return {"405": self.method_not_allowed}, allowed, f"{method} (405) {path}"

    def validator(self, key, schema):
        v = self._validators.get(key)
        if v is None:
            v = jsonschema.Draft202012Validator(schema)
            self._validators[key] = v
        return v

    def check(self, method, path, status, headers, raw):
        """Raises SpecError unless the response is one the spec documents."""
        responses, allowed, label = self.select(method.upper(), path)
        what = f"{label}: {status}"
        response = responses.get(str(status))
        if response is None:
            raise SpecError(f"{what}: status not documented (documented: "
                            f"{sorted(responses)}); body {raw[:300]!r}")
        got = {}
        for name, value in headers:
            got.setdefault(name.lower(), value)
        documented = {n.lower(): h for n, h in (response.get("headers") or {}).items()}
        for name, value in got.items():
            if name in FRAMING_HEADERS:
                continue
            if name not in documented:
                raise SpecError(f"{what}: header {name!r} is not documented for this response")
            self._check_header(what, name, value, documented[name])
        for name, h in documented.items():
            if h.get("required") and name not in got:
                raise SpecError(f"{what}: required header {name!r} is missing")
        if allowed is not None:
            sent = {m.strip() for m in got.get("allow", "").split(",") if m.strip()}
            if sent != allowed:
                raise SpecError(f"{what}: Allow is {sorted(sent)}, the spec has {sorted(allowed)}")
        self._check_body(what, method.upper(), status, got.get("content-type"), raw, response)

    def _check_header(self, what, name, value, header):
        errors = list(self.validator(id(header["schema"]), header["schema"]).iter_errors(value))
        if errors:
            raise SpecError(f"{what}: header {name}: {value!r}: {errors[0].message}")

    def _check_body(self, what, method, status, content_type, raw, response):
        content = response.get("content") or {}
        if not content:
            if raw:
                raise SpecError(f"{what}: a body where the spec has none: {raw[:200]!r}")
            return
        media = _normalise(content_type or "")
        match = [m for m in content if _normalise(m) == media]
        if not match:
            raise SpecError(f"{what}: Content-Type {content_type!r}, the spec has {list(content)}")
        if method == "HEAD":
            if raw:
                raise SpecError(f"{what}: HEAD answered with a body")
            return
        schema = content[match[0]].get("schema")
        if media.startswith("application/json"):
            try:
                body = json.loads(raw)
            except ValueError:
                raise SpecError(f"{what}: body is not JSON: {raw[:200]!r}") from None
        else:
            body = raw
        errors = sorted(self.validator(id(schema), schema).iter_errors(body),
                        key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.absolute_path) or "(body)"
            raise SpecError(f"{what}: {where}: {e.message}; body {raw[:400]!r}")


def _normalise(media):
    return ";".join(p.strip().lower() for p in media.split(";") if p.strip())


_spec = None


def check_response(method, path, status, headers, raw):
    """Validates one response against api/openapi.yaml (the spec is loaded on first use)."""
    global _spec
    if _spec is None:
        _spec = Spec()
    _spec.check(method, path, status, headers, raw)
