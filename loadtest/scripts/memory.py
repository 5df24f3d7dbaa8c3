#!/usr/bin/env python3
"""Bytes per element, busbar vs redis-server: loads 1 M items into a fresh server of
each kind (one after the other, on 127.0.0.1 free ports) and reports the growth of the
process's resident set (/proc/PID/status VmRSS) divided by the item count. Both
allocators keep some freed memory, so the numbers are upper bounds for both.

    python3 loadtest/scripts/memory.py tiny_hash,big_hash,big_set,int_set,big_zset,list

Needs redis-py, redis-server on PATH and a release build (target/release/busbar,
run with --threads 1).

    python3 loadtest/scripts/memory.py --load big_zset --port 6379

only loads that data set into the server at that port (rbench.py --setup uses it).
"""
import os
import signal
import socket
import subprocess
import sys
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N = 1_000_000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def load(r, what):
    """Loads `what`; returns the key whose encoding to report."""
    if what == "tiny_hash":
        pipe = r.pipeline(transaction=False)
        for i in range(N):
            pipe.hset(f"h:{i:07d}", mapping={"a": "1", "b": "22", "c": "333"})
            if i % 10000 == 9999:
                pipe.execute()
        pipe.execute()
        return "h:0000001"
    for s in range(0, N, 10000):
        chunk = range(s, s + 10000)
        if what == "big_hash":
            r.hset("big", mapping={f"field:{i:07d}": "v" for i in chunk})
        elif what == "big_set":
            r.sadd("big", *[f"member:{i:07d}" for i in chunk])
        elif what == "int_set":
            if s == 0:
                r.config_set("set-max-intset-entries", 2 * N)
            r.sadd("big", *chunk)
        elif what == "big_zset":
            # Scores spread out of insertion order, as a leaderboard's are.
            r.zadd("big", {f"member:{i:07d}": (i * 7919) % N for i in chunk})
        elif what == "bench_zset":
            # Members named as redis-benchmark's __rand_int__ with -r 1000000 names them.
            r.zadd("big", {f"member:{i:012d}": (i * 7919) % N for i in chunk})
        elif what == "list":
            r.rpush("big", *[f"{i:010d}" for i in chunk])
        else:
            raise SystemExit(f"unknown load {what}")
    return "big"


def run(kind, what):
    port = free_port()
    if kind == "redis":
        cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    else:
        cmd = [f"{ROOT}/target/release/busbar", "--port", str(port), "--threads", "1"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        r = redis.Redis(port=port)
        base = rss(p.pid)
        key = load(r, what)
        # Both allocators hand freed memory back in the background (jemalloc's purge,
        # busbar's once-a-second mi_collect): let them.
        time.sleep(2.5)
        per = (rss(p.pid) - base) / N
        return round(per, 1), r.object("encoding", key).decode()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()


if sys.argv[1] == "--load":
    load(redis.Redis(port=int(sys.argv[4])), sys.argv[2])
else:
    for what in sys.argv[1].split(","):
        print(what, {kind: run(kind, what) for kind in ("redis", "busbar")}, flush=True)
