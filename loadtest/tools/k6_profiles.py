#!/usr/bin/env python3
"""loadtest/tools/k6_profiles.py - one k6 profile run, measured; and the table of all of them.

  k6_profiles.py run --profile NAME --url URL --walletd-pid PID --walletctl PATH --results DIR
                     --out RUNS.jsonl -- K6 ARGS...
  k6_profiles.py report --runs RUNS.jsonl --markdown OUT.md --json OUT.json

`run` (used by loadtest/k6-profiles) runs k6 with ARGS (its handleSummary writes into DIR) and
measures, over the run: the CPU k6 itself used (its rusage: every thread, to the end), the CPU of
walletd's processes (/proc/PID/stat of the master and its workers), how busy the whole machine was
(/proc/stat), k6's peak RSS, walletd's workers' peak RSS (VmHWM), and walletd's own latency
quantiles (its /metrics histogram: from reading a request to writing its answer, so beside k6's
they show how much of the latency was outside walletd); then runs `walletctl verify`
(the cluster's variables must be in the environment). It appends one JSON line to RUNS.jsonl and
exits 0 if k6 wrote its summary and verify passed (a failed threshold is a result here).

`report` reads those lines and each run's k6 summary JSON (loadtest/lib.js `summary`: requests,
req/s, p50/p95/p99, errors, dropped iterations, each with its verdict against PRODUCT.md section
5) and prints one Markdown table, the one docs/PERFORMANCE.md quotes.
"""

import argparse
import glob
import json
import os
import re
import resource
import subprocess
import sys
import time
import urllib.request

