"""Hand-written SimPy models of the two benchmark scenarios: the baseline to beat.

This is what someone would write by hand for bench/scenarios/mm1.yaml and
bench/scenarios/five_station.yaml, with no framework: one ``simpy.Resource``
per replica (or pool), one SimPy process per request, synchronous calls as
nested ``with resource.request()`` blocks (so a web worker stays held while the
cache and the database answer), round robin over the web replicas, draws from
Python's ``random.Random(seed)``, each request's latency appended to a list,
and mean and p99 computed with NumPy at the end.

The models are deliberately minimal but fair: they do only what is needed to
produce the same answer (mean and p99 of the end-to-end latency) and nothing
the project does beyond that (per-node statistics, time series, traces).

Usage (prints one JSON line)::

    python bench/handwritten.py mm1 --seed 1
    python bench/handwritten.py five_station --seed 1 --duration 60
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time

import numpy as np
import simpy

Z99 = 2.3263478740408408  # standard normal quantile at 0.99


def lognormal_params(mean_s: float, p99_s: float) -> tuple[float, float]:
    """(mu, sigma) of a lognormal with the given mean and 99th percentile."""
    sigma = Z99 - math.sqrt(Z99 ** 2 - 2 * math.log(p99_s / mean_s))
    return math.log(mean_s) - sigma ** 2 / 2, sigma


# ── M/M/1: one server, exponential 10 ms, Poisson 80 rps ─────────────────────

def mm1(seed: int, duration_s: float = 5000.0, rate_rps: float = 80.0,
        mean_service_s: float = 0.010) -> tuple[int, list[float]]:
    """Run the M/M/1 model; returns (arrivals, latencies in seconds)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    latencies: list[float] = []
    service_rate = 1.0 / mean_service_s

    def request(env):
        t0 = env.now
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(service_rate))
        latencies.append(env.now - t0)

    arrivals = 0

    def source(env):
        nonlocal arrivals
        while True:
            yield env.timeout(rng.expovariate(rate_rps))
            arrivals += 1
            env.process(request(env))

    env.process(source(env))
    env.run(until=duration_s)
    return arrivals, latencies


# ── five stations: lb -> web (3 x 4) -> cache (32) -> db (10) on a miss ──────

def five_station(seed: int, duration_s: float = 600.0, rate_rps: float = 750.0) -> tuple[int, list[float]]:
    """Run the load balancer / web / cache / database model; returns (arrivals, latencies in s)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    web = [simpy.Resource(env, capacity=4) for _ in range(3)]
    cache = simpy.Resource(env, capacity=32)
    db = simpy.Resource(env, capacity=10)
    web_mu, web_sigma = lognormal_params(0.008, 0.030)
    db_mu, db_sigma = lognormal_params(0.004, 0.015)
    cache_time = 0.0005
    hit_ratio = 0.3
    latencies: list[float] = []

    def request(env, replica):
        t0 = env.now
        with replica.request() as w:                       # a web worker...
            yield w
            yield env.timeout(rng.lognormvariate(web_mu, web_sigma))
            with cache.request() as c:                     # ...held while it calls the cache
                yield c
                yield env.timeout(cache_time)
                if rng.random() >= hit_ratio:              # a miss (70%): the cache calls the db
                    with db.request() as d:
                        yield d
                        yield env.timeout(rng.lognormvariate(db_mu, db_sigma))
        latencies.append(env.now - t0)

    arrivals = 0

    def source(env):
        nonlocal arrivals
        i = 0
        while True:
            yield env.timeout(rng.expovariate(rate_rps))
            arrivals += 1
            env.process(request(env, web[i]))              # round-robin load balancer
            i = (i + 1) % 3

    env.process(source(env))
    env.run(until=duration_s)
    return arrivals, latencies


MODELS = {"mm1": mm1, "five_station": five_station}


def run(model: str, seed: int, duration_s: float | None = None) -> dict:
    """Run one model and summarise it the way the project's JSON does (milliseconds)."""
    kwargs = {} if duration_s is None else {"duration_s": duration_s}
    t0 = time.perf_counter()
    arrivals, latencies = MODELS[model](seed, **kwargs)
    t1 = time.perf_counter()
    lat = np.asarray(latencies) * 1000.0
    mean, p99 = (float(lat.mean()), float(np.percentile(lat, 99))) if lat.size else (0.0, 0.0)
    t2 = time.perf_counter()
    return {"model": model, "seed": seed, "arrived": arrivals, "completed": len(latencies),
            "latency_ms": {"mean": round(mean, 6), "p99": round(p99, 6)},
            "engine": {"wall_s": round(t1 - t0, 6), "summary_s": round(t2 - t1, 6)}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=sorted(MODELS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--duration", type=float, default=None, metavar="S", help="simulated seconds")
    args = p.parse_args(argv)
    print(json.dumps(run(args.model, args.seed, args.duration)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
