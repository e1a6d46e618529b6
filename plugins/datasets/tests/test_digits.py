from __future__ import annotations

import collections
import io

import numpy as np
from PIL import Image


def test_digits_are_the_bundled_8x8_images_as_pngs():
    from sklearn.datasets import load_digits

    import attnzoo

    ds = attnzoo.load_dataset("digits")
    assert (ds.input_kind, ds.task) == ("image", "image-classification")
    assert ds.label_names == [str(d) for d in range(10)]
    assert ds.processor_hints == {"image_size": 8, "channels": 1}
    sizes = {k: len(v) for k, v in ds.splits.items()}
    assert sizes == {"train": 1439, "validation": 179, "test": 179}
    total = collections.Counter()
    for split in ds.splits.values():
        total.update(split["label"])
    bunch = load_digits()
    assert total == collections.Counter(bunch.target.tolist())
    # every image decodes to its sklearn grey levels, scaled 0..16 -> 0..255
    expected = {
        np.rint(img * 255 / 16).astype(np.uint8).tobytes(): int(y)
        for img, y in zip(bunch.images, bunch.target, strict=True)
    }
    first = ds.splits["test"][0]
    img = Image.open(io.BytesIO(first["image"]))
    assert img.size == (8, 8) and img.mode == "L"
    assert expected[np.asarray(img).tobytes()] == first["label"]


def test_the_split_is_stratified_and_seeded():
    import attnzoo

    ds = attnzoo.load_dataset("digits")
    test = collections.Counter(ds.splits["test"]["label"])
    assert all(17 <= test[d] <= 19 for d in range(10))
    again = attnzoo.load_dataset("digits")
    assert again.splits["test"]["image"] == ds.splits["test"]["image"]
    other = attnzoo.load_dataset("digits", seed=1)
    assert other.splits["test"]["image"] != ds.splits["test"]["image"]
