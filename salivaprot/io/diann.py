"""DIA-NN protein groups: ``report.pg_matrix.tsv``, long ``report.tsv``, ``report.parquet``."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.io._files import PathLike, input_path
from salivaprot.io._pipeline import Extra, Format, Sample, read_format
from salivaprot.io._tables import (
    ARROW_BLOCK_BYTES,
    MAX_LISTED,
    MISSING_TOKENS,
    SEPARATOR_NAMES,
    Unusual,
    all_finite,
    arrow_batches,
    column_table,
    listing,
    numbers,
    peek,
    read_table,
    run_keys,
    text_column,
    zeros_as_missing,
)
from salivaprot.io.quant import QuantTable, annotate_proteins

__all__ = ["EXPECTED", "looks_like_diann", "read_diann", "refuse_other_tables"]

#: What DIA-NN protein output looks like, for messages.
EXPECTED = (
    "DIA-NN report.pg_matrix.tsv ('Protein.Group' and one column per run) or main report "
    "(report.tsv or report.parquet: 'Protein.Group', 'File.Name' or 'Run', 'PG.MaxLFQ' or "
    "'PG.Quantity', filtered on 'Q.Value', 'PG.Q.Value', 'Lib.PG.Q.Value')"
)
#: Columns of a pg_matrix that describe the protein group (all others are runs).
_ANNOTATION = frozenset(
    {
        "Protein.Group",
        "Protein.Ids",
        "Protein.Names",
        "Genes",
        "First.Protein.Description",
        "N.Sequences",
        "N.Proteotypic.Sequences",
    }
)
_RUNS = ("File.Name", "Run")
_QUANTITIES = ("PG.MaxLFQ", "PG.Quantity")
_THRESHOLDS = ("Q.Value", "PG.Q.Value", "Lib.PG.Q.Value")
_TEXT = ("Protein.Ids", "Protein.Names", "Genes", "First.Protein.Description")
_REPORT_COLUMNS = ("Protein.Group", *_RUNS, *_QUANTITIES, *_THRESHOLDS, *_TEXT, "Decoy")
_RELATIVE_TOLERANCE = 1e-6


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _resolve(columns: Sequence[str], wanted: Sequence[str]) -> dict[str, str]:
    """Standard name -> the file's column, exact or without dots (``LibPGQValue``)."""
    by_compact = {_compact(c): c for c in columns}
    present = set(columns)
    found: dict[str, str] = {}
    for name in wanted:
        if name in present:
            found[name] = name
        elif _compact(name) in by_compact:
            found[name] = by_compact[_compact(name)]
    return found


def _is_report(columns: Sequence[str]) -> bool:
    found = _resolve(columns, ("Protein.Group", *_RUNS, *_QUANTITIES))
    return (
        "Protein.Group" in found
        and any(r in found for r in _RUNS)
        and any(q in found for q in _QUANTITIES)
    )


def _is_pg_matrix(columns: Sequence[str]) -> bool:
    present = set(columns)
    return (
        "Protein.Group" in present
        and not present & {*_RUNS, "Precursor.Id", "Stripped.Sequence"}
        and any(c not in _ANNOTATION for c in columns)
    )


def looks_like_diann(columns: Sequence[str]) -> bool:
    """Whether a header is DIA-NN protein-group output (a pg_matrix or a main report)."""
    return _is_report(columns) or _is_pg_matrix(columns)


def refuse_other_tables(columns: Sequence[str], path: PathLike) -> None:
    """Refuse DIA-NN's precursor matrix with a message saying what it is.

    Raises
    ------
    InputFormatError
        For a ``report.pr_matrix.tsv`` (one row per precursor).
    """
    present = set(columns)
    if "Precursor.Id" in present and not present & set(_RUNS):
        raise InputFormatError(
            "this is a DIA-NN precursor matrix (report.pr_matrix.tsv: one row per precursor), "
            f"not protein groups; use report.pg_matrix.tsv or the main report ({EXPECTED})",
            path=path,
        )


