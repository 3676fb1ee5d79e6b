"""A results folder as figures and reports see it, and what ``diff`` writes for them.

``salivaprot diff`` writes, beside ``results.tsv``, ``matrix.tsv``,
``samples.tsv`` and ``run.json``, the inputs that figures need so that the
folder alone suffices to redraw them months later:

* ``matrix_before_normalization.tsv``: the filtered log2 matrix before
  normalization (and before imputation and output scaling);
* ``imputed.tsv``: 1 where a value was imputed (only when imputing);
* ``sample_flow.tsv``: ``step``, ``count``: subjects, planned visits, samples
  in the sheet, samples with data, samples analysed.

:func:`read_results_folder` reads such a folder and checks it, so that a folder
from an older or foreign run fails with a message naming what is missing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.io._files import EXACT_FLOATS, PathLike
from salivaprot.io._tables import some_lines

if TYPE_CHECKING:
    from salivaprot.data import ProteinData
    from salivaprot.io.study import Study

__all__ = [
    "BEFORE_NORMALIZATION",
    "FLOW_FILE",
    "IMPUTED_FILE",
    "QC_FILE",
    "REQUIRED_RESULT_COLUMNS",
    "REQUIRED_SAMPLE_COLUMNS",
    "ResultsFolder",
    "figure_matrices",
    "read_results_folder",
    "sample_flow",
    "write_sample_flow",
]

logger = logging.getLogger(__name__)

BEFORE_NORMALIZATION = "matrix_before_normalization.tsv"
IMPUTED_FILE = "imputed.tsv"
FLOW_FILE = "sample_flow.tsv"
QC_FILE = "qc.tsv"

#: Columns of results.tsv that figures and the report use.
REQUIRED_RESULT_COLUMNS: tuple[str, ...] = (
    "protein_id",
    "gene",
    "contrast",
    "log2fc",
    "se",
    "df",
    "pvalue",
    "padj",
)
_NUMERIC_RESULT_COLUMNS = ("log2fc", "se", "df", "pvalue", "padj")
#: Run QC columns that ``diff --qc`` joins to samples.tsv and the QC figure uses.
_SAMPLE_QC_COLUMNS = ("tic_total", "n_ms2", "qc_pass")
#: Columns of samples.tsv that figures use.
REQUIRED_SAMPLE_COLUMNS: tuple[str, ...] = ("sample_id", "subject_id", "arm", "visit")


@dataclass(frozen=True)
class ResultsFolder:
    """What a ``salivaprot diff`` results folder holds, checked.

    Attributes
    ----------
    path : pathlib.Path
    results : pandas.DataFrame
        ``results.tsv`` (the results schema).
    matrix : pandas.DataFrame
        The analysed log2 matrix, proteins x samples (columns in ``samples`` order).
    samples : pandas.DataFrame
        Indexed by ``sample_id``: ``subject_id``, ``arm``, ``visit`` (strings) and the rest.
    run : dict
        ``run.json``.
    arms, visits : list of str
        Trial order (reference arm first, baseline first), from ``run.json``.
    contrasts : list of str
        Contrasts in results order.
    before : pandas.DataFrame or None
        The log2 matrix before normalization, when the folder has it.
    imputed : pandas.DataFrame or None
        Boolean mask (proteins x samples) of imputed values, when any.
    flow : pandas.DataFrame or None
        ``step``, ``count``: the sample flow, when the folder has it.
    qc : pandas.DataFrame or None
        Run-level QC: ``qc.tsv`` (in the folder or given), else the run QC
        columns ``diff --qc`` joined to ``samples.tsv``, when present.
    notes : list of str
        What was missing and what was done about it.
    """

    path: Path
    results: pd.DataFrame
    matrix: pd.DataFrame
    samples: pd.DataFrame
    run: dict[str, Any]
    arms: list[str]
    visits: list[str]
    contrasts: list[str]
    before: pd.DataFrame | None = None
    imputed: pd.DataFrame | None = None
    flow: pd.DataFrame | None = None
    qc: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def gene_labels(self) -> dict[str, str]:
        """protein_id -> gene name (the protein ID when the gene is unknown)."""
        first = self.results.drop_duplicates("protein_id")
        return {
            str(p): (str(g) if isinstance(g, str) and g else str(p))
            for p, g in zip(first["protein_id"], first["gene"], strict=True)
        }


def _read_tsv(path: Path, what: str, **kwargs: Any) -> pd.DataFrame:
    if not path.is_file():
        raise InputFormatError(
            f"the results folder has no {path.name} ({what}); "
            "is it a folder written by 'salivaprot diff'?",
            path=path.parent,
        )
    try:
        return pd.read_csv(path, sep="\t", **EXACT_FLOATS, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputFormatError(f"cannot read {what}: {err}", path=path) from err


def _require(
    frame: pd.DataFrame, columns: tuple[str, ...], path: Path, *, command: str = "diff"
) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputFormatError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(expected {', '.join(columns)}); the file may come from an older salivaprot "
            f"or another tool: rerun 'salivaprot {command}'",
            path=path,
        )


#: Ranges of the results' numbers ``diff`` writes (missing is always allowed).
_RESULT_RANGES: dict[str, tuple[float, float, str]] = {
    "pvalue": (0.0, 1.0, "a p-value, between 0 and 1"),
    "padj": (0.0, 1.0, "an adjusted p-value, between 0 and 1"),
    "se": (0.0, np.inf, "a standard error, 0 or more"),
    "df": (0.0, np.inf, "degrees of freedom, 0 or more"),
}


def _check_results_values(results: pd.DataFrame, path: Path) -> None:
    """Refuse numbers no test gives, and a protein and contrast given twice (an edited table).

    ``line`` in the messages counts the file's lines (the header is line 1).
    """
    problems = []
    for column, (low, high, what) in _RESULT_RANGES.items():
        if column not in results.columns:
            continue
        values = results[column].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(values) & ~((values >= low) & (values <= high))
        if bad.any():
            at = np.flatnonzero(bad)
            lines = ", ".join(str(i + 2) for i in at[:5]) + (" ..." if len(at) > 5 else "")
            problems.append(
                f"column '{column}': {float(values[at[0]])!r} on line(s) {lines}; expected {what}"
            )
    repeated = results.duplicated(["protein_id", "contrast"], keep=False).to_numpy()
    if repeated.any():
        at = np.flatnonzero(repeated)
        first = results.iloc[at[0]]
        lines = some_lines([int(i) + 2 for i in at], limit=5)
        problems.append(
            f"protein '{first['protein_id']}' and contrast '{first['contrast']}' (and others) "
            f"have more than one row ({lines}); one row per protein and contrast"
        )
    if problems:
        raise InputFormatError(
            [f"{path}: {problem}; was it edited? Rerun 'salivaprot diff'" for problem in problems]
        )


def _matrix(path: Path, what: str, samples: pd.Index) -> pd.DataFrame:
    frame = _read_tsv(path, what, index_col=0)
    frame.index = frame.index.astype(str)
    frame.columns = frame.columns.astype(str)
    repeated = sorted(set(frame.index[frame.index.duplicated()]))
    if repeated:
        raise InputFormatError(
            f"protein(s) {', '.join(repeated[:5])} with more than one row; one row per protein: "
            "was it edited? Rerun 'salivaprot diff'",
            path=path,
        )
    absent = [s for s in samples if s not in frame.columns]
    if absent:
        shown = ", ".join(absent[:5]) + (" ..." if len(absent) > 5 else "")
        raise InputFormatError(
            f"{len(absent)} sample(s) of samples.tsv are not columns of {path.name}: {shown}",
            path=path,
        )
    try:
        return frame[list(samples)].astype("float64")
    except (TypeError, ValueError) as err:
        raise InputFormatError(f"{what} is not numeric: {err}", path=path) from err


#: What each part of run.json is, where present (as ``diff`` and ``preprocess`` write it).
_RUN_SHAPES: dict[tuple[str, ...], tuple[type, str]] = {
    ("argv",): (list, "a list"),
    ("command",): (str, "text"),
    ("inputs",): (dict, "an object"),
    ("model",): (dict, "an object"),
    ("model", "design"): (dict, "an object"),
    ("model", "contrasts"): (list, "a list"),
    ("model", "joint_tests"): (dict, "an object"),
    ("model", "notes"): (dict, "an object"),
    ("notes",): (list, "a list"),
    ("parameters",): (dict, "an object"),
    ("seeds",): (dict, "an object"),
    ("steps",): (list, "a list"),
    ("versions",): (dict, "an object"),
}


def _check_run_shape(run: dict[str, Any], path: Path) -> None:
    """Refuse a run.json whose parts are not what salivaprot writes (an edited file)."""
    problems = []
    for keys, (kind, said) in _RUN_SHAPES.items():
        value: Any = run
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, kind):
            problems.append(
                f"{'.'.join(keys)}: expected {said}, found {type(value).__name__} "
                f"{json.dumps(value)[:40]}"
            )
    if problems:
        raise InputFormatError(
            f"{'; '.join(problems)}: was run.json edited? Rerun the command that made the folder",
            path=path,
        )


def _order(
    run: dict[str, Any], samples: pd.DataFrame, notes: list[str], path: Path
) -> tuple[list[str], list[str]]:
    design = run.get("model", {}).get("design", {}) if isinstance(run.get("model"), dict) else {}
    arms = [str(a) for a in design.get("arms", [])]
    visits = [str(v) for v in design.get("visits", [])]
    seen_arms = list(dict.fromkeys(samples["arm"]))
    seen_visits = list(dict.fromkeys(samples["visit"]))
    if not arms or not visits:
        notes.append(
            "run.json has no model.design arms/visits: arms and visits are in the order "
            "they first appear in samples.tsv"
        )
        arms, visits = arms or seen_arms, visits or seen_visits
    unknown = [a for a in seen_arms if a not in arms] + [v for v in seen_visits if v not in visits]
    if unknown:
        raise InputFormatError(
            f"samples.tsv names arms or visits that run.json's design does not: {unknown}",
            path=path,
        )
    return arms, visits


def read_results_folder(folder: PathLike, *, qc: PathLike | None = None) -> ResultsFolder:
    """Read and check a results folder written by ``salivaprot diff``.

    Parameters
    ----------
    folder : str or path-like
        The folder ``salivaprot diff`` wrote.
    qc : str or path-like, optional
        A run-level QC table (default: ``qc.tsv`` in the folder, when present).

    Raises
    ------
    InputFormatError
        The folder lacks a file or a column that figures need, or a file is
        not what it should be; the message names it.
    """
    path = Path(folder)
    if not path.is_dir():
        raise InputFormatError("results folder not found", path=path)
    notes: list[str] = []
    results = _read_tsv(
        path / "results.tsv",
        "the results table",
        dtype={"protein_id": str, "gene": str, "contrast": str, "note": str},
        keep_default_na=False,
        na_values={c: [""] for c in ("log2fc", "se", "stat", "df", "pvalue", "padj", "avg_log2")},
    )
    _require(results, REQUIRED_RESULT_COLUMNS, path / "results.tsv")
    for column in _NUMERIC_RESULT_COLUMNS:
        if results.empty:
            results[column] = results[column].astype("float64")
        elif not pd.api.types.is_numeric_dtype(results[column]):
            raise InputFormatError("is not numeric", path=path / "results.tsv", column=column)
    _check_results_values(results, path / "results.tsv")
    samples = _read_tsv(path / "samples.tsv", "the sample table", dtype=str, keep_default_na=False)
    _require(samples, REQUIRED_SAMPLE_COLUMNS, path / "samples.tsv")
    repeated = sorted(set(samples.loc[samples["sample_id"].duplicated(), "sample_id"]))
    if repeated:
        raise InputFormatError(
            f"sample_id {', '.join(repeated[:5])} repeated: one row per sample",
            path=path / "samples.tsv",
        )
    samples = samples.set_index("sample_id")
    run_path = path / "run.json"
    if not run_path.is_file():
        raise InputFormatError("the results folder has no run.json", path=path)
    try:
        run = json.loads(run_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputFormatError(f"not valid JSON: {err}", path=run_path) from err
    if not isinstance(run, dict):
        raise InputFormatError("expected a JSON object", path=run_path)
    _check_run_shape(run, run_path)
    arms, visits = _order(run, samples, notes, path)
    matrix = _matrix(path / "matrix.tsv", "the analysed matrix", samples.index)
    before = None
    if (path / BEFORE_NORMALIZATION).is_file():
        before = _matrix(
            path / BEFORE_NORMALIZATION, "the matrix before normalization", samples.index
        )
    else:
        notes.append(f"no {BEFORE_NORMALIZATION}: figures before normalization are left empty")
    imputed = None
    if (path / IMPUTED_FILE).is_file():
        imputed = _matrix(path / IMPUTED_FILE, "the imputed mask", samples.index) > 0
    flow = None
    if (path / FLOW_FILE).is_file():
        flow = _read_tsv(path / FLOW_FILE, "the sample flow")
        _require(flow, ("step", "count"), path / FLOW_FILE)
        counts = pd.to_numeric(flow["count"], errors="coerce")
        if not (counts.notna() & (counts >= 0) & (counts % 1 == 0)).all():
            raise InputFormatError(
                "expected whole numbers of samples", path=path / FLOW_FILE, column="count"
            )
    qc_path = Path(qc) if qc is not None else path / QC_FILE
    qc_table = None
    if qc is not None and not qc_path.is_file():  # (given: not the folder's to lack)
        raise InputFormatError(
            "QC table not found (a qc.tsv from 'salivaprot qc' is expected)"
            if not qc_path.exists()
            else "the QC table is not a regular file",
            path=qc_path,
        )
    if qc is not None or qc_path.is_file():
        qc_table = _read_tsv(qc_path, "the run QC table")
        _require(qc_table, ("run", "tic_total", "n_ms2"), qc_path, command="qc")
    elif any(c in samples.columns for c in _SAMPLE_QC_COLUMNS):
        # diff --qc joined the run QC metrics to the samples: the folder holds them
        qc_table = samples[[c for c in _SAMPLE_QC_COLUMNS if c in samples.columns]].copy()
        qc_table.insert(0, "run", samples["run"] if "run" in samples.columns else samples.index)
        qc_table = qc_table.reset_index(drop=True)
    model_contrasts = (
        run.get("model", {}).get("contrasts") if isinstance(run.get("model"), dict) else None
    )
    if model_contrasts is not None and not (
        isinstance(model_contrasts, list) and all(isinstance(c, str) for c in model_contrasts)
    ):
        raise InputFormatError("model.contrasts: expected a list of contrast names", path=run_path)
    present = list(dict.fromkeys(results["contrast"]))
    contrasts = [c for c in (model_contrasts or present) if c in present] + [
        c for c in present if c not in (model_contrasts or [])
    ]
    return ResultsFolder(
        path=path,
        results=results,
        matrix=matrix,
        samples=samples,
        run=run,
        arms=arms,
        visits=visits,
        contrasts=contrasts,
        before=before,
        imputed=imputed,
        flow=flow,
        qc=qc_table,
        notes=notes,
    )


def _failed(values: pd.Series) -> pd.Series:
    """True where a ``qc_pass`` value says the run failed (missing: no QC row, not failed)."""
    text = values.astype(str).str.strip().str.lower()
    return text.isin(["false", "0", "no", "fail", "failed"])


def sample_flow(
    study: Study,
    ready: ProteinData,
    n_analysed: int | None = None,
    *,
    n_excluded: int = 0,
) -> pd.DataFrame:
    """Counts from the sample sheet to the samples analysed.

    ``subjects`` and ``planned visits`` (subjects x visits) from the sheet,
    ``samples in sheet``, ``samples with data`` (at least one value measured),
    ``runs passing QC`` (when run QC was joined: ``diff --qc``; ``n_excluded``
    failed runs were left out, the others failing are counted from ``qc_pass``)
    and ``samples analysed`` (by the model; ``n_analysed`` when given).
    """
    sheet = study.sheet.table if study.sheet is not None else ready.samples
    n_subjects = int(sheet["subject_id"].nunique()) if "subject_id" in sheet else len(sheet)
    n_visits = len(ready.visits) if ready.has_design else 1
    with_data = int(study.data.abundance.notna().any(axis=1).sum())
    rows = [
        ("subjects", n_subjects),
        ("planned visits", n_subjects * n_visits),
        ("samples in sheet", len(sheet)),
        ("samples with data", with_data),
    ]
    if "qc_pass" in ready.samples.columns:
        failed_kept = int(_failed(ready.samples["qc_pass"]).sum())
        rows.append(("runs passing QC", with_data - int(n_excluded) - failed_kept))
    analysed = int(ready.abundance.notna().any(axis=1).sum()) if n_analysed is None else n_analysed
    rows.append(("samples analysed", int(analysed)))
    return pd.DataFrame(rows, columns=["step", "count"])


def figure_matrices(ready: ProteinData, before: ProteinData) -> dict[str, pd.DataFrame]:
    """The figure inputs that do not depend on the model: file name -> table (index written).

    ``matrix_before_normalization.tsv`` (proteins x samples: ``before``, the data
    preprocessing normalized (its ``on_step("normalize", ...)``), on ``ready``'s
    cells) and, when imputing, ``imputed.tsv``.
    """
    before_matrix = before.abundance.reindex(
        index=ready.abundance.index, columns=ready.abundance.columns
    )
    tables = {BEFORE_NORMALIZATION: before_matrix.T.rename_axis(index="protein_id")}
    if ready.imputed is not None:
        tables[IMPUTED_FILE] = ready.imputed.T.astype(np.int64).rename_axis(index="protein_id")
    return tables


def write_sample_flow(
    folder: PathLike,
    study: Study,
    ready: ProteinData,
    *,
    n_analysed: int | None = None,
    n_excluded: int = 0,
) -> None:
    """Write ``sample_flow.tsv`` (see :func:`sample_flow`)."""
    from salivaprot.io.results import write_table

    flow = sample_flow(study, ready, n_analysed, n_excluded=n_excluded)
    write_table(flow, Path(folder) / FLOW_FILE, index=False)