TICKS = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def machine_ticks():
    """(busy, total) clock ticks of all CPUs since boot (/proc/stat; idle and iowait are idle)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - idle, total


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def proc_cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def walletd_cpu(master):
    """CPU seconds of walletd's master and workers: {pid: seconds}."""
    return {pid: proc_cpu_seconds(pid) for pid in [master] + children(master)}


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def histogram(url):
    """walletd's request latency histogram, every route but /metrics: {bound ms: cumulative}."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for m in re.finditer(r'^wallet_http_request_duration_ms_bucket\{route="([^"]*)",le="([^"]+)"\} (\S+)$',
                         text, re.M):
        if m.group(1) != "GET /metrics":
            out[m.group(2)] = out.get(m.group(2), 0) + float(m.group(3))
    return out


def quantile_bounds(before, after):
    """{p50, p95, p99: "<= 10" (ms), the histogram bound the quantile falls under, or "> 10000"},
    from two snapshots; None if there were no requests."""
    delta = sorted(((float("inf") if le == "+Inf" else float(le)), after[le] - before.get(le, 0))
                   for le in after)
    total = delta[-1][1] if delta else 0
    if not total:
        return None
    finite = [le for le, _ in delta if le != float("inf")]
    out = {}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        le = next(le for le, n in delta if n >= q * total)
        out[name] = f"<= {le:g}" if le != float("inf") else f"> {max(finite):g}"
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def run(args):
    k6_cmd = args.k6
    if k6_cmd and k6_cmd[0] == "--":
        k6_cmd = k6_cmd[1:]
    os.makedirs(args.results, exist_ok=True)
    load_start = loadavg()
    busy0, total0 = machine_ticks()
    wd0 = walletd_cpu(args.walletd_pid)
    hist0 = histogram(args.url)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with open(os.path.join(args.results, "k6.stdout"), "w") as out, \
            open(os.path.join(args.results, "k6.stderr"), "w") as err:
        proc = subprocess.Popen(k6_cmd, stdout=out, stderr=err)
        # while k6 runs: the workers' resident sets (a worker the master restarts is a new pid)
        worker_rss = {}
        while proc.poll() is None:
            for pid in children(args.walletd_pid):
                worker_rss[pid] = max(worker_rss.get(pid, 0), status_kib(pid, "VmRSS"))
            time.sleep(1)
    wall = time.monotonic() - started
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wd1 = walletd_cpu(args.walletd_pid)
    hist1 = histogram(args.url)
    busy1, total1 = machine_ticks()
    workers = children(args.walletd_pid)

    k6_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    walletd_cpu_s = sum(wd1[pid] - wd0.get(pid, 0.0) for pid in wd1)
    summaries = sorted(glob.glob(os.path.join(args.results, "*.json")))
    record = {
        "profile": args.profile,
        "command": " ".join(a if not a.startswith("TEST_TOKEN=") else "TEST_TOKEN=..." for a in k6_cmd),
        "k6_exit": proc.returncode,
        "wall_s": round(wall, 1),
        "cpus": NCPU,
        "k6_cpu_s": round(k6_cpu, 1),
        "k6_cores": round(k6_cpu / wall, 2),
        "k6_peak_rss_kib": ru1.ru_maxrss,  # the largest child so far: k6 (ps, the other, is tiny)
        "walletd_cpu_s": round(walletd_cpu_s, 1),
        "walletd_cores": round(walletd_cpu_s / wall, 2),
        "machine_busy": round((busy1 - busy0) / max(1, total1 - total0), 3),
        "walletd_workers": len(workers),
        "worker_peak_rss_kib": max([status_kib(pid, "VmHWM") for pid in workers] + [0]),
        "worker_max_rss_sampled_kib": max(list(worker_rss.values()) + [0]),
        "walletd_latency_bound_ms": quantile_bounds(hist0, hist1),
        "walletd_alive": os.path.exists(f"/proc/{args.walletd_pid}"),
        "summary": summaries[-1] if summaries else None,
        "loadavg_at_start": load_start,  # other work on the machine skews every number
        "loadavg_at_end": loadavg(),
    }
    verify = subprocess.run([args.walletctl, "verify"], capture_output=True, text=True)
    last = (verify.stdout.strip().splitlines() or [verify.stderr.strip()])[-1]
    record["verify"] = ("ok" if verify.returncode == 0 else "FAILED") + f" ({last})"
    with open(args.out, "a") as f:
        f.write(json.dumps(record) + "\n")
    return 0 if record["summary"] and verify.returncode == 0 else 1


def bounds(run):
    b = run.get("walletd_latency_bound_ms")
    return " / ".join(b[q] for q in ("p50", "p95", "p99")) + " ms" if b else "-"


def fmt(v, digits=1):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def report(args):
    rows = []
    with open(args.runs) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    for r in runs:
        summary = None
        if r.get("summary") and os.path.exists(r["summary"]):
            with open(r["summary"]) as sf:
                summary = json.load(sf)
        for s in summary["scenarios"] if summary else [None]:
            rows.append((r, s, summary))

    lines = [
        "| profile | requests | req/s | p50 ms | p95 ms | p99 ms | errors | dropped iterations "
        "| max VUs | k6 thresholds | walletd's own p50/p95/p99 | worker peak RSS | k6 CPU "
        "| walletd CPU | machine busy | verify |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r, s, summary in rows:
        if s is None:
            lines.append(f"| {r['profile']} | no summary (k6 exit {r['k6_exit']}) |" + " |" * 14)
            continue
        v = s["verdicts"]
        metrics = summary["k6"]["metrics"]
        vus_max = metrics.get("vus_max", {}).get("values", {}).get("max")
        failed = [f"{t['metric']} {t['threshold']}" for t in summary["thresholds"] if not t["ok"]]
        thresholds = "all met" if not failed else "failed: " + "; ".join(failed)
        cores = f"{r['cpus']} cores"
        lines.append(
            f"| {r['profile']} | {s['requests']:,} | {fmt(s['perSecond'])} {v['throughput']} "
            f"| {fmt(s['p50'], 2)} {v['p50']} | {fmt(s['p95'], 2)} {v['p95']} "
            f"| {fmt(s['p99'], 2)} {v['p99']} | {100 * (s['errors'] or 0):.3f}% {v['errors']} "
            f"| {s['dropped']:,} | {fmt(vus_max, 0)} | {thresholds} | {bounds(r)} "
            f"| {r['worker_peak_rss_kib'] / 1024:.1f} MiB "
            f"| {r['k6_cores']:.2f} of {cores} | {r['walletd_cores']:.2f} "
            f"| {100 * r['machine_busy']:.0f}% | {r.get('verify', '-')} |")
    notes = [
        "",
        "req/s: the scenario's requests / its planned length. walletd's own p50/p95/p99: the bound "
        "of its /metrics histogram each falls under, from reading a request to writing the answer "
        "(all requests of the run, setup's too); the rest of k6's latency was spent outside "
        "walletd. k6 CPU, walletd CPU: cores used on average over the whole k6 run (setup "
        "included); machine busy: all CPUs, everything on the machine (the databases, Redis, k6, "
        "walletd, and any other work).",
    ]
    for r in runs:
        notes.append(f"- {r['profile']}: load average {' '.join(r['loadavg_at_start'])} before "
                     f"it; k6 ran {r['wall_s']:.0f} s, exit {r['k6_exit']}.")
        busy = r["machine_busy"]
        if busy >= 0.95:
            notes.append(f"- {r['profile']}: the machine was saturated ({100 * busy:.0f}% busy); "
                         f"k6 itself took {r['k6_cores']:.2f} of the {r['cpus']} cores, walletd "
                         f"{r['walletd_cores']:.2f}.")
    text = "\n".join(lines + notes) + "\n"
    print(text)
    with open(args.markdown, "w") as f:
        f.write(text)
    with open(args.json, "w") as f:
        json.dump(runs, f, indent=2)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--profile", required=True)
    r.add_argument("--url", required=True)
    r.add_argument("--walletd-pid", type=int, required=True)
    r.add_argument("--walletctl", required=True)
    r.add_argument("--results", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("k6", nargs=argparse.REMAINDER)
    rep = sub.add_parser("report")
    rep.add_argument("--runs", required=True)
    rep.add_argument("--markdown", required=True)
    rep.add_argument("--json", required=True)
    args = p.parse_args()
    return run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    sys.exit(main())
