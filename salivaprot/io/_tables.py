"""Parsing shared by the table readers (MaxQuant, DIA-NN, FragPipe, generic matrix).

pandas does the parsing; this module adds what the readers need around it:
the separator read from the header line (a ``.tsv`` that is really
comma-separated is common), physical line numbers for every row, numbers
checked cell by cell with the line and column of each bad one, zeros read as
missing, and the keys a sample sheet's ``run`` may use for a data column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.io._files import EXACT_FLOATS, PathLike, file_stem, read_head, read_text

__all__ = [
    "MISSING_TOKENS",
    "SEPARATOR_NAMES",
    "Header",
    "TextTable",
    "column_table",
    "duplicated_ids",
    "header_columns",
    "listing",
    "numbers",
    "peek",
    "read_table",
    "run_keys",
    "separator_of",
    "text_column",
    "zeros_to_missing",
]

#: Cells read as missing in numeric columns.
MISSING_TOKENS = frozenset({"", "NA", "NaN", "nan", "NULL", "null", "N/A", "#N/A"})
SEPARATOR_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon"}
MAX_LISTED = 20
_LEADING_BLANK = re.compile(r"(?:[ \t]*\r?\n)*")
_PARSER_LINE = re.compile(r"line (\d+)")


@dataclass(frozen=True)
class TextTable:
    """A delimited text file read as text cells.

    Attributes
    ----------
    frame : pandas.DataFrame
        Every cell as a string (``""`` when empty), indexed by the physical
        line number of each row (index name ``line``); blank rows dropped.
    separator : str
        The field separator read from the header line.
    header_line : int
        Line number of the header.
    """

    frame: pd.DataFrame
    separator: str
    header_line: int

    @property
    def separator_name(self) -> str:
        """``tab``, ``comma`` or ``semicolon``."""
        return SEPARATOR_NAMES[self.separator]


@dataclass(frozen=True)
class Header:
    """What the start of a file says about it.

    Attributes
    ----------
    columns : list of str
        Column names (of the Parquet schema, or of the first non-blank text line).
    parquet : bool
        Whether the file is Parquet.
    first_line : str
        The first non-blank text line (``""`` for Parquet).
    separator : str
        The text separator (tab for Parquet).
    """

    columns: list[str]
    parquet: bool
    first_line: str
    separator: str


def peek(path: PathLike, *, what: str = "input file") -> Header:
    """Read a file's header without reading the whole file.

    Raises
    ------
    InputFormatError
        The file is missing, empty, binary (other than Parquet) or an
        unreadable Parquet file.
    """
    head = read_head(path, what=what)
    if head[:4] == b"PAR1":
        import pyarrow.parquet as pq

        try:
            names = list(pq.read_schema(path).names)
        except (OSError, ValueError) as err:  # pyarrow.ArrowInvalid is a ValueError
            raise InputFormatError(f"cannot read the Parquet file: {err}", path=path) from err
        return Header(columns=names, parquet=True, first_line="", separator="\t")
    if b"\x00" in head[:8192]:
        raise InputFormatError(
            f"this is a binary file, not a text table, mzTab or Parquet {what}", path=path
        )
    text = head.decode("utf-8-sig", errors="replace")
    columns, separator, _ = header_columns(text)
    skipped = _LEADING_BLANK.match(text)
    first = text[skipped.end() if skipped else 0 :].split("\n", 1)[0].rstrip("\r")
    return Header(columns=columns, parquet=False, first_line=first, separator=separator)


def separator_of(header: str) -> str:
    """The separator of a header line: the most frequent of tab, comma and semicolon.

    Ties go to tab, then comma; a header without any is read as tab-separated.

    Examples
    --------
    >>> separator_of("File.Name,Protein.Group,PG.Quantity")
    ','
    >>> separator_of("Protein IDs\\tIntensity A")
    '\\t'
    """
    counts = {sep: header.count(sep) for sep in SEPARATOR_NAMES}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else "\t"


def _split_header(line: str, separator: str) -> list[str]:
    fields = next(csv.reader([line], delimiter=separator), [])
    return [field.strip() for field in fields]


def header_columns(text: str) -> tuple[list[str], str, int]:
    """Column names of the first non-blank line of ``text``, its separator and line number."""
    skipped = _LEADING_BLANK.match(text)
    start = skipped.end() if skipped else 0
    line_no = text.count("\n", 0, start) + 1
    end = text.find("\n", start)
    line = text[start:] if end < 0 else text[start:end]
    separator = separator_of(line)
    return _split_header(line.rstrip("\r"), separator), separator, line_no


def read_table(
    path: PathLike,
    *,
    what: str,
    usecols: Callable[[str], bool] | None = None,
) -> TextTable:
    """Read a delimited text file as text cells, with line numbers.

    A UTF-8 byte-order mark, gzip compression, CRLF line endings and leading
    blank lines are handled; the separator (tab, comma or semicolon) is read
    from the header line, whatever the file's name. Header names are
    stripped of surrounding spaces.

    Parameters
    ----------
    path : str or path-like
        The file.
    what : str
        What the file should be, for messages.
    usecols : callable, optional
        Read only the columns whose (stripped) name it accepts; saves memory
        on long reports, but rows with surplus fields are then not reported.

    Returns
    -------
    TextTable

    Raises
    ------
    InputFormatError
        The file is missing, empty or binary, repeats a column name, has a
        row with more fields than the header, or ends in a truncated row.
    """
    text = read_text(path, what=what)
    columns, separator, header_line = header_columns(text)
    repeated = sorted({c for c in columns if columns.count(c) > 1 and c})
    if repeated:
        raise InputFormatError(
            f"the header repeats column(s) {', '.join(repr(c) for c in repeated)}; "
            "every column needs its own name",
            path=path,
            line=header_line,
        )
    names = [c if c else f"(unnamed column {i + 1})" for i, c in enumerate(columns)]
    positions = None
    if usecols is not None:
        positions = [i for i, c in enumerate(names) if usecols(c)]
    body_start = _LEADING_BLANK.match(text)
    body = text[body_start.end() if body_start else 0 :]
    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep=separator,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            usecols=positions,
        )
    except pd.errors.ParserError as err:
        message = _PARSER_LINE.sub(
            lambda m: f"line {int(m.group(1)) + header_line - 1}", str(err)
        ).replace("Error tokenizing data. C error: ", "")
        raise InputFormatError(
            f"cannot be read as a {SEPARATOR_NAMES[separator]}-separated table "
            f"with the {len(names)} columns of its header (line {header_line}): {message}",
            path=path,
        ) from err
    frame = frame.iloc[1:]
    frame.columns = pd.Index(
        [names[i] for i in positions] if positions is not None else names[: frame.shape[1]]
    )
    frame.index = pd.RangeIndex(header_line + 1, header_line + 1 + len(frame), name="line")
    if not text.endswith(("\n", "\r")) and len(frame) and usecols is None:
        last = text.rstrip("\r\n").rsplit("\n", 1)[-1]
        fields = len(next(csv.reader([last.rstrip("\r")], delimiter=separator), []))
        if fields < len(names):
            raise InputFormatError(
                f"the last line has {fields} fields, the header {len(names)}: "
                "the file seems truncated",
                path=path,
                line=int(frame.index[-1]),
            )
    if len(frame) and frame.shape[1]:
        # only rows whose first cell is empty can be blank; check just those
        first_empty = (_stripped(frame.iloc[:, 0]) == "").to_numpy(bool, na_value=True)
        if first_empty.any():
            candidates = frame[first_empty]
            blank = candidates.apply(lambda column: _stripped(column) == "").all(axis=1)
            frame = frame.drop(index=candidates.index[blank.to_numpy(bool)])
    return TextTable(frame=frame, separator=separator, header_line=header_line)


def numbers(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    path: PathLike,
    row: str = "line",
) -> pd.DataFrame:
    """Convert columns to float, reporting every cell that is not a number.

    Empty cells and :data:`MISSING_TOKENS` are missing; anything else must be a
    finite number.

    Parameters
    ----------
    frame : pandas.DataFrame
        Indexed by line (or row) number.
    columns : sequence of str
        The columns to convert.
    path : str or path-like
        The file, for messages.
    row : str
        What the index counts (``line`` in text files, ``row`` in Parquet).

    Returns
    -------
    pandas.DataFrame
        float64, same index, the given columns.

    Raises
    ------
    InputFormatError
        Naming the line and column of each bad cell (the first 20).

    Examples
    --------
    >>> import pandas as pd
    >>> cells = pd.DataFrame({"S1": ["1.5", "", "NaN"], "S2": ["2", "0", "n.d."]},
    ...                      index=pd.Index([2, 3, 4], name="line"))
    >>> numbers(cells, ["S1"], path="x.tsv")["S1"].tolist()
    [1.5, nan, nan]
    >>> numbers(cells, ["S1", "S2"], path="x.tsv")
    Traceback (most recent call last):
    ...
    salivaprot.errors.InputFormatError: x.tsv: line 4, column 'S2': expected a number ...
    """
    out: dict[str, pd.Series] = {}
    problems: list[str] = []
    for column in columns:
        cells = frame[column]
        bad: pd.Series
        if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
            values = cells.astype("float64")
            bad = pd.Series(np.isinf(values.to_numpy()), index=cells.index)
        else:
            text = _stripped(cells)
            missing = (text.isna() | text.isin(MISSING_TOKENS)).to_numpy(bool, na_value=True)
            numeric = pd.to_numeric(text.mask(missing), errors="coerce")
            values = pd.Series(
                numeric.to_numpy(dtype="float64", na_value=np.nan), index=cells.index
            )
            bad = pd.Series((np.isnan(values) & ~missing) | np.isinf(values), index=cells.index)
            if EXACT_FLOATS:  # pandas 2: to_numeric can be off in the last digits; re-parse
                good = ~missing & ~bad.to_numpy()
                exact = values.to_numpy(copy=True)
                exact[good] = np.asarray(text[good].to_numpy(dtype=str), dtype=float)
                values = pd.Series(exact, index=cells.index)
        if bad.any() and len(problems) < MAX_LISTED:
            for position, value in cells[bad].head(MAX_LISTED - len(problems)).items():
                problems.append(
                    f"{row} {position}, column '{column}': expected a number "
                    f"(empty, NA or NaN for missing), found {value!r}"
                )
            if bad.sum() > 1:
                problems[-1] += f" ({int(bad.sum())} bad cells in this column)"
        out[column] = values.mask(bad)
    if problems:
        raise InputFormatError(problems, path=path)
    return pd.DataFrame(out, index=frame.index, columns=list(columns))


def zeros_to_missing(values: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Zeros as NaN (pipelines write 0 for "not detected"), and how many there were."""
    zeros = values == 0
    return values.mask(zeros), int(zeros.to_numpy().sum())


