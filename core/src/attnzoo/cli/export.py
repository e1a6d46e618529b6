"""``attnzoo export RUN_DIR --format onnx|litert [--quantize int8]``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from attnzoo.cli.main import echo_json


@click.command(name="export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx", "litert"]),
    default="onnx",
    show_default=True,
    help="onnx for torch models (ONNX Runtime), litert for Keras models (TFLite flatbuffer).",
)
@click.option("--quantize", type=click.Choice(["int8"]), help="Post-training int8 quantisation.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Export folder (default: RUN_DIR/exports/<format>-<fp32|int8>).",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    help="Allowed difference: max |delta probability| for fp32 (default 1e-4), accuracy drop "
    "for int8 (default 0.01, one point).",
)
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the verification report as JSON.")
def export(
    run_dir: Path,
    fmt: str,
    quantize: str | None,
    out: Path | None,
    tolerance: float | None,
    batch_size: int,
    as_json: bool,
) -> None:
    """Export a trained run and verify it on the run's test split (exit 1 if it differs).

    `attnzoo predict EXPORT_DIR TEXT...` then runs it with ONNX Runtime or LiteRT alone.
    """
    from rich.console import Console

    from attnzoo.export.build import VerificationFailed, export_run

    console = Console(stderr=True)
    with console.status("exporting", spinner="dots") as status:

        def step(msg: str) -> None:
            status.update(msg)
            console.log(msg)

        try:
            result = export_run(
                run_dir,
                fmt,
                quantize=quantize,
                out=out,
                tolerance=tolerance,
                batch_size=batch_size,
                step=step,
            )
        except VerificationFailed as exc:
            status.stop()
            click.echo(f"Verification failed: {exc}", err=True)  # unwrapped: paths stay whole
            sys.exit(1)
    if as_json:
        return echo_json({"export_dir": str(result.directory), **result.report})
    _print_report(result)


def _print_report(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    r, m = result.report, result.manifest
    table = Table(
        title=f"{m['model']} -> {m['export_format']} ({m.get('quantization') or 'fp32'})",
        title_justify="left",
    )
    table.add_column("check")
    table.add_column("value", justify="right")
    table.add_row("test examples", str(r["num_examples"]))
    table.add_row("max |delta probability|", f"{r['max_abs_diff_probability']:.3g}")
    table.add_row("label agreement", f"{r['label_agreement']:.4f}")
    for k, v in r["metrics_delta"].items():
        table.add_row(
            f"{k} original / export",
            f"{r['metrics_original'][k]:.4f} / {r['metrics_export'][k]:.4f} ({v:+.4f})",
        )
    table.add_row("verdict", f"passed: {r['check']}")
    Console().print(table)
    size = (result.directory / m["model_file"]).stat().st_size
    Console().print(f"export folder: {result.directory} · {m['model_file']} {size / 1e6:.2f} MB")


COMMANDS = [export]
