"""Test-time stroke-width copies compared on the same validation episodes (rule: bench/tta-width-rule.md).

    /usr/bin/python3 training/tta_width_paired.py A.pt [B.pt ...] [--episodes=4000] [--seed=7] [--json=PATH]

Each checkpoint (train-only: validation held out, as training/paired_val.py checks) and the
checkpoints joined as the app's ensemble key are scored with two key forms on paired_val's episodes:
`shift4`, the shipped one (train.shifted_keys with 4 one-pixel shifts), and `w2s4`, the renormalised
mean of the unit keys of the drawing, of its thicker-pen copy (the Dataset's cached variant: one 3x3
dilation of the 105x105 ink before preprocessing, as training's `p_dilate`) and of the 4 shifts of
each. Nothing here reads the evaluation alphabets.
"""
from __future__ import annotations

import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_tfjs import load_model  # noqa: E402
from paired_val import CELLS, paired_cells, parse_options, run_name, validation_set  # noqa: E402
from data import shifted  # noqa: E402
from train import SHIFTS, embed_all  # noqa: E402


@torch.no_grad()
def width_keys(model, ds, widths: tuple[int, ...], batch: int = 512) -> torch.Tensor:
    """[4, N, D]: per image x rotation, the renormalised sum of the unit keys of each stroke-width
    variant in `widths` (0: as drawn, 1: thicker pen) and of its 4 one-pixel shifts."""
    model.eval()
    out = []
    for rot in range(4):
        keys = []
        for s in range(0, len(ds.char), batch):
            idx = torch.arange(s, min(s + batch, len(ds.char)))
            k = 0
            for w in widths:
                x = ds.cache[w, rot, idx][:, None]
                k = k + model.keys(x)
                for dx, dy in SHIFTS[:4]:
                    k = k + model.keys(shifted(x, dx, dy))
            keys.append(F.normalize(k, dim=1))
        out.append(torch.cat(keys))
    return torch.stack(out)


def main(argv: list[str]) -> None:
    ckpts, opts = parse_options(argv, "usage: tta_width_paired.py A.pt [B.pt ...] [--episodes=N>=2] [--seed=N] [--json=PATH]",
                                1, shifts=False)
    episodes, seed = opts["episodes"], opts["seed"]
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    val = validation_set()
    keys: dict = {}
    for c in ckpts:
        m = load_model(c)
        keys[c, "shift4"] = width_keys(m, val, (0,))
        keys[c, "w2s4"] = width_keys(m, val, (0, 1))
        ref = embed_all(m, val, "cpu", shifts=4)  # the shipped form, as every other script makes it
        err = float((ref - keys[c, "shift4"]).abs().max())
        if err > 1e-5:
            raise SystemExit(f"{c}: shift4 keys differ from train.shifted_keys by {err}")
        print(f"{c}: shift4 equals train.shifted_keys (max difference {err:.1e})", flush=True)
    models = list(ckpts) + (["+".join(ckpts)] if len(ckpts) > 1 else [])
    res = {"episodes": episodes, "seed": seed, "validation_characters": val.n_chars, "variants": ["shift4", "w2s4"], "models": {}}
    for m in models:
        parts = m.split("+")
        kk = [torch.cat([keys[c, v] for c in parts], dim=-1) / math.sqrt(len(parts)) for v in ("shift4", "w2s4")]
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
