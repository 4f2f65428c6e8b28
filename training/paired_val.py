"""Two (or more) encoders compared on the same validation episodes, episode by episode.

    /usr/bin/python3 training/paired_val.py training/runs/long/mem-skip-w60/final.pt training/runs/long/mem-skip-w60-7k/final.pt
    /usr/bin/python3 training/paired_val.py A.pt B.pt C.pt --episodes=4000 --seed=7 --json=out.json
    /usr/bin/python3 training/paired_val.py A.pt B.pt --shifts=4    # every key with the app's 4 test-time shifts
    /usr/bin/python3 training/paired_val.py A.pt+B.pt C.pt+D.pt --shifts=4   # pairs of networks joined as one key

The first checkpoint is the baseline; every other one is compared with it. For each of the four
cells (5/20-way, 1/5-shot) every model answers the same `--episodes` episodes (train.few_shot_correct:
the episodes depend on the seed only, not on the keys), and the report gives each model's accuracy
with its 95% interval and, for each challenger, the mean per-episode difference with a paired 95%
interval. Pairing removes the episode-to-episode spread that two independent estimates carry, so a
difference can be told from noise with far fewer episodes than two separate ±0.7 intervals allow.
A model given as `A.pt+B.pt` is the networks joined as the app's ensemble key: each network's unit
key (with the same test-time shifts), side by side, divided by sqrt(number of networks).

Validation = the background alphabets train.py holds out (data.VAL_ALPHABETS); nothing here reads
the evaluation alphabets. A checkpoint trained with --trainval has seen them, and is refused, as is
one whose training config cannot be found (neither in it nor in a summary.json beside it).
"""
from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import Dataset, load_zip  # noqa: E402
from export_tfjs import load_model  # noqa: E402
from train import embed_all, few_shot_correct, training_ids  # noqa: E402

CELLS = ((5, 1), (5, 5), (20, 1), (20, 5))


def interval(x: np.ndarray) -> float:
    """Half-width of the normal 95% interval of the mean of x."""
    return 1.96 * float(x.std(ddof=1)) / math.sqrt(len(x)) if len(x) > 1 else float("nan")


def held_out_check(ckpt: str) -> None:
    """Stop unless the checkpoint is known to have trained without the validation alphabets: its
    training config (ckpt.pt carries it) or the summary.json train.py writes beside final.pt."""
    try:
        state = torch.load(ckpt, map_location="cpu")
    except Exception as e:  # a truncated or foreign file
        raise SystemExit(f"{ckpt}: cannot read it as a PyTorch checkpoint ({e})") from None
    cfg = state.get("config") if isinstance(state, dict) else None
    summary = os.path.join(os.path.dirname(os.path.abspath(ckpt)), "summary.json")
    if cfg is None and os.path.exists(summary):
        with open(summary) as f:
            cfg = json.load(f).get("config")
    if cfg is None:
        raise SystemExit(f"{ckpt}: cannot tell whether it trained on the validation alphabets (no training config in it, "
                         "no summary.json beside it); give a checkpoint from its training/runs folder")
    if cfg.get("trainval"):
        raise SystemExit(f"{ckpt}: trained on train + validation (--trainval), so validation is not held out for it")


def joined_keys(model: str, val: Dataset, shifts, cache: dict | None = None, widths: tuple[int, ...] = (0,)) -> torch.Tensor:
    """[4, N, D] keys of `model`: one checkpoint, or 'A.pt+B.pt+...' joined as src/encoder joins key parts
    (each part a unit key, the parts side by side / sqrt(parts)). `shifts`: train.shifted_keys's (a count
    or the offsets); `widths`: train.embed_all's pen-width variants. `cache` ((checkpoint, shifts, widths)
    -> keys) spares encoding a network again that several models share."""
    cache = {} if cache is None else cache
    for c in model.split("+"):
        if (c, shifts, widths) not in cache:
            cache[c, shifts, widths] = embed_all(load_model(c), val, "cpu", shifts=shifts, widths=widths)
    parts = [cache[c, shifts, widths] for c in model.split("+")]
    return torch.cat(parts, dim=-1) / math.sqrt(len(parts))


def validation_set() -> Dataset:
    """The background alphabets train.py holds out (data.VAL_ALPHABETS)."""
    chars = load_zip("images_background")
    _, va_ids = training_ids(chars, False)
    return Dataset(chars, va_ids)


