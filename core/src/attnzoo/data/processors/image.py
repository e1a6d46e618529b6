"""The ``image`` input kind: Pillow decoding and resizing, per-channel normalisation, and
training-only augmentation, into ``pixel_values`` (B, C, H, W) float32.

Encoded layout: every split's images decoded, converted (``L`` or ``RGB``) and resized once,
into one uint8 array (N, C, H, W) kept in RAM: 1 byte per pixel and channel, so 50,000
32x32 RGB images take 150 MB and 1.28 million 224x224 RGB images would take 193 GB. Encoding
refuses a split larger than ``max_memory_mb`` (4 GB by default) with a message that says so.
``collate`` gathers a batch by index, augments it (training batches only, when asked) and
normalises it to float32, so the float copy exists only one batch at a time.

Normalisation: by default the per-channel mean and standard deviation are fitted on the
training split only (``normalize="fit"``), which suits any data (grayscale digits, satellite
bands) and leaks nothing from validation or test; ``normalize="imagenet"`` uses ImageNet's
RGB statistics (for networks pretrained on it), ``normalize="none"`` only scales to [0, 1].
The fitted statistics are saved in ``processor.json`` and reused by evaluate and predict.

Augmentation (off by default: flipping a digit changes its meaning): a random crop after
zero padding (``random_crop_padding`` pixels per side) and a random horizontal flip. The
random numbers of a batch are seeded by the processor's ``seed`` and the batch's example
indices, so the same batch is augmented the same way in a resumed run as in an uninterrupted
one, while a reshuffled epoch gets new crops.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from attnzoo.data.processors.base import Encoded, Processor
from attnzoo.errors import CheckpointError, ConfigError, DataError

#: ImageNet RGB statistics on the [0, 1] scale (torchvision's and timm's defaults)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_MODES = {1: "L", 3: "RGB"}
_ENCODE_CHUNK = 512


class ImageSettings(BaseModel):
    """Settings of the image processor: ``data.processor`` merged over the dataset's hints."""

    model_config = ConfigDict(extra="forbid")

    image_column: str = Field("image", description="Column holding image paths, bytes or images.")
    image_size: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="Resize every image to image_size x image_size; default: the dataset's "
        "hint, else the model config's image_size.",
    )
    channels: Literal[1, 3] | None = Field(
        None,
        description="1 (grayscale, Pillow mode L) or 3 (RGB); images are converted. Default: the "
        "dataset's hint, else the model config's in_channels.",
    )
    resample: Literal["nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"] = Field(
        "bilinear", description="Pillow resampling filter used when resizing."
    )
    normalize: Literal["fit", "imagenet", "none"] = Field(
        "fit",
        description="'fit': per-channel mean/std of the training split; 'imagenet': ImageNet's "
        "RGB statistics; 'none': pixels scaled to [0, 1] only.",
    )
    mean: list[float] | None = Field(
        None, description="Per-channel mean on the [0, 1] scale; fitted unless given."
    )
    std: list[float] | None = Field(
        None, description="Per-channel standard deviation on the [0, 1] scale; fitted unless given."
    )
    random_crop_padding: int = Field(
        0,
        ge=0,
        description="Training only: zero-pad this many pixels per side, then crop back at a "
        "random offset (0: off).",
    )
    horizontal_flip: bool = Field(
        False, description="Training only: flip each image left-right with probability 0.5."
    )
    seed: int = Field(0, ge=0, description="Seed of the augmentation (with each batch's indices).")
    max_memory_mb: int = Field(
        4096, ge=1, description="Refuse to encode a split whose uint8 pixels exceed this size."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ImageSettings:
        if self.normalize == "imagenet" and self.channels == 1:
            raise ValueError(
                "normalize='imagenet' needs channels=3 (ImageNet statistics are RGB); "
                "use normalize='fit' for grayscale images."
            )
        for name in ("mean", "std"):
            values = getattr(self, name)
            if values is not None and self.channels is not None and len(values) != self.channels:
                raise ValueError(f"{name} has {len(values)} values for {self.channels} channel(s).")
        if self.std is not None and min(self.std) <= 0:
            raise ValueError(f"std must be positive, got {self.std}.")
        return self


class ImageProcessor(Processor):
    """Images (paths, bytes or PIL images) to ``pixel_values`` (B, C, H, W) float32.

    Args:
        settings: an :class:`ImageSettings` (or a mapping of its fields) with ``image_size``
            and ``channels`` resolved.
    """

    kind = "image"

    def __init__(self, settings: ImageSettings | Mapping[str, Any]) -> None:
        self.config = settings if isinstance(settings, ImageSettings) else _validate(dict(settings))
        if self.config.image_size is None or self.config.channels is None:
            raise ConfigError("An image processor needs image_size and channels.")
        if self.config.normalize == "imagenet":
            self.config = self.config.model_copy(
                update={"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
            )
        elif self.config.normalize == "none":
            c = self.channels
            self.config = self.config.model_copy(update={"mean": [0.0] * c, "std": [1.0] * c})
        # the encoded training split made while fitting, reused by the next encode of it
        self._fitted_split: tuple[Any, Encoded] | None = None

    @property
    def image_size(self) -> int:
        return int(self.config.image_size or 0)

    @property
    def channels(self) -> int:
        return int(self.config.channels or 0)

    @property
    def fitted(self) -> bool:
        return self.config.mean is not None and self.config.std is not None

    @property
    def augments(self) -> bool:
        return self.config.random_crop_padding > 0 or self.config.horizontal_flip

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_run(cls, data_config: Any, dataset: Any, model_config: Any) -> ImageProcessor:
        """Settings: ``data.processor`` > model fields set explicitly > dataset hints > model defaults."""
        hints = dict(getattr(dataset, "processor_hints", None) or {})
        user = dict(getattr(data_config, "processor", None) or {})
        values = {**hints, **user}
        explicit = getattr(model_config, "model_fields_set", set())
        for setting, field in (("image_size", "image_size"), ("channels", "in_channels")):
            if not hasattr(model_config, field):
                continue
            model_value = getattr(model_config, field)
            if field not in explicit:
                values.setdefault(setting, model_value)
            elif setting in user and user[setting] != model_value:
                raise ConfigError(
                    f"data.processor.{setting}={user[setting]} contradicts the model's "
                    f"{field}={model_value}; set only one of them."
                )
            else:
                values[setting] = model_value
        values.setdefault("image_size", 32)
        values.setdefault("channels", 3)
        return cls(_validate(values))

    def fit(self, dataset: Any) -> None:
        """Per-channel mean/std of the training split's resized pixels (``normalize='fit'``)."""
        if self.fitted:
            return
        train = dataset.splits["train"]
        enc = self.encode_inputs(train)
        mean, std = channel_stats(enc.arrays["pixels"])
        self.config = self.config.model_copy(update={"mean": mean, "std": std})
        self._fitted_split = (_identity(train), enc)

    # -- encoding --------------------------------------------------------------------------------
    def encode_inputs(self, table: Any) -> Encoded:
        if self._fitted_split is not None and self._fitted_split[0] == _identity(table):
            enc = self._fitted_split[1]
            self._fitted_split = None
            return Encoded(enc.n, dict(enc.arrays))
        col = self.config.image_column
        if col not in table.column_names:
            raise DataError(
                f"No image column {col!r} (columns: {table.column_names}). "
                "Set it with --set data.processor.image_column=NAME."
            )
        n = len(table)
        out = self._allocate(n)
        column = table.select_columns([col])
        for start in range(0, n, _ENCODE_CHUNK):
            chunk = column[start : start + _ENCODE_CHUNK][col]
            for j, item in enumerate(chunk):
                out[start + j] = self._decode(item, where=f"row {start + j}")
        return Encoded(n, {"pixels": out})

    def collate(
        self, encoded: Encoded, indices: Sequence[int] | np.ndarray, *, train: bool = False
    ) -> dict[str, np.ndarray]:
        idx = np.asarray(indices, dtype=np.int64)
        pixels = encoded.arrays["pixels"][idx]  # (B, C, H, W) uint8
        if train and self.augments:
            pixels = self.augment(pixels, idx)
        return {"pixel_values": self.normalise(pixels)}

    def from_records(self, records: Sequence[Any]) -> Encoded:
        out = self._allocate(len(records))
        for i, rec in enumerate(records):
            if isinstance(rec, Mapping):
                key = self.config.image_column if self.config.image_column in rec else "image"
                if key not in rec:
                    raise DataError(
                        f"Input {i} has no {self.config.image_column!r} field (keys: {sorted(rec)}); "
                        'pass an image path or {"image": "path/to/file.png"}.'
                    )
                rec = rec[key]
            out[i] = self._decode(rec, where=f"input {i}")
        return Encoded(len(records), {"pixels": out})

    # -- pixels -----------------------------------------------------------------------------------
    def normalise(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (B, C, H, W) -> float32 ``(x / 255 - mean) / std`` per channel."""
        if not self.fitted:
            raise DataError("The image processor is not fitted: call fit(dataset) first.")
        std = np.asarray(self.config.std, dtype=np.float32)
        scale = (1.0 / (255.0 * std))[None, :, None, None]
        shift = (np.asarray(self.config.mean, dtype=np.float32) / std)[None, :, None, None]
        return (pixels.astype(np.float32) * scale - shift).astype(np.float32)

    def augment(self, pixels: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """Random crop after zero padding and random horizontal flip, seeded by the indices."""
        rng = np.random.default_rng([self.config.seed, *indices.tolist()])
        b, _, h, w = pixels.shape
        pad = self.config.random_crop_padding
        if pad:
            padded = np.pad(pixels, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            dy = rng.integers(0, 2 * pad + 1, size=b)
            dx = rng.integers(0, 2 * pad + 1, size=b)
            rows = dy[:, None] + np.arange(h)[None, :]  # (B, H)
            cols = dx[:, None] + np.arange(w)[None, :]  # (B, W)
            pixels = padded[
                np.arange(b)[:, None, None, None],
                np.arange(pixels.shape[1])[None, :, None, None],
                rows[:, None, :, None],
                cols[:, None, None, :],
            ]
        if self.config.horizontal_flip:
            flip = rng.random(b) < 0.5
            pixels = np.where(flip[:, None, None, None], pixels[..., ::-1], pixels)
        return np.ascontiguousarray(pixels)

    def _allocate(self, n: int) -> np.ndarray:
        c, s = self.channels, self.image_size
        need_mb = n * c * s * s / 2**20
        if need_mb > self.config.max_memory_mb:
            raise DataError(
                f"{n} images at {c}x{s}x{s} need {need_mb:,.0f} MB of RAM encoded, more than "
                f"data.processor.max_memory_mb={self.config.max_memory_mb}. Lower "
                "data.processor.image_size, cap data.max_train_samples, or raise max_memory_mb."
            )
        return np.empty((n, c, s, s), dtype=np.uint8)

    def _decode(self, item: Any, *, where: str) -> np.ndarray:
        """One image (path, bytes, ``{"bytes", "path"}`` or PIL image) -> uint8 (C, H, W)."""
        from PIL import Image, ImageOps

        source = item
        if isinstance(item, Mapping):  # a datasets Image feature read without decoding
            source = item.get("bytes") or item.get("path")
        name = f"{where} ({source})" if isinstance(source, str | os.PathLike) else where
        try:
            if isinstance(source, Image.Image):
                img = source
            elif isinstance(source, bytes | bytearray | memoryview):
                img = Image.open(io.BytesIO(bytes(source)))
            elif isinstance(source, str | os.PathLike):
                path = Path(source)
                if not path.is_file():
                    raise DataError(f"Image {name}: no such file. Check the path.")
                img = Image.open(path)
            else:
                raise DataError(
                    f"Image {where}: expected an image path, bytes or a PIL image, got "
                    f"{type(item).__name__}."
                )
            with img:
                img = ImageOps.exif_transpose(img)  # camera JPEGs: apply the orientation tag
                img = img.convert(_MODES[self.channels])
                if img.size != (self.image_size, self.image_size):
                    img = img.resize(
                        (self.image_size, self.image_size),
                        resample=getattr(Image.Resampling, self.config.resample.upper()),
                    )
                arr = np.asarray(img, dtype=np.uint8)
        except DataError:
            raise
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise DataError(
                f"Image {name} cannot be decoded ({type(exc).__name__}: {exc}). "
                "Replace or remove the file."
            ) from None
        return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)

    # -- config, tests ------------------------------------------------------------------------------
    def config_fields(self) -> dict[str, Any]:
        return {"image_size": self.image_size, "in_channels": self.channels}

    @classmethod
    def synthetic(cls, image_size: int = 16, channels: int = 3, **_: Any) -> ImageProcessor:
        """A fitted processor (mean 0.5, std 0.25 per channel) for conformance tests."""
        return cls(
            {
                "image_size": image_size,
                "channels": channels,
                "mean": [0.5] * channels,
                "std": [0.25] * channels,
            }
        )

    def synthetic_batch(self, batch: int, size: int, seed: int) -> dict[str, np.ndarray]:
        """Random uint8 images of side ``size``, normalised like real ones."""
        rng = np.random.default_rng(seed)
        pixels = rng.integers(0, 256, size=(batch, self.channels, size, size), dtype=np.uint8)
        return {"pixel_values": self.normalise(pixels)}

    # -- persistence ----------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    @classmethod
    def load(cls, directory: Path, settings: Mapping[str, Any]) -> ImageProcessor:
        try:
            config = ImageSettings.model_validate(dict(settings))
        except ValueError as exc:
            raise CheckpointError(f"{directory / 'processor.json'} is invalid: {exc}") from None
        missing = [
            k for k in ("image_size", "channels", "mean", "std") if getattr(config, k) is None
        ]
        if missing:
            raise CheckpointError(
                f"{directory / 'processor.json'} lacks {missing}: the image processor was saved "
                "before it was fitted."
            )
        return cls(config)

    def describe(self) -> str:
        s, c = self.image_size, self.channels
        aug = []
        if self.config.random_crop_padding:
            aug.append(f"crop pad {self.config.random_crop_padding}")
        if self.config.horizontal_flip:
            aug.append("h-flip")
        extra = f", augment: {' + '.join(aug)}" if aug else ""
        return f"image ({s}x{s}, {c} channel{'s' if c > 1 else ''}, normalize {self.config.normalize}{extra})"


def channel_stats(pixels: np.ndarray, chunk: int = 4096) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 (N, C, H, W) on the [0, 1] scale, in chunks (float64)."""
    c = pixels.shape[1]
    total = np.zeros(c)
    squares = np.zeros(c)
    count = 0
    for start in range(0, len(pixels), chunk):
        block = pixels[start : start + chunk].astype(np.float64) / 255.0
        total += block.sum(axis=(0, 2, 3))
        squares += np.square(block).sum(axis=(0, 2, 3))
        count += block.shape[0] * block.shape[2] * block.shape[3]
    if count == 0:
        raise DataError("Cannot fit image statistics on an empty training split.")
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    # a constant channel (blank scans) would divide by zero
    return mean.tolist(), np.maximum(std, 1e-3).tolist()


def _identity(table: Any) -> Any:
    return getattr(table, "_fingerprint", None) or id(table)


def _validate(values: dict[str, Any]) -> ImageSettings:
    from attnzoo.config import validate_config

    settings: ImageSettings = validate_config(
        ImageSettings, values, where="image processor settings (data.processor)"
    )
    return settings
