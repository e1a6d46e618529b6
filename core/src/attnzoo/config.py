"""Typed, closed configuration: model configs and the run config.

Every config is a pydantic model with ``extra="forbid"``: a misspelt key is an error that
names it, never a silent default.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from attnzoo.errors import ConfigError

#: the longest input (tokens) of a text model and of a run's data, unless either says otherwise
DEFAULT_MAX_LENGTH = 512


class ModelConfig(BaseModel):
    """Base class of every model config.

    Subclasses declare fields with a type, a default (the paper's base variant) and a
    ``Field(description=...)``; cross-field checks raise ``ValueError`` in a validator.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())

    def pretrained_tokenizer(self) -> str | None:
        """A local folder (or hub id) whose tokenizer this model must use; None to train one."""
        return None


class TextClassifierConfig(ModelConfig):
    """Fields shared by text and token-sequence classifiers.

    ``vocab_size``, ``num_classes`` and ``pad_token_id`` are filled in by the trainer from the
    tokenizer and the labels; the defaults only matter when a model is built by hand.
    """

    vocab_size: int = Field(
        30522, ge=1, description="Vocabulary size; set from the tokenizer by the trainer."
    )
    num_classes: int = Field(
        2, ge=1, description="Number of labels; set from the data by the trainer."
    )
    pad_token_id: int = Field(
        0, ge=0, description="Id of the padding token; set from the tokenizer by the trainer."
    )
    max_seq_len: int = Field(
        DEFAULT_MAX_LENGTH,
        ge=1,
        description="Longest input the model accepts (positions, memory planning).",
    )


class CTRConfig(ModelConfig):
    """Fields shared by CTR models, filled in by the trainer from the tabular schema.

    Batches hold ``categorical`` (B, F) int64 ids in ``categorical_sizes`` order (0 = padding,
    1 = unknown), ``numeric`` (B, N) float32 in ``numeric_fields`` order, and ``sequences``
    (B, S, L) int64 with ``sequence_mask`` (B, S, L) in ``sequence_fields`` order; a sequence
    field's ids index the vocabulary of the categorical field it shares (or, mapped to
    itself, its own vocabulary of ``sequence_sizes[name]`` ids).
    """

    categorical_sizes: dict[str, int] = Field(
        default_factory=lambda: {"user_id": 10, "item_id": 20},
        description="Vocabulary size of each categorical field, in batch order; set from the schema.",
    )
    numeric_fields: list[str] = Field(
        default_factory=list, description="Numeric fields, in batch order; set from the schema."
    )
    sequence_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Behaviour sequences and the categorical field whose vocabulary each shares; set from the schema.",
    )
    sequence_sizes: dict[str, int] = Field(
        default_factory=dict,
        description="Vocabulary size of each sequence field with its own vocabulary (one mapped to "
        "itself in sequence_fields); set from the schema.",
    )
    max_history: int = Field(
        50, ge=1, description="Length L of every behaviour sequence; set from the schema."
    )


class ImageClassifierConfig(ModelConfig):
    """Fields shared by image classifiers; batches hold ``pixel_values`` (B, C, H, W) float32."""

    num_classes: int = Field(
        2, ge=1, description="Number of labels; set from the data by the trainer."
    )
    image_size: int = Field(
        32, ge=4, description="Height and width of the input images; set from the processor."
    )
    in_channels: int = Field(3, ge=1, description="Colour channels; set from the processor.")


