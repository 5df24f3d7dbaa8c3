#!/usr/bin/env python3
"""Subscribers that never read: peak server RSS until the output-buffer limit closes them.

Starts busbar (default configuration unless --busbar-threads) and redis-server on free
loopback ports, one after the other. Each gets N subscriber connections on one channel
that never read, then a publisher sends pipelined batches of 100 PUBLISHes of
--message-size bytes, waiting for each batch's replies, until every subscriber has been
sent --megabytes. Prints the server's peak RSS (sampled every 20 ms) and how many
subscribers are still subscribed at the end (0: the limit closed them all, as it should).

  loadtest/scripts/deadsubs.py --subscribers 20 --megabytes 40
"""
import argparse, os, socket, subprocess, threading, time

from servers import free_port, rss_kb, stop, wait_ready

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def one(name, cmd, port, args):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc)
        subs = []
        for _ in range(args.subscribers):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"SUBSCRIBE ch\r\n")
            subs.append(s)
        time.sleep(0.3)
        peak, done = [0.0], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kb(proc.pid) / 1024)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        pub = socket.create_connection(("127.0.0.1", port))
        replies = pub.makefile("rb")
        batch = (b"PUBLISH ch " + b"x" * args.message_size + b"\r\n") * 100
        for _ in range(args.megabytes * 1024 * 1024 // (args.message_size * 100)):
            pub.sendall(batch)
            for _ in range(100):
                replies.readline()
        time.sleep(0.5)
        done.set()
        sampler.join()
        pub.sendall(b"PUBSUB NUMSUB ch\r\n")
        for _ in range(3):
            replies.readline()
        left = replies.readline().strip().decode().lstrip(":")
        print(f"{name}: peak RSS {peak[0]:.0f} MB, subscribers left {left}")
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=20)
    ap.add_argument("--megabytes", type=int, default=40, help="published per subscriber")
    ap.add_argument("--message-size", type=int, default=1024)
    ap.add_argument("--busbar-bin", default=os.path.join(ROOT, "target/release/busbar"))
    ap.add_argument("--busbar-threads", type=int, default=0)
    ap.add_argument("--base-bin", help="an older busbar build to run too")
    ap.add_argument("--redis-bin", default="redis-server")
    args = ap.parse_args()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    threads = ["--threads", str(args.busbar_threads)] if args.busbar_threads else []
    runs = [("busbar", args.busbar_bin)] + ([("busbar base", args.base_bin)] if args.base_bin else [])
    for name, binary in runs:
        port = free_port()
        one(name, [binary, "--port", str(port)] + common + threads, port, args)
    port = free_port()
    one("redis-server", [args.redis_bin, "--port", str(port)] + common, port, args)


if __name__ == "__main__":
    main()
