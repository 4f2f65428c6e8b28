"""The encoder: a small ConvNet that maps a 28x28 drawing (ink = 1) to a 128-d key.

Architecture (see models/omniglot-conv4/README.md for why it differs from the paper's):
four blocks of 3x3 conv (same padding) -> BatchNorm -> ReLU, max-pool 2x2 after the first
three (28 -> 14 -> 7 -> 3), flatten 3x3x128 and a fully connected layer to the key size.
`ModelConfig.channels` / `pools` give other shapes (one entry per conv layer; train.py --channels, --pools).
`keys()` L2-normalises the output: memory keys are unit length.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    channels: tuple = (64, 64, 128, 128)
    pools: tuple = (True, True, True, False)
    key_size: int = 128
    image_size: int = 28
    dropout: float = 0.0  # before the key layer, training only (exported models have none)
    key_dropout: float = 0.0  # on the key before its normalisation, training only (the reference code's: 0.7, keep_prob 0.3)


def block(cin: int, cout: int, pool: bool) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        self.cfg = cfg
        blocks, cin, side = [], 1, cfg.image_size
        for cout, pool in zip(cfg.channels, cfg.pools):
            blocks.append(block(cin, cout, pool))
            cin = cout
            side = side // 2 if pool else side
        self.features = nn.Sequential(*blocks)
        self.flat_side = side
        self.drop = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(cin * side * side, cfg.key_size)
        self.key_drop = nn.Dropout(cfg.key_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, 1, 28, 28] (or [B, 28, 28]) ink = 1 -> raw embedding [B, key_size]."""
        if x.dim() == 3:
            x = x.unsqueeze(1)
        h = self.features(x)
        return self.key_drop(self.fc(self.drop(h.flatten(1))))

    def keys(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.forward(x), dim=1)


def parse_shape(channels: str, pools: str = "") -> tuple[tuple, tuple]:
    """The conv layers of an encoder from train.py's settings: '64,64,128,128' -> one positive filter
    count per 3x3 conv layer; pools '1,1,1,0' -> whether a 2x2 max-pool follows each layer ('' = the
    default: after the first three of four layers). A deeper encoder lists more layers, e.g.
    channels '64,64,128,128,128,128' with pools '1,1,0,1,0,0' (the last two blocks with two convs)."""
    try:
        ch = tuple(int(c) for c in str(channels).split(","))
    except ValueError:
        ch = ()
    if not ch or min(ch) < 1:
        raise SystemExit(f"--channels must be positive integers, one per conv layer, e.g. 64,64,128,128; got {channels!r}")
    if pools == "":
        default = ModelConfig()
        if len(ch) != len(default.channels):
            raise SystemExit(f"--channels lists {len(ch)} conv layers: give --pools too (one 0/1 per layer, 1 = a 2x2 max-pool after it)")
        return ch, default.pools
    flags = str(pools).split(",")
    if len(flags) != len(ch) or any(f not in ("0", "1") for f in flags):
        raise SystemExit(f"--pools must be {len(ch)} values of 0 or 1 (one per conv layer of --channels={channels}); got {pools!r}")
    pl = tuple(f == "1" for f in flags)
    if ModelConfig().image_size >> sum(pl) < 1:
        raise SystemExit(f"--pools {pools!r} pools {sum(pl)} times: a {ModelConfig().image_size}x{ModelConfig().image_size} input would vanish")
    return ch, pl


def training_shape(channels: str, pools: str, key_size: int, dropout: float = 0.0, key_dropout: float = 0.0) -> ModelConfig:
    """The encoder train.py builds from its settings (--channels, --pools, --key_size, --dropout, --key_dropout)."""
    ch, pl = parse_shape(channels, pools)
    for name, p in (("--dropout", dropout), ("--key_dropout", key_dropout)):
        if not 0.0 <= p < 1.0:
            raise SystemExit(f"{name} must be in [0, 1): the share of numbers dropped while training; got {p}")
    return ModelConfig(channels=ch, pools=pl, key_size=key_size, dropout=dropout, key_dropout=key_dropout)


def checkpoint_config(state: dict) -> ModelConfig:
    """The encoder shape a checkpoint was saved with: final.pt carries `model_config`, train.py's
    ckpt.pt the training config (`channels`); checkpoints from before either hold the default shape."""
    if state.get("model_config"):
        known = {f for f in ModelConfig.__dataclass_fields__}
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in state["model_config"].items() if k in known and k not in ("dropout", "key_dropout")}
        return ModelConfig(**kw)
    if state.get("config", {}).get("channels"):
        c = state["config"]
        return training_shape(c["channels"], c.get("pools", ""), int(c.get("key_size", 128)))
    return ModelConfig()


def load_weights(model: "Encoder", state: dict, where: str) -> None:
    """Copy a checkpoint's encoder weights into `model`, or stop with a clear message when the shapes differ."""
    saved = checkpoint_config(state)
    if (tuple(saved.channels), tuple(saved.pools), saved.key_size) != (tuple(model.cfg.channels), tuple(model.cfg.pools), model.cfg.key_size):
        shape = lambda c: f"filters {','.join(map(str, c.channels))}, pools {','.join(str(int(p)) for p in c.pools)} and key size {c.key_size}"
        raise SystemExit(f"{where}: the checkpoint's encoder has {shape(saved)}, this one {shape(model.cfg)} "
                         f"(give the same --channels, --pools and --key_size)")
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as e:
        raise SystemExit(f"{where}: not an encoder checkpoint of this shape ({str(e).splitlines()[0]})") from None


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
