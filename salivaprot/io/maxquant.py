"""MaxQuant ``proteinGroups.txt`` (label-free)."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.io._files import PathLike
from salivaprot.io._pipeline import (
    Extra,
    Format,
    id_column,
    protein_ids,
    quant_table,
    quantities,
    read_cells,
)
from salivaprot.io._tables import holds_values, numbers, some_lines
from salivaprot.io.quant import CONTAMINANT_PREFIXES, DECOY_PREFIXES, Quantity, QuantTable

__all__ = ["EXPECTED", "looks_like_maxquant", "read_maxquant", "refuse_other_tables"]

#: What a proteinGroups.txt looks like, for messages.
EXPECTED = (
    "MaxQuant proteinGroups.txt: 'Majority protein IDs' or 'Protein IDs', and "
    "'LFQ intensity <sample>', 'Intensity <sample>', 'iBAQ <sample>' or (TMT/iTRAQ) "
    "'Reporter intensity corrected <channel>' columns"
)
_ID_COLUMNS = ("Majority protein IDs", "Protein IDs")
#: Column prefix of each quantity, and its name in messages.
_QUANTITIES: dict[str, str] = {
    "lfq": "LFQ intensity ",
    "intensity": "Intensity ",
    "ibaq": "iBAQ ",
    "reporter": "Reporter intensity corrected ",
}
_NOT_SAMPLES = frozenset({"iBAQ peptides"})
_LABELLED = ("Ratio H/L", "Ratio M/L", "Ratio H/M")
#: TMT/iTRAQ reporter-ion columns: 'Reporter intensity [corrected ]<channel>[ <experiment>]'
_REPORTER = re.compile(r"^Reporter intensity (corrected )?(\d+)(?: (.+))?$")
_EXTRAS = {
    "Protein IDs": "protein_ids",
    "Peptides": "n_peptides",
    "Razor + unique peptides": "n_razor_unique_peptides",
    "Unique peptides": "n_unique_peptides",
    "Sequence coverage [%]": "sequence_coverage",
    "Score": "score",
    "Q-value": "q_value",
    "id": "maxquant_id",
}


def looks_like_maxquant(columns: Sequence[str]) -> bool:
    """Whether a header is a proteinGroups.txt's (protein IDs and per-sample quantities)."""
    present = set(columns)
    return any(c in present for c in _ID_COLUMNS) and any(_samples(columns).values())


#: The columns of a proteinGroups.txt (the quantities are chosen by :func:`read_maxquant`).
FORMAT = Format(
    what="MaxQuant proteinGroups.txt",
    ids=_ID_COLUMNS,
    extras=tuple(
        Extra(column, name, "cells" if name == "protein_ids" else "number")
        for column, name in _EXTRAS.items()
    ),
    description=("Protein names", "Fasta headers"),
    gene=("Gene names",),
    flags=(
        ("is_contaminant", ("Potential contaminant", "Contaminant")),
        ("is_decoy", ("Reverse",)),
        ("only_identified_by_site", ("Only identified by site",)),
    ),
    fits=looks_like_maxquant,
    zeros=" (MaxQuant writes 0 for not detected)",
)


def _reporters(columns: Sequence[str]) -> tuple[list[tuple[str, str]], bool]:
    """(column, sample) of the reporter-ion channels, and whether they are the corrected ones.

    MaxQuant writes ``Reporter intensity <n>`` (as measured) and ``Reporter
    intensity corrected <n>`` (isotope-impurity corrected); with several
    experiments (one per plex) the experiment follows: ``... corrected 3 Plex2``.
    The sample is ``<n>`` (one plex) or ``<n> <experiment>``.
    """
    found: dict[bool, list[tuple[str, str]]] = {True: [], False: []}
    for column in columns:
        match = _REPORTER.match(column)
        if match:
            corrected, channel, experiment = match.groups()
            sample = channel if experiment is None else f"{channel} {experiment.strip()}"
            found[corrected is not None].append((column, sample))
    if found[True]:
        return found[True], True
    return found[False], False


