"""The committed train-only checkpoints (training/checkpoints/) are what their README says: the shipped
recipe on the training alphabets only (so validation screens can use them), loadable, and the very files
whose SHA-256 the README lists."""
import hashlib
import json
import os
import re

import pytest
import torch
from dataclasses import asdict

import ablation
from export_tfjs import load_model
from paired_val import held_out_check
from train import parse_args

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "checkpoints")
README = os.path.join(ROOT, "README.md")
RECIPE = "mem-skip-w60-7k-shift2"
RUNS = {RECIPE: 1, f"{RECIPE}-seed2": 2}


def listed_hashes() -> dict:
    text = open(README).read()
    return {m.group(1): m.group(2) for m in re.finditer(r"`([\w.-]+)/final\.pt` \| `([0-9a-f]{64})`", text)}


@pytest.mark.parametrize("name,seed", sorted(RUNS.items()))
def test_checkpoint_is_the_shipped_recipe_held_out_and_listed(name, seed):
    folder = os.path.join(ROOT, name)
    ckpt = os.path.join(folder, "final.pt")
    held_out_check(ckpt)  # stops unless its summary says the validation alphabets were held out
    saved = json.load(open(os.path.join(folder, "summary.json")))["config"]
    # the recipe is ablation.py's entry of that name, as train.py parses it (not a copy kept here)
    recipe = asdict(parse_args(ablation.GROUPS["long"][RECIPE][1] + [f"--seed={seed}", "--ckpt_every=500"])[0])
    machine = ("out", "threads", "device")  # where and how it ran, not what it trained
    assert {k: v for k, v in saved.items() if k not in machine} == {k: v for k, v in recipe.items() if k not in machine}
    assert saved["trainval"] is False
    digest = hashlib.sha256(open(ckpt, "rb").read()).hexdigest()
    assert listed_hashes().get(name) == digest, f"{ckpt}: its SHA-256 is not the one training/checkpoints/README.md lists"
    model = load_model(ckpt)
    with torch.no_grad():
        keys = model.keys(torch.rand(3, 1, 28, 28))
    assert keys.shape == (3, 128) and torch.allclose(keys.norm(dim=1), torch.ones(3), atol=1e-5)
