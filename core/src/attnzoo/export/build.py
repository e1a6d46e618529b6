"""``export_run``: a trained run -> a verified export folder.

The folder holds the model file (``model.onnx`` or ``model.tflite``), the processor files
(``processor.json`` + ``tokenizer.json`` or ``schema.json``), the model folder's ``attnzoo.json``
and ``config.json``, ``verification.json`` and the manifest ``export.json``. It is written
atomically (a temporary folder swapped in place), by default inside the run folder under
``exports/<format>-<fp32|int8>``, so a run never writes outside its own folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attnzoo.errors import ConfigError
from attnzoo.export.manifest import MODEL_FILES, write_manifest
from attnzoo.export.onnx import ExportError
from attnzoo.suggest import did_you_mean

FORMATS = {"onnx": "torch", "litert": "tensorflow"}
QUANTIZATIONS = ("int8",)
VERIFICATION_FILE = "verification.json"


class VerificationFailed(ExportError):
    """The export differs from the original beyond the tolerance (the folder keeps the report)."""


@dataclass
class ExportResult:
    directory: Path
    manifest: dict[str, Any]
    report: dict[str, Any]


def default_out(run_dir: Path, fmt: str, quantize: str | None) -> Path:
    return run_dir / "exports" / f"{fmt}-{quantize or 'fp32'}"


def _check_choice(value: str | None, choices: Any, what: str) -> None:
    if value is not None and value not in choices:
        raise ConfigError(
            f"Unknown {what} {value!r}; choose from {sorted(choices)}.{did_you_mean(value, choices)}"
        )


def _sample_batch(loaded: Any) -> dict[str, Any]:
    """Two synthetic examples of the processor's kind, the exporter's example input.

    Text gets two lengths (its sequence axis is free); a tabular batch's histories always have
    the processor's ``max_history`` events (the only axis the graph fixes besides the fields),
    so the sample has exactly that many: a loop over the history (a selective scan) is
    unrolled to the length every real batch has.
    """
    size = (
        8 if loaded.processor.kind == "text" else int(getattr(loaded.processor, "max_history", 8))
    )
    batch = loaded.processor.synthetic_batch(2, size, seed=0)
    vocab = int(getattr(loaded.config, "vocab_size", 0) or 0)
    if "input_ids" in batch and vocab:
        batch["input_ids"] = batch["input_ids"] % vocab
    return {k: v for k, v in batch.items() if k != "labels"}


def export_run(
    run_dir: str | Path,
    fmt: str = "onnx",
    *,
    quantize: str | None = None,
    out: str | Path | None = None,
    tolerance: float | None = None,
    batch_size: int = 32,
    step: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export a trained run, verify it on the run's test split, write the folder.

    Raises :class:`VerificationFailed` (after writing the folder with its report) when the
    export differs from the original beyond ``tolerance``.
    """
    import attnzoo
    from attnzoo.checkpoint import find_model_dir
    from attnzoo.export.verify import default_tolerance
    from attnzoo.io import atomic_dir

    _check_choice(fmt, FORMATS, "export format")
    _check_choice(quantize, QUANTIZATIONS, "quantisation")
    note = step or (lambda _msg: None)
    run_dir = Path(run_dir)
    if not (run_dir / "run.yaml").exists():
        raise ConfigError(
            f"{run_dir} is not a run folder (no run.yaml): export verifies on the run's test "
            "split, so it needs the run folder that `attnzoo train` wrote."
        )
    note("loading the run's model")
    loaded = attnzoo.load_model(run_dir)
    _check_framework(loaded, fmt)
    model_dir = find_model_dir(run_dir)
    target = Path(out) if out is not None else default_out(run_dir, fmt, quantize)
    if target.resolve() == run_dir.resolve() or target.resolve() == model_dir.resolve():
        raise ConfigError(f"--out {target} would replace the run or model folder; pick another.")
    job = _Job(loaded, run_dir, model_dir, fmt, quantize, batch_size, note)
    job.tolerance = default_tolerance(quantize) if tolerance is None else float(tolerance)
    directory = atomic_dir(target, job.write)
    report = job.report
    if not report.get("passed"):
        raise VerificationFailed(
            f"The {fmt}{'-' + quantize if quantize else ''} export of {loaded.name!r} failed "
            f"verification on {report.get('num_examples', 0)} test examples: {report.get('reason')}. "
            f"The report is in {directory / VERIFICATION_FILE}; the folder is kept but "
            "`attnzoo predict` refuses it. Raise --tolerance to accept the difference."
        )
    return ExportResult(directory, job.manifest, report)


def _check_framework(loaded: Any, fmt: str) -> None:
    framework = loaded.meta.get("framework")
    if framework != FORMATS[fmt]:
        other = [f for f, fw in FORMATS.items() if fw == framework]
        raise ExportError(
            f"{loaded.name!r} is a {framework} model; --format {fmt} exports {FORMATS[fmt]} models."
            + (f" Use --format {other[0]}." if other else "")
        )


@dataclass
class _Job:
    """One export: writes the model file, the processor, the manifest and the verification."""

    loaded: Any
    run_dir: Path
    model_dir: Path
    fmt: str
    quantize: str | None
    batch_size: int
    note: Callable[[str], None]
    tolerance: float = 0.0
    report: dict[str, Any] = field(default_factory=dict)
    manifest: Any = None

    def write(self, tmp: Path) -> None:
        info = self._model_file(tmp)
        for name in ("attnzoo.json", "config.json"):
            shutil.copyfile(self.model_dir / name, tmp / name)
        self.loaded.processor.save(tmp)
        fields = {
            "export_format": self.fmt,
            "model_file": MODEL_FILES[self.fmt],
            "model": self.loaded.name,
            "framework": self.loaded.meta.get("framework"),
            "source_run": str(self.run_dir.resolve()),
            "task": self.loaded.meta.get("task"),
            "input_kind": self.loaded.meta.get("input_kind"),
            "labels": self.loaded.label_names,
            **info,
        }
        self._verify(tmp, fields)

    def _model_file(self, tmp: Path) -> dict[str, Any]:
        model_file = tmp / MODEL_FILES[self.fmt]
        sample = _sample_batch(self.loaded)
        self.note(f"exporting to {self.fmt}")
        if self.fmt != "onnx":
            from attnzoo.export.litert import export_litert

            return export_litert(self.loaded, model_file, sample, quantize=self.quantize)
        from attnzoo.export.onnx import export_onnx, quantize_onnx_int8

        fp32 = tmp / "fp32.onnx.tmp"
        info = export_onnx(self.loaded, fp32, sample)
        info["quantization"] = None
        if self.quantize == "int8":
            self.note("quantising to int8")
            info.update(quantize_onnx_int8(fp32, model_file))
            fp32.unlink()
        else:
            fp32.rename(model_file)
        return info

    def _verify(self, tmp: Path, fields: dict[str, Any]) -> None:
        from attnzoo.export.verify import verify_export
        from attnzoo.io import atomic_write_json

        write_manifest(tmp, {**fields, "verification": None})
        self.note("verifying on the run's test split")
        self.report = verify_export(
            self.loaded,
            tmp,
            self.run_dir,
            quantization=self.quantize,
            tolerance=self.tolerance,
            batch_size=self.batch_size,
        )
        atomic_write_json(tmp / VERIFICATION_FILE, self.report)
        summary = {k: self.report.get(k) for k in ("passed", "check", "reason", "num_examples")}
        self.manifest = write_manifest(tmp, {**fields, "verification": summary})
