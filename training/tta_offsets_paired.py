"""Test-time shift offsets compared on the same validation episodes (rule: bench/tta-offsets-rule.md).

    /usr/bin/python3 training/tta_offsets_paired.py A.pt B.pt [--episodes=4000] [--seed=7] [--json=PATH]

Each checkpoint (train-only: validation held out, as training/paired_val.py checks) and the
checkpoints joined as the app's ensemble key are scored with keys made from several sets of offsets:
the key of a drawing is the renormalised mean of the unit keys of the drawing and of its copies
moved by each offset (data.shifted, the one shift of the Python side). The first set, `shift4`, is
the shipped form (train.shifted_keys with 4 shifts: checked equal here); every other set is compared
with it episode by episode on train.few_shot_episodes. Nothing here reads the evaluation alphabets.
"""
from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import Dataset, load_zip, shifted  # noqa: E402
from export_tfjs import load_model  # noqa: E402
from paired_val import CELLS, held_out_check, interval, run_name  # noqa: E402
from train import embed_all, few_shot_correct, training_ids  # noqa: E402

CROSS1 = [(1, 0), (-1, 0), (0, 1), (0, -1)]
CROSS2 = [(2, 0), (-2, 0), (0, 2), (0, -2)]
DIAG1 = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
VARIANTS = {"shift4": CROSS1, "cross2": CROSS2, "diag1": DIAG1, "shift8": CROSS1 + DIAG1, "cross12": CROSS1 + CROSS2}


@torch.no_grad()
def offset_keys(model, ds: Dataset, offsets: list[tuple[int, int]], batch: int = 512) -> torch.Tensor:
    """[4, N, D] keys of every validation image x 4 rotations, each the renormalised mean of the unit keys
    of the image and of its copies moved by `offsets` (dx, dy)."""
    model.eval()
    out = []
    for rot in range(4):
        keys = []
        for s in range(0, len(ds.char), batch):
            idx = torch.arange(s, min(s + batch, len(ds.char)))
            x = ds.images(idx, torch.full_like(idx, rot), None, None)
            k = model.keys(x)
            for dx, dy in offsets:
                k = k + model.keys(shifted(x, dx, dy))
            keys.append(F.normalize(k, dim=1))
        out.append(torch.cat(keys))
    return torch.stack(out)


def main(argv: list[str]) -> None:
    episodes, seed, json_out, ckpts = 4000, 7, None, []
    def number(a: str) -> int:
        try:
            return int(a.split("=", 1)[1])
        except ValueError:
            raise SystemExit(f"{a.split('=', 1)[0]} needs a whole number, got {a.split('=', 1)[1]!r}") from None

    for a in argv:
        if a.startswith("--episodes="):
            episodes = number(a)
        elif a.startswith("--seed="):
            seed = number(a)
        elif a.startswith("--json="):
            json_out = a.split("=", 1)[1]
        elif a.startswith("--"):
            raise SystemExit(f"unknown option {a}")
        else:
            ckpts.append(a)
    if not ckpts or episodes < 2:
        raise SystemExit("usage: tta_offsets_paired.py A.pt [B.pt ...] [--episodes=N>=2] [--seed=N] [--json=PATH]")
    for c in ckpts:
        held_out_check(c)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    chars = load_zip("images_background")
    _, va_ids = training_ids(chars, False)
    val = Dataset(chars, va_ids)
    keys: dict[str, dict[str, torch.Tensor]] = {}
    for c in ckpts:
        m = load_model(c)
        keys[c] = {v: offset_keys(m, val, off) for v, off in VARIANTS.items()}
        ref = embed_all(m, val, "cpu", shifts=4)
        err = float((ref - keys[c]["shift4"]).abs().max())
        if err > 1e-5:
            raise SystemExit(f"{c}: shift4 keys differ from train.shifted_keys by {err}")
    models = {run_name(c): keys[c] for c in ckpts}
    if len(ckpts) > 1:
        models[" + ".join(run_name(c) for c in ckpts)] = {
            v: torch.cat([keys[c][v] for c in ckpts], dim=-1) / math.sqrt(len(ckpts)) for v in VARIANTS}
    res = {"episodes": episodes, "seed": seed, "validation_characters": val.n_chars, "variants": {v: o for v, o in VARIANTS.items()}, "models": {}}
    for name, ks in models.items():
        res["models"][name] = {}
        for n, k in CELLS:
            right = {v: few_shot_correct(kk, val, n, k, episodes, seed) * (100.0 / n) for v, kk in ks.items()}
            cell = {}
            for v, r in right.items():
                d = r - right["shift4"]
                cell[v] = {"accuracy": [round(float(r.mean()), 2), round(interval(r), 2)],
                           "difference": [round(float(d.mean()), 2), round(interval(d), 2)]}
            res["models"][name][f"{n}w{k}s"] = cell
        print(f"\n{name}\n| variant | " + " | ".join(f"{n}w{k}s" for n, k in CELLS) + " |\n|---|" + "---:|" * len(CELLS))
        for v in VARIANTS:
            row = []
            for n, k in CELLS:
                c = res["models"][name][f"{n}w{k}s"][v]
                row.append(f"{c['accuracy'][0]:.2f}" + ("" if v == "shift4" else " (Δ {:+.2f} ± {:.2f})".format(*c["difference"])))
            print(f"| {v} | " + " | ".join(row) + " |", flush=True)
    if json_out:
        with open(json_out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
