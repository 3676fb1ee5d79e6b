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
import itertools
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TextIO

import numpy as np
import pandas as pd

from salivaprot.data import numeric_dtype
from salivaprot.errors import InputFormatError, InputFormatWarning
from salivaprot.io._files import (
    _BOMS,
    _SNIFF_BYTES,
    EXACT_FLOATS,
    PathLike,
    file_stem,
    input_path,
    open_binary,
    read_decoded,
    read_head,
    sniff_encoding,
)

__all__ = [
    "ARROW_BLOCK_BYTES",
    "MAX_MAGNITUDE",
    "MISSING_TOKENS",
    "SEPARATOR_NAMES",
    "Cells",
    "Header",
    "TextTable",
    "Unusual",
    "all_finite",
    "arrow_batches",
    "column_table",
    "duplicated_ids",
    "finite",
    "header_columns",
    "holds_values",
    "index_column",
    "listing",
    "numbers",
    "out_of_range",
    "parse_table",
    "peek",
    "read_header",
    "read_table",
    "run_keys",
    "separator_of",
    "table_frame",
    "text_column",
    "to_floats",
    "undotted",
    "without_index",
    "zeros_to_missing",
]

#: Cells read as missing in numeric columns.
MISSING_TOKENS = frozenset({"", "NA", "NaN", "nan", "NULL", "null", "N/A", "#N/A"})
SEPARATOR_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon"}
MAX_LISTED = 20
#: mzTab line prefixes: a file starting with one is not parsed as a CSV table.
_MZTAB_PREFIXES = frozenset({"MTD", "COM", "PRH", "PRT", "PSH", "PEH", "SMH"})
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
    notes: tuple[str, ...] = field(default=())

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
            names = list(pq.read_schema(input_path(path, what=what)).names)
        except (OSError, ValueError) as err:  # pyarrow.ArrowInvalid is a ValueError
            raise InputFormatError(f"cannot read the Parquet file: {err}", path=path) from err
        return Header(columns=names, parquet=True, first_line="", separator="\t")
    encoding = sniff_encoding(head, path, f"table, mzTab or Parquet {what}")
    text = head.decode(encoding.codec, errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not text.strip():
        raise InputFormatError(f"the {what} is empty (blank lines only)", path=path)
    skipped = _LEADING_BLANK.match(text)
    first = text[skipped.end() if skipped else 0 :].split("\n", 1)[0]
    if first.split("\t", 1)[0].strip() in _MZTAB_PREFIXES:
        # mzTab: no CSV parsing of its first line (a COM line may be megabytes long)
        return Header(columns=first.split("\t"), parquet=False, first_line=first, separator="\t")
    columns, separator, _ = header_columns(text, path=path)
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


def _split_header(line: str, separator: str, *, path: PathLike | None, line_no: int) -> list[str]:
    try:
        fields = next(csv.reader([line], delimiter=separator), [])
    except csv.Error as err:
        raise InputFormatError(
            f"the header line cannot be split into columns: {err} (a column name longer "
            f"than {csv.field_size_limit()} characters, or a stray quote?)",
            path=path,
            line=line_no,
        ) from err
    return [field.strip() for field in fields]


def header_columns(text: str, *, path: PathLike | None = None) -> tuple[list[str], str, int]:
    """Column names of the first non-blank line of ``text``, its separator and line number."""
    skipped = _LEADING_BLANK.match(text)
    start = skipped.end() if skipped else 0
    line_no = text.count("\n", 0, start) + 1
    end = text.find("\n", start)
    line = text[start:] if end < 0 else text[start:end]
    separator = separator_of(line)
    return (
        _split_header(line.rstrip("\r"), separator, path=path, line_no=line_no),
        separator,
        line_no,
    )


def read_header(handle: TextIO, *, path: PathLike, what: str) -> tuple[list[str], str, int]:
    """Read up to and including the first non-blank line of an open text file.

    Returns its column names, separator and line number; the handle is left
    at the start of the next line.

    Raises
    ------
    InputFormatError
        When the file holds nothing but blank lines.
    """
    for line_no, line in enumerate(handle, start=1):
        if line.strip():
            header = line.rstrip("\n")
            separator = separator_of(header)
            return _split_header(header, separator, path=path, line_no=line_no), separator, line_no
    raise InputFormatError(f"the {what} is empty", path=path)


class Tail:
    """A text handle that remembers the end of what was read (to check the last lines).

    Keeps the last complete line and the unterminated rest, never more.
    """

    def __init__(
        self, handle: TextIO, *, separator: str | None = None, fields: int | None = None
    ) -> None:
        self.handle = handle
        self.line = ""  # the last complete line with content, without its "\n"
        self.partial = ""  # what follows the last "\n" read so far
        #: with ``separator`` and ``fields``: the first line (1 = the first line read) with
        #: more fields than that (one empty field more, a separator at the end of the line,
        #: is not counted), among lines without a quote before the extra separator
        self.too_long: int | None = None
        self.lines = 0
        self._long = None
        if separator is not None and fields is not None:
            sep = re.escape(separator)
            self._long = re.compile(rf'^(?:[^{sep}\n"]*{sep}){{{fields}}}(?=[^\r\n])', re.M)

    def _check_lines(self, text: str) -> None:
        """Look for a line with too many fields in ``text`` (whole lines)."""
        if self._long is None or self.too_long is not None:
            return
        found = self._long.search(text)
        if found is not None:
            self.too_long = self.lines + text.count("\n", 0, found.start()) + 1

    def check_last_line(self) -> None:
        """Check the last line read when it has no line end (as the others were checked)."""
        if self._long is not None and self.partial:
            self._check_lines(self.partial + "\n")

    def _remember(self, data: str) -> None:
        cut = data.rfind("\n")
        if cut < 0:
            self.partial += data
            return
        if self._long is not None:
            whole = self.partial + data[: cut + 1]
            self._check_lines(whole)
            self.lines += whole.count("\n")
        end = cut
        while end >= 0:  # the last line with content (blank lines at the end are skipped)
            before = data.rfind("\n", 0, end)
            line = self.partial + data[:end] if before < 0 else data[before + 1 : end]
            if line.strip() or before < 0:
                if line.strip():
                    self.line = line
                break
            end = before
        self.partial = data[cut + 1 :]

    def read(self, size: int = -1) -> str:
        """Read like the wrapped handle, remembering the end."""
        data = self.handle.read(size)
        self._remember(data)
        return data

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.handle.readline()
        if not line:
            raise StopIteration
        self._remember(line)
        return line

    @property
    def ends_with_newline(self) -> bool:
        """Whether what was read so far ends a line (an empty read does)."""
        return not self.partial

    @property
    def last_line(self) -> str:
        """The last line read when it has no line end, else ``""``."""
        return self.partial


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
    table, encoding = read_decoded(
        path, lambda handle: parse_table(handle, path=path, what=what, usecols=usecols), what=what
    )
    if encoding.note:
        table = TextTable(
            frame=table.frame,
            separator=table.separator,
            header_line=table.header_line,
            notes=(encoding.note, *table.notes),
        )
    return table


def parse_table(
    handle: TextIO, *, path: PathLike, what: str, usecols: Callable[[str], bool] | None = None
) -> TextTable:
    """:func:`read_table` on an open text handle (``\\n`` line ends)."""
    columns, separator, header_line = read_header(handle, path=path, what=what)
    notes: list[str] = []
    # empty names at the end of the header: a separator at the end of the line
    header_fields = len(columns)
    while len(columns) > 1 and columns[-1] == "":
        columns.pop()
    repeated = sorted({c for c in columns if columns.count(c) > 1 and c})
    if repeated:
        raise InputFormatError(
            f"the header repeats column(s) {', '.join(repr(c) for c in repeated)}; "
            "every column needs its own name",
            path=path,
            line=header_line,
        )
    names = [c if c else f"(unnamed column {i + 1})" for i, c in enumerate(columns)]
    n = len(names)
    positions: list[int] | None = None
    if usecols is not None:
        positions = [i for i, c in enumerate(names) if usecols(c)]
    # with usecols pandas drops the fields of a longer row silently (and the columns after
    # an extra field shift): the lines are checked as they pass; without, a spare column
    # catches them (room for a separator at the end of each line, checked below)
    tail = Tail(handle, separator=separator, fields=n) if positions is not None else Tail(handle)
    spare = 1 if positions is None else 0
    try:
        with warnings.catch_warnings():
            # pandas warns (and drops data) when a row has more fields than names
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                tail,  # type: ignore[call-overload]
                sep=separator,
                header=None,
                names=list(range(n + spare)),
                index_col=False,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                usecols=positions,
            )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(range(n + spare)) if positions is None else positions)
    except pd.errors.ParserWarning as err:
        raise InputFormatError(
            f"rows have more fields than the {n} columns of the header (line {header_line}); "
            "a stray quote or separator?",
            path=path,
        ) from err
    except pd.errors.ParserError as err:
        message = _PARSER_LINE.sub(
            lambda m: f"line {int(m.group(1)) + header_line}", str(err)
        ).replace("Error tokenizing data. C error: ", "")
        message = re.sub(r"Expected \d+ fields", f"expected {n} fields", message)
        message = re.sub(  # (pandas counts rows from 0 after the header; files count lines)
            r"EOF inside string starting at row (\d+)",
            lambda m: (
                f"the quote opened on line {int(m.group(1)) + header_line + 1} is never "
                "closed (a stray quote?)"
            ),
            message,
        )
        raise InputFormatError(
            f"cannot be read as a {SEPARATOR_NAMES[separator]}-separated table "
            f"with the {n} columns of its header (line {header_line}): {message}",
            path=path,
        ) from err
    frame.index = pd.RangeIndex(header_line + 1, header_line + 1 + len(frame), name="line")
    tail.check_last_line()
    if tail.too_long is not None:
        raise _more_fields(n, header_line, [header_line + tail.too_long], path, shift=True)
    if positions is None:
        extra = frame.iloc[:, n:]
        surplus = (extra != "").any(axis=1).to_numpy(bool)
        if surplus.any():
            raise _more_fields(n, header_line, list(frame.index[surplus]), path)
        frame = frame.iloc[:, :n]
        if header_fields > n or _ends_with_separator(tail, separator, n):
            notes.append(
                "ignored the empty field after the last column (a separator at the end of "
                "each line)"
            )
        frame.columns = pd.Index(names)
    else:
        frame.columns = pd.Index([names[i] for i in positions if i < n])
    if not tail.ends_with_newline and len(frame):
        last = tail.last_line
        try:
            cells = next(csv.reader([last], delimiter=separator), [])
        except csv.Error:
            cells = [""] * n
        if len(cells) < n:
            raise InputFormatError(
                f"the last line has {len(cells)} fields, the header {n}: the file seems truncated",
                path=path,
                line=int(frame.index[-1]),
            )
        if last.strip():
            warnings.warn(
                f"{path}: line {int(frame.index[-1])}, the last, has no line end: if the file "
                f"was cut short there, its last cell ({cells[n - 1]!r}) may be incomplete",
                InputFormatWarning,
                stacklevel=2,
            )
    if len(frame) and frame.shape[1]:
        # only rows whose first cell is empty can be blank; check just those
        first_empty = (_stripped(frame.iloc[:, 0]) == "").to_numpy(bool, na_value=True)
        if first_empty.any():
            candidates = frame[first_empty]
            blank = candidates.apply(lambda column: _stripped(column) == "").all(axis=1)
            frame = frame.drop(index=candidates.index[blank.to_numpy(bool)])
    frame = _drop_row_index(frame, notes)
    return TextTable(frame=frame, separator=separator, header_line=header_line, notes=tuple(notes))


