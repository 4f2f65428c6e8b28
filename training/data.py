"""Omniglot from the official zips, the train/validation split, and batched augmentation.

Only `images_background.zip` is read for training. Every character x each 90-degree rotation
is a class (as in the paper). Validation holds out whole background alphabets (VAL_ALPHABETS),
so validation episodes, like the evaluation, contain only alphabets the encoder never saw.

`preprocess_batch` is the batched torch form of `preprocess.preprocess` (same maths; a test
checks they agree), so that augmentation (at 105x105, before the crop) and the crop/resample
run on whole batches, on CPU or CUDA alike.
"""
from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from preprocess import BOX, INK_THRESHOLD, MARGIN, OUT

DEFAULT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "omniglot")
VAL_ALPHABETS = ("Early_Aramaic", "Hebrew")


def omniglot_dir() -> str:
    return os.path.abspath(os.environ.get("OMNIGLOT_DIR", DEFAULT_DIR))


@dataclass
class Characters:
    """ink: [N, 105, 105] uint8 (1 = ink); char: [N] character index; names[char] = 'Alphabet/characterNN'."""
    ink: np.ndarray
    char: np.ndarray
    names: list


def load_zip(name: str = "images_background", root: str | None = None) -> Characters:
    root = root or omniglot_dir()
    path = os.path.join(root, f"{name}.zip")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} not found: set OMNIGLOT_DIR to a folder holding the official {name}.zip "
            f"(entries {name}/<Alphabet>/characterNN/<ID>_<DD>.png)")
    images, chars, names, index = [], [], [], {}
    with zipfile.ZipFile(path) as zf:
        for entry in sorted(zf.namelist()):
            if not entry.endswith(".png"):
                continue
            parts = entry.split("/")
            if len(parts) != 4 or parts[0] != name:
                raise ValueError(f"{path}: unexpected entry {entry!r}, expected {name}/<Alphabet>/characterNN/<ID>_<DD>.png")
            key = f"{parts[1]}/{parts[2]}"
            if key not in index:
                index[key] = len(names)
                names.append(key)
            img = np.asarray(Image.open(io.BytesIO(zf.read(entry))).convert("L"))
            images.append((img < 128).astype(np.uint8))
            chars.append(index[key])
    return Characters(np.stack(images), np.asarray(chars), names)


def split(chars: Characters):
    """-> (train character ids, validation character ids), split by alphabet."""
    val = [i for i, n in enumerate(chars.names) if n.split("/")[0] in VAL_ALPHABETS]
    train = [i for i, n in enumerate(chars.names) if n.split("/")[0] not in VAL_ALPHABETS]
    return np.asarray(train), np.asarray(val)


def _area_weights(start: torch.Tensor, side: torch.Tensor, n_src: int) -> torch.Tensor:
    """Batched preprocess.area_weights: start, side [B] -> [B, BOX, n_src]."""
    step = (side / BOX)[:, None, None]
    lo = start[:, None, None] + step * torch.arange(BOX, dtype=start.dtype, device=start.device)[None, :, None]
    hi = lo + step
    r = torch.arange(n_src, dtype=start.dtype, device=start.device)[None, None, :]
    return (torch.minimum(hi, r + 1) - torch.maximum(lo, r)).clamp(min=0) / step


def preprocess_batch(ink: torch.Tensor) -> torch.Tensor:
    """ink [B, H, W] in [0, 1] (1 = ink) -> [B, 28, 28]; the maths of preprocess.preprocess."""
    dtype = ink.dtype
    mask = ink > INK_THRESHOLD
    rows, cols = mask.any(2), mask.any(1)
    if not bool(rows.any(1).all()):
        raise ValueError("preprocess_batch: an image in the batch is empty")
    H, W = ink.shape[1:]
    ar_h = torch.arange(H, device=ink.device)
    ar_w = torch.arange(W, device=ink.device)
    r0 = torch.where(rows, ar_h, H).min(1).values.to(dtype)
    r1 = torch.where(rows, ar_h, -1).max(1).values.to(dtype) + 1
    c0 = torch.where(cols, ar_w, W).min(1).values.to(dtype)
    c1 = torch.where(cols, ar_w, -1).max(1).values.to(dtype) + 1
    side = torch.maximum(r1 - r0, c1 - c0)
    ry = _area_weights((r0 + r1) / 2 - side / 2, side, H)
    rx = _area_weights((c0 + c1) / 2 - side / 2, side, W)
    box = ry @ ink @ rx.transpose(1, 2)
    out = F.pad(box, (MARGIN, OUT - BOX - MARGIN, MARGIN, OUT - BOX - MARGIN))
    return out / out.flatten(1).max(1).values[:, None, None]


