"""redis-py's consumer-group API against busbar, unchanged: sync and asyncio, RESP3 and RESP2.

Usage: python3 redis_py_streams.py PORT TAG_A TAG_B. Stream keys are `{TAG_A}:...` and
`{TAG_B}:...`; the caller picks two hash tags that live on different shards, so one
XREADGROUP over both streams spans shards. Prints `OK` and exits 0 when every check
passes; a failed check raises, printing a traceback and exiting non-zero.

The same API walk runs six times: sync and redis.asyncio, each with redis-py's default
protocol (RESP3 on the wire, RESP2-shaped replies), protocol=3 and protocol=2;
then the crash scenario runs twice (threads, then asyncio tasks): four consumers share a
group over 2000 entries, one reads a batch and dies without acknowledging, the others
take its entries over with XAUTOCLAIM, and every entry is acknowledged exactly once.
"""

import asyncio
import collections
import sys
import threading
import time

import redis
import redis.asyncio


def streams_of(reply):
    """XREADGROUP's reply as {stream: [(id, fields)]}: RESP2 gives a list of
    [name, entries] pairs, RESP3 a map; a timed-out read gives None or an empty value."""
    if not reply:
        return {}
    if isinstance(reply, dict):
        # redis-py's RESP3 parser (protocol=3) wraps each stream's entries in a list.
        pairs = [
            (name, v[0] if len(v) == 1 and isinstance(v[0], list) else v)
            for name, v in reply.items()
        ]
    else:
        pairs = reply
    return {name: [(eid, fields) for eid, fields in entries] for name, entries in pairs}


def ids_of(entries):
    return [eid for eid, _ in entries]