def paired_cells(keys: list[torch.Tensor], val: Dataset, episodes: int, seed: int) -> dict:
    """Per cell, every key set's accuracy (± 95%) on the same seeded episodes, and each later one's
    per-episode difference from the first (± its paired 95% interval)."""
    cells = {}
    for n, k in CELLS:
        right = [few_shot_correct(kk, val, n, k, episodes, seed) * (100.0 / n) for kk in keys]
        cell = {"accuracy": [[round(float(r.mean()), 2), round(interval(r), 2)] for r in right], "difference": []}
        for r in right[1:]:
            d = r - right[0]
            cell["difference"].append([round(float(d.mean()), 2), round(interval(d), 2)])
        cells[f"{n}w{k}s"] = cell
    return cells


def compare(ckpts: list[str], episodes: int, seed: int, shifts: int = 0) -> dict:
    val = validation_set()
    cache: dict = {}
    keys = [joined_keys(c, val, shifts, cache) for c in ckpts]
    return {"episodes": episodes, "seed": seed, "shifts": shifts, "validation_characters": val.n_chars, "models": ckpts,
            "cells": paired_cells(keys, val, episodes, seed)}


def run_name(ckpt: str) -> str:
    """training/runs/long/mem-skip-w60/final.pt -> long/mem-skip-w60 (else the path as given)."""
    if "+" in ckpt:
        return " + ".join(run_name(c) for c in ckpt.split("+"))
    parts = os.path.abspath(ckpt).split(os.sep)
    for i in range(len(parts) - 1):
        if parts[i] == "training" and parts[i + 1] == "runs":
            return "/".join(parts[i + 2:-1]) or ckpt
    return ckpt


def table(res: dict) -> str:
    names = [run_name(c) for c in res["models"]]
    rows = ["| model | " + " | ".join(res["cells"]) + " |", "|---|" + "---:|" * len(res["cells"])]
    for i, name in enumerate(names):
        cells = []
        for c in res["cells"].values():
            a, h = c["accuracy"][i]
            cells.append(f"{a:.2f} ± {h:.2f}" + ("" if i == 0 else " (Δ {:+.2f} ± {:.2f})".format(*c["difference"][i - 1])))
        rows.append(f"| {name}{' (baseline)' if i == 0 else ''} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def parse_options(argv: list[str], usage: str, least_models: int, shifts: bool = True) -> tuple[list[str], dict]:
    """-> (models, {episodes, seed, shifts, json}) from the command line, every model's checkpoints checked
    to exist and to have held the validation alphabets out; `shifts`: whether --shifts is an option."""
    opts: dict = {"episodes": 4000, "seed": 7, "shifts": 0, "json": None}
    ckpts: list[str] = []

    def count(a: str, least: int) -> int:
        v = a.split("=", 1)[1]
        if not v.isdigit() or int(v) < least:
            raise SystemExit(f"{a.split('=', 1)[0]} must be a whole number >= {least}, got {v!r}")
        return int(v)

    for a in argv:
        if a.startswith("--episodes="):
            opts["episodes"] = count(a, 2)  # at least 2 for an interval
        elif a.startswith("--seed="):
            opts["seed"] = count(a, 0)
        elif shifts and a.startswith("--shifts="):
            opts["shifts"] = count(a, 0)
            if opts["shifts"] not in (0, 4, 8):
                raise SystemExit(f"--shifts must be 0, 4 or 8 (the app's test-time shifts), got {opts['shifts']}")
        elif a.startswith("--json="):
            opts["json"] = a.split("=", 1)[1]
        elif a.startswith("--"):
            raise SystemExit(f"unknown argument {a!r}")
        else:
            ckpts.append(a)
    if len(ckpts) < least_models:
        raise SystemExit(usage)
    for c in (c for m in ckpts for c in m.split("+")):
        if not os.path.exists(c):
            raise SystemExit(f"no checkpoint at {c!r}")
        held_out_check(c)
    json_out = opts["json"]
    if json_out and not os.path.isdir(os.path.dirname(os.path.abspath(json_out))):
        raise SystemExit(f"--json: no folder {os.path.dirname(os.path.abspath(json_out))!r} to write {json_out!r} in")
    return ckpts, opts


def main(argv: list[str]) -> None:
    ckpts, opts = parse_options(argv, "usage: paired_val.py BASELINE.pt OTHER.pt [...] [--episodes=N] [--seed=N] [--shifts=0|4|8] [--json=PATH]"
                                " (a model may be A.pt+B.pt: networks joined as one key)", 2)
    episodes, seed, shifts, json_out = opts["episodes"], opts["seed"], opts["shifts"], opts["json"]
    torch.set_num_threads(1)
    res = compare(ckpts, episodes, seed, shifts)
    print(f"{episodes} validation episodes per cell (seed {seed}), {res['validation_characters']} held-out characters x 4 rotations; "
          f"{'keys without test-time shifts' if not shifts else f'keys with {shifts} test-time shifts'}; "
          "accuracy ± 95% interval, Δ = paired difference from the baseline ± its 95% interval")
    print(table(res))
    if json_out:
        with open(json_out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
