"""Fixtures that prove the TypeScript side (src/rare/) equal to this Python side.

    /usr/bin/python3 training/rare/make_fixture.py data
        -> tests/fixtures/rare_data.json: f on some numbers, the first/last examples of each split,
           the sighting histogram of the seed-1 task, and a whole small task (seed 7).
    /usr/bin/python3 training/rare/make_fixture.py parity --model=models/rare-seq2seq-memory
        -> tests/fixtures/rare/<model folder name>.parity.json: a dozen inputs decoded by train.py's
           decode() on the *exported* files (keys = normalize(float32(float16 keys))): outputs,
           per-step n1, memory value, confidence, the outputs without memory, and (first cases)
           the per-step logits and memory queries.
    /usr/bin/python3 training/rare/make_fixture.py tiny --out=tests/fixtures/rare-tiny
    /usr/bin/python3 training/rare/make_fixture.py tiny --full_size=true --examples=10000 --out=/tmp/rare-random
        -> a tiny, randomly initialised model (seeded) whose memory holds the teacher-forced
           writes of the first training examples, exported with export.py: what the TS tests and
           the e2e suite run on when no trained model is present.

Nothing here trains; it only reads an export (or makes the tiny one).
"""
from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from data import (GO, HIGH, LOW, PAD, Mulberry32, make_task, parse, render,  # noqa: E402
                  sighting_counts, target_for, to_base4)
from export import FORMAT, export, exported_keys  # noqa: E402
from memory import BatchMemory, BatchMemoryConfig  # noqa: E402
from model import Seq2Seq, Seq2SeqConfig  # noqa: E402
from train import decode, forward_teacher, memory_mask, pad  # noqa: E402

torch.set_num_threads(1)


# ---------------------------------------------------------------- data fixture

