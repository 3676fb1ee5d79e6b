"""``salivaprot figures`` and ``salivaprot report``: drawn from a results folder alone."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from salivaprot.cli._options import _force_option, _one_reading_each, _out_folder_option, _shown
from salivaprot.cli.commands import main

logger = logging.getLogger("salivaprot")

_FORMATS = ("pdf", "svg", "png")


def _formats(_ctx: click.Context, _param: click.Parameter, value: str) -> list[str]:
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in _FORMATS]
    if not items or unknown:
        raise click.BadParameter(
            f"give a comma-separated subset of {','.join(_FORMATS)}"
            + (f"; unknown: {','.join(unknown)}" if unknown else "")
        )
    return list(dict.fromkeys(items))


def draw_figures_into(
    results_dir: Path,
    folder: Path,
    *,
    spec: Path | None = None,
    formats: list[str] | None = None,
    qc: Path | None = None,
) -> dict[str, bytes]:
    """Draw a results folder's figures into ``folder`` (the caller stages it).

    Returns
    -------
    dict
        Figure name -> its SVG bytes (for a report), in drawing order.
    """
    from salivaprot import _runtime
    from salivaprot.figures import check_specs, draw, read_spec, standard_specs
    from salivaprot.io.results_folder import read_results_folder

    _runtime.imports_done()
    from salivaprot.plot import to_bytes

    formats = formats or list(_FORMATS)
    results = read_results_folder(results_dir, qc=qc)
    for note in results.notes:
        logger.warning("%s: %s", results_dir, note)
    specs = read_spec(spec) if spec is not None else standard_specs(results)
    check_specs(results, specs, path=spec)  # every problem, before any figure is drawn
    folder.mkdir(parents=True, exist_ok=True)
    svgs: dict[str, bytes] = {}
    for item in specs:
        fig = draw(results, item)
        for fmt in formats:
            content = to_bytes(fig, fmt)
            (folder / f"{item.name}.{fmt}").write_bytes(content)
            if fmt == "svg":
                svgs[item.name] = content
        if "svg" not in formats:
            svgs[item.name] = to_bytes(fig, "svg")
        logger.info("figure %s (%s)", item.name, item.kind)
    return svgs


@main.command("figures")
@click.argument("results_dir", type=click.Path(file_okay=False, path_type=Path))
@_out_folder_option("Folder for the figure files")
@click.option(
    "--spec",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML list of figures (name, kind, contrast, proteins, size); default: the standard set.",
)
@click.option(
    "--format",
    "formats",
    default="pdf,svg,png",
    show_default=True,
    callback=_formats,
    metavar="pdf,svg,png",
    help="File formats: vector PDF and SVG, 300 dpi PNG.",
)
@click.option(
    "--qc",
    "qc_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run QC table from 'salivaprot qc' (default: RESULTS_DIR/qc.tsv when present).",
)
@_force_option
def figures_command(
    results_dir: Path,
    out: str,
    spec: Path | None,
    formats: list[str],
    qc_file: Path | None,
    force: bool,
) -> None:
    """Draw the figures of a 'salivaprot diff' RESULTS_DIR into OUT (byte-identical on rerun).

    OUT must be new or empty (or use --force); it is written as a whole.
    """
    from salivaprot.io._outputs import output_folder

    inputs = [("results folder", results_dir), ("figures spec", spec), ("QC table", qc_file)]
    _one_reading_each(inputs)
    with output_folder(out, inputs=inputs, force=force) as stage:
        names = draw_figures_into(results_dir, stage, spec=spec, formats=formats, qc=qc_file)
    click.echo(f"{len(names)} figures ({', '.join(formats)}) -> {_shown(out)}")


def write_report(
    results_dir: Path, out: Path, *, qc: Path | None = None, figures: dict[str, bytes] | None = None
) -> Path:
    """Write the self-contained HTML report of a results folder (atomically)."""
    from salivaprot import _runtime
    from salivaprot.figures import draw, standard_specs
    from salivaprot.io._files import atomic_write
    from salivaprot.io.results_folder import read_results_folder
    from salivaprot.plot import to_bytes
    from salivaprot.report import build_report

    _runtime.imports_done()
    folder = read_results_folder(results_dir, qc=qc)
    if figures is None:
        figures = {
            spec.name: to_bytes(draw(folder, spec), "svg") for spec in standard_specs(folder)
        }
    html = build_report(folder, figures)
    with atomic_write(out) as handle:
        handle.write(html)
    return out


@main.command("report")
@click.argument("results_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write (self-contained: figures embedded, no network).",
)
@click.option(
    "--qc",
    "qc_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run QC table from 'salivaprot qc' (default: RESULTS_DIR/qc.tsv when present).",
)
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def report_command(results_dir: Path, out: Path, qc_file: Path | None, force: bool) -> None:
    """Write one self-contained HTML report of a 'salivaprot diff' RESULTS_DIR."""
    from salivaprot.io._outputs import check_output_file

    if out.exists() and out.is_dir():  # (`--out ''` reaches here as '.': a usage error)
        raise click.BadParameter("is a folder; give an .html file", param_hint="--out")
    inputs = [("results folder", results_dir), ("run QC table", qc_file)]
    _one_reading_each(inputs)
    check_output_file(out, inputs=inputs, force=force)
    write_report(results_dir, out, qc=qc_file)
    click.echo(f"report -> {out}")
