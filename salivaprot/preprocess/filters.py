"""Protein filters: decoys, contaminants, accession patterns, species, valid values."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import pandas as pd

from salivaprot._validate import check_sequence
from salivaprot.data import ProteinData
from salivaprot.errors import DataError
from salivaprot.preprocess.transforms import _log2_usable
from salivaprot.summary import HUMAN_TAXID, protein_categories

__all__ = ["Groups", "filter_proteins", "filter_reasons"]

logger = logging.getLogger(__name__)

Groups = Literal["any", "all"]


def filter_reasons(
    data: ProteinData,
    *,
    contaminants: bool = True,
    decoys: bool = True,
    patterns: Sequence[str] = (),
    species: int | None = HUMAN_TAXID,
    min_fraction: float | None = 0.5,
    groups: Groups = "any",
) -> pd.Series:
    """Why each protein would be removed by :func:`filter_proteins`.

    Rules, first match wins: ``decoy``, ``contaminant``, ``pattern`` (the
    protein ID matches one of ``patterns``, case-insensitive regular
    expressions), ``other_species`` (taxid known and not ``species``),
    ``min_fraction`` (observed in fewer than ``min_fraction`` of the samples of
    any / every arm x visit group; the whole study is one group without a
    design). Imputed cells do not count as observed, and neither do values that
    :func:`~salivaprot.preprocess.log2` makes missing: on the raw scale, zeros
    (kept with ``--keep-zeros``), negatives and infinities. The rule judges the
    values the model will see, whether it runs before or after ``log2``.

    Parameters
    ----------
    data : ProteinData
        The study.
    contaminants, decoys : bool
        Remove proteins flagged as such.
    patterns : sequence of str
        More accession patterns to remove.
    species : int or None
        NCBI taxonomy ID to keep; ``None`` keeps every species.
    min_fraction : float or None
        Valid-values threshold in [0, 1]; ``None`` disables the rule.
    groups : {"any", "all"}
        The threshold must be met in at least one group, or in every group.

    Returns
    -------
    pandas.Series
        Indexed by protein; ``""`` for proteins kept.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=100, subjects_per_arm=4).data
    >>> filter_reasons(data).value_counts().to_dict()
    {'': 78, 'other_species': 15, 'contaminant': 3, 'min_fraction': 2, 'decoy': 2}
    """
    patterns = check_sequence("patterns", patterns, DataError, example="^CON__") or ()
    if min_fraction is not None and not 0.0 <= min_fraction <= 1.0:
        raise DataError(f"min_fraction must be between 0 and 1, not {min_fraction}")
    if groups not in ("any", "all"):
        raise DataError(f"groups must be 'any' or 'all', not {groups!r}")
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as err:
            raise DataError(f"invalid accession pattern {pattern!r}: {err}") from err
    category = protein_categories(data.proteins, species=species)
    reasons = pd.Series("", index=data.proteins.index, name="reason", dtype=object)
    if decoys:
        reasons[(category == "decoy") & (reasons == "")] = "decoy"
    if contaminants:
        flagged = data.proteins.get("is_contaminant", pd.Series(False, index=reasons.index))
        reasons[flagged.fillna(False).astype(bool) & (reasons == "")] = "contaminant"
    if compiled:
        matched = reasons.index.to_series().map(lambda pid: any(p.search(pid) for p in compiled))
        reasons[matched & (reasons == "")] = "pattern"
    if species is not None:
        reasons[(category == "other_species") & (reasons == "")] = "other_species"
    if min_fraction is not None:
        fractions = _group_fractions(data)
        best = fractions.max(axis=0) if groups == "any" else fractions.min(axis=0)
        reasons[(best < min_fraction - 1e-12) & (reasons == "")] = "min_fraction"
    return reasons


def _group_fractions(data: ProteinData) -> pd.DataFrame:
    """Fraction of each arm x visit group's samples in which each protein counts as observed."""
    observed = _counted(data)
    if not data.has_design:
        return observed.mean(axis=0).to_frame().T
    keys = [data.samples["arm"], data.samples["visit"]]
    return observed.groupby(keys, observed=True).mean()


def _counted(data: ProteinData) -> pd.DataFrame:
    """Cells the valid-value rule counts as observed (samples x proteins, bool).

    Measured and not imputed; on the raw scale also positive and finite, since
    :func:`~salivaprot.preprocess.log2` turns zeros, negatives and infinities
    into missing values. On the log2 scale every measured value counts (zero
    and negative log2 values are values).
    """
    observed = data.observed
    if data.scale != "raw":
        return observed
    return observed & _log2_usable(data.abundance.to_numpy(dtype=float))


def filter_proteins(
    data: ProteinData,
    *,
    contaminants: bool = True,
    decoys: bool = True,
    patterns: Sequence[str] = (),
    species: int | None = HUMAN_TAXID,
    min_fraction: float | None = 0.5,
    groups: Groups = "any",
) -> ProteinData:
    """Remove decoys, contaminants, other species and rarely observed proteins.

    See :func:`filter_reasons` for the rules; the step recorded in ``steps``
    says how many proteins each rule removed.

    Returns
    -------
    ProteinData

    Raises
    ------
    DataError
        When every protein would be removed.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=100, subjects_per_arm=4).data
    >>> kept = filter_proteins(data, min_fraction=0.5, groups="all")
    >>> kept.n_proteins
    59
    >>> kept.steps[-1]
    'filter_proteins(decoy=2, contaminant=3, other_species=15, min_fraction=21; kept 59 of 100)'
    """
    reasons = filter_reasons(
        data,
        contaminants=contaminants,
        decoys=decoys,
        patterns=patterns,
        species=species,
        min_fraction=min_fraction,
        groups=groups,
    )
    keep = (reasons == "").to_numpy()
    if not keep.any():
        raise DataError(
            f"every one of the {len(reasons)} proteins would be removed "
            f"({_count_reasons(reasons)}); relax the filters or use --no-filter"
        )
    counts = _count_reasons(reasons)
    step = f"filter_proteins({counts}; kept {int(keep.sum())} of {len(reasons)})"
    logger.info(step)
    kept = data.subset(proteins=keep)
    return replace(kept, steps=(*kept.steps, step))


def _count_reasons(reasons: pd.Series) -> str:
    order = ("decoy", "contaminant", "pattern", "other_species", "min_fraction")
    counts = reasons.value_counts()
    return ", ".join(f"{r}={int(counts[r])}" for r in order if r in counts) or "none removed"
