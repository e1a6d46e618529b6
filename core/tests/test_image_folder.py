"""Image datasets from class-per-subfolder folders, and the test fixture that writes them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from attnzoo.data import resolve_dataset
from attnzoo.data.images import load_image_folder
from attnzoo.errors import DataError
from attnzoo.testing import make_image_folder


def test_make_image_folder_writes_deterministic_pngs(tmp_path):
    a = make_image_folder(tmp_path / "a", n_classes=4, per_class=3, size=10, seed=5)
    b = make_image_folder(tmp_path / "b", n_classes=4, per_class=3, size=10, seed=5)
    files = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert len(files) == 12 and files[0] == Path("class_0/0000.png")
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    img = Image.open(a / files[0])
    assert img.size == (10, 10) and img.mode == "RGB"


def test_flat_layout_reads_classes_in_sorted_order(tmp_path):
    root = make_image_folder(tmp_path / "flat", n_classes=3, per_class=4, size=8)
    (root / "class_1" / "notes.txt").write_text("ignored")
    ds = resolve_dataset(str(root), input_kind="image")
    assert (ds.input_kind, ds.task) == ("image", "image-classification")
    assert ds.label_names == ["class_0", "class_1", "class_2"]
    assert list(ds.splits) == ["train"]
    train = ds.splits["train"]
    assert train["label"] == [0] * 4 + [1] * 4 + [2] * 4
    assert all(Path(p).suffix == ".png" and Path(p).exists() for p in train["image"])
    ds.ensure_splits(0.25, 0.25, seed=0)  # stratified: one image of each class per split
    assert sorted(ds.splits["test"]["label"]) == [0, 1, 2]


def test_split_folders(tmp_path):
    root = tmp_path / "split"
    make_image_folder(root / "train", 2, 5, 8, seed=0)
    make_image_folder(root / "val", 2, 2, 8, seed=1)
    make_image_folder(root / "test", 2, 3, 8, seed=2)
    shutil.rmtree(root / "test" / "class_1")  # a split may lack a class
    ds = load_image_folder(root)
    assert {s: len(t) for s, t in ds.splits.items()} == {"train": 10, "validation": 4, "test": 3}
    assert ds.splits["test"]["label"] == [0, 0, 0]
    assert all("/val/" in p for p in ds.splits["validation"]["image"])


def test_specific_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="has no class folders"):
        load_image_folder(empty)
    root = make_image_folder(tmp_path / "one-empty", 2, 2, 8)
    (root / "cats").mkdir()
    (root / "cats" / "readme.md").write_text("x")
    with pytest.raises(DataError, match=r"Class folder .*cats holds no images.*readme\.md"):
        load_image_folder(root)
    split = tmp_path / "unseen"
    make_image_folder(split / "train", 2, 2, 8)
    make_image_folder(split / "test", 3, 1, 8)
    with pytest.raises(DataError, match=r"class folders \['class_2'\] that .*train lacks"):
        load_image_folder(split)
    mixed = tmp_path / "mixed"
    make_image_folder(mixed / "train", 2, 2, 8)
    make_image_folder(mixed, 2, 1, 8)
    with pytest.raises(DataError, match="mixes split folders"):
        load_image_folder(mixed)
    no_train = tmp_path / "no-train"
    make_image_folder(no_train / "test", 2, 1, 8)
    with pytest.raises(DataError, match="no train/ folder"):
        load_image_folder(no_train)
    with pytest.raises(DataError, match="does not exist"):
        resolve_dataset(str(tmp_path / "missing/"), input_kind="image")


def test_an_undecodable_file_is_named_when_encoding(tmp_path):
    from attnzoo.config import DataConfig, ImageClassifierConfig
    from attnzoo.data.processors.image import ImageProcessor

    root = make_image_folder(tmp_path / "imgs", 2, 3, 8)
    (root / "class_1" / "0001.png").write_bytes(b"\x89PNG truncated")
    ds = resolve_dataset(str(root), input_kind="image")
    proc = ImageProcessor.from_run(DataConfig(), ds, ImageClassifierConfig())
    with pytest.raises(DataError, match=r"row 4 \(.*class_1/0001\.png\) cannot be decoded"):
        proc.fit(ds)


def test_the_pattern_is_learnable_from_local_orientation(tmp_path):
    """A linear probe on horizontal vs vertical pixel differences separates the classes."""
    root = make_image_folder(tmp_path / "imgs", 2, 20, 12, seed=0)
    feats, labels = [], []
    for k in range(2):
        for p in sorted((root / f"class_{k}").glob("*.png")):
            x = np.asarray(Image.open(p).convert("L"), dtype=np.float64)
            feats.append(np.abs(np.diff(x, axis=1)).mean() - np.abs(np.diff(x, axis=0)).mean())
            labels.append(k)
    feats_arr, labels_arr = np.asarray(feats), np.asarray(labels)
    # class 0: stripes vary along x (large horizontal differences); class 1 (90 degrees): along y
    assert (feats_arr[labels_arr == 0] > 0).all() and (feats_arr[labels_arr == 1] < 0).all()
