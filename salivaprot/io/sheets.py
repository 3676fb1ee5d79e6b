"""Sample sheets: one row per collected sample, with the trial design and covariates."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from salivaprot._order import reference_arm_order, visit_order
from salivaprot._validate import check_sequence
from salivaprot.errors import InputFormatError, SalivaprotError, SampleSheetError
from salivaprot.io._files import PathLike, read_text, read_text_encoding
from salivaprot.io._tables import MISSING_TOKENS, finite, out_of_range, parse_table, to_floats

__all__ = [
    "COLUMN_ALIASES",
    "NUMERIC_COVARIATES",
    "SALIVA_TYPES",
    "SampleSheet",
    "read_samples",
    "sample_sheet",
]

logger = logging.getLogger(__name__)

#: Accepted spellings of the required columns (lower-cased, spaces as ``_``).
COLUMN_ALIASES: dict[str, str] = {
    "sample": "sample_id",
    "sample_name": "sample_id",
    "patient": "subject_id",
    "patient_id": "subject_id",
    "subject": "subject_id",
    "group": "arm",
    "treatment": "arm",
    "timepoint": "visit",
    "tmt_plex": "plex",
    "reference": "reference_channel",
    "pooled_reference": "reference_channel",
}
_REQUIRED = ("sample_id", "subject_id", "arm", "visit")

#: Covariates that must be numeric when present (empty cells are missing).
NUMERIC_COVARIATES: tuple[str, ...] = (
    "flow_ml_min",
    "total_protein_mg_ml",
    "injection_order",
    "visit_day",
)

#: Accepted values of the ``saliva`` column, mapped to their canonical names.
SALIVA_TYPES: dict[str, str] = {
    "unstimulated": "unstimulated",
    "uws": "unstimulated",
    "unstim": "unstimulated",
    "stimulated": "stimulated",
    "sws": "stimulated",
    "stim": "stimulated",
}

#: Accepted spellings of yes/no in the ``reference_channel`` column (lower-cased).
_YES = frozenset({"true", "yes", "y", "1", "reference", "pool", "pooled"})
_NO = frozenset({"false", "no", "n", "0", ""})

#: Cells read as missing anywhere in a sheet (R writes NA, spreadsheets #N/A).
MISSING_CELLS = (MISSING_TOKENS - {""}) | {"None"}


@dataclass(frozen=True)
class SampleSheet:
    """A checked sample sheet.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by ``sample_id``: ``subject_id``; ``arm`` (categorical, the
        reference arm first); ``visit`` (ordered categorical, the baseline
        first); optional ``run`` and covariates.
    path : str or None
        The file it was read from.
    aliases : dict
        Column renames applied, original name -> canonical name.
    notes : tuple of str
        How the visit order and the reference arm were determined.
    """

    table: pd.DataFrame
    path: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def visits(self) -> list[str]:
        """Visits in trial order; the first is the baseline."""
        return [str(v) for v in self.table["visit"].cat.categories]

    @property
    def arms(self) -> list[str]:
        """Arms, the reference arm first."""
        return [str(a) for a in self.table["arm"].cat.categories]

    @property
    def baseline(self) -> str:
        """The baseline visit."""
        return self.visits[0]

    @property
    def reference_arm(self) -> str:
        """The reference (control) arm."""
        return self.arms[0]

    @property
    def run_keys(self) -> pd.Series:
        """What links each sample to a data column: ``run`` when given, else ``sample_id``."""
        if "run" in self.table.columns:
            return self.table["run"].astype(str)
        return pd.Series(self.table.index, index=self.table.index, name="run")

    def __len__(self) -> int:
        return len(self.table)


def read_samples(
    path: PathLike,
    *,
    visits: Sequence[str] | None = None,
    reference_arm: str | None = None,
) -> SampleSheet:
    """Read and check a sample sheet (CSV or TSV).

    Required columns are ``sample_id``, ``subject_id``, ``arm`` and ``visit``
    (aliases: ``sample``, ``patient``, ``patient_id``, ``subject``, ...; the
    renames applied are kept in :attr:`SampleSheet.aliases`). Optional: ``run``
    (the data column a sample is in, when it is not the ``sample_id``) and
    covariates; ``flow_ml_min``, ``total_protein_mg_ml``, ``injection_order``
    and ``visit_day`` must be numeric, ``saliva`` is ``unstimulated`` or
    ``stimulated``. TMT/iTRAQ: ``plex`` (the multiplexed run a sample was
    labelled in; text, becomes a model factor when the samples span more than
    one plex), ``channel`` (its reporter channel, for the record; ``run``
    links the sample to its data column) and ``reference_channel`` (yes/no:
    the pooled-reference channel of its plex, used by ``normalize irs`` and
    then removed; such rows need no subject, arm or visit). The delimiter
    (comma, tab or semicolon) is read from the header line; a UTF-8
    byte-order mark and CRLF line endings are fine.

    Parameters
    ----------
    path : str or path-like
        The sample sheet.
    visits : sequence of str, optional
        Visit order, baseline first. When omitted, visits are ordered by the
        median of a numeric ``visit_day`` column.
    reference_arm : str, optional
        The control arm. Default: the arm called placebo (any case or common
        spelling: ``Placebo``, ``PBO``...); else, when the arms are blinded
        codes (``A``/``B``), the first code; otherwise it must be given (see
        :mod:`salivaprot._order`).

    Returns
    -------
    SampleSheet

    Raises
    ------
    SampleSheetError
        Listing every problem found, each with its line or column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "samples.csv"
    >>> _ = path.write_text("sample,patient,arm,visit\\n"
    ...                     "s1,P1,placebo,baseline\\ns2,P1,placebo,month4\\n"
    ...                     "s3,P2,aMSC,baseline\\n")
    >>> sheet = read_samples(path, visits=["baseline", "month4"])
    >>> sheet.arms, sheet.visits
    (['placebo', 'aMSC'], ['baseline', 'month4'])
    >>> sheet.aliases
    {'sample': 'sample_id', 'patient': 'subject_id'}
    """
    visits = check_sequence("visits", visits, SampleSheetError, example="baseline")
    text, encoding = read_text_encoding(path, what="sample sheet")
    frame, notes = _parse_table(text, path)
    sheet = sample_sheet(frame, visits=visits, reference_arm=reference_arm, path=path)
    read_notes = (encoding.note,) if encoding.note else ()
    return replace(sheet, notes=(*read_notes, *notes, *sheet.notes))


def read_run_keys(path: PathLike) -> tuple[pd.Series, str] | None:
    """Best-effort run keys of a sheet that failed its checks, to check the join anyway.

    Returns the keys (``run`` when present, else ``sample_id``) indexed by
    sample ID, and the column they came from; ``None`` when even that much
    cannot be read.
    """
    try:
        frame, _ = _parse_table(read_text(path, what="sample sheet"), path)
    except SalivaprotError:
        return None
    keys = {c: str(c).strip().lower().replace(" ", "_") for c in frame.columns}
    renamed = {c: COLUMN_ALIASES.get(key, key) for c, key in keys.items()}
    frame = frame.rename(columns=renamed)
    if "sample_id" not in frame.columns or frame.columns.duplicated().any():
        return None
    how = "run" if "run" in frame.columns else "sample_id"
    frame = frame.map(_clean_cell).dropna(subset=[how, "sample_id"])
    frame = frame.drop_duplicates(subset="sample_id")
    return pd.Series(frame[how].to_numpy(), index=frame["sample_id"].to_numpy()), how


def _parse_table(text: str, path: PathLike) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The sheet's cells as text, indexed by physical line, and notes on how it was read."""
    header = next((line for line in text.split("\n") if line.strip()), "")
    counts = {sep: header.count(sep) for sep in ("\t", ",", ";")}
    sep = max(counts, key=lambda s: counts[s])
    if counts[sep] == 0:
        raise SampleSheetError(
            "the header has a single column; expected comma-, tab- or semicolon-separated "
            "columns sample_id, subject_id, arm, visit",
            path=path,
            line=1,
        )
    try:
        table = parse_table(io.StringIO(text), path=path, what="sample sheet")
    except InputFormatError as err:
        raise SampleSheetError(err.problems) from err
    frame = table.frame
    if frame.empty:
        return frame, table.notes
    blank = (frame.apply(lambda column: column.str.strip()) == "").all(axis=1)
    return frame[~blank], table.notes


