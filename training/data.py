"""Omniglot from the official zips, the train/validation split, and batched augmentation.

Only `images_background.zip` is read for training. Every character x each 90-degree rotation
is a class (as in the paper). Validation holds out whole background alphabets (VAL_ALPHABETS),
so validation episodes, like the evaluation, contain only alphabets the encoder never saw.

`preprocess_batch` is the batched torch form of `preprocess.preprocess` (same maths; a test
checks they agree). Every image is preprocessed once per rotation and stroke width (a cache in
RAM, never on disk); augmentation then warps the 28x28 inputs, on CPU or CUDA alike.
"""
from __future__ import annotations

import io
import math
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


@dataclass
class AugmentConfig:
    rotate_deg: float = 10.0  # small random rotation (on top of the class's 90-degree rotation)
    shear: float = 0.15
    aspect: float = 0.15  # log-uniform anisotropic scale in [1-aspect, 1+aspect]
    p_dilate: float = 0.4  # thicker strokes (app drawings vary in pen width): one 3x3 dilation at 105x105
    p_affine: float = 0.6  # share of samples that get the warp
    shift_px: int = 0  # random whole-pixel shift of every sample, each axis uniform in [-shift_px, shift_px] (0: none)
    elastic_alpha: float = 0.0  # elastic distortion (Simard et al. 2003) of every sample, before the warp: field scale in pixels (0: none)
    elastic_sigma: float = 4.0  # the distortion field's smoothness: std of its Gaussian blur, in pixels


