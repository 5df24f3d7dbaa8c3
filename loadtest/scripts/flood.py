#!/usr/bin/env python3
"""busbar-load flood side by side: busbar vs redis-server (and optionally an older busbar).

Starts each server on a free loopback port (persistence off), runs the same
`busbar-load flood` against each, alternating for several rounds, and prints a markdown
table of medians: subscribers complete / disconnected, deliveries still queued 2 s after
publishing stopped, drain time, latency, delivered/s, peak RSS and server CPU per delivery.

  loadtest/scripts/flood.py --rounds 3 -- -s 20 --batch 100 --message-size 1024 -d 5s
  loadtest/scripts/flood.py --busbar-threads 1 -- -s 100 --batch 64 --message-size 64

Everything after `--` goes to `busbar-load flood` unchanged (see its --help). Without
--busbar-threads busbar runs in its default configuration (one shard per core).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile

from servers import free_port, stop, wait_ready

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start(kind, args):
    port = free_port()
    common = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if kind == "redis":
        cmd = [args.redis_bin] + common + ["--daemonize", "no", "--logfile", ""]
    else:
        cmd = [args.base_bin if kind == "base" else args.busbar_bin] + common
        if args.busbar_threads:
            cmd += ["--threads", str(args.busbar_threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, proc)
    return proc, port


def one_run(kind, args, flood_args):
    proc, port = start(kind, args)
    try:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            cmd = [args.load_bin, "flood", "-p", str(port), "--server-pid", str(proc.pid),
                   "--json", out.name] + flood_args
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if r.returncode not in (0, 1):
                raise SystemExit(f"{kind}: busbar-load failed: {r.stderr.strip()}")
            with open(out.name) as f:
                return json.load(f)["outcome"]
    finally:
        stop(proc)


ROWS = [
    ("complete / subscribers", lambda o: o["complete"], "{:.0f}"),
    ("disconnected", lambda o: o["disconnected"], "{:.0f}"),
    ("min received / published", lambda o: min(o["received"]) / max(o["published"], 1), "{:.3f}"),
    ("queued 2 s after stop", lambda o: o["queued_after_2s"], "{:.0f}"),
    ("last delivery after stop (s)", lambda o: o["drain_secs"], "{:.2f}"),
    ("published/s", lambda o: o["published_per_sec"], "{:.0f}"),
    ("delivered/s", lambda o: o["delivered_per_sec"], "{:.0f}"),
    ("p50 (ms)", lambda o: o["p50_ms"], "{:.2f}"),
    ("p99 (ms)", lambda o: o["p99_ms"], "{:.2f}"),
    ("max (ms)", lambda o: o["max_ms"], "{:.1f}"),
    ("peak RSS (MB)", lambda o: o["server_peak_rss_mb"] or 0, "{:.1f}"),
    ("server CPU µs / delivery", lambda o: o["server_cpu_us_per_delivery"] or 0, "{:.3f}"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--busbar-threads", type=int, default=0, help="0 = busbar's default (one shard per core)")
    ap.add_argument("--busbar-bin", default=os.path.join(ROOT, "target/release/busbar"))
    ap.add_argument("--base-bin", help="an older busbar build to run in the same rounds")
    ap.add_argument("--redis-bin", default="redis-server")
    ap.add_argument("--load-bin", default=os.path.join(ROOT, "target/release/busbar-load"))
    ap.add_argument("flood_args", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    flood_args = [a for a in args.flood_args if a != "--"]
    kinds = ["busbar", "redis"] + (["base"] if args.base_bin else [])
    results = {k: [] for k in kinds}
    for r in range(args.rounds):
        order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]
        for kind in order:
            o = one_run(kind, args, flood_args)
            results[kind].append(o)
            print(f"round {r + 1} {kind}: complete {o['complete']}/{o['subscribers']}, "
                  f"disconnected {o['disconnected']}, queued@2s {o['queued_after_2s']}, "
                  f"drain {o['drain_secs']:.2f}s, delivered/s {o['delivered_per_sec']:.0f}, "
                  f"p99 {o['p99_ms']:.2f}ms, rss {o['server_peak_rss_mb']:.1f}MB", file=sys.stderr)
    print(f"\nbusbar-load flood {' '.join(flood_args)}; busbar "
          f"{'--threads ' + str(args.busbar_threads) if args.busbar_threads else 'default configuration'}; "
          f"medians of {args.rounds} rounds (range)\n")
    header = "| | busbar | redis-server |" + (" busbar base |" if args.base_bin else "")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for name, f, fmt in ROWS:
        cells = []
        for kind in kinds:
            vals = [f(o) for o in results[kind]]
            cells.append(f"{fmt.format(statistics.median(vals))} ({fmt.format(min(vals))}–{fmt.format(max(vals))})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