def read_diann(
    path: PathLike,
    *,
    q_value: float | None = 0.01,
    pg_q_value: float | None = 0.01,
    lib_pg_q_value: float | None = 0.01,
    zero_as_missing: bool = True,
) -> QuantTable:
    """Read DIA-NN protein groups from a pg_matrix, a main report or a report.parquet.

    ``report.pg_matrix.tsv`` is read as DIA-NN wrote it (already filtered):
    one column per run, whose header is the raw file's full path. The main
    report (``report.tsv`` of DIA-NN 1.x, ``report.parquet`` of 2.x, where
    ``File.Name`` became ``Run``) has one row per precursor and run: rows
    passing the q-value thresholds give one protein-group quantity per group
    and run, ``PG.MaxLFQ`` (``PG.Quantity`` when the report has no MaxLFQ),
    checked to agree across the group's rows. Runs are identified by
    ``File.Name`` when present, else by ``Run``; a sample sheet's ``run`` may
    give the full path, the file stem or DIA-NN's ``Run``. Decoy rows
    (``Decoy`` = 1) are left out. The notes say what was filtered.

    Parameters
    ----------
    path : str or path-like
        The file, recognized by content (a ``.tsv`` that is comma-separated,
        a byte-order mark, CRLF line endings and gzip are fine).
    q_value, pg_q_value, lib_pg_q_value : float or None
        Keep main-report rows with ``Q.Value``, ``PG.Q.Value`` and
        ``Lib.PG.Q.Value`` at or below these; ``None`` skips a filter. A column
        the report lacks is skipped and the notes say so. Not used for a
        pg_matrix.
    zero_as_missing : bool
        Read zero quantities as missing.

    Returns
    -------
    QuantTable

    Raises
    ------
    ValueError
        For a threshold outside [0, 1].
    InputFormatError
        For a precursor matrix, a file without the columns needed, empty or
        repeated protein groups in a matrix, non-numeric quantities or
        q-values (with line and column), or protein-group quantities that
        differ between rows of the same group and run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "report.tsv").write_text(
    ...     "File.Name\\tProtein.Group\\tGenes\\tPG.MaxLFQ\\t"
    ...     "Q.Value\\tPG.Q.Value\\tLib.PG.Q.Value\\n"
    ...     "C:\\\\raw\\\\S01_baseline.raw\\tP04745\\tAMY1A\\t3.2e9\\t0.001\\t0.002\\t0.001\\n"
    ...     "C:\\\\raw\\\\S01_baseline.raw\\tP04745\\tAMY1A\\t3.2e9\\t0.004\\t0.002\\t0.001\\n"
    ...     "C:\\\\raw\\\\S01_month4.raw\\tP04745\\tAMY1A\\t2.9e9\\t0.002\\t0.002\\t0.001\\n"
    ...     "C:\\\\raw\\\\S01_month4.raw\\tP61626\\tLYZ\\t4.1e6\\t0.03\\t0.004\\t0.002\\n")
    >>> quant = read_diann(folder / "report.tsv")
    >>> quant.abundance
                C:\\raw\\S01_baseline.raw  C:\\raw\\S01_month4.raw
    protein_id
    P04745                  3.200000e+09           2.900000e+09
    >>> quant.columns["name"].tolist()
    ['S01_baseline', 'S01_month4']
    >>> print(quant.notes[0])
    kept 3 of 4 precursor rows at Q.Value <= 0.01, PG.Q.Value <= 0.01,
    Lib.PG.Q.Value <= 0.01 (removed, in that order, by Q.Value: 1)
    """
    for name, limit in zip(_THRESHOLDS, (q_value, pg_q_value, lib_pg_q_value), strict=True):
        if limit is not None and not 0 <= limit <= 1:
            raise ValueError(f"the {name} threshold must be between 0 and 1 (or None), not {limit}")
    header = peek(path, what="DIA-NN file")
    refuse_other_tables(header.columns, path)
    if header.parquet:
        if not _is_report(header.columns):
            raise InputFormatError(
                f"a Parquet file without DIA-NN report columns; expected {EXPECTED}. "
                f"Columns found: {listing(header.columns)}",
                path=path,
            )
        return _read_parquet_report(
            path, header.columns, (q_value, pg_q_value, lib_pg_q_value), zero_as_missing
        )
    if _is_report(header.columns):
        wanted = {_compact(c) for c in _REPORT_COLUMNS}
        found = _resolve(header.columns, _REPORT_COLUMNS)
        read = _streamed(found)
        numeric = {found[n] for n in read if n in _NUMERIC}
        text = {found[n] for n in read if n not in _NUMERIC}
        try:
            names, batches = arrow_batches(
                path,
                what="DIA-NN report",
                numeric=numeric.__contains__,
                text=text.__contains__,
                encoded={found[n] for n in ("Protein.Group", *_RUNS) if n in found}.__contains__,
                block_bytes=_BLOCK_BYTES,
            )
            if any(found[n] not in names for n in read):
                raise Unusual("the header read differently")
            return _stream_report(
                batches,
                {n: names.index(found[n]) for n in read},
                renamed=_renamed(found),
                path=path,
                source=f"DIA-NN main report ({SEPARATOR_NAMES[header.separator]}-separated, "
                "long format)",
                thresholds=(q_value, pg_q_value, lib_pg_q_value),
                zero_as_missing=zero_as_missing,
                nan_is_missing=False,
            )
        except Unusual:
            pass  # read it the careful way, which gives the same result or the error's line
        table = read_table(
            path, what="DIA-NN report", usecols=lambda column: _compact(column) in wanted
        )
        return _from_report(
            table.frame,
            path=path,
            row="line",
            source=f"DIA-NN main report ({table.separator_name}-separated, long format)",
            read_notes=table.notes,
            thresholds=(q_value, pg_q_value, lib_pg_q_value),
            zero_as_missing=zero_as_missing,
        )
    if _is_pg_matrix(header.columns):
        return _read_pg_matrix(path, zero_as_missing)
    raise InputFormatError(
        f"not DIA-NN protein-group output; expected {EXPECTED}. "
        f"Columns found: {listing(header.columns)}",
        path=path,
    )