def text_column(frame: pd.DataFrame, *names: str) -> pd.Series | None:
    """The first of ``names`` present, stripped, empty cells as NaN; ``None`` if absent."""
    for name in names:
        if name in frame.columns:
            text = _stripped(frame[name])
            empty = (text.isna() | (text == "")).to_numpy(bool, na_value=True)
            return text.astype(object).where(~empty, np.nan)
    return None


def _stripped(cells: pd.Series) -> pd.Series:
    """Cells as pandas strings (missing as ``<NA>``) without surrounding whitespace."""
    return cells.astype("string").str.strip()


def duplicated_ids(ids: pd.Series, *, row: str = "line", what: str = "protein ID") -> list[str]:
    """Problems for empty and repeated IDs, each with its lines (empty list when fine)."""
    problems: list[str] = []
    empty = ids[ids.isna() | (ids.astype(str).str.strip() == "")]
    if len(empty):
        shown = ", ".join(map(str, empty.index[:10]))
        more = f" and {len(empty) - 10} more" if len(empty) > 10 else ""
        problems.append(f"empty {what} on {row}{'s' if len(empty) > 1 else ''} {shown}{more}")
    present = ids.drop(empty.index)
    repeated = present[present.duplicated(keep=False)]
    for value, rows in list(repeated.groupby(repeated, sort=True).groups.items())[:MAX_LISTED]:
        listed = ", ".join(map(str, rows))
        problems.append(f"{what} {value!r} is repeated on {row}s {listed}; IDs must be unique")
    return problems