class SyncAsAsync:
    """A sync client behind awaitable methods, so one async walk checks both APIs."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        method = getattr(self._client, name)

        async def call(*args, **kwargs):
            return method(*args, **kwargs)

        return call


async def expect_error(coro, prefix):
    try:
        await coro
    except redis.ResponseError as err:
        assert str(err).startswith(prefix), f"wanted {prefix}, got {err}"
        return
    raise AssertionError(f"wanted a {prefix} error")


def add_later(port, key, fields, delay):
    """XADDs from another connection after `delay` seconds (wakes a blocked reader)."""

    def run():
        time.sleep(delay)
        redis.Redis(port=port, decode_responses=True).xadd(key, fields, id="100-0")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# --- XINFO, kept apart so that a run against a server without it can leave it out.


async def check_info_after_claims(r, s, missing):
    """XINFO after the claims: 1-0, 3-0, 4-0 pending on c7, 5-0 deleted."""
    info = await r.xinfo_stream(s)
    assert info["length"] == 4, info
    assert info["last-generated-id"] == "5-0", info
    assert info["groups"] == 2, info
    assert info["entries-added"] == 5, info
    assert info["max-deleted-entry-id"] == "5-0", info
    assert info["recorded-first-entry-id"] == "1-0", info
    assert info["first-entry"] == ("1-0", {"n": "1"}), info
    assert info["last-entry"] == ("4-0", {"n": "4"}), info
    groups = {g["name"]: g for g in await r.xinfo_groups(s)}
    assert set(groups) == {"g", "at-end"}, groups
    g = groups["g"]
    assert g["pending"] == 3 and g["last-delivered-id"] == "5-0", g
    assert g["entries-read"] == 5 and g["lag"] == 0, g
    # c1..c7 but c4: a consumer joins a stream's group only when served from it, and c4
    # timed out, then was served from t alone.
    assert g["consumers"] == 6, g
    e = groups["at-end"]
    # Created at '$' without ENTRIESREAD, never served: no consumers, entries-read unknown.
    assert e["pending"] == 0 and e["consumers"] == 0 and e["last-delivered-id"] == "5-0", e
    assert e["entries-read"] is None and e["lag"] == 0, e
    consumers = {c["name"]: c for c in await r.xinfo_consumers(s, "g")}
    assert {n: c["pending"] for n, c in consumers.items()} == {
        "c1": 0,
        "c2": 0,
        "c3": 0,
        "c5": 0,
        "c6": 0,
        "c7": 3,
    }, consumers
    assert all(c["idle"] >= 0 for c in consumers.values()), consumers
    await expect_error(r.xinfo_consumers(s, "nogroup"), "NOGROUP")
    await expect_error(r.xinfo_stream(missing), "no such key")


async def check_info_after_rewind(r, s):
    """XINFO GROUPS after SETID 0 ENTRIESREAD 0 and a read of two entries."""
    groups = {g["name"]: g for g in await r.xinfo_groups(s)}
    assert groups["g"]["last-delivered-id"] == "2-0", groups
    # 5-0 was deleted after the group's position, so Redis cannot count the entries read:
    # entries-read and lag are both unknown (nil).
    assert groups["g"]["entries-read"] is None and groups["g"]["lag"] is None, groups
    assert groups["g"]["consumers"] == 5 and groups["g"]["pending"] == 2, groups


async def check_info_at_end(r, s):
    """XINFO GROUPS after SETID $."""
    g = {g["name"]: g for g in await r.xinfo_groups(s)}["g"]
    assert g["last-delivered-id"] == "5-0" and g["lag"] == 0, g
    assert g["entries-read"] is None and g["pending"] == 2, g


async def check_info_after_destroy(r, s, t):
    """XINFO GROUPS after destroying at-end on s and g on t."""
    assert [g["name"] for g in await r.xinfo_groups(s)] == ["g"]
    assert await r.xinfo_groups(t) == []


def check_ledger_info(r, key, label):
    """XINFO GROUPS and CONSUMERS once the crash scenario is done: nothing pending."""
    group = r.xinfo_groups(key)[0]
    assert group["pending"] == 0 and group["lag"] == 0, (label, group)
    assert group["entries-read"] == ENTRIES, (label, group)
    consumers = {c["name"]: c["pending"] for c in r.xinfo_consumers(key, "workers")}
    assert consumers.get("dead") == 0, (label, consumers)
    assert sum(consumers.values()) == 0, (label, consumers)


async def api_walk(r, port, tag_a, tag_b, label):
    s = f"{{{tag_a}}}:{label}:s"  # the main stream
    t = f"{{{tag_b}}}:{label}:t"  # a stream on another shard
    fresh = f"{{{tag_a}}}:{label}:fresh"
    await r.delete(s, t, fresh)

    # --- XGROUP CREATE: MKSTREAM, '$' and '0', errors.
    await expect_error(r.xgroup_create(fresh, "g"), "The XGROUP subcommand requires the key")
    assert await r.xgroup_create(fresh, "g", id="$", mkstream=True) is True
    assert await r.exists(fresh) == 1
    assert await r.xlen(fresh) == 0
    assert await r.type(fresh) == "stream"
    await expect_error(r.xgroup_create(fresh, "g", id="0"), "BUSYGROUP")

    for i in range(1, 6):
        assert await r.xadd(s, {"n": str(i)}, id=f"{i}-0") == f"{i}-0"
    assert await r.xgroup_create(s, "at-end", id="$") is True
    assert await r.xgroup_create(s, "g", id="0") is True
    # 'fresh' was created empty at '$': an entry added afterwards is new to the group.
    await r.xadd(fresh, {"x": "1"}, id="7-0")
    got = streams_of(await r.xreadgroup("g", "c0", {fresh: ">"}))
    assert got == {fresh: [("7-0", {"x": "1"})]}, got

    # --- XREADGROUP '>' with COUNT, then history.
    got = streams_of(await r.xreadgroup("g", "c1", {s: ">"}, count=2))
    assert got == {s: [("1-0", {"n": "1"}), ("2-0", {"n": "2"})]}, got
    got = streams_of(await r.xreadgroup("g", "c2", {s: ">"}, count=2))
    assert ids_of(got[s]) == ["3-0", "4-0"], got
    # c1's history from 0: its own pending entries only.
    got = streams_of(await r.xreadgroup("g", "c1", {s: "0"}))
    assert got == {s: [("1-0", {"n": "1"}), ("2-0", {"n": "2"})]}, got
    got = streams_of(await r.xreadgroup("g", "c1", {s: "1-0"}, count=5))
    assert ids_of(got[s]) == ["2-0"], got
    # The group at '$' sees nothing new; a non-blocking read gives no streams.
    got = streams_of(await r.xreadgroup("at-end", "c1", {s: ">"}))
    assert got == {}, got
    await expect_error(r.xreadgroup("nogroup", "c1", {s: ">"}), "NOGROUP")

    # --- XREADGROUP over two streams on different shards.
    await r.xadd(t, {"m": "a"}, id="1-0")
    await r.xadd(t, {"m": "b"}, id="2-0")
    assert await r.xgroup_create(t, "g", id="0") is True
    got = streams_of(await r.xreadgroup("g", "c3", {s: ">", t: ">"}, count=10))
    assert got == {s: [("5-0", {"n": "5"})], t: [("1-0", {"m": "a"}), ("2-0", {"m": "b"})]}, got
    got = streams_of(await r.xreadgroup("g", "c3", {s: "0", t: "0"}))
    assert ids_of(got[s]) == ["5-0"] and ids_of(got[t]) == ["1-0", "2-0"], got

    # --- BLOCK: times out empty, then wakes when another connection adds.
    got = streams_of(await r.xreadgroup("g", "c4", {s: ">", t: ">"}, block=100))
    assert got == {}, got
    writer = add_later(port, t, {"m": "late"}, 0.2)
    got = streams_of(await r.xreadgroup("g", "c4", {s: ">", t: ">"}, block=30000))
    writer.join()
    assert got == {t: [("100-0", {"m": "late"})]}, got

    # --- XPENDING summary: s has 1..5 pending: c1 has 1,2; c2 has 3,4; c3 has 5.
    summary = await r.xpending(s, "g")
    assert summary["pending"] == 5, summary
    assert summary["min"] == "1-0" and summary["max"] == "5-0", summary
    consumers = {c["name"]: c["pending"] for c in summary["consumers"]}
    assert consumers == {"c1": 2, "c2": 2, "c3": 1}, summary

    # --- XACK: counts only entries that were pending.
    assert await r.xack(s, "g", "2-0", "99-0") == 1
    assert await r.xack(s, "g", "2-0") == 0
    assert await r.xack(s, "nogroup-here", "1-0") == 0

    # --- XPENDING extended: delivery counts, consumer filter, IDLE.
    rows = await r.xpending_range(s, "g", "-", "+", 10)
    assert [(x["message_id"], x["consumer"]) for x in rows] == [
        ("1-0", "c1"),
        ("3-0", "c2"),
        ("4-0", "c2"),
        ("5-0", "c3"),
    ], rows
    # 1-0 was delivered by ">" and again by the history read from 0; 5-0 likewise.
    delivered = {x["message_id"]: x["times_delivered"] for x in rows}
    assert delivered == {"1-0": 2, "3-0": 1, "4-0": 1, "5-0": 2}, rows
    rows = await r.xpending_range(s, "g", "-", "+", 10, consumername="c2")
    assert [x["message_id"] for x in rows] == ["3-0", "4-0"], rows
    rows = await r.xpending_range(s, "g", "(3-0", "+", 1)
    assert [x["message_id"] for x in rows] == ["4-0"], rows
    rows = await r.xpending_range(s, "g", "-", "+", 10, idle=3_600_000)
    assert rows == [], rows
    await asyncio.sleep(0.05)
    rows = await r.xpending_range(s, "g", "-", "+", 10, consumername="c2", idle=10)
    assert [x["message_id"] for x in rows] == ["3-0", "4-0"], rows
    assert all(x["time_since_delivered"] >= 10 for x in rows), rows

    # --- XCLAIM: moves entries, bumps the delivery count; JUSTID does not bump it.
    claimed = await r.xclaim(s, "g", "c5", 0, ["3-0", "99-0"])
    assert [(eid, f) for eid, f in claimed] == [("3-0", {"n": "3"})], claimed
    claimed = await r.xclaim(s, "g", "c5", 0, ["4-0"], justid=True)
    assert claimed == ["4-0"], claimed
    # A huge min-idle claims nothing.
    assert await r.xclaim(s, "g", "c6", 3_600_000, ["1-0"]) == []
    rows = await r.xpending_range(s, "g", "-", "+", 10, consumername="c5")
    assert [(x["message_id"], x["times_delivered"]) for x in rows] == [
        ("3-0", 2),
        ("4-0", 1),
    ], rows

    # --- XAUTOCLAIM: cursor, COUNT, JUSTID, deleted entries.
    cursor, entries, deleted = await r.xautoclaim(s, "g", "c6", 0, start_id="0-0", count=2)
    assert cursor == "4-0", cursor
    assert [(eid, f) for eid, f in entries] == [("1-0", {"n": "1"}), ("3-0", {"n": "3"})], entries
    assert deleted == [], deleted
    ids = await r.xautoclaim(s, "g", "c6", 0, start_id=cursor, justid=True)
    assert ids == ["4-0", "5-0"], ids
    # An entry deleted from the stream while pending is reported and dropped.
    assert await r.xdel(s, "5-0") == 1
    cursor, entries, deleted = await r.xautoclaim(s, "g", "c7", 0, start_id="0-0")
    assert cursor == "0-0", cursor
    assert ids_of(entries) == ["1-0", "3-0", "4-0"], entries
    assert deleted == ["5-0"], deleted
    summary = await r.xpending(s, "g")
    assert summary["pending"] == 3, summary
    assert {c["name"]: c["pending"] for c in summary["consumers"]} == {"c7": 3}, summary

    # --- XINFO STREAM / GROUPS / CONSUMERS.
    await check_info_after_claims(r, s, f"{{{tag_a}}}:{label}:missing")

    # --- XGROUP CREATECONSUMER / DELCONSUMER.
    assert await r.xgroup_createconsumer(s, "g", "idle-one") == 1
    assert await r.xgroup_createconsumer(s, "g", "idle-one") == 0
    assert await r.xgroup_delconsumer(s, "g", "idle-one") == 0
    # Deleting c7 drops its three pending entries.
    assert await r.xgroup_delconsumer(s, "g", "c7") == 3
    assert (await r.xpending(s, "g"))["pending"] == 0
    assert await r.xgroup_delconsumer(s, "g", "never-was") == 0

    # --- XGROUP SETID: rewind the group, '>' delivers from the start again.
    assert await r.xgroup_setid(s, "g", "0", entries_read=0) is True
    got = streams_of(await r.xreadgroup("g", "c1", {s: ">"}, count=2))
    assert ids_of(got[s]) == ["1-0", "2-0"], got
    await check_info_after_rewind(r, s)
    assert await r.xgroup_setid(s, "g", "$") is True
    await check_info_at_end(r, s)
    got = streams_of(await r.xreadgroup("g", "c1", {s: ">"}))
    assert got == {}, got
    await expect_error(r.xgroup_setid(s, "nogroup", "0"), "NOGROUP")

    # --- XGROUP DESTROY.
    assert await r.xgroup_destroy(s, "at-end") == 1
    assert await r.xgroup_destroy(s, "at-end") == 0
    assert await r.xgroup_destroy(t, "g") == 1
    await check_info_after_destroy(r, s, t)
    await r.delete(s, t, fresh)


# --- The crash scenario ---------------------------------------------------------------

ENTRIES = 2000
DEAD_BATCH = 50
DEADLINE = 90.0  # seconds; only a hang reaches it


class Ledger:
    """What the consumers did, counted: which ids each XACK acknowledged (XACK answered
    1), which ids XAUTOCLAIM handed over, and how many entries were processed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = collections.Counter()
        self.claimed = set()
        self.processed = 0

    def record(self, ids, acks, claimed):
        with self.lock:
            for eid, n in zip(ids, acks):
                assert n in (0, 1), acks
                if n:
                    self.acked[eid] += 1
            if claimed:
                self.claimed.update(ids)
            self.processed += len(ids)

    def done(self):
        with self.lock:
            return len(self.acked) == ENTRIES