#: First-column names of a row index written by pandas (``""``, ``Unnamed: 0``) or R
#: (``""`` from write.csv, ``...1`` from readr); ``""`` is read as "(unnamed column 1)".
_INDEX_NAMES = frozenset({"", "(unnamed column 1)", "Unnamed: 0", "...1"})
_ROW_NUMBER = re.compile(r"^\d+$")


def some_lines(lines: Sequence[int], limit: int = 10, *, word: str = "line") -> str:
    """Line (or ``word``) numbers for a message: ``line 7``, ``lines 7, 10`` or ``lines 7,
    ... and 3 more``.

    Examples
    --------
    >>> some_lines([7]), some_lines([7, 10]), some_lines(range(2, 15), limit=3)
    ('line 7', 'lines 7, 10', 'lines 2, 3, 4 and 10 more')
    """
    shown = ", ".join(map(str, lines[:limit]))
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"{word}{'s' if len(lines) > 1 else ''} {shown}{more}"


def _more_fields(
    n: int, header_line: int, lines: list[int], path: PathLike, *, shift: bool = False
) -> InputFormatError:
    """The error for lines with more fields than the header's ``n`` columns."""
    return InputFormatError(
        f"more fields than the {n} columns of the header (line {header_line}) on "
        f"{some_lines(lines)}"
        + (": a stray separator shifts the columns after it" if shift else ""),
        path=path,
    )


