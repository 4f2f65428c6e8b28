"""The committed train-only checkpoints (training/checkpoints/) are what their README says: the shipped
recipe on the training alphabets only (so validation screens can use them), loadable, and the very files
whose SHA-256 the README lists."""
import hashlib
import json
import os
import re

import pytest
import torch

from export_tfjs import load_model
from paired_val import held_out_check

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "checkpoints")
README = os.path.join(ROOT, "README.md")
RUNS = {"mem-skip-w60-7k-shift2": 1, "mem-skip-w60-7k-shift2-seed2": 2}


def listed_hashes() -> dict:
    text = open(README).read()
    return {m.group(1): m.group(2) for m in re.finditer(r"`([\w.-]+)/final\.pt` \| `([0-9a-f]{64})`", text)}


@pytest.mark.parametrize("name,seed", sorted(RUNS.items()))
def test_checkpoint_is_the_shipped_recipe_held_out_and_listed(name, seed):
    folder = os.path.join(ROOT, name)
    ckpt = os.path.join(folder, "final.pt")
    held_out_check(ckpt)  # stops unless its summary says the validation alphabets were held out
    cfg = json.load(open(os.path.join(folder, "summary.json")))["config"]
    recipe = dict(objective="memory", missing_positive="skip", episode_width=60, episode_length=180, episode_batch=3,
                  memory_steps=7000, shift_px=2, elastic=0.0, augment_scale=1.0, channels="64,64,128,128", key_size=128,
                  trainval=False, seed=seed, alpha=0.1, k=256)
    assert {k: cfg[k] for k in recipe} == recipe
    digest = hashlib.sha256(open(ckpt, "rb").read()).hexdigest()
    assert listed_hashes().get(name) == digest, f"{ckpt}: its SHA-256 is not the one training/checkpoints/README.md lists"
    model = load_model(ckpt)
    with torch.no_grad():
        keys = model.keys(torch.rand(3, 1, 28, 28))
    assert keys.shape == (3, 128) and torch.allclose(keys.norm(dim=1), torch.ones(3), atol=1e-5)
