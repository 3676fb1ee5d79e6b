"""``salivaprot qc``: run-level QC of mzML files -> qc.tsv and qc.mzQC."""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path
from typing import Any

import click

from salivaprot.cli._options import (
    EXIT_PROBLEMS,
    _force_option,
    _one_reading_each,
    _out_folder_option,
    _Progress,
    _report_problems,
)
from salivaprot.cli.commands import main

logger = logging.getLogger("salivaprot")

_Outcome = tuple[str, Any, str | None, list[str]]


def _qc_one(path: str) -> _Outcome:
    """Read one file: (path, RunQC or None, error message or None, warnings)."""
    from salivaprot.errors import SalivaprotError
    from salivaprot.io.mzml import read_mzml_qc

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            qc = read_mzml_qc(path)
        except SalivaprotError as err:
            return path, None, "; ".join(err.problems), [str(w.message) for w in caught]
        except Exception as err:  # one broken file must not stop the others
            return path, None, f"{type(err).__name__}: {err}", [str(w.message) for w in caught]
    return path, qc, None, [str(w.message) for w in caught]


def _read_all(paths: list[str], jobs: int, progress: _Progress) -> list[_Outcome]:
    results: dict[str, _Outcome] = {}
    try:
        if jobs <= 1 or len(paths) == 1:
            for done, path in enumerate(paths, start=1):
                results[path] = _qc_one(path)
                progress(done, len(paths))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(jobs, len(paths)), mp_context=context) as pool:
                futures = [pool.submit(_qc_one, path) for path in paths]
                for done, future in enumerate(as_completed(futures), start=1):
                    result = future.result()
                    results[result[0]] = result
                    progress(done, len(paths))
    finally:
        progress.close()
    return [results[path] for path in paths]