def index_column(columns: Sequence[str]) -> bool:
    """Whether the first of ``columns`` is named like a row index written by R or pandas."""
    return len(columns) > 1 and columns[0].strip() in _INDEX_NAMES


def without_index(columns: Sequence[str]) -> list[str]:
    """The header without a leading row-index column (see :func:`index_column`)."""
    return list(columns[1:]) if index_column(columns) else list(columns)


def _drop_row_index(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Drop a leading unnamed column of row numbers (a table re-saved from R or pandas)."""
    if not index_column([str(c) for c in frame.columns]):
        return frame
    cells = _stripped(frame.iloc[:, 0])
    numbered = cells.str.match(_ROW_NUMBER).fillna(False).to_numpy(bool)
    if not len(frame) or not numbered.all() or cells.duplicated().any():
        return frame
    notes.append(
        "ignored the first column, unnamed and holding row numbers: a row index written "
        "when the table was re-saved from R or pandas"
    )
    return frame.iloc[:, 1:]


def undotted(table: TextTable, fits: Callable[[Sequence[str]], bool]) -> TextTable:
    """The table with R's dots read back as spaces, when only that reading fits the format.

    R (``read.csv``/``write.csv`` with ``check.names=TRUE``) writes
    ``Protein IDs`` as ``Protein.IDs`` and ``LFQ intensity S1`` as
    ``LFQ.intensity.S1``. A header without any space that does not fit the
    format as written, but fits with dots read as spaces, is read that way
    (sample names too: ``S1.rep`` becomes ``S1 rep``), and a note says so.
    """
    columns = [str(c) for c in table.frame.columns]
    if fits(columns) or any(" " in c for c in columns) or not any("." in c for c in columns):
        return table
    spaced = [c.replace(".", " ") for c in columns]
    if not fits(spaced) or len(set(spaced)) != len(spaced):
        return table
    frame = table.frame.copy()
    frame.columns = pd.Index(spaced)
    changed = [(c, d) for c, d in zip(columns, spaced, strict=True) if c != d]
    shown = ", ".join(f"{c!r} as {d!r}" for c, d in changed[:2])
    note = (
        f"column names written by R, with dots for spaces: read {shown}"
        f"{f' and {len(changed) - 2} more' if len(changed) > 2 else ''} (the table was "
        "re-saved from R; sample names lose their dots too)"
    )
    return TextTable(
        frame=frame,
        separator=table.separator,
        header_line=table.header_line,
        notes=(*table.notes, note),
    )


def _ends_with_separator(tail: Tail, separator: str, n: int) -> bool:
    """Whether the last line read has an (empty) field after the header's ``n`` columns."""
    last = tail.partial or tail.line
    return last.endswith(separator) and last.count(separator) >= n


#: The largest magnitude read as a number. Nothing an instrument or pipeline measures
#: comes near it (1e20 ions would be more than a saliva sample holds; log values stay
#: below 1e3, q-values below 1), and the statistics square and sum values, and square
#: those again: beyond ~1e77 that overflows, beyond ~1e154 a single square does.
MAX_MAGNITUDE = 1e50


def finite(values: np.ndarray | pd.Series | pd.DataFrame) -> np.ndarray:
    """Where values are usable: missing (NaN), or finite with magnitude at most 1e50.

    The one rule every reader applies to quantities: ``inf``, ``-inf``,
    ``Infinity``, numbers that overflow (``1e400``) and numbers beyond
    :data:`MAX_MAGNITUDE` are refused (see :func:`out_of_range`).

    Examples
    --------
    >>> import numpy as np
    >>> finite(np.array([1.0, np.nan, np.inf, 1e60, -3e9])).tolist()
    [True, True, False, False, True]
    """
    array = np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        return np.isnan(array) | (np.abs(array) <= MAX_MAGNITUDE)


def all_finite(values: np.ndarray) -> bool:
    """Whether :func:`finite` holds for every value: two passes, no temporary array.

    Examples
    --------
    >>> import numpy as np
    >>> all_finite(np.array([1.0, np.nan, -3e9])), all_finite(np.array([np.nan, np.inf]))
    (True, False)
    """
    array = np.asarray(values, dtype="float64")
    if array.size == 0:
        return True
    highest = np.fmax.reduce(array, axis=None)  # (fmax, fmin: NaN only where all are)
    if np.isnan(highest):
        return True
    return bool(highest <= MAX_MAGNITUDE and np.fmin.reduce(array, axis=None) >= -MAX_MAGNITUDE)


_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def to_floats(text: pd.Series) -> pd.Series:
    """Cells as float64 (NaN where not a number), overflow as ±inf on every pandas.

    pandas 3 parses ``1e400`` as inf, pandas 2 refuses it; plain decimal numbers
    that pandas refuses are parsed by Python, so that :func:`finite` sees the
    overflow either way.
    """
    values = pd.to_numeric(text, errors="coerce")
    out = pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=text.index)
    retry = out.isna().to_numpy() & text.notna().to_numpy()
    if retry.any():
        cells = text[retry].astype(str).str.strip()
        decimal = cells[cells.str.match(_DECIMAL).to_numpy(bool)]
        out.loc[decimal.index] = [float(cell) for cell in decimal]
    return out


