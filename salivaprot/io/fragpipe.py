"""FragPipe ``combined_protein.tsv`` (IonQuant / Philosopher label-free output) and
TMT-Integrator protein tables (``abundance_protein_*.tsv``, TMT/iTRAQ)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from salivaprot.errors import InputFormatError
from salivaprot.io._files import PathLike
from salivaprot.io._pipeline import (
    Cells,
    Extra,
    Format,
    id_column,
    id_problems,
    protein_ids,
    quant_table,
    quantities,
    read_cells,
)
from salivaprot.io._tables import holds_values, numbers, text_column
from salivaprot.io.quant import Quantity, QuantTable

__all__ = ["EXPECTED", "looks_like_fragpipe", "looks_like_tmt_integrator", "read_fragpipe"]

#: What a combined_protein.tsv looks like, for messages.
EXPECTED = (
    "FragPipe combined_protein.tsv: 'Protein', 'Protein ID', and '<sample> MaxLFQ Intensity', "
    "'<sample> Intensity' or (older layout) '<sample> Razor Intensity' columns; or a "
    "TMT-Integrator abundance_protein_*.tsv: 'Index', 'NumberPSM', 'ProteinID', 'MaxPepProb', "
    "'ReferenceIntensity', then one column per sample"
)
# Per-sample column kinds, longest first so that "S1 MaxLFQ Intensity" is not read as
# sample "S1 MaxLFQ" of kind "Intensity".
_KINDS = (
    "MaxLFQ Unique Intensity",
    "MaxLFQ Total Intensity",
    "MaxLFQ Razor Intensity",
    "MaxLFQ Intensity",
    "Unique Intensity",
    "Total Intensity",
    "Razor Intensity",
    "Intensity",
)
_OX = re.compile(r"\s*\bOX=(\d+)")


def _by_kind(columns: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """(column, sample) pairs per intensity kind; sample ``""`` for unprefixed columns."""
    found: dict[str, list[tuple[str, str]]] = {kind: [] for kind in _KINDS}
    for column in columns:
        if column.startswith("Combined "):
            continue
        for kind in _KINDS:
            if column == kind:
                found[kind].append((column, ""))
                break
            if column.endswith(" " + kind):
                found[kind].append((column, column[: -len(kind) - 1].strip()))
                break
    return found


#: The annotation columns of a TMT-Integrator table, written before the sample columns.
_TMT_INTEGRATOR = ("Index", "NumberPSM", "ProteinID", "MaxPepProb", "ReferenceIntensity")


def looks_like_tmt_integrator(columns: Sequence[str]) -> bool:
    """Whether a header is a FragPipe TMT-Integrator table's (``Index`` ... ``ReferenceIntensity``)."""  # noqa: E501
    return set(_TMT_INTEGRATOR) <= set(columns)


def looks_like_fragpipe(columns: Sequence[str]) -> bool:
    """Whether a header is a FragPipe protein table's ('Protein', 'Protein ID', intensities)."""
    present = set(columns)
    if looks_like_tmt_integrator(columns):
        return True
    return {"Protein", "Protein ID"} <= present and any(_by_kind(columns).values())


#: The columns of a combined_protein.tsv (the quantities are chosen by :func:`read_fragpipe`).
FORMAT = Format(
    what="FragPipe combined_protein.tsv",
    ids=("Protein",),
    extras=(
        Extra("Protein ID", "accession"),
        Extra("Entry Name", "entry_name"),
        Extra("Protein Group", "protein_group"),
        Extra("SubGroup", "subgroup"),
        Extra("Protein Probability", "protein_probability", "number"),
        Extra("Indistinguishable Proteins", "indistinguishable_proteins"),
    ),
    description=("Description",),
    gene=("Gene", "Gene Names"),
    entry_name=("Entry Name",),
    fits=looks_like_fragpipe,
)
#: The columns of a TMT-Integrator table: its annotation, then one column per sample.
TMT_INTEGRATOR = Format(
    what="FragPipe TMT-Integrator table",
    ids=("Index",),
    extras=(
        Extra("NumberPSM", "psm_count", "number"),
        Extra("MaxPepProb", "max_peptide_probability", "number"),
        Extra("ReferenceIntensity", "reference_intensity", "number"),
    ),
    gene=("Gene",),
)


