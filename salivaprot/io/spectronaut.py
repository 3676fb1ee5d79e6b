"""Spectronaut protein reports: the long layout and the pivot (protein x run) layout."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.io._files import PathLike
from salivaprot.io._pipeline import (
    Extra,
    Format,
    id_column,
    id_problems,
    protein_ids,
    quant_table,
    quantities,
    read_cells,
)
from salivaprot.io._tables import MAX_LISTED, listing, numbers, run_keys
from salivaprot.io.quant import QuantTable

__all__ = ["EXPECTED", "looks_like_spectronaut", "read_spectronaut"]

#: What a Spectronaut protein report looks like, for messages.
EXPECTED = (
    "Spectronaut protein report: 'PG.ProteinGroups' and either the long layout "
    "('R.FileName', 'PG.Quantity', one row per run and protein group or precursor) or the "
    "pivot layout ('[n] <run>.PG.Quantity' columns)"
)
_PIVOT = re.compile(r"^\[(\d+)\] (.+)\.PG\.Quantity$")
#: Spectronaut's words for "no value" in quantity cells (besides the shared tokens).
_MISSING = frozenset({"Filtered", "filtered"})
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")
#: A comma that could separate thousands as well as decimals.
_THOUSANDS = re.compile(r"^[+-]?\d{1,3},\d{3}$")
_RELATIVE_TOLERANCE = 1e-6


def _pivot_columns(columns: Sequence[str]) -> list[tuple[str, str]]:
    """(column, run) of the pivot layout's quantity columns, in file order."""
    return [(c, m.group(2)) for c in columns if (m := _PIVOT.match(c.strip()))]


def looks_like_spectronaut(columns: Sequence[str]) -> bool:
    """Whether a header is a Spectronaut protein report's (long or pivot layout)."""
    present = set(columns)
    if "PG.ProteinGroups" not in present:
        return False
    return {"R.FileName", "PG.Quantity"} <= present or bool(_pivot_columns(columns))


#: The columns of a Spectronaut protein report (long or pivot layout).
FORMAT = Format(
    what="Spectronaut report",
    ids=("PG.ProteinGroups",),
    id_what="PG.ProteinGroups",
    extras=(
        Extra("PG.ProteinAccessions", "protein_accessions"),
        Extra("PG.ProteinNames", "protein_names"),
        Extra("PG.Qvalue", "pg_q_value"),
    ),
    description=("PG.ProteinDescriptions",),
    gene=("PG.Genes",),
    species=("PG.Organisms",),
    entry_name=("PG.ProteinNames",),
    missing=_MISSING,
)


def _needed(columns: Sequence[str]) -> list[str]:
    return [column for column, _ in _pivot_columns(columns)] or ["PG.Quantity"]


