"""Reading a whole study: a data file and a sample sheet, every problem reported together."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from salivaprot.data import ProteinData
from salivaprot.errors import InputFormatError, SalivaprotError, SampleSheetError
from salivaprot.io import diann, fragpipe, matrix, maxquant, spectronaut
from salivaprot.io._files import PathLike, read_head
from salivaprot.io._tables import SEPARATOR_NAMES, listing, peek, without_index
from salivaprot.io.diann import read_diann
from salivaprot.io.fragpipe import read_fragpipe
from salivaprot.io.matrix import read_matrix
from salivaprot.io.maxquant import read_maxquant
from salivaprot.io.mztab import read_mztab
from salivaprot.io.quant import Quantity, QuantTable, join, match_columns
from salivaprot.io.sheets import SampleSheet, read_run_keys, read_samples
from salivaprot.io.spectronaut import read_spectronaut

__all__ = ["FORMATS", "Format", "Study", "detect_format", "load_study", "read", "read_quant"]

logger = logging.getLogger(__name__)

Format = Literal["auto", "mztab", "maxquant", "diann", "fragpipe", "spectronaut", "matrix"]
#: Input formats understood, with what each expects (for messages). Keep in step with ``Format``.
FORMATS: dict[str, str] = {
    "mztab": "mzTab 1.0: tab-separated lines starting with MTD, COM, PRH/PRT, PEH/PEP, PSH/PSM",
    "maxquant": maxquant.EXPECTED,
    "diann": diann.EXPECTED,
    "fragpipe": fragpipe.EXPECTED,
    "spectronaut": spectronaut.EXPECTED,
    "matrix": matrix.EXPECTED,
}
_MZTAB_PREFIXES = frozenset({"MTD", "COM", "PRH", "PRT", "PSH", "PEH", "SMH"})
_QUANTITY_FORMATS = ("maxquant", "fragpipe")


@dataclass(frozen=True)
class Study:
    """A study read from files.

    Attributes
    ----------
    data : ProteinData
        Abundances joined to the sample sheet (or named by run without one).
    sheet : SampleSheet or None
        The sample sheet.
    quant : QuantTable
        The abundances as the file gave them.
    notes : tuple of str
        What the readers decided, in order.
    """

    data: ProteinData
    sheet: SampleSheet | None
    quant: QuantTable
    notes: tuple[str, ...] = field(default=())


def detect_format(path: PathLike) -> str:
    """Recognize an input file's format from its content (not its name).

    mzTab by its line prefixes; Parquet by its magic bytes (a DIA-NN 2.x
    report); text tables by the columns of their header line, whatever their
    separator. MaxQuant's evidence, msms and peptides tables and DIA-NN's
    precursor matrix are refused with a message saying what they are.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    str
        A key of :data:`FORMATS`.

    Raises
    ------
    InputFormatError
        When no format fits; the message lists every format tried and the
        columns each expects.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "export.tsv"
    >>> _ = path.write_text("Protein.Group,Genes,D:\\\\raw\\\\S01.raw\\nP04745,AMY1A,3.1e9\\n")
    >>> detect_format(path)
    'diann'
    """
    header = peek(path, what="input file")
    if header.parquet:
        if diann.looks_like_diann(header.columns):
            return "diann"
        raise InputFormatError(
            f"a Parquet file, but not a DIA-NN report (columns {listing(header.columns)}); "
            f"expected {FORMATS['diann']}",
            path=path,
        )
    if header.first_line.split("\t", 1)[0].strip() in _MZTAB_PREFIXES:
        return "mztab"
    if header.first_line.lstrip().startswith("<"):
        _refuse_xml(path)
    columns = header.columns
    maxquant.refuse_other_tables(columns, path)
    diann.refuse_other_tables(columns, path)
    # as written; then without a row-index column (R or pandas re-saves); then, for the
    # formats whose names have spaces, with R's dots read as spaces
    # (an R re-save of a FragPipe table has 'Protein.Group', which alone would pass for
    # DIA-NN; MaxQuant's and FragPipe's own columns read with spaces decide first)
    plain = without_index(columns)
    spaced = [c.replace(".", " ") for c in plain] if not any(" " in c for c in plain) else plain
    for name, fits in (
        ("maxquant", maxquant.looks_like_maxquant),
        ("fragpipe", fragpipe.looks_like_fragpipe),
    ):
        if fits(columns) or fits(plain) or fits(spaced):
            return name
    for name, fits in (
        ("diann", diann.looks_like_diann),
        ("spectronaut", spectronaut.looks_like_spectronaut),
        ("matrix", matrix.looks_like_matrix),
    ):
        if fits(columns) or fits(plain):
            return name
    tried = "\n".join(f"  {name}: {what}" for name, what in FORMATS.items())
    raise InputFormatError(
        f"unrecognized input format: the first line has {len(columns)} "
        f"{SEPARATOR_NAMES[header.separator]}-separated column(s) ({listing(columns, 8)}). "
        f"{_looks_like(columns)}Tried:\n{tried}",
        path=path,
    )


#: Columns of peptide-, precursor- or PSM-level tables (one row per peptide or spectrum).
_PEPTIDE_COLUMNS = frozenset(
    {"Peptide", "Peptide Sequence", "Modified Sequence", "Modified sequence", "Sequence",
     "Stripped.Sequence", "Precursor.Id", "EG.PrecursorId", "PEP.StrippedSequence",
     "FG.Id", "Spectrum", "PSM_ID", "sequence"}
)  # fmt: skip


def _looks_like(columns: Sequence[str]) -> str:
    """What an unrecognized table seems to be, and what to do (``""`` when it cannot say)."""
    present = set(columns)
    spectronaut = any(c.startswith(("PG.", "R.", "EG.", "FG.", "PEP.")) for c in columns)
    if spectronaut:
        return (
            "It looks like a Spectronaut report without protein quantities: export a protein "
            "report with 'PG.ProteinGroups' and 'R.FileName' + 'PG.Quantity' (long) or "
            "'[n] <run>.PG.Quantity' columns (pivot). "
        )
    if present & _PEPTIDE_COLUMNS:
        found = sorted(present & _PEPTIDE_COLUMNS)[0]
        return (
            f"It looks like a peptide, precursor or PSM table (column {found!r}): salivaprot "
            "reads protein groups; use the protein-level table of the same pipeline. "
        )
    return ""


#: XML root elements of mass-spectrometry files that are not protein tables.
_XML_KINDS = {
    "<mzML": "an mzML file (spectra): 'salivaprot qc' reads it for run-level QC",
    "<indexedmzML": "an mzML file (spectra): 'salivaprot qc' reads it for run-level QC",
    "<mzXML": "an mzXML file (spectra)",
    "<MzIdentML": "an mzIdentML file (identifications, no protein abundances)",
    "<msms_pipeline_analysis": "a pepXML file (peptide identifications)",
    "<protein_summary": "a protXML file (protein identifications, no abundances)",
}


def _refuse_xml(path: PathLike) -> None:
    """Refuse an XML file, naming what it is when its root element says."""
    head = read_head(path, what="input file").decode("utf-8", errors="replace")
    kind = next((what for tag, what in _XML_KINDS.items() if tag in head), "an XML file")
    raise InputFormatError(
        f"this is {kind}, not a protein table. salivaprot reads the protein abundances a "
        f"pipeline writes: {', '.join(FORMATS)} (see salivaprot validate --help)",
        path=path,
    )


def read_quant(
    path: PathLike,
    *,
    format: Format = "auto",
    quantity: Quantity = "auto",
    zero_as_missing: bool = True,
    q_value: float = 0.01,
) -> QuantTable:
    """Read any supported file's protein abundances, before a sample sheet is joined.

    Parameters
    ----------
    path : str or path-like
        The data file.
    format : {"auto", "mztab", "maxquant", "diann", "fragpipe", "spectronaut", "matrix"}
        Input format; ``auto`` recognizes it from the content (see
        :func:`detect_format`).
    quantity : {"auto", "lfq", "intensity", "ibaq"}
        For MaxQuant and FragPipe tables (see :func:`read_maxquant`,
        :func:`read_fragpipe`); other formats have one quantity and refuse
        anything but ``auto``.
    zero_as_missing : bool
        Read zero abundances as missing.
    q_value : float
        DIA-NN long reports: the ``Q.Value``, ``PG.Q.Value`` and
        ``Lib.PG.Q.Value`` threshold (see :func:`read_diann`).

    Returns
    -------
    QuantTable
        Its notes start with the format and how it was chosen.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "export.txt"
    >>> _ = path.write_text("protein_id\\tS1\\tS2\\nP04745\\t2.1e9\\t1.9e9\\n")
    >>> quant = read_quant(path)
    >>> quant.notes
    ('format: matrix (recognized from its content)', 'tab-separated; 1 proteins x 2 samples')
    """
    return _read_quant(
        path, format=format, quantity=quantity, zero_as_missing=zero_as_missing, q_value=q_value
    )[1]


def _read_quant(
    path: PathLike, *, format: str, quantity: Quantity, zero_as_missing: bool, q_value: float = 0.01
) -> tuple[str, QuantTable]:
    kind = detect_format(path) if format == "auto" else format
    if kind not in FORMATS:
        raise InputFormatError(f"unknown format {kind!r}; known: {', '.join(FORMATS)}")
    if quantity != "auto" and kind not in _QUANTITY_FORMATS:
        raise InputFormatError(
            f"quantity {quantity!r} applies to MaxQuant and FragPipe tables; this is a "
            f"{kind} file, which has one quantity (leave quantity as 'auto')",
            path=path,
        )
    quant: QuantTable
    if kind == "mztab":
        quant = read_mztab(path).quant(zero_as_missing=zero_as_missing)
    elif kind == "maxquant":
        quant = read_maxquant(path, quantity=quantity, zero_as_missing=zero_as_missing)
    elif kind == "diann":
        quant = read_diann(
            path,
            q_value=q_value,
            pg_q_value=q_value,
            lib_pg_q_value=q_value,
            zero_as_missing=zero_as_missing,
        )
    elif kind == "fragpipe":
        quant = read_fragpipe(path, quantity=quantity, zero_as_missing=zero_as_missing)
    elif kind == "spectronaut":
        quant = read_spectronaut(path, zero_as_missing=zero_as_missing)
    else:
        quant = read_matrix(path, zero_as_missing=zero_as_missing)
    how = "recognized from its content" if format == "auto" else "as asked"
    return kind, replace(quant, notes=(f"format: {kind} ({how})", *quant.notes))


def load_study(
    path: PathLike,
    samples: PathLike | SampleSheet | None = None,
    *,
    format: Format = "auto",
    quantity: Quantity = "auto",
    visits: Sequence[str] | None = None,
    reference_arm: str | None = None,
    zero_as_missing: bool = True,
    drop_unlisted: bool = False,
    q_value: float = 0.01,
) -> Study:
    """Read a data file and a sample sheet and join them, reporting every problem at once.

    Parameters
    ----------
    path : str or path-like
        The data file.
    samples : str, path-like or SampleSheet, optional
        The sample sheet.
    format : {"auto", "mztab", "maxquant", "diann", "fragpipe", "spectronaut", "matrix"}
        Input format; ``auto`` recognizes it from the content.
    quantity : {"auto", "lfq", "intensity", "ibaq"}
        Which quantity to read from a MaxQuant or FragPipe table; ``auto``
        takes LFQ when present, else Intensity (the notes say which).
    visits, reference_arm
        As for :func:`salivaprot.read_samples`.
    zero_as_missing : bool
        Read zero abundances as missing.
    drop_unlisted : bool
        Leave out data columns that no sheet row names.
    q_value : float
        DIA-NN long reports: precursor and protein-group q-value threshold.

    Returns
    -------
    Study

    Raises
    ------
    SalivaprotError
        With the problems of the sheet, the data file and their join together.
    """
    errors: list[SalivaprotError] = []
    sheet: SampleSheet | None = None
    quant: QuantTable | None = None
    kind: str = format
    if isinstance(samples, SampleSheet):
        sheet = samples
    elif samples is not None:
        try:
            sheet = read_samples(samples, visits=visits, reference_arm=reference_arm)
        except SalivaprotError as err:
            errors.append(err)
    try:
        kind, quant = _read_quant(
            path, format=format, quantity=quantity, zero_as_missing=zero_as_missing, q_value=q_value
        )
    except SalivaprotError as err:
        errors.append(err)
    if sheet is None and samples is not None and quant is not None:
        # the sheet failed its own checks: still say how it meets the data file
        keys = read_run_keys(samples)  # type: ignore[arg-type]
        if keys is not None:
            problems = match_columns(
                quant.columns, keys[0], how=keys[1], drop_unlisted=drop_unlisted
            )[1]
            if problems:
                errors.append(SampleSheetError(problems, path=samples))  # type: ignore[arg-type]
    if len(errors) == 1:
        raise errors[0]
    if errors or quant is None:
        raise SalivaprotError([p for err in errors for p in err.problems])
    data = join(quant, sheet, drop_unlisted=drop_unlisted)
    _refuse_empty(
        data,
        quant,
        path=path,
        quantity_option=kind in _QUANTITY_FORMATS,
        zero_is_value=not zero_as_missing,
    )
    notes = [f"{Path(path).name}: {quant.source}", *quant.notes]
    if sheet is not None:
        if sheet.aliases:
            used = ", ".join(f"{k} -> {v}" for k, v in sheet.aliases.items())
            notes.append(f"sample sheet columns understood as: {used}")
        notes.extend(sheet.notes)
        if drop_unlisted and data.n_samples < quant.abundance.shape[1]:
            notes.append(
                f"left out {quant.abundance.shape[1] - data.n_samples} data column(s) "
                "with no sample sheet row"
            )
    for note in notes:
        logger.info(note)
    options = f", quantity={quantity!r}" if kind in _QUANTITY_FORMATS else ""
    step = f"read({Path(path).name!r}, format={kind!r}{options}, zero_as_missing={zero_as_missing})"
    data = replace(data, steps=(*data.steps, step))
    return Study(data=data, sheet=sheet, quant=quant, notes=tuple(notes))


def _refuse_empty(
    data: ProteinData,
    quant: QuantTable,
    *,
    path: PathLike,
    quantity_option: bool,
    zero_is_value: bool = False,
) -> None:
    """Refuse a study without an observed value, or with samples without one.

    A quantity that holds only zeros and blanks (a pipeline step that did not
    run) would otherwise be read as a study with every value missing. Zeros
    count as values when they are kept (``--keep-zeros``, log2 input).
    """
    observed = data.abundance.notna()
    if not zero_is_value:
        observed &= data.abundance != 0
    if not observed.to_numpy().any():
        hint = (
            "; choose another quantity with --quantity (quantity= in Python)"
            if quantity_option
            else "; did the pipeline quantify these runs?"
        )
        raise InputFormatError(
            f"the {quant.source or 'file'} holds no value: every one of its "
            f"{data.abundance.size} cells is missing or zero, so there is nothing to "
            f"analyse{hint}",
            path=path,
        )
    empty = observed.index[~observed.any(axis=1).to_numpy(bool)]
    if len(empty):
        shown = listing([str(s) for s in empty])
        raise InputFormatError(
            f"{len(empty)} sample(s) have no observed value (every protein missing or zero): "
            f"{shown}; a failed or blank run? Leave them out of the sample sheet and use "
            "--drop-unlisted (drop_unlisted=True in Python)",
            path=path,
        )


def read(
    path: PathLike,
    samples: PathLike | SampleSheet | None = None,
    *,
    format: Format = "auto",
    quantity: Quantity = "auto",
    visits: Sequence[str] | None = None,
    reference_arm: str | None = None,
    zero_as_missing: bool = True,
    drop_unlisted: bool = False,
    q_value: float = 0.01,
) -> ProteinData:
    """Read protein abundances, joined to a sample sheet when one is given.

    The one-call entry point for pipelines: mzTab, MaxQuant, DIA-NN,
    FragPipe and generic matrices, recognized from their content. Without a
    sample sheet, samples are named by their runs and carry no design. See
    :func:`load_study` for the parameters and for the readers' notes, and
    the per-format readers (:func:`read_maxquant`, :func:`read_diann`,
    :func:`read_fragpipe`, :func:`read_matrix`, :func:`read_mztab`) for
    their options.

    Returns
    -------
    ProteinData

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from salivaprot.simulate import simulate_trial
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> files = simulate_trial(seed=5, n_proteins=40, subjects_per_arm=3).write(folder)
    >>> data = read(files["mztab"], files["samples"], visits=["baseline", "month1", "month4"])
    >>> data.visits, data.reference_arm
    (['baseline', 'month1', 'month4'], 'placebo')
    """
    return load_study(
        path,
        samples,
        format=format,
        quantity=quantity,
        visits=visits,
        reference_arm=reference_arm,
        zero_as_missing=zero_as_missing,
        drop_unlisted=drop_unlisted,
        q_value=q_value,
    ).data