def read_fragpipe(
    path: PathLike, *, quantity: Quantity = "auto", zero_as_missing: bool = True
) -> QuantTable:
    """Read a FragPipe ``combined_protein.tsv``.

    Samples are the experiment names that prefix the intensity columns
    (``S01_baseline MaxLFQ Intensity`` is sample ``S01_baseline``). Both
    layouts are read: the current one (``<sample> Intensity``, ``<sample>
    MaxLFQ Intensity``, ...) and the older Philosopher one (``Protein Group``,
    ``SubGroup``, ``<sample> Razor Intensity``). Protein IDs are the
    ``Protein`` column (``sp|P04745|AMY1_HUMAN``; contaminants carry
    ``contam_``, decoys ``rev_``), genes ``Gene`` (``Gene Names`` in the older
    layout), species and taxonomy from ``Organism``.

    Parameters
    ----------
    path : str or path-like
        The file (a byte-order mark, CRLF line endings, comma separation and
        gzip are fine).
    quantity : {"auto", "lfq", "intensity", "ibaq"}
        ``lfq``: ``MaxLFQ Intensity`` columns; ``intensity``: ``Intensity``
        (razor intensity; ``Razor Intensity`` in the older layout). ``auto``
        takes MaxLFQ when present and holding a value (not all zero or
        blank: MaxLFQ did not run), else Intensity, and the notes say which.
        FragPipe has no iBAQ.
    zero_as_missing : bool
        Read zeros (FragPipe's "not quantified") as missing.

    Returns
    -------
    QuantTable

    Raises
    ------
    InputFormatError
        For a single-experiment ``protein.tsv``, a missing quantity or
        ``Protein`` column, empty or repeated protein IDs, or non-numeric
        intensities (with line and column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "combined_protein.tsv"
    >>> _ = path.write_text(
    ...     "Protein\\tProtein ID\\tGene\\tOrganism\\tA Intensity\\tB Intensity\\t"
    ...     "A MaxLFQ Intensity\\tB MaxLFQ Intensity\\n"
    ...     "sp|P04745|AMY1_HUMAN\\tP04745\\tAMY1A\\tHomo sapiens OX=9606\\t"
    ...     "5e9\\t4e9\\t4.9e9\\t4.2e9\\n"
    ...     "contam_sp|P00761|TRYP_PIG\\tP00761\\t\\tSus scrofa\\t1e8\\t0\\t1e8\\t0\\n")
    >>> quant = read_fragpipe(path)
    >>> quant.notes[0]
    "quantity: MaxLFQ Intensity (auto: the file has '<sample> MaxLFQ Intensity' columns)"
    >>> quant.columns["name"].tolist()
    ['A', 'B']
    >>> quant.proteins[["gene", "taxid", "is_contaminant"]]
                                gene   taxid  is_contaminant
    protein_id
    sp|P04745|AMY1_HUMAN       AMY1A  9606.0           False
    contam_sp|P00761|TRYP_PIG    NaN  9823.0            True
    """
    cells = read_cells(
        path,
        FORMAT,
        quantities=lambda columns: _needed(columns, quantity),
        text=lambda _columns: [*TMT_INTEGRATOR.text_columns(), "ProteinID", "Organism"],
    )
    columns = cells.columns
    if looks_like_tmt_integrator(columns):
        return _read_tmt_integrator(cells, quantity, path=path)
    id_column(cells, FORMAT, path=path, expected=EXPECTED)
    kinds = _by_kind(columns)
    unprefixed = [column for pairs in kinds.values() for column, sample in pairs if not sample]
    if unprefixed and not any(sample for pairs in kinds.values() for _, sample in pairs):
        raise InputFormatError(
            f"a FragPipe protein.tsv of a single experiment (columns such as {unprefixed[0]!r} "
            "without a sample name); use combined_protein.tsv, which has one column per "
            "experiment",
            path=path,
        )
    kind, notes = _choose(kinds, quantity, path=path)
    pairs = [(column, sample) for column, sample in kinds[kind] if sample]
    labels = [column for column, _ in pairs]
    old_layout = kind == "Razor Intensity" or "SubGroup" in columns
    frame = cells.frame
    notes.insert(
        1,
        f"{'older (Philosopher) layout' if old_layout else 'current layout'}: "
        f"{len(frame)} proteins x {len(labels)} samples",
    )
    notes[2:2] = cells.notes
    ids = protein_ids(cells, "Protein")
    values = quantities(cells, labels, path=path, ids=ids, fmt=FORMAT, refuse_repeats=False)
    if quantity == "auto" and kind == "MaxLFQ Intensity" and not holds_values(values):
        fallback = "Intensity" if kinds["Intensity"] else "Razor Intensity"
        other = [(column, sample) for column, sample in kinds[fallback] if sample]
        other_labels = [column for column, _ in other]
        if not set(other_labels) <= set(frame.columns):  # streamed: read them now
            cells = read_cells(path, FORMAT, quantities=lambda _columns: other_labels)
            frame = cells.frame
        other_values = numbers(frame, other_labels, path=path)
        if other and holds_values(other_values):
            kind, pairs, values = fallback, other, other_values
            labels = [column for column, _ in pairs]
            notes[0] = (
                f"quantity: {fallback} (auto: the '<sample> MaxLFQ Intensity' columns hold no "
                "values, only zeros or blanks; MaxLFQ did not run)"
            )
    frame, values, other_groups, dropped = _one_row_per_protein(frame, ids, values)
    ids = frame["Protein"].str.strip()
    problems = id_problems(ids, FORMAT, path=path)
    if problems:
        if frame["Protein"].str.strip().duplicated().any():
            problems.append(
                f"{path}: a protein listed in several protein groups is read once only when "
                f"every row of it has the same {kind} values; these differ"
            )
        raise InputFormatError(problems)
    if dropped:
        notes[1] = notes[1].replace(f"{len(frame) + dropped} proteins", f"{len(frame)} proteins")
        notes.append(
            f"{dropped} repeated row(s) of {len(other_groups)} protein(s) listed in more than "
            f"one protein group (older FragPipe/Philosopher), with the same {kind} values: "
            "read once, from the group the protein leads (SubGroup 'a') or else its first "
            "row; the other groups are in the protein column 'other_protein_groups'"
        )
    organism = text_column(frame, "Organism")
    taxid = species = None
    if organism is not None:
        taxid = pd.to_numeric(organism.str.extract(_OX, expand=False), errors="coerce")
        species = organism.str.replace(_OX, "", regex=True).str.strip()
    added = {}
    if other_groups:
        added["other_protein_groups"] = [
            other_groups.get(str(protein_id), np.nan) for protein_id in ids
        ]
    return quant_table(
        cells,
        FORMAT,
        path=path,
        ids=ids,
        values=values,
        keys=[(sample, column) for column, sample in pairs],
        names=[sample for _, sample in pairs],
        notes=notes,
        zero_as_missing=zero_as_missing,
        source=f"FragPipe combined_protein.tsv ({kind})",
        rows=frame,
        given={"taxid": taxid, "species": species},
        added=added,
    )