def read_spectronaut(path: PathLike, *, zero_as_missing: bool = True) -> QuantTable:
    """Read a Spectronaut protein report (``PG.Quantity`` per protein group and run).

    Two layouts are read. The long layout has one row per run and protein
    group (or per precursor or fragment, each repeating the group's
    ``PG.Quantity``, which must then agree): runs are ``R.FileName``. The pivot
    layout has one row per protein group and a ``[n] <run>.PG.Quantity``
    column per run. Protein IDs are ``PG.ProteinGroups``; genes
    ``PG.Genes``; descriptions ``PG.ProteinDescriptions``; species
    ``PG.Organisms``. ``Filtered``, ``NaN`` and empty cells are missing. A
    file whose numbers use a decimal comma (``1234,5``; Spectronaut in a
    German or French locale, usually with semicolon or tab separators) is
    read so, and the notes say it.

    Parameters
    ----------
    path : str or path-like
        The report (tab, comma or semicolon separated; gzip, BOM, CRLF fine).
    zero_as_missing : bool
        Read zeros as missing.

    Returns
    -------
    QuantTable
        Data columns: the run names (long) or the ``[n] <run>.PG.Quantity``
        headers (pivot); a sheet's ``run`` may give the run name, its file
        stem or (pivot) the whole header.

    Raises
    ------
    InputFormatError
        For a missing ``PG.ProteinGroups`` or quantity column, empty or
        repeated protein groups (pivot), values of one group and run that
        disagree (long), or cells that are not numbers (with line and column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "Report.tsv"
    >>> _ = path.write_text(
    ...     "PG.ProteinGroups\\tPG.Genes\\t[1] S01_base.raw.PG.Quantity\\t"
    ...     "[2] S01_m4.raw.PG.Quantity\\nP04745\\tAMY1A\\t5e9\\tFiltered\\n")
    >>> quant = read_spectronaut(path)
    >>> quant.columns["name"].tolist(), quant.abundance.iloc[0].tolist()
    (['S01_base', 'S01_m4'], [5000000000.0, nan])
    """
    cells = read_cells(path, FORMAT, quantities=_needed, text=lambda _columns: ["R.FileName"])
    frame = cells.frame
    columns = cells.columns
    id_column(cells, FORMAT, path=path, expected=EXPECTED)
    pivot = _pivot_columns(columns)
    notes: list[str] = []
    if pivot:
        labels = [column for column, _ in pivot]
        quantity_cells, comma = _decimal(frame, labels, cells.separator, path=path)
        ids = protein_ids(cells, "PG.ProteinGroups")
        values = quantities(quantity_cells, labels, path=path, ids=ids, fmt=FORMAT)
        notes.append(
            f"pivot layout ({cells.separator_name}-separated): {len(ids)} protein groups x "
            f"{len(labels)} runs ('[n] <run>.PG.Quantity' columns)"
        )
        rows = frame
        keys = [(column, column.split(".PG.Quantity")[0], *run_keys(run)) for column, run in pivot]
        names = [run_keys(run)[-1] for _, run in pivot]
        source = "Spectronaut protein report (pivot layout, PG.Quantity)"
    else:
        for needed in ("R.FileName", "PG.Quantity"):
            if needed not in columns:
                raise InputFormatError(
                    f"no {needed!r} column; a {EXPECTED}. Columns found: {listing(columns)}",
                    path=path,
                    line=cells.header_line,
                )
        quantity_cells, comma = _decimal(frame, ["PG.Quantity"], cells.separator, path=path)
        quantity = numbers(quantity_cells, ["PG.Quantity"], path=path)["PG.Quantity"]
        groups = frame["PG.ProteinGroups"].str.strip()
        runs = frame["R.FileName"].str.strip()
        unique_groups = groups.drop_duplicates()  # no repeats left: finds empty IDs only
        problems = id_problems(unique_groups, FORMAT, path=path)
        empty_runs = runs.index[(runs == "").to_numpy(bool)]
        if len(empty_runs):
            shown = ", ".join(map(str, empty_runs[:10]))
            problems.append(f"{path}: empty R.FileName on line(s) {shown}")
        if problems:
            raise InputFormatError(problems)
        long = pd.DataFrame({"group": groups, "run": runs, "value": quantity})
        _check_agreement(long, path=path)
        first = long.groupby(["group", "run"], sort=False)["value"].first()
        values = first.unstack("run")
        group_order = list(dict.fromkeys(groups))
        run_order = list(dict.fromkeys(runs))
        values = values.reindex(index=group_order, columns=run_order)
        rows = frame.loc[~groups.duplicated().to_numpy()]
        ids = rows["PG.ProteinGroups"].str.strip()
        values.index = ids.index
        values.columns = pd.Index(run_order)
        labels = run_order
        per_pair = len(long) / max(int(long.groupby(["group", "run"]).ngroups), 1)
        notes.append(
            f"long layout ({cells.separator_name}-separated): {len(ids)} protein groups x "
            f"{len(labels)} runs (R.FileName), from {len(long)} rows"
            + (f" ({per_pair:.1f} per group and run, agreeing)" if per_pair > 1 else "")
        )
        keys = [run_keys(run) for run in labels]
        names = [k[-1] for k in keys]
        source = "Spectronaut protein report (long layout, PG.Quantity)"
    notes.extend(cells.notes)
    if comma:
        notes.append("numbers written with a decimal comma (1234,5): read as 1234.5")
    return quant_table(
        cells,
        FORMAT,
        path=path,
        ids=ids,
        values=values.astype("float64"),
        keys=keys,
        names=names,
        notes=notes,
        zero_as_missing=zero_as_missing,
        source=source,
        rows=rows,
    )


def _decimal(
    frame: pd.DataFrame, columns: list[str], separator: str, *, path: PathLike
) -> tuple[pd.DataFrame, bool]:
    """Quantity cells with Spectronaut's missing words blanked and decimal commas as points.

    A decimal comma is read only when no quantity cell has a decimal point and
    the separator is not a comma: ``1,234`` alone could be a thousands
    separator, so a file mixing both is left to the number check (which then
    names the cells), and one where every comma has three digits after it (and
    at most three before) is refused.
    """
    if all(pd.api.types.is_float_dtype(frame[c]) for c in columns):
        return frame, False  # streamed: plain numbers already
    cells = frame[columns].apply(lambda column: column.str.strip())
    cells = cells.mask(cells.isin(_MISSING), "")
    if separator == ",":
        return cells, False
    stacked = cells.to_numpy(dtype=str).ravel()
    has_comma = np.fromiter((bool(_DECIMAL_COMMA.match(c)) for c in stacked), bool, len(stacked))
    has_point = np.char.find(stacked, ".") >= 0
    if has_comma.any() and not has_point.any():
        thousands = np.fromiter((bool(_THOUSANDS.match(c)) for c in stacked[has_comma]), bool)
        if thousands.all():  # every one reads either way: 1,234 is 1.234 or 1234
            shown = ", ".join(dict.fromkeys(stacked[has_comma][:3].tolist()))
            raise InputFormatError(
                f"quantities such as {shown} have a comma and three digits after it: a "
                "decimal comma (1,234 = 1.234) or a thousands separator (1,234 = 1234)? No cell "
                "tells; export the report with a decimal point and no thousands separator",
                path=path,
            )
        return cells.apply(lambda column: column.str.replace(",", ".", regex=False)), True
    return cells, False


def _check_agreement(long: pd.DataFrame, *, path: PathLike) -> None:
    grouped = long.groupby(["group", "run"], sort=False)["value"]
    low, high = grouped.min(), grouped.max()
    count, present = grouped.size(), grouped.count()
    scale = np.maximum(np.abs(low), np.abs(high))
    differ = ((high - low) > _RELATIVE_TOLERANCE * scale) | ((present > 0) & (present < count))
    if not differ.any():
        return
    problems = []
    for group, run in differ[differ].index[:MAX_LISTED]:
        rows = long[(long["group"] == group) & (long["run"] == run)]
        shown = ", ".join(f"{index} ({value:g})" for index, value in rows["value"].items())
        problems.append(
            f"protein group {group!r}, run {run!r}: PG.Quantity differs between lines {shown}; "
            "expected one value per protein group and run"
        )
    raise InputFormatError(problems, path=path)