def _read_parquet_report(
    path: PathLike,
    columns: Sequence[str],
    thresholds: tuple[float | None, float | None, float | None],
    zero_as_missing: bool,
) -> QuantTable:
    wanted = {_compact(c) for c in _REPORT_COLUMNS}
    used = [c for c in columns if _compact(c) in wanted]
    found = _resolve(columns, _REPORT_COLUMNS)
    read = _streamed(found)
    try:
        import pyarrow.parquet as pq

        # pre_buffer=False: read one batch's pages at a time (pre-buffering holds more)
        with pq.ParquetFile(input_path(path, what="DIA-NN report"), pre_buffer=False) as parquet:
            order = [found[n] for n in read]
            return _stream_report(
                parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=order),
                {n: order.index(found[n]) for n in read},
                renamed=_renamed(found),
                path=path,
                source="DIA-NN report.parquet (long format)",
                thresholds=thresholds,
                zero_as_missing=zero_as_missing,
                nan_is_missing=True,
            )
    except Unusual:
        pass
    except (OSError, ValueError):
        pass  # the careful read below says what is wrong
    try:
        frame = pd.read_parquet(input_path(path, what="DIA-NN report"), columns=used)
    except (OSError, ValueError) as err:
        raise InputFormatError(f"cannot read the Parquet file: {err}", path=path) from err
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return _from_report(
        frame,
        path=path,
        row="row",
        source="DIA-NN report.parquet (long format)",
        thresholds=thresholds,
        zero_as_missing=zero_as_missing,
    )