def warp28(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Small random rotation, shear and aspect change of preprocessed [B, 28, 28] inputs,
    about the centre, then renormalised so the strongest ink is 1 again."""
    B = x.shape[0]
    u = lambda: torch.rand(B, generator=gen).to(x.device) * 2 - 1  # noqa: E731
    ang = u() * cfg.rotate_deg * np.pi / 180
    sh, sx, sy = u() * cfg.shear, 1 + u() * cfg.aspect, 1 + u() * cfg.aspect
    keep = (torch.rand(B, generator=gen) >= cfg.p_affine).to(x.device)
    cos, sin, z = torch.cos(ang), torch.sin(ang), torch.zeros(B, device=x.device)
    theta = torch.stack([torch.stack([cos * sx, -sin * sy + sh, z], 1), torch.stack([sin * sx, cos * sy, z], 1)], 1)
    theta = torch.where(keep[:, None, None], torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], device=x.device), theta)
    grid = F.affine_grid(theta, [B, 1, OUT, OUT], align_corners=False)
    y = F.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]
    return y / y.flatten(1).amax(1).clamp(min=1e-6)[:, None, None]


def elastic28(x: torch.Tensor, alpha: float, sigma: float, gen: torch.Generator | None) -> torch.Tensor:
    """Elastic distortion of [B, 28, 28] inputs (Simard, Steinkraus, Platt 2003): every pixel moves by a
    random displacement field, uniform noise in [-1, 1] per pixel and axis, Gaussian-blurred with std
    `sigma` and scaled by `alpha` (pixels), sampled bilinearly, then renormalised so the strongest ink is
    1 again. alpha <= 0 returns the input and draws nothing from `gen` (earlier recipes keep their
    random stream). Local, smooth wobbles of the strokes, which the global warp (warp28) cannot make."""
    if alpha <= 0:
        return x
    B, H, W = x.shape
    noise = (torch.rand(B, 2, H, W, generator=gen) * 2 - 1).to(x.device)
    r = int(math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    g = torch.exp(-t ** 2 / (2 * sigma ** 2))
    g = g / g.sum()

    def band(n: int) -> torch.Tensor:  # [n, n]: row i holds the kernel centred on i, cut at the edges (zeros outside)
        d = torch.arange(n, device=x.device)
        off = d[None, :] - d[:, None]
        return torch.where(off.abs() <= r, g[(off + r).clamp(0, 2 * r)], torch.zeros((), dtype=x.dtype, device=x.device))

    field = band(H) @ noise @ band(W).T * alpha  # the separable Gaussian blur of each noise image, as two matmuls
    ys, xs = torch.meshgrid(torch.arange(H, dtype=x.dtype, device=x.device), torch.arange(W, dtype=x.dtype, device=x.device), indexing="ij")
    # sample input (y + dy, x + dx) at output (y, x), in grid_sample's [-1, 1] coordinates (align_corners=False)
    gx = (2 * (xs + field[:, 0]) + 1) / W - 1
    gy = (2 * (ys + field[:, 1]) + 1) / H - 1
    y = F.grid_sample(x[:, None], torch.stack([gx, gy], -1), mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]
    return y / y.flatten(1).amax(1).clamp(min=1e-6)[:, None, None]


def shifted(x: torch.Tensor, dx, dy, bound: int | None = None) -> torch.Tensor:
    """Inputs [B, H, W] (or [B, 1, H, W]) moved by whole pixels, each by its own (dx, dy) ([B] tensors)
    or all by the same (ints): output pixel (y, x) = input (y - dy, x - dx), 0 where that is outside.
    `bound` (>= every |dx|, |dy|) spares reading the offsets back from the device to size the padding.
    The one shift of the project's Python side: random shifts in training (`shift28`) and the app's
    test-time shifts (train.shifted_keys, as src/encoder withShiftedCopies)."""
    B, H, W = x.shape[0], x.shape[-2], x.shape[-1]
    dx, dy = (torch.as_tensor(d, device=x.device).expand(B) for d in (dx, dy))
    pad = bound if bound is not None else int(max(dx.abs().max(), dy.abs().max())) if B else 0
    padded = F.pad(x.reshape(B, H, W), (pad, pad, pad, pad))
    rows = torch.arange(H, device=x.device)[None, :] + pad - dy[:, None]  # [B, H] row of the padded input each output row reads
    cols = torch.arange(W, device=x.device)[None, :] + pad - dx[:, None]
    return padded[torch.arange(B, device=x.device)[:, None, None], rows[:, :, None], cols[:, None, :]].reshape(x.shape)


def shift28(x: torch.Tensor, px: int, gen: torch.Generator | None) -> torch.Tensor:
    """Each [B, 28, 28] input moved by its own random (dx, dy), both uniform in [-px, px] (`shifted`).
    The preprocessed drawing keeps a MARGIN-wide empty border, so a shift up to MARGIN pixels loses no
    ink of an unwarped drawing."""
    if px <= 0:
        return x
    d = torch.randint(-px, px + 1, (2, x.shape[0]), generator=gen).to(x.device)
    return shifted(x, d[0], d[1], bound=px)  # px: no read-back of the offsets from a GPU each step


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
        # alphabet of each character (names are 'Alphabet/characterNN'), for alphabet-grouped episodes
        alphabets = [chars.names[c].split("/")[0] for c in char_ids]
        self.alphabet_names = sorted(set(alphabets))
        self.alphabet = torch.tensor([self.alphabet_names.index(a) for a in alphabets])
        self.build_cache()

    def build_cache(self, batch: int = 256):
        """Preprocess every image x 4 rotations x 2 stroke widths once: [2, 4, N, 28, 28] float32.

        Augmentation then only warps the 28x28 inputs (`warp28`), which costs almost nothing;
        the stroke-width variant (one 3x3 dilation at 105x105) is chosen per sample.
        """
        n = len(self.char)
        self.cache = torch.empty(2, 4, n, OUT, OUT, device=self.device)  # on CUDA: built and kept on the GPU
        for s in range(0, n, batch):
            ink = self.ink[s:s + batch].to(self.device, torch.float32)
            for v, x in enumerate((ink, F.max_pool2d(ink[:, None], 3, 1, 1)[:, 0])):
                for r in range(4):
                    self.cache[v, r, s:s + batch] = preprocess_batch(torch.rot90(x, r, dims=(1, 2)))
        return self

    def images(self, idx: torch.Tensor, rot: torch.Tensor, aug: AugmentConfig | None, gen: torch.Generator | None, width: int = 0):
        """-> [B, 1, 28, 28] float32 on the device. Without augmentation, `width` picks the stroke-width
        variant (0: as drawn, 1: thicker pen); with it, the variant is drawn per sample (p_dilate)."""
        width = (torch.rand(len(idx), generator=gen) < aug.p_dilate).long() if aug is not None else torch.full_like(idx, width)
        x = self.cache[width, rot, idx]
        if aug is None:
            return x[:, None]
        return shift28(warp28(elastic28(x, aug.elastic_alpha, aug.elastic_sigma, gen), aug, gen), aug.shift_px, gen)[:, None]

    def labels(self, idx: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
        return self.char[idx] * 4 + rot
