"""Test-time stroke-width copies compared on the same validation episodes (rule: bench/tta-width-rule.md).

    /usr/bin/python3 training/tta_width_paired.py A.pt [B.pt ...] [--episodes=4000] [--seed=7] [--json=PATH]

Each checkpoint (train-only: validation held out, as training/paired_val.py checks) and the
checkpoints joined as the app's ensemble key are scored with two key forms on paired_val's episodes:
`shift4`, the shipped one (train.embed_all with 4 one-pixel shifts), and `w2s4`, the renormalised
mean of the unit keys of the drawing, of its thicker-pen copy (the Dataset's cached variant: one 3x3
dilation of the 105x105 ink before preprocessing, as training's `p_dilate`) and of the 4 shifts of
each (train.embed_all with widths (0, 1)). Nothing here reads the evaluation alphabets.
"""
from __future__ import annotations

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired_val import CELLS, joined_keys, paired_cells, parse_options, run_name, validation_set  # noqa: E402


def main(argv: list[str]) -> None:
    ckpts, opts = parse_options(argv, "usage: tta_width_paired.py A.pt [B.pt ...] [--episodes=N>=2] [--seed=N] [--json=PATH]",
                                1, shifts=False)
    episodes, seed = opts["episodes"], opts["seed"]
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    val = validation_set()
    models = list(ckpts) + (["+".join(ckpts)] if len(ckpts) > 1 else [])
    res = {"episodes": episodes, "seed": seed, "validation_characters": val.n_chars, "variants": ["shift4", "w2s4"], "models": {}}
    cache: dict = {}
    for m in models:
        parts = m.split("+")
        kk = [joined_keys(m, val, 4, cache), joined_keys(m, val, 4, cache, widths=(0, 1))]
        cells = paired_cells(kk, val, episodes, seed)
        name = "+".join(run_name(c) for c in parts)
        res["models"][name] = cells
        print(f"\n{name}\n| variant | " + " | ".join(f"{n}w{k}s" for n, k in CELLS) + " |\n|---|" + "---:|" * len(CELLS))
        print("| shift4 | " + " | ".join(f"{cells[f'{n}w{k}s']['accuracy'][0][0]:.2f}" for n, k in CELLS) + " |")
        print("| w2s4 | " + " | ".join("{:.2f} (Δ {:+.2f} ± {:.2f})".format(cells[f"{n}w{k}s"]["accuracy"][1][0], *cells[f"{n}w{k}s"]["difference"][0])
                                      for n, k in CELLS) + " |", flush=True)
    if opts["json"]:
        with open(opts["json"], "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