def _from_report(
    frame: pd.DataFrame,
    *,
    path: PathLike,
    row: str,
    source: str,
    thresholds: tuple[float | None, float | None, float | None],
    zero_as_missing: bool,
    read_notes: tuple[str, ...] = (),
) -> QuantTable:
    notes: list[str] = list(read_notes)
    found = _resolve(list(frame.columns), _REPORT_COLUMNS)
    renamed = {actual: name for name, actual in found.items() if actual != name}
    if renamed:
        notes.append(
            "columns understood as: " + ", ".join(f"{a} -> {n}" for a, n in renamed.items())
        )
    frame = frame[list(found.values())].rename(columns=renamed)
    run_column = "File.Name" if "File.Name" in frame.columns else "Run"
    groups = text_column(frame, "Protein.Group")
    if groups is not None:  # a group written as a missing value is no group
        groups = groups.where(~groups.isin(MISSING_TOKENS), np.nan)
    runs = text_column(frame, run_column)
    quantity = next((q for q in _QUANTITIES if q in frame.columns), None)
    if groups is None or runs is None or quantity is None:
        raise InputFormatError(
            f"a DIA-NN main report needs 'Protein.Group', 'File.Name' or 'Run', and "
            f"'PG.MaxLFQ' or 'PG.Quantity'; columns found: {listing(list(frame.columns))}",
            path=path,
        )
    if runs.isna().any():
        empty = runs.index[runs.isna()]
        raise InputFormatError(
            f"empty '{run_column}' on {row}s {', '.join(map(str, empty[:10]))}",
            path=path,
        )
    total = len(frame)
    keep = pd.Series(True, index=frame.index)
    if "Decoy" in frame.columns:
        decoy = numbers(frame, ["Decoy"], path=path, row=row)["Decoy"].fillna(0) != 0
        if decoy.any():
            notes.append(f"left out {int(decoy.sum())} decoy precursor rows (Decoy = 1)")
        keep &= ~decoy
    no_group = groups.isna() & keep
    if no_group.any():
        notes.append(f"left out {int(no_group.sum())} precursor rows without a protein group")
        keep &= ~no_group
    all_runs = list(pd.unique(runs[keep]))

    applied: list[str] = []
    removed: list[str] = []
    for name, limit in zip(_THRESHOLDS, thresholds, strict=True):
        if limit is None:
            notes.append(f"{name} filter not applied (threshold None)")
            continue
        if name not in frame.columns:
            notes.append(f"no '{name}' column: {name} filter not applied")
            continue
        q = numbers(frame, [name], path=path, row=row)[name]
        if q.isna().all():
            notes.append(f"'{name}' is empty: {name} filter not applied")
            continue
        passing = q <= limit
        if (keep & ~passing).any():
            removed.append(f"{name}: {int((keep & ~passing).sum())}")
        keep &= passing
        applied.append(f"{name} <= {limit:g}")
    n_kept = int(keep.sum())
    filters = ", ".join(applied) if applied else "no q-value filter"
    notes.append(
        f"kept {n_kept} of {total} precursor rows at {filters}"
        + (f" (removed, in that order, by {', '.join(removed)})" if removed else "")
    )
    if n_kept == 0:
        raise InputFormatError(
            f"no precursor row passes the filters ({filters}); nothing to quantify", path=path
        )

    kept = frame[keep]
    if quantity == "PG.MaxLFQ" and "PG.Quantity" in kept.columns:
        lfq = numbers(kept, ["PG.MaxLFQ"], path=path, row=row)["PG.MaxLFQ"]
        if lfq.isna().all():
            quantity = "PG.Quantity"
            notes.append("'PG.MaxLFQ' is empty (a first-pass report?): using PG.Quantity")
        elif zero_as_missing and (lfq.fillna(0) == 0).all():  # (zeros are read as missing)
            quantity = "PG.Quantity"
            notes.append("'PG.MaxLFQ' is zero or empty in every row kept: using PG.Quantity")
    elif quantity == "PG.Quantity":
        notes.append("no 'PG.MaxLFQ' column: using PG.Quantity (DIA-NN's protein-group quantity)")
    values = numbers(kept, [quantity], path=path, row=row)[quantity]
    long = pd.DataFrame({"group": groups[keep], "run": runs[keep], "value": values})
    _check_agreement(long, quantity, path=path, row=row)
    per_group = long.groupby(["group", "run"], sort=False)["value"].first()
    protein_order = list(pd.unique(long["group"]))
    abundance = per_group.unstack("run").reindex(index=protein_order, columns=all_runs)
    abundance = abundance.astype("float64")
    abundance.columns.name = None
    abundance = _finish_matrix(abundance, quantity, zero_as_missing, notes)

    text = pd.DataFrame({name: text_column(kept, name) for name in _TEXT if name in kept.columns})
    text["group"] = groups[keep]
    first = text.groupby("group", sort=False).first().reindex(protein_order)
    extras = pd.DataFrame(
        {"n_precursor_rows": long.groupby("group", sort=False).size().reindex(protein_order)}
    )
    for name, extra in (("Protein.Ids", "protein_ids"), ("Protein.Names", "protein_names")):
        if name in first.columns:
            extras[extra] = first[name]
    accession = pd.Series(protein_order, index=extras.index)
    proteins = annotate_proteins(
        extras,
        accession=accession,
        description=first.get("First.Protein.Description"),
        gene=first.get("Genes"),
        entry_name=first.get("Protein.Names"),
    )
    abundance.index = proteins.index
    return QuantTable(
        abundance=abundance,
        proteins=proteins,
        columns=_run_columns(all_runs, _run_pairs(frame, run_column, runs), notes),
        path=str(path),
        source=source,
        notes=tuple(notes),
    )


def _check_agreement(long: pd.DataFrame, quantity: str, *, path: PathLike, row: str) -> None:
    grouped = long.groupby(["group", "run"], sort=False)["value"]
    low, high = grouped.min(), grouped.max()
    scale = np.maximum(np.abs(low), np.abs(high))
    differ = (high - low) > _RELATIVE_TOLERANCE * scale
    if not differ.any():
        return
    bad = differ[differ].index[:MAX_LISTED]
    keys = pd.MultiIndex.from_frame(long[["group", "run"]])
    problems = []
    for group, run in bad:
        rows = long[keys.isin([(group, run)])]
        shown = ", ".join(f"{index} ({value:g})" for index, value in rows["value"].items())
        problems.append(
            f"protein group {group!r}, run {run!r}: {quantity} differs between {row}s {shown}; "
            "expected one value per protein group and run"
        )
    if int(differ.sum()) > MAX_LISTED:
        problems.append(f"... {int(differ.sum())} protein group x run pairs in all")
    raise InputFormatError(problems, path=path)


