"""The ``image`` input kind: decoding, resizing, normalisation fitted on train, augmentation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from attnzoo.config import DataConfig, ImageClassifierConfig
from attnzoo.data import load_processor, prepare_data, processor_class, resolve_dataset
from attnzoo.data.processors.image import ImageProcessor, channel_stats
from attnzoo.errors import CheckpointError, ConfigError, DataError
from attnzoo.testing import make_image_folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_image_folder(tmp_path / "imgs", n_classes=3, per_class=10, size=12, seed=0)


def dataset(folder: Path):
    return resolve_dataset(str(folder), input_kind="image").ensure_splits(0.2, 0.2, seed=0)


def processor(ds, model=None, **settings) -> ImageProcessor:
    model = model or ImageClassifierConfig()
    proc = ImageProcessor.from_run(DataConfig(processor=settings), ds, model)
    proc.fit(ds)
    return proc


def test_registered_as_the_image_input_kind():
    assert processor_class("image") is ImageProcessor


def test_encode_resizes_and_converts_once_into_uint8(folder):
    ds = dataset(folder)
    proc = processor(ds, image_size=20, channels=1)
    enc = proc.encode(ds.splits["train"])
    assert enc.arrays["pixels"].shape == (18, 1, 20, 20)
    assert enc.arrays["pixels"].dtype == np.uint8
    assert enc.labels.tolist() == ds.splits["train"]["label"]
    first = ds.splits["train"]["image"][0]
    expected = np.asarray(
        Image.open(first).convert("L").resize((20, 20), Image.Resampling.BILINEAR)
    )
    np.testing.assert_array_equal(enc.arrays["pixels"][0, 0], expected)
    batch = proc.collate(enc, [2, 0])
    assert set(batch) == {"pixel_values"}
    assert batch["pixel_values"].shape == (2, 1, 20, 20)
    assert batch["pixel_values"].dtype == np.float32
    assert proc.config_fields() == {"image_size": 20, "in_channels": 1}


def test_grayscale_files_become_three_channels(tmp_path):
    folder = make_image_folder(tmp_path / "grey", 2, 3, 8, seed=1, mode="L")
    ds = dataset(folder)
    proc = processor(ds, image_size=8, channels=3)
    pixels = proc.encode(ds.splits["train"]).arrays["pixels"]
    assert pixels.shape[1] == 3
    np.testing.assert_array_equal(pixels[:, 0], pixels[:, 2])  # grey replicated


def test_statistics_are_fitted_on_the_training_split_only(folder):
    ds = dataset(folder)
    proc = processor(ds, image_size=12)
    train_pixels = proc.encode(ds.splits["train"]).arrays["pixels"]
    mean, std = channel_stats(train_pixels)
    np.testing.assert_allclose(proc.config.mean, mean)
    np.testing.assert_allclose(proc.config.std, std)
    np.testing.assert_allclose(mean, (train_pixels / 255).mean(axis=(0, 2, 3)), rtol=1e-9)
    # normalised training pixels: mean 0, std 1 per channel
    x = proc.collate(proc.encode(ds.splits["train"]), np.arange(18))["pixel_values"]
    np.testing.assert_allclose(x.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=(0, 2, 3)), 1, atol=1e-3)
    # replacing the test split (by white images) changes nothing fitted
    ds.splits["test"] = ds.splits["test"].map(lambda _: {"image": ds.splits["train"]["image"][0]})
    again = processor(ds, image_size=12)
    assert again.config.mean == proc.config.mean


def test_fit_decodes_the_training_split_once(folder):
    ds = dataset(folder)
    proc = processor(ds, image_size=12)
    for path in ds.splits["train"]["image"]:
        Path(path).unlink()  # the next encode of train reuses the pixels decoded while fitting
    data = prepare_data(ds, proc)
    assert data.num_examples("train") == 18
    with pytest.raises(DataError, match="no such file"):
        proc.encode(ds.splits["train"])  # ... once


def test_imagenet_and_no_normalisation(folder):
    ds = dataset(folder)
    proc = processor(ds, normalize="imagenet")
    assert proc.config.mean == [0.485, 0.456, 0.406]
    raw = processor(ds, normalize="none", image_size=12)
    enc = raw.encode(ds.splits["train"])
    np.testing.assert_allclose(
        raw.collate(enc, [0])["pixel_values"][0], enc.arrays["pixels"][0] / 255, atol=1e-6
    )
    with pytest.raises(ConfigError, match="channels=3"):
        processor(ds, normalize="imagenet", channels=1)


def test_augmentation_only_in_training_and_deterministic_per_batch(folder):
    ds = dataset(folder)
    plain = processor(ds, image_size=12)
    aug = processor(ds, image_size=12, random_crop_padding=3, horizontal_flip=True)
    enc = aug.encode(ds.splits["train"])
    idx = np.array([5, 1, 7, 3])
    eval_batch = aug.collate(enc, idx)["pixel_values"]
    np.testing.assert_array_equal(eval_batch, plain.collate(enc, idx)["pixel_values"])
    a = aug.collate(enc, idx, train=True)["pixel_values"]
    b = aug.collate(enc, idx, train=True)["pixel_values"]
    np.testing.assert_array_equal(a, b)  # same batch, same augmentation (exact resume)
    assert a.shape == eval_batch.shape and not np.array_equal(a, eval_batch)
    c = aug.collate(enc, idx[::-1], train=True)["pixel_values"][::-1]
    assert not np.array_equal(a, c)  # another batch composition, other crops
    # no augmentation configured: training batches are the evaluation batches
    np.testing.assert_array_equal(plain.collate(enc, idx, train=True)["pixel_values"], eval_batch)


def test_crop_and_flip_move_pixels_without_changing_them(folder):
    ds = dataset(folder)
    proc = processor(ds, image_size=12, horizontal_flip=True)
    pixels = proc.encode(ds.splits["train"]).arrays["pixels"]
    out = proc.augment(pixels, np.arange(len(pixels)))
    flipped = [np.array_equal(o, p[..., ::-1]) for o, p in zip(out, pixels, strict=True)]
    kept = [np.array_equal(o, p) for o, p in zip(out, pixels, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert any(flipped) and any(kept)
    crop = processor(ds, image_size=12, random_crop_padding=2)
    shifted = crop.augment(pixels[:1].repeat(40, axis=0), np.arange(40))
    padded = np.pad(pixels[0], ((0, 0), (2, 2), (2, 2)))
    for img in shifted:  # every crop is a 12x12 window of the zero-padded image
        assert any(
            np.array_equal(img, padded[:, y : y + 12, x : x + 12])
            for y in range(5)
            for x in range(5)
        )
    assert len({img.tobytes() for img in shifted}) > 5


def test_from_records_paths_dicts_and_clear_errors(folder, tmp_path):
    ds = dataset(folder)
    proc = processor(ds, image_size=12)
    paths = ds.splits["test"]["image"][:2]
    enc = proc.from_records([paths[0], {"image": paths[1]}, Path(paths[0])])
    np.testing.assert_array_equal(enc.arrays["pixels"][0], enc.arrays["pixels"][2])
    ref = proc.encode(ds.splits["test"]).arrays["pixels"][:2]
    np.testing.assert_array_equal(enc.arrays["pixels"][:2], ref)
    with pytest.raises(DataError, match=r"input 1 \(.*nope\.png\): no such file"):
        proc.from_records([paths[0], str(tmp_path / "nope.png")])
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    with pytest.raises(DataError, match=r"broken\.png\) cannot be decoded"):
        proc.from_records([str(broken)])
    with pytest.raises(DataError, match="no 'image' field"):
        proc.from_records([{"path": paths[0]}])
    with pytest.raises(DataError, match="expected an image path"):
        proc.from_records([3.5])


def test_save_and_load_is_processor_json_only(folder, tmp_path):
    ds = dataset(folder)
    proc = processor(ds, image_size=10, random_crop_padding=1, seed=3)
    proc.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["processor.json"]
    saved = json.loads((tmp_path / "m" / "processor.json").read_text())
    assert saved["kind"] == "image" and saved["image_size"] == 10 and len(saved["mean"]) == 3
    loaded = load_processor(tmp_path / "m")
    assert isinstance(loaded, ImageProcessor) and loaded.config == proc.config
    enc = proc.encode(ds.splits["validation"])
    for train in (False, True):
        np.testing.assert_array_equal(
            loaded.collate(enc, [0, 1], train=train)["pixel_values"],
            proc.collate(enc, [0, 1], train=train)["pixel_values"],
        )
    saved["mean"] = None
    (tmp_path / "m" / "processor.json").write_text(json.dumps(saved))
    with pytest.raises(CheckpointError, match="before it was fitted"):
        load_processor(tmp_path / "m")


def test_settings_precedence_and_errors(folder):
    ds = dataset(folder)
    ds.processor_hints = {**ds.processor_hints, "image_size": 8, "channels": 1}
    model = ImageClassifierConfig()  # defaults: 32, 3 channels, not set explicitly
    assert processor(ds, model).config_fields() == {"image_size": 8, "in_channels": 1}
    explicit = ImageClassifierConfig(image_size=16)
    assert processor(ds, explicit).image_size == 16  # the model's explicit size beats the hint
    assert processor(ds, model, image_size=24).image_size == 24
    with pytest.raises(ConfigError, match="contradicts the model's image_size=16"):
        processor(ds, explicit, image_size=24)
    with pytest.raises(ConfigError, match="unknown key 'image_sise'"):
        processor(ds, image_sise=8)
    with pytest.raises(ConfigError, match="channels"):
        processor(ds, channels=2)
    with pytest.raises(DataError, match="max_memory_mb"):
        processor(ds, image_size=512, max_memory_mb=1)


def test_missing_image_column_is_explained(folder):
    ds = dataset(folder)
    proc = processor(ds)
    with pytest.raises(DataError, match="No image column 'img'"):
        ImageProcessor({**proc.settings(), "image_column": "img"}).encode(ds.splits["test"])


def test_synthetic_batch():
    proc = processor_class("image").synthetic(channels=1)
    batch = proc.synthetic_batch(3, 9, seed=0)
    assert batch["pixel_values"].shape == (3, 1, 9, 9)
    assert batch["pixel_values"].dtype == np.float32
    np.testing.assert_array_equal(
        batch["pixel_values"], proc.synthetic_batch(3, 9, seed=0)["pixel_values"]
    )
