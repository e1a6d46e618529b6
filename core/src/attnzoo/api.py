"""The Python API: create, save, load, train, evaluate and predict, whatever the framework."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.config import (
    DEFAULT_MAX_LENGTH,
    DataConfig,
    RunConfig,
    TokenizerConfig,
    TrainConfig,
    validate_config,
)
from attnzoo.errors import ConfigError, DataError
from attnzoo.registry import get_model_spec, get_trainer_spec, split_preset
from attnzoo.specs import ModelSpec

logger = logging.getLogger(__name__)


def get_backend(framework: str) -> Any:
    return get_trainer_spec(framework).load_factory()()


# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------


def build_config(
    name: str, config: Any = None, *, spec: ModelSpec | None = None, **overrides: Any
) -> Any:
    """The validated config of ``name`` (``model.preset``): preset < ``config`` < ``overrides``."""
    spec = spec or get_model_spec(name)
    _, preset = split_preset(name)
    values: dict[str, Any] = dict(spec.preset(preset).model) if preset else {}
    if config is not None:
        values.update(
            config.model_dump(exclude_unset=True) if hasattr(config, "model_dump") else dict(config)
        )
    values.update(overrides)
    return validate_config(spec.load_config_class(), values, where=f"config of model {name!r}")


def create_model(name: str, config: Any = None, **overrides: Any) -> Any:
    """Build a registered model (randomly initialised): ``create_model("diffusion.tiny", num_classes=4)``."""
    from attnzoo.artifact import ModelArtifact, attach

    spec = get_model_spec(name)
    cfg = build_config(name, config, spec=spec, **overrides)
    model = get_backend(spec.framework).build_model(spec, cfg)
    return attach(model, ModelArtifact(spec, name, cfg))


def save_model(
    model: Any,
    directory: str | Path,
    *,
    processor: Any = None,
    tokenizer: Any = None,
    label_names: Sequence[str] | None = None,
) -> Path:
    """Save a model built by :func:`create_model` (or loaded) as a portable model folder.

    ``processor`` (or, for a text model, just its ``tokenizer``) is saved with it, so that
    :func:`predict` can encode raw inputs.
    """
    from attnzoo.artifact import artifact_of
    from attnzoo.checkpoint import write_model_dir

    artifact = artifact_of(model)
    if processor is None and tokenizer is not None:
        from attnzoo.data.processors.text import TextProcessor

        max_length = int(getattr(artifact.config, "max_seq_len", DEFAULT_MAX_LENGTH))
        processor = TextProcessor(tokenizer, max_length=max_length)
    if processor is not None:
        artifact = artifact.with_(processor=processor)
    if label_names:
        artifact = artifact.with_(extra={"labels": list(label_names)})
    return write_model_dir(directory, artifact, model, get_backend(artifact.spec.framework))


def load_model(directory: str | Path) -> Any:
    """Load a model folder or run folder. Returns a :class:`attnzoo.checkpoint.LoadedModel`."""
    from attnzoo.artifact import attach
    from attnzoo.checkpoint import load_model_dir

    loaded = load_model_dir(directory)
    attach(loaded.model, loaded.artifact)
    return loaded


def load_dataset(name: str, *, input_kind: str = "text", **args: Any) -> Any:
    """A registered dataset recipe, a local CSV/JSONL/Parquet file or folder, or ``hf:<name>``.

    Files and folders are read as ``input_kind`` (``"tabular"`` for a click table, ``"image"``
    for a class-per-subfolder image folder); a recipe knows its own kind.
    """
    from attnzoo.data import resolve_dataset

    return resolve_dataset(name, args, input_kind=input_kind)


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------


def coerce_run_config(run_config: RunConfig | Mapping[str, Any] | str | Path) -> RunConfig:
    if isinstance(run_config, RunConfig):
        return run_config
    if isinstance(run_config, str | Path):
        from attnzoo.runs import load_run_config

        return load_run_config(run_config)
    cfg: RunConfig = validate_config(RunConfig, dict(run_config), where="run config")
    return cfg


def resolve_run_config(
    cfg: RunConfig, ds: Any = None, *, spec: ModelSpec | None = None
) -> RunConfig:
    """Fill in everything a run depends on: training recipe, model args, tokenizer, max length.

    Precedence, lowest first: core defaults < the model's ``train_defaults`` < its preset's
    recipe < what the user set. The result is written to run.yaml and reproduces the run.
    """
    return _resolve(cfg, ds, spec or get_model_spec(cfg.model))[0]


def _resolve(cfg: RunConfig, ds: Any, spec: ModelSpec) -> tuple[RunConfig, Any]:
    """:func:`resolve_run_config` and the model config it validated on the way."""
    _, preset = split_preset(cfg.model)
    p = spec.preset(preset) if preset else None
    train = _resolve_train(cfg, spec, ds, p.train if p else {})
    model_args = {**(p.model if p else {}), **cfg.model_args}
    model_cfg = build_config(cfg.model, spec=spec, **model_args)  # validates the keys early
    data = cfg.data.model_copy(deep=True)
    if data.max_length is None:
        hint = getattr(ds, "max_length_hint", None)
        data.max_length = int(hint or getattr(model_cfg, "max_seq_len", None) or DEFAULT_MAX_LENGTH)
    data.tokenizer = _resolve_tokenizer(cfg, ds, model_cfg)
    resolved = cfg.model_copy(update={"train": train, "model_args": model_args, "data": data})
    return resolved, model_cfg


def _resolve_train(
    cfg: RunConfig, spec: ModelSpec, ds: Any, preset_train: Mapping[str, Any]
) -> TrainConfig:
    values = {
        **task_train_defaults(spec.task, ds),
        **spec.train_defaults,
        **preset_train,
        **cfg.train.model_dump(exclude_unset=True),
    }
    train: TrainConfig = validate_config(
        TrainConfig, values, where=f"train config (model {cfg.model!r})"
    )
    if train.monitor not in [*train.metrics, "loss", "ce"]:
        raise ConfigError(
            f"train.monitor={train.monitor!r} is not among train.metrics {train.metrics} "
            "(or 'loss', the configured loss, or 'ce', cross-entropy)."
        )
    return train


def _resolve_tokenizer(cfg: RunConfig, ds: Any, model_cfg: Any) -> TokenizerConfig:
    """The dataset's tokenizer hint < the user's; ``auto`` is the model's own or a trained one."""
    tok_hint = dict(getattr(ds, "tokenizer_hint", None) or {})
    tok_values = {**tok_hint, **cfg.data.tokenizer.model_dump(exclude_unset=True)}
    tok: TokenizerConfig = validate_config(TokenizerConfig, tok_values, where="data.tokenizer")
    if tok.kind != "auto":
        return tok
    pretrained = model_cfg.pretrained_tokenizer()
    update = {"kind": "pretrained", "path": pretrained} if pretrained else {"kind": "wordpiece"}
    return tok.model_copy(update=update)


