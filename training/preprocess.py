"""The one preprocessing of Memory Lab: any grayscale drawing -> 28x28 encoder input.

This is the reference; `src/preprocess/preprocess.ts` implements the same steps and
`training/make_fixtures.py` writes synthetic images with their expected outputs so that a
TypeScript test proves the two agree (to 1e-6).

Steps (all arithmetic in float64):
  1. ink polarity: ink = 1 - pixel if the ink is dark (Omniglot: black ink 0 on white 1),
     else ink = pixel; values are clipped to [0, 1].
  2. bounding box of the cells with ink > INK_THRESHOLD (0.1). None -> EmptyDrawingError.
  3. the source square: side S = max(box height, box width) cells, centred on the box centre
     (continuous coordinates, cell r covers [r, r+1)); outside the image counts as no ink.
  4. area resampling (box filter) of that square onto a BOX x BOX (20x20) grid: output cell i
     covers the source interval [y0 + i*S/BOX, y0 + (i+1)*S/BOX) and takes the mean ink over it,
     computed as Ry @ ink @ Rx^T with Ry[i, r] = |[r, r+1) ∩ interval_i| / (S/BOX).
  5. the 20x20 result is placed at offset 4 in a 28x28 zero grid (MNIST-like margin), and
     divided by its maximum so that the strongest ink is exactly 1 (makes thin and thick
     strokes look alike after the downscale).
Output: float32 [28, 28], ink 1, background 0.
"""
from __future__ import annotations

import numpy as np

OUT = 28
BOX = 20
MARGIN = (OUT - BOX) // 2
INK_THRESHOLD = 0.1


class EmptyDrawingError(ValueError):
    pass


def area_weights(start: float, side: float, n_src: int, n_out: int = BOX) -> np.ndarray:
    """[n_out, n_src] weights: mean of the source cells over each output cell's interval."""
    step = side / n_out
    lo = start + step * np.arange(n_out)[:, None]  # [n_out, 1]
    hi = lo + step
    r = np.arange(n_src)[None, :]  # [1, n_src]
    overlap = np.clip(np.minimum(hi, r + 1.0) - np.maximum(lo, r), 0.0, None)
    return overlap / step


def preprocess(image: np.ndarray, ink_is_dark: bool = True) -> np.ndarray:
    """image: [H, W] grayscale in [0, 1] (or bool/uint8 0..255) -> float32 [28, 28], ink = 1."""
    img = np.asarray(image)
    if img.ndim != 2 or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"expected a 2-D grayscale image, got shape {img.shape}")
    if img.dtype == np.uint8:
        img = img.astype(np.float64) / 255.0
    else:
        img = img.astype(np.float64)
    if not np.all(np.isfinite(img)):
        raise ValueError("image contains NaN or Inf")
    ink = np.clip(1.0 - img if ink_is_dark else img, 0.0, 1.0)
    rows = np.nonzero((ink > INK_THRESHOLD).any(axis=1))[0]
    cols = np.nonzero((ink > INK_THRESHOLD).any(axis=0))[0]
    if rows.size == 0:
        raise EmptyDrawingError("the drawing is empty: no pixel has ink")
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    side = float(max(r1 - r0, c1 - c0))
    y0 = (r0 + r1) / 2.0 - side / 2.0
    x0 = (c0 + c1) / 2.0 - side / 2.0
    ry = area_weights(y0, side, ink.shape[0])
    rx = area_weights(x0, side, ink.shape[1])
    box = ry @ ink @ rx.T
    out = np.zeros((OUT, OUT), dtype=np.float64)
    out[MARGIN:MARGIN + BOX, MARGIN:MARGIN + BOX] = box
    return (out / out.max()).astype(np.float32)
