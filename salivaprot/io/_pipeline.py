"""One reader pipeline for protein tables: a format describes its columns, the rest is shared.

Every protein-table reader runs the same sequence: read the columns it needs,
take the protein IDs, check them (empty, missing, repeated), parse the
quantities (exact floats; every bad cell named by line and column), read
zeros as missing, flag contaminants and decoys and fill gene, description
and species, and build the :class:`~salivaprot.io.quant.QuantTable`. A format
is a :class:`Format` (which columns hold what); a reader keeps only what is
truly its own (which quantity to use, refusals, layout quirks) and calls the
steps here: :func:`read_cells`, :func:`protein_ids`, :func:`quantities` and
:func:`quant_table`; :func:`read_format` runs them all for a format that
needs nothing else.

:func:`read_cells` reads only the columns a reader needs, with pandas' C parser
(:func:`~salivaprot.io._tables.table_frame`, every block scanned at C speed for
what would make it read differently), so memory follows those columns and not
the file; anything unusual in the file sends it to the careful reader
(:func:`~salivaprot.io._tables.read_table`, every cell as text), which gives
the same cells or the error naming its line and column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.io._files import PathLike
from salivaprot.io._tables import (
    Cells,
    Unusual,
    column_table,
    duplicated_ids,
    index_column,
    listing,
    numbers,
    read_table,
    table_frame,
    text_column,
    undotted,
    zeros_as_missing,
)
from salivaprot.io.quant import QuantTable, annotate_proteins

__all__ = [
    "STREAM",
    "Cells",
    "Extra",
    "Format",
    "Sample",
    "protein_ids",
    "quant_table",
    "quantities",
    "read_cells",
    "read_format",
]

#: Read protein tables through the columnar reader when they allow it (tests turn it
#: off to compare with the careful reader).
STREAM = True

#: A quantity column: its header, the keys a sample sheet's ``run`` may use for it, and
#: the sample name used without a sheet.
Sample = tuple[str, tuple[str, ...], str]


@dataclass(frozen=True)
class Extra:
    """A column kept in the protein table.

    ``kind``: ``text`` (stripped, empty as missing), ``number`` (missing
    unless a number) or ``cells`` (as written).
    """

    column: str
    name: str
    kind: Literal["text", "number", "cells"] = "text"


def _no_samples(columns: Sequence[str]) -> list[Sample]:
    return []


@dataclass(frozen=True)
class Format:
    """What a protein table's columns hold.

    Attributes
    ----------
    what : str
        The file, for messages (``MaxQuant proteinGroups.txt``).
    ids : tuple of str
        Candidates for the protein ID column, the first present is used.
    id_what : str
        What an ID is called in messages.
    samples : callable
        The header -> its quantity columns as :data:`Sample` (for
        :func:`read_format`; readers with a choice of quantity choose themselves).
    source, summary : str
        :attr:`QuantTable.source`, and the first note of :func:`read_format`
        (``{separator}``, ``{rows}`` and ``{samples}`` filled in).
    extras : tuple of Extra
        Columns kept in the protein table.
    description, gene, entry_name, species : tuple of str
        Candidate columns of each, the first present is used.
    flags : tuple of (str, tuple of str)
        Protein-table flag -> candidate columns where ``+`` marks it
        (``is_contaminant``, ``is_decoy``: the software's own flags, then
        authoritative; others are kept as extra columns).
    fits : callable, optional
        Whether a header is this format's (column names written by R, with
        dots for spaces, are read back when only that reading fits).
    missing : frozenset of str
        Words for "no value" in quantity cells besides the shared tokens.
    zeros : str
        Why zeros are missing, added to the note (``" (MaxQuant writes 0 ...)"``).
    """

    what: str
    ids: tuple[str, ...]
    id_what: str = "protein ID"
    samples: Callable[[Sequence[str]], list[Sample]] = _no_samples
    source: str = ""
    summary: str = "{separator}-separated; {rows} proteins x {samples} samples"
    extras: tuple[Extra, ...] = ()
    description: tuple[str, ...] = ()
    gene: tuple[str, ...] = ()
    entry_name: tuple[str, ...] = ()
    species: tuple[str, ...] = ()
    flags: tuple[tuple[str, tuple[str, ...]], ...] = ()
    fits: Callable[[Sequence[str]], bool] | None = None
    missing: frozenset[str] = field(default_factory=frozenset)
    zeros: str = ""

    def id_column(self, columns: Sequence[str]) -> str | None:
        """The protein ID column of a header (``None`` when it has none)."""
        return next((c for c in self.ids if c in columns), None)

    def text_columns(self) -> set[str]:
        """Every column the description names, read as text."""
        named = {*self.ids, *self.description, *self.gene, *self.entry_name, *self.species}
        named.update(extra.column for extra in self.extras)
        for _, sources in self.flags:
            named.update(sources)
        return named


def read_cells(
    path: PathLike,
    fmt: Format,
    *,
    quantities: Callable[[Sequence[str]], Iterable[str]],
    text: Callable[[Sequence[str]], Iterable[str]] | None = None,
) -> Cells:
    """Read the cells of the columns a reader needs.

    ``quantities`` names, from the header, the columns to read as numbers;
    the format's own columns and those ``text`` names are read as text.
    Streamed (see the module) when the file allows: plain UTF-8, one row per
    line, no row index, a header that fits the format as written, every
    number cell a plain finite number or a missing-value token. Otherwise the
    careful reader reads every cell, as text; an
    :class:`~salivaprot.errors.InputFormatError` that ``quantities`` or
    ``text`` raise is then the reader's to raise again (they are called on
    the header only to choose the columns).
    """
    if STREAM:

        def numeric(columns: Sequence[str]) -> Iterable[str]:
            if index_column(columns) or (fmt.fits is not None and not fmt.fits(columns)):
                raise Unusual("a row index, or a header that does not fit as written")
            return quantities(columns)

        def texts(columns: Sequence[str]) -> set[str]:
            return fmt.text_columns() | set(text(columns) if text is not None else ())

        try:
            return table_frame(
                path, what=fmt.what, numeric=numeric, text=texts, missing=fmt.missing
            )
        except Unusual:
            pass  # the careful reader gives the same cells, or says what is wrong
    table = read_table(path, what=fmt.what)
    if fmt.fits is not None:
        table = undotted(table, fmt.fits)
    return Cells(
        frame=table.frame,
        columns=[str(c) for c in table.frame.columns],
        separator=table.separator,
        header_line=table.header_line,
        notes=table.notes,
    )


def id_column(cells: Cells, fmt: Format, *, path: PathLike, expected: str) -> str:
    """The protein ID column; the error names the candidates and the columns found."""
    found = fmt.id_column(cells.columns)
    if found is None:
        wanted = " or ".join(repr(c) for c in fmt.ids)
        raise InputFormatError(
            f"no {wanted} column; a {expected}. Columns found: {listing(cells.columns)}",
            path=path,
            line=cells.header_line,
        )
    return found


def protein_ids(cells: Cells, column: str) -> pd.Series:
    """The IDs of a column, without surrounding spaces, indexed by line."""
    return cells.frame[column].str.strip()


def id_problems(ids: pd.Series, fmt: Format | None, *, path: PathLike) -> list[str]:
    """Empty, missing and repeated IDs, each with its lines, for an error."""
    what = fmt.id_what if fmt is not None else "protein ID"
    return [f"{path}: {problem}" for problem in duplicated_ids(ids, what=what)]


def quantities(
    cells: Cells | pd.DataFrame,
    labels: Sequence[str],
    *,
    path: PathLike,
    ids: pd.Series | None = None,
    fmt: Format | None = None,
    refuse_repeats: bool = True,
) -> pd.DataFrame:
    """The quantity columns as float64, with the ID check.

    Every bad cell is named by line and column (with the ID problems first,
    all in one error); the IDs' problems alone are raised unless
    ``refuse_repeats`` is off (a reader that resolves repeats itself).
    """
    frame = cells.frame if isinstance(cells, Cells) else cells
    problems = id_problems(ids, fmt, path=path) if ids is not None else []
    try:
        values = numbers(frame, labels, path=path)
    except InputFormatError as err:
        raise InputFormatError([*problems, *err.problems]) from err
    if problems and refuse_repeats:
        raise InputFormatError(problems)
    return values


def _loose_numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column's cells as numbers where they are, else missing (a score, a count)."""
    cells = frame[column]
    if isinstance(cells.dtype, pd.StringDtype) and cells.dtype.na_value is not pd.NA:
        # pandas 3's text (missing as NaN, not <NA>): to float64 or int64 without Python strings
        plain = _plain_numbers(cells)
        return plain if plain is not None else pd.to_numeric(cells.str.strip(), errors="coerce")
    text = text_column(frame, column)
    return pd.to_numeric(text if text is not None else cells, errors="coerce")