#: what each task selects on, reports and trains with unless the model or the user says otherwise
TASK_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "ctr": {"loss": {"name": "bce"}, "monitor": "auc", "metrics": ["auc", "logloss"]},
}
#: metrics a task adds when the dataset has a group column (the user, for CTR)
TASK_GROUPED_METRICS: dict[str, list[str]] = {"ctr": ["gauc"]}


def task_train_defaults(task: str, ds: Any = None) -> dict[str, Any]:
    """:data:`TASK_TRAIN_DEFAULTS` of ``task``, with its grouped metrics when ``ds`` has groups."""
    defaults = dict(TASK_TRAIN_DEFAULTS.get(task, {}))
    grouped = TASK_GROUPED_METRICS.get(task, [])
    if grouped and getattr(ds, "group_column", None) and "metrics" in defaults:
        defaults["metrics"] = [*defaults["metrics"], *grouped]
    return defaults


def _subsample(ds: Any, n: int, seed: int) -> None:
    train = ds.splits["train"]
    if len(train) > n:
        idx = np.sort(np.random.default_rng(seed).choice(len(train), size=n, replace=False))
        ds.splits["train"] = train.select(idx)


def prepare_dataset(
    cfg: RunConfig, *, training: bool = False, spec: ModelSpec | None = None
) -> Any:
    """The run's dataset with all three splits; a file is read as the model's input kind.

    ``training`` also refuses a training split a model cannot learn from (a single class).
    """
    from attnzoo.data import resolve_dataset

    ds = resolve_dataset(
        cfg.dataset,
        cfg.dataset_args,
        text_column=cfg.data.text_column,
        label_column=cfg.data.label_column,
        input_kind=(spec or get_model_spec(cfg.model)).input_kind,
    )
    if cfg.data.group_column:
        ds.group_column = cfg.data.group_column
    if cfg.data.time_column:
        ds.time_column = cfg.data.time_column
    ds.ensure_splits(
        cfg.data.val_fraction, cfg.data.test_fraction, cfg.data.split_seed, method=cfg.data.split
    )
    if cfg.data.max_train_samples:
        _subsample(ds, cfg.data.max_train_samples, cfg.data.split_seed)
    ds.check_labels(training=training)
    return ds


