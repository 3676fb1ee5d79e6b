"""Quality-control summaries of a study's abundance matrix (tables, no plotting)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salivaprot.data import ProteinData

__all__ = ["cv_by_group", "missing_by_group", "missing_by_sample", "sample_medians"]


def _group_keys(data: ProteinData) -> list[pd.Series]:
    if data.has_design:
        return [data.samples["arm"], data.samples["visit"]]
    return [pd.Series("all", index=data.samples.index, name="group")]


def missing_by_sample(data: ProteinData) -> pd.DataFrame:
    """Missing (and imputed) values per sample.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``sample_id``: ``n_missing`` (not measured, imputed or not),
        ``n_imputed``, ``missing_fraction``.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=50, subjects_per_arm=2).data
    >>> table = missing_by_sample(data)
    >>> bool((table["n_missing"] == data.abundance.isna().sum(axis=1)).all())
    True
    """
    not_measured = ~data.observed
    imputed = (
        pd.Series(0, index=data.samples.index)
        if data.imputed is None
        else data.imputed.sum(axis=1).astype(int)
    )
    return pd.DataFrame(
        {
            "n_missing": not_measured.sum(axis=1).astype(int),
            "n_imputed": imputed,
            "missing_fraction": not_measured.mean(axis=1) if data.n_proteins else np.nan,
        },
        index=data.samples.index,
    )


def missing_by_group(data: ProteinData) -> pd.DataFrame:
    """Missing values per arm x visit group (one group without a design).

    Returns
    -------
    pandas.DataFrame
        Indexed by (``arm``, ``visit``), in design order, every combination
        included: ``samples`` and ``missing_fraction`` (NaN for an empty group).
    """
    not_measured = (~data.observed).to_numpy()
    rows = []
    if data.has_design:
        arms = data.samples["arm"].to_numpy()
        visits = data.samples["visit"].to_numpy()
        for arm in data.arms:
            for visit in data.visits:
                mask = (arms == arm) & (visits == visit)
                n = int(mask.sum())
                fraction = float(not_measured[mask].mean()) if n and data.n_proteins else np.nan
                rows.append(
                    {"arm": arm, "visit": visit, "samples": n, "missing_fraction": fraction}
                )
    else:
        fraction = float(not_measured.mean()) if not_measured.size else np.nan
        rows.append(
            {"arm": "all", "visit": "all", "samples": data.n_samples, "missing_fraction": fraction}
        )
    return pd.DataFrame(rows).set_index(["arm", "visit"])


def sample_medians(data: ProteinData) -> pd.Series:
    """Median log2 abundance of each sample (log2 is taken of raw data first).

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> from salivaprot.preprocess import log2, normalize
    >>> data = log2(simulate_trial(seed=1, n_proteins=50, subjects_per_arm=2).data)
    >>> float(sample_medians(normalize(data)).std()) < 1e-12
    True
    """
    y = data.abundance
    if data.scale == "raw":
        y = y.where(y > 0).apply(np.log2)
    return y.median(axis=1).rename("median_log2")


def cv_by_group(data: ProteinData) -> pd.DataFrame:
    """Coefficient of variation of each protein within each arm x visit group.

    Computed on the linear scale (2**y for log2 data), over measured values
    only; NaN where a group has fewer than two.

    Returns
    -------
    pandas.DataFrame
        Proteins x groups (columns ``"arm / visit"``, or ``"all"`` without a design).
    """
    values = data.abundance.where(data.observed)
    linear = 2.0**values if data.scale == "log2" else values
    keys = _group_keys(data)
    grouped = linear.groupby(keys, observed=True)
    cv = (grouped.std(ddof=1) / grouped.mean()).T
    if data.has_design:
        cv.columns = [" / ".join(map(str, group)) for group in cv.columns]
    else:
        cv.columns = [str(c) for c in cv.columns]
    cv.index.name = "protein_id"
    return cv
