#!/usr/bin/env python3
"""Per-core scaling of busbar from per-shard-thread CPU costs, for machines too small to show
it by throughput (issue 15, "Scaling beyond this machine").

For each shard count in --threads-list it starts busbar (`--threads N --save '' --appendonly
no`) pinned with taskset to --server-cpus (default: cores 0..N-1), runs a load generator
pinned to --load-cpus (default: every core the server does not have), and around a measured
window reads

- utime+stime of every shard thread (/proc/PID/task/TID/stat, threads named `shard-N`)
  and of the whole process,
- INFO stats `total_commands_processed` and `hops_total`.

From them: requests/s, hops per request, CPU µs per request per shard thread and in total,
and a fit of total CPU per request = c_local + hops_per_request x c_hop, with c_local from
the one-shard run (it never hops) and c_hop from the runs with more shards. The model then
predicts what N shards on N cores could serve:

    capacity(N) = N / (c_local + h(N) x c_hop)   requests/s

with h(N) the hops per request of uniformly random keys (`hops_per_request_uniform`), and
with h = 0 (hash-tagged or single-key workloads once a connection sits on the shard that
owns its keys). It writes OUT/NAME.md (measured rows, then predicted rows), OUT/NAME.svg
(requests/s against shards, log-log) and OUT/NAME.json (every run's readings).

Here (2 cores; both shards share core 0, the load has core 1):

  loadtest/scripts/scaling.py --threads-list 1,2 --server-cpus 0 --load-cpus 1 --rounds 3

On a 64-core box (server on cores 0..N-1, redis-benchmark with 8 threads on cores 32-63):

  loadtest/scripts/scaling.py --threads-list 1,2,4,8,16 --load-cpus 32-63 --bench-threads 8

`--load kv` drives busbar-load's kv scenario instead of redis-benchmark (`--load-bin`,
default target/release/busbar-load). `--self-test` checks the /proc parsing, the fit, the
model and the SVG on synthetic numbers and starts nothing; `--from-json OUT/NAME.json` writes the
table and plot again from a saved sweep.

The measured window is the script's own: the load generator runs open-ended (redis-benchmark
with a request count it cannot reach; kv with a duration past the window), the readings are
taken --warmup seconds after it started and again --duration seconds later, and then the
generator is stopped by pid. Requests/s is the change in total_commands_processed over the
window (minus the script's own INFO calls).
"""
import argparse, json, os, platform, socket, statistics, subprocess, sys, time
import xml.etree.ElementTree as ET

from servers import free_port, stop, wait_ready

TICK = os.sysconf("SC_CLK_TCK")
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
# redis-benchmark stops after -n requests; this many outlasts any window at any speed.
BENCH_REQUESTS = 2_000_000_000


# ---- /proc and INFO readings ----------------------------------------------------------

