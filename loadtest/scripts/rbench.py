#!/usr/bin/env python3
"""redis-benchmark side by side: busbar vs redis-server, with server CPU time per request.

Starts each server on a free loopback port (persistence off), runs the same
redis-benchmark test list against each, alternating A/B for several rounds, and reads the
server's utime+stime from /proc/PID/stat around every test. Prints a markdown table of
medians: requests/s, p50 latency, server CPU microseconds per request, and the ratio.

  loadtest/scripts/rbench.py --tests ping_inline,ping_mbulk,set,get,incr,mset \
      -n 200000 -r 1000000 -c 50 -P 1,16 --rounds 3 --busbar-threads 2

With --background 'CMD' (a shell command; {port} is replaced by the server's port), CMD
runs against the same server during every test and is stopped after it, e.g. a steady
load of cross-shard transactions while redis-benchmark measures single-key commands:

  --background 'target/release/busbar-load kv -p {port} --tx-incrs 3 -c 2 -d 600s -q \
      --key-prefix bg: > /dev/null'

Custom commands instead of (or besides) -t tests: each --command is one redis-benchmark
command line (`__rand_int__` works as in redis-benchmark), and --setup runs a shell
command ({port} replaced) once against each server before the first round, e.g. a
million-member sorted set to rank in:

  --setup 'python3 loadtest/scripts/memory.py --load big_zset --port {port}' \
  --tests '' --command 'ZRANK big member:__rand_int__' -P 1,16

With --server-args 'ARGS' every server gets ARGS too (each writes into a fresh --dir of
its own), e.g. the persistence comparison:

  --server-args '--appendonly yes --appendfsync always' --tests set -P 1,16

With --base-bin PATH a third server, busbar built from an earlier commit, runs in the same
rounds (rotating order) and the table gains its req/s and the new/base ratio: a regression
check that shares the machine's noise with the comparison against redis-server.
"""
import argparse, os, re, signal, statistics, subprocess, sys, tempfile, time

from servers import free_port, stop, wait_ready

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start(kind, args):
    port = free_port()
    common = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    # Each server writes its files (AOF, dump.rdb) into a directory of its own.
    scratch = tempfile.mkdtemp(prefix=f"rbench-{kind}-")
    common += ["--dir", scratch] + args.server_args.split()
    if kind == "redis":
        cmd = [args.redis_bin] + common + ["--daemonize", "no", "--logfile", ""]
    else:
        binary = args.base_bin if kind == "base" else args.busbar_bin
        threads = ["--threads", str(args.busbar_threads)] if args.busbar_threads else []
        cmd = [binary] + common + threads
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, proc)
    return proc, port