def refuse_other_tables(columns: Sequence[str], path: PathLike) -> None:
    """Refuse MaxQuant's peptide- and feature-level tables with a message saying what they are.

    Raises
    ------
    InputFormatError
        For an ``evidence.txt``/``msms.txt`` (one row per feature or
        spectrum) or a ``peptides.txt``.
    """
    present = set(columns)
    if {"Raw file", "Sequence"} <= present and not present & set(_ID_COLUMNS):
        kind = (
            "evidence.txt or msms.txt (one row per peptide feature or MS/MS spectrum, "
            "by 'Raw file')"
        )
    elif {"Sequence", "Leading razor protein"} <= present and not present & set(_ID_COLUMNS):
        kind = "peptides.txt (one row per peptide sequence)"
    else:
        return
    raise InputFormatError(
        f"this is a MaxQuant {kind}, not a protein table. salivaprot reads protein groups: "
        f"use proteinGroups.txt from the same txt folder ({EXPECTED})",
        path=path,
    )


def read_maxquant(
    path: PathLike, *, quantity: Quantity = "auto", zero_as_missing: bool = True
) -> QuantTable:
    """Read a label-free MaxQuant ``proteinGroups.txt``.

    Samples are the suffixes of the quantity's columns (``LFQ intensity
    UT805`` is sample ``UT805``). Protein IDs come from ``Majority protein
    IDs`` (else ``Protein IDs``), genes from ``Gene names``, descriptions from
    ``Protein names`` (else ``Fasta headers``). MaxQuant's own flags decide
    contaminants (``Potential contaminant``) and decoys (``Reverse``); rows
    ``Only identified by site`` are kept and flagged in the protein column
    ``only_identified_by_site``. Nothing is filtered out: that is a
    preprocessing decision.

    Parameters
    ----------
    path : str or path-like
        The file (tab-separated as MaxQuant writes it; a comma-separated copy,
        a byte-order mark, CRLF line endings and gzip are fine).
    quantity : {"auto", "lfq", "intensity", "ibaq"}
        ``LFQ intensity``, ``Intensity`` or ``iBAQ`` columns. ``auto`` takes LFQ
        when the file has it, else Intensity; the notes say which and why.
    zero_as_missing : bool
        Read zeros (MaxQuant's "not detected") as missing.

    Returns
    -------
    QuantTable
        Data columns are the quantity's column headers; sample names their
        suffixes; a sheet's ``run`` may give either.

    Raises
    ------
    InputFormatError
        For another MaxQuant table (evidence, peptides), a labelled
        (SILAC/TMT) file, a missing quantity or ID column, empty or repeated
        IDs, or non-numeric quantities (with line and column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "proteinGroups.txt"
    >>> _ = path.write_text(
    ...     "Protein IDs\\tMajority protein IDs\\tGene names\\tIntensity S1\\tIntensity S2\\t"
    ...     "LFQ intensity S1\\tLFQ intensity S2\\tReverse\\tPotential contaminant\\n"
    ...     "P04745;P0DTE7\\tP04745\\tAMY1A\\t5e9\\t4e9\\t4.8e9\\t4.1e9\\t\\t\\n"
    ...     "CON__P02769\\tCON__P02769\\tALB\\t2e7\\t0\\t1.9e7\\t0\\t\\t+\\n"
    ...     "REV__Q9Y6R7\\tREV__Q9Y6R7\\t\\t1e5\\t0\\t0\\t0\\t+\\t\\n")
    >>> quant = read_maxquant(path)
    >>> quant.notes[0]
    "quantity: LFQ intensity (auto: the file has 'LFQ intensity <sample>' columns)"
    >>> quant.abundance.columns.tolist(), quant.columns["name"].tolist()
    (['LFQ intensity S1', 'LFQ intensity S2'], ['S1', 'S2'])
    >>> quant.proteins[["gene", "is_contaminant", "is_decoy"]]
                  gene  is_contaminant  is_decoy
    protein_id
    P04745       AMY1A           False     False
    CON__P02769    ALB            True     False
    REV__Q9Y6R7    NaN           False      True
    >>> read_maxquant(path, quantity="intensity").abundance.loc["P04745"].tolist()
    [5000000000.0, 4000000000.0]
    """
    cells = read_cells(path, FORMAT, quantities=lambda columns: _needed(columns, quantity))
    columns = cells.columns
    refuse_other_tables(columns, path)
    labelled = [c for c in columns if c.startswith(_LABELLED)]
    if labelled:
        raise InputFormatError(
            f"a SILAC proteinGroups.txt (columns such as {labelled[0]!r}); salivaprot reads "
            "label-free and TMT/iTRAQ reporter-ion quantities, not SILAC ratios",
            path=path,
        )
    _refuse_cut_rows(cells.frame, path)
    ids = protein_ids(cells, id_column(cells, FORMAT, path=path, expected=EXPECTED))
    available = _samples(columns)
    chosen, notes = _choose(available, quantity, path=path)
    pairs = available[chosen]
    labels = [label for label, _ in pairs]
    source_name = _QUANTITIES[chosen].strip()
    notes.insert(1, f"{len(ids)} protein groups x {len(labels)} samples")
    if chosen == "reporter":
        corrected = _reporters(columns)[1]
        if not corrected:
            source_name = "Reporter intensity"
            notes[0] = notes[0].replace("Reporter intensity corrected", "Reporter intensity", 2)
            notes[0] += (
                "; no 'corrected' columns: reporter intensities as measured, not corrected "
                "for isotope impurities"
            )
        plexes = sorted({s.split(" ", 1)[1] for _, s in pairs if " " in s})
        channels = len({s.split(" ", 1)[0] for _, s in pairs})
        notes.insert(
            2,
            f"TMT/iTRAQ: {channels} channels x {max(len(plexes), 1)} plex(es)"
            f"{' (' + ', '.join(plexes) + ')' if plexes else ''}; samples are named "
            "'<channel>' or '<channel> <experiment>'. Each plex is a batch: give the sample "
            "sheet a 'plex' column (the model then adjusts for it); with a pooled reference "
            "in every plex, mark it in a 'reference_channel' column and use --normalize irs",
        )
    notes[2:2] = cells.notes

    values = quantities(cells, labels, path=path, ids=ids, fmt=FORMAT)
    lfq_empty = not holds_values(values)
    if quantity == "auto" and chosen == "lfq" and available["intensity"] and lfq_empty:
        chosen, pairs = "intensity", available["intensity"]
        source_name = "Intensity"
        labels = [label for label, _ in pairs]
        if not set(labels) <= set(cells.frame.columns):  # streamed: read them now
            cells = read_cells(path, FORMAT, quantities=lambda _columns: labels)
        values = numbers(cells.frame, labels, path=path)
        notes[0] = (
            "quantity: Intensity (auto: the 'LFQ intensity <sample>' columns hold no "
            "values, only zeros or blanks)"
        )
    return quant_table(
        cells,
        FORMAT,
        path=path,
        ids=ids,
        values=values,
        keys=[(sample, label) for label, sample in pairs],
        names=[sample for _, sample in pairs],
        notes=notes,
        zero_as_missing=zero_as_missing,
        source=f"MaxQuant proteinGroups.txt ({source_name})",
        flag_notes=_flag_notes,
    )


