"""RQ (python-rq) against busbar, unchanged: enqueue 1000 jobs, run a worker until the
queue is empty, and check every job finished with the right result (RQ keeps results in
streams: XADD / XREVRANGE). Usage: rq_smoke.py PORT [JOBS]."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from redis import Redis
from rq import Queue, SimpleWorker

import rq_jobs

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
conn = Redis(host="127.0.0.1", port=port)
queue = Queue("default", connection=conn)
jobs = [queue.enqueue(rq_jobs.add, i, i) for i in range(n)]
assert queue.count == n, queue.count

worker = SimpleWorker([queue], connection=conn)
worker.work(burst=True, logging_level="WARNING")

assert queue.count == 0, f"{queue.count} jobs left"
bad = []
for i, job in enumerate(jobs):
    job.refresh()
    if job.get_status() != "finished" or job.return_value() != 2 * i:
        bad.append((i, job.get_status(), job.return_value()))
assert not bad, f"{len(bad)} jobs wrong, e.g. {bad[:3]}"
assert queue.finished_job_registry.count == n, queue.finished_job_registry.count
print("OK", n, "jobs")
