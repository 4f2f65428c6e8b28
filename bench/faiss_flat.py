"""faiss IndexFlatIP peer for bench/memory.ts: exact inner-product top-k on the same keys.

usage: /usr/bin/python3 bench/faiss_flat.py KEYS.f32 N D QUERIES.f32 NQ K REPS1 REPS16
Reads raw little-endian float32 files (row-major), prints one JSON line with per-call timings (ms)
for batch 1 and batch 16 (faiss default threads, and 1 thread for batch 1), the top-1 indices of
the first NQ queries, and numpy's read bandwidth (sum over the key matrix).
"""
import json
import sys
import time

import faiss
import numpy as np


def main():
    keys_path, n, d, q_path, nq, k, reps1, reps16 = sys.argv[1:9]
    n, d, nq, k, reps1, reps16 = int(n), int(d), int(nq), int(k), int(reps1), int(reps16)
    x = np.fromfile(keys_path, dtype="<f4").reshape(n, d)
    q = np.fromfile(q_path, dtype="<f4").reshape(nq, d)
    index = faiss.IndexFlatIP(d)
    index.add(x)
    out = {"threads": faiss.omp_get_max_threads()}

    def timed(batch, reps):
        ts = []
        index.search(q[:batch], k)  # warm up
        for r in range(reps):
            s = (r * batch) % max(1, nq - batch + 1)
            t0 = time.perf_counter()
            index.search(q[s:s + batch], k)
            ts.append((time.perf_counter() - t0) * 1e3)
        return ts

    out["b1"] = timed(1, reps1)
    out["b16"] = timed(16, reps16)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    out["b1_1thread"] = timed(1, reps1)
    faiss.omp_set_num_threads(threads)
    _, idx = index.search(q, 1)
    out["top1"] = idx[:, 0].tolist()
    # read bandwidth: sum over the key matrix (best of 5)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        x.sum(dtype=np.float32)
        best = min(best, time.perf_counter() - t0)
    out["numpyReadGBs"] = x.nbytes / best / 1e9
    print(json.dumps(out))


if __name__ == "__main__":
    main()
