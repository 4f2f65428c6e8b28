"""Sequence-to-sequence with attention, with or without the memory module inside
(paper section 2.1 and figure 2).

Encoder: token embeddings -> 2-layer bidirectional LSTM. Decoder: previous output token
embedding -> 2-layer LSTM; Luong "general" attention over the encoder outputs, plus a learned
bias per relative offset (s - t) so that output t can align with input t (no absolute position
embeddings: they would make the same number look different at every position).
The attention vector a = tanh(W_a context) (key_size wide; context = the attention-weighted sum of
encoder outputs, as in GNMT-style attention) is the memory's query; it does not see the decoder
state, whose history of earlier outputs would make the same number look different in every
sequence. The decoder output o = tanh(W_c [context; h]). The memory's value V[n1] is embedded,
multiplied by its softmax confidence, and combined with o by a linear layer before the logits:
logits = W_o [o ; conf * E_v(V[n1])].
Without memory the second half is zeros (same parameters, `use_memory=False`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from data import DIGIT0, DIGITS, MAX_LEN, VOCAB


@dataclass
class Seq2SeqConfig:
    vocab: int = VOCAB
    max_len: int = MAX_LEN
    embed: int = 32
    hidden: int = 128  # decoder LSTM units; the encoder has hidden/2 per direction
    layers: int = 2
    key_size: int = 64  # width of the attention vector = memory key
    value_embed: int = 32
    use_memory: bool = True
    align_init: float = 4.0  # initial attention bias at offset 0
    # how the query a is made from W_a context: 'tanh' (a = tanh(W_a ctx)) or 'batchnorm'
    # (a = BatchNorm(W_a ctx), no affine: centred, unit variance per dimension, statistics of the
    # memory steps only). 'tanh' queries start with mean cosine ~0.86 between unrelated inputs and
    # collapsed in training (model card); the export folds the batch norm into W_a and a bias, which
    # loads as 'identity' (a = W_a ctx + b_a).
    query_norm: str = "tanh"
    # training only, NOT the paper: a linear head on the unit query at each memory step predicts the
    # 7 digits of the number being read and the step's offset within them (train.py --recon_weight).
    # Without it the queries lose what identifies the number (model card); never exported.
    query_recon: bool = False


class Seq2Seq(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.cfg = cfg
        H = cfg.hidden
        self.tok = nn.Embedding(cfg.vocab, cfg.embed)
        # attention bias per offset s - t, initialised to favour s = t (output t aligned with input t):
        # with uniform attention at the start every context would be the same average
        rel = torch.zeros(2 * cfg.max_len - 1)
        rel[cfg.max_len - 1] = cfg.align_init
        self.rel = nn.Parameter(rel)
        self.enc = nn.LSTM(cfg.embed, H // 2, cfg.layers, batch_first=True, bidirectional=True)
        self.dec = nn.LSTM(cfg.embed, H, cfg.layers, batch_first=True)
        self.att = nn.Linear(H, H, bias=False)  # score(h_t, e_s) = h_t . W e_s
        if cfg.query_norm not in ("tanh", "batchnorm", "identity"):
            raise ValueError(f"query_norm must be 'tanh', 'batchnorm' or 'identity', not {cfg.query_norm!r}")
        # attention vector (the memory query)
        self.query = nn.Linear(H, cfg.key_size, bias=cfg.query_norm == "identity")
        self.query_bn = nn.BatchNorm1d(cfg.key_size, affine=False) if cfg.query_norm == "batchnorm" else None
        self.recon = nn.Linear(cfg.key_size, 8 * 7) if cfg.query_recon else None  # 7 digits x 4 + offset x 7
        self.comb = nn.Linear(2 * H, cfg.key_size)  # decoder output
        self.val = nn.Embedding(cfg.vocab + 1, cfg.value_embed)  # +1: "no value" (empty memory)
        self.out = nn.Linear(cfg.key_size + cfg.value_embed, cfg.vocab)

    def embed(self, x):
        return self.tok(x)

    def offset_bias(self, t0: int, T: int, S: int, device):
        """[T, S] bias rel[s - t + max_len - 1] for decoder steps t0..t0+T-1."""
        t = torch.arange(t0, t0 + T, device=device)[:, None]
        s = torch.arange(S, device=device)[None, :]
        return self.rel[s - t + self.cfg.max_len - 1]

    def encode(self, x, mask):
        """x [B, T] token ids, mask [B, T] (True = real) -> encoder outputs [B, T, H]."""
        lens = mask.sum(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(x), lens, batch_first=True, enforce_sorted=False)
        out, _ = self.enc(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out

    def attention_vector(self, h, enc, mask, t0: int = 0):
        """h [B, T, H] decoder states of steps t0.. -> (W_a context [B, T, key] (make the query with
        `query_of` on the memory steps), decoder output o [B, T, key], attention weights [B, T, S])."""
        scores = h @ self.att(enc).transpose(1, 2) + self.offset_bias(t0, h.shape[1], enc.shape[1], h.device)[None]
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        w = torch.softmax(scores, dim=-1)
        ctx = w @ enc
        return self.query(ctx), torch.tanh(self.comb(torch.cat([ctx, h], -1))), w

    def query_of(self, a_lin):
        """W_a context of the memory steps [..., key] -> the attention vector a (not yet unit length)."""
        if self.cfg.query_norm == "tanh":
            return torch.tanh(a_lin)
        if self.cfg.query_norm == "identity":
            return a_lin
        return self.query_bn(a_lin.reshape(-1, a_lin.shape[-1])).reshape(a_lin.shape)

    def recon_loss(self, q_unit, x, sel):
        """Cross-entropy of the reconstruction head: q_unit [N, key] the unit queries of the memory
        steps sel [B, T] (digit steps) of inputs x [B, T] -> mean over the 8 predictions."""
        B, T = x.shape
        first = sel.float().argmax(1)  # start of each row's digit run
        pos = first[:, None] + torch.arange(DIGITS, device=x.device)[None, :]
        digits = x.gather(1, pos.clamp(max=T - 1)) - DIGIT0  # [B, 7]
        offset = torch.arange(T, device=x.device)[None, :] - first[:, None]  # [B, T]
        rows = torch.arange(B, device=x.device)[:, None].expand(B, T)[sel]
        logits = self.recon(q_unit * q_unit.shape[1] ** 0.5)  # unit-variance components
        ld = F.cross_entropy(logits[:, :28].reshape(-1, 4), digits[rows].reshape(-1))
        lo = F.cross_entropy(logits[:, 28:], offset[sel])
        return (7 * ld + lo) / 8

    def folded_query(self):
        """(weight [key, H], bias [key] or None) with a = act(weight ctx + bias) at inference; the
        batch norm's running statistics folded in (its activation is then the identity)."""
        W = self.query.weight.detach()
        if self.query_bn is None:
            return W, None if self.query.bias is None else self.query.bias.detach()
        inv = 1.0 / torch.sqrt(self.query_bn.running_var + self.query_bn.eps)
        return W * inv[:, None], -self.query_bn.running_mean * inv

    def decoder_inputs(self, y):
        """Teacher forcing: GO then y[:, :-1]."""
        go = torch.full_like(y[:, :1], 1)
        return torch.cat([go, y[:, :-1]], 1)

    def logits(self, att, mem_value, mem_conf):
        """att = decoder output o [..., key]; mem_value [...] token id or -1; mem_conf [...] -> logits [..., vocab]."""
        if self.cfg.use_memory:
            v = self.val(torch.where(mem_value < 0, torch.full_like(mem_value, self.cfg.vocab), mem_value))
            v = v * mem_conf[..., None]
        else:
            v = att.new_zeros(att.shape[:-1] + (self.cfg.value_embed,))
        return self.out(torch.cat([att, v], -1))
