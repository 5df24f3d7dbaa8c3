#!/usr/bin/env python3
"""Bytes per pending entry of a consumer group, busbar vs redis-server (issue 16).

Usage: pel_memory.py PORT PID — loads 1 M entries `type order_created order_id <n>`
into stream `s` of the server on PORT (FLUSHALL first), creates group `g`, delivers all
to 4 consumers, and prints the VmRSS growth of process PID per pending entry (and
INFO used_memory growth). Run it once against each server, started by hand.
"""
import redis, sys, time
port=int(sys.argv[1]); pid=int(sys.argv[2])
def rss():
    for l in open(f'/proc/{pid}/status'):
        if l.startswith('VmRSS'): return int(l.split()[1])*1024
r=redis.Redis(port=port); r.flushall(); time.sleep(0.5)
N=1000000
p=r.pipeline(transaction=False)
for i in range(N):
    p.xadd('s',{'type':'order_created','order_id':str(i)})
    if i%10000==9999: p.execute()
p.execute(); r.xgroup_create('s','g','0'); time.sleep(1.5)
a=rss(); um_a=r.info('memory')['used_memory']
# deliver everything to 4 consumers
for c in range(4):
    r.xreadgroup('g',f'c{c}',{'s':'>'},count=N//4)
time.sleep(1.5)
b=rss(); um_b=r.info('memory')['used_memory']
print(f'port {port}: rss/pending {(b-a)/N:.1f} B, used_memory/pending {(um_b-um_a)/N:.1f} B, pending={r.xpending("s","g")["pending"] if port==7777 else "?"}')