def out_of_range(found: object, *, missing: str = "NA or an empty cell") -> str:
    """The message for a cell :func:`finite` refuses (after ``line N, column 'C': ``)."""
    return (
        f"expected a finite number, found {found!r}: infinite, or beyond ±1e50, which no "
        f"measurement reaches (write {missing} if the value is missing)"
    )


def numbers(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    path: PathLike,
    row: str = "line",
) -> pd.DataFrame:
    """Convert columns to float, reporting every cell that is not a usable number.

    Empty cells and :data:`MISSING_TOKENS` are missing; anything else must be a
    finite number of magnitude at most 1e50 (see :func:`finite`).

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
    block = frame[list(columns)]
    if all(numeric_dtype(dtype) for dtype in block.dtypes):  # e.g. read by table_frame
        floats = block.astype("float64")
        if all_finite(floats.to_numpy()):
            return floats
    out: dict[str, pd.Series] = {}
    problems: list[str] = []
    for column in columns:
        cells = frame[column]
        not_number: np.ndarray
        if _plain_numbers(cells):
            values = cells.astype("float64")
            not_number = np.zeros(len(cells), dtype=bool)
        else:
            text = _stripped(cells)
            missing = (text.isna() | text.isin(MISSING_TOKENS)).to_numpy(bool, na_value=True)
            values = to_floats(text.mask(missing))
            not_number = np.isnan(values.to_numpy()) & ~missing
            if EXACT_FLOATS:  # pandas 2: to_numeric can be off in the last digits; re-parse
                good = ~missing & ~not_number & np.isfinite(values.to_numpy())
                exact = values.to_numpy(copy=True)
                exact[good] = np.asarray(text[good].to_numpy(dtype=str), dtype=float)
                values = pd.Series(exact, index=cells.index)
        huge = ~finite(values.to_numpy())
        bad = pd.Series(not_number | huge, index=cells.index)
        if bad.any() and len(problems) < MAX_LISTED:
            shown = cells[bad].head(MAX_LISTED - len(problems))
            for position, value in shown.items():
                where = f"{row} {position}, column '{column}'"
                if huge[cells.index.get_loc(position)]:
                    problems.append(f"{where}: {out_of_range(value)}")
                else:
                    problems.append(
                        f"{where}: expected a number (empty, NA or NaN for missing), "
                        f"found {value!r}"
                    )
            if bad.sum() > 1:
                problems[-1] += f" ({int(bad.sum())} bad cells in this column)"
        out[column] = values.mask(bad)
    if problems:
        raise InputFormatError(problems, path=path)
    return pd.DataFrame(out, index=frame.index, columns=list(columns))


def _plain_numbers(cells: pd.Series) -> bool:
    return numeric_dtype(cells.dtype)


def holds_values(values: pd.DataFrame) -> bool:
    """Whether any cell holds a value (not missing, not zero): a quantity worth reading.

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> holds_values(pd.DataFrame({"S1": [0.0, np.nan], "S2": [0.0, 0.0]}))
    False
    """
    return bool((values.fillna(0) != 0).to_numpy().any())


def zeros_to_missing(values: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Zeros as NaN (pipelines write 0 for "not detected"), and how many there were."""
    if not all(dtype == np.float64 for dtype in values.dtypes):
        zeros_frame = values == 0
        return values.mask(zeros_frame), int(zeros_frame.to_numpy().sum())
    by_column = values.to_numpy().T  # (pandas' float64 block, as stored)
    zeros = by_column == 0
    out = np.where(zeros, np.nan, by_column).T
    return pd.DataFrame(out, index=values.index, columns=values.columns, copy=False), int(
        np.count_nonzero(zeros)
    )


def zeros_as_missing(values: pd.DataFrame, notes: list[str], *, why: str = "") -> pd.DataFrame:
    """:func:`zeros_to_missing`, saying in ``notes`` how many zeros became missing."""
    values, zeros = zeros_to_missing(values)
    if zeros:
        notes.append(f"read {zeros} zero values as missing{why}")
    return values


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
    """Problems for empty, missing and repeated IDs, each with its lines (empty list when fine).

    IDs are compared as given (readers strip surrounding spaces first); an
    empty cell or a missing-value token (``null``, ``NA``, ...) is no ID.

    Examples
    --------
    >>> import pandas as pd
    >>> ids = pd.Series(["P1", "", "null", "P1"], index=pd.Index([2, 3, 4, 5], name="line"))
    >>> for problem in duplicated_ids(ids):
    ...     print(problem)
    empty protein ID on line 3
    missing protein ID (written 'null') on line 4
    protein ID 'P1' is repeated on lines 2, 5; IDs must be unique
    """
    problems: list[str] = []
    if isinstance(ids.dtype, pd.StringDtype):  # (pandas 3's text: no Python strings made)
        text = ids.fillna("").str.strip()
    else:
        text = ids.astype(object).where(ids.notna(), "").astype(str).str.strip()
    empty = ids.index[(text == "").to_numpy(bool)]
    token = ids.index[text.isin(MISSING_TOKENS - {""}).to_numpy(bool)]

    def lines(index: pd.Index) -> str:
        return some_lines(list(index), word=row)

    if len(empty):
        problems.append(f"empty {what} on {lines(empty)}")
    if len(token):
        written = sorted({str(text[i]) for i in token})
        listed = ", ".join(repr(w) for w in written)
        problems.append(f"missing {what} (written {listed}) on {lines(token)}")
    present = text.drop(empty.append(token))
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