def check_ledger(r, key, ledger, all_ids, dead_ids, label):
    assert len(dead_ids) == DEAD_BATCH, (label, len(dead_ids))
    assert set(ledger.acked) == set(all_ids), label
    dup = [eid for eid, n in ledger.acked.items() if n != 1]
    assert dup == [], (label, dup[:10])
    assert sum(ledger.acked.values()) == ENTRIES, label
    # The dead consumer never acknowledged: its entries were all taken by XAUTOCLAIM.
    assert set(dead_ids) <= ledger.claimed, (label, sorted(set(dead_ids) - ledger.claimed)[:10])
    assert ledger.processed >= ENTRIES, label
    summary = r.xpending(key, "workers")
    assert summary["pending"] == 0, (label, summary)
    check_ledger_info(r, key, label)


def fill(r, key):
    r.delete(key)
    pipe = r.pipeline(transaction=False)
    for i in range(ENTRIES):
        pipe.xadd(key, {"job": str(i)})
    all_ids = pipe.execute()
    assert len(set(all_ids)) == ENTRIES
    assert r.xgroup_create(key, "workers", id="0") is True
    return all_ids


def crash_with_threads(port, tag):
    key = f"{{{tag}}}:crash:threads"
    r = redis.Redis(port=port, decode_responses=True)
    all_ids = fill(r, key)
    ledger = Ledger()
    dead_read = threading.Event()
    dead_ids = []
    errors = []
    start = time.monotonic()

    def dead():
        c = redis.Redis(port=port, decode_responses=True)
        got = streams_of(c.xreadgroup("workers", "dead", {key: ">"}, count=DEAD_BATCH))
        dead_ids.extend(ids_of(got.get(key, [])))
        dead_read.set()
        # ... and dies here, holding its batch unacknowledged.

    def worker(name):
        try:
            c = redis.Redis(port=port, decode_responses=True)
            dead_read.wait(30)
            cursor = "0-0"
            while not ledger.done():
                assert time.monotonic() - start < DEADLINE, f"{name}: no progress"
                got = streams_of(c.xreadgroup("workers", name, {key: ">"}, count=20, block=50))
                ids, claimed = ids_of(got.get(key, [])), False
                if not ids:
                    cursor, entries, _ = c.xautoclaim(
                        key, "workers", name, 50, start_id=cursor, count=25
                    )
                    ids, claimed = ids_of(entries), True
                if ids:
                    pipe = c.pipeline(transaction=False)
                    for eid in ids:
                        pipe.xack(key, "workers", eid)
                    ledger.record(ids, pipe.execute(), claimed)
        except BaseException as err:  # reported by the main thread
            errors.append((name, err))

    threads = [threading.Thread(target=dead)]
    threads += [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(DEADLINE + 10)
    assert not any(th.is_alive() for th in threads), "a consumer thread hung"
    assert errors == [], errors
    check_ledger(r, key, ledger, all_ids, dead_ids, "threads")
    r.delete(key)


async def crash_with_tasks(port, tag):
    key = f"{{{tag}}}:crash:tasks"
    r = redis.Redis(port=port, decode_responses=True)
    all_ids = fill(r, key)
    ledger = Ledger()
    dead_read = asyncio.Event()
    dead_ids = []
    start = time.monotonic()

    async def dead():
        c = redis.asyncio.Redis(port=port, decode_responses=True)
        got = streams_of(await c.xreadgroup("workers", "dead", {key: ">"}, count=DEAD_BATCH))
        dead_ids.extend(ids_of(got.get(key, [])))
        dead_read.set()
        await c.aclose()

    async def worker(name):
        c = redis.asyncio.Redis(port=port, decode_responses=True)
        await dead_read.wait()
        cursor = "0-0"
        while not ledger.done():
            assert time.monotonic() - start < DEADLINE, f"{name}: no progress"
            got = streams_of(await c.xreadgroup("workers", name, {key: ">"}, count=20, block=50))
            ids, claimed = ids_of(got.get(key, [])), False
            if not ids:
                cursor, entries, _ = await c.xautoclaim(
                    key, "workers", name, 50, start_id=cursor, count=25
                )
                ids, claimed = ids_of(entries), True
            if ids:
                pipe = c.pipeline(transaction=False)
                for eid in ids:
                    pipe.xack(key, "workers", eid)
                ledger.record(ids, await pipe.execute(), claimed)
        await c.aclose()

    await asyncio.wait_for(
        asyncio.gather(dead(), *(worker(f"w{i}") for i in range(3))), DEADLINE + 10
    )
    check_ledger(r, key, ledger, all_ids, dead_ids, "tasks")
    r.delete(key)


def main(port, tag_a, tag_b):
    # None is redis-py's default: RESP3 on the wire, RESP2-shaped (legacy) replies.
    for protocol in (None, 3, 2):
        sync = redis.Redis(port=port, decode_responses=True, protocol=protocol)
        asyncio.run(api_walk(SyncAsAsync(sync), port, tag_a, tag_b, f"sync{protocol}"))
        print(f"sync API ok (protocol={protocol})")

        async def walk_async():
            client = redis.asyncio.Redis(port=port, decode_responses=True, protocol=protocol)
            await api_walk(client, port, tag_a, tag_b, f"async{protocol}")
            await client.aclose()

        asyncio.run(walk_async())
        print(f"async API ok (protocol={protocol})")
    crash_with_threads(port, tag_a)
    print("crash scenario (threads) ok")
    asyncio.run(crash_with_tasks(port, tag_b))
    print("crash scenario (asyncio tasks) ok")
    print("OK")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