def _clean_cell(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value if value else np.nan
    return value


def sample_sheet(
    frame: pd.DataFrame,
    *,
    visits: Sequence[str] | None = None,
    reference_arm: str | None = None,
    path: PathLike | None = None,
) -> SampleSheet:
    """Check a sample table given as a DataFrame and return a :class:`SampleSheet`.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per sample; column names as for :func:`read_samples`. When its
        index is named ``line`` it is taken as file line numbers for messages.
    visits, reference_arm
        As for :func:`read_samples`.
    path : str or path-like, optional
        The file it came from, for messages.

    Returns
    -------
    SampleSheet

    Raises
    ------
    SampleSheetError
        Listing every problem found.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"sample_id": ["a", "b", "c", "d"],
    ...                       "subject_id": ["P1", "P1", "P2", "P2"],
    ...                       "arm": ["B", "B", "A", "A"],
    ...                       "visit": ["V1", "V2", "V1", "V2"],
    ...                       "visit_day": [0, 30, 0, 31]})
    >>> sheet = sample_sheet(table)
    >>> sheet.reference_arm, sheet.baseline
    ('A', 'V1')
    """
    visits = check_sequence("visits", visits, SampleSheetError, example="baseline")
    if not isinstance(frame, pd.DataFrame):
        raise SampleSheetError(
            f"the sample table must be a pandas DataFrame, not {type(frame).__name__}"
        )
    problems: list[str] = []
    notes: list[str] = []
    table = frame.copy()
    if table.index.name != "line":
        table.index = pd.RangeIndex(2, len(table) + 2, name="line")
    lines_known = path is not None

    def at(rows: pd.Index) -> str:
        label = "line" if lines_known else "row"
        listed = ", ".join(str(r if lines_known else r - 1) for r in rows[:10])
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        return f"{label}{'s' if len(rows) > 1 else ''} {listed}{more}"

    # ---- columns: canonical names and aliases
    table.columns = [str(c).strip() for c in table.columns]
    aliases: dict[str, str] = {}
    rename: dict[str, str] = {}
    seen: dict[str, str] = {}
    for column in table.columns:
        key = column.lower().replace(" ", "_")
        canonical = COLUMN_ALIASES.get(key, key)
        if canonical in seen:
            problems.append(
                f"columns '{seen[canonical]}' and '{column}' both mean '{canonical}'; keep one"
            )
            continue
        seen[canonical] = column
        rename[column] = canonical
        if canonical != column:
            aliases[column] = canonical
    if problems:
        raise SampleSheetError(problems, path=path)
    table = table.rename(columns=rename)
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise SampleSheetError(
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"found {', '.join(map(str, frame.columns))} (aliases understood: "
            f"{', '.join(f'{k}->{v}' for k, v in COLUMN_ALIASES.items())})",
            path=path,
        )

    # ---- text cells: strip, empty and NA -> missing
    written: dict[str, pd.Series] = {}
    for column in table.columns:
        cells = table[column].astype(object).map(_clean_cell)
        tokens = cells.isin(MISSING_CELLS)
        written[column] = cells[tokens]
        table[column] = cells.mask(tokens)
    if table.empty:
        raise SampleSheetError("the sample sheet has a header but no samples", path=path)

    # ---- TMT: pooled reference channels (no subject, arm or visit needed) and plexes
    is_reference = pd.Series(False, index=table.index)
    if "reference_channel" in table.columns:
        text = table["reference_channel"].map(lambda v: "" if pd.isna(v) else str(v).lower())
        bad = table.index[~text.isin(_YES | _NO)]
        if len(bad):
            given = sorted({str(v) for v in table.loc[bad, "reference_channel"]})
            problems.append(
                f"column 'reference_channel' must be yes/no (true/false, 1/0); found {given} "
                f"at {at(bad)}"
            )
        is_reference = text.isin(_YES)
        table["reference_channel"] = is_reference.to_numpy()
    keyed = [c for c in ("run", "plex") if c in table.columns]
    for column in (*_REQUIRED, *keyed):
        empty = table.index[table[column].isna() & ~table.index.isin(written[column].index)]
        if column in ("subject_id", "arm", "visit"):
            empty = empty[~is_reference.loc[empty].to_numpy()]
        if len(empty):
            problems.append(f"empty '{column}' at {at(empty)}")
        tokens_found = written[column]
        if len(tokens_found):
            shown = ", ".join(sorted({repr(str(v)) for v in tokens_found}))
            problems.append(
                f"missing '{column}' (written {shown}) at {at(tokens_found.index)}; every "
                f"sample needs its {column}"
            )

    duplicated = table["sample_id"].dropna()
    duplicated = duplicated[duplicated.duplicated(keep=False)]
    for sample_id, rows in duplicated.groupby(duplicated, sort=True).groups.items():
        problems.append(f"duplicate sample_id '{sample_id}' at {at(pd.Index(rows))}")
    if "run" in table.columns:
        runs = table["run"].dropna()
        runs = runs[runs.duplicated(keep=False)]
        for run, rows in runs.groupby(runs, sort=True).groups.items():
            problems.append(
                f"run '{run}' is given for more than one sample, at {at(pd.Index(rows))}"
            )

    # ---- numeric covariates
    for column in NUMERIC_COVARIATES:
        if column not in table.columns:
            continue
        values = to_floats(table[column])
        bad = table.index[values.isna() & table[column].notna()]
        if len(bad):
            shown = ", ".join(repr(str(v)) for v in table.loc[bad[:3], column])
            problems.append(f"column '{column}' must be numeric; found {shown} at {at(bad)}")
        huge = table.index[~finite(values.to_numpy())]
        if len(huge):
            shown = ", ".join(str(v) for v in table.loc[huge[:3], column])
            problems.append(f"column '{column}' at {at(huge)}: {out_of_range(shown)}")
        table[column] = values.mask(~finite(values.to_numpy()))
    if "saliva" in table.columns:
        canonical_saliva = table["saliva"].map(
            lambda v: SALIVA_TYPES.get(v.lower(), np.nan) if isinstance(v, str) else np.nan
        )
        bad = table.index[canonical_saliva.isna() & table["saliva"].notna()]
        if len(bad):
            found = sorted({str(v) for v in table.loc[bad, "saliva"]})
            problems.append(
                "column 'saliva' must be 'unstimulated' or 'stimulated'; "
                f"found {found} at {at(bad)}"
            )
        table["saliva"] = canonical_saliva

    if is_reference.any():
        if "plex" not in table.columns:
            problems.append(
                "the sheet marks reference_channel samples but has no 'plex' column; internal "
                "reference scaling needs the plex of every sample"
            )
        else:
            plexes = table.loc[is_reference, "plex"].dropna()
            repeated_plex = plexes[plexes.duplicated(keep=False)]
            for plex, rows in repeated_plex.groupby(repeated_plex, sort=True).groups.items():
                problems.append(
                    f"plex '{plex}' has more than one reference_channel sample, at "
                    f"{at(pd.Index(rows))}; mark one pooled reference per plex"
                )
        for column in ("subject_id", "arm", "visit"):
            table.loc[is_reference, column] = np.nan

    # ---- subjects: one arm each, one sample per visit (and saliva type)
    complete = table.dropna(subset=["subject_id", "arm"])
    arms_per_subject = complete.groupby("subject_id", sort=True)["arm"].unique()
    for subject, arms in arms_per_subject.items():
        if len(arms) > 1:
            problems.append(
                f"subject '{subject}' appears in more than one arm: {', '.join(sorted(arms))}"
            )
    keys = ["subject_id", "visit", *(["saliva"] if "saliva" in table.columns else [])]
    repeats = table.dropna(subset=keys[:2])
    repeats = repeats[repeats.duplicated(subset=keys, keep=False)]
    for _, group in repeats.groupby(keys, sort=True, dropna=False):
        subject, visit = group["subject_id"].iloc[0], group["visit"].iloc[0]
        problems.append(
            f"subject '{subject}' has {len(group)} samples at visit '{visit}' "
            f"({', '.join(group['sample_id'].astype(str))}); a repeated-measures design needs "
            "one per visit (average technical replicates first, or tell saliva types apart "
            "with a 'saliva' column)"
        )

    # ---- visit order and reference arm: the rules of salivaprot._order
    order, note, found = visit_order(
        table["visit"], table["visit_day"] if "visit_day" in table.columns else None, visits
    )
    problems.extend(found)
    if note:
        notes.append(note)
    arm_order, note, found = reference_arm_order(
        list(pd.unique(table["arm"].dropna().astype(str))), reference_arm
    )
    problems.extend(found)
    if note:
        notes.append(note)
    if problems or order is None or arm_order is None:
        raise SampleSheetError(problems or ["no arm is given for any sample"], path=path)

    for column in ("subject_id", "arm", "visit", "plex", "channel"):
        if column in table.columns:  # text, missing kept missing (reference channels)
            table[column] = (
                table[column].astype(object).where(table[column].isna(), table[column].astype(str))
            )
    # ordered: the order is the decided one (reference first), not pandas' alphabetical one
    table["arm"] = pd.Categorical(table["arm"], categories=arm_order, ordered=True)
    table["visit"] = pd.Categorical(table["visit"], categories=order, ordered=True)
    table = table.set_index(table["sample_id"].astype(str).rename("sample_id"))
    table = table.drop(columns="sample_id")
    if aliases:
        logger.info("sample sheet columns renamed: %s", aliases)
    return SampleSheet(
        table=table,
        path=None if path is None else str(path),
        aliases=aliases,
        notes=tuple(notes),
    )