def _needed(columns: Sequence[str], quantity: str) -> list[str]:
    """The quantity columns to read (the fallback's only when MaxLFQ turns out empty)."""
    if looks_like_tmt_integrator(columns):
        return _tmt_samples(columns)
    kinds = _by_kind(columns)
    kind, _ = _choose(kinds, quantity, path="")
    return [column for column, sample in kinds[kind] if sample]


def _tmt_samples(columns: Sequence[str]) -> list[str]:
    """The sample columns of a TMT-Integrator table: after ``ReferenceIntensity``."""
    labels = list(columns[list(columns).index("ReferenceIntensity") + 1 :])
    return [c for c in labels if c not in ("Gene", "Protein", "Proteins")]


def _one_row_per_protein(
    frame: pd.DataFrame, ids: pd.Series, values: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], int]:
    """Drop the repeats of a protein listed in several groups with the same values.

    Philosopher lists a protein in every protein group it belongs to. When every
    row of a protein holds the same quantities, the row kept is the one where
    the protein leads its group (``SubGroup`` ``a``), else the first; the others'
    groups are returned by protein. Repeats whose values differ are left in
    place (and refused by the caller).
    """
    repeated = ids.duplicated(keep=False) & ids.ne("") & ids.notna()
    if not repeated.any():
        return frame, values, {}, 0
    subgroup = frame["SubGroup"].str.strip() if "SubGroup" in frame.columns else None
    group = frame["Protein Group"].str.strip() if "Protein Group" in frame.columns else None
    drop: list[int] = []
    others: dict[str, str] = {}
    for protein, lines in ids[repeated].groupby(ids[repeated], sort=False).groups.items():
        rows = values.loc[lines]
        same = all(
            rows.iloc[0].equals(rows.iloc[i]) for i in range(1, len(rows))
        )  # NaN equals NaN here
        if not same:
            continue
        keep = lines[0]
        if subgroup is not None:
            leads = [line for line in lines if subgroup[line].lower() == "a"]
            if len(leads) == 1:
                keep = leads[0]
        rest = [line for line in lines if line != keep]
        drop.extend(rest)
        if group is not None:
            others[str(protein)] = ";".join(str(group[line]) for line in rest)
        else:
            others[str(protein)] = ";".join(f"line {line}" for line in rest)
    if not drop:
        return frame, values, {}, 0
    return frame.drop(index=drop), values.drop(index=drop), others, len(drop)


