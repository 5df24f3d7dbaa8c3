"""FastStream's Redis stream subscribers, unchanged, against busbar: consumer groups.

Usage: python3 faststream_streams.py PORT TAG_A TAG_B [COUNT]. Streams are `{TAG_A}:...`
and `{TAG_B}:...`; the caller picks hash tags on different shards. Prints
`OK COUNT messages` and exits 0 when every check passes; a failed check raises.

A RedisBroker runs three stream subscribers in consumer groups (FastStream creates each
group with XGROUP CREATE ... MKSTREAM, reads with XREADGROUP BLOCK, acknowledges with
XACK after the handler returns):
- two consumers, w1 and w2, share group `workers` on stream A;
- a batch subscriber (group `batch`, consumer b1) reads stream B;
- a recovery subscriber (group `rescue`, consumer r1, `min_idle_time`) on stream C, which
  reads only with XAUTOCLAIM: before the broker starts, a consumer `dead` took every
  entry of C with XREADGROUP and died without acknowledging, so r1 must claim them all.
The broker publishes COUNT messages to A and B (XADD); C is filled beforehand. Every
message must be handled exactly once per group, and nothing may stay pending once the
handlers are done.
"""

import asyncio
import collections
import logging
import sys
import time

import redis
from faststream.redis import RedisBroker, StreamSub

DEADLINE = 90.0  # seconds; only a hang reaches it


async def run(port, tag_a, tag_b, count):
    stream_a = f"{{{tag_a}}}:faststream:orders"
    stream_b = f"{{{tag_b}}}:faststream:events"
    stream_c = f"{{{tag_a}}}:faststream:abandoned"
    plain = redis.Redis(port=port, decode_responses=True)
    plain.delete(stream_a, stream_b, stream_c)

    # Stream C: `rescue` messages, all delivered to `dead`, which never acknowledges them.
    rescue = min(count, 200)
    async with RedisBroker(f"redis://127.0.0.1:{port}") as producer:
        for i in range(rescue):
            await producer.publish({"n": i}, stream=stream_c)
    assert plain.xgroup_create(stream_c, "rescue", id="0") is True
    # FastStream's messages are binary: read them without decoding.
    taken = redis.Redis(port=port).xreadgroup("rescue", "dead", {stream_c: ">"})
    assert len(taken[0][1]) == rescue, taken
    assert plain.xpending(stream_c, "rescue")["pending"] == rescue

    # Per-message log lines at DEBUG, under the default WARNING threshold: quiet stderr.
    broker = RedisBroker(f"redis://127.0.0.1:{port}", log_level=logging.DEBUG)
    seen_a = collections.Counter()  # message number -> times handled
    by_consumer = collections.Counter()  # consumer -> messages handled
    seen_b = collections.Counter()
    seen_c = collections.Counter()

    def on_order(consumer):
        async def handle(body: dict) -> None:
            seen_a[body["n"]] += 1
            by_consumer[consumer] += 1

        return handle

    for consumer in ("w1", "w2"):
        sub = StreamSub(stream_a, group="workers", consumer=consumer, polling_interval=100)
        broker.subscriber(stream=sub)(on_order(consumer))

    @broker.subscriber(
        stream=StreamSub(
            stream_b,
            group="batch",
            consumer="b1",
            batch=True,
            max_records=50,
            polling_interval=100,
        )
    )
    async def on_events(bodies: list[dict]) -> None:
        for body in bodies:
            seen_b[body["n"]] += 1

    @broker.subscriber(
        stream=StreamSub(
            stream_c, group="rescue", consumer="r1", min_idle_time=1, polling_interval=100
        )
    )
    async def on_abandoned(body: dict) -> None:
        seen_c[body["n"]] += 1

    async with broker:
        await broker.start()
        # FastStream declared the groups on start (MKSTREAM created both streams).
        assert plain.exists(stream_a, stream_b) == 2
        for i in range(count):
            await broker.publish({"n": i}, stream=stream_a)
            await broker.publish({"n": i}, stream=stream_b)

        start = time.monotonic()
        while (
            sum(seen_a.values()) < count
            or sum(seen_b.values()) < count
            or sum(seen_c.values()) < rescue
        ):
            assert time.monotonic() - start < DEADLINE, (len(seen_a), len(seen_b), len(seen_c))
            await asyncio.sleep(0.05)
        # Acks follow the handlers; wait for the last ones, then check nothing repeated.
        while (
            plain.xpending(stream_a, "workers")["pending"]
            or plain.xpending(stream_b, "batch")["pending"]
            or plain.xpending(stream_c, "rescue")["pending"]
        ):
            assert time.monotonic() - start < DEADLINE, "entries stay pending"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)

    checks = (("orders", seen_a, count), ("events", seen_b, count), ("abandoned", seen_c, rescue))
    for name, seen, n in checks:
        assert set(seen) == set(range(n)), (name, len(seen))
        repeated = {n: k for n, k in seen.items() if k != 1}
        assert repeated == {}, (name, list(repeated.items())[:10])
    assert sum(by_consumer.values()) == count, by_consumer
    assert plain.xlen(stream_a) == count and plain.xlen(stream_b) == count
    for stream, group in ((stream_a, "workers"), (stream_b, "batch")):
        summary = plain.xpending(stream, group)
        assert summary["pending"] == 0, (stream, summary)
        # Everything was delivered: '>' has nothing new for the group.
        left = plain.xreadgroup(group, "checker", {stream: ">"}, count=1)
        assert not left, (stream, left)
    # Every abandoned entry was claimed by r1 (XAUTOCLAIM) and acknowledged.
    summary = plain.xpending(stream_c, "rescue")
    assert summary["pending"] == 0, summary
    plain.delete(stream_a, stream_b, stream_c)
    print(f"consumers: {dict(by_consumer)}")
    print(f"OK {count} messages")


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(run(int(args[0]), args[1], args[2], int(args[3]) if len(args) > 3 else 1000))
