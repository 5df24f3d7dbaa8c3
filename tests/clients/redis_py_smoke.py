"""redis-py against busbar with default settings (redis-py 8 speaks RESP3 via HELLO 3).

Usage: python3 redis_py_smoke.py PORT. Prints OK and exits 0 when every check passes;
any failed check raises, printing a traceback and exiting non-zero.
"""

import sys

import redis


def main(port: int) -> None:
    r = redis.Redis(port=port)
    assert r.ping() is True

    # The connection negotiated RESP3 (HELLO 3) with the defaults.
    assert "resp=3" in r.execute_command("CLIENT", "INFO").decode()

    r.flushall()
    assert r.set("a", "1") is True
    assert r.get("a") == b"1"
    assert r.get("missing") is None
    assert r.set("a", "2", nx=True) is None
    assert r.set("a", "3", xx=True, get=True) == b"1"
    assert r.incr("counter") == 1
    assert r.incr("counter", 41) == 42
    assert r.decr("counter") == 41
    assert r.incrbyfloat("float", 1.5) == 1.5

    # Keys "a" and "b" live on different shards of a two-shard busbar.
    keys = [f"k{i}" for i in range(50)] + ["a", "b"]
    assert r.mset({k: f"v-{k}" for k in keys}) is True
    assert r.mget(keys + ["missing"]) == [f"v-{k}".encode() for k in keys] + [None]
    assert r.msetnx({"a": "x", "fresh": "y"}) is False
    assert r.exists("a", "b", "fresh", "missing") == 2

    assert r.expire("a", 100) is True
    assert 99 <= r.ttl("a") <= 100
    assert r.ttl("b") == -1
    assert r.ttl("missing") == -2
    assert r.persist("a") is True

    assert r.set("bin", b"\x00\r\n\xff") is True
    assert r.get("bin") == b"\x00\r\n\xff"

    scanned = list(r.scan_iter(count=7))
    assert len(scanned) == len(set(scanned)), "SCAN returned a key twice"
    assert set(scanned) == set(r.keys("*")), (sorted(scanned), sorted(r.keys("*")))
    assert set(r.scan_iter(match="k1*")) == {k.encode() for k in keys if k.startswith("k1")}
    cursor, batch = r.scan(0, count=1000)
    assert isinstance(batch, list)

    info = r.info()
    assert info["redis_version"], info
    assert "connected_clients" in info and info["connected_clients"] >= 1
    assert "used_memory" in info
    assert info["db0"]["keys"] == r.dbsize()
    assert "redis_version" in r.info("server")

    assert r.client_setname("smoke") is True
    assert r.client_getname() in (b"smoke", "smoke")
    assert isinstance(r.client_id(), int)

    cfg = r.config_get("maxmemory-policy")
    assert cfg == {"maxmemory-policy": "noeviction"} or cfg == {b"maxmemory-policy": b"noeviction"}, cfg
    assert "databases" in {k if isinstance(k, str) else k.decode() for k in r.config_get("databases")}

    assert r.delete(*keys) == len(keys)
    assert r.type("counter") == b"string"
    assert r.object("encoding", "counter") == b"int"

    p = r.pipeline(transaction=False)
    for i in range(200):
        p.set(f"p{i}", i)
        p.get(f"p{i}")
    out = p.execute()
    assert out[1::2] == [str(i).encode() for i in range(200)]

    # Pub/Sub with the defaults (RESP3 push frames) and in RESP2, publisher on another
    # connection, so the message crosses shards when the two land on different ones.
    for proto in (3, 2):
        client = redis.Redis(port=port, protocol=proto)
        ps = client.pubsub()
        ps.subscribe("news")
        ps.psubscribe("ne*")
        kinds = {ps.get_message(timeout=5)["type"], ps.get_message(timeout=5)["type"]}
        assert kinds == {"subscribe", "psubscribe"}, kinds
        assert r.publish("news", b"hello\x00") == 2
        got = sorted((m["type"], m["channel"], m["data"]) for m in (ps.get_message(timeout=5), ps.get_message(timeout=5)))
        assert got == [("message", b"news", b"hello\x00"), ("pmessage", b"news", b"hello\x00")], got
        assert r.pubsub_numsub("news") == [(b"news", 1)]
        ps.close()

    # The default pipeline is a MULTI/EXEC transaction; keys p0..p9 span the shards.
    with r.pipeline() as p:
        for i in range(10):
            p.incr(f"t{i}")
        p.mset({f"m{i}": i for i in range(10)})
        p.mget([f"m{i}" for i in range(10)])
        out = p.execute()
    assert out[:10] == [1] * 10, out
    assert out[10] is True and out[11] == [str(i).encode() for i in range(10)], out

    # WATCH-based optimistic transaction with a retry when a watched key changes.
    r.set("balance:a", 100)
    r.set("balance:b", 0)
    attempts = []

    def transfer(pipe):
        attempts.append(1)
        a = int(pipe.get("balance:a"))
        if len(attempts) == 1:
            r.incr("balance:a")  # someone else changes a watched key: EXEC must fail
        pipe.multi()
        pipe.decrby("balance:a", a)
        pipe.incrby("balance:b", a)

    r.transaction(transfer, "balance:a", "balance:b")
    assert len(attempts) == 2, attempts
    assert (int(r.get("balance:a")), int(r.get("balance:b"))) == (0, 101)

    # RESP2 still works when asked for.
    r2 = redis.Redis(port=port, protocol=2, decode_responses=True)
    assert r2.get("p7") == "7"
    assert r2.config_get("databases") == {"databases": "16"}

    print("OK")


if __name__ == "__main__":
    main(int(sys.argv[1]))
