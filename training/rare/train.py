"""Train a sequence model on the rare-event task, with or without the memory module inside.

    /usr/bin/python3 training/rare/train.py                          # seq2seq + memory (defaults)
    /usr/bin/python3 training/rare/train.py --use_memory=false --out=training/runs/rare-seq2seq
    /usr/bin/python3 training/rare/train.py --resume                 # continue from the last checkpoint

Life-long, as the paper: one memory for the whole run, never reset. Each step: teacher-forced
decoder over a batch; the attention vectors at the memory steps query the memory (as it stands
before the batch); loss = cross-entropy + the memory loss; then the batch is written with the
update rule. Runs on CUDA when available, with no other change.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DIGIT0, GO, PAD, make_task, sighting_counts  # noqa: E402
from memory import BatchMemory, BatchMemoryConfig  # noqa: E402
from model import Seq2Seq, Seq2SeqConfig  # noqa: E402


@dataclass
class TrainConfig:
    out: str = "training/runs/rare-memory"
    seed: int = 1  # model / memory seed
    task_seed: int = 1  # the task: f and the examples
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    threads: int = 1
    use_memory: bool = True
    memory_steps: str = "digits"  # 'digits': decoder steps whose aligned input is a digit; 'all': every step
    memory_size: int = 65536
    query_norm: str = "tanh"  # see Seq2SeqConfig.query_norm
    recon_weight: float = 0.0  # > 0: add this times the query reconstruction loss (NOT the paper; Seq2SeqConfig.query_recon)
    k: int = 256
    alpha: float = 0.1
    epochs: int = 8
    batch_size: int = 32
    lr: float = 1e-3
    clip: float = 5.0
    val_examples: int = 2000  # generated after the test set, same f: used for progress, never the test set
    final_pass: bool = True  # after training, one read-write pass of the training set with the frozen network
    max_minutes: float = 150.0  # training stops (with a checkpoint) once this much time has passed
    ckpt_every: int = 250  # steps between mid-epoch checkpoints


def parse_args(argv):
    cfg, resume = TrainConfig(), False
    types = {f.name for f in fields(TrainConfig)}
    for a in argv:
        if a == "--resume":
            resume = True
            continue
        if not a.startswith("--") or "=" not in a:
            raise SystemExit(f"unknown argument {a!r}: use --name=value or --resume")
        k, v = a[2:].split("=", 1)
        if k not in types:
            raise SystemExit(f"unknown setting {k!r}; settings: {', '.join(sorted(types))}")
        cur = getattr(cfg, k)
        setattr(cfg, k, (v.lower() in ("1", "true", "yes")) if isinstance(cur, bool) else type(cur)(v))
    if cfg.memory_steps not in ("digits", "all"):
        raise SystemExit("--memory_steps must be 'digits' or 'all'")
    if cfg.recon_weight > 0 and (cfg.memory_steps != "digits" or not cfg.use_memory):
        raise SystemExit("--recon_weight needs the memory at the digit steps (--memory_steps=digits)")
    return cfg, resume


def pad(seqs, device):
    T = max(len(s) for s in seqs)
    out = torch.full((len(seqs), T), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s)
    return out.to(device)


def memory_mask(x: torch.Tensor, mode: str) -> torch.Tensor:
    """Decoder steps that consult the memory: output position t is aligned with input position t."""
    return (x >= DIGIT0) if mode == "digits" else (x != PAD)


def forward_teacher(model, mem, x, y, cfg, write: bool, train: bool, ids=None):
    """-> (loss, ce, memory loss, correct-sequence count)."""
    mask = x != PAD
    enc = model.encode(x, mask)
    h, _ = model.dec(model.embed(model.decoder_inputs(y)))
    a, att, _ = model.attention_vector(h, enc, mask)
    mval = torch.full_like(y, -1)
    mconf = torch.zeros(y.shape, device=y.device)
    mloss = att.new_zeros(())
    sel = memory_mask(x, cfg.memory_steps) if cfg.use_memory else None
    look = None
    if cfg.use_memory:
        qs, ys = F.normalize(model.query_of(a[sel]), dim=-1), y[sel]
        look = mem.lookup(qs.detach())
        v, c = mem.read(qs, look)
        mval = mval.masked_scatter(sel, v)
        mconf = mconf.masked_scatter(sel, c)
        if look is not None:
            mloss = mem.loss(qs, ys, look).mean()
        if model.recon is not None:
            forward_teacher.recon = model.recon_loss(qs, x, sel)
    logits = model.logits(att, mval, mconf)
    ce = F.cross_entropy(logits[mask], y[mask])
    pred = logits.argmax(-1).masked_fill(~mask, PAD)
    correct = int((pred == y).all(1).sum())
    dig = x >= DIGIT0
    forward_teacher.digit_hits = (int((pred == y)[dig].sum()), int(dig.sum()), int((mval == y)[dig].sum()))
    if write and cfg.use_memory:
        origin = None
        if ids is not None:  # example id of every memory step of the batch
            origin = torch.as_tensor(ids, device=x.device)[:, None].expand_as(x)[sel]
        mem.write(qs.detach(), ys, look, origin)
    extra = cfg.recon_weight * forward_teacher.recon if getattr(cfg, "recon_weight", 0) > 0 and model.recon is not None else 0.0
    return ce + mloss + extra, ce, mloss, correct


@torch.no_grad()
def decode(model, mem, x: torch.Tensor, cfg, use_memory=None):
    """Greedy decoding (no teacher forcing), memory read-only. -> dict of [B, T] tensors."""
    use_memory = cfg.use_memory if use_memory is None else use_memory
    model.eval()
    mask = x != PAD
    enc = model.encode(x, mask)
    B, T = x.shape
    prev = torch.full((B,), GO, dtype=torch.long, device=x.device)
    state = None
    preds, mvals, mconfs, nbrs = [], [], [], []
    sel_all = memory_mask(x, cfg.memory_steps)
    for t in range(T):
        h, state = model.dec(model.tok(prev)[:, None], state)
        a, att, _ = model.attention_vector(h, enc, mask, t0=t)
        a, att = a[:, 0], att[:, 0]
        mval = torch.full((B,), -1, dtype=torch.long, device=x.device)
        mconf = torch.zeros(B, device=x.device)
        nb = torch.full((B,), -1, dtype=torch.long, device=x.device)
        sel = sel_all[:, t]
        if use_memory and bool(sel.any()):
            q = F.normalize(model.query_of(a[sel]), dim=-1)
            look = mem.lookup(q)
            if look is not None:
                v, c = mem.read(q, look)
                mval[sel], mconf[sel], nb[sel] = v, c, look["idx"][:, 0]
        prev = model.logits(att, mval, mconf).argmax(-1)
        preds.append(prev), mvals.append(mval), mconfs.append(mconf), nbrs.append(nb)
    model.train()
    st = lambda xs: torch.stack(xs, 1).masked_fill(~mask, PAD) if xs[0].dtype == torch.long else torch.stack(xs, 1)  # noqa: E731
    return dict(pred=st(preds), mem_value=torch.stack(mvals, 1), mem_conf=torch.stack(mconfs, 1), n1=torch.stack(nbrs, 1))


def evaluate(model, mem, inputs, outputs, cfg, counts=None, batch=1000, use_memory=None):
    correct = []
    for s in range(0, len(inputs), batch):
        x = pad(inputs[s:s + batch], cfg.device)
        y = pad(outputs[s:s + batch], cfg.device)
        p = decode(model, mem, x, cfg, use_memory)["pred"]
        correct.append((p == y).all(1).cpu())
    correct = torch.cat(correct).numpy()
    res = dict(accuracy=round(100.0 * correct.mean(), 2))
    if counts is not None:
        res["by_sightings"] = {int(c): dict(n=int((counts == c).sum()), accuracy=round(100.0 * correct[counts == c].mean(), 2))
                               for c in np.unique(counts)}
    return res


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

    task = make_task(cfg.task_seed, n_test=10000 + cfg.val_examples)
    test_in, test_out = task.test.inputs[:10000], task.test.outputs[:10000]
    val_in, val_out = task.test.inputs[10000:], task.test.outputs[10000:]
    counts = sighting_counts(task)[:10000]  # the test set proper (the validation examples follow it)
    say(f"config {json.dumps(asdict(cfg))}")
    model = Seq2Seq(Seq2SeqConfig(use_memory=cfg.use_memory, query_norm=cfg.query_norm, query_recon=cfg.recon_weight > 0)).to(cfg.device)
    mem = BatchMemory(BatchMemoryConfig(memory_size=cfg.memory_size, key_size=model.cfg.key_size, k=cfg.k, alpha=cfg.alpha),
                      device=cfg.device, seed=cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    epoch, history, elapsed, order, start = 0, [], 0.0, None, 0
    ckpt = os.path.join(cfg.out, "ckpt.pt")
    if resume and os.path.exists(ckpt):
        ck = torch.load(ckpt, map_location=cfg.device)
        model.load_state_dict(ck["model"]), opt.load_state_dict(ck["opt"]), mem.load_state_dict(ck["memory"])
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        epoch, history, elapsed = ck["epoch"], ck["history"], ck["elapsed"]
        order, start = ck.get("order"), ck.get("position", 0)
        for g in opt.param_groups:  # the learning rate given now wins over the saved one
            g["lr"] = cfg.lr
        say(f"resumed in epoch {epoch + 1} at example {start} ({elapsed / 60:.1f} min)")
    say(f"parameters: {sum(p.numel() for p in model.parameters())}; device {cfg.device}")
    t0 = time.time() - elapsed
    N = len(task.train.inputs)

    def save(position):
        torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), memory=mem.state_dict(), rng=rng.bit_generator.state,
                        torch_rng=torch.get_rng_state(), epoch=epoch, history=history, elapsed=time.time() - t0,
                        order=order, position=position, config=asdict(cfg), model_config=asdict(model.cfg)), ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    out_of_time = False
    while epoch < cfg.epochs and not out_of_time:
        if order is None or start >= N:
            order, start = rng.permutation(N), 0
        bar = tqdm(range(start, N, cfg.batch_size), desc=f"epoch {epoch + 1}/{cfg.epochs}", dynamic_ncols=True, mininterval=20)
        tot = dict(loss=0.0, ce=0.0, mloss=0.0, recon=0.0, correct=0, n=0, dh=0, dn=0, mh=0)
        for s in bar:
            if (time.time() - t0) / 60 >= cfg.max_minutes:
                out_of_time = True
                save(s)
                say(f"stopped at {cfg.max_minutes} min, epoch {epoch + 1}, example {s} (checkpoint saved)")
                break
            if s > start and (s // cfg.batch_size) % cfg.ckpt_every == 0:
                save(s)
            idx = order[s:s + cfg.batch_size]
            x = pad([task.train.inputs[i] for i in idx], cfg.device)
            y = pad([task.train.outputs[i] for i in idx], cfg.device)
            loss, ce, ml, corr = forward_teacher(model, mem, x, y, cfg, write=True, train=True, ids=idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            tot["loss"] += loss.item() * len(idx); tot["ce"] += ce.item() * len(idx); tot["mloss"] += float(ml) * len(idx)
            tot["correct"] += corr; tot["n"] += len(idx)
            if model.recon is not None:
                tot["recon"] += float(forward_teacher.recon) * len(idx)
            tot["dh"] += forward_teacher.digit_hits[0]; tot["dn"] += forward_teacher.digit_hits[1]
            tot["mh"] += forward_teacher.digit_hits[2]
            bar.set_postfix(ce=f"{tot['ce'] / tot['n']:.3f}", mem=f"{tot['mloss'] / tot['n']:.4f}", rec=f"{tot['recon'] / tot['n']:.3f}",
                            mem_right=f"{100 * tot['mh'] / max(1, tot['dn']):.1f}",
                            train_acc=f"{100 * tot['correct'] / tot['n']:.1f}",
                            digits=f"{100 * tot['dh'] / max(1, tot['dn']):.1f}", refresh=False)
        if out_of_time:
            break
        epoch += 1
        order, start = None, 0
        val = evaluate(model, mem, val_in, val_out, cfg)
        rec = dict(epoch=epoch, minutes=round((time.time() - t0) / 60, 2), ce=round(tot["ce"] / tot["n"], 4),
                   memory_loss=round(tot["mloss"] / tot["n"], 4), recon_loss=round(tot["recon"] / tot["n"], 4), train_digits=round(100 * tot["dh"] / max(1, tot["dn"]), 2),
                   memory_value_right=round(100 * tot["mh"] / max(1, tot["dn"]), 2),
                   train_teacher_forced=round(100 * tot["correct"] / tot["n"], 2),
                   val=val["accuracy"], filled=int(mem.filled.sum()))
        history.append(rec)
        say(json.dumps(rec))
        save(0)
    train_minutes = (time.time() - t0) / 60
    result = dict(config=asdict(cfg), history=history, train_minutes=round(train_minutes, 1), device=cfg.device,
                  torch=torch.__version__, threads=cfg.threads)
    result["test_after_training"] = evaluate(model, mem, test_in, test_out, cfg, counts)
    say(f"test after training: {result['test_after_training']['accuracy']}%")
    if cfg.use_memory and cfg.final_pass:
        t1 = time.time()
        with torch.no_grad():
            model.eval()
            for s in range(0, N, 256):
                x = pad(task.train.inputs[s:s + 256], cfg.device)
                y = pad(task.train.outputs[s:s + 256], cfg.device)
                forward_teacher(model, mem, x, y, cfg, write=True, train=False, ids=np.arange(s, min(s + 256, N)))
            model.train()
        result["final_pass_minutes"] = round((time.time() - t1) / 60, 1)
        result["test"] = evaluate(model, mem, test_in, test_out, cfg, counts)
        say(f"test after the final memory pass: {result['test']['accuracy']}%")
    else:
        result["test"] = result["test_after_training"]
    result["test_without_memory_read"] = evaluate(model, mem, test_in, test_out, cfg, counts, use_memory=False) if cfg.use_memory else None
    torch.save(dict(model=model.state_dict(), model_config=asdict(model.cfg), memory=mem.state_dict(), config=asdict(cfg)),
               os.path.join(cfg.out, "final.pt"))
    with open(os.path.join(cfg.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    say(json.dumps({k: v for k, v in result.items() if k.startswith("test")}))


if __name__ == "__main__":
    main()
