"""The key-value memory of Kaiser et al. 2017 (section 2), as used in training.

Same semantics as the TypeScript memory in src/memory/ (a trace fixture written by
make_fixtures.py is replayed by tests/unit/memoryTrace.test.ts):
- keys K [M, D] unit length, values V [M] (-1 = empty slot), ages A [M] (0 for empty slots);
- query: the k nearest filled slots by cosine similarity (k capped by the filled count),
  V[n1], and softmax(t * similarities) over those k;
- loss: [q.K[nb] - q.K[np] + alpha]+ with np the first neighbour with value v (if none among
  the top k, the most similar slot with value v anywhere), nb the first neighbour with another
  value; a missing np or nb (-1) contributes a similarity of 0;
- queries of any length are normalised first (their direction is the query);
- write (labelled update): if V[n1] == v, K[n1] = normalize(q + K[n1]) (q itself where
  q = -K[n1] exactly) and A[n1] = 0 (case 'update'); else (q, v) goes to the lowest-index empty slot, or when full to
  n' = argmax(A + r), r ~ U[0, age_noise) (ties -> lowest index), with A[n'] = 0 (case 'new');
  the ages of all other filled slots grow by 1. A batch of writes is applied one at a time,
  in batch order.
The keys are never part of the autograd graph: gradients reach the encoder through q only.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class MemoryConfig:
    memory_size: int = 8192
    key_size: int = 128
    k: int = 256
    inverse_temperature: float = 40.0
    alpha: float = 0.1
    age_noise: float = 8.0


def _mix32(h: int) -> int:
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
    return (h ^ (h >> 16)) & 0xFFFFFFFF


def age_noise_uniform(seed: int, write_index: int, slot: int) -> float:
    """The uniform in [0, 1) of src/memory/random.ts `ageNoiseUniform` (same bits)."""
    h = _mix32((seed & 0xFFFFFFFF) ^ 0x9E3779B9)
    h = _mix32(h ^ (write_index & 0xFFFFFFFF))
    h = _mix32(h ^ (write_index // 4294967296))
    h = _mix32(h ^ (slot & 0xFFFFFFFF) ^ 0x632BE5AB)
    return h / 4294967296.0


def _check_queries(q: torch.Tensor, what: str = "queries"):
    if not bool(torch.isfinite(q).all()):
        raise ValueError(f"expected finite {what}, got NaN or infinity")
    if bool((q.norm(dim=-1) == 0).any()):
        raise ValueError(f"expected non-zero {what}, got a zero vector (it has no direction)")


def merged_key(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """normalize(q + k) row by row, [B, D]; a row where q = -k exactly (no direction) keeps q, as the
    TypeScript memory does (F.normalize would store a zero key in a filled slot)."""
    s = q + k
    n = s.norm(dim=1, keepdim=True)
    return torch.where(n > 0, s / n.clamp(min=torch.finfo(s.dtype).tiny), q)


class Memory:
    def __init__(self, cfg: MemoryConfig, device: str = "cpu", dtype=torch.float32, seed: int = 0):
        if cfg.memory_size < 1 or cfg.key_size < 1 or cfg.k < 1:
            raise ValueError(f"impossible memory settings: {cfg}")
        self.cfg = cfg
        self.keys = torch.zeros(cfg.memory_size, cfg.key_size, device=device, dtype=dtype)
        self.values = torch.full((cfg.memory_size,), -1, dtype=torch.long, device=device)
        self.ages = torch.zeros(cfg.memory_size, dtype=dtype, device=device)
        self.seed = seed
        self.writes = 0  # rows written so far: the counter of the age noise

    def clear(self):
        self.writes = 0
        self.keys.zero_()
        self.values.fill_(-1)
        self.ages.zero_()

    @property
    def filled(self) -> torch.Tensor:
        return self.values >= 0

    def similarities(self, q: torch.Tensor) -> torch.Tensor:
        """q [B, D] -> cosine similarity to every slot [B, M], -inf for empty slots."""
        sims = q @ self.keys.detach().T
        return sims.masked_fill(~self.filled[None, :], float("-inf"))

    def query(self, q: torch.Tensor):
        _check_queries(q)
        q = F.normalize(q, dim=1)  # a query of any length is its direction (as the TS memory)
        n = int(self.filled.sum())
        if n == 0:  # no neighbour: prediction -1 (as the TS memory)
            B = q.shape[0]
            e = torch.zeros(B, 0, device=q.device)
            ei = torch.zeros(B, 0, dtype=torch.long, device=q.device)
            return dict(indices=ei, similarities=e, values=ei, prediction=torch.full((B,), -1, dtype=torch.long, device=q.device),
                        softmax=e)
        k = min(self.cfg.k, n)
        sims, idx = self.similarities(q).topk(k, dim=1)
        vals = self.values[idx]
        return dict(indices=idx, similarities=sims, values=vals, prediction=vals[:, 0],
                    softmax=torch.softmax(self.cfg.inverse_temperature * sims, dim=1))

    def loss(self, q: torch.Tensor, v: torch.Tensor):
        """Memory loss (eq. 2 of the paper), differentiable in q. -> (loss [B], np [B], nb [B])."""
        _check_queries(q.detach())
        q = F.normalize(q, dim=1)  # differentiable; a no-op for the unit keys of training
        all_sims = self.similarities(q.detach())
        n = int(self.filled.sum())
        B = q.shape[0]
        pos = torch.full((B,), -1, dtype=torch.long, device=q.device)
        neg = torch.full((B,), -1, dtype=torch.long, device=q.device)
        if n > 0:
            k = min(self.cfg.k, n)
            _, idx = all_sims.topk(k, dim=1)
            hit = self.values[idx] == v[:, None]
            ar = torch.arange(k, device=q.device)[None, :].expand(B, k)
            first_pos = torch.where(hit, ar, k).min(1).values
            first_neg = torch.where(~hit, ar, k).min(1).values
            rows = torch.arange(B, device=q.device)
            pos = torch.where(first_pos < k, idx[rows, first_pos.clamp(max=k - 1)], pos)
            neg = torch.where(first_neg < k, idx[rows, first_neg.clamp(max=k - 1)], neg)
            # np not among the top k: the most similar slot with value v anywhere (paper, sec. 2)
            same = self.values[None, :] == v[:, None]
            far = all_sims.masked_fill(~same, float("-inf")).max(1)
            need = (pos < 0) & same.any(1)
            pos = torch.where(need, far.indices, pos)
        kp = self.keys.detach()[pos.clamp(min=0)] * (pos >= 0)[:, None]
        kn = self.keys.detach()[neg.clamp(min=0)] * (neg >= 0)[:, None]
        loss = F.relu((q * kn).sum(1) - (q * kp).sum(1) + self.cfg.alpha)
        return loss, pos, neg

    @torch.no_grad()
    def write(self, q: torch.Tensor, v: torch.Tensor):
        """Labelled update of section 2, one row at a time. -> list of (case, slot, prev value, prev age)."""
        _check_queries(q.detach())
        q = F.normalize(q.detach().to(self.keys.dtype), dim=1)
        out = []
        for i in range(q.shape[0]):
            qi, vi = q[i], int(v[i])
            filled = self.filled
            n1 = -1
            if bool(filled.any()):
                n1 = int(self.similarities(qi[None])[0].argmax())
            if n1 >= 0 and int(self.values[n1]) == vi:
                self.keys[n1] = merged_key(qi[None], self.keys[n1][None])[0]
                slot, case = n1, "update"
                prev = (vi, float(self.ages[n1]))
            else:
                empty = torch.nonzero(~filled).flatten()
                if empty.numel() > 0:
                    slot = int(empty[0])
                else:
                    slot = self.oldest_slot()
                prev = (int(self.values[slot]), float(self.ages[slot]))
                self.keys[slot] = qi
                self.values[slot] = vi
                case = "new"
            self.ages += self.filled.to(self.ages.dtype)
            self.ages[slot] = 0
            self.writes += 1
            out.append((case, slot) + prev)
        return out

    def oldest_slot(self) -> int:
        """n' = argmax_i (A_i + age_noise * U(seed, writes, i)), ties -> the lowest index."""
        noise = self.cfg.age_noise
        ages = self.ages.detach().cpu().double()
        if noise == 0:
            return int(ages.argmax())
        r = torch.tensor([age_noise_uniform(self.seed, self.writes, i) for i in range(len(ages))], dtype=torch.float64)
        score = ages + noise * r
        return int(score.argmax())
