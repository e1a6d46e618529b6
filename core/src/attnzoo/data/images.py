"""Image classification datasets from a local folder in the usual class-per-subfolder layout.

Either ``root/<class>/*.png`` (validation and test are then split off train, stratified and
seeded) or ``root/train/<class>/...`` with optional ``root/validation/`` (``val``, ``valid``,
``dev``) and ``root/test/``, as torchvision's ``ImageFolder`` and the ``imagefolder`` loader of
Hugging Face ``datasets`` read them. Class names are the training subfolders' names in sorted
order. The splits hold an ``image`` column of file paths and a ``label`` column of class ids;
images are decoded later, once, by the image processor (which names any file it cannot read).
"""

from __future__ import annotations

import os
from pathlib import Path

from attnzoo.data.dataset import SPLIT_ALIASES, Dataset
from attnzoo.errors import DataError

#: file suffixes read as images (case-insensitive); other files in a class folder are ignored
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def load_image_folder(
    root: str | os.PathLike[str], *, image_column: str = "image", label_column: str = "label"
) -> Dataset:
    """Read ``root`` as an image classification dataset (see the module docstring)."""
    import datasets

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"Image folder {str(root)!r} does not exist or is not a folder.")
    subdirs = _subfolders(root)
    split_dirs = {
        SPLIT_ALIASES[d.name.lower()]: d for d in subdirs if d.name.lower() in SPLIT_ALIASES
    }
    if split_dirs and "train" not in split_dirs:
        raise DataError(
            f"{root} has split folders {sorted(d.name for d in split_dirs.values())} but no "
            "train/ folder: add root/train/<class>/ images."
        )
    if split_dirs and len(split_dirs) < len(subdirs):
        others = sorted(d.name for d in subdirs if d.name.lower() not in SPLIT_ALIASES)
        raise DataError(
            f"{root} mixes split folders ({sorted(d.name for d in split_dirs.values())}) with "
            f"other folders {others}: put every class folder under train/ (and validation/, test/)."
        )
    if not split_dirs:
        split_dirs = {"train": root}
    files = {split: _class_files(folder) for split, folder in split_dirs.items()}
    label_names = sorted(files["train"])
    index = {name: i for i, name in enumerate(label_names)}
    splits = {}
    for split, by_class in files.items():
        unseen = sorted(set(by_class) - set(index))
        if unseen:
            raise DataError(
                f"{split_dirs[split]} has class folders {unseen} that {split_dirs['train']} lacks: "
                "a model cannot learn them. Add training images or remove those folders."
            )
        paths = [str(p) for name in sorted(by_class) for p in by_class[name]]
        labels = [index[name] for name in sorted(by_class) for _ in by_class[name]]
        splits[split] = datasets.Dataset.from_dict({image_column: paths, label_column: labels})
    return Dataset(
        splits,
        label_names,
        name=root.resolve().name,
        input_kind="image",
        task="image-classification",
        label_column=label_column,
        processor_hints={"image_column": image_column},
        description=f"image folder {root} ({len(label_names)} classes)",
    )


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _class_files(folder: Path) -> dict[str, list[Path]]:
    """``{class name: sorted image files}`` of one split folder, with errors that name it."""
    classes = _subfolders(folder)
    if not classes:
        found = sorted(p.name for p in folder.iterdir())[:10]
        raise DataError(
            f"{folder} has no class folders (found {found or 'nothing'}). Lay images out as "
            f"{folder}/<class>/<image>.png, one subfolder per class."
        )
    out: dict[str, list[Path]] = {}
    for cls in classes:
        images = sorted(
            p
            for p in cls.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not images:
            others = sorted(p.name for p in cls.iterdir())[:5]
            raise DataError(
                f"Class folder {cls} holds no images ({', '.join(IMAGE_SUFFIXES)}); found "
                f"{others or 'nothing'}. Add images or remove the folder."
            )
        out[cls.name] = images
    return out
