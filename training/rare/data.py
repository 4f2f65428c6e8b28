"""The synthetic rare-event task of Kaiser et al. 2017 (section 4, Table 2), as we read it.

A fixed random function f: S -> S on S = {2, ..., 16000}. An input is a sequence over
{A, B, 0, 1, 2, 3} of length 7..40 holding exactly one contiguous run of 7 base-4 digits that
writes a number n in S (most significant digit first, zero-padded: 4^7 = 16384 > 16000); every
other position is A or B at random. The output has the input's length: the As and Bs copied in
place, the 7 digits replaced by the 7 base-4 digits of f(n). Each n is seen only a few times in
training (40,000 examples over 15,999 numbers: 2.5 on average), so f can only be learnt by
remembering rare events.

Reading of the paper's worked example (stated in training/rare/README.md): the digits stay where
they were and keep their width, so the output is a position-wise transduction of the input.

Everything random comes from one mulberry32 stream (the same generator as src/memory/random.ts)
so the TypeScript twin (src/rare/data.ts) produces the same f and the same examples; a fixture
proves it. Draw order: f(2..16000), then each training example, then each test example; per
example: length, digit position, n, then one A/B draw per non-digit position, left to right.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOW, HIGH = 2, 16000
DIGITS = 7
MIN_LEN, MAX_LEN = 7, 40
# token ids (shared with the TS twin and the exported model)
PAD, GO, TOK_A, TOK_B = 0, 1, 2, 3
DIGIT0 = 4  # '0'..'3' -> 4..7
VOCAB = 8
SYMBOLS = ["<pad>", "<go>", "A", "B", "0", "1", "2", "3"]


class Mulberry32:
    """mulberry32 in unsigned 32-bit arithmetic: the same numbers as src/memory/random.ts."""

    def __init__(self, seed: int):
        self.a = seed & 0xFFFFFFFF

    def next_u32(self) -> int:
        self.a = (self.a + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.a
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return (t ^ (t >> 14)) & 0xFFFFFFFF

    def uniform(self) -> float:
        return self.next_u32() / 4294967296.0

    def below(self, n: int) -> int:
        """Uniform integer in [0, n)."""
        return int(self.uniform() * n)


def _imul(a: int, b: int) -> int:
    return (a * b) & 0xFFFFFFFF


def to_base4(n: int) -> list[int]:
    if not LOW <= n <= HIGH:
        raise ValueError(f"n must be in [{LOW}, {HIGH}], got {n}")
    return [(n >> (2 * (DIGITS - 1 - i))) & 3 for i in range(DIGITS)]


def from_base4(d) -> int:
    n = 0
    for x in d:
        n = n * 4 + int(x)
    return n


@dataclass
class Split:
    inputs: list  # list[list[int]] token ids
    outputs: list
    numbers: np.ndarray  # n of each example
    positions: np.ndarray  # index of the first digit


@dataclass
class Task:
    seed: int
    f: np.ndarray  # f[n] for n in [0, HIGH]; f[0] = f[1] = 0 (unused)
    train: Split
    test: Split


def make_example(rng: Mulberry32, f: np.ndarray):
    length = MIN_LEN + rng.below(MAX_LEN - MIN_LEN + 1)
    pos = rng.below(length - DIGITS + 1)
    n = LOW + rng.below(HIGH - LOW + 1)
    x, y = [], []
    dn, df = to_base4(n), to_base4(int(f[n]))
    for i in range(length):
        if pos <= i < pos + DIGITS:
            x.append(DIGIT0 + dn[i - pos])
            y.append(DIGIT0 + df[i - pos])
        else:
            t = TOK_A if rng.uniform() < 0.5 else TOK_B
            x.append(t)
            y.append(t)
    return x, y, n, pos


def make_task(seed: int = 1, n_train: int = 40000, n_test: int = 10000) -> Task:
    rng = Mulberry32(seed)
    f = np.zeros(HIGH + 1, dtype=np.int64)
    for n in range(LOW, HIGH + 1):
        f[n] = LOW + rng.below(HIGH - LOW + 1)
    splits = []
    for count in (n_train, n_test):
        xs, ys, ns, ps = [], [], [], []
        for _ in range(count):
            x, y, n, p = make_example(rng, f)
            xs.append(x), ys.append(y), ns.append(n), ps.append(p)
        splits.append(Split(xs, ys, np.asarray(ns), np.asarray(ps)))
    return Task(seed, f, splits[0], splits[1])


def parse(text: str) -> list[int]:
    """'AAB0123012BA' (spaces allowed) -> token ids; raises ValueError on anything else."""
    s = text.replace(" ", "")
    table = {"A": TOK_A, "B": TOK_B, "0": DIGIT0, "1": DIGIT0 + 1, "2": DIGIT0 + 2, "3": DIGIT0 + 3}
    bad = [c for c in s if c not in table]
    if bad:
        raise ValueError(f"only A, B and the digits 0-3 are allowed, got {bad[0]!r}")
    if not MIN_LEN <= len(s) <= MAX_LEN:
        raise ValueError(f"length must be {MIN_LEN}..{MAX_LEN}, got {len(s)}")
    x = [table[c] for c in s]
    runs = "".join("d" if t >= DIGIT0 else "." for t in x).split(".")
    runs = [r for r in runs if r]
    if len(runs) != 1 or len(runs[0]) != DIGITS:
        raise ValueError(f"the input must hold exactly one run of {DIGITS} digits")
    first = next(i for i, t in enumerate(x) if t >= DIGIT0)
    n = from_base4([t - DIGIT0 for t in x[first:first + DIGITS]])
    if not LOW <= n <= HIGH:
        raise ValueError(f"the digits write {n}, outside {LOW}..{HIGH}")
    return x


def render(tokens) -> str:
    return "".join(SYMBOLS[t] for t in tokens if t >= TOK_A)


def target_for(x: list[int], f: np.ndarray) -> list[int]:
    first = next(i for i, t in enumerate(x) if t >= DIGIT0)
    n = from_base4([t - DIGIT0 for t in x[first:first + DIGITS]])
    df = to_base4(int(f[n]))
    return [DIGIT0 + df[i - first] if first <= i < first + DIGITS else t for i, t in enumerate(x)]


def sighting_counts(task: Task) -> np.ndarray:
    """For each test example: how many training examples hold its number."""
    c = np.bincount(task.train.numbers, minlength=HIGH + 1)
    return c[task.test.numbers]


if __name__ == "__main__":
    import time
    t0 = time.time()
    task = make_task()
    print(f"made in {time.time() - t0:.1f}s")
    s = sighting_counts(task)
    for k in range(8):
        print(k, int((s == k).sum()))
    print(render(task.train.inputs[0]), "->", render(task.train.outputs[0]))
