"""Export a trained rare-event model *and its memory* for TypeScript (src/rare/).

    /usr/bin/python3 training/rare/export.py --ckpt=training/runs/rare-memory/final.pt --out=models/rare-seq2seq-memory

Writes into --out:
- model.json: format 'memory-lab/rare-seq2seq' v1: the model config, the task (seed, sizes,
  symbols), the weights manifest (name, shape, byte offset into weights.bin, float32 little
  endian, PyTorch parameter names and layouts: LSTM gates i, f, g, o), the memory settings and
  files, training facts (result.json beside the checkpoint, when present);
- weights.bin: float32 weights;
- memory.keys.bin: float16 keys [M, key_size] (row-major) -- readers use normalize(float32(key));
- memory.values.bin: int8 values [M] (-1 = empty slot);
- memory.ages.bin: float32 ages [M];
- memory.origin.bin: int32 [M]: training example id that last wrote each slot (-1: none).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DIGITS, HIGH, LOW, MAX_LEN, MIN_LEN, SYMBOLS  # noqa: E402
from memory import BatchMemory, BatchMemoryConfig  # noqa: E402
from model import Seq2Seq, Seq2SeqConfig  # noqa: E402

FORMAT = "memory-lab/rare-seq2seq"


def load(ckpt: str):
    ck = torch.load(ckpt, map_location="cpu")
    model = Seq2Seq(Seq2SeqConfig(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    cfg = ck["config"]
    mem = BatchMemory(BatchMemoryConfig(memory_size=cfg["memory_size"], key_size=model.cfg.key_size, k=cfg["k"], alpha=cfg["alpha"]))
    mem.load_state_dict(ck["memory"])
    return model, mem, cfg


def exported_keys(keys: torch.Tensor) -> torch.Tensor:
    """The keys as every reader sees them: float16 on disk, back to float32, renormalised
    (empty slots stay zero)."""
    k16 = keys.to(torch.float16).to(torch.float32)
    n = k16.norm(dim=1, keepdim=True)
    return torch.where(n > 0, k16 / n.clamp(min=1e-12), k16)


def export(model: Seq2Seq, mem: BatchMemory, cfg: dict, out: str, training: dict | None = None) -> dict:
    os.makedirs(out, exist_ok=True)
    manifest, blobs, off = [], [], 0
    # training-only parts stay behind: the batch norm (folded below) and the reconstruction head
    state = {k: v for k, v in model.state_dict().items() if not k.startswith(("query_bn.", "recon."))}
    config = {k: v for k, v in model.cfg.__dict__.items() if k not in ("query_norm", "query_recon")}
    config["query_activation"] = "tanh" if model.cfg.query_norm == "tanh" else "identity"
    if model.query_bn is not None:  # a = BN(W_a ctx) at inference = W' ctx + b' (running statistics folded in)
        state["query.weight"], state["query.bias"] = model.folded_query()
        config["query_activation"] = "identity"
    for name, p in state.items():
        a = p.detach().cpu().numpy().astype("<f4")
        manifest.append(dict(name=name, shape=list(a.shape), offset=off))
        blobs.append(a.tobytes())
        off += a.nbytes
    with open(os.path.join(out, "weights.bin"), "wb") as f:
        f.write(b"".join(blobs))
    mem.keys.cpu().to(torch.float16).numpy().astype("<f2").tofile(os.path.join(out, "memory.keys.bin"))
    mem.values.cpu().numpy().astype(np.int8).tofile(os.path.join(out, "memory.values.bin"))
    mem.ages.cpu().numpy().astype("<f4").tofile(os.path.join(out, "memory.ages.bin"))
    mem.origin.cpu().numpy().astype("<i4").tofile(os.path.join(out, "memory.origin.bin"))
    doc = dict(
        format=FORMAT, version=1,
        config=config,
        task=dict(seed=cfg["task_seed"], low=LOW, high=HIGH, digits=DIGITS, min_len=MIN_LEN, max_len=MAX_LEN,
                  symbols=SYMBOLS, n_train=40000, n_test=10000, memory_steps=cfg["memory_steps"]),
        weights=manifest, weights_bytes=off,
        memory=dict(size=mem.cfg.memory_size, key_size=mem.cfg.key_size, k=mem.cfg.k,
                    inverse_temperature=mem.cfg.inverse_temperature, alpha=mem.cfg.alpha, age_noise=mem.cfg.age_noise,
                    writes=int(mem.writes), filled=int(mem.filled.sum()),
                    files=dict(keys="memory.keys.bin", values="memory.values.bin", ages="memory.ages.bin", origin="memory.origin.bin")),
        training=training or {},
    )
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(doc, f, indent=1)
    return doc


def main():
    args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
    ckpt = args.get("ckpt", "training/runs/rare-memory/final.pt")
    out = args.get("out", "models/rare-seq2seq-memory")
    model, mem, cfg = load(ckpt)
    res_path = os.path.join(os.path.dirname(ckpt), "result.json")
    training = json.load(open(res_path)) if os.path.exists(res_path) else {}
    export(model, mem, cfg, out, training)
    print(f"exported to {out}: {int(mem.filled.sum())} filled slots of {mem.cfg.memory_size}")


if __name__ == "__main__":
    main()
