#!/usr/bin/env python3
"""Mass insertion side by side: `redis-cli --pipe` of N SETs into busbar and redis-server.

Writes N `SET key:<random> <value>` commands in RESP to a temporary file once, then, for
several alternating rounds, starts each server fresh on a free loopback port (persistence
off), times `redis-cli -p PORT --pipe < file` (wall clock, until redis-cli has read every
reply), and checks that DBSIZE afterwards is the number of distinct keys. Prints a markdown
table of medians and the per-round ratio.

  loadtest/scripts/masspipe.py -n 200000 --rounds 3                 # default configuration
  loadtest/scripts/masspipe.py -n 200000 --rounds 3 --busbar-threads 1
"""
import argparse, os, random, statistics, subprocess, sys, tempfile, time

from rbench import start  # the same servers, started the same way
from servers import stop


def dbsize(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "DBSIZE"], capture_output=True, text=True)
    return int(out.stdout.strip())


def one_run(kind, path, distinct, args):
    proc, port = start(kind, args)
    try:
        with open(path, "rb") as f:
            t0 = time.monotonic()
            out = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f,
                                 capture_output=True, text=True, timeout=600)
            secs = time.monotonic() - t0
        if out.returncode != 0 or "errors: 0" not in out.stdout:
            raise SystemExit(f"{kind}: redis-cli --pipe failed: {out.stdout} {out.stderr}")
        got = dbsize(port)
        if got != distinct:
            raise SystemExit(f"{kind}: DBSIZE {got}, expected {distinct}")
        return secs
    finally:
        stop(proc)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("-r", type=int, default=1000000, help="keys are key:<0..r-1>")
    ap.add_argument("--value-size", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--busbar-bin", default=os.path.join(here, "../../target/release/busbar"))
    ap.add_argument("--base-bin", default="", help="an earlier busbar build, measured in the same rounds")
    ap.add_argument("--redis-bin", default="redis-server")
    ap.add_argument("--busbar-threads", type=int, default=0,
                    help="shards; 0 = no --threads flag (the default configuration: one per core)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    value = b"x" * args.value_size
    keys = set()
    with tempfile.NamedTemporaryFile(suffix=".resp", delete=False) as f:
        path = f.name
        for _ in range(args.n):
            k = b"key:%012d" % rng.randrange(args.r)
            keys.add(k)
            f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(value), value))
    kinds = ["redis", "busbar"] + (["base"] if args.base_bin else [])
    times = {k: [] for k in kinds}
    try:
        for rnd in range(args.rounds):
            shift = rnd % len(kinds)
            for k in kinds[shift:] + kinds[:shift]:
                times[k].append(one_run(k, path, len(keys), args))
            print(f"round {rnd + 1}: " + "  ".join(f"{k} {times[k][-1]:.3f}s" for k in kinds),
                  file=sys.stderr)
    finally:
        os.unlink(path)
    conf = f"--threads {args.busbar_threads}" if args.busbar_threads else "(default configuration)"
    print(f"\n`redis-cli --pipe` of {args.n:,} SETs over {args.r:,} keys; busbar {conf}; "
          f"medians of {args.rounds} alternating rounds\n")
    print("| server | seconds (median) | min–max | busbar time / this (min / med / max) |")
    print("|---|---:|---|---|")
    for k in kinds:
        ratios = sorted(b / o for b, o in zip(times["busbar"], times[k]))
        print(f"| {k} | {statistics.median(times[k]):.3f} | {min(times[k]):.3f}–{max(times[k]):.3f} | "
              f"{ratios[0]:.2f} / {statistics.median(ratios):.2f} / {ratios[-1]:.2f} |")


if __name__ == "__main__":
    main()
