"""Fixtures that tie the Python and TypeScript sides together (synthetic data only, never Omniglot).

    /usr/bin/python3 training/make_fixtures.py

- tests/fixtures/preprocess_fixture.json: synthetic drawings of several sizes, both ink
  polarities, soft (anti-aliased) and hard edges, with the 28x28 that preprocess.py makes;
  tests/unit/preprocess.test.ts checks the TypeScript port against them (1e-6).
- tests/fixtures/memory_trace.json (age noise 0) and memory_trace_noisy.json (age noise 8): a
  seeded sequence of queries, losses and labelled writes through memory.py, with the expected
  neighbours, values, cases, slots, keys, ages and losses, covering every loss case and
  evictions; tests/unit/memoryTrace.test.ts replays both on the TypeScript memory, and
  training/tests/test_fixtures.py checks that this script still writes the committed traces.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memory import Memory, MemoryConfig  # noqa: E402
from preprocess import preprocess  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def synthetic_drawing(rng: np.random.Generator, h: int, w: int, width: float | None = None,
                      soft: bool = False, ink_is_dark: bool = True) -> np.ndarray:
    """A random multi-stroke 'character' rasterised as thick polylines: [h, w] in [0, 1]."""
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    ink = np.zeros((h, w))
    width = width if width is not None else rng.uniform(1.0, 0.06 * min(h, w) + 1.0)
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    span = rng.uniform(0.15, 0.35) * min(h, w)
    for _ in range(rng.integers(1, 4)):
        n = rng.integers(2, 6)
        pts = np.stack([cy + rng.uniform(-span, span, n), cx + rng.uniform(-span, span, n)], 1)
        for (y0, x0), (y1, x1) in zip(pts[:-1], pts[1:]):
            dy, dx = y1 - y0, x1 - x0
            t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / max(dy * dy + dx * dx, 1e-9), 0, 1)
            d = np.hypot(yy - (y0 + t * dy), xx - (x0 + t * dx))
            stroke = np.clip(width / 2 + 0.5 - d, 0, 1) if soft else (d <= width / 2).astype(float)
            ink = np.maximum(ink, stroke)
    if ink.max() <= 0.1:  # too thin to register: make sure there is a dot
        ink[int(cy), int(cx)] = 1.0
    return 1.0 - ink if ink_is_dark else ink


def preprocess_fixture(path: str):
    rng = np.random.default_rng(2017)
    cases = []
    shapes = [(105, 105), (105, 105), (105, 105), (64, 48), (200, 320), (28, 28), (37, 91), (300, 300)]
    for i, (h, w) in enumerate(shapes * 2):
        dark = bool(i % 2 == 0)
        soft = bool(i % 3 == 0)
        img = synthetic_drawing(rng, h, w, soft=soft, ink_is_dark=dark)
        if i == 5:  # a single dot
            img = np.full((h, w), 1.0 if dark else 0.0)
            img[h // 3, w // 4] = 0.0 if dark else 1.0
        if i == 6:  # ink touching the border (the source square then reaches outside the image)
            img[:, :2] = 0.0 if dark else 1.0
        exp = preprocess(img, ink_is_dark=dark)
        cases.append(dict(name=f"case{i}_{h}x{w}_{'dark' if dark else 'light'}{'_soft' if soft else ''}",
                          height=h, width=w, inkIsDark=dark,
                          pixels=[round(float(v), 6) for v in img.flatten()],
                          expected=[float(v) for v in exp.flatten()]))
    # values rounded to 6 digits above are what both sides read; recompute from the rounded pixels
    for c in cases:
        img = np.asarray(c["pixels"], dtype=np.float64).reshape(c["height"], c["width"])
        c["expected"] = [float(v) for v in preprocess(img, ink_is_dark=c["inkIsDark"]).flatten()]
    empty = [dict(name="blank_dark", height=30, width=20, inkIsDark=True, pixels=[1.0] * 600),
             dict(name="blank_light", height=10, width=10, inkIsDark=False, pixels=[0.0] * 100),
             dict(name="faint_below_threshold", height=8, width=8, inkIsDark=False, pixels=[0.05] * 64)]
    with open(path, "w") as f:
        json.dump(dict(threshold=0.1, cases=cases, emptyCases=empty), f)


def unit(rng, n, d):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def memory_trace(path: str | None, age_noise: float = 0.0, seed: int = 0) -> dict:
    """A seeded trace through memory.py in float64. A scripted prelude makes sure every loss case
    occurs (nb = -1 on a one-label memory, np = -1 for an unseen label, np found outside the top k);
    then random clustered batches fill the memory and evict (with age noise when age_noise > 0:
    the noise is the counter-based hash shared with the TS memory, so decisions still agree).
    -> the trace (also written to `path` when given)."""
    rng = np.random.default_rng(5)
    cfg = MemoryConfig(memory_size=12, key_size=8, k=4, inverse_temperature=40.0, alpha=0.1, age_noise=age_noise)
    mem = Memory(cfg, dtype=torch.float64, seed=seed)
    centres = unit(rng, 5, cfg.key_size)  # 5 labels, clustered keys so both cases of the rule happen

    def sample(labels, spread=0.35):
        q = centres[labels] + spread * rng.normal(size=(len(labels), cfg.key_size))
        return q / np.linalg.norm(q, axis=1, keepdims=True)

    def lst(t):
        return t.tolist()

    steps = []

    def do_query(q):
        qt = torch.from_numpy(q)
        r = mem.query(qt)
        steps.append(dict(op="query", q=lst(qt), expected=dict(
            indices=lst(r["indices"]), similarities=lst(r["similarities"]), values=lst(r["values"]),
            prediction=lst(r["prediction"]), softmax=lst(r["softmax"]))))

    def do_loss(q, labels):
        qt, vt = torch.from_numpy(q), torch.from_numpy(np.asarray(labels))
        loss, np_, nb = mem.loss(qt, vt)
        # was np found outside the top k?
        r = mem.query(qt)
        outside = [int(p) >= 0 and int(p) not in lst(r["indices"][i]) for i, p in enumerate(np_)]
        steps.append(dict(op="loss", q=lst(qt), v=lst(vt), expected=dict(loss=lst(loss), np=lst(np_), nb=lst(nb)),
                          npOutsideTopK=outside))

    def do_write(q, labels):
        qt, vt = torch.from_numpy(q), torch.from_numpy(np.asarray(labels))
        res = mem.write(qt, vt)
        steps.append(dict(op="write", q=lst(qt), v=lst(vt),
                          expected=dict(cases=[r[0] for r in res], slots=[r[1] for r in res],
                                        previousValues=[r[2] for r in res], previousAges=[r[3] for r in res]),
                          after=dict(keys=lst(mem.keys), values=lst(mem.values), ages=[int(a) for a in mem.ages])))

    # prelude: the loss cases the random part may miss
    do_write(sample([0, 0]), [0, 0])
    do_loss(sample([0]), [0])  # one label in memory: nb = -1
    do_loss(sample([4]), [4])  # label 4 nowhere: np = -1
    do_write(sample([1, 1, 2, 2, 3]), [1, 1, 2, 2, 3])
    do_loss(centres[[1]] / np.linalg.norm(centres[[1]]), [0])  # near label 1's cluster: label 0 beyond the top k
    for it in range(60):
        b = int(rng.integers(1, 4))
        labels = rng.integers(0, 5, size=b)
        q = sample(labels)
        do_query(q)
        do_loss(q, labels)
        do_write(q, labels)
    trace = dict(config=dict(memorySize=cfg.memory_size, keySize=cfg.key_size, k=cfg.k, inverseTemperature=cfg.inverse_temperature,
                             alpha=cfg.alpha, ageNoise=age_noise, seed=seed), steps=steps)
    cases = [c for s in steps if s["op"] == "write" for c in s["expected"]["cases"]]
    assert "update" in cases and "new" in cases, "trace must exercise both cases of the update rule"
    losses = [s for s in steps if s["op"] == "loss"]
    assert any(-1 in s["expected"]["nb"] for s in losses), "trace must have nb = -1"
    assert any(-1 in s["expected"]["np"] for s in losses), "trace must have np = -1"
    assert any(any(s["npOutsideTopK"]) for s in losses), "trace must find np outside the top k"
    if path:
        with open(path, "w") as f:
            json.dump(trace, f)
    return trace


def write_traces() -> list[str]:
    out = []
    for name, noise, seed in (("memory_trace.json", 0.0, 0), ("memory_trace_noisy.json", 8.0, 7)):
        path = os.path.join(FIXTURES, name)
        t = memory_trace(path, noise, seed)
        cases = [c for s in t["steps"] if s["op"] == "write" for c in s["expected"]["cases"]]
        out.append(f"{name}: {cases.count('update')} updates, {cases.count('new')} new writes")
    return out


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    preprocess_fixture(os.path.join(FIXTURES, "preprocess_fixture.json"))
    print(f"wrote fixtures to {FIXTURES}: " + "; ".join(write_traces()))


if __name__ == "__main__":
    main()
