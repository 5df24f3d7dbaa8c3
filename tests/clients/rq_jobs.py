"""Job functions for rq_smoke.py (RQ imports jobs by module path)."""


def add(x, y):
    return x + y