def check_input_kind(spec: Any, ds: Any, dataset: str) -> None:
    """A model reads one input kind; refuse a dataset of another with a sentence that says so."""
    if ds.input_kind != spec.input_kind:
        raise ConfigError(
            f"Model {spec.name!r} reads {spec.input_kind!r} inputs but dataset {dataset!r} is "
            f"{ds.input_kind!r} data. Pick a {spec.input_kind} dataset (`attnzoo datasets`) "
            f"or a {ds.input_kind} model (`attnzoo models`)."
        )


def fit_processor(cfg: RunConfig, spec: Any, ds: Any, run: Any, model_cfg: Any = None) -> Any:
    """The run's processor: the one an interrupted run fitted (resume), else fitted on train.

    ``model_cfg`` is the run's validated model config (built from ``cfg`` when not given).
    """
    from attnzoo.data.processors import load_processor, processor_class
    from attnzoo.data.processors.text import TextProcessor
    from attnzoo.data.tokenizer import load_tokenizer

    if run.resumed:
        saved = load_processor(run.dir)
        if saved is not None:
            return saved
    if model_cfg is None:
        model_cfg = build_config(cfg.model, spec=spec, **cfg.model_args)
    processor = processor_class(spec.input_kind).from_run(cfg.data, ds, model_cfg)
    legacy = run.dir / "tokenizer.json"  # a run folder written before processor.json existed
    if run.resumed and isinstance(processor, TextProcessor) and legacy.exists():
        processor.tokenizer = load_tokenizer(legacy)
    processor.fit(ds)
    processor.save(run.dir)
    return processor


def model_config_for(cfg: RunConfig, spec: Any, data: Any) -> Any:
    """The model config with the fields the processor and the labels determine filled in."""
    assert cfg.data.max_length is not None  # set by resolve_run_config
    cls = spec.load_config_class()
    derived = {**data.processor.config_fields(), "num_classes": data.num_classes}
    derived.pop("max_seq_len", None)
    model_args = {k: v for k, v in derived.items() if k in cls.model_fields}
    if "max_seq_len" in cls.model_fields and spec.input_kind == "text":
        explicit = cfg.model_args.get("max_seq_len")
        if explicit is not None and explicit < cfg.data.max_length:
            raise ConfigError(
                f"data.max_length={cfg.data.max_length} exceeds the model's max_seq_len={explicit}; lower one or raise the other."
            )
        model_args["max_seq_len"] = explicit or cfg.data.max_length
    return build_config(cfg.model, spec=spec, **{**cfg.model_args, **model_args})


@dataclass
class TrainSetup:
    """What the steps of :func:`train` hand on: the resolved run, its data and its model."""

    cfg: RunConfig
    spec: ModelSpec
    ds: Any  # the dataset, all three splits
    #: the model config as the user set it, validated once (the data's fields come in build_step)
    user_model_config: Any
    run: Any = None  # the run folder (:class:`attnzoo.runs.Run`)
    data: Any = None  # the encoded splits (:class:`attnzoo.data.PreparedData`)
    backend: Any = None
    model: Any = None


def train(
    run_config: RunConfig | Mapping[str, Any] | str | Path,
    *,
    overwrite: bool = False,
    resume: bool = False,
) -> dict[str, Any]:
    """Train, select on validation, evaluate test once; return the summary written to final.json.

    The steps: :func:`resolve_step` (config and dataset) -> :func:`prepare_step` (run folder,
    processor, encoded data) -> :func:`build_step` (the model and its artifact) ->
    :func:`fit_step` (the engine's loop, inside the lifecycle hooks) -> :func:`report`.
    """
    setup = resolve_step(coerce_run_config(run_config))
    setup.run = open_run(setup.cfg, overwrite=overwrite, resume=resume)
    try:
        prepare_step(setup)
        build_step(setup)
    except BaseException:
        setup.run.close()
        raise
    return fit_step(setup)