def _refuse_cut_rows(frame: pd.DataFrame, path: PathLike) -> None:
    """Refuse rows whose ``id`` is empty: they end before it, their quantities with them.

    MaxQuant leaves out a row's empty last fields, so a short row is normal and
    is completed with empty cells; but it numbers every row in ``id``, written
    after the quantity and flag columns. A row without one was cut short (a
    damaged file): its quantities and flags would be read as missing.
    """
    if "id" not in frame.columns:
        return
    empty = (frame["id"].str.strip() == "").to_numpy(bool)
    if not empty.any():
        return
    lines = [int(line) for line in frame.index[empty]]
    raise InputFormatError(
        ("" if len(lines) == 1 else f"{some_lines(lines)}: ")
        + "no 'id'. MaxQuant numbers every row "
        "in 'id', after the quantity and flag columns, so the row ends before it: a cut or "
        "damaged file (its quantities and 'Potential contaminant' would be read as missing). "
        "Export proteinGroups.txt again from MaxQuant's txt folder",
        path=path,
        line=lines[0] if len(lines) == 1 else None,
    )


def _needed(columns: Sequence[str], quantity: str) -> list[str]:
    """The quantity columns to read (Intensity too only when LFQ turns out empty)."""
    available = _samples(columns)
    chosen, _ = _choose(available, quantity, path="")
    return [label for label, _ in available[chosen]]


