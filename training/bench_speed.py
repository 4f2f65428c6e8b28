"""Seconds per training step of the shipped recipe: system allocator vs tcmalloc, reference BLAS vs OpenBLAS.

    /usr/bin/python3 training/bench_speed.py [--steps=10] [--threads=2] [--out=bench/training-speed.md]

One step is what train.py does per memory-loss step of the shipped recipe (3 episodes of 60 classes
x 180 steps: sampling, augmentation, one forward pass of 540 images, the memory loss, backward,
clipping, Adam). The script runs the same steps (same seed, same episodes) in child processes:
glibc's malloc (MEMLAB_MALLOC=system) and tcmalloc (allocator.py), both on Debian's reference BLAS
(libblas3, what python3-torch pulls in), then, when Debian's OpenBLAS (libopenblas0-pthread) is
installed, tcmalloc on OpenBLAS, single-threaded and with one thread per core. It checks that the two
allocators reach the same losses (same BLAS, same arithmetic) and that OpenBLAS stays within float
rounding of them, and writes a table naming the machine. Which BLAS a child runs on is read from its
own /proc/self/maps, not assumed. Reads the background set (OMNIGLOT_DIR or ../shared/data/omniglot);
trains nothing that is kept.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import allocator  # noqa: E402

RECIPE = dict(episode_batch=3, episode_width=60, episode_length=180, missing_positive="skip", alpha=0.1, shift_px=2)


def child(steps: int, threads: int) -> None:
    import resource

    import torch

    from data import Dataset, load_zip
    from model import Encoder
    from train import TrainConfig, episode_loss, training_ids

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = TrainConfig(**RECIPE, threads=threads, device="cpu")
    chars = load_zip("images_background")
    ds = Dataset(chars, training_ids(chars, False)[0])
    model = Encoder().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    times, losses = [], []
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for i in range(steps + 1):  # the first step builds oneDNN's kernels: not timed
        t = time.perf_counter()
        loss = episode_loss(model, ds, cfg, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        losses.append(loss.item())
        if i:
            times.append(time.perf_counter() - t)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / (steps + 1)
    print(json.dumps(dict(malloc=allocator.current(), blas=allocator.blas(), s_per_step=sum(times) / len(times), losses=losses, faults_per_step=faults)))


def main(argv: list[str]) -> None:
    opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    steps, threads = int(opts.get("steps", 10)), int(opts.get("threads", 2))
    if "--child" in argv:
        return child(steps, threads)
    out = opts.get("out", os.path.join(os.path.dirname(HERE), "bench", "training-speed.md"))
    if allocator.tcmalloc_path() is None:
        raise SystemExit("tcmalloc is not installed (Debian: apt-get install libtcmalloc-minimal4): nothing to compare")
    if not os.path.exists(os.path.join(allocator.REFERENCE_BLAS_DIR, "libblas.so.3")):
        raise SystemExit(f"no reference BLAS at {allocator.REFERENCE_BLAS_DIR} (Debian: apt-get install libblas3): nothing to compare with")
    variants = [("glibc, reference BLAS", {"MEMLAB_MALLOC": "system", "LD_LIBRARY_PATH": allocator.REFERENCE_BLAS_DIR}, "glibc", "reference"),
                ("tcmalloc, reference BLAS", {"LD_LIBRARY_PATH": allocator.REFERENCE_BLAS_DIR}, "tcmalloc", "reference")]
    if os.path.exists(os.path.join(allocator.OPENBLAS_DIR, "libblas.so.3")):
        variants += [("tcmalloc, OpenBLAS 1 thread", {"LD_LIBRARY_PATH": allocator.OPENBLAS_DIR, "OPENBLAS_NUM_THREADS": "1"}, "tcmalloc", "OpenBLAS"),
                     (f"tcmalloc, OpenBLAS {threads} threads", {"LD_LIBRARY_PATH": allocator.OPENBLAS_DIR, "OPENBLAS_NUM_THREADS": str(threads)},
                      "tcmalloc", "OpenBLAS")]
    results = {}
    for name, env, malloc, blas in variants:
        e = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MEMLAB_MALLOC", "LD_LIBRARY_PATH", "OPENBLAS_NUM_THREADS")}
        e.update(env)
        code = f"import sys; sys.path.insert(0, {HERE!r}); import allocator; allocator.reexec(); import bench_speed; bench_speed.main(sys.argv[1:])"
        script = os.path.join(HERE, ".bench_speed_child.py")
        with open(script, "w") as f:
            f.write(code)
        try:
            run = subprocess.run([sys.executable, script, "--child", f"--steps={steps}", f"--threads={threads}"], env=e,
                                 capture_output=True, text=True, check=True)
        finally:
            os.remove(script)
        r = results[name] = json.loads(run.stdout.strip().splitlines()[-1])
        if (r["malloc"], r["blas"]) != (malloc, blas):
            raise SystemExit(f"the '{name}' child ran on {r['malloc']} and {r['blas']} BLAS")
        print(name, f"{r['s_per_step']:.2f} s/step", flush=True)

    def gap(a: str, b: str) -> float:
        return max(abs(x - y) for x, y in zip(results[a]["losses"], results[b]["losses"]))

    base = "tcmalloc, reference BLAS"
    same = gap("glibc, reference BLAS", base)
    if same > 1e-5:
        raise SystemExit(f"the two allocators reached different losses (max difference {same:.2e})")
    blas_gap = max((gap(n, base) for n in results if "OpenBLAS" in n), default=None)
    if blas_gap is not None and blas_gap > 1e-2:
        raise SystemExit(f"OpenBLAS reached losses {blas_gap:.2e} away from the reference BLAS: more than rounding")
    cpu = allocator.cpu_name()
    g = results["glibc, reference BLAS"]["s_per_step"]
    best = min(results, key=lambda n: results[n]["s_per_step"])
    import torch
    rows = [f"| {n} | {r['s_per_step']:.2f} | {r['faults_per_step']:,.0f} | {r['s_per_step'] * 7000 / 60:.0f} min | "
            f"{g / r['s_per_step']:.1f}x |" for n, r in results.items()]
    blas_note = ("" if blas_gap is None else
                 f" OpenBLAS sums in another order, so its losses differ from the reference BLAS's by float rounding only "
                 f"(max {blas_gap:.1e} over the {steps + 1} steps).")
    text = "\n".join([
        "# Training speed of the shipped recipe: allocator and BLAS",
        "",
        f"Command: `/usr/bin/python3 training/bench_speed.py --steps={steps} --threads={threads}`. Machine: {cpu}, "
        f"{threads} threads, torch {torch.__version__}. One step = 540 images (3 episodes x 180) through sampling, "
        f"augmentation (2-pixel shifts, as the shipped recipe), forward, memory loss, backward, clipping, Adam; "
        f"{steps} timed steps after one untimed. The two allocators reach the same losses (max difference {same:.1e}).{blas_note}",
        "",
        "| allocator, BLAS | s/step | page faults/step | 7,000 steps (one network of the shipped recipe) | speed-up |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"Fastest: {best}. tcmalloc: a step allocates activations of ~100 MB; glibc serves blocks over 32 MB by mmap and "
        "unmaps them on free, so every step page-faults and zeroes them again (`training/allocator.py`). "
        "OpenBLAS: the encoder's fully connected layer (forward addmm, backward mm) runs on BLAS, and Debian's "
        "reference libblas3 is unblocked, unvectorised Fortran; the convolutions run on oneDNN either way. "
        "`apt-get install libopenblas0-pthread` makes OpenBLAS the system's libblas.so.3 (Debian alternatives); "
        "train.py then runs on it.",
        "",
    ])
    print(text)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
