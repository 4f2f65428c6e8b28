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

from data import MAX_LEN, VOCAB


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
        self.query = nn.Linear(H, cfg.key_size, bias=False)  # attention vector (the memory query)
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
        """h [B, T, H] decoder states of steps t0.. -> (attention vector a [B, T, key], decoder output o
        [B, T, key], attention weights [B, T, S])."""
        scores = h @ self.att(enc).transpose(1, 2) + self.offset_bias(t0, h.shape[1], enc.shape[1], h.device)[None]
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        w = torch.softmax(scores, dim=-1)
        ctx = w @ enc
        return torch.tanh(self.query(ctx)), torch.tanh(self.comb(torch.cat([ctx, h], -1))), w

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
