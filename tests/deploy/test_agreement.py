"""The manifests agree with walletd's code and defaults, and with each other.

Read from the code: the defaults and ranges of PORT, ADMIN_PORT, DRAIN_DELAY_SECONDS,
SHUTDOWN_TIMEOUT_SECONDS and KEEPALIVE_TIMEOUT_SECONDS (core/config.c), the master's hard
deadline after SIGTERM (cmd/walletd.c: drain + shutdown + 5 s), the probe routes (the route table in
api/handlers.c), the image's user, port, entrypoint and migrations folder (Dockerfile). Read from
every built overlay: the ConfigMap (overriding the defaults), the Deployment, Service, Ingress
annotations, HPA, NetworkPolicy and the migrations Job. A copy with a wrong number must be
refused, with a message that says what disagrees."""

import os
import re
import unittest

from common import REPO, BrokenCopy, build, edit, kustomizations

MARGIN_S = 5  # grace period beyond the master's own deadline, at the least


def read(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        return f.read()


def config_defaults(root):
    """{NAME: (default, min, max)} of the integer settings in core/config.c."""
    text = read(root, "core/config.c")
    found = {n: (int(d), int(lo), int(hi)) for n, d, lo, hi in re.findall(
        r'load_int32\(ld, "(\w+)", (\d+), (\d+), (\d+),', text)}
    for name in ("PORT", "ADMIN_PORT", "DRAIN_DELAY_SECONDS", "SHUTDOWN_TIMEOUT_SECONDS",
                 "KEEPALIVE_TIMEOUT_SECONDS"):
        if name not in found:
            raise AssertionError(f"{name} not found in core/config.c")
    return found


def master_margin(root):
    """The seconds the master waits beyond drain + shutdown before killing workers."""
    m = re.search(r"config\.drain_delay_s \+ config\.shutdown_timeout_s \+ (\d+)",
                  read(root, "cmd/walletd.c"))
    if not m:
        raise AssertionError("the master's shutdown deadline was not found in cmd/walletd.c")
    return int(m.group(1))


def routes(root):
    return set(re.findall(r'\{"(GET|POST)", "(/[^"]*)"', read(root, "api/handlers.c")))


def one(docs, kind, where):
    found = [d for d in docs if d["kind"] == kind]
    if len(found) != 1:
        raise AssertionError(f"{where}: expected one {kind}, found {len(found)}")
    return found[0]


def problems(root):
    """Every disagreement found for the repository at root, as messages."""
    out = []
    cfg = config_defaults(root)
    margin = master_margin(root)
    have = routes(root)
    dockerfile = read(root, "Dockerfile")
    runtime = dockerfile[dockerfile.rindex("\nFROM "):]
    for path in kustomizations(os.path.join(root, "k8s")):
        where = os.path.relpath(path, os.path.join(root, "k8s"))
        docs = build(path)
        if where.endswith("migrate"):
            job = one(docs, "Job", where)
            cmd = job["spec"]["template"]["spec"]["containers"][0]["command"]
            m = re.search(r"COPY --from=build /src/migrations/ (\S+?)/?\n", runtime)
            if not m or cmd[-1] != m.group(1):
                out.append(f"{where}: the Job migrates {cmd[-1]}, the image has migrations at "
                           f"{m.group(1) if m else '(nowhere)'}")
            continue
        out += check_overlay(where, docs, cfg, margin, have, runtime)
    return out


def setting(env, cfg, name, where, out):
    """A setting's effective value (ConfigMap, else the code's default), checked against the
    code's range."""
    default, lo, hi = cfg[name]
    value = int(env.get(name, default))
    if not lo <= value <= hi:
        out.append(f"{where}: {name}={value} outside walletd's range {lo}..{hi}")
    return value


def check_overlay(where, docs, cfg, margin, have, runtime):
    out = []
    env = one(docs, "ConfigMap", where)["data"]
    port = setting(env, cfg, "PORT", where, out)
    admin = setting(env, cfg, "ADMIN_PORT", where, out)  # 0: probes and metrics on PORT
    drain = setting(env, cfg, "DRAIN_DELAY_SECONDS", where, out)
    shutdown = setting(env, cfg, "SHUTDOWN_TIMEOUT_SECONDS", where, out)
    keepalive = setting(env, cfg, "KEEPALIVE_TIMEOUT_SECONDS", where, out)

    dep = one(docs, "Deployment", where)
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    if ports.get("http") != port:
        out.append(f"{where}: containerPort http={ports.get('http')}, walletd listens on {port}")
    if admin and ports.get("admin") != admin:
        out.append(f"{where}: containerPort admin={ports.get('admin')}, ADMIN_PORT is {admin}")
    probe_port = ("admin", admin) if admin else ("http", port)
    for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready"),
                        ("startupProbe", "/health/live")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or ("GET", path) not in have:
            out.append(f"{where}: {probe} path {get.get('path')}, expected {path} (a GET route)")
        if get.get("port") not in probe_port:
            out.append(f"{where}: {probe} port {get.get('port')} is not where walletd answers "
                       f"probes ({probe_port[0]})")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    need = drain + shutdown + margin + MARGIN_S
    if grace < need:
        out.append(f"{where}: terminationGracePeriodSeconds {grace} < DRAIN_DELAY_SECONDS {drain} + "
                   f"SHUTDOWN_TIMEOUT_SECONDS {shutdown} + master {margin} + margin {MARGIN_S}")
    if "replicas" in dep["spec"]:
        out.append(f"{where}: Deployment sets spec.replicas, but the HPA owns the count")
    user = re.search(r"\nUSER ([0-9]+)", runtime)
    if not user or str(pod["securityContext"].get("runAsUser")) != user.group(1):
        out.append(f"{where}: runAsUser {pod['securityContext'].get('runAsUser')} is not the "
                   f"image's USER {user.group(1) if user else '?'}")
    if f"EXPOSE {port}" not in runtime:
        out.append(f"{where}: the image does not EXPOSE {port}")
    mounts = [m["mountPath"].rstrip("/") + "/" for m in c.get("volumeMounts", [])
              if m["name"] == "api-keys"]
    for name in ("API_KEYS_FILE", "CURSOR_KEY_FILE"):  # both from the api-keys Secret
        path = env.get(name, "")
        if not mounts or not path.startswith(mounts[0]):
            out.append(f"{where}: {name} {path or '(unset)'} is not in the api-keys volume {mounts}")

    svc = one(docs, "Service", where)
    if svc["spec"]["ports"][0].get("targetPort") not in ("http", port):
        out.append(f"{where}: the Service does not target walletd's port")
    if admin and any(sp.get("targetPort") in ("admin", admin) for sp in svc["spec"]["ports"]):
        out.append(f"{where}: the Service exposes ADMIN_PORT (probes and /metrics) to the ALB")

    ing = one(docs, "Ingress", where)
    a = ing["metadata"].get("annotations", {})
    p = "alb.ingress.kubernetes.io/"
    want_hc = str(admin) if admin else "traffic-port"
    if a.get(p + "healthcheck-port", "traffic-port") != want_hc:
        out.append(f"{where}: ALB health check port {a.get(p + 'healthcheck-port')}, walletd "
                   f"answers /health/ready on {want_hc}")
    if a.get(p + "healthcheck-path") != "/health/ready":
        out.append(f"{where}: ALB health check path {a.get(p + 'healthcheck-path')}, not /health/ready")
    if a.get(p + "target-type") != "ip":
        out.append(f"{where}: ALB target type must be ip (readiness gate, direct to pods)")
    attrs = dict(kv.split("=", 1) for kv in
                 a.get(p + "target-group-attributes", "").split(",") if "=" in kv)
    dereg = int(attrs.get("deregistration_delay.timeout_seconds", 300))
    if dereg > drain:
        out.append(f"{where}: deregistration delay {dereg} s > DRAIN_DELAY_SECONDS {drain}: the ALB "
                   f"could still send to a pod that stopped accepting")
    lb = dict(kv.split("=", 1) for kv in
              a.get(p + "load-balancer-attributes", "").split(",") if "=" in kv)
    if lb.get("routing.http.desync_mitigation_mode") != "strictest":
        out.append(f"{where}: ALB desync mitigation {lb.get('routing.http.desync_mitigation_mode')}"
                   f", expected strictest (walletd refuses what is not strict HTTP/1.1)")
    idle = int(lb.get("idle_timeout.timeout_seconds", 60))
    if idle >= keepalive:
        out.append(f"{where}: ALB idle timeout {idle} s >= KEEPALIVE_TIMEOUT_SECONDS {keepalive}: "
                   f"walletd could close a connection the ALB is about to reuse")
    interval = int(a.get(p + "healthcheck-interval-seconds", 15))
    timeout = int(a.get(p + "healthcheck-timeout-seconds", 5))
    unhealthy = int(a.get(p + "unhealthy-threshold-count", 2))
    if timeout >= interval:
        out.append(f"{where}: health check timeout {timeout} s must be below its interval {interval} s")
    if interval * unhealthy > drain:
        out.append(f"{where}: the ALB needs {interval * unhealthy} s to see a draining pod "
                   f"unhealthy, more than DRAIN_DELAY_SECONDS {drain}")
    if a.get(p + "success-codes") != "200":
        out.append(f"{where}: health check success codes {a.get(p + 'success-codes')}, expected 200")
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    if backend["name"] != svc["metadata"]["name"] or backend["port"].get("name") not in \
            [sp.get("name") for sp in svc["spec"]["ports"]]:
        out.append(f"{where}: the Ingress backend is not the Service's port")

    hpa = one(docs, "HorizontalPodAutoscaler", where)
    spec = hpa["spec"]
    if (spec["minReplicas"], spec["maxReplicas"]) != (5, 50):
        out.append(f"{where}: HPA {spec['minReplicas']}..{spec['maxReplicas']}, expected 5..50")
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
               for m in spec["metrics"] if m["type"] == "Resource"}
    if targets != {"cpu": 70, "memory": 80}:
        out.append(f"{where}: HPA targets {targets}, expected cpu 70, memory 80")
    if spec["scaleTargetRef"]["name"] != dep["metadata"]["name"]:
        out.append(f"{where}: the HPA scales {spec['scaleTargetRef']['name']}")

    ns = one(docs, "Namespace", where)
    if ns["metadata"].get("labels", {}).get("elbv2.k8s.aws/pod-readiness-gate-inject") != "enabled":
        out.append(f"{where}: the namespace is not labelled for the ALB pod readiness gate")
    net = one(docs, "NetworkPolicy", where)
    in_ports = [pp["port"] for r in net["spec"]["ingress"] for pp in r.get("ports", [])]
    listens = [port, admin] if admin else [port]
    if in_ports != listens:
        out.append(f"{where}: NetworkPolicy lets in ports {in_ports}, walletd listens on {listens}")
    return out