def resolve_step(requested: RunConfig) -> TrainSetup:
    """Look the model up once, load and split the dataset, and resolve the run's config."""
    spec = get_model_spec(requested.model)
    ds = prepare_dataset(requested, training=True, spec=spec)
    check_input_kind(spec, ds, requested.dataset)
    cfg, model_cfg = _resolve(requested, ds, spec)
    return TrainSetup(cfg, spec, ds, model_cfg)


def open_run(cfg: RunConfig, *, overwrite: bool = False, resume: bool = False) -> Any:
    """The run folder: created (or reopened) and locked by rank 0; the other ranks of a
    multi-process run follow it read-only once rank 0 has it (see :mod:`attnzoo.distributed`)."""
    import json

    from attnzoo import distributed
    from attnzoo.errors import RunFolderError
    from attnzoo.runs import Run

    if distributed.world_size() == 1:
        return Run.create(cfg, overwrite=overwrite, resume=resume)
    run, failure = None, None
    if distributed.is_main():
        try:
            run = Run.create(cfg, overwrite=overwrite, resume=resume)
        except Exception as exc:  # told to the other ranks before it is raised here
            failure = exc
    told: dict[str, Any] = {"error": f"{type(failure).__name__}: {failure}" if failure else None}
    if run is not None:
        told |= {"dir": str(run.dir), "resumed": run.resumed}
    shared = json.loads(distributed.share_from_main(json.dumps(told)))
    if failure is not None:
        raise failure
    if run is not None:
        return run
    if shared["error"]:
        raise RunFolderError(f"Rank 0 could not open the run folder: {shared['error']}")
    return Run.follow(shared["dir"], resumed=shared["resumed"])


def prepare_step(setup: TrainSetup) -> None:
    """Fit (or, resuming, reload) the processor on train and encode the three splits.

    In a multi-process run rank 0 fits and saves it; the other ranks load what it saved."""
    from attnzoo import distributed
    from attnzoo.data import prepare_data
    from attnzoo.data.processors import load_processor

    setup.cfg = setup.run.config  # a resumed run's folder is authoritative
    processor = None
    if setup.run.writes:
        processor = fit_processor(
            setup.cfg, setup.spec, setup.ds, setup.run, setup.user_model_config
        )
    distributed.barrier()
    if processor is None:
        processor = load_processor(setup.run.dir)
        if processor is None:
            raise RuntimeError(f"rank 0 saved no processor in {setup.run.dir}")
    setup.data = prepare_data(setup.ds, processor)


def build_step(setup: TrainSetup) -> None:
    """Build the seeded model and attach the artifact its model folder is written from."""
    from attnzoo.artifact import attach

    cfg, spec = setup.cfg, setup.spec
    model_cfg = model_config_for(cfg, spec, setup.data)
    setup.backend = get_backend(spec.framework)
    if hasattr(setup.backend, "seed"):
        setup.backend.seed(cfg.train.seed)
    setup.model = attach(setup.backend.build_model(spec, model_cfg), run_artifact(setup, model_cfg))


def run_artifact(setup: TrainSetup, model_cfg: Any) -> Any:
    """The artifact of a run's model: labels, dataset and, for text, the input length."""
    from attnzoo.artifact import ModelArtifact

    extra: dict[str, Any] = {"labels": setup.data.label_names, "dataset": setup.cfg.dataset}
    if setup.spec.input_kind == "text":
        extra |= {"max_length": setup.cfg.data.max_length, "pretokenized": setup.ds.pretokenized}
    return ModelArtifact(setup.spec, setup.cfg.model, model_cfg, setup.data.processor, extra)


