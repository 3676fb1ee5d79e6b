"""What every reader produces (:class:`QuantTable`), and how it meets a sample sheet."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from salivaprot.data import PROTEIN_COLUMNS, ProteinData
from salivaprot.errors import SampleSheetError
from salivaprot.io.sheets import SampleSheet

__all__ = [
    "CONTAMINANT_PREFIXES",
    "DECOY_PREFIXES",
    "QuantTable",
    "Quantity",
    "annotate_proteins",
    "join",
    "match_columns",
]

#: Which quantity to read from tables that offer several (MaxQuant, FragPipe).
Quantity = Literal["auto", "lfq", "intensity", "ibaq", "reporter"]

#: Accession prefixes that mark decoys (matched case-insensitively).
DECOY_PREFIXES: tuple[str, ...] = ("DECOY_", "REV__", "REV_", "XXX_", "rev_", "decoy_")
#: Accession prefixes that mark contaminants (matched case-insensitively).
CONTAMINANT_PREFIXES: tuple[str, ...] = ("CON__", "CONTAM_", "CONT_", "contaminant_")

# UniProt mnemonic species codes of the organisms most often seen in saliva runs and
# contaminant databases; used only when a file gives neither taxid nor OX=.
_MNEMONIC_TAXID: dict[str, int] = {
    "HUMAN": 9606,
    "BOVIN": 9913,
    "PIG": 9823,
    "MOUSE": 10090,
    "RAT": 10116,
    "CANFA": 9615,
    "SHEEP": 9940,
    "CHICK": 9031,
    "RABIT": 9986,
    "YEAST": 559292,
    "ECOLI": 83333,
    "LYSEN": 1304,  # Lysobacter enzymogenes (Lys-C)
}
_MNEMONIC = re.compile(r"[A-Z0-9]_([A-Z0-9]{3,5})(?=$|[\s|;,])")


@dataclass(frozen=True)
class QuantTable:
    """Protein abundances of one file, per data column, before a sample sheet is joined.

    Attributes
    ----------
    abundance : pandas.DataFrame
        Proteins x data columns, float, NaN = missing.
    proteins : pandas.DataFrame
        Indexed by ``protein_id``, with :data:`salivaprot.data.PROTEIN_COLUMNS`
        and reader-specific extras.
    columns : pandas.DataFrame
        Indexed like ``abundance.columns``: ``name`` (the sample name used when no
        sample sheet is given) and ``keys`` (tuple of every string a sample
        sheet's ``run`` may use for it, e.g. ``assay[3]`` and the raw-file stem).
    path : str or None
        The file read.
    source : str
        The format and the software that wrote it.
    notes : tuple of str
        What the reader decided (quantity used, rows dropped, ...).
    """

    abundance: pd.DataFrame
    proteins: pd.DataFrame
    columns: pd.DataFrame
    path: str | None = None
    source: str = ""
    notes: tuple[str, ...] = field(default=())


def _extract(
    text: pd.Series, pattern: re.Pattern[str], literal: str, needed: pd.Series
) -> pd.Series:
    """``text.str.extract(pattern, expand=False)`` on the rows ``needed``, missing elsewhere.

    Only cells holding ``literal`` (which every match of ``pattern`` contains) are
    searched: the same values, without a regular-expression search per row.
    """
    cells = text.to_numpy(dtype=object)
    values = np.full(len(cells), np.nan, dtype=object)
    for i in np.flatnonzero(needed.to_numpy(dtype=bool, na_value=False)):
        cell = cells[i]
        if isinstance(cell, str) and literal in cell:
            match = pattern.search(cell)
            if match is not None:
                values[i] = match.group(1)
    return pd.Series(values, index=text.index, dtype=object)


def annotate_proteins(
    table: pd.DataFrame,
    *,
    accession: pd.Series,
    description: pd.Series | None = None,
    gene: pd.Series | None = None,
    taxid: pd.Series | None = None,
    species: pd.Series | None = None,
    is_contaminant: pd.Series | None = None,
    is_decoy: pd.Series | None = None,
    entry_name: pd.Series | None = None,
    prefixes: bool = True,
) -> pd.DataFrame:
    """Fill the standard protein columns, deriving what a file leaves out.

    Gene names come from ``GN=`` in UniProt-style descriptions, taxonomy from
    ``OX=``/``OS=`` or the entry-name mnemonic (``ALBU_BOVIN``), and decoy or
    contaminant flags from accession prefixes (:data:`DECOY_PREFIXES`,
    :data:`CONTAMINANT_PREFIXES`) in addition to any flags given.

    Parameters
    ----------
    table : pandas.DataFrame
        Extra columns to keep, indexed like ``accession``.
    accession, description, gene, taxid, species, is_contaminant, is_decoy : pandas.Series
        What the file gives; missing values are allowed.
    entry_name : pandas.Series, optional
        UniProt entry names (``AMY1_HUMAN``), for the species mnemonic when
        the accession carries none (DIA-NN's ``Protein.Names``).
    prefixes : bool
        Also flag decoys and contaminants by accession prefix. Readers turn
        this off when the software's own flags are authoritative (MaxQuant's
        ``Reverse`` and ``Potential contaminant`` columns).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``protein_id`` (the accession), standard columns first.

    Examples
    --------
    >>> import pandas as pd
    >>> acc = pd.Series(["sp|P04745|AMY1_HUMAN", "CON__P02769", "REV__Q9XYZ1"])
    >>> desc = pd.Series(["Alpha-amylase 1 OS=Homo sapiens OX=9606 GN=AMY1A PE=1 SV=2",
    ...                   "Serum albumin OS=Bos taurus OX=9913 GN=ALB", None])
    >>> out = annotate_proteins(pd.DataFrame(index=acc.index), accession=acc, description=desc)
    >>> out[["gene", "taxid", "is_contaminant", "is_decoy"]]
                          gene   taxid  is_contaminant  is_decoy
    protein_id
    sp|P04745|AMY1_HUMAN  AMY1A  9606.0           False     False
    CON__P02769             ALB  9913.0            True     False
    REV__Q9XYZ1             NaN     NaN           False      True
    """
    index = accession.index
    acc = accession.astype(object)

    def given(series: pd.Series | None) -> pd.Series:
        if series is None:
            return pd.Series(np.nan, index=index, dtype=object)
        return series.reindex(index).astype(object)

    desc = given(description)
    genes = given(gene)
    tax = pd.to_numeric(given(taxid), errors="coerce")
    spec = given(species)
    fields = _header_fields(desc, genes.isna() | tax.isna() | spec.isna())
    genes = genes.where(genes.notna(), fields["GN"])
    tax = tax.where(tax.notna(), fields["OX"])
    mnemonic = _extract(acc, _MNEMONIC, "_", tax.isna())  # (non-text cells: no match)
    if entry_name is not None:
        names = given(entry_name)
        names = names.where(names.map(lambda v: isinstance(v, str)), "")
        unnamed = tax.isna() & mnemonic.isna()
        mnemonic = mnemonic.where(mnemonic.notna(), _extract(names, _MNEMONIC, "_", unnamed))
    tax = tax.where(tax.notna(), mnemonic.map(_MNEMONIC_TAXID))
    spec = spec.where(spec.notna(), fields["OS"])
    upper = acc.astype(str).str.upper()
    decoy = upper.str.startswith(tuple(p.upper() for p in DECOY_PREFIXES)) & prefixes
    contaminant = upper.str.startswith(tuple(p.upper() for p in CONTAMINANT_PREFIXES)) & prefixes
    if is_decoy is not None:
        decoy = decoy | is_decoy.reindex(index).fillna(False).astype(bool)
    if is_contaminant is not None:
        contaminant = contaminant | is_contaminant.reindex(index).fillna(False).astype(bool)
    standard = pd.DataFrame(
        {
            "gene": genes,
            "description": desc,
            "taxid": tax.astype("float64"),
            "species": spec,
            "is_contaminant": contaminant.astype(bool),
            "is_decoy": decoy.astype(bool),
        },
        index=index,
    )
    extras = table.drop(columns=[c for c in PROTEIN_COLUMNS if c in table.columns])
    out = pd.concat([standard, extras], axis=1)
    out.index = pd.Index(acc.astype(str), name="protein_id")
    return out


def _header_fields(descriptions: pd.Series, needed: pd.Series) -> pd.DataFrame:
    """UniProt's ``GN=``, ``OX=`` and ``OS=`` of each description, parsed by pyteomics.

    A description may be a whole UniProt FASTA header (``sp|P04745|AMY1_HUMAN
    Alpha-amylase 1 OS=...``), the text after its entry name (mzTab, DIA-NN,
    FragPipe), or several of either joined by ``;`` (MaxQuant's ``Fasta
    headers``): each field is taken from the first header that has it. Missing
    where no header gives the field, the text is not UniProt's, or the row is
    not ``needed`` (the file gives gene, taxid and species).
    """
    cells = descriptions.to_numpy(dtype=object)
    genes = np.full(len(cells), np.nan, dtype=object)
    taxids = np.full(len(cells), np.nan)
    species = np.full(len(cells), np.nan, dtype=object)
    parsed: dict[str, tuple[str | None, int | None, str | None]] = {}
    for i in np.flatnonzero(needed.to_numpy(dtype=bool, na_value=False)):
        cell = cells[i]
        if not isinstance(cell, str) or "=" not in cell:  # (no field without one)
            continue
        fields = parsed.get(cell)
        if fields is None:
            fields = parsed[cell] = _uniprot_fields(cell)
        gene, ox, name = fields
        if gene is not None:
            genes[i] = gene
        if ox is not None:
            taxids[i] = ox
        if name is not None:
            species[i] = name
    columns = {"GN": genes, "OX": taxids, "OS": species}
    return pd.DataFrame(
        {name: pd.Series(values, index=descriptions.index, dtype=values.dtype)
         for name, values in columns.items()}
    )  # fmt: skip


#: pyteomics parses whole UniProt headers: the text after an entry name is given this head.
_STAND_IN_HEAD = "sp|-|X_X "


def _uniprot_fields(text: str) -> tuple[str | None, int | None, str | None]:
    """(GN, OX, OS) of one description, as :func:`_header_fields` says."""
    from pyteomics.fasta import parse

    found: dict[str, object] = {}
    for piece in text.split(";"):
        piece = piece.strip()
        whole = piece.partition(" ")[0].count("|") >= 2  # db|id|entry first: a whole header
        for header in (piece, _STAND_IN_HEAD + piece) if whole else (_STAND_IN_HEAD + piece,):
            try:
                fields = parse(header, flavor="uniprot")
            except Exception:  # pyteomics raises what its regex match gives: not UniProt's
                continue
            for key in ("GN", "OX", "OS"):
                if key in fields:
                    found.setdefault(key, fields[key])
            break
    gene, ox, species = (found.get(key) for key in ("GN", "OX", "OS"))
    return (
        str(gene).strip() if gene is not None else None,
        int(ox) if isinstance(ox, int) else None,
        str(species).strip() if species is not None else None,
    )


def join(
    quant: QuantTable,
    samples: SampleSheet | None = None,
    *,
    drop_unlisted: bool = False,
) -> ProteinData:
    """Attach a sample sheet to a file's abundances.

    Each sheet row names its data column through ``run`` (or, without a
    ``run`` column, through ``sample_id``), matched against every key of the
    column (``assay[n]``, raw-file stem, ...). Every problem is reported at
    once: sheet samples without a data column, data columns without a sheet
    row, and two samples claiming one column.

    Parameters
    ----------
    quant : QuantTable
        What a reader returned.
    samples : SampleSheet, optional
        Without it, samples are named after their data columns and carry no
        design (column ``run`` only).
    drop_unlisted : bool
        Leave out data columns that no sheet row names (QC pools, blanks)
        instead of reporting them as a problem.

    Returns
    -------
    ProteinData
        Samples in sheet order; the sample table gains ``data_column``.

    Raises
    ------
    SampleSheetError
        When the sheet and the file do not fit together.
    TypeError
        When ``quant`` or ``samples`` is not what a reader returns (a sheet as
        a DataFrame: read it with :func:`~salivaprot.read_samples`).
    """
    if not isinstance(quant, QuantTable):
        raise TypeError(
            f"quant must be a QuantTable (a reader's result), not {type(quant).__name__}"
        )
    if samples is not None and not isinstance(samples, SampleSheet):
        raise TypeError(
            f"samples must be a SampleSheet (salivaprot.read_samples(path) reads one), not "
            f"{type(samples).__name__}"
        )
    columns = quant.columns
    if samples is None:
        names = columns["name"].astype(str)
        table = pd.DataFrame({"run": list(columns.index)}, index=pd.Index(names, name="sample_id"))
        abundance = quant.abundance.T
        abundance.index = table.index
        return ProteinData(abundance, table, quant.proteins)

    chosen, problems = match_columns(
        columns,
        samples.run_keys,
        how="run" if "run" in samples.table.columns else "sample_id",
        drop_unlisted=drop_unlisted,
    )
    if problems:
        raise SampleSheetError(problems, path=samples.path)
    sample_ids = list(chosen)
    table = samples.table.loc[sample_ids].copy()
    table["data_column"] = [chosen[s] for s in sample_ids]
    abundance = quant.abundance[[chosen[s] for s in sample_ids]].T
    abundance.index = pd.Index(sample_ids, name="sample_id")
    return ProteinData(abundance, table, quant.proteins)


def match_columns(
    columns: pd.DataFrame,
    run_keys: pd.Series,
    *,
    how: str = "run",
    drop_unlisted: bool = False,
) -> tuple[dict[str, str], list[str]]:
    """Match sample-sheet run keys to data columns.

    Parameters
    ----------
    columns : pandas.DataFrame
        :attr:`QuantTable.columns`.
    run_keys : pandas.Series
        Key of each sample (``run`` or ``sample_id``), indexed by sample ID.
    how : str
        Which sheet column the keys come from, for messages.
    drop_unlisted : bool
        Whether data columns no sample names are acceptable.

    Returns
    -------
    chosen : dict of str to str
        Sample ID -> data column, for the samples that matched exactly one.
    problems : list of str
        Samples without a column, ambiguous keys, columns claimed twice, and
        (unless ``drop_unlisted``) columns without a sample.
    """
    owners: dict[str, list[str]] = {}
    for column, keys in columns["keys"].items():
        for key in dict.fromkeys(keys):
            owners.setdefault(str(key), []).append(str(column))
    problems: list[str] = []
    chosen: dict[str, str] = {}
    unmatched: list[str] = []
    ambiguous: list[str] = []
    for sample_id, key in run_keys.items():
        hit = owners.get(str(key), [])
        if len(hit) == 1:
            chosen[str(sample_id)] = hit[0]
        elif len(hit) > 1:
            ambiguous.append(f"'{sample_id}' ({key!s} -> {', '.join(hit)})")
        else:
            unmatched.append(
                str(sample_id) if str(key) == str(sample_id) else f"{sample_id} (run {key})"
            )
    available = ", ".join(_describe_column(c, columns) for c in columns.index[:12])
    if len(columns) > 12:
        available += f", ... ({len(columns)} in all)"
    if unmatched:
        problems.append(
            f"{len(unmatched)} sheet sample(s) have no data column (matched on '{how}'): "
            f"{_listing(unmatched)}. Data columns: {available}"
        )
    if ambiguous:
        problems.append(
            f"sheet sample(s) match more than one data column: {_listing(ambiguous)}; "
            "use a 'run' column with the assay names"
        )
    claimed: dict[str, list[str]] = {}
    for sample_id, column in chosen.items():
        claimed.setdefault(column, []).append(sample_id)
    for column, ids in claimed.items():
        if len(ids) > 1:
            problems.append(f"data column {column} is claimed by several samples: {', '.join(ids)}")
    unlisted = [c for c in columns.index if c not in claimed]
    if unlisted and not drop_unlisted:
        problems.append(
            f"{len(unlisted)} data column(s) have no sample sheet row: "
            f"{_listing([_describe_column(c, columns) for c in unlisted])} "
            "(add them to the sheet, or leave them out with --drop-unlisted)"
        )
    return chosen, problems


def _describe_column(column: str, columns: pd.DataFrame) -> str:
    name = str(columns.at[column, "name"])
    return column if name == column else f"{column} ({name})"


def _listing(items: list[str], limit: int = 15) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")