def _threshold_options(func: Any) -> Any:
    """The QC flag options shared by ``qc`` and ``qc-merge``."""
    options = [
        click.option("--samples", "-s", type=click.Path(dir_okay=False, path_type=Path),
                     help="Sample sheet: runs are matched to its 'run' column (else 'sample_id') "
                     "by file stem; outliers are judged among the sheet's runs."),
        click.option("--outlier-z", type=click.FloatRange(min=0, min_open=True), default=3.5,
                     show_default=True,
                     help="Robust z (median/MAD) beyond which a run is an outlier."),
        click.option("--min-runs", type=click.IntRange(min=3), default=5, show_default=True,
                     help="Fewest readable runs for the outlier tests."),
        click.option("--min-ms1", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Fail runs with fewer MS1 spectra."),
        click.option("--min-ms2", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Fail runs with fewer MS2 spectra."),
        click.option("--min-tic", type=click.FloatRange(min=0), default=0.0, show_default=True,
                     help="Fail runs whose summed MS1 TIC is lower."),
        _force_option,
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@main.command("qc")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@_out_folder_option("Folder to write qc.tsv, qc.mzQC and run.json into")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Files read in parallel (processes).")  # fmt: skip
@_threshold_options
@click.pass_context
def qc_command(ctx: click.Context, runs: tuple[Path, ...], out: str, jobs: int,
               **options: Any) -> None:  # fmt: skip
    """Run-level QC of LC-MS runs from their mzML (or .mzML.gz) files.

    Writes OUT/qc.tsv (one row per run: spectra counts, retention-time range,
    TIC, base peak, injection times, precursor charges, peaks per spectrum,
    instrument, SHA-256, qc_pass and the reasons) and OUT/qc.mzQC (HUPO-PSI
    mzQC 1.0). A file that cannot be read gets an error row; the others are
    still read, and the command then exits 1. OUT must be new or empty (or use
    --force).
    """
    import pandas as pd

    from salivaprot import __version__, _runtime
    from salivaprot.io._files import file_stem, shown_name
    from salivaprot.io._outputs import output_folder
    from salivaprot.io.mzml import QC_COLUMNS
    from salivaprot.io.mzqc import mzqc_document

    _runtime.imports_done()
    names = [str(p) for p in runs]
    stems = [file_stem(name) for name in names]
    repeated = sorted({s for s in stems if stems.count(s) > 1})
    if repeated:
        raise click.UsageError(f"several files have the same run name (file stem): {repeated}")
    inputs = [("mzML file", p) for p in runs] + [("sample sheet", options["samples"])]
    _one_reading_each(inputs)
    with output_folder(out, inputs=inputs, force=options["force"]) as stage:
        sheet = _sheet(options["samples"])
        progress = _Progress("reading mzML", not ctx.obj.get("quiet"))
        results = _read_all(names, jobs, progress)
        rows: list[dict[str, Any]] = []
        read_ok = []
        problems = []
        for (path, qc, error, messages), stem in zip(results, stems, strict=True):
            for message in messages:
                logger.warning(message)
            if qc is None:
                row: dict[str, Any] = {column: math.nan for column in QC_COLUMNS}
                row.update(run=stem, file=path, sha256=None, error=error)
                problems.append(error or f"{path}: unreadable")
            else:
                row = qc.row() | {"error": None}
                read_ok.append(qc)
            for key in ("run", "file"):  # a file name that is not UTF-8: shown escaped
                if isinstance(row.get(key), str):
                    row[key] = shown_name(row[key])
            rows.append(row)
        table = pd.DataFrame(rows, columns=[*QC_COLUMNS, "error"])
        document = mzqc_document(read_ok, version=__version__) if read_ok else None
        flagged = _flag_and_write(stage, table, document, sheet, options, {"jobs": jobs})
    _summary(flagged, len(read_ok), len(names), out, problems, ctx)


@main.command("qc-merge")
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path))
@_out_folder_option("Folder to write the study's qc.tsv, qc.mzQC and run.json into")
@_threshold_options
@click.pass_context
def qc_merge_command(ctx: click.Context, parts: tuple[Path, ...], out: str,
                     **options: Any) -> None:  # fmt: skip
    """Merge QC of runs read separately (PARTS: qc.tsv files or folders of `salivaprot qc`).

    For a workflow that reads each mzML in its own job: the rows and mzQC run
    qualities of every part are put together and the runs are flagged again
    among the whole study, exactly as one `salivaprot qc` over all files would.
    """
    import pandas as pd

    from salivaprot import _runtime
    from salivaprot.errors import InputFormatError, InputFormatWarning
    from salivaprot.io._outputs import output_folder
    from salivaprot.io.mzml import read_qc_table

    _runtime.imports_done()

    tables = [p / "qc.tsv" if p.is_dir() else p for p in parts]
    inputs = [("QC table", p) for p in tables] + [("sample sheet", options["samples"])]
    _one_reading_each(inputs)
    with output_folder(out, inputs=inputs, force=options["force"]) as stage:
        sheet = _sheet(options["samples"])
        frames, qualities, document = [], [], None
        without: list[Path] = []
        for path in tables:
            frame = read_qc_table(path)
            frames.append(
                frame.drop(columns=["sample_id", "qc_pass", "qc_reasons"], errors="ignore")
            )
            mzqc = path.with_name("qc.mzQC")
            if not mzqc.is_file():
                if _readable(frame).any():  # (a part of unreadable runs only has none)
                    without.append(path)
                continue
            part, runs = _part_mzqc(mzqc, frame, path)
            qualities.extend(runs)
            document = document or part
        table = pd.concat(frames, ignore_index=True)
        repeated = sorted(set(table.loc[table["run"].duplicated(), "run"]))
        if repeated:
            raise InputFormatError(f"runs given in more than one part: {repeated}")
        if "error" not in table.columns:
            table["error"] = None
        merged = None
        if document is not None and without:
            warnings.warn(
                f"no qc.mzQC written: {len(without)} part(s) have none beside them "
                f"({', '.join(map(str, without[:3]))}); qc.tsv holds every run",
                InputFormatWarning,
                stacklevel=2,
            )
        elif document is not None:
            merged = {"mzQC": {**document, "runQualities": qualities}}
        flagged = _flag_and_write(
            stage, table, merged, sheet, options, {"parts": [str(p) for p in tables]}
        )
    errors = table["error"].dropna().astype(str).tolist()
    _summary(flagged, len(table) - len(errors), len(table), out, errors, ctx)


def _part_mzqc(mzqc: Path, frame: Any, table: Path) -> tuple[dict[str, Any], list[Any]]:
    """The mzQC beside a part's qc.tsv and its run qualities, which must be that part's runs."""
    import json

    from salivaprot.errors import InputFormatError

    try:
        document = json.loads(mzqc.read_text(encoding="utf-8"))["mzQC"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise InputFormatError(f"not an mzQC document: {err}", path=mzqc) from err
    runs = document.get("runQualities") if isinstance(document, dict) else None
    names: list[str] = []
    for run in runs if isinstance(runs, list) else [None]:
        try:
            names.append(str(run["metadata"]["inputFiles"][0]["name"]))  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            raise InputFormatError(
                "not an mzQC document: expected 'runQualities', a list of run qualities each "
                "naming its file in metadata.inputFiles",
                path=mzqc,
            ) from None
    expected = sorted(Path(str(p)).name for p in frame.loc[_readable(frame), "file"])
    if sorted(names) != expected:
        raise InputFormatError(
            f"describes the runs {sorted(names)[:4]}, but the qc.tsv beside it ({table}) holds "
            f"{expected[:4]}: give each part's folder (its qc.tsv and qc.mzQC together)",
            path=mzqc,
        )
    return document, list(runs)  # type: ignore[arg-type]


def _readable(frame: Any) -> Any:
    """The rows of a part's qc.tsv whose run was read (no ``error``)."""
    return frame["error"].isna() if "error" in frame.columns else frame["file"].notna()


def _sheet(samples: Path | None) -> Any:
    if samples is None:
        return None
    from salivaprot.io.sheets import read_samples

    return read_samples(samples)


def _flag_and_write(
    stage: Path,
    table: Any,
    document: dict[str, Any] | None,
    sheet: Any,
    options: dict[str, Any],
    extra: dict[str, Any],
) -> Any:
    """Join runs to the sheet, flag them among the study, write qc.tsv, qc.mzQC and run.json."""
    import json

    from salivaprot.io._files import atomic_write, file_stem
    from salivaprot.io.results import run_record, write_json, write_table
    from salivaprot.qc import flag_runs

    in_study = None
    notes: list[str] = []
    if sheet is not None:
        keys = sheet.run_keys
        by_stem = {file_stem(str(key)): str(sample) for sample, key in keys.items()}
        table.insert(1, "sample_id", [by_stem.get(run) for run in table["run"]])
        in_study = table["sample_id"].notna()
        unlisted = table.loc[~in_study, "run"].tolist()
        missing = sorted(set(by_stem) - set(table["run"]))
        if unlisted:
            notes.append(f"{len(unlisted)} run(s) not in the sample sheet: {unlisted}")
        if missing:
            samples_missing = [by_stem[m] for m in missing]
            notes.append(f"{len(missing)} sample(s) without an mzML file: {samples_missing}")
        for note in notes:
            logger.warning(note)
    thresholds = {k: options[k] for k in ("outlier_z", "min_runs", "min_ms1", "min_ms2", "min_tic")}
    flagged = flag_runs(table, in_study=in_study, **thresholds)
    ordered = [c for c in flagged.columns if c != "error"] + ["error"]
    write_table(flagged[ordered], stage / "qc.tsv", index=False)
    if document is not None:
        with atomic_write(stage / "qc.mzQC") as handle:
            json.dump(document, handle, indent=2, allow_nan=False)
            handle.write("\n")
    record = run_record(
        command="qc",
        parameters=extra | thresholds,
        inputs={"samples": options["samples"]},  # the runs' SHA-256 are in qc.tsv
    )
    record["notes"] = notes
    write_json(record, stage / "run.json")
    return flagged


def _summary(
    flagged: Any, n_read: int, n_total: int, out: str, problems: list[str], ctx: click.Context
) -> None:
    failed = int((~flagged["qc_pass"]).sum())
    click.echo(f"qc: {n_read} of {n_total} runs read, {failed} failed QC -> {out}/qc.tsv")
    for run_name, reasons in zip(
        flagged.loc[~flagged["qc_pass"], "run"],
        flagged.loc[~flagged["qc_pass"], "qc_reasons"],
        strict=True,
    ):
        click.echo(f"  {run_name}: {reasons}")
    if problems:
        _report_problems(problems)
        ctx.exit(EXIT_PROBLEMS)
