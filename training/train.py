"""Train the Omniglot encoder. Usage (from the repository root):

    /usr/bin/python3 training/train.py                                  # --objective=cosface+memory (defaults)
    /usr/bin/python3 training/train.py --objective=memory --out=training/runs/omniglot-memory
    /usr/bin/python3 training/train.py --resume                         # continue from the last checkpoint
    /usr/bin/python3 training/train.py --warmup_steps=200 --memory_steps=20 --out=training/runs/smoke
    /usr/bin/python3 training/train.py --warmup_steps=0 --init=training/runs/cosface/final.pt  # phase 2 alone

Objectives (`--objective`), all on `images_background` only (validation alphabets held out, see data.py):
 - `memory`: the paper's objective alone, from scratch: episodes through the memory and its
   memory loss, `memory_steps` steps, Adam with lr `scratch_lr` (cosine decay), clipping.
 - `cosface`: a cosine-softmax classifier (additive margin) over all training classes
   (character x 90-degree rotation), `warmup_steps` steps; the classifier is thrown away.
 - `cosface+memory`: `cosface`, then `memory_steps` of the memory loss at Adam lr `memory_lr`.
`--trainval=true` is the final run: the recipe chosen on validation, trained on train + validation
alphabets (still only `images_background`); its validation figures are then on seen classes.
Episodes follow the reference train.py: `episode_batch` independent episodes of `episode_width`
classes; within an episode every class is shown before any repeats and no drawing repeats; each
episode has its own memory, cleared at its start (it never fills: `episode_length` slots).
Every `eval_every` steps: N-way K-shot accuracy on the validation alphabets through the memory,
and a checkpoint. Runs on CUDA when available, with no other change.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields, replace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import allocator  # noqa: E402
if __name__ == "__main__":
    allocator.reexec()  # one OpenBLAS thread; tcmalloc when present: same arithmetic, ~4x faster steps on a VM (allocator.py)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from tqdm import tqdm  # noqa: E402

from data import AugmentConfig, Dataset, load_zip, shifted, split  # noqa: E402
from preprocess import MARGIN  # noqa: E402
from memory import Memory, MemoryConfig, merged_key  # noqa: E402  (validation; the update rule's merge)
from model import Encoder, load_weights, parameter_count, parse_shape, training_shape  # noqa: E402


@dataclass
class TrainConfig:
    out: str = "training/runs/omniglot-conv4"
    objective: str = "cosface+memory"  # 'memory' | 'cosface' | 'cosface+memory'
    seed: int = 1
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    threads: int = 2
    # phase 1: cosine-softmax warm-up
    warmup_steps: int = 8000
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 5e-4
    scale: float = 20.0  # s of the normalised softmax
    margin: float = 0.15  # additive cosine margin
    # phase 2: memory-loss episodes (reference train.py: episode width 5, Adam 1e-4, clipping)
    memory_steps: int = 300
    episode_batch: int = 16  # parallel episodes sharing one memory (labels kept apart)
    episode_width: int = 5  # classes per episode
    episode_length: int = 30  # examples per episode
    episode_alphabets: int = 0  # 0: an episode's classes from any alphabet (reference); A > 0: from A alphabets only
    memory_lr: float = 1e-4  # after the cosface warm-up (reference train.py)
    scratch_lr: float = 1e-3  # objective 'memory' from scratch: peak of the cosine schedule
    missing_positive: str = "zero"  # no slot holds v: 'zero' (reference: similarity 0) or 'skip' the term
    dropout: float = 0.0  # on the flattened features before the key layer (the paper's text: dropout between fc layers)
    key_dropout: float = 0.0  # on the key before its normalisation (the reference code's model.py: keep_prob 0.3, i.e. 0.7)
    channels: str = "64,64,128,128"  # filters of each conv layer (model.ModelConfig); wider or deeper = slower to train and run
    pools: str = ""  # per conv layer, 1 = a 2x2 max-pool after it ('' = 1,1,1,0 for four layers; model.parse_shape)
    key_size: int = 128  # the key (output) size of the encoder's fully connected layer
    clip: float = 5.0
    lr_warmup: int = 200  # steps of linear learning-rate warm-up before the cosine decay (both phases)
    k: int = 256
    alpha: float = 0.1
    augment: bool = True
    augment_scale: float = 1.0  # multiplies the warp's ranges (rotation, shear, aspect) of data.AugmentConfig
    shift_px: int = 0  # random whole-pixel shifts of every training input, up to this many pixels each way (data.shift28; 0: none)
    elastic: float = 0.0  # elastic distortion of every training input (data.elastic28): field scale in pixels, blur std 4 (0: none)
    trainval: bool = False  # the final run: train on the training *and* validation alphabets (validation figures are then on seen classes)
    init: str = ""  # start from this checkpoint's encoder weights (a final.pt or ckpt.pt), e.g. phase 2 alone after a cosface run
    # validation
    eval_every: int = 500
    ckpt_every: int = 0  # also checkpoint (no validation) every this many steps; 0 = only at validations
    eval_episodes: int = 400


def augment_config(cfg: "TrainConfig") -> AugmentConfig | None:
    """The training augmentation: data.AugmentConfig with its warp ranges times `augment_scale`."""
    if not cfg.augment:
        return None
    a, k = AugmentConfig(), cfg.augment_scale
    return replace(a, rotate_deg=a.rotate_deg * k, shear=a.shear * k, aspect=a.aspect * k, shift_px=cfg.shift_px,
                   elastic_alpha=cfg.elastic)


def parse_args(argv) -> tuple[TrainConfig, bool]:
    cfg, resume = TrainConfig(), False
    types = {f.name: f.type for f in fields(TrainConfig)}
    for a in argv:
        if a == "--resume":
            resume = True
            continue
        if not a.startswith("--") or "=" not in a:
            raise SystemExit(f"unknown argument {a!r}: use --name=value or --resume")
        k, v = a[2:].split("=", 1)
        if k not in types:
            raise SystemExit(f"unknown setting {k!r}; settings: {', '.join(types)}")
        cur = getattr(cfg, k)
        setattr(cfg, k, (v.lower() in ("1", "true", "yes")) if isinstance(cur, bool) else type(cur)(v))
    if cfg.objective not in ("memory", "cosface", "cosface+memory"):
        raise SystemExit(f"--objective must be memory, cosface or cosface+memory, got {cfg.objective!r}")
    if cfg.missing_positive not in ("zero", "skip"):
        raise SystemExit(f"--missing_positive must be zero or skip, got {cfg.missing_positive!r}")
    parse_shape(cfg.channels, cfg.pools)  # a clear error now, not at model construction
    if not (8 <= cfg.key_size <= 1024):
        raise SystemExit(f"--key_size must be in [8, 1024], got {cfg.key_size}")
    if not (0 <= cfg.augment_scale <= 3):
        raise SystemExit(f"--augment_scale must be in [0, 3] (x the default warp ranges), got {cfg.augment_scale}")
    if not 0 <= cfg.elastic <= 100:  # NaN fails the comparison too
        raise SystemExit(f"--elastic must be in [0, 100] (the distortion field's scale in pixels; Simard et al. use 34), got {cfg.elastic}")
    if not (0 <= cfg.shift_px <= MARGIN):
        raise SystemExit(f"--shift_px must be in [0, {MARGIN}] (the preprocessed drawing's empty border), got {cfg.shift_px}")
    if cfg.episode_alphabets < 0:
        raise SystemExit(f"--episode_alphabets must be >= 0 (0 = classes from any alphabet), got {cfg.episode_alphabets}")
    if cfg.objective == "memory":
        cfg.warmup_steps = 0
    if cfg.objective == "cosface":
        cfg.memory_steps = 0
    return cfg, resume


# One-pixel moves (dx, dy) of the test-time shifts, in src/encoder/encoder.ts's order: the 4 first, then the diagonals
SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))


@torch.no_grad()
def key_sum(model: Encoder, x: torch.Tensor, shifts: int | tuple[tuple[int, int], ...] = 0) -> torch.Tensor:
    """The sum of the unit keys of each [B, 1, 28, 28] input and of its copies moved by `shifts` (4 or 8
    one-pixel moves, or the (dx, dy) offsets themselves: bench/tta-offsets-rule.md's variants)."""
    if isinstance(shifts, int):
        if shifts not in (0, 4, 8):
            raise ValueError(f"shifts must be 0, 4 or 8, got {shifts}")
        shifts = SHIFTS[:shifts]
    k = model.keys(x)
    for dx, dy in shifts:
        k = k + model.keys(shifted(x, dx, dy))
    return k


@torch.no_grad()
def shifted_keys(model: Encoder, x: torch.Tensor, shifts: int | tuple[tuple[int, int], ...] = 0) -> torch.Tensor:
    """The key of each [B, 1, 28, 28] input as the app makes it: unit, or with test-time shifts (4 or 8)
    the renormalised mean of the unit keys of the input and its copies moved by one pixel (key_sum)."""
    return F.normalize(key_sum(model, x, shifts), dim=1)


@torch.no_grad()
def embed_all(model: Encoder, ds: Dataset, device: str, batch: int = 512, shifts: int | tuple[tuple[int, int], ...] = 0,
              widths: tuple[int, ...] = (0,)) -> torch.Tensor:
    """Unit keys of every image x 4 rotations -> [4, N, D] (no augmentation; `shifts`: test-time shifts, as
    shifted_keys). `widths`: the pen-width variants whose copies the key also averages (0: as drawn, 1: the
    Dataset's thicker-pen copy; (0,): the shipped key; bench/tta-width-rule.md measured (0, 1))."""
    model.eval()
    out = []
    for rot in range(4):
        keys = []
        for s in range(0, len(ds.char), batch):
            idx = torch.arange(s, min(s + batch, len(ds.char)))
            k = sum(key_sum(model, ds.images(idx, torch.full_like(idx, rot), None, None, width=w), shifts) for w in widths)
            keys.append(F.normalize(k, dim=1).cpu())
        out.append(torch.cat(keys))
    model.train()
    return torch.stack(out)


def few_shot_accuracy(keys: torch.Tensor, ds: Dataset, n_way: int, k_shot: int, episodes: int, seed: int) -> float:
    """N-way K-shot through the memory: supports written one at a time, queries answered by V[n1]."""
    return 100.0 * float(few_shot_correct(keys, ds, n_way, k_shot, episodes, seed).mean()) / n_way


def few_shot_episodes(ds: Dataset, n_way: int, k_shot: int, episodes: int, seed: int):
    """The seeded N-way K-shot episodes, drawn without looking at any key: yields, per episode, the
    supports in writing order and the queries, each as [(rotation, image id, label)]."""
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        classes = rng.choice(ds.n_chars * 4, n_way, replace=False)
        sup, qry = [], []
        for label, c in enumerate(classes):
            pick = rng.choice(ds.by_char[c // 4].numpy(), k_shot + 1, replace=False)
            sup += [(int(c % 4), int(i), label) for i in pick[:k_shot]]
            qry.append((int(c % 4), int(pick[k_shot]), label))
        yield [sup[i] for i in rng.permutation(len(sup))], qry


def few_shot_correct(keys: torch.Tensor, ds: Dataset, n_way: int, k_shot: int, episodes: int, seed: int) -> np.ndarray:
    """Queries answered right per episode ([episodes], out of n_way), through the memory: supports
    written one at a time, queries answered by V[n1]. The episodes come from few_shot_episodes, which
    never sees the keys, so two encoders can be compared episode by episode (training/paired_val.py)."""
    correct = np.zeros(episodes, dtype=np.int64)
    mem = Memory(MemoryConfig(memory_size=n_way * k_shot, key_size=keys.shape[-1], k=1, age_noise=0))
    for e, (sup, qry) in enumerate(few_shot_episodes(ds, n_way, k_shot, episodes, seed)):
        mem.clear()
        mem.write(torch.stack([keys[r, i] for r, i, _ in sup]), torch.tensor([l for _, _, l in sup]))
        pred = mem.query(torch.stack([keys[r, i] for r, i, _ in qry]))["prediction"]
        correct[e] = int((pred == torch.tensor([l for _, _, l in qry])).sum())
    return correct


def validate(model, val_ds, cfg: TrainConfig) -> dict:
    keys = embed_all(model, val_ds, cfg.device)
    return {f"{n}w{k}s": round(few_shot_accuracy(keys, val_ds, n, k, cfg.eval_episodes, seed=123), 2)
            for n, k in ((5, 1), (5, 5), (20, 1), (20, 5))}


def cosine_lr(step: int, total: int, base: float, warm: int = 200) -> float:
    if step < warm:
        return base * (step + 1) / warm
    return base * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def warmup_loss(model, head, ds, cfg, gen):
    """Additive-margin cosine softmax over (character, rotation) classes."""
    idx = torch.randint(len(ds.char), (cfg.batch_size,), generator=gen)
    rot = torch.randint(4, (cfg.batch_size,), generator=gen)
    x = ds.images(idx, rot, augment_config(cfg), gen)
    y = ds.labels(idx, rot).to(cfg.device)
    cos = F.normalize(model(x), dim=1) @ F.normalize(head, dim=1).T
    logits = cfg.scale * (cos - cfg.margin * F.one_hot(y, cos.shape[1]))
    return F.cross_entropy(logits, y)


def episode_classes(ds, W: int, alphabets: int, gen: torch.Generator) -> torch.Tensor:
    """W distinct classes (character x rotation) for one episode. alphabets = 0: any classes of the
    training set (the reference). alphabets = A > 0: only classes of A alphabets, drawn without
    replacement with chances proportional to their characters (more are added while the chosen
    ones hold fewer than W classes), so an episode's classes share scripts: harder negatives."""
    if alphabets <= 0:
        return torch.randperm(ds.n_classes, generator=gen)[:W]
    n_alpha = len(ds.alphabet_names)
    sizes = torch.bincount(ds.alphabet, minlength=n_alpha).double()
    order = torch.multinomial(sizes, n_alpha, replacement=False, generator=gen)
    counts = 4 * sizes[order].long().cumsum(0)
    if int(counts[-1]) < W:
        raise ValueError(f"an episode of {W} classes needs {W} classes, the training set has {int(counts[-1])}")
    take = max(alphabets, int((counts < W).sum()) + 1)
    chars = torch.nonzero(torch.isin(ds.alphabet, order[:take])).flatten()
    pool = (chars[:, None] * 4 + torch.arange(4)).flatten()
    return pool[torch.randperm(len(pool), generator=gen)[:W]]


def sample_episodes(ds, B: int, W: int, L: int, gen: torch.Generator, alphabets: int = 0):
    """B episodes of W distinct classes and L steps, as the reference train.py: steps go round by
    round, each round a random order of the W classes (every class shown before any repeats), and
    a class's drawings are drawn without replacement. `alphabets` > 0 draws each episode's classes
    from that many alphabets (episode_classes). -> (image ids [B, L], rotations [B, L],
    episode-local labels [B, L] in 0..W-1)."""
    per_class = -(-L // W)
    img = torch.empty(B, L, dtype=torch.long)
    which = torch.empty(B, L, dtype=torch.long)
    cls = torch.empty(B, W, dtype=torch.long)
    for b in range(B):
        cls[b] = episode_classes(ds, W, alphabets, gen)
        which[b] = torch.cat([torch.randperm(W, generator=gen) for _ in range(per_class)])[:L]
        for j in range(W):
            drawings = ds.by_char[int(cls[b, j]) // 4]
            if len(drawings) < per_class:
                raise ValueError(f"episode needs {per_class} drawings of a class, the class has {len(drawings)}")
            pick = drawings[torch.randperm(len(drawings), generator=gen)[:per_class]]
            steps = (which[b] == j).nonzero().flatten()
            img[b, steps] = pick[:len(steps)]
    rot = torch.gather(cls, 1, which) % 4
    return img, rot, which


@torch.no_grad()
def episode_neighbours(qd: torch.Tensor, labels: torch.Tensor):
    """The memories of B independent episodes, written step by step, and at each step t >= 1 the
    keys that the memory loss compares q_t with: K[np] (the most similar slot with value v_t) and
    K[nb] (the most similar slot with another value), as the memory stands before q_t is written.

    qd [B, L, D] unit keys (no gradient), labels [B, L] (>= 0). Each episode has its own memory,
    empty at step 0 and never full (L slots), so the k = 256 neighbours are all its filled slots.
    After the loss, q_t is written by the update rule: V[n1] == v: K[n1] = normalize(q + K[n1]);
    else the next empty slot. No tensor decides control flow on the host (no boolean indexing, no
    .item()), so on CUDA nothing waits for the GPU and the loop can be captured as a CUDA graph.
    -> K[np], K[nb] [B, L-1, D] (zeros where missing), has_p [B, L-1] (whether v had a slot).
    """
    B, L, D = qd.shape
    keys = qd.new_zeros(B, L, D)
    vals = torch.full((B, L), -1, dtype=torch.long, device=qd.device)
    count = torch.zeros(B, dtype=torch.long, device=qd.device)
    rows = torch.arange(B, device=qd.device)
    kps, kns, hps = [], [], []
    for t in range(L):
        q_t, v = qd[:, t], labels[:, t]
        filled = vals >= 0
        sims = torch.bmm(keys, q_t[:, :, None])[:, :, 0].masked_fill(~filled, float("-inf"))
        if t > 0:
            same = vals == v[:, None]  # empty slots hold -1, never a label
            other = filled & ~same
            np_ = sims.masked_fill(~same, float("-inf")).argmax(1)
            nb_ = sims.masked_fill(~other, float("-inf")).argmax(1)
            has_p, has_n = same.any(1), other.any(1)
            kps.append(keys[rows, np_] * has_p[:, None])
            kns.append(keys[rows, nb_] * has_n[:, None])
            hps.append(has_p)
        # update rule; with an empty memory n1 = 0 holds -1, so the write goes to slot 0
        n1 = sims.argmax(1)
        upd = vals[rows, n1] == v
        merged = merged_key(q_t, keys[rows, n1])  # normalize(q + K[n1]); q where q = -K[n1] exactly
        slot = torch.where(upd, n1, count)
        keys[rows, slot] = torch.where(upd[:, None], merged, q_t)
        vals[rows, slot] = v
        count = count + (~upd).long()
    return torch.stack(kps, 1), torch.stack(kns, 1), torch.stack(hps, 1)


class GraphedNeighbours:
    """episode_neighbours captured once as a CUDA graph and replayed every step: the loop's few
    thousand small kernels are launched by one call instead of one Python call each. Same
    arithmetic; checked against the eager loop on the first batch, and any failure (capture,
    mismatch) falls back to the eager loop with a message."""

    def __init__(self, shape: tuple[int, int, int], device: str, say=print):
        self.ok, self.checked, self.say = False, False, say
        try:
            B, L, D = shape
            self.qd = torch.zeros(B, L, D, device=device)
            self.labels = torch.zeros(B, L, dtype=torch.long, device=device)
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # warm-up outside the graph, as torch.cuda.graph wants
                for _ in range(2):
                    episode_neighbours(self.qd, self.labels)
            torch.cuda.current_stream().wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.out = episode_neighbours(self.qd, self.labels)
            self.ok = True
        except Exception as e:  # noqa: BLE001 -- any capture failure: the eager loop is always right
            say(f"CUDA graph capture of the memory loop failed ({type(e).__name__}: {e}); using the eager loop")

    def __call__(self, qd: torch.Tensor, labels: torch.Tensor):
        if not self.ok or qd.shape != self.qd.shape:
            return episode_neighbours(qd, labels)
        self.qd.copy_(qd)
        self.labels.copy_(labels)
        self.graph.replay()
        out = tuple(o.clone() for o in self.out)
        if not self.checked:
            self.checked = True
            eager = episode_neighbours(qd, labels)
            if not all(torch.equal(a, b) for a, b in zip(out, eager)):
                self.ok = False
                self.say("CUDA graph of the memory loop differs from the eager loop; using the eager loop")
                return eager
            self.say("memory loop: CUDA graph, equal to the eager loop on the first batch")
        return out


def episode_memory_loss(q: torch.Tensor, labels: torch.Tensor, alpha: float, missing_positive: str = "zero",
                        neighbours=episode_neighbours):
    """The memory loss over B independent episodes at once (the fast path).

    q [B, L, D] unit keys (differentiable), labels [B, L]. Step t's loss
    [q.K[nb] - q.K[np] + alpha]+ is taken against the memory as it stands before q_t is written
    (episode_neighbours); the keys carry no gradient, so the loss is one vectorised expression in q.
    Equal to writing each episode row by row through memory.Memory (a test proves it).
    -> per-step losses [B, L-1] (steps 1..L-1) and a mask of the terms that count.
    """
    kp, kn, has_p = neighbours(q.detach(), labels)
    qt = q[:, 1:]
    losses = F.relu((qt * kn).sum(-1) - (qt * kp).sum(-1) + alpha)
    return losses, (has_p if missing_positive == "skip" else torch.ones_like(has_p))


def episode_loss(model, ds, cfg, gen, neighbours=episode_neighbours):
    """The paper's training objective on one batch of `episode_batch` episodes, all images encoded
    in one forward pass; the memory loss through `episode_memory_loss` (the fast path)."""
    B, W, L = cfg.episode_batch, cfg.episode_width, cfg.episode_length
    img, rot, which = sample_episodes(ds, B, W, L, gen, cfg.episode_alphabets)
    x = ds.images(img.flatten(), rot.flatten(), augment_config(cfg), gen)
    q = F.normalize(model(x), dim=1).view(B, L, -1)
    losses, keep = episode_memory_loss(q, which.to(cfg.device), cfg.alpha, cfg.missing_positive, neighbours)
    keep = keep.to(losses.dtype)
    return (losses * keep).sum() / keep.sum().clamp(min=1)


def training_ids(chars, trainval: bool) -> tuple[np.ndarray, np.ndarray]:
    """-> (character ids to train on, validation character ids). `trainval`: the final run, whose
    hyper-parameters were chosen on validation, also learns from the validation alphabets."""
    tr_ids, va_ids = split(chars)
    if trainval:
        tr_ids = np.sort(np.concatenate([tr_ids, va_ids]))
    return tr_ids, va_ids


def main():
    cfg, resume = parse_args(sys.argv[1:])
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    os.makedirs(cfg.out, exist_ok=True)
    log = open(os.path.join(cfg.out, "log.txt"), "a")

    def say(msg):
        tqdm.write(msg)
        log.write(msg + "\n")
        log.flush()

    chars = load_zip("images_background")
    tr_ids, va_ids = training_ids(chars, cfg.trainval)
    train_ds = Dataset(chars, tr_ids, cfg.device)
    val_ds = Dataset(chars, va_ids, cfg.device)
    say(f"config {json.dumps(asdict(cfg))}")
    say(f"train: {train_ds.n_chars} characters x 4 rotations = {train_ds.n_classes} classes, {len(train_ds.char)} images; "
        f"validation: {val_ds.n_chars} characters ({len(val_ds.char)} images)"
        + (" -- SEEN in training (--trainval), so its figures are not held out" if cfg.trainval else ""))

    model = Encoder(training_shape(cfg.channels, cfg.pools, cfg.key_size, cfg.dropout, cfg.key_dropout)).to(cfg.device)
    head = torch.nn.Parameter(torch.randn(train_ds.n_classes, model.cfg.key_size, device=cfg.device) * 0.01)
    opt = torch.optim.AdamW(list(model.parameters()) + [head], lr=cfg.lr, weight_decay=cfg.weight_decay)
    mem_opt = torch.optim.Adam(model.parameters(), lr=cfg.memory_lr if cfg.objective != "memory" else cfg.scratch_lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, history, elapsed = 0, [], 0.0
    ckpt_path = os.path.join(cfg.out, "ckpt.pt")
    if resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=cfg.device)
        load_weights(model, ck, f"--resume {ckpt_path}")
        head.data.copy_(ck["head"])
        opt.load_state_dict(ck["opt"])
        mem_opt.load_state_dict(ck["mem_opt"])
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["torch_rng"])
        step, history, elapsed = ck["step"], ck["history"], ck["elapsed"]
        say(f"resumed at step {step} ({elapsed / 60:.1f} min of training so far)")
    if cfg.init and not (resume and os.path.exists(ckpt_path)):
        if not os.path.exists(cfg.init):
            raise SystemExit(f"--init: no checkpoint at {cfg.init!r}")
        load_weights(model, torch.load(cfg.init, map_location=cfg.device), f"--init {cfg.init}")
        say(f"encoder initialised from {cfg.init}")
    say(f"encoder parameters: {parameter_count(model)}; device {cfg.device}; {cfg.threads} threads; malloc {allocator.current()}")

    total = cfg.warmup_steps + cfg.memory_steps
    neighbours = episode_neighbours
    if cfg.device.startswith("cuda") and cfg.memory_steps:
        torch.backends.cudnn.benchmark = True
        neighbours = GraphedNeighbours((cfg.episode_batch, cfg.episode_length, model.cfg.key_size), cfg.device, say)
    t0 = time.time() - elapsed
    bar = tqdm(total=total, initial=step, desc="train", dynamic_ncols=True, mininterval=2.0)
    model.train()
    while step < total:
        if step < cfg.warmup_steps:
            for g in opt.param_groups:
                g["lr"] = cosine_lr(step, cfg.warmup_steps, cfg.lr, cfg.lr_warmup)
            loss = warmup_loss(model, head, train_ds, cfg, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            phase = "warmup"
        else:
            if cfg.objective == "memory":
                for g in mem_opt.param_groups:
                    g["lr"] = cosine_lr(step, cfg.memory_steps, cfg.scratch_lr, cfg.lr_warmup)
            loss = episode_loss(model, train_ds, cfg, gen, neighbours)
            mem_opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            mem_opt.step()
            phase = "memory"
        step += 1
        bar.update(1)
        if step % 25 == 0:  # .item() waits for the GPU: not every step
            bar.set_postfix(phase=phase, loss=f"{loss.item():.3f}")
        validating = step % cfg.eval_every == 0 or step == total or (cfg.warmup_steps and step == cfg.warmup_steps)
        if validating:
            acc = validate(model, val_ds, cfg)
            rec = dict(step=step, phase=phase, loss=round(loss.item(), 4), minutes=round((time.time() - t0) / 60, 2), **acc)
            history.append(rec)
            say(json.dumps(rec))
        if validating or (cfg.ckpt_every and step % cfg.ckpt_every == 0):
            torch.save(dict(model=model.state_dict(), head=head.data, opt=opt.state_dict(), mem_opt=mem_opt.state_dict(),
                            gen=gen.get_state(), torch_rng=torch.get_rng_state(), step=step, history=history,
                            elapsed=time.time() - t0, config=asdict(cfg)), ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)
        if validating:
            if cfg.warmup_steps and step == cfg.warmup_steps:  # keep the warm-up-only encoder, to measure what phase 2 adds
                torch.save(dict(model=model.state_dict(), model_config=asdict(model.cfg)), os.path.join(cfg.out, "warmup.pt"))
    bar.close()
    minutes = (time.time() - t0) / 60
    torch.save(dict(model=model.state_dict(), model_config=asdict(model.cfg)), os.path.join(cfg.out, "final.pt"))
    summary = dict(config=asdict(cfg), history=history, minutes=round(minutes, 1), parameters=parameter_count(model),
                   device=cfg.device, gpu=torch.cuda.get_device_name() if cfg.device.startswith("cuda") else None, torch=torch.__version__, threads=cfg.threads, malloc=allocator.current(),
                   blas=allocator.blas(), cpu=allocator.cpu_name())
    with open(os.path.join(cfg.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    say(f"done in {minutes:.1f} min; final validation {history[-1] if history else None}")


if __name__ == "__main__":
    main()