def _samples(columns: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """(column, sample) pairs of each quantity, in file order."""
    return {quantity: list(pairs) for quantity, pairs in _samples_of(tuple(columns)).items()}


@functools.lru_cache(maxsize=4)  # (asked of one header up to three times per read)
def _samples_of(columns: tuple[str, ...]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {q: [] for q in _QUANTITIES}
    for column in columns:
        if column in _NOT_SAMPLES:
            continue
        for quantity, prefix in _QUANTITIES.items():
            if quantity == "reporter":
                continue
            if column.startswith(prefix) and column[len(prefix) :].strip():
                found[quantity].append((column, column[len(prefix) :].strip()))
                break
    found["reporter"] = _reporters(columns)[0]
    return found


def _choose(
    available: dict[str, list[tuple[str, str]]], quantity: str, *, path: PathLike
) -> tuple[str, list[str]]:
    present = [q for q, pairs in available.items() if pairs]
    names = ", ".join(_QUANTITIES[q].strip() for q in present) or "none"
    if quantity == "auto":
        if available["reporter"]:
            return "reporter", [
                "quantity: Reporter intensity corrected (auto: a TMT/iTRAQ file, with "
                "'Reporter intensity corrected <channel>' columns; one sample per channel)"
            ]
        if available["lfq"]:
            return "lfq", [
                "quantity: LFQ intensity (auto: the file has 'LFQ intensity <sample>' columns)"
            ]
        if available["intensity"]:
            return "intensity", [
                "quantity: Intensity (auto: no 'LFQ intensity <sample>' columns; "
                "MaxQuant ran without LFQ)"
            ]
        raise InputFormatError(
            f"no 'LFQ intensity <sample>' or 'Intensity <sample>' columns; a {EXPECTED}",
            path=path,
        )
    if quantity not in _QUANTITIES:
        raise InputFormatError(
            f"unknown quantity {quantity!r} for MaxQuant; choose auto, lfq, intensity, ibaq "
            "or reporter",
            path=path,
        )
    if not available[quantity]:
        raise InputFormatError(
            f"quantity {quantity!r} asked for, but the file has no "
            f"'{_QUANTITIES[quantity]}<sample>' columns. Quantities in this file: {names}",
            path=path,
        )
    return quantity, [f"quantity: {_QUANTITIES[quantity].strip()} (as asked)"]


def _flag_notes(flags: dict[str, pd.Series | None], ids: pd.Series) -> list[str]:
    """What MaxQuant's flags say, and where they disagree with accession prefixes."""
    own = flags["is_contaminant"] is not None and flags["is_decoy"] is not None
    notes: list[str] = []
    counted = [
        f"{int(series.sum())} {label}"
        for label, series in (
            ("potential contaminants", flags["is_contaminant"]),
            ("reverse (decoy)", flags["is_decoy"]),
            ("only identified by site", flags["only_identified_by_site"]),
        )
        if series is not None
    ]
    if counted:
        notes.append(f"MaxQuant flags: {', '.join(counted)} (kept, flagged in the protein table)")
    if not own:
        notes.append(
            "no 'Reverse' or 'Potential contaminant' column: decoys and contaminants "
            "recognized by accession prefix (REV__, CON__)"
        )
        return notes
    upper = ids.str.upper()
    for prefixes, flag, word, column in (
        (DECOY_PREFIXES, flags["is_decoy"], "decoy", "Reverse"),
        (CONTAMINANT_PREFIXES, flags["is_contaminant"], "contaminant", "Potential contaminant"),
    ):
        if flag is None:
            continue
        unflagged = int((upper.str.startswith(tuple(p.upper() for p in prefixes)) & ~flag).sum())
        if unflagged:
            notes.append(
                f"{unflagged} protein group(s) whose first ID has a {word} prefix are not "
                f"flagged '{column}' by MaxQuant (the group also holds other proteins); "
                "MaxQuant's flag is followed"
            )
    return notes
