"""The bare-venv check of ``nox -s export-bare``: predict from an ONNX export without torch.

python export_bare.py make OUT      # full env: train diffusion.tiny, export, save the run's predictions
python export_bare.py compare OUT   # bare venv (attnzoo-core[onnx] only): `attnzoo predict` the export
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TEXTS = [
    "the match ended in a late goal",
    "shares fell as markets opened",
    "a new phone chip was shown",
    "the striker signed a new contract with the club",
]


def make(out: Path) -> None:
    import attnzoo
    from attnzoo.export import export_run
    from attnzoo.testing.data import make_text_dataset

    data = make_text_dataset(out / "data", n=90)
    result = attnzoo.train(
        {
            "model": "diffusion.tiny",
            "dataset": str(data),
            "out_dir": str(out / "runs"),
            "name": "diffusion",
            "data": {"tokenizer": {"vocab_size": 200, "min_frequency": 1}},
            "train": {"epochs": 1, "progress": False, "batch_size": 16},
        },
        overwrite=True,
    )
    exp = export_run(result["run_dir"], "onnx", out=out / "export")
    (out / "torch_predictions.json").write_text(
        json.dumps(attnzoo.predict(result["run_dir"], TEXTS))
    )
    print(f"exported to {exp.directory}: {exp.report['reason']}")


def compare(out: Path) -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        sys.exit("torch is importable in the bare venv: the check would prove nothing")
    attnzoo_cli = Path(sys.executable).parent / "attnzoo"
    proc = subprocess.run(
        [str(attnzoo_cli), "predict", str(out / "export"), *TEXTS],
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        sys.exit(f"attnzoo predict failed:\n{proc.stderr}")
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    ref = json.loads((out / "torch_predictions.json").read_text())
    worst = 0.0
    for a, b in zip(ref, rows, strict=True):
        if a["label"] != b["label"]:
            sys.exit(f"label differs for {a['text']!r}: torch {a['label']}, onnx {b['label']}")
        worst = max(worst, *(abs(a["probs"][k] - b["probs"][k]) for k in a["probs"]))
    if worst > 1e-4:
        sys.exit(f"probabilities differ by {worst:.3g} (> 1e-4)")
    print(
        f"bare venv, no torch: {len(rows)} predictions match the torch run (max |delta p| {worst:.2g})"
    )


if __name__ == "__main__":
    {"make": make, "compare": compare}[sys.argv[1]](Path(sys.argv[2]))
