#!/usr/bin/env python3
"""SET latency while a snapshot or an AOF rewrite runs, busbar vs redis-server.

For each server (loopback, a fresh --dir each, same extra arguments): fill a dataset with
redis-benchmark, then measure `SET` at 50 clients three ways, each for the same number of
requests: steady; while BGSAVE runs (started again whenever the last one finished); and
with --appendonly yes, while BGREWRITEAOF runs (likewise). redis-server forks for both;
busbar walks each shard's keys between its commands. Prints p50 / p99 / max in ms and
the requests/s, from redis-benchmark's own CSV, and how many saves or rewrites ran.

  loadtest/scripts/persist_latency.py --keys 1000000 -n 400000 --busbar-threads 0

--busbar-threads 0 runs busbar in its default configuration (one shard per core).
"""
import argparse, csv, io, os, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(__file__))
from servers import free_port, stop, wait_ready  # noqa: E402


def start(kind, args, extra):
    port = free_port()
    d = tempfile.mkdtemp(prefix=f"plat-{kind}-")
    common = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", d] + extra
    if kind == "redis":
        cmd = [args.redis_bin] + common + ["--daemonize", "no", "--logfile", ""]
    else:
        threads = ["--threads", str(args.busbar_threads)] if args.busbar_threads else []
        cmd = [args.busbar_bin] + common + threads
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, proc, timeout=60)
    return proc, port


def cli(port, *words):
    return subprocess.run(["redis-cli", "-p", str(port), *words], capture_output=True,
                          text=True).stdout.strip()


def fill(port, keys):
    subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(keys * 2),
                    "-r", str(keys), "-d", "100", "-P", "32", "-q"],
                   stdout=subprocess.DEVNULL, check=True)


def bench(port, n):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(n),
                          "-r", "1000000", "-d", "100", "-c", "50", "--csv"],
                         capture_output=True, text=True, check=True).stdout
    row = next(csv.DictReader(io.StringIO(out)))
    return {k: float(row[k]) for k in ("rps", "p50_latency_ms", "p99_latency_ms",
                                         "max_latency_ms")}


def keep_running(port, command, field, stop_flag, count):
    """Starts `command` again each time INFO `field` says the last one finished."""
    while not stop_flag.is_set():
        if cli(port, "INFO", "persistence").find(f"{field}:1") < 0:
            if cli(port, command).startswith("Background"):
                count[0] += 1
        time.sleep(0.01)


def measure(kind, args, extra, command, field):
    proc, port = start(kind, args, extra)
    try:
        fill(port, args.keys)
        steady = bench(port, args.n)
        if command is None:
            return steady, None, 0
        flag, count = threading.Event(), [0]
        t = threading.Thread(target=keep_running, args=(port, command, field, flag, count))
        t.start()
        time.sleep(0.05)
        during = bench(port, args.n)
        flag.set()
        t.join()
        return steady, during, count[0]
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("-n", type=int, default=400000)
    ap.add_argument("--busbar-bin", default=os.path.join(os.path.dirname(__file__),
                                                           "../../target/release/busbar"))
    ap.add_argument("--redis-bin", default="redis-server")
    ap.add_argument("--busbar-threads", type=int, default=0)
    args = ap.parse_args()
    print(f"SET -c 50 -d 100 -n {args.n} over ~{args.keys} keys of 100 B; busbar "
          + (f"--threads {args.busbar_threads}" if args.busbar_threads else "default configuration"))
    print("\n| server | while | p50 ms | p99 ms | max ms | req/s | runs |")
    print("|---|---|---:|---:|---:|---:|---:|")
    cases = [
        ("BGSAVE", [], "BGSAVE", "rdb_bgsave_in_progress"),
        ("BGREWRITEAOF", ["--appendonly", "yes"], "BGREWRITEAOF", "aof_rewrite_in_progress"),
    ]
    for kind in ("redis", "busbar"):
        for name, extra, command, field in cases:
            steady, during, runs = measure(kind, args, extra, command, field)
            label = "steady" + (" (appendonly yes)" if extra else "")
            for what, r, k in ((label, steady, ""), (name, during, runs)):
                print(f"| {kind} | {what} | {r['p50_latency_ms']:.3f} | {r['p99_latency_ms']:.3f} "
                      f"| {r['max_latency_ms']:.3f} | {r['rps']:,.0f} | {k} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
