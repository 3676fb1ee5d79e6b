"""The central data container, :class:`ProteinData`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from salivaprot.errors import DataError

__all__ = ["ADDED_SAMPLE_COLUMNS", "DESIGN_COLUMNS", "PROTEIN_COLUMNS", "ProteinData"]

#: Sample-table columns that describe the trial design.
DESIGN_COLUMNS: tuple[str, ...] = ("subject_id", "arm", "visit")

#: Protein-table columns every reader fills (missing values allowed).
PROTEIN_COLUMNS: tuple[str, ...] = (
    "gene",
    "description",
    "taxid",
    "species",
    "is_contaminant",
    "is_decoy",
)

#: Sample-table columns salivaprot adds itself (the join's data column, the record of
#: normalization; see :mod:`salivaprot.preprocess.transforms`): not the user's sheet.
ADDED_SAMPLE_COLUMNS: tuple[str, ...] = (
    "data_column",
    "median_log2_before_normalization",
    "normalization_offset_log2",
)

Scale = Literal["raw", "log2"]


def sheet_columns(samples: pd.DataFrame) -> str:
    """The sample table's columns that came from the user's sheet, for messages.

    Examples
    --------
    >>> sheet_columns(pd.DataFrame(columns=["subject_id", "arm", "data_column"]))
    'subject_id, arm'
    """
    return ", ".join(str(c) for c in samples.columns if c not in ADDED_SAMPLE_COLUMNS)


def numeric_dtype(dtype: Any) -> bool:
    """Whether abundances of this dtype are numbers (booleans are not)."""
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def _check_labels(index: pd.Index, what: str, problems: list[str]) -> None:
    if index.hasnans:
        problems.append(f"{what} contain missing labels")
    duplicated = index[index.duplicated()].unique()
    if len(duplicated):
        shown = ", ".join(map(str, duplicated[:10]))
        more = f" (and {len(duplicated) - 10} more)" if len(duplicated) > 10 else ""
        problems.append(f"{what} are not unique: {shown}{more}")


@dataclass(frozen=True)
class ProteinData:
    """Protein abundances with the sample and protein tables that describe them.

    The three tables are label-aligned: ``abundance`` has one row per sample
    (in the order of ``samples``) and one column per protein (in the order of
    ``proteins``). Missing values are ``NaN``; a sample that was never
    collected simply has no row. The trial design lives in the sample table:
    ``arm`` is a categorical whose first category is the reference arm, and
    ``visit`` an ordered categorical whose first category is the baseline.

    Parameters
    ----------
    abundance : pandas.DataFrame
        Samples x proteins, numeric; stored as float64.
    samples : pandas.DataFrame
        Indexed by ``sample_id``. With a sample sheet joined: ``subject_id``,
        ``arm``, ``visit`` and any covariates (``flow_ml_min``, ...).
    proteins : pandas.DataFrame
        Indexed by ``protein_id``: ``gene``, ``description``, ``taxid``,
        ``species``, ``is_contaminant``, ``is_decoy`` and reader-specific extras.
    scale : {"raw", "log2"}
        Scale of ``abundance``.
    steps : tuple of str
        Provenance: one entry per transformation applied, oldest first.
    imputed : pandas.DataFrame of bool, optional
        Which abundance cells were imputed (same labels as ``abundance``);
        ``None`` when nothing was imputed.

    Raises
    ------
    DataError
        When the tables are not aligned, labels are missing or repeated, the
        abundances are not numeric, or the scale is unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> samples = pd.DataFrame({"subject_id": ["P1", "P1"]}, index=["s1", "s2"])
    >>> proteins = pd.DataFrame({"gene": ["AMY1A", "LYZ"]}, index=["P04745", "P61626"])
    >>> abundance = pd.DataFrame([[1e9, 2e6], [8e8, None]], index=samples.index,
    ...                          columns=proteins.index)
    >>> data = ProteinData(abundance, samples, proteins)
    >>> data.shape
    (2, 2)
    >>> data.samples.index.name, data.proteins.index.name
    ('sample_id', 'protein_id')
    >>> float(data.missing_fraction)
    0.25
    """

    abundance: pd.DataFrame
    samples: pd.DataFrame
    proteins: pd.DataFrame
    scale: Scale = "raw"
    steps: tuple[str, ...] = field(default=())
    imputed: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("abundance", "samples", "proteins"):
            if not isinstance(getattr(self, name), pd.DataFrame):
                raise DataError(f"ProteinData.{name} must be a pandas DataFrame")
        if self.scale not in ("raw", "log2"):
            problems.append(f"scale must be 'raw' or 'log2', not {self.scale!r}")
        _check_labels(self.samples.index, "sample IDs", problems)
        _check_labels(self.proteins.index, "protein IDs", problems)
        if problems:
            raise DataError(problems)
        samples = self.samples.copy()
        samples.index = samples.index.astype(str).rename("sample_id")
        proteins = self.proteins.copy()
        proteins.index = proteins.index.astype(str).rename("protein_id")
        abundance = self.abundance.copy()
        abundance.index = abundance.index.astype(str)
        abundance.columns = abundance.columns.astype(str)
        if not abundance.index.equals(samples.index):
            problems.append("abundance rows must be the samples, in the order of the sample table")
        if not abundance.columns.equals(proteins.index):
            problems.append(
                "abundance columns must be the proteins, in the order of the protein table"
            )
        dtypes = abundance.dtypes
        # one check per distinct dtype (a matrix has one or two), not one per protein
        bad = {d for d in dtypes.unique() if not numeric_dtype(d)}
        non_numeric = [str(c) for c, dtype in dtypes.items() if dtype in bad] if bad else []
        if non_numeric:
            problems.append(
                f"abundances must be numeric; non-numeric proteins: {', '.join(non_numeric[:10])}"
            )
        if problems:
            raise DataError(problems)
        abundance = abundance.astype("float64")
        abundance.index.name = "sample_id"
        abundance.columns.name = "protein_id"
        if self.imputed is not None:
            imputed = self.imputed.copy()
            imputed.index = imputed.index.astype(str)
            imputed.columns = imputed.columns.astype(str)
            if not (
                imputed.index.equals(abundance.index) and imputed.columns.equals(abundance.columns)
            ):
                raise DataError("the imputed mask must have the labels of the abundance matrix")
            if not all(pd.api.types.is_bool_dtype(d) for d in imputed.dtypes.unique()):
                raise DataError("the imputed mask must be boolean")
            imputed.index.name, imputed.columns.name = "sample_id", "protein_id"
            object.__setattr__(self, "imputed", imputed)
        object.__setattr__(self, "abundance", abundance)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "proteins", proteins)
        object.__setattr__(self, "steps", tuple(self.steps))

    # ------------------------------------------------------------------ shape
    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_proteins)``."""
        return self.abundance.shape

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return self.abundance.shape[0]

    @property
    def n_proteins(self) -> int:
        """Number of proteins."""
        return self.abundance.shape[1]

    @property
    def observed(self) -> pd.DataFrame:
        """Boolean mask of measured (not missing, not imputed) abundance cells."""
        measured = self.abundance.notna()
        return measured if self.imputed is None else measured & ~self.imputed

    @property
    def missing_fraction(self) -> float:
        """Fraction of abundance cells that are missing (0 for an empty matrix)."""
        size = self.abundance.size
        return float(self.abundance.isna().to_numpy().sum() / size) if size else 0.0

    # ----------------------------------------------------------------- design
    @property
    def has_design(self) -> bool:
        """Whether the sample table carries ``subject_id``, ``arm`` and ``visit``."""
        return all(c in self.samples.columns for c in DESIGN_COLUMNS)

    @property
    def visits(self) -> list[str]:
        """Visits in trial order (the first is the baseline); empty without a design."""
        return _categories(self.samples, "visit")

    @property
    def arms(self) -> list[str]:
        """Arms, the reference (control) arm first; empty without a design."""
        return _categories(self.samples, "arm")

    @property
    def baseline(self) -> str | None:
        """The baseline visit, or None without a design."""
        return self.visits[0] if self.visits else None

    @property
    def reference_arm(self) -> str | None:
        """The reference (control) arm, or None without a design."""
        return self.arms[0] if self.arms else None

    # ------------------------------------------------------------- operations
    def subset(
        self,
        *,
        samples: Sequence[str] | pd.Index | np.ndarray | pd.Series | None = None,
        proteins: Sequence[str] | pd.Index | np.ndarray | pd.Series | None = None,
    ) -> ProteinData:
        """Select samples and/or proteins, by labels or boolean masks.

        Parameters
        ----------
        samples, proteins : sequence of labels or boolean mask, optional
            What to keep; ``None`` keeps everything. Order follows the request.

        Returns
        -------
        ProteinData
            A new object; ``steps`` is unchanged (subsetting is not a transform).

        Examples
        --------
        >>> from salivaprot.simulate import simulate_trial
        >>> data = simulate_trial(seed=1, n_proteins=50, subjects_per_arm=3, dropout=0.0).data
        >>> data.subset(proteins=data.proteins.index[:5]).shape
        (18, 5)
        """
        sample_idx = self.samples.index if samples is None else _select(self.samples, samples)
        protein_idx = self.proteins.index if proteins is None else _select(self.proteins, proteins)
        return replace(
            self,
            abundance=self.abundance.loc[sample_idx, protein_idx],
            samples=self.samples.loc[sample_idx],
            proteins=self.proteins.loc[protein_idx],
            imputed=None if self.imputed is None else self.imputed.loc[sample_idx, protein_idx],
        )

    def with_abundance(
        self, abundance: pd.DataFrame, *, step: str, scale: Scale | None = None
    ) -> ProteinData:
        """Return a copy with a new abundance matrix and one more provenance step.

        Parameters
        ----------
        abundance : pandas.DataFrame
            Same labels as :attr:`abundance`.
        step : str
            Description of the transformation, appended to :attr:`steps`.
        scale : {"raw", "log2"}, optional
            New scale; unchanged when omitted.

        Returns
        -------
        ProteinData
        """
        return replace(
            self,
            abundance=abundance,
            scale=self.scale if scale is None else scale,
            steps=(*self.steps, step),
        )

    def to_long(self, *, dropna: bool = True) -> pd.DataFrame:
        """Tidy view: one row per sample x protein, with the sample columns beside.

        Parameters
        ----------
        dropna : bool
            Leave out missing abundances (the default, as models use only
            observed values).

        Returns
        -------
        pandas.DataFrame
            Columns ``sample_id``, ``protein_id``, ``abundance`` and every column of
            the sample table.

        Examples
        --------
        >>> from salivaprot.simulate import simulate_trial
        >>> data = simulate_trial(seed=1, n_proteins=20, subjects_per_arm=2).data
        >>> long = data.to_long(dropna=False)
        >>> len(long) == data.n_samples * data.n_proteins
        True
        >>> list(long.columns[:5])
        ['sample_id', 'protein_id', 'abundance', 'subject_id', 'arm']
        """
        n_samples, n_proteins = self.shape
        long = pd.DataFrame(
            {
                "sample_id": np.repeat(self.abundance.index.to_numpy(), n_proteins),
                "protein_id": np.tile(self.abundance.columns.to_numpy(), n_samples),
                "abundance": self.abundance.to_numpy().ravel(),
            }
        )
        if dropna:
            long = long[long["abundance"].notna()]
        long = long.merge(self.samples, left_on="sample_id", right_index=True, how="left")
        return long.reset_index(drop=True)

    def __repr__(self) -> str:
        design = ""
        if self.has_design:
            design = f", arms={self.arms}, visits={self.visits}"
        return (
            f"ProteinData({self.n_samples} samples x {self.n_proteins} proteins, "
            f"scale={self.scale!r}{design}, steps={len(self.steps)})"
        )


def _categories(samples: pd.DataFrame, column: str) -> list[str]:
    if column not in samples.columns:
        return []
    values = samples[column]
    if isinstance(values.dtype, pd.CategoricalDtype) and values.dtype.ordered:
        return [str(c) for c in values.cat.categories]
    # plain text, or a categorical whose order nobody declared (pandas' is alphabetical):
    # the trial design's rules order it, or say why they cannot
    from salivaprot.design import _order_of

    kind: Literal["arm", "visit"] = "arm" if column == "arm" else "visit"
    return _order_of(values, None, None, kind=kind, table=samples)


def _select(
    table: pd.DataFrame, which: Sequence[str] | pd.Index | np.ndarray | pd.Series
) -> pd.Index:
    arr = np.asarray(which)
    if arr.dtype == bool:
        if len(arr) != len(table):
            raise DataError(f"boolean mask has {len(arr)} entries, expected {len(table)}")
        return table.index[arr]
    labels = pd.Index(arr.astype(str))
    unknown = labels.difference(table.index)
    if len(unknown):
        raise DataError(f"unknown labels: {', '.join(map(str, unknown[:10]))}")
    return labels
