#!/usr/bin/env python3
"""NumPy baseline for bench/tables_bench.cpp: the same jobs, timed the same way (best of repeats).

Run with Debian's python3 (needs numpy):  /usr/bin/python3 bench/tables_numpy_baseline.py
Prints one line per job: name, N, best wall and CPU milliseconds (of 5, or of 2 for N >= 10^8).
"""
import os
import sys
import tempfile
import time

import numpy as np

G, W, L = 8, 1024, 4096


def tables(n):
    t = np.arange(n, dtype=np.int64)
    nk = t.copy()
    gk = t // G
    gq = gk + (W - W // G)
    return t, nk, gq, gk


def fill_tables(out):
    """The same arrays into existing buffers (out: 4 int64 arrays of N)."""
    nq, nk, gq, gk = out
    n = nq.shape[0]
    nq[:] = np.arange(n, dtype=np.int64)  # NumPy has no in-place arange; this is the closest
    np.copyto(nk, nq)
    np.floor_divide(nq, G, out=gk)
    np.add(gk, W - W // G, out=gq)


def dense(n):
    i = np.arange(n, dtype=np.int64)[:, None]
    j = np.arange(n, dtype=np.int64)[None, :]
    gq = i // G + (W - W // G)
    out = np.where(i - j < W, i - j, gq - j // G)
    out[j > i] = -1
    return out


def reuse(n):
    """The same O(N + P_max) counts as compute_reuse, vectorised: per query i >= W a range of
    positions gets G pairs each and one position gets r + 1 (difference arrays via bincount)."""
    pmax = (n - 1) // G + W - W // G if n > W else n - 1
    neighbor = np.zeros(pmax + 1, dtype=np.int64)
    k = min(n, W)
    neighbor[:k] = n - np.arange(k, dtype=np.int64)
    group = np.zeros(pmax + 1, dtype=np.int64)
    if n > W:
        i = np.arange(W, n, dtype=np.int64)
        gq = i // G + (W - W // G)
        m, r = np.divmod(i - W, G)
        size = pmax + 2
        diff = (np.bincount(gq - m + 1, minlength=size) * G - np.bincount(gq + 1, minlength=size) * G
                + np.bincount(gq - m, weights=r + 1, minlength=size).astype(np.int64)
                - np.bincount(gq - m + 1, weights=r + 1, minlength=size).astype(np.int64))
        group = np.cumsum(diff)[:pmax + 1]
    return neighbor + group, neighbor, group


def write_npy(n, path):
    np.save(path, np.stack(tables(n)))


def best(fn, repeats):
    """Best wall and best process-CPU milliseconds (CPU time is robust on a shared machine;
    Google Benchmark reports both too)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return f"{1000 * min(wall):.3f} ms wall {1000 * min(cpu):.3f} ms cpu"


def main():
    # Sanity: the baseline computes what the library computes (checked against brute force in tests).
    counts, _, _ = reuse(3000)
    assert counts.sum() == 3000 * 3001 // 2
    sizes = [10**5, 10**6, 10**7, 10**8]
    for n in sizes:
        print(f"numpy_tables {n} {best(lambda: tables(n), 2 if n >= 10**8 else 5)}", flush=True)
    for n in sizes:
        out = [np.zeros(n, dtype=np.int64) for _ in range(4)]
        print(f"numpy_fill_tables {n} {best(lambda: fill_tables(out), 2 if n >= 10**8 else 5)}", flush=True)
        del out
    for n in [4096, 11585]:
        print(f"numpy_dense_prefill {n} {best(lambda: dense(n), 2)}", flush=True)
    for n in sizes:
        print(f"numpy_reuse {n} {best(lambda: reuse(n), 2 if n >= 10**8 else 5)}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "tokens.npy")
        print(f"numpy_write_npy {10**7} {best(lambda: write_npy(10**7, path), 3)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
