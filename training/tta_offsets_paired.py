"""Test-time shift offsets compared on the same validation episodes (rule: bench/tta-offsets-rule.md).

    /usr/bin/python3 training/tta_offsets_paired.py A.pt B.pt [--episodes=4000] [--seed=7] [--json=PATH]

Each checkpoint (train-only: validation held out, as training/paired_val.py checks) and the
checkpoints joined as the app's ensemble key are scored with keys made from several sets of offsets:
the key of a drawing is the renormalised mean of the unit keys of the drawing and of its copies
moved by each offset (train.shifted_keys). The first set, `shift4`, is the shipped form (the app's
4 test-time shifts); every other set is compared with it episode by episode on paired_val's
episodes. Nothing here reads the evaluation alphabets.
"""
from __future__ import annotations

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired_val import CELLS, joined_keys, paired_cells, parse_options, run_name, validation_set  # noqa: E402

CROSS1 = ((1, 0), (-1, 0), (0, 1), (0, -1))
CROSS2 = ((2, 0), (-2, 0), (0, 2), (0, -2))
DIAG1 = ((1, 1), (1, -1), (-1, 1), (-1, -1))
VARIANTS = {"shift4": CROSS1, "cross2": CROSS2, "diag1": DIAG1, "shift8": CROSS1 + DIAG1, "cross12": CROSS1 + CROSS2}


def main(argv: list[str]) -> None:
    ckpts, opts = parse_options(argv, "usage: tta_offsets_paired.py A.pt [B.pt ...] [--episodes=N>=2] [--seed=N] [--json=PATH]",
                                1, shifts=False)
    episodes, seed = opts["episodes"], opts["seed"]
    torch.set_num_threads(1)
    val = validation_set()
    models = list(ckpts) + (["+".join(ckpts)] if len(ckpts) > 1 else [])  # each network, then all joined
    cache: dict = {}
    res = {"episodes": episodes, "seed": seed, "validation_characters": val.n_chars, "variants": VARIANTS, "models": {}}
    for m in models:
        cells = paired_cells([joined_keys(m, val, off, cache) for off in VARIANTS.values()], val, episodes, seed)
        name = run_name(m)
        res["models"][name] = {cell: {v: {"accuracy": c["accuracy"][i], "difference": [0.0, 0.0] if i == 0 else c["difference"][i - 1]}
                                      for i, v in enumerate(VARIANTS)} for cell, c in cells.items()}
        print(f"\n{name}\n| variant | " + " | ".join(f"{n}w{k}s" for n, k in CELLS) + " |\n|---|" + "---:|" * len(CELLS))
        for v in VARIANTS:
            row = [res["models"][name][f"{n}w{k}s"][v] for n, k in CELLS]
            print(f"| {v} | " + " | ".join(f"{c['accuracy'][0]:.2f}" + ("" if v == "shift4" else " (Δ {:+.2f} ± {:.2f})".format(*c["difference"]))
                                            for c in row) + " |", flush=True)
    if opts["json"]:
        with open(opts["json"], "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
