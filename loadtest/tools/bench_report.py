#!/usr/bin/env python3
"""loadtest/tools/bench_report.py - turn loadtest/bench's raw runs into the results.

  bench_report.py --meta META.json --runs RUNS.jsonl --json OUT.json --png OUT.png [--gnuplot-dir D]

META.json: machine, walletd config, wrk settings (written by loadtest/bench).
RUNS.jsonl: one object per wrk run: {"scenario", "connections", "wrk": <BENCH_RESULT>,
            "metrics_before": path, "metrics_after": path} (the thread count is the BENCH_RESULT's).

Prints the table (TPS, p50/p95/p99, error rate, each against PRODUCT.md section 5's targets with a
PASS / OK / FAIL marker), writes everything as JSON, and draws throughput and p99 against
connections (one line per scenario) with gnuplot.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys

# PRODUCT.md section 5 (the old service's targets): target / acceptable. The printed targets and
# the chart's target lines are made from this table.
TARGETS = {
    "tps": {"target": 1500, "acceptable": 1000, "better": "higher", "unit": "TPS", "label": "throughput"},
    "p50_ms": {"target": 50, "acceptable": 100, "better": "lower", "unit": "ms", "label": "p50"},
    "p95_ms": {"target": 100, "acceptable": 200, "better": "lower", "unit": "ms", "label": "p95"},
    "p99_ms": {"target": 200, "acceptable": 500, "better": "lower", "unit": "ms", "label": "p99"},
    "error_rate": {"target": 0.001, "acceptable": 0.01, "better": "lower", "unit": "ratio",
                   "label": "errors"},
}
RANK = {"PASS": 0, "OK": 1, "FAIL": 2}


def limit(metric, level, unit=True):
    """TARGETS[metric][level] as text: "1,500 TPS", "200 ms", "0.1%" (unit=False: no TPS/ms)."""
    t = TARGETS[metric]
    v = t[level]
    if t["unit"] == "ratio":
        return f"{v * 100:g}%"
    return f"{v:,g}" + (f" {t['unit']}" if unit else "")


def targets_line():
    """throughput > 1,500 / 1,000 TPS   p50 < 50 / 100 ms   ...   errors < 0.1% / 1%"""
    parts = []
    for metric, t in TARGETS.items():
        op = ">" if t["better"] == "higher" else "<"
        parts.append(f"{t['label']} {op} {limit(metric, 'target', unit=False)} / "
                     f"{limit(metric, 'acceptable')}")
    return "   ".join(parts)


def target_lines(metric):
    """gnuplot: the target and acceptable levels of metric as dashed horizontal lines."""
    t = TARGETS[metric]
    return (f'{t["target"]} with lines dt 2 lc rgb "#2e7d32" title "target {limit(metric, "target")}", \\\n'
            f'     {t["acceptable"]} with lines dt 3 lc rgb "#c62828" '
            f'title "acceptable {limit(metric, "acceptable")}"')


def target_title(what, metric):
    op = ">" if TARGETS[metric]["better"] == "higher" else "<"
    return (f"{what} (target {op} {limit(metric, 'target')}, "
            f"acceptable {op} {limit(metric, 'acceptable')})")

METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def grade(metric, value):
    t = TARGETS[metric]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "FAIL"
    if t["better"] == "higher":
        return "PASS" if value > t["target"] else "OK" if value > t["acceptable"] else "FAIL"
    return "PASS" if value < t["target"] else "OK" if value < t["acceptable"] else "FAIL"


def parse_metrics(path):
    """Prometheus text -> {(name, labels): value}; missing file -> {}."""
    out = {}
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = METRIC_RE.match(line.strip())
            if not m:
                continue
            try:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out


def labels(s):
    return dict(re.findall(r'(\w+)="([^"]*)"', s or ""))


def server_delta(before_path, after_path):
    """What walletd itself counted during one run (its /metrics, after minus before)."""
    b, a = parse_metrics(before_path), parse_metrics(after_path)
    if not a:
        return None
    d = {k: v - b.get(k, 0.0) for k, v in a.items()}
    by_class, by_route = {}, {}
    for (name, lab), v in d.items():
        if name == "wallet_http_requests_total" and v:
            l = labels(lab)
            if l.get("route") == "GET /metrics":
                continue
            by_class[l.get("status", "?")] = by_class.get(l.get("status", "?"), 0) + int(v)
            by_route.setdefault(l.get("route", "?"), {})[l.get("status", "?")] = int(v)
    tx = {}
    for (name, lab), v in d.items():
        if name == "wallet_transactions_total" and v:
            l = labels(lab)
            tx[f'{l.get("type")}/{l.get("status")}'] = int(v)
    reads = {}
    for (name, lab), v in d.items():
        if name == "wallet_reads_total" and v:
            role = labels(lab).get("role", "?")
            reads[role] = reads.get(role, 0) + int(v)
    batches = d.get(("wallet_batches_total", ""), 0)
    ops = d.get(("wallet_batch_operations_total", ""), 0)
    return {
        "http_by_class": by_class,
        "http_by_route": by_route,
        "http_5xx": by_class.get("5xx", 0),
        "transactions": tx,
        "batches": int(batches),
        "batch_operations": int(ops),
        "avg_batch_size": round(ops / batches, 2) if batches else None,
        "worker_restarts": int(d.get(("wallet_worker_restarts_total", ""), 0)),
        "reads": reads,
    }


def fmt_num(v):
    return f"{v:,.0f}"


def fmt_ms(v):
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def fmt_rate(v):
    return f"{v * 100:.3f}%"


def build_runs(runs_path):
    runs = []
    with open(runs_path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            w = r["wrk"]
            run = {
                "scenario": r["scenario"],
                "connections": r["connections"],
                "threads": w["threads"],
                "duration_s": w["duration_s"],
                "tps": w["tps"],
                "rps_all": w["rps_all"],
                "p50_ms": w["p50_ms"],
                "p90_ms": w["p90_ms"],
                "p95_ms": w["p95_ms"],
                "p99_ms": w["p99_ms"],
                "p999_ms": w["p999_ms"],
                "latency_ms": w["latency_ms"],
                "requests": w["requests"],
                "ok": w["ok"],
                "unexpected": w["unexpected"],
                "uncounted": w["uncounted"],
                "socket_errors": w["socket_errors"],
                "errors": w["errors"],
                "error_rate": w["error_rate"],
                "statuses": w["statuses"],
                "counters": w.get("counters") or {},
                "server": server_delta(r.get("metrics_before"), r.get("metrics_after")),
                "walletd_alive_after": r.get("walletd_alive_after", True),
                "worker_rss_mib": round(r.get("worker_rss_kib", 0) / 1024, 1),
            }
            if run["scenario"] == "flow":
                cap = run["counters"].get("captured", 0)
                run["flows_per_s"] = cap / run["duration_s"] if run["duration_s"] else 0
            run["grade"] = {m: grade(m, run[m]) for m in TARGETS}
            run["verdict"] = max(run["grade"].values(), key=lambda g: RANK[g])
            runs.append(run)
    return runs


def print_table(meta, runs):
    m, wd, wk = meta["machine"], meta["walletd"], meta["wrk"]
    print()
    print(f"walletd local benchmark  {meta['date']}")
    print(f"machine  {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']:.1f} GiB RAM, {m['kernel']}; "
          f"database, Redis, walletd and wrk all on this machine")
    load = m.get("loadavg_at_start")
    if load:
        busy = load[0] > 0.5 * m["cpus"]
        print(f"load     {' '.join(f'{x:.2f}' for x in load)} (1/5/15 min) before the bench started"
              + ("  ** the machine was busy with other work: these numbers are noisy **" if busy else ""))
    print(f"walletd  {wd['commit']}, build {wd['build_type']}, "
          + " ".join(f"{k}={v}" for k, v in wd["config"].items()))
    print(f"wrk      {wk['version']}, {wk['duration_s']} s per run, up to {wk['threads']} threads, "
          f"--timeout {wk['timeout_s']}s, {wk['wallets']} funded wallets")
    print(f"targets  (PRODUCT.md 5)  {targets_line()}")
    print("         PASS = meets the target, OK = meets the acceptable level, FAIL = neither. "
          "TPS counts expected responses only.")
    print()
    head = f"{'scenario':<17} {'conns':>5}  {'TPS':>13}  {'p50 ms':>12}  {'p95 ms':>12}  " \
           f"{'p99 ms':>12}  {'errors':>14}  {'verdict':<7}"
    print(head)
    print("-" * len(head))
    last = None
    for r in runs:
        if last is not None and r["scenario"] != last:
            print()
        last = r["scenario"]
        g = r["grade"]
        print(f"{r['scenario']:<17} {r['connections']:>5}  "
              f"{fmt_num(r['tps']):>8} {g['tps']:<4}  "
              f"{fmt_ms(r['p50_ms']):>7} {g['p50_ms']:<4}  "
              f"{fmt_ms(r['p95_ms']):>7} {g['p95_ms']:<4}  "
              f"{fmt_ms(r['p99_ms']):>7} {g['p99_ms']:<4}  "
              f"{fmt_rate(r['error_rate']):>9} {g['error_rate']:<4}  {r['verdict']:<7}")
    print()
    # Anything that was not a clean success, spelled out.
    notes = []
    for r in runs:
        where = f"{r['scenario']} c={r['connections']}"
        if r["errors"]:
            se = r["socket_errors"]
            notes.append(f"{where}: {r['errors']} errors: {r['unexpected']} unexpected responses "
                         f"(statuses {json.dumps(r['statuses'], sort_keys=True)}), socket errors "
                         f"connect {se['connect']} read {se['read']} write {se['write']} "
                         f"timeout {se['timeout']}")
        if r["uncounted"]:
            notes.append(f"{where}: {r['uncounted']} responses were not seen by response() (wrk bug?)")
        s = r["server"]
        if s and s["http_5xx"]:
            notes.append(f"{where}: walletd answered {s['http_5xx']} requests with 5xx: "
                         f"{json.dumps(s['http_by_route'], sort_keys=True)}")
        if s and s["worker_restarts"]:
            notes.append(f"{where}: {s['worker_restarts']} walletd worker restart(s)")
        if not r["walletd_alive_after"]:
            notes.append(f"{where}: walletd was not running after this run")
    for r in runs:
        if r["scenario"] == "flow":
            c = r["counters"]
            print(f"flow c={r['connections']}: {r['flows_per_s']:,.0f} authorize->capture pairs/s "
                  f"({c.get('authorized', 0)} authorized, {c.get('captured', 0)} captured)")
    for r in runs:
        s = r["server"]
        if s and s["avg_batch_size"] and r["scenario"] in ("authorize", "flow"):
            print(f"{r['scenario']} c={r['connections']}: walletd group commits averaged "
                  f"{s['avg_batch_size']} operations per batch ({s['batches']} batches)")
    for r in runs:
        reads = (r["server"] or {}).get("reads") or {}
        total = sum(reads.values())
        if total:
            print(f"{r['scenario']} c={r['connections']}: {reads.get('replica', 0):,} of {total:,} "
                  f"reads served by replicas ({100 * reads.get('replica', 0) / total:.1f}%)")
    gets = {r["connections"]: r for r in runs if r["scenario"] == "get_wallet"}
    for r in runs:
        if r["scenario"] == "get_wallet_strong" and r["connections"] in gets and r["tps"]:
            g = gets[r["connections"]]
            print(f"get_wallet c={r['connections']}: replica reads {fmt_num(g['tps'])} rps = "
                  f"{g['tps'] / r['tps']:.2f}x the primary path's {fmt_num(r['tps'])} rps")
    rss = [r["worker_rss_mib"] for r in runs if r.get("worker_rss_mib")]
    if rss:
        print(f"memory: largest walletd worker peak RSS (VmHWM) {max(rss):.1f} MiB "
              f"(target < 32 MiB per worker)")
    ceiling = meta.get("ceiling") or []
    if ceiling:
        print()
        print("ceiling: the same authorize SQL straight at the cluster from C threads, no HTTP "
              "(loadtest/ceiling.c)")
        for c in ceiling:
            auth = next((r for r in runs if r["scenario"] == "authorize"
                         and r["connections"] == c["clients"]), None)
            share = f"  walletd authorize = {100 * auth['tps'] / c['tps']:.0f}% of this" \
                if auth and c["tps"] else ""
            what = ("one DB transaction per authorize" if c["mode"] == "single"
                    else f"group commit, {c['db_pool_size']} writers per shard")
            print(f"  {c['mode']:<6} c={c['clients']:<4} {fmt_num(c['tps']):>8} TPS  "
                  f"p50 {c['p50_ms']:.2f}  p95 {c['p95_ms']:.2f}  p99 {c['p99_ms']:.2f} ms  "
                  f"({what}){share}")
    srv = meta.get("server", {})
    if srv:
        print(f"walletd log: {srv.get('log_lines', 0)} lines at LOG_LEVEL={wd['config'].get('LOG_LEVEL')}, "
              f"{srv.get('log_errors', 0)} at level error")
        for line in srv.get("log_samples", []):
            print(f"  {line}")
        v = srv.get("verify")
        if v:
            print(f"walletctl verify: {v['result']} ({v['summary']})")
    if srv.get("log_errors"):
        notes.append(f"walletd logged {srv['log_errors']} errors (samples above)")
    pings = [l for l in srv.get("log_samples", []) if "ping failed" in l]
    if pings:
        notes.append("walletd's dependency checker missed a ping (2 s timeout) on a starved machine; "
                     "one miss does not turn /health/ready 503 (two in a row do)")
    elif srv.get("log_samples"):
        notes.append("walletd logged warnings (samples above)")
    if notes:
        print("problems:")
        for n in notes:
            print(f"  - {n}")
    else:
        print("problems: none (no unexpected statuses, no socket errors, no 5xx, no worker restarts, "
              "no warnings logged)")
    print()


def plot(meta, runs, png, workdir):
    scenarios = []
    for r in runs:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
    data = os.path.join(workdir, "bench-plot.dat")
    with open(data, "w") as f:
        for s in scenarios:
            f.write(f"# {s}\n# connections tps p99_ms p50_ms p95_ms\n")
            for r in sorted((r for r in runs if r["scenario"] == s), key=lambda r: r["connections"]):
                f.write(f"{r['connections']} {r['tps']:.1f} {r['p99_ms']:.3f} {r['p50_ms']:.3f} "
                        f"{r['p95_ms']:.3f}\n")
            f.write("\n\n")
    conns = sorted({r["connections"] for r in runs})
    names = " ".join(scenarios)
    xr_lo, xr_hi = conns[0] / 1.5, conns[-1] * 1.5
    xtics = ", ".join(f'"{c}" {c}' for c in conns)
    m, wk = meta["machine"], meta["wrk"]
    subtitle = (f"{meta['date']}: {m['cpus']} CPUs, {wk['duration_s']} s per run, "
                f"successful requests only").replace('"', "'")
    script = os.path.join(workdir, "bench-plot.gp")
    with open(script, "w") as f:
        f.write(f"""