def rotate(ink: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
    """Rotate each [H, W] image by rot[i] * 90 degrees counter-clockwise (numpy.rot90)."""
    out = ink.clone()
    for k in (1, 2, 3):
        sel = rot == k
        if sel.any():
            out[sel] = torch.rot90(ink[sel], k, dims=(1, 2))
    return out


@dataclass
class AugmentConfig:
    rotate_deg: float = 10.0  # small random rotation (on top of the class's 90-degree rotation)
    shear: float = 0.15
    aspect: float = 0.15  # log-uniform anisotropic scale in [1-aspect, 1+aspect]
    p_dilate: float = 0.4  # thicker strokes (app drawings vary in pen width)
    p_dilate2: float = 0.15
    p_thin: float = 0.1  # thinner strokes: an erosion that keeps the stroke skeleton mostly
    p_affine: float = 0.6
    pad: int = 12


def augment(ink: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Random affine warp and stroke-width change of [B, H, W] ink images (before the crop).

    Position and overall size need no augmentation: preprocessing crops to the bounding box.
    Each change is computed only for the images drawn for it (CPU time is the budget).
    """
    B = ink.shape[0]
    dev = ink.device
    x = F.pad(ink, (cfg.pad,) * 4)[:, None]
    u = lambda: torch.rand(B, generator=gen).to(dev) * 2 - 1  # noqa: E731
    ang = u() * cfg.rotate_deg * np.pi / 180
    sh, sx, sy = u() * cfg.shear, 1 + u() * cfg.aspect, 1 + u() * cfg.aspect
    warp = torch.nonzero(torch.rand(B, generator=gen) < cfg.p_affine).flatten().to(dev)
    if warp.numel():
        cos, sin, z = torch.cos(ang[warp]), torch.sin(ang[warp]), torch.zeros(warp.numel(), device=dev)
        theta = torch.stack([
            torch.stack([cos * sx[warp], -sin * sy[warp] + sh[warp], z], 1),
            torch.stack([sin * sx[warp], cos * sy[warp], z], 1)], 1)
        grid = F.affine_grid(theta, [warp.numel(), 1, x.shape[2], x.shape[3]], align_corners=False)
        x[warp] = F.grid_sample(x[warp], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    r = torch.rand(B, generator=gen).to(dev)
    d1 = torch.nonzero((r >= cfg.p_dilate2) & (r < cfg.p_dilate)).flatten()
    d2 = torch.nonzero(r < cfg.p_dilate2).flatten()
    th = torch.nonzero((r >= cfg.p_dilate) & (r < cfg.p_dilate + cfg.p_thin)).flatten()
    if d1.numel():
        x[d1] = F.max_pool2d(x[d1], 3, 1, 1)
    if d2.numel():
        x[d2] = F.max_pool2d(F.max_pool2d(x[d2], 3, 1, 1), 3, 1, 1)
    if th.numel():
        thin = F.pad(-F.max_pool2d(-x[th], 2, 1, 0), (0, 1, 0, 1))
        ok = thin.flatten(1).amax(1) > 0.5  # never erase a drawing
        x[th[ok]] = thin[ok]
    return x[:, 0]


class Dataset:
    """Training / validation views on the background set, with classes = (character, rotation)."""

    def __init__(self, chars: Characters, char_ids: np.ndarray, device: str = "cpu"):
        sel = np.isin(chars.char, char_ids)
        self.ink = torch.from_numpy(chars.ink[sel])  # uint8 [N, 105, 105]
        remap = {c: i for i, c in enumerate(char_ids)}
        self.char = torch.tensor([remap[c] for c in chars.char[sel]])
        self.n_chars = len(char_ids)
        self.n_classes = 4 * self.n_chars
        self.device = device
        # image indices of each character, for episodes
        self.by_char = [torch.nonzero(self.char == c).flatten() for c in range(self.n_chars)]

    def images(self, idx: torch.Tensor, rot: torch.Tensor, aug: AugmentConfig | None, gen: torch.Generator | None):
        """-> [B, 1, 28, 28] float32 on the device."""
        ink = self.ink[idx].to(self.device, torch.float32)
        ink = rotate(ink, rot.to(self.device))
        if aug is not None:
            ink = augment(ink, aug, gen)
        return preprocess_batch(ink)[:, None]

    def labels(self, idx: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
        return self.char[idx] * 4 + rot
