"""Generic protein x sample matrices (CSV or TSV) with a ``protein_id`` column."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TextIO

import numpy as np
import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.io._files import EXACT_FLOATS, PathLike, read_decoded
from salivaprot.io._pipeline import Format, quant_table, quantities
from salivaprot.io._tables import (
    MISSING_TOKENS,
    SEPARATOR_NAMES,
    Tail,
    finite,
    read_header,
    read_table,
    run_keys,
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
    """Parse a well-formed numeric matrix with pandas' float parser in one pass.

    Returns ``None`` whenever the file needs the careful text path (blank or
    truncated lines, repeated names, a separator at the end of lines, any
    cell that is not a number or a missing token, non-finite or huge
    numbers), which then reports problems with line and column.
    """
    result, encoding = read_decoded(path, lambda handle: _fast(handle, path), what="protein matrix")
    if result is None:
        return None
    return (*result, (encoding.note,) if encoding.note else ())


def _fast(handle: TextIO, path: PathLike) -> tuple[pd.Series, pd.DataFrame, str, int] | None:
    columns, separator, header_line = read_header(handle, path=path, what="protein matrix")
    if not looks_like_matrix(columns) or len(columns) < 2 or len(set(columns)) != len(columns):
        return None
    if "" in columns:
        return None
    tail = Tail(handle)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frame = pd.read_csv(
                tail,  # type: ignore[call-overload]
                sep=separator,
                header=None,
                names=list(range(len(columns))),
                dtype={i: "float64" for i in range(1, len(columns))} | {0: str},
                keep_default_na=False,
                na_values=sorted(MISSING_TOKENS),
                skip_blank_lines=False,
                **EXACT_FLOATS,
            )
    except (ValueError, pd.errors.ParserError, Warning):
        return None
    if not tail.ends_with_newline or not isinstance(frame.index, pd.RangeIndex):
        return None
    values = frame.iloc[:, 1:]
    if frame.shape[1] != len(columns) or not finite(values.to_numpy()).all():
        return None
    ids = frame.iloc[:, 0].str.strip()
    if ids.isna().any() or ids.isin(MISSING_TOKENS).any() or ids.duplicated().any():
        return None
    lines = np.arange(header_line + 1, header_line + 1 + len(frame))
    ids.index = values.index = pd.Index(lines, name="line")
    values.columns = pd.Index(columns[1:])
    return ids, values, separator, header_line


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
