#!/usr/bin/env python3
"""Memory of large replies and idle connections, busbar vs redis-server, measured side by
side: each scenario starts a fresh server of each kind (one after the other, on 127.0.0.1
free ports) and samples the process's resident set (/proc/PID/status VmRSS) every 5 ms.

    python3 loadtest/scripts/connmem.py bigrange idle [--rounds 3] [--threads N]

- bigrange: RPUSH 1000 values of 1 MB (timed), then one client reads `LRANGE q 0 -1`
  as fast as it can; reports the time of the pushes and the peak RSS while the reply
  is read (and the RSS before it). With several shards the kernel decides whether the
  connection lands on the key's shard or another one; rounds see both.
- idle: opens 10,000 connections that each send one PING and then stay idle; reports the
  RSS growth per connection after 5 s (both servers free an idle client's query buffer
  after 2 s idle).

busbar runs in its default configuration (one shard per core) unless --threads is given.
Needs redis-server on PATH and a release build (target/release/busbar). Raise the file
limit first for `idle` (ulimit -n 30000).
"""
import argparse
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VALUE = b"v" * (1 << 20)


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


def start(kind, threads):
    port = free_port()
    if kind == "busbar":
        cmd = [os.path.join(ROOT, "target/release/busbar"), "--port", str(port), "--save", ""]
        if threads:
            cmd += ["--threads", str(threads)]
    else:
        cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return p, port
        except OSError:
            time.sleep(0.02)
    p.kill()
    raise RuntimeError(f"{kind} did not start")


def stop(p):
    p.kill()
    p.wait()


def command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply_bytes(sock, n):
    """Reads exactly n bytes (discarding them)."""
    left = n
    while left > 0:
        d = sock.recv(min(left, 1 << 20))
        if not d:
            raise RuntimeError("connection closed")
        left -= len(d)


class Sampler:
    """Samples a process's RSS in the background; keeps the peak."""

    def __init__(self, pid):
        self.pid, self.peak, self.run = pid, 0, True
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while self.run:
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.005)

    def stop(self):
        self.run = False
        self.t.join()
        return self.peak


def bigrange(kind, threads):
    p, port = start(kind, threads)
    try:
        s = socket.create_connection(("127.0.0.1", port))
        t0 = time.time()
        # Pipelined in groups of 10, as a producer would.
        for i in range(0, 1000, 10):
            s.sendall(b"".join(command("RPUSH", "q", VALUE) for _ in range(10)))
            got = b""
            while got.count(b"\r\n") < 10:
                got += s.recv(4096)
        push_s = time.time() - t0
        before = rss(p.pid)
        sampler = Sampler(p.pid)
        reply_len = len(b"*1000\r\n") + 1000 * len(b"$1048576\r\n" + VALUE + b"\r\n")
        t0 = time.time()
        s.sendall(command("LRANGE", "q", 0, -1))
        read_reply_bytes(s, reply_len)
        read_s = time.time() - t0
        peak = sampler.stop()
        s.close()
        return {"push_s": push_s, "read_s": read_s, "rss_before": before, "rss_peak": peak}
    finally:
        stop(p)


def idle(kind, threads, n=10_000):
    p, port = start(kind, threads)
    try:
        time.sleep(0.5)
        before = rss(p.pid)
        socks = []
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"*1\r\n$4\r\nPING\r\n")
            socks.append(c)
        for c in socks:
            got = b""
            while not got.endswith(b"\r\n"):
                got += c.recv(64)
        # Both servers free an idle client's query buffer after 2 s (on a 1 s / 100 ms
        # cron): measure once that has happened.
        time.sleep(5)
        after = rss(p.pid)
        for c in socks:
            c.close()
        return {"rss_before": before, "rss_after": after, "bytes_per_conn": (after - before) / n}
    finally:
        stop(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenarios", nargs="+", choices=["bigrange", "idle"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    for sc in a.scenarios:
        results = {"busbar": [], "redis": []}
        for rnd in range(a.rounds):
            for kind in ("busbar", "redis"):
                r = bigrange(kind, a.threads) if sc == "bigrange" else idle(kind, a.threads)
                results[kind].append(r)
                print(sc, rnd, kind, {k: round(v, 3) for k, v in r.items()}, flush=True)
        for kind, rs in results.items():
            keys = rs[0].keys()
            med = {k: sorted(r[k] for r in rs)[len(rs) // 2] for k in keys}
            print(sc, "median", kind, {k: round(v, 3) for k, v in med.items()}, flush=True)


if __name__ == "__main__":
    sys.exit(main())