# ---------------------------------------------------------------- columnar fast path
class Unusual(Exception):
    """The fast reader met something it does not read exactly like the careful one.

    Raised by :func:`arrow_batches` (and the readers built on it) for anything
    out of the ordinary: a byte-order mark other than UTF-8's, invalid UTF-8, a
    row with too many or too few fields, a cell that is not a plain number, a
    repeated column name. The caller then reads the file the careful way
    (:func:`read_table`), which gives the same result or the error with its line.
    """


#: Bytes per block of the columnar reader. pyarrow reads up to 32 blocks ahead of the
#: one being converted (so 4 MiB blocks hold ~130 MiB, whatever the file's size); larger
#: blocks cost memory, smaller ones time (2 MiB: +25% time, 1 GB report, 2-core machine).
ARROW_BLOCK_BYTES = 4 << 20
#: Largest block :func:`table_frame` hands to pandas (which asks for 256 KiB at a time).
TABLE_BLOCK_BYTES = 1 << 20
#: Blocks with more lines than this are scanned with numpy, fewer with ``bytes.find``.
_FEW_LINES = 64
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r(?!$)|\n)")


class _ForwardReader:
    """What a forward-only binary file object needs besides ``read`` (for pyarrow, pandas)."""

    closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class _CheckedUtf8(_ForwardReader):
    """A binary file object for pyarrow: the bytes after the header, checked to be UTF-8.

    pyarrow checks only the columns it converts; the careful path decodes every
    byte (and reads a file that is not UTF-8 as Windows-1252, with a warning),
    so the fast path must refuse such a file whatever column the bad byte is in.
    """

    def __init__(self, handle: IO[bytes], start: bytes) -> None:
        import codecs

        self.handle = handle
        self.start = start
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.final = b"\n"  # the last byte read (a file whose rows end without one was cut?)

    def _check(self, block: bytes) -> None:
        if block.isascii() and not self.decoder.getstate()[0]:
            return
        self.decoder.decode(block, final=not block)

    def read(self, size: int = -1) -> bytes:
        if self.start:
            block, self.start = self.start, b""
            if size >= 0 and len(block) > size:
                block, self.start = block[:size], block[size:]
        else:
            block = self.handle.read(size)
        self._check(block)
        if block:
            self.final = block[-1:]
        return block


