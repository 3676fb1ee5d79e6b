"""Generic protein x sample matrices (CSV or TSV) with a ``protein_id`` column."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.io._files import PathLike
from salivaprot.io._pipeline import Format, quant_table, quantities
from salivaprot.io._tables import (
    MISSING_TOKENS,
    SEPARATOR_NAMES,
    Unusual,
    read_table,
    run_keys,
    table_frame,
)
from salivaprot.io.quant import QuantTable

__all__ = ["EXPECTED", "looks_like_matrix", "read_matrix"]

#: What a generic matrix looks like, for messages.
EXPECTED = (
    "generic matrix (CSV or TSV): first column 'protein_id', then one numeric column per "
    "sample (empty, NA or NaN = missing)"
)
#: The format for the shared pipeline: IDs, then every other column a sample.
MATRIX = Format(what="protein matrix", ids=("protein_id",), source="generic protein matrix")


def looks_like_matrix(columns: Sequence[str]) -> bool:
    """Whether a header is a generic matrix's: its first column is ``protein_id``."""
    return bool(columns) and columns[0].strip().lower() == "protein_id"


def read_matrix(path: PathLike, *, zero_as_missing: bool = True) -> QuantTable:
    """Read a generic protein x sample matrix.

    The first column is ``protein_id`` (unique, never empty); every other
    column is one sample, named by its header, with numbers as given (any
    scale). Empty cells, ``NA`` and ``NaN`` are missing. The separator (comma,
    tab or semicolon) is read from the header line; a byte-order mark, CRLF
    line endings and gzip are fine. A sample sheet's ``run`` (or
    ``sample_id``) names the column header, or the file stem when headers are
    file paths.

    Parameters
    ----------
    path : str or path-like
        The file.
    zero_as_missing : bool
        Read zeros as missing (the default, as for the pipelines' tables);
        turn off for log-scale matrices where 0 is a value.

    Returns
    -------
    QuantTable

    Raises
    ------
    InputFormatError
        No ``protein_id`` first column, no sample columns, empty or repeated
        protein IDs (with their lines), or cells that are not numbers (with
        their line and column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "abundance.csv"
    >>> _ = path.write_text("protein_id,S01_baseline,S01_month4\\n"
    ...                     "P04745,2.1e9,1.8e9\\nP61626,NA,0\\n")
    >>> quant = read_matrix(path)
    >>> quant.abundance
                  S01_baseline    S01_month4
    protein_id
    P04745        2.100000e+09  1.800000e+09
    P61626                 NaN           NaN
    >>> quant.notes
    ('comma-separated; 2 proteins x 2 samples', 'read 1 zero values as missing')
    """
    fast = _read_numeric_fast(path)
    if fast is not None:
        ids, values, separator, header_line, read_notes = fast
        return _quant_table(path, ids, values, separator, header_line, zero_as_missing, read_notes)
    table = read_table(path, what="protein matrix")
    frame = table.frame
    columns = list(frame.columns)
    if not looks_like_matrix(columns):
        first = columns[0] if columns else ""
        raise InputFormatError(
            f"the first column is {first!r}; a {EXPECTED}",
            path=path,
            line=table.header_line,
        )
    samples = columns[1:]
    if not samples:
        raise InputFormatError(
            f"only a protein_id column: no sample columns; a {EXPECTED}",
            path=path,
            line=table.header_line,
        )
    ids = frame[columns[0]].str.strip()
    try:
        values = quantities(frame, samples, path=path, ids=ids, fmt=MATRIX)
    except InputFormatError as err:
        text_only = [c for c in samples if _all_text(frame[c])]
        if not text_only:
            raise
        hint = (
            f"{path}: column(s) {', '.join(repr(c) for c in text_only)} hold no numbers: "
            "every column after protein_id is read as a sample, so leave annotation "
            "columns (gene, description, ...) out of a generic matrix"
        )
        raise InputFormatError([*err.problems, hint]) from err
    return _quant_table(
        path,
        ids,
        values,
        table.separator,
        table.header_line,
        zero_as_missing,
        table.notes,
    )


def _read_numeric_fast(
    path: PathLike,
) -> tuple[pd.Series, pd.DataFrame, str, int, tuple[str, ...]] | None:
    """Read a well-formed numeric matrix with the tables' fast reader (:func:`table_frame`).

    Returns ``None`` whenever the file needs the careful text path (anything
    :func:`table_frame` calls unusual, or IDs that are missing or repeated),
    which then reports problems with line and column.
    """
    try:
        cells = table_frame(
            path,
            what="protein matrix",
            numeric=lambda columns: columns[1:] if looks_like_matrix(columns) else (),
            text=lambda _columns: (),
        )
    except Unusual:
        return None
    columns = cells.columns
    if not looks_like_matrix(columns) or len(columns) < 2:
        return None
    ids = cells.frame[columns[0]].str.strip()
    if ids.isin(MISSING_TOKENS).any() or ids.duplicated().any():
        return None
    return ids, cells.frame[columns[1:]], cells.separator, cells.header_line, ()


def _quant_table(
    path: PathLike,
    ids: pd.Series,
    values: pd.DataFrame,
    separator: str,
    header_line: int,
    zero_as_missing: bool,
    read_notes: tuple[str, ...] = (),
) -> QuantTable:
    samples = [str(c) for c in values.columns]
    summary = MATRIX.summary.format(
        separator=SEPARATOR_NAMES[separator], rows=len(ids), samples=len(samples)
    )
    return quant_table(
        ids.rename("protein_id").to_frame(),
        MATRIX,
        path=path,
        ids=ids,
        values=values,
        keys=[run_keys(s) for s in samples],
        notes=[summary, *read_notes],
        zero_as_missing=zero_as_missing,
        source=MATRIX.source,
    )


def _all_text(cells: pd.Series) -> bool:
    stripped = cells.str.strip()
    present = stripped[stripped != ""]
    return len(present) > 0 and bool(pd.to_numeric(present, errors="coerce").isna().all())