def _run_pairs(frame: pd.DataFrame, run_column: str, runs: pd.Series) -> pd.DataFrame | None:
    """The distinct (``File.Name``, ``Run``) pairs of a report, when it has both."""
    if run_column != "File.Name" or "Run" not in frame.columns:
        return None
    pairs = pd.DataFrame({"file": runs, "run": text_column(frame, "Run")}).dropna()
    return pairs.drop_duplicates()


def _run_columns(
    labels: list[str],
    pairs: pd.DataFrame | None,
    notes: list[str],
) -> pd.DataFrame:
    """Keys of each run: the label and its stems, plus DIA-NN's ``Run`` when it is one-to-one."""
    keys = [list(run_keys(label)) for label in labels]
    names = [k[-1] for k in keys]
    if pairs is not None:
        one_to_one = not pairs["file"].duplicated().any() and not pairs["run"].duplicated().any()
        if one_to_one:
            run_of = dict(zip(pairs["file"], pairs["run"], strict=True))
            for i, label in enumerate(labels):
                if label in run_of:
                    keys[i].insert(1, run_of[label])
                    names[i] = run_of[label]
        else:
            notes.append(
                f"'Run' does not match 'File.Name' one to one ({pairs['file'].nunique()} files, "
                f"{pairs['run'].nunique()} Run values): runs are identified by File.Name"
            )
    return column_table(labels, keys, names=names)


def _pg_matrix_runs(columns: Sequence[str]) -> list[Sample]:
    return [(c, run_keys(c), run_keys(c)[-1]) for c in columns if c not in _ANNOTATION]


#: A report.pg_matrix.tsv: protein-group annotation, then one column per run.
PG_MATRIX = Format(
    what="DIA-NN pg_matrix",
    ids=("Protein.Group",),
    id_what="Protein.Group",
    samples=_pg_matrix_runs,
    source="DIA-NN report.pg_matrix.tsv (protein groups x runs)",
    summary="report.pg_matrix ({separator}-separated): {rows} protein groups x {samples} runs, "
    "as DIA-NN filtered them (q-value thresholds apply to the main report only)",
    extras=(Extra("Protein.Ids", "protein_ids"), Extra("Protein.Names", "protein_names")),
    description=("First.Protein.Description",),
    gene=("Genes",),
    entry_name=("Protein.Names",),
)


def _read_pg_matrix(path: PathLike, zero_as_missing: bool) -> QuantTable:
    return read_format(path, PG_MATRIX, zero_as_missing=zero_as_missing)


# ---------------------------------------------------------------- the report, streamed
#: What the last streamed read did (for tests): batches, rows, the most rows in one batch.
last_stream: dict[str, int] = {}
#: Bytes per block of a text report (see ``ARROW_BLOCK_BYTES``).
_BLOCK_BYTES = ARROW_BLOCK_BYTES
#: Rows per batch of a report.parquet.
_PARQUET_BATCH_ROWS = 1 << 17


def _streamed(found: dict[str, str]) -> list[str]:
    """The columns the streamed reader needs (PG.Quantity only without PG.MaxLFQ)."""
    return [n for n in found if not (n == "PG.Quantity" and "PG.MaxLFQ" in found)]


def _renamed(found: dict[str, str]) -> dict[str, str]:
    return {actual: name for name, actual in found.items() if actual != name}


_NUMERIC = frozenset(("Decoy", *_QUANTITIES, *_THRESHOLDS))