def run_test(port, pid, test, pipeline, args):
    cmd = ["redis-benchmark", "-p", str(port), "-n", str(args.n), "-c", str(args.c),
           "-P", str(pipeline), "-q", "--csv"]
    if args.r:
        cmd += ["-r", str(args.r)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    # A test with a space is a command line of its own; else a -t test name.
    cmd += test.split() if " " in test else ["-t", test]
    bg = None
    if args.background:
        bg = subprocess.Popen(args.background.replace("{port}", str(port)), shell=True,
                              start_new_session=True)
        time.sleep(1.0)  # let it reach its steady state
    before = cpu_seconds(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    after = cpu_seconds(pid)
    if bg is not None:
        os.killpg(bg.pid, signal.SIGTERM)
        bg.wait(timeout=10)
    if out.returncode != 0 or "ERR" in out.stdout or "Error" in out.stderr:
        raise SystemExit(f"redis-benchmark failed: {out.stdout} {out.stderr}")
    # CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
    line = [l for l in out.stdout.splitlines() if l.startswith('"') and not l.startswith('"test"')][-1]
    cols = [c.strip('"') for c in line.split('","')]
    rps, p50 = float(cols[1]), float(cols[4])
    return rps, p50, (after - before) * 1e6 / args.n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", default="ping_inline,ping_mbulk,set,get,incr,mset")
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("-r", type=int, default=1000000)
    ap.add_argument("-c", type=int, default=50)
    ap.add_argument("-P", default="1,16")
    ap.add_argument("--threads", type=int, default=0, help="redis-benchmark --threads")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--busbar-bin", default=os.path.join(os.path.dirname(__file__), "../../target/release/busbar"))
    ap.add_argument("--redis-bin", default="redis-server")
    ap.add_argument("--base-bin", default="", help="an earlier busbar build, measured in the same rounds")
    ap.add_argument("--busbar-threads", type=int, default=2,
                    help="shards; 0 = no --threads flag (the default configuration: one per core)")
    ap.add_argument("--background", default="", help="shell command run during each test; {port} = server port")
    ap.add_argument("--command", action="append", default=[], help="a custom redis-benchmark command line (repeatable)")
    ap.add_argument("--server-args", default="",
                    help="more arguments for every server, e.g. '--appendonly yes --appendfsync always'")
    ap.add_argument("--setup", default="", help="shell command run once per server before the rounds; {port} = server port")
    args = ap.parse_args()
    tests = [t for t in args.tests.split(",") if t] + args.command
    kinds = ["redis", "busbar"] + (["base"] if args.base_bin else [])
    servers = {k: start(k, args) for k in kinds}
    if args.setup:
        for _, port in servers.values():
            subprocess.run(args.setup.replace("{port}", str(port)), shell=True, check=True)
    results = {}
    try:
        for rnd in range(args.rounds):
            shift = rnd % len(kinds)
            order = kinds[shift:] + kinds[:shift]
            for p in [int(x) for x in args.P.split(",")]:
                for t in tests:
                    for k in order:
                        proc, port = servers[k]
                        results.setdefault((t, p, k), []).append(run_test(port, proc.pid, t, p, args))
                    print(f"round {rnd + 1} P={p} {t}: " + "  ".join(
                        f"{k} {results[(t, p, k)][-1][0]:.0f}/s" for k in kinds), file=sys.stderr)
    finally:
        for proc, _ in servers.values():
            stop(proc)
    print(f"\nredis-benchmark -c {args.c} -n {args.n} -r {args.r}; busbar {f'--threads {args.busbar_threads}' if args.busbar_threads else '(default configuration)'}; "
          f"medians of {args.rounds} alternating rounds"
          + (f"; background: `{args.background}`" if args.background else "")
          + (f"; setup: `{args.setup}`" if args.setup else "")
          + (f"; servers: `{args.server_args}`" if args.server_args else "") + "\n")
    base_head = " base req/s | busbar/base (min / med / max) |" if args.base_bin else ""
    print("| test | -P | redis req/s | busbar req/s | busbar/redis (min / med / max) | redis p50 ms | busbar p50 ms | redis CPU µs/req | busbar CPU µs/req |" + base_head)
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|" + ("---:|---|" if args.base_bin else ""))
    for p in [int(x) for x in args.P.split(",")]:
        for t in tests:
            r, b = results[(t, p, "redis")], results[(t, p, "busbar")]
            ratios = sorted(bb[0] / rr[0] for rr, bb in zip(r, b))
            med = lambda xs, i: statistics.median(x[i] for x in xs)
            row = (f"| {t} | {p} | {med(r,0):,.0f} | {med(b,0):,.0f} | {ratios[0]:.2f} / {statistics.median(ratios):.2f} / {ratios[-1]:.2f} | "
                   f"{med(r,1):.3f} | {med(b,1):.3f} | {med(r,2):.2f} | {med(b,2):.2f} |")
            if args.base_bin:
                a = results[(t, p, "base")]
                vs = sorted(bb[0] / aa[0] for aa, bb in zip(a, b))
                row += f" {med(a,0):,.0f} | {vs[0]:.2f} / {statistics.median(vs):.2f} / {vs[-1]:.2f} |"
            print(row)


if __name__ == "__main__":
    main()