def stat_cpu_ticks(text):
    """utime+stime (clock ticks) from the text of a /proc/.../stat file. The command name
    sits in parentheses and may hold spaces or parentheses itself, so the fields are counted
    from the last ')'; utime and stime are fields 14 and 15 of the file."""
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def shard_threads(pid):
    """{shard id: tid} of busbar's shard threads (comm `shard-N`)."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        if name.startswith("shard-") and name[6:].isdigit():
            found[int(name[6:])] = int(tid)
    return found


def read_ticks(path):
    with open(path) as f:
        return stat_cpu_ticks(f.read())


def parse_info(text):
    """field -> value of an INFO reply's `name:value` lines."""
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def info_stats(port):
    """total_commands_processed and hops_total from INFO stats (one RESP round trip)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n")
        buf = b""
        while b"\r\n" not in buf:
            buf += s.recv(65536)
        head, rest = buf.split(b"\r\n", 1)
        if not head.startswith(b"$"):
            raise SystemExit(f"INFO stats: unexpected reply {head!r}")
        need = int(head[1:]) + 2
        while len(rest) < need:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    info = parse_info(rest.decode())
    return int(info["total_commands_processed"]), int(info.get("hops_total", 0))


def reading(pid, port, tids):
    """One snapshot: wall clock, CPU ticks per shard and of the process, INFO counters."""
    t = time.monotonic()
    shards = {i: read_ticks(f"/proc/{pid}/task/{tid}/stat") for i, tid in tids.items()}
    total = read_ticks(f"/proc/{pid}/stat")
    commands, hops = info_stats(port)
    return {"t": t, "shards": shards, "total": total, "commands": commands, "hops": hops}


def window_figures(a, b, shards):
    """Figures of one measured window between readings `a` and `b`."""
    wall = b["t"] - a["t"]
    # The INFO call of reading `b` counts itself; the one of `a` was counted before `a`.
    requests = b["commands"] - a["commands"] - 1
    if requests <= 0:
        raise SystemExit("no requests in the measured window")
    us = lambda ticks: ticks / TICK * 1e6 / requests
    per_shard = [us(b["shards"][i] - a["shards"][i]) for i in range(shards)]
    total = us(b["total"] - a["total"])
    return {
        "wall_s": wall,
        "requests": requests,
        "rps": requests / wall,
        "hops_per_request": (b["hops"] - a["hops"]) / requests,
        "cpu_us_per_request_shard": per_shard,
        "cpu_us_per_request_total": total,
        "server_cores_busy": (b["total"] - a["total"]) / TICK / wall,
    }


# ---- the model --------------------------------------------------------------------------

def hops_per_request_uniform(n, pipeline):
    """Expected hops per request for uniformly random keys over n shards, when the home
    shard sends each run of consecutive pipelined commands with one owner as one hop: a
    command hops if its owner is another shard ((n-1)/n) and it starts a run (the first of
    the pipeline, or the one before it had another owner, (n-1)/n). At -P 1 it is (n-1)/n."""
    remote = (n - 1) / n
    if pipeline <= 1:
        return remote
    return remote * (1 / pipeline + (1 - 1 / pipeline) * remote)


def fit(points):
    """c_local, c_hop from (hops per request, CPU µs per request) points: c_local is the
    mean of the points without hops (the one-shard runs), c_hop the least-squares slope
    through (0, c_local) of the others. None for what the points cannot give."""
    local = [y for h, y in points if h == 0]
    if not local:
        return None, None
    c_local = statistics.mean(local)
    hopping = [(h, y) for h, y in points if h > 0]
    if not hopping:
        return c_local, None
    c_hop = sum(h * (y - c_local) for h, y in hopping) / sum(h * h for h, _ in hopping)
    return c_local, c_hop


def capacity(n, c_local, c_hop, hops):
    """Requests/s that n shards on n cores could serve at `hops` per request (µs costs)."""
    return n / ((c_local + hops * c_hop) * 1e-6)


# ---- running ----------------------------------------------------------------------------

def cpu_list(text):
    """'0-3,8' -> [0, 1, 2, 3, 8]."""
    out = []
    for part in text.split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def cpu_text(cpus):
    return ",".join(str(c) for c in cpus)


def start_server(args, shards, cpus):
    port = free_port()
    cmd = ["taskset", "-c", cpu_text(cpus), args.busbar_bin, "--port", str(port),
           "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--threads", str(shards)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, proc)
    tids = shard_threads(proc.pid)
    if sorted(tids) != list(range(shards)):
        stop(proc)
        raise SystemExit(f"expected threads shard-0..shard-{shards - 1}, found {sorted(tids)}")
    return proc, port, tids


def load_command(args, port, test, pipeline, load_cpus):
    pin = ["taskset", "-c", cpu_text(load_cpus)]
    if args.load == "kv":
        seconds = int(args.warmup + args.duration + 30)
        return pin + [args.load_bin, "kv", "-p", str(port), "-c", str(args.c), "-P", str(pipeline),
                      "--keys", str(args.keys), "--ratio", args.ratio, "--warmup", "0s",
                      "--duration", f"{seconds}s", "--threads", str(args.bench_threads or len(load_cpus)),
                      "--no-prefill", "-q"]
    cmd = pin + ["redis-benchmark", "-p", str(port), "-c", str(args.c), "-P", str(pipeline),
                 "-n", str(BENCH_REQUESTS), "-r", str(args.r), "-q", "-t", test]
    if args.bench_threads:
        cmd += ["--threads", str(args.bench_threads)]
    return cmd


def measure(args, proc, port, tids, test, pipeline, load_cpus):
    cmd = load_command(args, port, test, pipeline, load_cpus)
    load = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(args.warmup)
        a = reading(proc.pid, port, tids)
        time.sleep(args.duration)
        b = reading(proc.pid, port, tids)
        if load.poll() is not None:
            raise SystemExit(f"load generator exited early ({load.returncode}): {' '.join(cmd)}")
    finally:
        if load.poll() is None:
            stop(load)
    return window_figures(a, b, len(tids))


def workloads(args):
    tests = ["kv"] if args.load == "kv" else [t for t in args.tests.split(",") if t]
    return [(t, int(p)) for p in args.P.split(",") for t in tests]


def run_sweep(args):
    cores = os.cpu_count()
    runs = []
    for rnd in range(args.rounds):
        for shards in [int(x) for x in args.threads_list.split(",")]:
            server_cpus = cpu_list(args.server_cpus) if args.server_cpus else list(range(shards))
            load_cpus = (cpu_list(args.load_cpus) if args.load_cpus
                         else [c for c in range(cores) if c not in server_cpus])
            if not load_cpus:
                raise SystemExit(f"--threads {shards}: no cores left for the load; give --load-cpus")
            proc, port, tids = start_server(args, shards, server_cpus)
            try:
                for test, pipeline in workloads(args):
                    fig = measure(args, proc, port, tids, test, pipeline, load_cpus)
                    fig.update(round=rnd + 1, shards=shards, test=test, pipeline=pipeline,
                               server_cpus=server_cpus, load_cpus=load_cpus)
                    runs.append(fig)
                    print(f"round {rnd + 1} shards {shards} {test} -P {pipeline}: "
                          f"{fig['rps']:,.0f} req/s, {fig['hops_per_request']:.3f} hops/req, "
                          f"{fig['cpu_us_per_request_total']:.2f} µs/req", file=sys.stderr)
            finally:
                stop(proc)
    return runs


# ---- summaries, table, plot -------------------------------------------------------------

def summarize(runs, predict):
    """Medians per (test, pipeline, shards), the fit per (test, pipeline), predictions."""
    groups = {}
    for r in runs:
        groups.setdefault((r["test"], r["pipeline"]), {}).setdefault(r["shards"], []).append(r)
    out = []
    for (test, pipeline), by_shards in groups.items():
        measured = []
        for shards, rs in sorted(by_shards.items()):
            med = lambda key: statistics.median(r[key] for r in rs)
            measured.append({
                "shards": shards,
                "rounds": len(rs),
                "rps": med("rps"),
                "rps_range": [min(r["rps"] for r in rs), max(r["rps"] for r in rs)],
                "cpu_us_per_request_total_range": [min(r["cpu_us_per_request_total"] for r in rs),
                                                   max(r["cpu_us_per_request_total"] for r in rs)],
                "hops_per_request": med("hops_per_request"),
                "hops_per_request_uniform": hops_per_request_uniform(shards, pipeline),
                "cpu_us_per_request_total": med("cpu_us_per_request_total"),
                "cpu_us_per_request_shard": [statistics.median(r["cpu_us_per_request_shard"][i] for r in rs)
                                             for i in range(shards)],
                "server_cores_busy": med("server_cores_busy"),
            })
        c_local, c_hop = fit([(m["hops_per_request"], m["cpu_us_per_request_total"]) for m in measured])
        # The same fit within each round alone, for the spread the medians hide.
        per_round = [fit([(r["hops_per_request"], r["cpu_us_per_request_total"])
                          for rs in by_shards.values() for r in rs if r["round"] == rnd])
                     for rnd in sorted({r["round"] for rs in by_shards.values() for r in rs})]
        spread = lambda xs: [min(xs), max(xs)] if xs else None
        predicted = []
        if c_local is not None:
            for n in predict:
                h = hops_per_request_uniform(n, pipeline)
                predicted.append({
                    "shards": n,
                    "hops_per_request_uniform": h,
                    "rps_uniform": capacity(n, c_local, c_hop, h) if c_hop is not None else None,
                    "rps_no_hops": capacity(n, c_local, 0.0, 0.0),
                })
        out.append({"test": test, "pipeline": pipeline, "c_local_us": c_local, "c_hop_us": c_hop,
                    "c_local_us_range": spread([c for c, _ in per_round if c is not None]),
                    "c_hop_us_range": spread([h for _, h in per_round if h is not None]),
                     "measured": measured, "predicted": predicted})
    return out


def thousands(x):
    return "–" if x is None else f"{x:,.0f}"


def markdown(summary, args, command, env=None):
    machine = (f"Machine: {env['cores']} cores ({env['cpu']}), Linux {env['kernel']}. " if env else "")
    lines = [f"`{command}`", "", machine +
             f"Medians of {args.rounds} rounds, {args.duration:g} s windows after {args.warmup:g} s of warm-up.",
             "CPU is utime+stime from /proc (shard threads by name; total = the whole process).", "",
             "Measured:", "",
             "| test | -P | shards | req/s (min–max) | hops/req | hops/req, uniform model | server cores busy "
             "| CPU µs/req total (min–max) | CPU µs/req per shard thread |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for g in summary:
        for m in g["measured"]:
            per = " / ".join(f"{x:.2f}" for x in m["cpu_us_per_request_shard"])
            rps_lo, rps_hi = m["rps_range"]
            cpu_lo, cpu_hi = m["cpu_us_per_request_total_range"]
            lines.append(f"| {g['test']} | {g['pipeline']} | {m['shards']} "
                         f"| {thousands(m['rps'])} ({thousands(rps_lo)}–{thousands(rps_hi)}) "
                         f"| {m['hops_per_request']:.3f} | {m['hops_per_request_uniform']:.3f} "
                         f"| {m['server_cores_busy']:.2f} "
                         f"| {m['cpu_us_per_request_total']:.2f} ({cpu_lo:.2f}–{cpu_hi:.2f}) | {per} |")
    lines += ["", "Fit (total CPU µs/req = c_local + hops/req × c_hop):", "",
              "| test | -P | c_local µs/req | c_hop µs/hop | c_hop fitted per round (min–max) |",
              "|---|---:|---:|---:|---:|"]
    fmt = lambda x: "–" if x is None else f"{x:.2f}"
    for g in summary:
        r = g["c_hop_us_range"]
        lines.append(f"| {g['test']} | {g['pipeline']} | {fmt(g['c_local_us'])} | {fmt(g['c_hop_us'])} "
                     f"| {fmt(r[0]) + '–' + fmt(r[1]) if r else '–'} |")
    lines += ["", "**Predicted** (model, not measured): N shards on N cores, the load generator "
              "on cores of its own, no shared bottleneck:", "",
              "| test | -P | shards | hops/req (uniform keys) | predicted req/s, uniform keys "
              "| predicted req/s, 0 hops (hash tags / placed connections) |",
              "|---|---:|---:|---:|---:|---:|"]
    for g in summary:
        for p in g["predicted"]:
            lines.append(f"| {g['test']} | {g['pipeline']} | {p['shards']} | {p['hops_per_request_uniform']:.3f} "
                         f"| {thousands(p['rps_uniform'])} | {thousands(p['rps_no_hops'])} |")
    return "\n".join(lines) + "\n"


COLORS = ["#c82828", "#1e5ac8", "#28963c", "#8c50aa", "#d2781e", "#289696"]


def svg(summary, title):
    """Requests/s against shards, both axes log: measured medians as dots, the model's
    prediction for uniform keys as a solid line and for 0 hops as a dashed one."""
    w, h, left, right, top, bottom = 900, 520, 80, 260, 40, 60
    xs = sorted({m["shards"] for g in summary for m in g["measured"]}
                | {p["shards"] for g in summary for p in g["predicted"]} | {1})
    ys = [m["rps"] for g in summary for m in g["measured"]]
    ys += [v for g in summary for p in g["predicted"] for v in (p["rps_uniform"], p["rps_no_hops"]) if v]
    ys += [capacity(n, g["c_local_us"], g["c_hop_us"] or 0, hops_per_request_uniform(n, g["pipeline"]))
           for g in summary if g["c_local_us"] for n in xs]
    import math
    x_lo, x_hi = math.log2(min(xs)), math.log2(max(xs)) if max(xs) > min(xs) else math.log2(min(xs)) + 1
    y_lo = math.floor(math.log10(min(ys)))
    y_hi = math.ceil(math.log10(max(ys)))
    if y_hi == y_lo:
        y_hi += 1
    px = lambda n: left + (math.log2(n) - x_lo) / (x_hi - x_lo) * (w - left - right)
    py = lambda v: h - bottom - (math.log10(v) - y_lo) / (y_hi - y_lo) * (h - top - bottom)
    out = [f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect x="0" y="0" width="{w}" height="{h}" fill="#FFFFFF"/>',
           f'<text x="{(w - right + left) / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
           f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" '
           f'fill="none" stroke="#000000"/>']
    for n in xs:
        x = px(n)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{h - bottom}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{x:.1f}" y="{h - bottom + 18}" text-anchor="middle">{n}</text>')
    for e in range(y_lo, y_hi + 1):
        y = py(10 ** e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        label = f"{10 ** e:,}" if e < 6 else f"{10 ** (e - 6):g}M"
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    out.append(f'<text x="{(w - right + left) / 2}" y="{h - 18}" text-anchor="middle">shards (log scale)</text>')
    out.append(f'<text x="20" y="{(h - bottom + top) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 20 {(h - bottom + top) / 2})">requests/s (log scale)</text>')
    legend_y = top + 10
    for i, g in enumerate(summary):
        color = COLORS[i % len(COLORS)]
        name = f"{g['test']} -P {g['pipeline']}"
        c_local, c_hop = g["c_local_us"], g["c_hop_us"]
        if c_local is not None:
            # The model at every shard count on the axis, measured ones included.
            if c_hop is not None:
                pts = [(n, capacity(n, c_local, c_hop, hops_per_request_uniform(n, g["pipeline"])))
                       for n in xs]
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                           + " ".join(f"{px(n):.1f},{py(v):.1f}" for n, v in pts) + '"/>')
            pts = [(n, capacity(n, c_local, 0, 0)) for n in xs]
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" stroke-dasharray="5,4" points="'
                       + " ".join(f"{px(n):.1f},{py(v):.1f}" for n, v in pts) + '"/>')
        for m in g["measured"]:
            out.append(f'<circle cx="{px(m["shards"]):.1f}" cy="{py(m["rps"]):.1f}" r="4" fill="{color}"/>')
        lx = w - right + 16
        out.append(f'<line x1="{lx}" y1="{legend_y}" x2="{lx + 24}" y2="{legend_y}" stroke="{color}" stroke-width="2"/>')
        out.append(f'<circle cx="{lx + 12}" cy="{legend_y}" r="4" fill="{color}"/>')
        out.append(f'<text x="{lx + 32}" y="{legend_y + 4}">{name}</text>')
        legend_y += 20
    legend_y += 10
    for text in ["dots: measured req/s (this machine)", "solid: predicted, uniform keys",
                 "dashed: predicted, 0 hops", "predictions: N shards on N cores"]:
        out.append(f'<text x="{w - right + 16}" y="{legend_y}" fill="#444444">{text}</text>')
        legend_y += 18
    out.append("</svg>")
    return "\n".join(out) + "\n"


def environment():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "kernel": platform.release()}


# ---- self-test ----------------------------------------------------------------------------

def self_test():
    # A comm with spaces and parentheses; utime=7 and stime=5 are fields 14 and 15.
    line = "4242 (shard-0 (x) y) S 1 2 3 4 5 6 7 8 9 10 7 5 0 0 20 0 1 0 100 0 0"
    assert stat_cpu_ticks(line) == 12, stat_cpu_ticks(line)
    me = read_ticks(f"/proc/{os.getpid()}/stat")
    assert me >= 0
    info = parse_info("# Stats\r\ntotal_commands_processed:1234\r\nhops_total:56\r\n")
    assert info["total_commands_processed"] == "1234" and info["hops_total"] == "56"
    assert cpu_list("0-3,8") == [0, 1, 2, 3, 8] and cpu_list("1") == [1]
    # The fit recovers the costs it was given: 2 µs local, 3 µs per hop.
    pts = [(0.0, 2.0), (0.5, 3.5), (0.75, 4.25)]
    c_local, c_hop = fit(pts)
    assert abs(c_local - 2.0) < 1e-9 and abs(c_hop - 3.0) < 1e-9, (c_local, c_hop)
    assert fit([(0.5, 3.0)]) == (None, None) and fit([(0.0, 2.0)]) == (2.0, None)
    # Hops per request: (n-1)/n at -P 1; a pipeline merges runs of one owner.
    assert hops_per_request_uniform(1, 16) == 0 and hops_per_request_uniform(4, 1) == 0.75
    assert abs(hops_per_request_uniform(2, 16) - 0.5 * (1 / 16 + 15 / 16 * 0.5)) < 1e-12
    assert abs(capacity(4, 2.0, 3.0, 0.5) - 4 / 3.5e-6) < 1e-3
    # Window figures from two synthetic readings one second apart.
    a = {"t": 0.0, "shards": {0: 0, 1: 0}, "total": 0, "commands": 100, "hops": 0}
    b = {"t": 1.0, "shards": {0: TICK // 2, 1: TICK // 4}, "total": TICK, "commands": 100 + 1 + 10000,
         "hops": 5000}
    f = window_figures(a, b, 2)
    assert f["requests"] == 10000 and f["hops_per_request"] == 0.5
    assert abs(f["cpu_us_per_request_total"] - 100.0) < 1e-9
    assert abs(f["cpu_us_per_request_shard"][0] - 50.0) < 1e-9
    # The whole pipeline from runs to table and a well-formed SVG.
    runs = []
    for shards, hops, cpu in [(1, 0.0, 2.0), (2, 0.5, 3.5)]:
        runs.append({"round": 1, "test": "set", "pipeline": 1, "shards": shards, "rps": 1e5,
                     "hops_per_request": hops,
                     "cpu_us_per_request_total": cpu, "cpu_us_per_request_shard": [cpu / shards] * shards,
                     "server_cores_busy": 1.0})
    s = summarize(runs, [4, 16, 64])
    assert abs(s[0]["c_hop_us"] - 3.0) < 1e-9 and s[0]["c_hop_us_range"] == [s[0]["c_hop_us"]] * 2
    assert abs(s[0]["predicted"][0]["rps_uniform"] - 4 / ((2.0 + 0.75 * 3.0) * 1e-6)) < 1e-3
    args = argparse.Namespace(rounds=1, duration=5.0, warmup=1.0)
    assert "**Predicted**" in markdown(s, args, "scaling.py")
    ET.fromstring(svg(s, "self-test"))
    print("self-test passed")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads-list", default="1,2", help="shard counts to sweep (busbar --threads)")
    ap.add_argument("--server-cpus", default="", help="cpu list for busbar (default: 0..N-1 for N shards)")
    ap.add_argument("--load-cpus", default="", help="cpu list for the load (default: the cores busbar lacks)")
    ap.add_argument("--load", choices=["redis-benchmark", "kv"], default="redis-benchmark")
    ap.add_argument("--tests", default="set,get", help="redis-benchmark -t tests, one window each")
    ap.add_argument("-P", default="16,1", help="pipeline depths")
    ap.add_argument("-c", type=int, default=50, help="connections")
    ap.add_argument("-r", type=int, default=1000000, help="redis-benchmark -r keyspace")
    ap.add_argument("--keys", type=int, default=1000000, help="kv --keys")
    ap.add_argument("--ratio", default="1:10", help="kv --ratio SET:GET")
    ap.add_argument("--bench-threads", type=int, default=0,
                    help="redis-benchmark --threads / kv --threads (default: one / the load cores)")
    ap.add_argument("--duration", type=float, default=5.0, help="measured window, seconds")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds of load before the window")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--predict", default="4,16,64", help="shard counts to predict")
    ap.add_argument("--busbar-bin", default=os.path.join(ROOT, "target/release/busbar"))
    ap.add_argument("--load-bin", default=os.path.join(ROOT, "target/release/busbar-load"))
    ap.add_argument("--out", default=os.path.join(ROOT, "loadtest/results"))
    ap.add_argument("--name", default="scaling")
    ap.add_argument("--from-json", default="", help="rewrite NAME.md/.svg/.json from a saved sweep")
    ap.add_argument("--self-test", action="store_true", help="check the pure parts and exit")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return
    if args.from_json:
        # Tables and plot again from a saved sweep (its own command, config and machine).
        with open(args.from_json) as f:
            saved = json.load(f)
        command, runs, env = saved["command"], saved["runs"], saved["environment"]
        config = saved["config"]
        for key in ("rounds", "duration", "warmup", "load", "predict"):
            setattr(args, key, saved["config"][key])
    else:
        command = "loadtest/scripts/scaling.py " + " ".join(sys.argv[1:])
        runs = run_sweep(args)
        env = environment()
        config = vars(args)
    summary = summarize(runs, [int(x) for x in args.predict.split(",") if x])
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, args.name)
    table = markdown(summary, args, command, env)
    with open(base + ".md", "w") as f:
        f.write(table)
    with open(base + ".svg", "w") as f:
        f.write(svg(summary, f"busbar: measured and predicted requests/s by shards ({args.load})"))
    with open(base + ".json", "w") as f:
        json.dump({"command": command, "config": config, "environment": env,
                   "runs": runs, "summary": summary}, f, indent=1)
    print(table)


if __name__ == "__main__":
    main()
