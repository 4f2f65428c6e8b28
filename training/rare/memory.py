"""A batch form of the memory for the sequence model: one lookup per batch, then one vectorised
labelled write of the whole batch (as the reference implementation's batch update), so that
~1,000 decoder steps per training step stay cheap on 2 CPU cores.

Semantics per row are those of training/memory.py and src/memory (section 2 of the paper):
query = top-k by cosine over filled slots, V[n1] and softmax(t * sims); loss
[q.K[nb] - q.K[np] + alpha]+ (np = first top-k neighbour with value v, else the most similar
slot with value v anywhere; nb = first top-k neighbour with another value; missing -> 0);
write: V[n1] == v -> K[n1] = normalize(q + K[n1]), A[n1] = 0; else (q, v) to an empty slot, or
to the oldest slot argmax(A + r), r ~ U[0, age_noise); ages of the other filled slots grow by 1.
Batch difference (documented, training only): every row of a batch sees the memory as it stood
before the batch; rows whose n1 is the same slot are summed into it (normalize(K + sum q)); the
new rows take distinct slots, empty ones first (lowest index), then the oldest by A + r.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class BatchMemoryConfig:
    memory_size: int = 65536
    key_size: int = 64
    k: int = 256
    inverse_temperature: float = 40.0
    alpha: float = 0.1
    age_noise: float = 8.0


class BatchMemory:
    def __init__(self, cfg: BatchMemoryConfig, device="cpu", seed: int = 0):
        self.cfg = cfg
        self.keys = torch.zeros(cfg.memory_size, cfg.key_size, device=device)
        self.values = torch.full((cfg.memory_size,), -1, dtype=torch.long, device=device)
        self.ages = torch.zeros(cfg.memory_size, device=device)
        # provenance for the app: the id of the example that last wrote or updated each slot (-1: none)
        self.origin = torch.full((cfg.memory_size,), -1, dtype=torch.long, device=device)
        self.gen = torch.Generator(device="cpu").manual_seed(seed)
        self.writes = 0

    def state_dict(self):
        return dict(keys=self.keys, values=self.values, ages=self.ages, origin=self.origin, writes=self.writes, gen=self.gen.get_state())

    def load_state_dict(self, s):
        self.keys.copy_(s["keys"]), self.values.copy_(s["values"]), self.ages.copy_(s["ages"]), self.origin.copy_(s["origin"])
        self.writes = s["writes"]
        self.gen.set_state(s["gen"])

    @property
    def filled(self):
        return self.values >= 0

    @torch.no_grad()
    def lookup(self, q: torch.Tensor):
        """q [N, D] unit -> dict(idx [N, k], sims [N, k], vals [N, k]) or None when empty.
        The full similarity matrix is kept for the loss's np fallback."""
        n = int(self.filled.sum())
        if n == 0:
            return None
        k = min(self.cfg.k, n)
        sims_all = q @ self.keys.T
        sims_all.masked_fill_(~self.filled[None, :], float("-inf"))
        sims, idx = sims_all.topk(k, dim=1)
        return dict(idx=idx, sims=sims, vals=self.values[idx], all=sims_all)

    def read(self, q: torch.Tensor, look):
        """-> (value [N] (-1 when empty), confidence [N] = softmax weight of n1, differentiable in q)."""
        if look is None:
            return torch.full((q.shape[0],), -1, dtype=torch.long, device=q.device), torch.zeros(q.shape[0], device=q.device)
        sims = (q[:, None, :] * self.keys[look["idx"]]).sum(-1)  # differentiable in q, [N, k]
        soft = torch.softmax(self.cfg.inverse_temperature * sims, dim=1)
        return look["vals"][:, 0], soft[:, 0]

    def loss(self, q: torch.Tensor, v: torch.Tensor, look):
        """Memory loss per row [N] (eq. 2), differentiable in q."""
        N = q.shape[0]
        if look is None:
            return q.new_zeros(N)
        idx, vals = look["idx"], look["vals"]
        k = idx.shape[1]
        hit = vals == v[:, None]
        ar = torch.arange(k, device=q.device)[None, :].expand(N, k)
        fp = torch.where(hit, ar, k).min(1).values
        fn = torch.where(~hit, ar, k).min(1).values
        rows = torch.arange(N, device=q.device)
        pos = torch.where(fp < k, idx[rows, fp.clamp(max=k - 1)], torch.full_like(fp, -1))
        neg = torch.where(fn < k, idx[rows, fn.clamp(max=k - 1)], torch.full_like(fn, -1))
        need = pos < 0
        if bool(need.any()):  # np outside the top k: the most similar slot with value v anywhere
            sub = look["all"][need]
            same = self.values[None, :] == v[need][:, None]
            far = sub.masked_fill(~same, float("-inf")).max(1)
            pos[need] = torch.where(same.any(1), far.indices, torch.full_like(far.indices, -1))
        kp = self.keys[pos.clamp(min=0)] * (pos >= 0)[:, None]
        kn = self.keys[neg.clamp(min=0)] * (neg >= 0)[:, None]
        return F.relu((q * kn).sum(1) - (q * kp).sum(1) + self.cfg.alpha)

    @torch.no_grad()
    def write(self, q: torch.Tensor, v: torch.Tensor, look, origin: torch.Tensor | None = None):
        """Vectorised labelled write of a batch (see the module doc); origin [N]: example ids for
        provenance. -> (n_update, n_new)."""
        q = F.normalize(q.detach(), dim=1)
        M = self.cfg.memory_size
        if look is not None:
            n1 = look["idx"][:, 0]
            upd = look["vals"][:, 0] == v
        else:
            n1 = torch.zeros_like(v)
            upd = torch.zeros_like(v, dtype=torch.bool)
        touched = torch.zeros(M, dtype=torch.bool, device=q.device)
        if bool(upd.any()):
            slots = n1[upd]
            self.keys.index_add_(0, slots, q[upd])
            if origin is not None:
                self.origin[slots] = origin[upd]
            uniq = torch.unique(slots)
            self.keys[uniq] = F.normalize(self.keys[uniq], dim=1)
            touched[uniq] = True
        new = ~upd
        m = int(new.sum())
        if m > 0:
            filled = self.filled
            r = torch.rand(M, generator=self.gen).to(q.device) * self.cfg.age_noise
            prio = self.ages + r
            # empty slots first (lowest index first), never a slot updated in this batch
            prio = torch.where(filled, prio, 1e9 - torch.arange(M, device=q.device, dtype=prio.dtype))
            prio = prio.masked_fill(touched, float("-inf"))
            slots = prio.topk(m).indices
            self.keys[slots] = q[new]
            self.values[slots] = v[new]
            self.origin[slots] = origin[new] if origin is not None else -1
            touched[slots] = True
        self.ages += self.filled.to(self.ages.dtype)
        self.ages[touched] = 0
        self.writes += q.shape[0]
        return int(upd.sum()), m
