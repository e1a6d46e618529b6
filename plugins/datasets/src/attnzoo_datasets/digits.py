"""UCI optical digits (Alpaydin & Kaynak 1998): 1,797 8x8 grayscale handwritten digits, 10 classes.

Read from scikit-learn's bundled copy (``sklearn.datasets.load_digits``: no download), so it
is attnzoo's offline image dataset for tests, examples and the README. The 17 grey levels
(0..16) are scaled to 0..255 and stored as 8x8 PNG bytes in the ``image`` column; the image
processor decodes them like any image file. A seeded stratified split makes
train/validation/test (80/10/10 by default).
"""

from __future__ import annotations

import io

import numpy as np

from attnzoo.data import Dataset


def digit_pngs(images: np.ndarray) -> list[bytes]:
    """(N, 8, 8) grey levels 0..16 -> PNG bytes per image (levels scaled to 0..255)."""
    from PIL import Image

    pixels = np.rint(np.asarray(images, dtype=np.float64) * (255.0 / 16.0)).astype(np.uint8)
    out = []
    for img in pixels:
        buf = io.BytesIO()
        Image.fromarray(img, "L").save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def load_digits(val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 42) -> Dataset:
    """The digits dataset; ``seed`` fixes the stratified split (recorded in the run)."""
    import datasets
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    ds = Dataset(
        {
            "train": datasets.Dataset.from_dict(
                {"image": digit_pngs(bunch.images), "label": bunch.target.astype(np.int64)}
            )
        },
        [str(d) for d in range(10)],
        name="digits",
        input_kind="image",
        task="image-classification",
        processor_hints={"image_size": 8, "channels": 1},
        description="UCI optical digits, 1,797 8x8 grayscale images, 10 classes",
    )
    return ds.ensure_splits(val_fraction, test_fraction, seed)
