"""The objective ablation of the encoder (issue 8), as runs of train.py and one table.

    /usr/bin/python3 training/ablation.py short            # 7 runs of ~96k images each, ~30 min on one core
    /usr/bin/python3 training/ablation.py long             # every run of the group: ~1.9M-5.4M images (2 short phase 2s), each about 1-2 h on
                                                           # this CPU: the model card's table gives each run's minutes
    /usr/bin/python3 training/ablation.py short --table    # only print the table of what has run
    /usr/bin/python3 training/ablation.py short --seed=2   # the same runs with another seed (own folders)
    /usr/bin/python3 training/ablation.py long --only=mem-skip-w60 --seed=2   # one run of a group
    /usr/bin/python3 training/ablation.py long --only=mem-skip-w60-c96 --resume  # an interrupted run from its checkpoint
    /usr/bin/python3 training/ablation.py final --only=mem-skip-w60-7k-shift2-margin3-trainval   # the shipped encoder's network 1 (--seed=2: network 2)
    /usr/bin/python3 training/paired_val.py A.pt B.pt       # two train-only runs on the same 4,000 validation episodes
    python3 training/ablation.py final --only=mem-skip-w60-7k-shift2-margin3-trainval --runs_dir=training/runs/gpu \
        --train_args="--eval_every=7000 --ckpt_every=500"     # a run elsewhere, train.py settings appended (training/gpu_runs.sh)

`short` and `long` train on `images_background` without the validation alphabets and report N-way
K-shot accuracy on those held-out alphabets (train.py's `validate`); `final` trains on both (train.py
--trainval: the recipe was chosen on validation first), so its validation figures are on seen classes.
Nothing here reads the evaluation alphabets. A run whose `summary.json` exists is not run again. Runs
go to training/runs/ablation/, long/ and final/ (not committed; seed N > 1 adds -seedN to the run's
folder); the tables are what the model card of omniglot-conv4-memory shows.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEMORY = ["--objective=memory"]
PHASE2 = ["--objective=cosface+memory", "--warmup_steps=0", "--init=training/runs/long/cosface/final.pt", "--memory_steps=500",
          "--episode_batch=3", "--episode_width=60", "--episode_length=180", "--eval_every=100"]


def w60_recipe(steps: int, eval_every: int, *extra: str, batch: int = 3, length: int = 180) -> list[str]:
    """The shipped recipe's settings (memory loss alone, missing positive skipped, episodes of 60
    classes) for `steps` steps, plus the settings a variant changes."""
    return MEMORY + ["--missing_positive=skip", f"--memory_steps={steps}", "--lr_warmup=200", f"--episode_batch={batch}",
                     "--episode_width=60", f"--episode_length={length}", f"--eval_every={eval_every}", *extra]


# name -> (what it tests, train.py arguments); images per run are matched within a group
GROUPS: dict[str, dict[str, tuple[str, list[str]]]] = {
    "short": {
        "cosface": ("cosine softmax alone", ["--objective=cosface", "--warmup_steps=750", "--lr_warmup=150"]),
        "mem-zero-w20": ("memory loss, missing positive = 0 (reference), width 20",
                         MEMORY + ["--lr_warmup=40", "--memory_steps=200", "--episode_batch=8", "--episode_width=20", "--episode_length=60"]),
        "mem-skip-w20": ("memory loss, missing positive skipped, width 20",
                         MEMORY + ["--lr_warmup=40", "--memory_steps=200", "--episode_batch=8", "--episode_width=20", "--episode_length=60", "--missing_positive=skip"]),
        "mem-zero-w5": ("memory loss, missing positive = 0, width 5",
                        MEMORY + ["--lr_warmup=40", "--memory_steps=200", "--episode_batch=32", "--episode_width=5", "--episode_length=15"]),
        "mem-skip-w5": ("memory loss, skipped, width 5",
                        MEMORY + ["--lr_warmup=40", "--memory_steps=200", "--episode_batch=32", "--episode_width=5", "--episode_length=15", "--missing_positive=skip"]),
        "mem-skip-w60": ("memory loss, skipped, width 60",
                         MEMORY + ["--lr_warmup=40", "--memory_steps=178", "--episode_batch=3", "--episode_width=60", "--episode_length=180", "--missing_positive=skip"]),
        "mem-skip-w20-drop": ("memory loss, skipped, width 20, dropout 0.3",
                              MEMORY + ["--lr_warmup=40", "--memory_steps=200", "--episode_batch=8", "--episode_width=20", "--episode_length=60", "--missing_positive=skip", "--dropout=0.3"]),
    },
    "long": {
        "mem-skip-w60": ("memory loss alone (skipped, width 60): the recipe of the shipped omniglot-conv4-memory",
                         w60_recipe(3500, 250)),
        "mem-skip-w20": ("memory loss alone (skipped), width 20: the episode width at the long budget",
                         MEMORY + ["--missing_positive=skip", "--memory_steps=3500", "--lr_warmup=200", "--episode_batch=9",
                                   "--episode_width=20", "--episode_length=60", "--eval_every=250"]),
        "mem-skip-w60-7k": ("the shipped recipe with twice the steps (7,000; 3.78M images): does it still gain?",
                            w60_recipe(7000, 500)),
        "mem-skip-w60-10k": ("the shipped recipe with 10,000 steps (5.4M images): does a longer schedule still gain past 7,000? (rule: bench/steps-10k-rule.md)",
                             w60_recipe(10000, 2500)),
        "mem-skip-w60-7k-alpha2": ("the 7,000-step recipe with each episode's 60 classes drawn from 2 alphabets (harder negatives; rule: bench/alphabet-episodes-rule.md)",
                                   w60_recipe(7000, 1000, "--episode_alphabets=2")),
        "mem-skip-w60-7k-aug175": ("the 7,000-step recipe with 1.75x the warp's ranges (rotation 17.5 deg, shear and aspect 0.26; rule: bench/augment-rule.md)",
                                   w60_recipe(7000, 1000, "--augment_scale=1.75")),
        # screened under bench/screen-next-rule.md (train-only, seed 1, against the 7k recipe's twins)
        "mem-skip-w60-7k-key256": ("the 7,000-step recipe with 256-number keys (fully connected layer 1152 -> 256)",
                                   w60_recipe(7000, 1000, "--key_size=256")),
        "mem-skip-w60-7k-lr2": ("the 7,000-step recipe at twice the peak learning rate (2e-3)",
                                w60_recipe(7000, 1000, "--scratch_lr=2e-3")),
        "mem-skip-w60-shots5": ("the recipe with 5 drawings of each of 60 classes per episode (2 episodes of 300 steps), 6,300 steps: the same 3.78M images",
                                w60_recipe(6300, 1000, batch=2, length=300)),
        "mem-skip-w60-7k-shift2": ("the 7,000-step recipe with random whole-pixel shifts of up to 2 pixels each way (rule: bench/shift-augment-rule.md)",
                                   w60_recipe(7000, 1000, "--shift_px=2")),
        "mem-skip-w60-7k-shift3": ("the 7,000-step recipe with random whole-pixel shifts of up to 3 pixels each way (rule: bench/shift3-rule.md)",
                                   w60_recipe(7000, 1000, "--shift_px=3")),
        "mem-skip-w60-7k-shift2-elastic25": ("the shipped recipe (2-pixel shifts) with an elastic distortion of every input, alpha 25, sigma 4 (rule: bench/elastic-rule.md)",
                                             w60_recipe(7000, 1000, "--shift_px=2", "--elastic=25")),
        "mem-skip-w60-7k-shift2-deep": ("the shipped recipe (2-pixel shifts) with a deeper encoder: the last two blocks hold two convs each "
                                        "(64,64,128,128,128,128 filters, pools after layers 1, 2 and 4; 1.7x the parameters, ~1.4x the step time; "
                                        "rule: bench/deeper-rule.md)",
                                        w60_recipe(7000, 1000, "--shift_px=2", "--channels=64,64,128,128,128,128", "--pools=1,1,0,1,0,0")),
        "mem-skip-w60-7k-shift2-margin2": ("the shipped recipe (2-pixel shifts) with the memory loss's margin alpha 0.2 instead of the paper's 0.1 "
                                           "(rule: bench/margin-rule.md)",
                                           w60_recipe(7000, 1000, "--shift_px=2", "--alpha=0.2")),
        "mem-skip-w60-7k-shift2-margin3": ("the shipped recipe (2-pixel shifts) with the memory loss's margin alpha 0.3 instead of the paper's 0.1 "
                                           "(rule: bench/margin3-rule.md)",
                                           w60_recipe(7000, 1000, "--shift_px=2", "--alpha=0.3")),
        "mem-skip-w60-7k-shift2-margin4": ("the shipped recipe (2-pixel shifts, margin 0.3) with the memory loss's margin alpha 0.4 "
                                           "(rule: bench/margin4-rule.md)",
                                           w60_recipe(7000, 1000, "--shift_px=2", "--alpha=0.4")),
        "mem-skip-w60-7k-shift2-margin3-keydrop7": ("the shipped recipe (2-pixel shifts, margin 0.3) with the reference code's dropout: 70% of the key "
                                                    "before its normalisation while training (model.py keep_prob 0.3; rule: bench/key-dropout-rule.md)",
                                                    w60_recipe(7000, 1000, "--shift_px=2", "--alpha=0.3", "--key_dropout=0.7")),
        "mem-skip-w60-7k-shift2-margin3-keydrop3": ("the shipped recipe (2-pixel shifts, margin 0.3) with a milder key dropout: 30% of the key "
                                                    "before its normalisation while training (rule: bench/key-dropout-rule.md)",
                                                    w60_recipe(7000, 1000, "--shift_px=2", "--alpha=0.3", "--key_dropout=0.3")),
        "mem-skip-w60-drop": ("the shipped recipe with dropout 0.3 on the features before the key layer (the paper's text: between fc layers)",
                              w60_recipe(3500, 250, "--dropout=0.3")),
        "mem-skip-w60-c96": ("the shipped recipe, 1.5x wider (96,96,192,192 filters): ~2.2x the compute per step, about that of 7,000 steps",
                             w60_recipe(3500, 500, "--channels=96,96,192,192")),
        "cosface": ("cosine softmax alone", ["--objective=cosface", "--warmup_steps=14800", "--lr_warmup=200", "--eval_every=1000"]),
        # phase 2 alone on the cosface run above: does the paper's loss add to it, with either missing-positive choice?
        "cosface-then-mem-zero": ("the cosface run, then 500 steps of memory loss (missing positive = 0, width 60)",
                                  PHASE2 + ["--missing_positive=zero"]),
        "cosface-then-mem-skip": ("the cosface run, then 500 steps of memory loss (skipped, width 60)",
                                  PHASE2 + ["--missing_positive=skip"]),
    },
    # the final run: the recipe of long/mem-skip-w60, chosen on validation, trained on train + validation alphabets
    "final": {
        "mem-skip-w60-trainval": ("the shipped recipe on train + validation alphabets (validation then seen)",
                                  w60_recipe(3500, 250, "--trainval=true")),
        "mem-skip-w60-7k-trainval": ("the shipped recipe with twice the steps (7,000) on train + validation alphabets",
                                     w60_recipe(7000, 500, "--trainval=true")),
        # the final runs of the shift-augmented recipe, if it passes step 2 of bench/shift-augment-rule.md
        "mem-skip-w60-7k-shift2-trainval": ("the 7,000-step recipe with random shifts of up to 2 pixels on train + validation alphabets",
                                            w60_recipe(7000, 500, "--shift_px=2", "--trainval=true")),
        # the final runs of margin 0.3, adopted by step 2 of bench/margin3-rule.md (seeds 1 and 2)
        "mem-skip-w60-7k-shift2-margin3-trainval": ("the shift-trained recipe with the memory loss's margin 0.3 on train + validation alphabets",
                                                    w60_recipe(7000, 500, "--shift_px=2", "--alpha=0.3", "--trainval=true")),
    },
}


def images(cfg: dict) -> int:
    return cfg["warmup_steps"] * cfg["batch_size"] + cfg["memory_steps"] * cfg["episode_batch"] * cfg["episode_length"]


def table(group: str, seed: int, runs_dir: str | None = None) -> str:
    rows = ["| run | what | images | minutes | val 5w1s | val 5w5s | val 20w1s | val 20w5s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, (what, _) in GROUPS[group].items():
        path = os.path.join(out_dir(group, name, seed, runs_dir), "summary.json")
        if not os.path.exists(path):
            rows.append(f"| {name} | {what} | not run | | | | | |")
            continue
        s = json.load(open(path))
        h = s["history"][-1]
        rows.append(f"| {name} | {what} | {images(s['config']):,} | {s['minutes']} | {h['5w1s']:.2f} | {h['5w5s']:.2f} | {h['20w1s']:.2f} | {h['20w5s']:.2f} |")
    return "\n".join(rows)


def out_dir(group: str, name: str, seed: int, runs_dir: str | None = None) -> str:
    """training/runs/<ablation|long|final>/<name>[-seedN], or <runs_dir>/<name>[-seedN] when given."""
    base = runs_dir or os.path.join(ROOT, "training", "runs", {"short": "ablation", "long": "long", "final": "final"}[group])
    return os.path.join(base, name if seed == 1 else f"{name}-seed{seed}")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in GROUPS:
        raise SystemExit(f"usage: ablation.py {'|'.join(GROUPS)} [--table] [--seed=N] [--threads=N] [--only=RUN] [--resume] "
                         "[--runs_dir=DIR] [--train_args='--name=value ...']")
    group, rest = argv[0], argv[1:]
    seed, threads, only_table, only, resume, runs_dir, train_args = 1, 1, False, None, False, None, []
    for a in rest:
        if a == "--table":
            only_table = True
        elif a == "--resume":  # continue unfinished runs from their last checkpoint (train.py --resume)
            resume = True
        elif a.startswith("--seed="):
            seed = int(a.split("=", 1)[1])
        elif a.startswith("--only="):
            only = a.split("=", 1)[1]
            if only not in GROUPS[group]:
                raise SystemExit(f"--only: no run {only!r} in {group}; runs: {', '.join(GROUPS[group])}")
        elif a.startswith("--threads="):
            threads = int(a.split("=", 1)[1])
        elif a.startswith("--runs_dir="):  # where the runs go instead of training/runs/<group folder>
            runs_dir = os.path.abspath(a.split("=", 1)[1])
        elif a.startswith("--train_args="):  # train.py settings after the run's own (a later setting wins)
            train_args = a.split("=", 1)[1].split()
        else:
            raise SystemExit(f"unknown argument {a!r}")
    if not only_table:
        for name, (_, args) in GROUPS[group].items():
            if only and name != only:
                continue
            out = out_dir(group, name, seed, runs_dir)
            if os.path.exists(os.path.join(out, "summary.json")):
                continue
            if seed != 1:
                args = [a.replace("/cosface/", f"/cosface-seed{seed}/") for a in args]
            extra = [] if any(a.startswith("--eval_every") for a in args) else ["--eval_every=50"]
            cmd = [sys.executable, os.path.join(ROOT, "training", "train.py"), f"--threads={threads}", f"--seed={seed}", f"--out={out}", *args, *extra, *train_args]
            if resume:
                cmd.append("--resume")
            print(" ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, cwd=ROOT)
    print(table(group, seed, runs_dir))


if __name__ == "__main__":
    main(sys.argv[1:])