class AgreementTest(unittest.TestCase):
    def test_manifests_agree_with_the_code(self):
        self.assertEqual(problems(REPO), [])

    # (what, [(file, text, replaced by), ...], expected message)
    BROKEN = [
        ("grace period too short",
         [("k8s/base/deployment.yaml", "terminationGracePeriodSeconds: 75",
           "terminationGracePeriodSeconds: 60")], "terminationGracePeriodSeconds 60 <"),
        # the grace period must follow the code's drain default when the ConfigMap omits it
        ("longer drain default in the code",
         [("k8s/base/walletd.env", "DRAIN_DELAY_SECONDS=35\n", ""),
          ("core/config.c", '"DRAIN_DELAY_SECONDS", 10,', '"DRAIN_DELAY_SECONDS", 60,')],
         "terminationGracePeriodSeconds 75 < DRAIN_DELAY_SECONDS 60"),
        ("deregistration delay above the drain",
         [("k8s/base/ingress.yaml", "deregistration_delay.timeout_seconds=30",
           "deregistration_delay.timeout_seconds=40")], "deregistration delay 40 s >"),
        ("ALB idle timeout above keep-alive",
         [("k8s/base/ingress.yaml", "idle_timeout.timeout_seconds=60",
           "idle_timeout.timeout_seconds=90")], "ALB idle timeout 90 s >="),
        ("ALB lets ambiguous requests through",
         [("k8s/base/ingress.yaml", ",routing.http.desync_mitigation_mode=strictest", "")],
         "ALB desync mitigation None"),
        ("wrong readiness path",
         [("k8s/base/deployment.yaml", "              path: /health/ready",
           "              path: /healthz")], "readinessProbe path /healthz"),
        ("admin port moved in the ConfigMap only",
         [("k8s/base/walletd.env", "ADMIN_PORT=9000", "ADMIN_PORT=9100")],
         "containerPort admin=9000, ADMIN_PORT is 9100"),
        ("probe on the public port while ADMIN_PORT is set",
         [("k8s/base/deployment.yaml", "              path: /health/ready\n              port: admin",
           "              path: /health/ready\n              port: http")],
         "readinessProbe port http is not where walletd answers probes (admin)"),
        ("ALB health check on the traffic port",
         [("k8s/base/ingress.yaml", 'healthcheck-port: "9000"', "healthcheck-port: traffic-port")],
         "ALB health check port traffic-port, walletd answers /health/ready on 9000"),
        ("port moved in the ConfigMap only",
         [("k8s/base/walletd.env", "PORT=3000", "PORT=8080")],
         "containerPort http=3000, walletd listens on 8080"),
        ("setting outside walletd's range",
         [("k8s/base/walletd.env", "SHUTDOWN_TIMEOUT_SECONDS=20", "SHUTDOWN_TIMEOUT_SECONDS=0")],
         "SHUTDOWN_TIMEOUT_SECONDS=0 outside"),
        ("replicas beside the HPA",
         [("k8s/base/deployment.yaml", "  revisionHistoryLimit: 10",
           "  replicas: 3\n  revisionHistoryLimit: 10")], "spec.replicas"),
        ("migrations path not the image's",
         [("k8s/jobs/migrate/job.yaml", "/usr/share/walletd/migrations]", "/migrations]")],
         "the Job migrates /migrations"),
    ]

    def test_broken_copies_are_refused(self):
        for what, edits, expect in self.BROKEN:
            with self.subTest(what), BrokenCopy("k8s", "core/config.c", "cmd/walletd.c",
                                                "api/handlers.c", "Dockerfile") as root:
                for path, old, new in edits:
                    edit(os.path.join(root, path), old, new)
                found = problems(root)
                self.assertTrue(any(expect in p for p in found),
                                f"{what}: expected {expect!r} in {found}")

if __name__ == "__main__":
    unittest.main()
