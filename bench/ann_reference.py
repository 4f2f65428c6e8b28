"""Reference ANN indexes (faiss IVF-Flat and HNSW) on the LSH study's synthetic data: what recall of the
exact top 256 do mature indexes reach at a given speed-up over the exact scan?

The LSH goal of issue 11 asks, at 500k slots, for >= 10x the exact lookup's speed with recall of the
top 256 >= 0.9 on new members of stored clusters. This script measures how far from that the best
known index families get on the same distribution, so the LSH's shortfall can be read against them.

Data: the distribution of tests/unit/memoryLshData.ts (clusteredKeys / newMembers): n/32 clusters with
unit random centres, members normalize(centre + 0.75 * g / sqrt(d)), queries fresh members of random
clusters. Drawn with numpy's generator (not the TypeScript mulberry32 stream), so the keys differ but the
distribution is the same (the mean similarity of the 256th exact neighbour is printed to compare with
bench/lsh-results.md).

Timing: faiss with 1 thread, batch 1, median over the queries; speed-up = IndexFlatIP's median / the
index's median (the same machine, the same queries). Build times are with 2 threads.

usage: /usr/bin/python3 bench/ann_reference.py [--n=500000] [--queries=200] [--out=bench/ann-reference] [--render]
Writes OUT.md and OUT.json (--render: OUT.md from OUT.json, nothing measured).
"""
import json
import os
import platform
import sys
import time

import faiss
import numpy as np

K = 256
D = 128


def arg(name, default):
    for a in sys.argv[1:]:
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return default