set terminal pngcairo size 1100,900 font "sans,10" noenhanced
set output "{png}"
names = "{names}"
set multiplot layout 2,1 title "walletd local benchmark (wrk), {subtitle}"
set lmargin 12
set rmargin 30
set logscale x 2
set logscale y 10
set xrange [{xr_lo}:{xr_hi}]
set xtics ({xtics})
set grid xtics ytics mytics
set key outside right top
set xlabel "connections"
set format y "%.0f"
set ylabel "successful requests/s (log)"
set title "{target_title("throughput", "tps")}"
plot for [i=1:words(names)] "{data}" index (i-1) using 1:2 with linespoints lw 2 pt 7 title word(names, i), \\
     {target_lines("tps")}
set ylabel "p99 latency, ms (log)"
set title "{target_title("p99 latency", "p99_ms")}"
plot for [i=1:words(names)] "{data}" index (i-1) using 1:3 with linespoints lw 2 pt 7 title word(names, i), \\
     {target_lines("p99_ms")}
unset multiplot
""")
    res = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if res.returncode != 0:
        print(f"gnuplot failed: {res.stderr}", file=sys.stderr)
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--ceiling", default=None)
    a = ap.parse_args()

    with open(a.meta) as f:
        meta = json.load(f)
    meta["ceiling"] = []
    if a.ceiling and os.path.exists(a.ceiling):
        with open(a.ceiling) as f:
            meta["ceiling"] = [json.loads(line) for line in f if line.strip()]
    runs = build_runs(a.runs)
    if not runs:
        print("bench_report: no runs", file=sys.stderr)
        return 1
    meta["targets"] = TARGETS
    meta["runs"] = runs
    meta["verdict"] = max((r["verdict"] for r in runs), key=lambda g: RANK[g])
    print_table(meta, runs)
    ok = plot(meta, runs, a.png, a.workdir)
    meta["chart"] = os.path.basename(a.png) if ok else None
    tmp = a.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, a.json)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
