"""Reading a whole study: a data file and a sample sheet, every problem reported together."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from salivaprot.data import ProteinData
from salivaprot.errors import InputFormatError, SalivaprotError, SampleSheetError
from salivaprot.io._files import PathLike, read_bytes
from salivaprot.io.mztab import read_mztab
from salivaprot.io.quant import QuantTable, join, match_columns
from salivaprot.io.sheets import SampleSheet, read_run_keys, read_samples

__all__ = ["FORMATS", "Study", "detect_format", "load_study", "read"]

logger = logging.getLogger(__name__)

Format = Literal["auto", "mztab"]
#: Input formats understood, with what each expects (for messages).
FORMATS: dict[str, str] = {
    "mztab": "mzTab 1.0: tab-separated lines starting with MTD, COM, PRH/PRT, PEH/PEP, PSH/PSM",
}


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
        When no format fits; the message lists what each format expects.
    """
    head = read_bytes(path, what="input file")[:4096]
    if b"\x00" in head:
        raise InputFormatError("this is a binary file, not a text table or mzTab", path=path)
    first = next(
        (line for line in head.decode("utf-8-sig", errors="replace").splitlines() if line.strip()),
        "",
    )
    if first.split("\t", 1)[0].strip() in {"MTD", "COM", "PRH", "PRT", "PSH", "PEH", "SMH"}:
        return "mztab"
    tried = "; ".join(f"{name}: {what}" for name, what in FORMATS.items())
    raise InputFormatError(
        f"unrecognized input format (first line starts {first[:40]!r}). Tried {tried}",
        path=path,
    )


def load_study(
    path: PathLike,
    samples: PathLike | SampleSheet | None = None,
    *,
    format: Format = "auto",
    visits: Sequence[str] | None = None,
    reference_arm: str | None = None,
    zero_as_missing: bool = True,
    drop_unlisted: bool = False,
) -> Study:
    """Read a data file and a sample sheet and join them, reporting every problem at once.

    Parameters
    ----------
    path : str or path-like
        The data file.
    samples : str, path-like or SampleSheet, optional
        The sample sheet.
    format : {"auto", "mztab"}
        Input format; ``auto`` recognizes it from the content.
    visits, reference_arm
        As for :func:`salivaprot.read_samples`.
    zero_as_missing : bool
        Read zero abundances as missing.
    drop_unlisted : bool
        Leave out data columns that no sheet row names.

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
    if isinstance(samples, SampleSheet):
        sheet = samples
    elif samples is not None:
        try:
            sheet = read_samples(samples, visits=visits, reference_arm=reference_arm)
        except SalivaprotError as err:
            errors.append(err)
    try:
        kind = detect_format(path) if format == "auto" else format
        if kind != "mztab":
            raise InputFormatError(f"unknown format {kind!r}; known: {', '.join(FORMATS)}")
        quant = read_mztab(path).quant(zero_as_missing=zero_as_missing)
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
    step = f"read({Path(path).name!r}, format='mztab', zero_as_missing={zero_as_missing})"
    data = replace(data, steps=(*data.steps, step))
    return Study(data=data, sheet=sheet, quant=quant, notes=tuple(notes))


def read(
    path: PathLike,
    samples: PathLike | SampleSheet | None = None,
    *,
    format: Format = "auto",
    visits: Sequence[str] | None = None,
    reference_arm: str | None = None,
    zero_as_missing: bool = True,
    drop_unlisted: bool = False,
) -> ProteinData:
    """Read protein abundances, joined to a sample sheet when one is given.

    The one-call entry point for pipelines; see :func:`load_study` for the
    parameters and for the reader's notes.

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
        visits=visits,
        reference_arm=reference_arm,
        zero_as_missing=zero_as_missing,
        drop_unlisted=drop_unlisted,
    ).data