def fit_step(setup: TrainSetup) -> dict[str, Any]:
    """Run the engine's loop and :func:`report`, inside ``on_run_start`` / ``on_run_end``."""
    from attnzoo.plugins import call_lifecycle

    run = setup.run
    t0 = time.perf_counter()
    call_lifecycle("on_run_start", run=run)
    try:
        fit = setup.backend.fit(run, setup.model, setup.data)
        result = report(setup, fit, time.perf_counter() - t0)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        error = f"{type(exc).__name__}: {exc}"
        call_lifecycle("on_run_end", run=run, result={"status": status, "error": error})
        run.close()
        raise
    call_lifecycle("on_run_end", run=run, result=result)
    run.close()
    return result


def report(setup: TrainSetup, fit: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Evaluate test once with the best weights, write final.json and the task's plots."""
    from attnzoo.metrics import compute_metrics
    from attnzoo.plots import plot_curves, plot_task_reports

    cfg, data, run = setup.cfg, setup.data, setup.run
    eval_bs = cfg.train.eval_batch_size or 2 * cfg.train.batch_size
    probs = setup.backend.predict_proba(setup.model, data.batches("test", eval_bs))
    labels = data.labels["test"]
    test = compute_metrics(
        cfg.train.metrics, labels, probs, groups=data.groups("test"), loss_config=cfg.train.loss
    )
    rows = run.read_metrics()
    result = {
        "status": "completed",
        "run_dir": str(run.dir),
        "model": cfg.model,
        "dataset": cfg.dataset,
        "seed": cfg.train.seed,
        "best_epoch": fit["best_epoch"],
        "stop_reason": fit["stop_reason"],
        "val": _best_validation(rows, fit["best_epoch"]),
        "test": test,
        "num_parameters": setup.backend.num_parameters(setup.model),
        "train_seconds": seconds,
        "samples_per_s": _mean_of(rows, "samples_per_s"),
        "tokens_per_s": _mean_of(rows, "tokens_per_s"),
        "num_examples": {s: data.num_examples(s) for s in data.encoded},
        "split": setup.ds.split_info,
    }
    if run.writes:  # rank 0 of a multi-process run
        run.write_final(result)
        title = f"{cfg.model} on {cfg.dataset}"
        plot_curves(rows, run.dir / "curves.png", title=title, loss_name=cfg.train.loss.name)
        plot_task_reports(setup.spec.task, labels, probs, data.label_names, run.dir)
    return result


def _best_validation(rows: list[dict[str, Any]], best_epoch: int) -> dict[str, Any]:
    best_row: dict[str, Any] = next((r for r in rows if r["epoch"] == best_epoch), {})
    return {k.removeprefix("val_"): v for k, v in best_row.items() if k.startswith("val_")}


def _mean_of(rows: list[dict[str, Any]], key: str) -> float | None:
    return float(np.mean([r[key] for r in rows])) if rows else None


# ---------------------------------------------------------------------------------------
# Evaluation and prediction
# ---------------------------------------------------------------------------------------


def _as_loaded(model_or_dir: Any) -> Any:
    from attnzoo.checkpoint import LoadedModel
    from attnzoo.export.manifest import is_export_dir

    if isinstance(model_or_dir, str | Path) and is_export_dir(model_or_dir):
        from attnzoo.export.runtime import load_export  # ONNX Runtime / LiteRT, no torch

        return load_export(model_or_dir)
    return model_or_dir if isinstance(model_or_dir, LoadedModel) else load_model(model_or_dir)


def _processor_of(loaded: Any) -> Any:
    if loaded.processor is None:
        raise DataError(
            f"Model folder of {loaded.name!r} has no processor.json or tokenizer.json, so raw inputs "
            "cannot be encoded. Save it with attnzoo.save_model(model, dir, processor=...)."
        )
    return loaded.processor


def _model_label_ids(ds: Any, model_names: list[str]) -> np.ndarray | None:
    """Map the dataset's class ids onto the model's (a dataset may use a subset of its labels)."""
    if not model_names or list(ds.label_names) == model_names:
        return None
    unknown = [n for n in ds.label_names if n not in model_names]
    if unknown:
        raise DataError(
            f"Dataset labels {unknown} are not among the model's labels {model_names}: "
            "the model cannot predict them."
        )
    return np.asarray([model_names.index(n) for n in ds.label_names], dtype=np.int64)


def evaluate(
    model_or_dir: Any,
    dataset: str | None = None,
    split: str = "test",
    *,
    batch_size: int = 32,
    **dataset_args: Any,
) -> dict[str, Any]:
    """Metrics of a saved model on a dataset split (default: the run's own dataset and split)."""
    from attnzoo.data.prepare import encoded_batches
    from attnzoo.metrics import compute_metrics

    loaded = _as_loaded(model_or_dir)
    run_cfg = _run_config_of(model_or_dir)
    cfg = _evaluation_config(loaded.name, run_cfg, dataset, dataset_args)
    spec = get_model_spec(loaded.name)
    ds = prepare_dataset(cfg, spec=spec)
    check_input_kind(spec, ds, cfg.dataset)
    if split not in ds.splits:
        raise DataError(
            f"Dataset {cfg.dataset!r} has no split {split!r} (splits: {sorted(ds.splits)})."
        )
    processor = _processor_of(loaded)
    enc = processor.encode(
        ds.splits[split], label_column=ds.label_column, group_column=ds.group_column
    )
    assert enc.labels is not None
    lookup = _model_label_ids(ds, loaded.label_names)
    labels = enc.labels if lookup is None else lookup[enc.labels]
    probs = loaded.backend.predict_proba(loaded.model, encoded_batches(processor, enc, batch_size))
    metric_names = (
        run_cfg.train.metrics
        if run_cfg
        else task_train_defaults(spec.task, ds).get("metrics", ["accuracy", "macro_f1"])
    )
    loss_config = run_cfg.train.loss if run_cfg else None
    return {
        "dataset": cfg.dataset,
        "split": split,
        "num_examples": len(labels),
        **compute_metrics(metric_names, labels, probs, groups=enc.groups, loss_config=loss_config),
    }


def _run_config_of(model_or_dir: Any) -> RunConfig | None:
    """The run.yaml beside a run folder's model, or None for a model folder or a model."""
    from attnzoo.runs import load_run_config

    if isinstance(model_or_dir, str | Path) and (Path(model_or_dir) / "run.yaml").exists():
        return load_run_config(model_or_dir)
    return None


def _evaluation_config(
    model: str, run_cfg: RunConfig | None, dataset: str | None, dataset_args: dict[str, Any]
) -> RunConfig:
    """The run's own data settings for its own dataset; defaults (or the run's) for another."""
    if dataset is None and run_cfg is None:
        raise ConfigError(
            "evaluate() needs a dataset when given a model folder rather than a run folder."
        )
    if run_cfg is not None and (dataset is None or dataset == run_cfg.dataset):
        if not dataset_args:
            return run_cfg
        return run_cfg.model_copy(update={"dataset_args": {**run_cfg.dataset_args, **dataset_args}})
    base = run_cfg or RunConfig(model=model, dataset=str(dataset))
    data = base.data if run_cfg else DataConfig()
    update = {"dataset": str(dataset), "dataset_args": dataset_args, "data": data}
    return base.model_copy(update=update)


def predict(
    model_or_dir: Any,
    inputs: Any,
    *,
    batch_size: int = 32,
    top_k: int | None = None,
) -> list[dict[str, Any]]:
    """Predicted label and class probabilities for each input, in input order.

    ``inputs`` is what the model reads: texts for a text model, row dicts for a CTR model
    (unseen values map to "unknown"), image paths for an image model; one input or a list.
    """
    from attnzoo.data.prepare import encoded_batches

    loaded = _as_loaded(model_or_dir)
    records = [inputs] if isinstance(inputs, str | Mapping) else list(inputs)
    if not records:
        return []
    processor = _processor_of(loaded)
    enc = processor.from_records(records)
    probs = loaded.backend.predict_proba(loaded.model, encoded_batches(processor, enc, batch_size))
    names = loaded.label_names or [str(i) for i in range(probs.shape[1])]
    key = "text" if processor.kind == "text" else "input"
    ctr = loaded.meta.get("task") == "ctr"
    out = []
    for record, p in zip(records, probs, strict=True):
        order = np.argsort(-p)[: top_k or len(p)]
        row = {
            key: record,
            "label": names[int(order[0])],
            "probs": {names[int(i)]: float(p[i]) for i in order},
        }
        if ctr:  # the click probability, which is what a CTR user reads
            row["probability"] = float(p[-1])
        out.append(row)
    return out
