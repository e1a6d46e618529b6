"""A tiny, deterministic, learnable image folder for tests (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def grating(size: int, angle: float, period: float, phase: float) -> np.ndarray:
    """A sinusoidal grating in [0, 1] of side ``size`` whose stripes run at ``angle`` radians."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    wave = np.cos(angle) * x + np.sin(angle) * y
    return 0.5 + 0.5 * np.sin(2 * np.pi * wave / period + phase)


def make_image_folder(
    folder: str | Path,
    n_classes: int = 3,
    per_class: int = 20,
    size: int = 16,
    seed: int = 0,
    *,
    mode: str = "RGB",
) -> Path:
    """Write ``folder/class_<k>/<i>.png``: ``per_class`` images of each of ``n_classes`` classes.

    Class ``k`` is a grating whose stripes run at ``180 * k / n_classes`` degrees, with a random
    phase, contrast and colour tint and pixel noise per image, so the class is in the local
    orientation (what a small CNN learns) and not in the mean colour or brightness. ``mode`` is
    the Pillow mode of the files (``RGB`` or ``L``). A horizontal flip maps the angle ``a`` to
    ``180 - a``, so it is not a label-preserving augmentation here; a crop is. Returns ``folder``.
    """
    from PIL import Image

    if n_classes < 2 or per_class < 1 or size < 4:
        raise ValueError("make_image_folder needs n_classes >= 2, per_class >= 1 and size >= 4.")
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    period = max(3.0, size / 4)
    for k in range(n_classes):
        cls_dir = folder / f"class_{k}"
        cls_dir.mkdir(parents=True, exist_ok=True)
        angle = np.pi * k / n_classes
        for i in range(per_class):
            g = grating(size, angle, period, rng.uniform(0, 2 * np.pi))
            contrast = rng.uniform(0.6, 1.0)
            g = 0.5 + contrast * (g - 0.5)
            tint = rng.uniform(0.6, 1.0, size=3)
            rgb = g[:, :, None] * tint[None, None, :] + rng.normal(0, 0.08, (size, size, 3))
            pixels = (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)
            Image.fromarray(pixels, "RGB").convert(mode).save(cls_dir / f"{i:04d}.png")
    return folder