def _read_tmt_integrator(cells: Cells, quantity: str, *, path: PathLike) -> QuantTable:
    """A TMT-Integrator protein (or gene) table: log2 abundances, one column per sample.

    The sample columns are those after ``ReferenceIntensity`` (TMT-Integrator
    writes its annotation first), named as in its annotation file; values are
    log2 abundances (the ratio to the reference plus log2 of the reference
    intensity, so comparable across plexes) and are read back to intensities
    (``2 ** value``), as every other reader returns them. ``ratio_*`` tables
    (log2 ratios, centred near 0) are refused: their level is lost.
    """
    if quantity not in ("auto", "reporter"):
        raise InputFormatError(
            f"quantity {quantity!r} is not in a TMT-Integrator table; it holds reporter-ion "
            "abundances (--quantity auto or reporter)",
            path=path,
        )
    frame = cells.frame
    labels = _tmt_samples(cells.columns)
    if not labels:
        raise InputFormatError(
            "a FragPipe TMT-Integrator table without sample columns after 'ReferenceIntensity'",
            path=path,
        )
    ids = protein_ids(cells, "Index")
    log2_values = quantities(cells, labels, path=path, ids=ids, fmt=TMT_INTEGRATOR)
    observed = log2_values.to_numpy(dtype=float)
    observed = observed[~np.isnan(observed)]
    if observed.size and float(np.median(observed)) < 5:
        raise InputFormatError(
            "this FragPipe TMT-Integrator table holds log2 ratios to the reference (median "
            f"{float(np.median(observed)):.2g}): a ratio_protein_*.tsv. Read the "
            "abundance_protein_*.tsv of the same run, whose values keep each protein's level",
            path=path,
        )
    if observed.size and float(observed.max()) > 60:
        raise InputFormatError(
            "the TMT-Integrator values are not log2 (some exceed 60); expected the log2 "
            "abundances TMT-Integrator writes",
            path=path,
        )
    values = pd.DataFrame(
        np.exp2(log2_values.to_numpy(dtype=float)), index=log2_values.index, columns=labels
    )
    notes = [
        "quantity: TMT-Integrator log2 reporter-ion abundances, read back as 2^value "
        "(one sample per column; TMT-Integrator has already put the plexes on one scale "
        "through its reference, so --normalize median, not irs, is the usual choice)",
        f"FragPipe TMT-Integrator table: {len(frame)} rows x {len(labels)} samples",
        *cells.notes,
    ]
    accession = text_column(frame, "ProteinID")
    return quant_table(
        cells,
        TMT_INTEGRATOR,
        path=path,
        ids=ids,
        values=values,
        keys=[(label,) for label in labels],
        notes=notes,
        zero_as_missing=False,
        source="FragPipe TMT-Integrator table (log2 abundances)",
        added={} if accession is None else {"accession": accession.to_numpy()},
    )


def _choose(
    kinds: dict[str, list[tuple[str, str]]], quantity: str, *, path: PathLike
) -> tuple[str, list[str]]:
    def has(kind: str) -> bool:
        return any(sample for _, sample in kinds[kind])

    present = ", ".join(k for k in _KINDS if has(k)) or "none"
    if quantity not in ("auto", "lfq", "intensity", "ibaq"):
        raise InputFormatError(
            f"unknown quantity {quantity!r}; choose auto, lfq or intensity", path=path
        )
    intensity = "Intensity" if has("Intensity") else "Razor Intensity"
    if quantity == "auto":
        if has("MaxLFQ Intensity"):
            return "MaxLFQ Intensity", [
                "quantity: MaxLFQ Intensity (auto: the file has '<sample> MaxLFQ Intensity' "
                "columns)"
            ]
        if has(intensity):
            return intensity, [
                f"quantity: {intensity} (auto: no '<sample> MaxLFQ Intensity' columns; "
                "IonQuant ran without MaxLFQ, or an older FragPipe)"
            ]
        raise InputFormatError(
            f"no '<sample> MaxLFQ Intensity', '<sample> Intensity' or '<sample> Razor "
            f"Intensity' columns (intensity columns present: {present}); a {EXPECTED}",
            path=path,
        )
    if quantity == "lfq":
        if has("MaxLFQ Intensity"):
            return "MaxLFQ Intensity", ["quantity: MaxLFQ Intensity (as asked)"]
        raise InputFormatError(
            "quantity 'lfq' asked for, but the file has no '<sample> MaxLFQ Intensity' "
            f"columns (MaxLFQ is off in IonQuant, or an older FragPipe). Intensity columns "
            f"in this file: {present}",
            path=path,
        )
    if quantity == "intensity":
        if has(intensity):
            return intensity, [f"quantity: {intensity} (as asked)"]
        raise InputFormatError(
            "quantity 'intensity' asked for, but the file has no '<sample> Intensity' or "
            f"'<sample> Razor Intensity' columns. Intensity columns in this file: {present}",
            path=path,
        )
    raise InputFormatError(
        f"quantity {quantity!r} is not available in FragPipe output (it has no iBAQ); "
        f"choose auto, lfq or intensity. Intensity columns in this file: {present}",
        path=path,
    )