class _Codes:
    """Strings to integer codes in order of first appearance (``-1``: no value)."""

    def __init__(self, missing: frozenset[str]) -> None:
        self.missing = missing
        self.code: dict[str, int] = {}
        self.labels: list[str] = []
        self.raw: list[str] = []  # every spelling met (unstripped) ...
        self.raw_code: list[int] = []  # ... and its code
        self.known: Any = None  # self.raw as a pyarrow array, rebuilt when it grows
        self.known_codes = np.full(1, -1, dtype=np.int64)

    def _add(self, value: str | None) -> int:
        if value is not None and "\r" in value:
            # a quoted line end: the careful reader reads CRLF and CR inside quotes as "\n"
            raise Unusual("a carriage return inside a quoted cell")
        text = value.strip() if value is not None else ""
        if text in self.missing:
            code = -1
        else:
            found = self.code.get(text)
            if found is None:
                found = self.code[text] = len(self.labels)
                self.labels.append(text)
            code = found
        if value is not None:
            self.raw.append(value)
            self.raw_code.append(code)
            self.known = None
        return code

    def encode(self, column: Any) -> np.ndarray:
        """Codes of a pyarrow string column (stripped; missing as -1)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pa_types().is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        dictionary = column.dictionary
        kind = dictionary.type
        if not (pa_types().is_string(kind) or pa_types().is_large_string(kind)):
            raise Unusual(f"a {dictionary.type} column where text is read")
        if dictionary.type != pa.string():
            dictionary = dictionary.cast(pa.string())
        if self.known is None:
            self.known = pa.array(self.raw, type=pa.string())
            self.known_codes = np.asarray([*self.raw_code, -1], dtype=np.int64)
        seen = pc.fill_null(pc.index_in(dictionary, value_set=self.known), -1)
        position = seen.to_numpy(zero_copy_only=False).astype(np.int64)
        mapping = np.empty(len(dictionary) + 1, dtype=np.int64)
        mapping[:-1] = self.known_codes[position]  # -1 -> the last: no code yet
        for i in np.flatnonzero(position < 0).tolist():
            mapping[i] = self._add(dictionary[i].as_py())
        mapping[-1] = -1  # null
        indices = pc.fill_null(column.indices, -1).to_numpy(zero_copy_only=False)
        return mapping[indices]


def pa_types() -> Any:
    import pyarrow.types

    return pyarrow.types


def _floats(column: Any, *, nan_is_missing: bool) -> np.ndarray:
    """A numeric pyarrow column as float64 (null as NaN); :class:`Unusual` for a bad cell.

    Text reports give ``NaN``/``inf`` (which pyarrow parses, the careful path
    refuses) as such and nulls for :data:`MISSING_TOKENS`; Parquet's NaN is missing.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if not (pa_types().is_floating(kind) or pa_types().is_integer(kind)):
        raise Unusual(f"a {kind} column where numbers are read")
    nan = not nan_is_missing and pa_types().is_floating(kind)
    if nan and pc.any(pc.fill_null(pc.is_nan(column), False)).as_py():
        raise Unusual("a NaN spelled other than the missing-value tokens")
    values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    if not all_finite(values):
        raise Unusual("an infinite or huge number")
    return values