def arrow_batches(
    path: PathLike,
    *,
    what: str,
    numeric: Callable[[str], bool],
    text: Callable[[str], bool],
    encoded: Callable[[str], bool] | None = None,
    block_bytes: int | None = None,
) -> tuple[list[str], Iterator[Any]]:
    """Read a delimited text file's chosen columns with pyarrow, one block at a time.

    Columns whose (stripped) header name ``numeric`` accepts are parsed as
    float64 (:data:`MISSING_TOKENS` as null; pyarrow's parser rounds
    correctly, like Python's ``float``); those ``text`` accepts are read as
    strings (empty cells as ``""``), dictionary-encoded when ``encoded``
    accepts them too (columns of few distinct values; the default: all). Only plain UTF-8
    files (with or without a byte-order mark, gzip or not, any line ends) are
    read; anything else raises :class:`Unusual`, as does any row pyarrow
    cannot parse, while iterating.

    Returns
    -------
    tuple
        The names of the columns read (file order) and an iterator of
        ``pyarrow.RecordBatch`` with those columns, in file order.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    handle_cm = open_binary(path, what=what)
    handle = handle_cm.__enter__()
    try:
        rest, _, columns, separator = _header_of(handle, path)
        named = [c for c in columns if c]
        if (columns and not columns[-1] and len(columns) > 1) or len(set(named)) != len(named):
            raise Unusual("a separator at the end of the header, or a repeated name")
        keys = [f"c{i}" for i in range(len(columns))]
        types: dict[str, Any] = {}
        used: list[str] = []
        for key, name in zip(keys, columns, strict=True):
            if numeric(name):
                types[key] = pa.float64()
            elif text(name):
                few = encoded is None or encoded(name)
                types[key] = pa.dictionary(pa.int32(), pa.string()) if few else pa.string()
            else:
                continue
            used.append(name)
        source = _CheckedUtf8(handle, rest)
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(
                column_names=keys,
                block_size=block_bytes or ARROW_BLOCK_BYTES,
                use_threads=True,
            ),
            parse_options=pacsv.ParseOptions(delimiter=separator, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=[k for k in keys if k in types],
                null_values=sorted(MISSING_TOKENS),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except Unusual:
        handle_cm.__exit__(None, None, None)
        raise
    except Exception as err:  # anything pyarrow or the header refuses
        handle_cm.__exit__(None, None, None)
        raise Unusual(str(err)) from err

    def batches() -> Iterator[Any]:
        try:
            yield from reader
            if source.final not in (b"\n", b"\r"):  # the careful reader says what to think
                raise Unusual("a last line without line end: a truncated file?")
        except Unusual:
            raise
        except Exception as err:  # pyarrow.ArrowInvalid, a bad byte, ...
            raise Unusual(str(err)) from err
        finally:
            handle_cm.__exit__(None, None, None)

    return used, batches()


@dataclass(frozen=True)
class Cells:
    """The cells a reader needs.

    Attributes
    ----------
    frame : pandas.DataFrame
        Indexed by physical line number (``line``). Read by the careful
        reader: every column, as text. Streamed: the columns asked for only,
        quantities already float64.
    columns : list of str
        The whole header (R's dots read back as spaces, when they were).
    separator : str
        The field separator.
    header_line : int
        Line number of the header.
    notes : tuple of str
        What reading decided (encoding, an R row index, R's dots...).
    """

    frame: pd.DataFrame
    columns: list[str]
    separator: str
    header_line: int
    notes: tuple[str, ...] = ()

    @property
    def separator_name(self) -> str:
        """``tab``, ``comma`` or ``semicolon``."""
        return SEPARATOR_NAMES[self.separator]


class _Scanned(_CheckedUtf8):
    """A binary file object for pandas: the bytes after the header, checked as they pass.

    pandas' C parser completes short rows with empty cells, as the careful reader
    does, but with ``usecols`` it neither decodes the columns it skips nor
    counts the fields of a row. This object does both on each block, at C speed
    (numpy, bytes methods), and remembers what it saw: invalid UTF-8 (the careful
    reader would read the file as Windows-1252), a line with more fields than the
    header, a lone carriage return, the lines read and the last line's end.
    """

    def __init__(
        self, handle: IO[bytes], start: bytes, *, separator: str, fields: int, names: bytes
    ) -> None:
        super().__init__(handle, start)  # (start: the rest of the first MiB, within a block)
        self.names = names
        self.separator = ord(separator)
        self.limit = fields - 1  # separators a line may hold
        self.problem = ""
        self.feeds = 0  # line feeds read
        self.carried = 0  # separators of the line read so far (after the last line feed)
        self.partial = b""  # the line read so far, when it has content other than a CR
        self.returns = self.pairs = 0
        self.last = b""
        self.marks = np.empty(0, dtype=bool)

    def read(self, size: int = -1) -> bytes:
        if self.names:  # pandas' header line, not the file's: not checked
            names, self.names = self.names, b""
            if 0 <= size < len(names):
                names, self.names = names[:size], names[size:]
            return names
        return super().read(min(size, TABLE_BLOCK_BYTES) if size >= 0 else size)

    def _check(self, block: bytes) -> None:
        if self.problem:
            return
        try:
            super()._check(block)
        except UnicodeDecodeError:
            self.problem = "not UTF-8"
            return
        if not block:
            return
        if b"\r" in block or self.last == b"\r":
            self.returns += block.count(b"\r")
            self.pairs += block.count(b"\r\n") + (self.last == b"\r" and block[:1] == b"\n")
        self.last = block[-1:]
        size = len(block)
        if len(self.marks) < size:  # reused: a fresh array per block costs page faults
            self.marks = np.empty(size, dtype=bool)
        data = np.frombuffer(block, np.uint8)
        separators = np.equal(data, self.separator, out=self.marks[:size])
        ends: list[int] = []
        find, at = block.find, 0
        while len(ends) < _FEW_LINES:  # long lines (MaxQuant: ~15 kB): bytes.find is fastest
            found = find(b"\n", at)
            if found < 0:
                break
            ends.append(found)
            at = found + 1
        else:  # many short lines: numpy
            self._many_lines(data, separators.view(np.uint8))
            ends = []
        if ends:
            self.feeds += len(ends)
            count = np.count_nonzero
            most = self.carried + int(count(separators[: ends[0]]))
            for start, end in itertools.pairwise(ends):
                most = max(most, int(count(separators[start + 1 : end])))
            if most > self.limit:
                self.problem = "a line with more fields than the header"
            self.carried = int(count(separators[ends[-1] + 1 :]))
            self.partial = block[ends[-1] + 1 :][-2:]
        elif not at:  # no line feed in the block
            self.carried += int(np.count_nonzero(separators))
            self.partial = (self.partial + block)[-2:]
        if self.carried > self.limit:
            self.problem = "a line with more fields than the header"

    def _many_lines(self, data: np.ndarray, separators: np.ndarray) -> None:
        """:meth:`_check` for a block of many lines: one numpy call per step."""
        ends = np.flatnonzero(data == 10)
        self.feeds += len(ends)
        # separators of each line: the first goes on with the line carried over, the
        # last may go on in the next block
        starts = np.empty(len(ends) + 1, dtype=np.intp)
        starts[0] = 0
        starts[1:] = ends + 1
        tail = int(starts[-1]) < len(data)
        counts = np.add.reduceat(separators, starts if tail else starts[:-1], dtype=np.int64)
        counts[0] += self.carried
        self.carried = int(counts[-1]) if tail else 0
        if int((counts[:-1] if tail else counts).max()) > self.limit:
            self.problem = "a line with more fields than the header"
        self.partial = data[ends[-1] + 1 :][-2:].tobytes()

    def finish(self) -> int:
        """The lines read (a last line without line end counts); raises :class:`Unusual`.

        Refused: what :meth:`read` found, a lone carriage return (a line end for
        the careful reader, which also turns one inside a quoted cell into a line
        feed), and a last line without line end (the careful reader calls the file
        truncated when the line is short, and warns that its last cell may be cut
        otherwise).
        """
        if self.problem:
            raise Unusual(self.problem)
        if self.returns != self.pairs:
            raise Unusual("a lone carriage return")
        unended = self.partial.rstrip(b"\r") != b""
        if unended:  # the careful reader refuses it (short) or warns (its last cell)
            raise Unusual("a last line without line end: a truncated file?")
        return self.feeds + unended


def _header_of(handle: IO[bytes], path: PathLike) -> tuple[bytes, int, list[str], str]:
    """Read a table's header from a binary handle, as the careful reader finds it.

    Returns the bytes read after the header line, the header's line number, its
    (stripped) column names and the separator; raises :class:`Unusual` when the
    start of the file is anything but plain UTF-8 with a header in its first
    megabyte.
    """
    head = handle.read(1 << 20)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if any(head.startswith(bom) for bom, _, _ in _BOMS) or b"\x00" in head[:_SNIFF_BYTES]:
        raise Unusual("not plain UTF-8")
    for header_line, match in enumerate(_LINE.finditer(head), start=1):
        try:
            decoded = match.group().decode("utf-8")
        except UnicodeDecodeError as err:
            raise Unusual("not UTF-8 before the end of the header") from err
        if decoded.strip():  # str.strip, as the careful reader: Unicode whitespace too
            line = decoded.rstrip("\r\n")
            separator = separator_of(line)
            try:
                columns = _split_header(line, separator, path=path, line_no=header_line)
            except InputFormatError as err:
                raise Unusual(str(err)) from err
            return head[match.end() :], header_line, columns, separator
    raise Unusual("no header line in the first megabyte")


#: Parse files with more bytes after the header than this in parts, one thread each
#: (pandas' tokenizer and its float and pyarrow-string conversions run without the GIL):
#: 10-25% faster on two cores (150 MB proteinGroups.txt). Only plain files (not gzip,
#: not a pipe), cut at line feeds.
SPLIT_BYTES = 32 << 20
#: Threads (and parts) at most; more than two gained nothing on a 2-core machine.
MAX_PARTS = 2


class _Slice(_ForwardReader):
    """A byte range of an open file, read with ``os.pread`` (threads share the descriptor)."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        self.fd = fd
        self.at = start
        self.end = end

    def read(self, size: int = -1) -> bytes:
        left = self.end - self.at
        size = left if size < 0 else min(size, left)
        block = os.pread(self.fd, size, self.at) if size > 0 else b""
        self.at += len(block)
        return block


def _cpus() -> int:
    """The CPUs this process may run on (its affinity), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # (no sched_getaffinity on macOS and Windows)
        return os.cpu_count() or 1


def _cuts(handle: IO[bytes], body: int) -> list[int] | None:
    """Where to cut a plain file into parts (start and end offsets), or ``None``.

    ``body`` is the offset where the rows start. Each cut is just after a line feed
    near an equal share of the rows' bytes. ``None``: the file is small, gzip, not
    a regular file, or has no line feed where a cut would go.
    """
    parts = min(MAX_PARTS, _cpus())
    if parts < 2 or not isinstance(handle, io.BufferedReader) or not hasattr(os, "pread"):
        return None  # (gzip: one part; no os.pread on Windows)
    try:
        fd = handle.fileno()
        status = os.fstat(fd)
    except (OSError, ValueError):
        return None
    size = status.st_size
    if not stat.S_ISREG(status.st_mode) or size - body <= SPLIT_BYTES:
        return None
    cuts = [body]
    for k in range(1, parts):
        at = max(body + (size - body) * k // parts, cuts[-1])
        while at < size:
            block = os.pread(fd, 1 << 16, at)
            found = block.find(b"\n")
            if found >= 0:
                at += found + 1
                break
            at += len(block)
        if at >= size:
            break
        cuts.append(at)
    if len(cuts) < 2:
        return None
    return [*cuts, size]


@dataclass
class _Part:
    """One part of a table read by pandas: its text cells, its numbers, its lines."""

    text: dict[str, pd.Series]
    numbers: list[np.ndarray]  # (pandas' own arrays, one per column)
    lines: int


def _read_part(
    source: _Scanned, options: dict[str, Any], text_keys: list[str], number_keys: list[str]
) -> _Part:
    """pandas reads ``source``; the rows must be its lines, the numbers finite, IDs there."""
    try:
        read = pd.read_csv(source, **options)  # type: ignore[call-overload]
    except Exception as err:  # a cell that is not a number, a row pandas refuses, ...
        raise Unusual(f"{type(err).__name__}: {err}") from err
    lines = source.finish()
    if len(read) != lines:
        raise Unusual("rows and lines differ (line ends inside quoted cells)")
    numbers = [read[key].to_numpy(dtype="float64", copy=False) for key in number_keys]
    for key, values in zip(number_keys, numbers, strict=True):
        if not all_finite(values):
            raise Unusual(f"an infinite or huge number in column {key}")
    text = {  # (see _text_dtype)
        key: read[key].astype("str") if isinstance(read[key].dtype, pd.ArrowDtype) else read[key]
        for key in text_keys
    }
    if (text[text_keys[0]].str.strip() == "").any():
        raise Unusual("an empty first cell: a blank row, or an empty ID")
    return _Part(text, numbers, lines)


def _text_dtype() -> Any:
    """The dtype pandas is asked to read text cells as.

    pandas 3 builds a pyarrow string column straight from its tokens, without
    the GIL (parts read in threads run side by side), and ``astype("str")``
    then gives the very column ``dtype=str`` would. pandas 2's ``str`` is
    Python objects: asked for as such.
    """
    if int(pd.__version__.split(".")[0]) < 3:
        return str
    import pyarrow as pa

    return pd.ArrowDtype(pa.large_string())


def table_frame(
    path: PathLike,
    *,
    what: str,
    numeric: Callable[[Sequence[str]], Iterable[str]],
    text: Callable[[Sequence[str]], Iterable[str]],
    missing: frozenset[str] = frozenset(),
) -> Cells:
    """Read only the columns a reader needs, as :func:`read_table` + :func:`numbers` would.

    ``numeric`` and ``text`` are given the header and name the columns to read
    as numbers and as text (an :class:`~salivaprot.errors.InputFormatError`
    they raise becomes :class:`Unusual`: the careful reader then says what is
    wrong, in its order). The first column is always read as text too. Names
    not in the header are left out.

    pandas' C parser reads the file (the careful reader's own tokenizer, with
    ``usecols``: the columns not asked for are split off, never converted), at
    pandas' speed; numbers are parsed by it exactly (correctly rounded, like
    Python's ``float``; :data:`MISSING_TOKENS` and ``missing``, exactly as
    written, are missing), rows with fewer fields than the header (real MaxQuant
    tables leave out empty fields at the end) are completed with empty cells.
    Memory follows the columns read, not the file. A plain file of more than
    :data:`SPLIT_BYTES` is cut at line feeds into parts (:data:`MAX_PARTS`), each
    read by pandas in its own thread, its line numbers following the lines of the
    parts before it.

    Anything the careful reader would read differently, or refuse, raises
    :class:`Unusual`: a file that is not plain UTF-8 (checked on every byte,
    see :class:`_Scanned`), a separator at the end of the header or a repeated
    or empty column name, a line with more fields than the header, a lone
    carriage return, a last line without line end, a row count that is not
    the line count of the file or of any part (line ends inside quoted cells; a
    cut inside a quoted cell leaves the part before it ending inside quotes,
    which pandas refuses), an empty first cell (a blank row, or an empty ID), a
    number cell that is not a plain finite number of magnitude at most 1e50
    (``NAN``, ``inf``, ``1e60``, ``n.d.``...).
    """
    tokens = sorted(MISSING_TOKENS | missing)
    with open_binary(path, what=what) as handle:
        rest, header_line, columns, separator = _header_of(handle, path)
        if len(columns) < 2 or "" in columns or len(set(columns)) != len(columns):
            # (the careful reader names an unnamed column "(unnamed column <n>)")
            raise Unusual("a single column, an unnamed column or a repeated name")
        try:
            numbers_read = set(numeric(columns)) & set(columns)
            text_read = (set(text(columns)) & set(columns)) - numbers_read
        except InputFormatError as err:
            raise Unusual(str(err)) from err
        if columns[0] in numbers_read:
            raise Unusual("numbers in the first column")
        text_read.add(columns[0])
        text_at = [i for i, name in enumerate(columns) if name in text_read]
        numbers_at = [i for i, name in enumerate(columns) if name in numbers_read]
        # pandas is given a header line of its own: ``c<i>`` for column i. With a header
        # the table is as wide as the header, and a column no row of a block reaches
        # (a short row leaves it out) is read as empty cells, not refused
        keys = [f"c{i}" for i in range(len(columns))]
        text_keys = [keys[i] for i in text_at]
        number_keys = [keys[i] for i in numbers_at]
        wanted = {*text_keys, *number_keys}
        options: dict[str, Any] = {
            "sep": separator,
            "header": 0,
            "index_col": False,
            "usecols": wanted.__contains__,  # (a list: refused in a block no row reaches)
            "dtype": {
                **dict.fromkeys(text_keys, _text_dtype()),
                # (a dtype object: pandas resolves the name "float64" column by column)
                **dict.fromkeys(number_keys, np.dtype("float64")),
            },
            "keep_default_na": False,
            "na_values": {key: tokens for key in number_keys},
            "skip_blank_lines": False,
            "encoding": "utf-8",
            "engine": "c",
            **EXACT_FLOATS,
        }

        def source(handle: IO[bytes], start: bytes) -> _Scanned:
            return _Scanned(
                handle,
                start,
                separator=separator,
                fields=len(columns),
                names=(separator.join(keys) + "\n").encode(),
            )

        cuts = _cuts(handle, handle.tell() - len(rest))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a ParserWarning, a DtypeWarning...
            if cuts is None:
                parts = [_read_part(source(handle, rest), options, text_keys, number_keys)]
            else:
                parts = _read_parts(handle.fileno(), cuts, source, options, text_keys, number_keys)
    lines = sum(part.lines for part in parts)
    index = pd.RangeIndex(header_line + 1, header_line + 1 + lines, name="line")
    # pandas returns one array per column: copied once, into one block by column
    matrix = np.empty((lines, len(numbers_at)), dtype="float64", order="F")
    row = 0
    for part in parts:
        for column, values in enumerate(part.numbers):
            matrix[row : row + part.lines, column] = values
        part.numbers.clear()
        row += part.lines
    frame = pd.DataFrame(
        matrix, index=index, columns=pd.Index([columns[i] for i in numbers_at]), copy=False
    )
    for position, (at, key) in enumerate(zip(text_at, text_keys, strict=True)):
        pieces = [part.text[key] for part in parts]
        cells = pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True)
        frame.insert(position, columns[at], cells.set_axis(index))
    return Cells(frame, columns, separator, header_line)


def _read_parts(
    fd: int,
    cuts: list[int],
    source: Callable[[IO[bytes], bytes], _Scanned],
    options: dict[str, Any],
    text_keys: list[str],
    number_keys: list[str],
) -> list[_Part]:
    """:func:`_read_part` on each range between ``cuts``, the first in this thread."""
    from concurrent.futures import ThreadPoolExecutor

    ranges = [
        source(_Slice(fd, start, end), b"")  # type: ignore[arg-type]
        for start, end in itertools.pairwise(cuts)
    ]
    with ThreadPoolExecutor(max_workers=len(ranges) - 1) as pool:
        later = [
            pool.submit(_read_part, scanned, options, text_keys, number_keys)
            for scanned in ranges[1:]
        ]
        try:
            first = _read_part(ranges[0], options, text_keys, number_keys)
        except Unusual:
            for scanned in ranges[1:]:  # the careful reader takes over: stop the others
                scanned.handle.end = scanned.handle.at  # type: ignore[attr-defined]
            raise
        return [first, *(future.result() for future in later)]