def run_keys(label: str) -> tuple[str, ...]:
    """Every string a sample sheet's ``run`` may use for a data column.

    The label itself, then its file stems, peeling one MS suffix at a time.

    Examples
    --------
    >>> run_keys(r"D:\\Raw\\pre_qc_1.wiff.dia")
    ('D:\\\\Raw\\\\pre_qc_1.wiff.dia', 'pre_qc_1.wiff', 'pre_qc_1')
    >>> run_keys("S1")
    ('S1',)
    """
    keys = [label]
    current = label
    while True:
        stem = file_stem(current)
        if not stem or stem == current:
            break
        keys.append(stem)
        current = stem
    return tuple(dict.fromkeys(keys))


def column_table(
    labels: Sequence[str],
    keys: Iterable[Sequence[str]],
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The :attr:`QuantTable.columns` frame: each column's sample ``name`` and ``keys``.

    The name defaults to the last (shortest) key; columns that would share a
    name keep their full label instead.
    """
    key_tuples = [tuple(dict.fromkeys(k)) for k in keys]
    names = [k[-1] for k in key_tuples] if names is None else list(names)
    frame = pd.DataFrame(
        {"name": names, "keys": key_tuples}, index=pd.Index(list(labels), dtype=object)
    )
    repeated = frame["name"].duplicated(keep=False)
    frame.loc[repeated, "name"] = frame.index[repeated]
    return frame


def listing(columns: Sequence[str], limit: int = 12) -> str:
    """Column names for a message: the first ``limit``, quoted, and how many in all."""
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")