class _Stream:
    """The main report read batch by batch, keeping only per (group, run) summaries."""

    def __init__(
        self,
        found: dict[str, int],
        thresholds: tuple[float | None, float | None, float | None],
        *,
        nan_is_missing: bool,
    ) -> None:
        self.found = found
        self.nan_is_missing = nan_is_missing
        self.run_column = "File.Name" if "File.Name" in found else "Run"
        self.quantity = next(q for q in _QUANTITIES if q in found)
        self.filters = [
            (name, limit)
            for name, limit in zip(_THRESHOLDS, thresholds, strict=True)
            if limit is not None and name in found
        ]
        self.groups = _Codes(MISSING_TOKENS)
        self.runs = _Codes(frozenset({""}))
        self.run_names = _Codes(frozenset({""}))
        self.texts = {name: _Codes(frozenset({""})) for name in _TEXT if name in found}
        self.first_text = {name: np.full(0, -1, dtype=np.int64) for name in self.texts}
        self.total = self.decoys = self.no_group = self.n_kept = 0
        self.removed = [0] * len(self.filters)
        self.seen = [False] * len(self.filters)
        self.quantity_seen = False
        self.run_order: dict[int, None] = {}
        self.group_order: dict[int, None] = {}
        self.pairs: set[tuple[int, int]] = set()
        self.parts: list[_Summary] = []
        self.batches = self.most_rows = 0

    def add(self, batch: Any) -> None:
        n = batch.num_rows
        if not n:
            return
        self.batches += 1
        self.most_rows = max(self.most_rows, n)
        column = {name: batch.column(i) for name, i in self.found.items()}
        runs = self.runs.encode(column[self.run_column])
        if (runs < 0).any():
            raise Unusual("an empty run")
        groups = self.groups.encode(column["Protein.Group"])
        self.total += n
        keep = groups >= 0
        if "Decoy" in column:
            decoy = np.nan_to_num(_floats(column["Decoy"], nan_is_missing=self.nan_is_missing))
            decoy = decoy != 0
            self.decoys += int(decoy.sum())
            keep &= ~decoy
            self.no_group += int(((groups < 0) & ~decoy).sum())
        else:
            self.no_group += int((groups < 0).sum())
        for code in pd.unique(runs[keep]):
            self.run_order.setdefault(int(code), None)
        if self.run_column == "File.Name" and "Run" in column:
            named = self.run_names.encode(column["Run"])
            both = named >= 0
            self.pairs.update(zip(runs[both].tolist(), named[both].tolist(), strict=True))
        for k, (name, limit) in enumerate(self.filters):
            q = _floats(column[name], nan_is_missing=self.nan_is_missing)
            self.seen[k] = self.seen[k] or bool((~np.isnan(q)).any())
            with np.errstate(invalid="ignore"):
                passing = q <= limit
            self.removed[k] += int((keep & ~passing).sum())
            keep &= passing
        rows = np.flatnonzero(keep)
        if not len(rows):
            return
        self.n_kept += len(rows)
        quantity = column[self.quantity].take(rows)
        values = _floats(quantity, nan_is_missing=self.nan_is_missing)
        # (all zero: the careful reader decides, as for all empty)
        self.quantity_seen = self.quantity_seen or bool(((values != 0) & ~np.isnan(values)).any())
        kept_groups = groups[rows]
        for code in pd.unique(kept_groups):
            self.group_order.setdefault(int(code), None)
        key = (kept_groups << 32) | runs[rows]
        ones = np.ones(len(key), dtype=np.int64)
        self.parts.append(_summarize(key, values, values, values, ones))
        if len(self.parts) >= 64:  # fold the summaries: memory follows the pairs, not the rows
            self.parts = [_fold(self.parts)]
        for name, codes in self.texts.items():
            firsts = self.first_text[name]
            if len(firsts) < len(self.groups.labels):
                grown = np.full(2 * len(self.groups.labels), -1, dtype=np.int64)
                grown[: len(firsts)] = firsts
                firsts = self.first_text[name] = grown
            # only rows of groups without a text yet (after the first batches: hardly any)
            need = firsts[kept_groups] < 0
            if not need.any():
                continue
            text = codes.encode(column[name].take(rows[need]))
            present = text >= 0
            groups_needing = kept_groups[need][present]
            found, first = np.unique(groups_needing, return_index=True)
            firsts[found] = text[present][first]


