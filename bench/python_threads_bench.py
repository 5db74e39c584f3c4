#!/usr/bin/env python3
"""Two Python threads calling selfextend_planner at once against the same two calls in a row.

The module releases the GIL while the library computes, so two threads should take about half
the time of two calls in a row on two idle cores. A wall-clock ratio, so a benchmark, not a test
(tests/python proves the release deterministically). Run after the README set-up:
    PYTHONPATH=build/python /usr/bin/python3 bench/python_threads_bench.py
Prints, per job, the best of 5 for one-after-the-other and for two threads, and their ratio.
"""
import threading
import time

import numpy as np

import selfextend_planner as sp

rng = np.random.default_rng(0)
q64, k64, v64 = (rng.standard_normal((4, 1024, 64)) for _ in range(3))
q32, k32, v32 = (a.astype(np.float32) for a in (q64, k64, v64))

JOBS = {
    "attention reference H=4 N=1024 D=64, threads=1": lambda: sp.attention(q64, k64, v64, 8, 128, kernel="reference", threads=1),
    "attention tiled H=4 N=1024 D=64, threads=1": lambda: sp.attention(q32, k32, v32, 8, 128, threads=1),
    "verify H=4 N=1024 D=64, threads=1": lambda: sp.verify(q64, k64, v64, q64, 8, 128, threads=1),
    "position_tables N=2^24": lambda: sp.position_tables(1 << 24, 8, 1024),
}


def best(run, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def in_a_row(job):
    job()
    job()


def two_threads(job):
    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


for name, job in JOBS.items():
    job()  # warm up
    serial, parallel = best(lambda: in_a_row(job)), best(lambda: two_threads(job))
    print(f"{name:50s}  in a row {serial * 1e3:8.1f} ms   two threads {parallel * 1e3:8.1f} ms   ratio {parallel / serial:.2f}")