def unit_rows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main():
    n = int(arg("n", "500000"))
    nq = int(arg("queries", "200"))
    out = arg("out", "bench/ann-reference")
    if "--render" in sys.argv[1:]:
        with open(out + ".json") as f:
            saved = json.load(f)
        with open(out + ".md", "w") as f:
            f.write(markdown(saved["meta"], saved["rows"]))
        return
    rng = np.random.default_rng(7)
    clusters = n // 32
    centres = unit_rows(rng.standard_normal((clusters, D)).astype(np.float32))
    spread = 0.75 / np.sqrt(D)
    labels = np.arange(n) % clusters
    keys = unit_rows(centres[labels] + spread * rng.standard_normal((n, D)).astype(np.float32)).astype(np.float32)
    qlab = rng.integers(0, clusters, nq)
    queries = unit_rows(centres[qlab] + spread * rng.standard_normal((nq, D)).astype(np.float32)).astype(np.float32)

    def timed(index):
        faiss.omp_set_num_threads(1)
        index.search(queries[:1], K)
        ts, rows = [], []
        for i in range(nq):
            t0 = time.perf_counter()
            _, idx = index.search(queries[i : i + 1], K)
            ts.append(time.perf_counter() - t0)
            rows.append(idx[0])
        return float(np.median(ts) * 1e3), np.stack(rows)

    flat = faiss.IndexFlatIP(D)
    flat.add(keys)
    flat_ms, truth = timed(flat)
    sim256 = float(np.mean(np.sum(keys[truth[:, -1]] * queries, axis=1)))
    print(f"exact (IndexFlatIP) p50 {flat_ms:.2f} ms; mean similarity of the 256th neighbour {sim256:.3f}", flush=True)

    def recall(idx):
        r1 = float(np.mean(idx[:, 0] == truth[:, 0]))
        rk = float(np.mean([len(set(idx[i]) & set(truth[i])) / K for i in range(nq)]))
        return r1, rk

    rows = []
    faiss.omp_set_num_threads(2)
    nlist = 1024
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(D), D, nlist, faiss.METRIC_INNER_PRODUCT)
    t0 = time.time()
    ivf.train(keys[rng.choice(n, min(n, 100 * nlist), replace=False)])
    ivf.add(keys)
    build = time.time() - t0
    for nprobe in [16, 32, 64, 128, 256, 512]:
        ivf.nprobe = nprobe
        ms, idx = timed(ivf)
        r1, rk = recall(idx)
        rows.append({"index": f"IVF-Flat, {nlist} lists", "setting": f"nprobe {nprobe} (reads {nprobe / nlist:.1%} of the keys)", "build_s": build, "p50_ms": ms, "speedup": flat_ms / ms, "recall1": r1, "recall256": rk})
        print(rows[-1], flush=True)
    faiss.omp_set_num_threads(2)
    hnsw = faiss.IndexHNSWFlat(D, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 64
    t0 = time.time()
    hnsw.add(keys)
    build = time.time() - t0
    for ef in [256, 512, 1024, 2048]:
        hnsw.hnsw.efSearch = ef
        ms, idx = timed(hnsw)
        r1, rk = recall(idx)
        rows.append({"index": "HNSW, M 32, efConstruction 64", "setting": f"efSearch {ef}", "build_s": build, "p50_ms": ms, "speedup": flat_ms / ms, "recall1": r1, "recall256": rk})
        print(rows[-1], flush=True)

    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "n": n, "queries": nq, "k": K, "faiss": faiss.__version__,
        "machine": f"{platform.processor() or platform.machine()} x {os.cpu_count()}",
        "load_average_end": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "exact_p50_ms": flat_ms, "sim256": sim256,
    }
    with open(out + ".json", "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    with open(out + ".md", "w") as f:
        f.write(markdown(meta, rows))
    print(markdown(meta, rows))


def markdown(meta, rows):
    n, nq, flat_ms, sim256 = meta["n"], meta["queries"], meta["exact_p50_ms"], meta["sim256"]
    lines = [
        "# Reference ANN indexes on the LSH study's synthetic data (`/usr/bin/python3 bench/ann_reference.py`)",
        "",
        f"- date: {meta['date']}; faiss {meta['faiss']}; machine: {meta['machine']}; load average at the end {meta['load_average_end']}",
        f"- data: {n:,} unit keys in {n // 32:,} clusters of 32 and {nq} queries that are new members of stored clusters (the distribution of bench/lsh-results.md's synthetic rows, drawn by numpy); mean similarity of the exact 256th neighbour {sim256:.3f}",
        f"- exact: faiss IndexFlatIP, batch 1, 1 thread: p50 {flat_ms:.2f} ms; speed-up = that / the index's p50 (1 thread, batch 1). Memory Lab's own exact scan (WASM SIMD) is about 3x faster than faiss's here (bench/lsh-results.md), so against it these speed-ups would be about 3x smaller.",
        "",
        "| index | setting | build (s, 2 threads) | p50 (ms) | speed-up | recall@1 | recall@256 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['index']} | {r['setting']} | {r['build_s']:.0f} | {r['p50_ms']:.2f} | {r['speedup']:.1f}x | {r['recall1']:.3f} | {r['recall256']:.3f} |")
    best10 = max((r["recall256"] for r in rows if r["speedup"] >= 10), default=None)
    first90 = [r for r in rows if r["recall256"] >= 0.9]
    lines += [
        "",
        "## Reading",
        "",
        f"- Best recall@256 at >= 10x over faiss's exact scan: {best10:.3f}" if best10 is not None else "- No setting reached 10x.",
        ("- Recall@256 >= 0.9 first at: " + "; ".join(f"{r['index']} {r['setting']} ({r['speedup']:.1f}x)" for r in first90)) if first90 else "- No setting reached recall@256 0.9.",
        "- Why: a new member's exact top 256 holds its ~31 cluster mates and ~225 keys of unrelated clusters that lie only",
        "  about 3 standard deviations above the bulk of random similarities; no index that reads a small part of the memory",
        "  can tell those from the rest. Recall@1 and the softmax mass (what the prediction and the loss use) are the",
        "  reachable targets on this data (bench/lsh-results.md).",
        "- Re-render from the JSON: `/usr/bin/python3 bench/ann_reference.py --render`.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