_Summary = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _summarize(
    key: np.ndarray, first: np.ndarray, low: np.ndarray, high: np.ndarray, size: np.ndarray
) -> _Summary:
    """Per key, in the order given: the first value that is not NaN, min, max (NaN-skipping,
    like pandas' ``groupby`` ``first``/``min``/``max``) and the sum of ``size``; keys sorted."""
    order = np.argsort(key, kind="stable")
    key, first, low, high, size = key[order], first[order], low[order], high[order], size[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    n = len(key)
    position = np.where(np.isnan(first), n, np.arange(n))
    at = np.minimum.reduceat(position, starts)
    firsts = np.where(at < n, first[np.minimum(at, n - 1)], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN segments give NaN
        lows = np.fmin.reduceat(low, starts)
        highs = np.fmax.reduceat(high, starts)
    return key[starts], firsts, lows, highs, np.add.reduceat(size, starts)


def _fold(parts: list[_Summary]) -> _Summary:
    """Per-batch (group, run) summaries, in file order, as one."""
    return _summarize(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _stream_report(
    batches: Iterator[Any],
    found: dict[str, int],
    *,
    renamed: dict[str, str],
    path: PathLike,
    source: str,
    thresholds: tuple[float | None, float | None, float | None],
    zero_as_missing: bool,
    nan_is_missing: bool,
) -> QuantTable:
    """:func:`_from_report` on a report read in batches; :class:`Unusual` when it cannot be."""
    stream = _Stream(found, thresholds, nan_is_missing=nan_is_missing)
    for batch in batches:
        stream.add(batch)
    if not all(stream.seen) or not stream.n_kept:
        raise Unusual("an empty q-value column, or no row kept")
    if not stream.quantity_seen:
        raise Unusual("no quantity among the rows kept")
    notes: list[str] = []
    if renamed:
        notes.append(
            "columns understood as: " + ", ".join(f"{a} -> {n}" for a, n in renamed.items())
        )
    if stream.decoys:
        notes.append(f"left out {stream.decoys} decoy precursor rows (Decoy = 1)")
    if stream.no_group:
        notes.append(f"left out {stream.no_group} precursor rows without a protein group")
    applied: list[str] = []
    removed: list[str] = []
    filters = dict(stream.filters)
    k = 0
    for name, limit in zip(_THRESHOLDS, thresholds, strict=True):
        if limit is None:
            notes.append(f"{name} filter not applied (threshold None)")
            continue
        if name not in filters:
            notes.append(f"no '{name}' column: {name} filter not applied")
            continue
        if stream.removed[k]:
            removed.append(f"{name}: {stream.removed[k]}")
        applied.append(f"{name} <= {limit:g}")
        k += 1
    applied_text = ", ".join(applied) if applied else "no q-value filter"
    notes.append(
        f"kept {stream.n_kept} of {stream.total} precursor rows at {applied_text}"
        + (f" (removed, in that order, by {', '.join(removed)})" if removed else "")
    )
    quantity = stream.quantity
    if quantity == "PG.Quantity":
        notes.append("no 'PG.MaxLFQ' column: using PG.Quantity (DIA-NN's protein-group quantity)")
    keys, firsts, low, high, counts = _fold(stream.parts)
    with np.errstate(invalid="ignore"):
        differ = (high - low) > _RELATIVE_TOLERANCE * np.maximum(np.abs(low), np.abs(high))
    if differ.any():
        raise Unusual("group quantities differ")
    group_codes = np.fromiter(stream.group_order, dtype=np.int64)
    run_codes = np.fromiter(stream.run_order, dtype=np.int64)
    row_of = np.full(len(stream.groups.labels), -1, dtype=np.int64)
    row_of[group_codes] = np.arange(len(group_codes))
    column_of = np.full(len(stream.runs.labels), -1, dtype=np.int64)
    column_of[run_codes] = np.arange(len(run_codes))
    matrix = np.full((len(group_codes), len(run_codes)), np.nan)
    matrix[row_of[keys >> 32], column_of[keys & 0xFFFFFFFF]] = firsts
    protein_order = [stream.groups.labels[c] for c in group_codes]
    all_runs = [stream.runs.labels[c] for c in run_codes]
    abundance = pd.DataFrame(matrix, index=pd.Index(protein_order, name="group"), columns=all_runs)
    abundance = _finish_matrix(abundance, quantity, zero_as_missing, notes)
    sizes = np.zeros(len(group_codes), dtype=np.int64)
    np.add.at(sizes, row_of[keys >> 32], counts)
    extras = pd.DataFrame({"n_precursor_rows": sizes}, index=pd.Index(protein_order))
    first: dict[str, pd.Series] = {}
    for name, codes in stream.texts.items():
        firsts = stream.first_text[name]
        first[name] = pd.Series(
            [codes.labels[firsts[g]] if firsts[g] >= 0 else np.nan for g in group_codes],
            index=extras.index,
            dtype=object,
        )
    for name, extra in (("Protein.Ids", "protein_ids"), ("Protein.Names", "protein_names")):
        if name in first:
            extras[extra] = first[name]
    proteins = annotate_proteins(
        extras,
        accession=pd.Series(protein_order, index=extras.index),
        description=first.get("First.Protein.Description"),
        gene=first.get("Genes"),
        entry_name=first.get("Protein.Names"),
    )
    abundance.index = proteins.index
    pairs = None
    if stream.run_column == "File.Name" and "Run" in found:
        listed = sorted(stream.pairs)
        pairs = pd.DataFrame(
            {
                "file": [stream.runs.labels[f] for f, _ in listed],
                "run": [stream.run_names.labels[r] for _, r in listed],
            }
        )
    quant = QuantTable(
        abundance=abundance,
        proteins=proteins,
        columns=_run_columns(all_runs, pairs, notes),
        path=str(path),
        source=source,
        notes=tuple(notes),
    )
    last_stream.clear()
    last_stream.update(batches=stream.batches, rows=stream.total, most_rows=stream.most_rows)
    return quant


def _finish_matrix(
    abundance: pd.DataFrame, quantity: str, zero_as_missing: bool, notes: list[str]
) -> pd.DataFrame:
    """The protein-group x run matrix of a main report: zeros, and what the notes say of it."""
    notes.append(
        f"{abundance.shape[0]} protein groups x {abundance.shape[1]} runs; {quantity}, one value "
        "per protein group and run (equal on every precursor row of the group)"
    )
    if zero_as_missing:
        abundance = zeros_as_missing(abundance, notes)
    empty_runs = [r for r in abundance.columns if abundance[r].isna().all()]
    if empty_runs:
        notes.append(f"{len(empty_runs)} run(s) have no quantified protein group after filtering")
    return abundance