def data_fixture() -> dict:
    task = make_task(1)
    counts = sighting_counts(task)
    hist = {int(c): int((counts == c).sum()) for c in np.unique(counts)}
    train_counts = np.bincount(task.train.numbers, minlength=HIGH + 1)

    def ex(split, i):
        return dict(index=i, input=render(split.inputs[i]), output=render(split.outputs[i]),
                    n=int(split.numbers[i]), position=int(split.positions[i]))

    def ends(split):
        n = len(split.inputs)
        return [ex(split, i) for i in (0, 1, 2, n // 2, n - 2, n - 1)]

    probe = [2, 3, 4, 5, 100, 1000, 4096, 8191, 12345, 15999, 16000]
    small = make_task(7, n_train=5, n_test=3)
    # the first draws of the stream itself
    rng = Mulberry32(1)
    return dict(
        seed=1,
        first_uniforms=[rng.uniform() for _ in range(5)],
        f={str(n): int(task.f[n]) for n in probe},
        f_sum=int(task.f[LOW:].sum()),
        f_checksum=int((task.f[LOW:] * np.arange(1, HIGH - LOW + 2)).sum() % 1000000007),
        train=ends(task.train),
        test=ends(task.test),
        train_numbers_sum=int(task.train.numbers.sum()),
        test_numbers_sum=int(task.test.numbers.sum()),
        test_sighting_histogram=hist,
        train_count_of={str(n): int(train_counts[n]) for n in probe},
        small=dict(seed=7, n_train=5, n_test=3,
                   f_first={str(n): int(small.f[n]) for n in range(LOW, LOW + 10)},
                   train=[ex(small.train, i) for i in range(5)], test=[ex(small.test, i) for i in range(3)]),
        parse_ok=[dict(text=t, tokens=parse(t)) for t in ("AB0000002BA", "0001000", "A B 3322000 B", "ABABABABABABABABABABABABABABABABA3322000")],
        parse_rejected=[t for t in REJECTED if _rejects(t)],
    )


REJECTED = ["", "AB", "AB0000001", "AB000000BA", "AB00000000BA", "AB0000002B0A", "AB0000012BA1", "AB3322001BA", "AB0000000BA",
            "AB0000002BC", "AB0000002B4", "A" * 34 + "0000002", "xyz", "AB000-002BA"]


def _rejects(text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return True
    raise AssertionError(f"{text!r} was expected to be rejected")


# ---------------------------------------------------------------- loading an export

def load_export(model_dir: str):
    """model.json + weights.bin + memory.*.bin -> (model, memory, doc), as every reader sees them:
    keys = normalize(float32(float16 keys))."""
    doc = json.load(open(os.path.join(model_dir, "model.json")))
    if doc.get("format") != FORMAT or doc.get("version") != 1:
        raise ValueError(f"{model_dir}/model.json: expected format {FORMAT} v1, got {doc.get('format')} v{doc.get('version')}")
    config = dict(doc["config"])
    # files before query_activation existed: tanh
    config["query_norm"] = "identity" if config.pop("query_activation", "tanh") == "identity" else "tanh"
    model = Seq2Seq(Seq2SeqConfig(**config))
    raw = np.fromfile(os.path.join(model_dir, "weights.bin"), dtype="<f4")
    if raw.nbytes != doc["weights_bytes"]:
        raise ValueError(f"weights.bin: expected {doc['weights_bytes']} bytes, got {raw.nbytes}")
    sd = {}
    for w in doc["weights"]:
        n, o = int(np.prod(w["shape"])), w["offset"] // 4
        sd[w["name"]] = torch.from_numpy(raw[o:o + n].reshape(w["shape"]).copy())
    model.load_state_dict(sd)
    model.eval()
    m = doc["memory"]
    mem = BatchMemory(BatchMemoryConfig(memory_size=m["size"], key_size=m["key_size"], k=m["k"],
                                        inverse_temperature=m["inverse_temperature"], alpha=m["alpha"], age_noise=m["age_noise"]))
    files = {k: os.path.join(model_dir, v) for k, v in m["files"].items()}
    keys16 = np.fromfile(files["keys"], dtype="<f2").reshape(m["size"], m["key_size"])
    mem.keys = exported_keys(torch.from_numpy(keys16.astype(np.float32)))
    mem.values = torch.from_numpy(np.fromfile(files["values"], dtype=np.int8).astype(np.int64))
    mem.ages = torch.from_numpy(np.fromfile(files["ages"], dtype="<f4").copy())
    mem.origin = torch.from_numpy(np.fromfile(files["origin"], dtype="<i4").astype(np.int64))
    mem.writes = m["writes"]
    return model, mem, doc


# ---------------------------------------------------------------- parity fixture

def parity_inputs(task, n: int = 12):
    """A dozen inputs: test examples whose number was seen 0, 1, 2, 3+ times in training, the
    shortest and longest lengths, digits at both ends, and two typed ones."""
    counts = sighting_counts(task)
    picks, seen = [], set()

    def add(i):
        if i not in seen:
            seen.add(i)
            picks.append(render(task.test.inputs[i]))

    for c in (0, 1, 2, 3, 5):
        add(int(np.nonzero(counts == c)[0][0]))
    lens = np.array([len(x) for x in task.test.inputs[:10000]])
    add(int(np.nonzero(lens == 7)[0][0]))
    add(int(np.nonzero(lens == 40)[0][0]))
    ends = [i for i in range(10000) if task.test.positions[i] + 7 == lens[i] and lens[i] > 20]
    add(ends[0])
    starts = [i for i in range(10000) if task.test.positions[i] == 0 and lens[i] > 20]
    add(starts[0])
    picks.append(render(task.train.inputs[0]))  # a training example: its own key is in memory
    picks.append("ABBA" + "".join(str(d) for d in to_base4(12345)) + "BAAB")
    for i in range(n):  # more candidates, in case some above are numerically ambiguous
        add(i)
    return picks


MIN_MARGIN = 5e-5  # float32 in TF.js and in PyTorch differ by ~1e-6; closer decisions are not compared


def parity_fixture(model_dir: str, n: int = 12) -> dict:
    """Decode the candidates; keep first those whose every decision (n1, greedy argmax) is at least
    MIN_MARGIN away from a tie. When fewer than n are (a memory whose keys are nearly all alike),
    fill up with the others: each case says up to which step it is comparable (`compare_until`:
    the first step with a near tie; the greedy prefix may legitimately differ after it)."""
    model, mem, doc = load_export(model_dir)
    cfg = SimpleNamespace(memory_steps=doc["task"]["memory_steps"], use_memory=bool(doc["config"]["use_memory"]))
    task = make_task(doc["task"]["seed"])
    texts = parity_inputs(task, 3 * n)
    xs = [parse(t) for t in texts]
    x = pad(xs, "cpu")
    with torch.no_grad():
        r = decode(model, mem, x, cfg)
        r0 = decode(model, mem, x, cfg, use_memory=False)
        # the per-step logits and queries of the same greedy run, recomputed over its own prefix
        mask = x != PAD
        enc = model.encode(x, mask)
        prev = torch.cat([torch.full_like(x[:, :1], GO), r["pred"][:, :-1]], 1)
        h, _ = model.dec(model.tok(prev))
        a, att, _ = model.attention_vector(h, enc, mask)
        logits = model.logits(att, r["mem_value"], r["mem_conf"])
        prev0 = torch.cat([torch.full_like(x[:, :1], GO), r0["pred"][:, :-1]], 1)
        h0, _ = model.dec(model.tok(prev0))
        _, att0, _ = model.attention_vector(h0, enc, mask)
        logits0 = model.logits(att0, torch.full_like(x, -1), torch.zeros(x.shape))
    assert torch.equal(logits0.argmax(-1).masked_fill(~mask, PAD), r0["pred"]), "the recomputed logits must give decode()'s outputs"
    pred_check = logits.argmax(-1).masked_fill(~mask, PAD)
    assert torch.equal(pred_check, r["pred"]), "the recomputed logits must give decode()'s outputs"
    sel = memory_mask(x, cfg.memory_steps)
    f = task.f
    cases = []
    for b, text in enumerate(texts):
        L = len(xs[b])
        steps = [t for t in range(L) if bool(sel[b, t])]
        # numeric margins: how far each decision is from a tie (the TS side computes in float32 too)
        q = F.normalize(model.query_of(a[b, steps]), dim=-1)
        look = mem.lookup(q) if steps and cfg.use_memory else None
        gaps = (look["sims"][:, 0] - look["sims"][:, 1]).tolist() if look is not None and look["sims"].shape[1] > 1 else []
        top2 = logits[b, :L].topk(2, dim=-1).values
        lm = (top2[:, 0] - top2[:, 1]).tolist()
        lm0 = (lambda v: (v[:, 0] - v[:, 1]).tolist())(logits0[b, :L].topk(2, dim=-1).values)
        near = [t for t in range(L) if lm[t] < MIN_MARGIN] + [t for t, g in zip(steps, gaps) if g < MIN_MARGIN]
        near0 = [t for t in range(L) if lm0[t] < MIN_MARGIN]
        expected = target_for(xs[b], f)
        c = dict(
            input=text,
            expected=expected,
            # token ids: an untrained model may emit <pad> or <go>, which text would hide
            output=r["pred"][b, :L].tolist(),
            output_without_memory=r0["pred"][b, :L].tolist(),
            memory_steps=steps,
            n1=[int(r["n1"][b, t]) for t in steps],
            memory_value=[int(r["mem_value"][b, t]) for t in steps],
            confidence=[round(float(r["mem_conf"][b, t]), 7) for t in steps],
            n1_margin=[round(g, 7) for g in gaps],
            logit_margin=round(float(min(lm)), 7),
            compare_until=min(near, default=L),
            compare_until_without_memory=min(near0, default=L),
        )
        # kept for the first few cases only (below)
        c["logits"] = [[round(v, 6) for v in row] for row in logits[b, :L].tolist()]
        c["queries"] = [[round(v, 7) for v in row] for row in q.tolist()]
        cases.append(c)
    L_of = lambda c: len(c["input"])  # noqa: E731
    clean = [c for c in cases if c["compare_until"] == L_of(c) and c["compare_until_without_memory"] == L_of(c)]
    rest = sorted((c for c in cases if c not in clean), key=lambda c: -(c["compare_until"] + c["compare_until_without_memory"]) / L_of(c))
    cases = (clean + rest)[:n]
    for c in cases[4:]:
        del c["logits"], c["queries"]
    return dict(model=os.path.relpath(os.path.abspath(model_dir), ROOT), format=doc["format"], use_memory=cfg.use_memory,
                memory_steps=cfg.memory_steps, filled=int(mem.filled.sum()), cases=cases)


# ---------------------------------------------------------------- tiny model

QUERY_SCALE, VALUE_SCALE = 8.0, 40.0


def tiny_model(out: str, seed: int = 3, memory_size: int = 1024, examples: int = 256, full_size: bool = False) -> dict:
    """A small random-init model (the real architecture, narrow), its memory filled by one
    teacher-forced read-write pass over the first training examples (train.py's forward_teacher
    with write=True), exported with export.py. full_size: the default (trained) widths instead,
    for measuring speed before a trained model exists."""
    torch.manual_seed(seed)
    model = Seq2Seq(Seq2SeqConfig() if full_size else Seq2SeqConfig(embed=8, hidden=16, key_size=16, value_embed=8))
    # Scaled so that the untrained network still exercises every path: a sharp alignment (output t
    # reads input t), spread-out memory queries (distinct neighbours, confidences well above 1/k)
    # and a memory value that moves the logits (outputs with and without the memory differ).
    with torch.no_grad():
        model.rel[model.cfg.max_len - 1] = 8.0
        model.query.weight.mul_(QUERY_SCALE)
        model.out.weight[:, model.cfg.key_size:].mul_(VALUE_SCALE)
    model.eval()
    cfg = dict(task_seed=1, memory_steps="digits", memory_size=memory_size, k=256, alpha=0.1, use_memory=True)
    mem = BatchMemory(BatchMemoryConfig(memory_size=memory_size, key_size=model.cfg.key_size, k=256, alpha=0.1), seed=seed)
    task = make_task(1, n_test=0)
    ns = SimpleNamespace(memory_steps="digits", use_memory=True)
    with torch.no_grad():
        for s in range(0, examples, 32):
            e = min(s + 32, examples)
            x = pad(task.train.inputs[s:e], "cpu")
            y = pad(task.train.outputs[s:e], "cpu")
            forward_teacher(model, mem, x, y, ns, write=True, train=False, ids=np.arange(s, e))
    doc = export(model, mem, cfg, out, dict(note=f"tiny random-init fixture model (seed {seed}); memory: teacher-forced writes of training examples 0..{examples - 1}"))
    return doc


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("data", "parity", "tiny"):
        raise SystemExit(__doc__)
    args = dict(a[2:].split("=", 1) for a in sys.argv[2:] if a.startswith("--") and "=" in a)
    if sys.argv[1] == "data":
        out = args.get("out", os.path.join(ROOT, "tests", "fixtures", "rare_data.json"))
        with open(out, "w") as f:
            json.dump(data_fixture(), f, indent=1)
        print(f"wrote {out}")
    elif sys.argv[1] == "tiny":
        out = args.get("out", os.path.join(ROOT, "tests", "fixtures", "rare-tiny"))
        full = args.get("full_size", "false").lower() in ("1", "true", "yes")
        doc = tiny_model(out, memory_size=int(args.get("memory_size", 65536 if full else 1024)),
                         examples=int(args.get("examples", 256)), full_size=full)
        print(f"exported the tiny model to {out}: {doc['memory']['filled']} filled slots of {doc['memory']['size']}")
    else:
        model_dir = args.get("model", os.path.join(ROOT, "models", "rare-seq2seq-memory"))
        name = os.path.basename(os.path.normpath(model_dir))
        out = args.get("out", os.path.join(ROOT, "tests", "fixtures", "rare", f"{name}.parity.json"))
        fx = parity_fixture(model_dir)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump(fx, f, indent=1)
        right = sum(c["output"] == c["expected"] for c in fx["cases"])  # token lists
        clean = sum(c["compare_until"] == len(c["input"]) and c["compare_until_without_memory"] == len(c["input"]) for c in fx["cases"])
        print(f"wrote {out}: {len(fx['cases'])} cases ({right} fully right), {clean} comparable at every step; "
              f"the others up to their first near tie (n1 or argmax within {MIN_MARGIN} of a tie)")


if __name__ == "__main__":
    main()
