"""The Hamming nearest-neighbour baseline of Table 2: answer each test input with the output of
the training input nearest in Hamming distance (positions compared left-aligned; a length
difference counts as that many mismatches; ties -> the earlier training example).

    /usr/bin/python3 training/rare/hamming.py        # prints the accuracy, writes bench/rare-hamming.json
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import MAX_LEN, PAD, VOCAB, make_task, sighting_counts  # noqa: E402


def one_hot(seqs) -> np.ndarray:
    """-> [N, MAX_LEN * VOCAB] float32; padding is its own symbol, so a length difference mismatches."""
    out = np.zeros((len(seqs), MAX_LEN, VOCAB), dtype=np.float32)
    for i, s in enumerate(seqs):
        out[i, np.arange(len(s)), s] = 1
        out[i, np.arange(len(s), MAX_LEN), PAD] = 1
    return out.reshape(len(seqs), -1)


def nearest(train_inputs, test_inputs, chunk: int = 2000) -> np.ndarray:
    tr = one_hot(train_inputs)
    idx = []
    for s in range(0, len(test_inputs), chunk):
        matches = one_hot(test_inputs[s:s + chunk]) @ tr.T  # = MAX_LEN - Hamming distance
        idx.append(matches.argmax(1))  # first maximum: the earlier training example on ties
    return np.concatenate(idx)


def evaluate(task) -> dict:
    nn = nearest(task.train.inputs, task.test.inputs)
    correct = np.array([task.train.outputs[j] == y for j, y in zip(nn, task.test.outputs)])
    counts = sighting_counts(task)
    return dict(accuracy=round(100.0 * correct.mean(), 2),
                by_sightings={int(c): dict(n=int((counts == c).sum()), accuracy=round(100.0 * correct[counts == c].mean(), 2))
                              for c in np.unique(counts)})


if __name__ == "__main__":
    task = make_task(1)
    res = evaluate(task)
    print(json.dumps(res, indent=1))
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    os.makedirs(os.path.join(root, "bench"), exist_ok=True)
    with open(os.path.join(root, "bench", "rare-hamming.json"), "w") as f:
        json.dump(res, f, indent=1)
