"""Quality-control summaries: a study's abundance matrix, and LC-MS runs (tables, no plotting).

Run-level QC (:func:`flag_runs`) works on the table of per-run metrics that
:func:`salivaprot.read_mzml_qc` gives (one :meth:`~salivaprot.io.mzml.RunQC.row`
per run, as in ``qc.tsv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salivaprot.data import ProteinData
from salivaprot.errors import DataError

__all__ = [
    "RUN_OUTLIER_METRICS",
    "cv_by_group",
    "flag_runs",
    "join_run_qc",
    "missing_by_group",
    "missing_by_sample",
    "sample_medians",
]

#: Metrics tested for robust outliers among a study's runs, and the scale of the test.
RUN_OUTLIER_METRICS: dict[str, str] = {
    "n_ms2": "linear",
    "tic_total": "log10",
    "ms1_injection_time_median_ms": "log10",
    "ms2_injection_time_median_ms": "log10",
}
_MAD_SCALE = 1.4826  # MAD -> standard deviation under normality
_MEAN_AD_SCALE = 1.2533  # mean absolute deviation -> standard deviation


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


def flag_runs(
    table: pd.DataFrame,
    *,
    outlier_z: float = 3.5,
    min_runs: int = 5,
    min_ms1: int = 0,
    min_ms2: int = 0,
    min_tic: float = 0.0,
    in_study: pd.Series | None = None,
) -> pd.DataFrame:
    """Pass or fail each LC-MS run, with the reasons.

    A run fails when it could not be read (an ``error`` cell), when it holds no
    spectra or no ion current (``tic_total`` 0 or below), when it is under
    a hard floor, or when it is a robust outlier among the study's runs on one
    of :data:`RUN_OUTLIER_METRICS`: ``|x - median| / (1.4826 MAD) > outlier_z``
    (on log10 for TIC and injection times), in either direction. When more than
    half the runs share one value (MAD = 0), the mean absolute deviation
    (x 1.2533) takes the MAD's place.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per run: the ``qc.tsv`` columns (and optionally ``error``).
    outlier_z : float
        Robust z-score beyond which a run is an outlier.
    min_runs : int
        Fewest readable study runs for the outlier tests (below it they are skipped).
    min_ms1, min_ms2 : int
        Hard floors on the number of MS1 / MS2 spectra.
    min_tic : float
        Hard floor on ``tic_total`` (sum of MS1 TIC).
    in_study : pandas.Series of bool, optional
        Which rows make up the study the outliers are judged in (default: all).

    Returns
    -------
    pandas.DataFrame
        ``table`` with ``qc_pass`` (bool) and ``qc_reasons`` ("; "-separated,
        empty when passed) added.

    Examples
    --------
    >>> import pandas as pd
    >>> runs = pd.DataFrame({
    ...     "run": [f"r{i}" for i in range(6)],
    ...     "n_ms1": [2000] * 6,
    ...     "n_ms2": [30000, 31000, 29500, 30500, 30200, 9000],
    ...     "tic_total": [1e11, 1.1e11, 0.9e11, 1e11, 1.05e11, 1e9],
    ... })
    >>> flagged = flag_runs(runs, min_ms2=10000)
    >>> flagged["qc_pass"].tolist()
    [True, True, True, True, True, False]
    >>> print(flagged["qc_reasons"].iloc[-1])  # doctest: +ELLIPSIS
    n_ms2 9000 < floor 10000; n_ms2 low outlier (robust z -...); tic_total low outlier ...
    """
    out = table.copy()
    study = pd.Series(True, index=out.index) if in_study is None else in_study.reindex(out.index)
    study = study.fillna(False).astype(bool)
    errors = (
        out["error"].fillna("").astype(str)
        if "error" in out.columns
        else pd.Series("", index=out.index)
    )
    readable = errors == ""
    reasons: dict[object, list[str]] = {i: [] for i in out.index}
    for i in out.index[~readable]:
        reasons[i].append(f"unreadable: {errors[i]}")
    floors = (
        ("n_ms1", min_ms1, "{:d}"),
        ("n_ms2", min_ms2, "{:d}"),
        ("tic_total", min_tic, "{:.4g}"),
    )
    for column, floor, fmt in floors:
        if not floor or column not in out.columns:
            continue
        values = pd.to_numeric(out[column], errors="coerce")
        for i in out.index[readable]:
            value = values[i]
            shown = fmt.format(int(floor) if fmt == "{:d}" else floor)
            if np.isnan(value):
                reasons[i].append(f"{column} unknown (floor {shown})")
            elif value < floor:
                got = fmt.format(int(value) if fmt == "{:d}" else value)
                reasons[i].append(f"{column} {got} < floor {shown}")
    # runs that hold nothing fail whatever the study's spread (a run alone, or among
    # few, is never an outlier; a TIC of 0 has no log10 to be one)
    if {"n_ms1", "n_ms2"} <= set(out.columns):
        n_ms1 = pd.to_numeric(out["n_ms1"], errors="coerce")
        n_ms2 = pd.to_numeric(out["n_ms2"], errors="coerce")
        for i in out.index[readable & (n_ms1 + n_ms2 == 0)]:
            reasons[i].append("no MS1 or MS2 spectra")
    if "tic_total" in out.columns:
        tic = pd.to_numeric(out["tic_total"], errors="coerce")
        for i in out.index[readable & (tic <= 0)]:
            reasons[i].append(f"tic_total {tic[i]:.4g}: no ion current (a blank run?)")
    basis = readable & study
    if int(basis.sum()) >= min_runs:
        for column, scale in RUN_OUTLIER_METRICS.items():
            if column not in out.columns:
                continue
            values = pd.to_numeric(out[column], errors="coerce").astype(float)
            if scale == "log10":
                values = values.where(values > 0).apply(np.log10)
            reference = values[basis].dropna()
            if len(reference) < min_runs:
                continue
            median = float(reference.median())
            deviations = (reference - median).abs()
            mad = float(deviations.median()) * _MAD_SCALE
            if not mad > 0:  # over half the runs equal: the mean absolute deviation instead
                mad = float(deviations.mean()) * _MEAN_AD_SCALE
            if not mad > 0:
                continue
            z = (values - median) / mad
            shown_median = 10**median if scale == "log10" else median
            for i in out.index[readable]:
                if np.isfinite(z[i]) and abs(z[i]) > outlier_z:
                    side = "low" if z[i] < 0 else "high"
                    on = " on log10" if scale == "log10" else ""
                    reasons[i].append(
                        f"{column} {side} outlier (robust z {z[i]:.1f}{on}; "
                        f"study median {shown_median:.4g})"
                    )
    out["qc_pass"] = [not reasons[i] for i in out.index]
    out["qc_reasons"] = ["; ".join(reasons[i]) for i in out.index]
    return out


#: QC metrics that :func:`join_run_qc` copies into the sample table (numeric), plus flags.
RUN_QC_SAMPLE_COLUMNS: tuple[str, ...] = (
    "n_ms1",
    "n_ms2",
    "rt_start_min",
    "rt_end_min",
    "tic_total",
    "log10_tic_total",
    "base_peak_max",
    "ms1_injection_time_median_ms",
    "ms2_injection_time_median_ms",
    "ms1_peaks_median",
    "ms2_peaks_median",
    "ms2_charge_2",
    "ms2_charge_3",
    "ms2_unknown_charge_fraction",
    "qc_pass",
    "qc_reasons",
)


def join_run_qc(
    data: ProteinData, qc: pd.DataFrame, *, exclude_failed: bool = False
) -> tuple[ProteinData, list[dict[str, str]], list[str]]:
    """Join per-run QC metrics to the samples; optionally leave out failed runs.

    Each sample is matched to a QC row by the row's ``sample_id`` when the QC
    table has one, else by run name: the file stem of the sample table's
    ``run`` (or of the sample ID) equals the QC table's ``run``, the rule the
    protein tables use.

    Parameters
    ----------
    data : ProteinData
        The study.
    qc : pandas.DataFrame
        A ``qc.tsv`` table (:func:`salivaprot.io.mzml.read_qc_table`).
    exclude_failed : bool
        Leave out samples whose run has ``qc_pass`` False.

    Returns
    -------
    data : ProteinData
        With :data:`RUN_QC_SAMPLE_COLUMNS` in the sample table (``log10_tic_total``
        is derived), and without the failed samples when asked.
    excluded : list of dict
        ``sample_id``, ``run`` and ``reasons`` of each sample left out.
    notes : list of str
        Samples without a QC row, and sample-table columns not overwritten.

    Examples
    --------
    >>> import pandas as pd
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=20, subjects_per_arm=2).data
    >>> qc = pd.DataFrame({"sample_id": data.samples.index, "run": data.samples.index,
    ...                    "tic_total": 1e10, "qc_pass": True, "qc_reasons": ""})
    >>> qc.loc[0, ["qc_pass", "qc_reasons"]] = [False, "n_ms2 low outlier"]
    >>> joined, excluded, notes = join_run_qc(data, qc, exclude_failed=True)
    >>> joined.n_samples == data.n_samples - 1, excluded[0]["reasons"]
    (True, 'n_ms2 low outlier')
    """
    from salivaprot.io._files import file_stem

    samples = data.samples
    notes: list[str] = []
    if "sample_id" in qc.columns and qc["sample_id"].notna().any():
        rows = qc.dropna(subset=["sample_id"]).set_index(qc["sample_id"].dropna().astype(str))
        if rows.index.duplicated().any():
            raise DataError("the QC table names a sample_id on more than one run")
        keys = pd.Series(samples.index, index=samples.index)
    else:
        rows = qc.set_index(qc["run"].astype(str))
        source = (
            samples["run"]
            if "run" in samples.columns
            else pd.Series(samples.index, index=samples.index)
        )
        keys = source.astype(str).map(file_stem)
    matched = keys.map(lambda k: k in rows.index)
    if not matched.all():
        absent = samples.index[~matched.to_numpy()].tolist()
        notes.append(f"{len(absent)} sample(s) have no QC row (kept): {absent}")
    table = rows.reindex(keys.to_numpy())
    table.index = samples.index
    if "tic_total" in table.columns:
        tic = pd.to_numeric(table["tic_total"], errors="coerce")
        table["log10_tic_total"] = np.log10(tic.where(tic > 0))
    added = samples.copy()
    for column in RUN_QC_SAMPLE_COLUMNS:
        if column not in table.columns:
            continue
        if column in samples.columns:
            notes.append(
                f"sample table column '{column}' kept; the QC value of that name not joined"
            )
            continue
        added[column] = table[column]
    joined = ProteinData(
        abundance=data.abundance,
        samples=added,
        proteins=data.proteins,
        scale=data.scale,
        steps=data.steps,
        imputed=data.imputed,
    )
    excluded: list[dict[str, str]] = []
    if exclude_failed and "qc_pass" in table.columns:
        failed = table["qc_pass"].eq(False) & matched.to_numpy()
        for sample_id in samples.index[failed.to_numpy()]:
            excluded.append(
                {
                    "sample_id": str(sample_id),
                    "run": str(table.loc[sample_id, "run"]),
                    "reasons": str(table.loc[sample_id].get("qc_reasons", "") or ""),
                }
            )
        joined = joined.subset(samples=~failed.to_numpy())
    return joined, excluded, notes
