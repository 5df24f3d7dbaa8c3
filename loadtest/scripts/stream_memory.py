#!/usr/bin/env python3
"""Bytes per stream entry, busbar vs redis-server (issue 16).

For each round and each server kind, starts a fresh server on a free loopback port
(persistence off), reads its resident set (/proc/PID/status VmRSS), appends N entries

    XADD s * type order_created order_id <n>        (n = 0 .. N-1)

over one connection (raw RESP, pipelined in batches of 10 000), waits for the allocators
to hand freed memory back, and reads VmRSS again. Bytes per entry = RSS growth / N, the
same measure for both servers (busbar's INFO used_memory is its RSS too; redis-server's
own used_memory growth is printed beside it for reference). Rounds alternate the server
order; the table holds medians.

    python3 loadtest/scripts/stream_memory.py --rounds 3
    python3 loadtest/scripts/stream_memory.py --base-bin /tmp/busbar-old   # A/B two builds

Needs redis-server on PATH (or --redis-bin) and a release build (target/release/busbar,
run with --threads 1 unless --busbar-threads says otherwise).
"""
import argparse, os, socket, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import free_port, rss_kb, stop, wait_ready  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BATCH = 10_000


def resp(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


def read_replies(sock, buf, want):
    """Reads `want` replies (bulk strings, integers, simple strings or errors); returns
    the leftover bytes and the errors seen."""
    errors = []
    pos = 0
    got = 0
    while got < want:
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            buf = buf[pos:] + sock.recv(1 << 20)
            pos = 0
            continue
        kind = buf[pos:pos + 1]
        if kind == b"$":
            n = int(buf[pos + 1:nl])
            end = nl + 2 + max(n, 0) + (2 if n >= 0 else 0)
            if len(buf) < end:
                buf = buf[pos:] + sock.recv(1 << 20)
                pos = 0
                continue
            pos = end
        else:
            if kind == b"-":
                errors.append(buf[pos:nl].decode())
            pos = nl + 2
        got += 1
    return buf[pos:], errors


def command(port, *parts):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(resp(*parts))
        time.sleep(0.05)
        return s.recv(1 << 20)


def used_memory(port):
    info = command(port, b"INFO", b"memory").decode(errors="replace")
    for line in info.split("\r\n"):
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


def load(port, n):
    with socket.create_connection(("127.0.0.1", port)) as s:
        buf = b""
        for start in range(0, n, BATCH):
            cmds = b"".join(
                resp(b"XADD", b"s", b"*", b"type", b"order_created", b"order_id", b"%d" % i)
                for i in range(start, min(n, start + BATCH)))
            s.sendall(cmds)
            buf, errors = read_replies(s, buf, min(n, start + BATCH) - start)
            if errors:
                raise SystemExit(f"XADD failed: {errors[0]}")
        s.sendall(resp(b"XLEN", b"s"))
        reply = s.recv(64)
        if reply != b":%d\r\n" % n:
            raise SystemExit(f"XLEN said {reply!r}, want {n}")


def run(kind, args):
    port = free_port()
    common = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if kind == "redis":
        cmd = [args.redis_bin] + common + ["--daemonize", "no", "--logfile", ""]
    else:
        binary = args.base_bin if kind == "base" else args.busbar_bin
        threads = ["--threads", str(args.busbar_threads)] if args.busbar_threads else []
        cmd = [binary] + common + threads
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc)
        time.sleep(0.3)
        before, used_before = rss_kb(proc.pid) * 1024, used_memory(port)
        t0 = time.time()
        load(port, args.n)
        secs = time.time() - t0
        # jemalloc purges in the background, busbar runs mi_collect about once a second.
        time.sleep(args.settle)
        after, used_after = rss_kb(proc.pid) * 1024, used_memory(port)
        return {
            "rss": (after - before) / args.n,
            "used": (used_after - used_before) / args.n,
            "secs": secs,
        }
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000, help="entries to append")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=2.5,
                    help="seconds to wait after loading before reading RSS")
    ap.add_argument("--busbar-bin", default=f"{ROOT}/target/release/busbar")
    ap.add_argument("--base-bin", help="an earlier busbar build, measured in the same rounds")
    ap.add_argument("--redis-bin", default="redis-server")
    ap.add_argument("--busbar-threads", type=int, default=1,
                    help="shards; 0 = no --threads flag (one per core)")
    args = ap.parse_args()

    kinds = ["redis", "busbar"] + (["base"] if args.base_bin else [])
    results = {k: [] for k in kinds}
    for r in range(args.rounds):
        order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]
        for kind in order:
            res = run(kind, args)
            results[kind].append(res)
            print(f"round {r + 1} {kind}: {res['rss']:.1f} B/entry RSS, "
                  f"{res['used']:.1f} B/entry used_memory, load {res['secs']:.1f} s",
                  file=sys.stderr, flush=True)

    med = {k: {m: statistics.median(x[m] for x in v) for m in ("rss", "used", "secs")}
           for k, v in results.items()}
    redis_rss = med["redis"]["rss"]
    print(f"| server | RSS bytes/entry | used_memory bytes/entry | ratio to redis (RSS) |")
    print("|---|---|---|---|")
    for k in kinds:
        m = med[k]
        print(f"| {k} | {m['rss']:.1f} | {m['used']:.1f} | {m['rss'] / redis_rss:.2f}x |")


if __name__ == "__main__":
    main()