def validate_config(cls: type[BaseModel], data: dict[str, Any], *, where: str) -> Any:
    """Build ``cls(**data)``, turning pydantic's ValidationError into a ConfigError that names keys."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=where, cls=cls)) from None


def format_validation_error(exc: ValidationError, *, where: str, cls: type[BaseModel]) -> str:
    lines = [f"Invalid {where}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        if err["type"] == "extra_forbidden":
            from attnzoo.suggest import did_you_mean

            fields = sorted(section_fields(cls, [str(p) for p in err["loc"][:-1]]))
            hint = did_you_mean(str(err["loc"][-1]), fields, n=2)
            lines.append(f"  - unknown key {loc!r}.{hint} Valid keys: {', '.join(fields)}")
        else:
            lines.append(f"  - {loc}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def section_fields(cls: type[BaseModel], path: list[str]) -> dict[str, Any]:
    """The fields of the nested config section at ``path`` (``["train", "loss"]``), so an
    unknown key is matched against its own section's keys, not the top level's."""
    for part in path:
        field_info = cls.model_fields.get(part)
        sub = getattr(field_info, "annotation", None) if field_info is not None else None
        if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
            return {}
        cls = sub
    return dict(cls.model_fields)


# ---------------------------------------------------------------------------------------
# Run config: what `attnzoo train` runs and what run.yaml records
# ---------------------------------------------------------------------------------------


_FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class TokenizerConfig(_Closed):
    kind: Literal["auto", "wordpiece", "bpe", "word", "pretrained"] = Field(
        "auto",
        description="'auto': the model's pretrained tokenizer if it has one, else WordPiece trained on the "
        "training split; 'word' is a whitespace vocabulary (for token streams like ListOps).",
    )
    vocab_size: int = Field(
        16000, ge=8, description="Vocabulary size of a tokenizer trained on the training split."
    )
    min_frequency: int = Field(
        2, ge=1, description="Minimum count for a token to enter a trained vocabulary."
    )
    lowercase: bool = Field(True, description="Lower-case text before a trained tokenizer sees it.")
    path: str | None = Field(
        None,
        description="Folder (or tokenizer.json) of a pretrained tokenizer, for kind 'pretrained'.",
    )


class DataConfig(_Closed):
    text_column: str = Field("text", description="Column holding the input text.")
    label_column: str = Field("label", description="Column holding the label (name or integer).")
    max_length: int | None = Field(
        None,
        ge=1,
        description="Truncate inputs to this many tokens; default: the model's max_seq_len.",
    )
    val_fraction: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="Share of the data for validation when no validation split is given.",
    )
    test_fraction: float = Field(
        0.1, gt=0, lt=1, description="Share of the data for test when no test split is given."
    )
    split_seed: int = Field(
        42, description="Seed of the split (recorded so the split is reproducible)."
    )
    split: Literal["auto", "stratified", "random", "temporal", "group_temporal"] = Field(
        "auto",
        description="How missing validation/test splits are made from train: 'auto' is "
        "stratified for classification and, for ctr, per-group temporal with a group and a "
        "time column, temporal with a time column only, else random; 'temporal' orders by "
        "data.time_column (the latest rows are test); 'group_temporal' takes each group's last "
        "events as test and the ones before as validation.",
    )
    group_column: str | None = Field(
        None,
        description="Column grouping rows (the user, for CTR): per-group splits and grouped "
        "metrics (gauc). Default: the dataset's.",
    )
    time_column: str | None = Field(
        None, description="Column temporal splits order by. Default: the dataset's."
    )
    max_train_samples: int | None = Field(
        None, ge=1, description="Cap the training split (quick runs)."
    )
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    processor: dict[str, Any] = Field(
        default_factory=dict,
        description="Settings of the input kind's processor (tabular fields, image size, ...); "
        "see `attnzoo info` of the model. Text uses the fields above.",
    )


class LossConfig(_Closed):
    name: str = Field(
        "cross_entropy",
        description="Loss from the loss registry: cross_entropy, focal, label_smoothing, bce, combined.",
    )
    label_smoothing: float = Field(
        0.1, ge=0, lt=1, description="For 'label_smoothing' (and the LS term of 'combined')."
    )
    focal_gamma: float = Field(2.0, ge=0, description="Focusing parameter of 'focal'.")
    focal_alpha: float = Field(1.0, gt=0, description="Scale of 'focal'.")
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="For 'combined': weight per loss name, e.g. {cross_entropy: 0.4, focal: 0.4, label_smoothing: 0.2}.",
    )


class TrainConfig(_Closed):
    epochs: int = Field(3, ge=1, description="Training epochs.")
    max_steps: int | None = Field(
        None,
        ge=1,
        description="Stop after this many optimizer steps (overrides epochs when reached).",
    )
    batch_size: int = Field(16, ge=1, description="Training batch size per device.")
    eval_batch_size: int | None = Field(
        None, ge=1, description="Evaluation batch size (default: 2 x batch_size)."
    )
    lr: float = Field(5e-4, gt=0, description="Peak learning rate.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    decay_norm_and_bias: bool = Field(
        False, description="Apply weight decay to biases, norms and embeddings too."
    )
    lr_multipliers: dict[str, float] = Field(
        default_factory=dict,
        description="Learning-rate multipliers by parameter name (fnmatch patterns, first match "
        "wins, unmatched parameters x1), e.g. {'encoder.*': 1.0, '*': 100.0} trains everything "
        "outside the encoder at 100 x lr. The schedule scales every group alike. Torch engine.",
    )
    betas: tuple[float, float] = Field((0.9, 0.999), description="AdamW betas.")
    scheduler: Literal["cosine", "linear", "constant", "plateau"] = Field(
        "cosine", description="Learning-rate schedule."
    )
    warmup_ratio: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="Share of the steps spent warming up (cosine, linear, constant).",
    )
    plateau_factor: float = Field(
        0.5, gt=0, lt=1, description="LR factor of the plateau scheduler."
    )
    plateau_patience: int = Field(
        1, ge=0, description="Epochs without improvement before the plateau scheduler cuts the LR."
    )
    grad_clip: float | None = Field(
        1.0, gt=0, description="Clip the global gradient norm to this value (None: off)."
    )
    grad_accum: int = Field(1, ge=1, description="Gradient accumulation steps.")
    mixed_precision: Literal["no", "fp16", "bf16"] = Field(
        "no", description="Mixed precision (CUDA only; ignored on CPU with a warning)."
    )
    loss: LossConfig = Field(default_factory=LossConfig)
    monitor: str = Field(
        "accuracy",
        description="Validation metric for early stopping and best-checkpoint selection (or 'loss').",
    )
    early_stopping_patience: int | None = Field(
        3, ge=1, description="Stop after this many epochs without improvement (None: never)."
    )
    metrics: list[str] = Field(
        default_factory=lambda: ["accuracy", "macro_f1"],
        description="Metrics reported on validation and test.",
    )
    seed: int = Field(0, description="Seed of weights, shuffling, dropout and noise.")
    deterministic: bool = Field(
        True, description="Deterministic algorithms (bit-identical resume on CPU)."
    )
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes.")
    save_every_steps: int | None = Field(
        None,
        ge=1,
        description="Also save resume state every N optimizer steps (default: each epoch).",
    )
    progress: bool = Field(True, description="Show a progress bar.")
    compile: bool = Field(False, description="torch.compile the model.")

    @model_validator(mode="after")
    def _check_lr_multipliers(self) -> TrainConfig:
        bad = {k: v for k, v in self.lr_multipliers.items() if not v > 0}
        if bad:
            raise ValueError(
                f"train.lr_multipliers must be positive; got {bad}. Freeze parameters with the "
                "model's own switch (e.g. freeze_backbone) instead of a zero learning rate."
            )
        return self


class RunConfig(_Closed):
    """The fully resolved description of a training run (written as run.yaml)."""

    name: str | None = Field(None, description="Run name: the folder under out_dir.")
    model: str = Field(
        ..., description="Registered model name, optionally with a preset: 'diffusion.agnews'."
    )
    model_args: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the model config."
    )
    dataset: str = Field(
        ..., description="Registered dataset name, a local CSV/JSONL/Parquet file, or 'hf:<name>'."
    )
    dataset_args: dict[str, Any] = Field(
        default_factory=dict, description="Arguments of the dataset recipe."
    )
    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    out_dir: str = Field("runs", description="Parent folder of run folders.")

    @model_validator(mode="after")
    def _default_name(self) -> RunConfig:
        if not self.name:
            # "hf:org/ag_news" -> "ag_news"; "data/reviews.csv" -> "reviews"
            source = self.dataset.removeprefix("hf:").rstrip("/")
            stem = (
                PurePath(source).stem
                if PurePath(source).suffix in _FILE_SUFFIXES
                else PurePath(source).name
            )
            self.name = f"{self.model}-{stem}-s{self.train.seed}"
        return self