#: Cells ``pyarrow`` casts to numbers exactly as ``pandas.to_numeric`` reads them.
_WHOLE = r"^-?[0-9]{1,18}$"
_DECIMAL_CELL = (
    r"^-?(?:[0-9]{1,18}|(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?"
    r"|[0-9]+[eE][+-]?[0-9]{1,3})$"
)


def _plain_numbers(cells: pd.Series) -> pd.Series | None:
    """pandas 3 text cells of plain numbers by pyarrow's cast, as ``to_numeric`` reads them.

    int64 when every cell is a whole number (of at most 18 digits), float64 when
    some are not or are empty (missing); both parsers round correctly, so the
    values are the same. ``None`` when a cell needs ``to_numeric``'s own rules
    (spaces around it, a sign ``+``, a word, ``NaN`` or ``inf`` written out, a
    longer whole number) or the column holds no number.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if getattr(cells.dtype, "storage", None) != "pyarrow":
        return None
    text = pa.array(cells.array)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    written = pc.drop_null(text)
    if not len(written):
        return None
    whole = pc.all(pc.match_substring_regex(written, _WHOLE)).as_py()
    if not whole and not pc.all(pc.match_substring_regex(written, _DECIMAL_CELL)).as_py():
        return None
    values = pc.cast(text, pa.int64() if whole and not text.null_count else pa.float64())
    if not whole and not pc.all(pc.is_finite(values)).as_py():  # (1e400)
        return None
    return pd.Series(values.to_numpy(zero_copy_only=False), index=cells.index, name=cells.name)


def _plus(frame: pd.DataFrame, names: Sequence[str]) -> pd.Series | None:
    for name in names:
        if name in frame.columns:
            return frame[name].str.strip() == "+"
    return None


def quant_table(
    cells: Cells | pd.DataFrame,
    fmt: Format,
    *,
    path: PathLike,
    ids: pd.Series,
    values: pd.DataFrame,
    keys: Sequence[Sequence[str]],
    names: Sequence[str] | None = None,
    notes: list[str],
    zero_as_missing: bool,
    source: str,
    rows: pd.DataFrame | None = None,
    flag_notes: Callable[[dict[str, pd.Series | None], pd.Series], list[str]] | None = None,
    given: Mapping[str, pd.Series | None] | None = None,
    added: Mapping[str, Any] | None = None,
) -> QuantTable:
    """Zeros to missing, the protein table, and the :class:`QuantTable`.

    Parameters
    ----------
    cells, fmt
        What was read (or just its rows, a frame), and the format.
    ids, values
        Protein IDs and quantities (data columns named), indexed like ``rows``.
    keys, names
        Run keys and sample name of each data column (see
        :func:`~salivaprot.io._tables.column_table`).
    path, source
        The file, and :attr:`QuantTable.source`.
    notes
        The reader's notes so far; the zeros note is added.
    zero_as_missing
        Read zeros as missing (the note says how many).
    rows
        The rows the proteins come from (default: ``cells.frame``).
    flag_notes
        What the reader says of its flags (``flags, ids -> notes``).
    given
        Protein annotations the reader derived itself (``taxid``, ``species``,
        ...), passed to :func:`~salivaprot.io.quant.annotate_proteins` over
        the format's columns.
    added
        Protein-table columns added after the standard ones.
    """
    frame = cells.frame if isinstance(cells, Cells) else cells
    if rows is not None:
        frame = rows
    if zero_as_missing:
        values = zeros_as_missing(values, notes, why=fmt.zeros)
    flags = {name: _plus(frame, sources) for name, sources in fmt.flags}
    own = flags.get("is_contaminant") is not None and flags.get("is_decoy") is not None
    if flag_notes is not None:
        notes.extend(flag_notes(flags, ids))
    id_column = fmt.id_column(list(frame.columns))
    extras = pd.DataFrame({"line": frame.index.to_numpy()}, index=frame.index)
    for extra in fmt.extras:
        if extra.column not in frame.columns or extra.column == id_column:
            continue
        if extra.kind == "cells":
            extras[extra.name] = frame[extra.column]
        elif extra.kind == "number":
            extras[extra.name] = _loose_numbers(frame, extra.column)
        else:
            extras[extra.name] = text_column(frame, extra.column)
    for name, flag in flags.items():
        if name not in ("is_contaminant", "is_decoy") and flag is not None:
            extras[name] = flag
    annotations = {
        "description": text_column(frame, *fmt.description),
        "gene": text_column(frame, *fmt.gene),
        "species": text_column(frame, *fmt.species),
        "entry_name": text_column(frame, *fmt.entry_name),
        **(given or {}),
    }
    proteins = annotate_proteins(
        extras,
        accession=ids,
        is_contaminant=flags.get("is_contaminant"),
        is_decoy=flags.get("is_decoy"),
        prefixes=not own,
        **annotations,
    )
    for name, column in (added or {}).items():
        proteins[name] = column
    values.index = proteins.index
    labels = [str(c) for c in values.columns]
    return QuantTable(
        abundance=values,
        proteins=proteins,
        columns=column_table(labels, keys, names=names),
        path=str(path),
        source=source,
        notes=tuple(notes),
    )


def read_format(path: PathLike, fmt: Format, *, zero_as_missing: bool = True) -> QuantTable:
    """Read a table that is nothing but its :class:`Format`: the whole pipeline.

    Examples
    --------
    A format described in a few lines (a made-up one):

    >>> import tempfile, pathlib
    >>> toy = Format(
    ...     what="toy table",
    ...     ids=("Accession",),
    ...     samples=lambda columns: [
    ...         (c, (c, c[4:]), c[4:]) for c in columns if c.startswith("qty ")
    ...     ],
    ...     source="toy table",
    ...     gene=("Gene",),
    ...     extras=(Extra("Score", "score", "number"),),
    ... )
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.tsv"
    >>> _ = path.write_text("Accession\\tGene\\tScore\\tqty A\\tqty B\\n"
    ...                     "P04745\\tAMY1A\\t12.5\\t5e9\\t0\\nCON__P02769\\tALB\\t3\\t2e7\\tNA\\n")
    >>> quant = read_format(path, toy)
    >>> quant.abundance
                    qty A  qty B
    protein_id
    P04745       5.000000e+09    NaN
    CON__P02769  2.000000e+07    NaN
    >>> quant.columns["name"].tolist(), quant.proteins["is_contaminant"].tolist()
    (['A', 'B'], [False, True])
    >>> quant.notes
    ('tab-separated; 2 proteins x 2 samples', 'read 1 zero values as missing')
    """

    def labels(columns: Sequence[str]) -> list[str]:
        return [column for column, _, _ in fmt.samples(columns)]

    cells = read_cells(path, fmt, quantities=labels)
    column = id_column(cells, fmt, path=path, expected=fmt.what)
    samples = fmt.samples(cells.columns)
    if not samples:
        raise InputFormatError(f"no quantity columns; a {fmt.what}", path=path)
    ids = protein_ids(cells, column)
    values = quantities(cells, labels(cells.columns), path=path, ids=ids, fmt=fmt)
    summary = fmt.summary.format(
        separator=cells.separator_name, rows=len(ids), samples=len(samples)
    )
    return quant_table(
        cells,
        fmt,
        path=path,
        ids=ids,
        values=values,
        keys=[keys for _, keys, _ in samples],
        names=[name for _, _, name in samples],
        notes=[summary, *cells.notes],
        zero_as_missing=zero_as_missing,
        source=fmt.source or fmt.what,
    )
