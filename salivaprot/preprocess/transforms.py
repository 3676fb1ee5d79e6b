"""log2 transformation and normalization of abundances."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from salivaprot._validate import check_sequence
from salivaprot.data import ProteinData
from salivaprot.errors import DataError

__all__ = [
    "EXCLUDE_TOP_METHODS",
    "LOG2_MAX",
    "MEDIAN_BEFORE_COLUMN",
    "NORMALIZATION_COLUMN",
    "NO_CHANGE_LOG2",
    "RAW_P99_MIN",
    "NormalizeMethod",
    "check_input",
    "log2",
    "normalize",
]

logger = logging.getLogger(__name__)

#: Sample-table column holding the log2 offset each sample was normalized by.
NORMALIZATION_COLUMN = "normalization_offset_log2"
#: Sample-table column holding each sample's median log2 abundance before normalization.
MEDIAN_BEFORE_COLUMN = "median_log2_before_normalization"

NormalizeMethod = Literal["median", "quantile", "total", "reference", "irs", "none"]

#: Largest value believable on the log2 scale (2^50 is ~1e15, beyond any MS intensity).
LOG2_MAX = 50.0
#: Raw intensities whose 99th percentile is below this look log2-transformed already.
RAW_P99_MIN = 40.0
#: The normalizations whose factors ``exclude_top`` leaves the dominant proteins out of.
EXCLUDE_TOP_METHODS = ("median", "total")
#: A second normalization that moves no log2 value by more than this changes nothing.
NO_CHANGE_LOG2 = 1e-9


def check_input(
    data: ProteinData,
    *,
    input_scale: Literal["raw", "log2"] | None = None,
    check_scale: bool = True,
) -> ProteinData:
    """Declare the input's scale and check that its numbers can be on that scale.

    * Log2 input must be finite (NaN is missing): an infinite value is refused,
      naming its protein and sample (raw input's infinities become missing in
      :func:`log2`).
    * With ``check_scale`` (the default), log2 input whose largest value is
      above :data:`LOG2_MAX` (50) is refused (raw intensities declared log2),
      and raw input whose 99th percentile is below :data:`RAW_P99_MIN` (40) too
      (log2 values that would be logged twice). The message says which scale
      the values look like; ``check_scale=False`` (``--force-scale``) accepts
      them as declared.

    Parameters
    ----------
    data : ProteinData
        Imported abundances.
    input_scale : {"raw", "log2"}, optional
        The scale of the values (default: ``data.scale``).
    check_scale : bool
        Refuse values that do not look like the declared scale.

    Returns
    -------
    ProteinData
        ``data`` with ``scale`` set to ``input_scale`` (a step records the declaration).

    Raises
    ------
    DataError

    Examples
    --------
    >>> import pandas as pd
    >>> raw = ProteinData(pd.DataFrame({"P1": [8e6, 2e7], "P2": [5e5, 3e5]}, index=["a", "b"]),
    ...                   pd.DataFrame(index=["a", "b"]), pd.DataFrame(index=["P1", "P2"]))
    >>> check_input(raw).scale
    'raw'
    >>> check_input(raw, input_scale="log2")
    Traceback (most recent call last):
    ...
    salivaprot.errors.DataError: the abundances are declared log2 (--input-scale log2) but reach 2e+07; log2 abundances stay below 50, so these look like raw intensities: use --input-scale raw (or leave the option out); if they really are log2, add --force-scale (check_scale=False in Python)
    """  # noqa: E501
    if input_scale is not None and input_scale != data.scale:
        data = replace(
            data, scale=input_scale, steps=(*data.steps, f"declared scale {input_scale!r}")
        )
    values = data.abundance.to_numpy(dtype=float)
    if data.scale == "log2":
        from salivaprot.stats._common import check_finite

        check_finite(values, what="the log2 abundances", protein_ids=data.abundance.columns,
                     sample_ids=data.abundance.index)  # fmt: skip
    finite = values[np.isfinite(values)]
    if not check_scale or finite.size == 0:
        return data
    if data.scale == "log2":
        top = float(finite.max())
        if top > LOG2_MAX:
            raise DataError(
                f"the abundances are declared log2 (--input-scale log2) but reach {top:.4g}; "
                f"log2 abundances stay below {LOG2_MAX:g}, so these look like raw intensities: "
                "use --input-scale raw (or leave the option out); if they really are log2, add "
                "--force-scale (check_scale=False in Python)"
            )
    else:
        p99 = float(np.percentile(finite, 99))
        if p99 < RAW_P99_MIN:
            raise DataError(
                f"the abundances are read as raw intensities, but 99% of them are below "
                f"{p99:.4g}; raw MS intensities reach far higher, so these look log2-transformed "
                "already (logging them again would be wrong): use --input-scale log2; if they "
                "really are raw, add --force-scale (check_scale=False in Python)"
            )
    return data


def _require_scale(data: ProteinData, scale: str, what: str) -> None:
    if data.scale != scale:
        hint = " (apply log2() first)" if scale == "log2" else ""
        raise DataError(f"{what} needs {scale}-scale abundances, got {data.scale!r}{hint}")


def _empty_samples(data: ProteinData) -> pd.Index:
    """Samples without any observed value (every protein missing)."""
    return data.abundance.index[data.abundance.isna().all(axis=1).to_numpy()]


def _shown(labels: pd.Index, limit: int = 10) -> str:
    """The first ``limit`` labels for a message, and how many more."""
    more = f" (and {len(labels) - limit} more)" if len(labels) > limit else ""
    return ", ".join(map(str, labels[:limit])) + more


def _refuse_empty_samples(data: ProteinData, what: str, method: str) -> None:
    """Refuse samples without any observed value: ``what`` (a verb) has nothing to work on.

    The message reads "cannot {what} sample(s) ... (method '{method}'): ...".
    """
    empty = _empty_samples(data)
    if len(empty):
        raise DataError(
            f"cannot {what} sample(s) {_shown(empty)} (method {method!r}): no observed value "
            "in any protein (a failed or blank run, or every value was in proteins the "
            "filters removed); leave them out of the sample sheet and use --drop-unlisted "
            "(drop_unlisted=True in Python)"
        )


def _log2_usable(values: np.ndarray) -> np.ndarray:
    """Raw values :func:`log2` keeps: finite and positive (zeros, negatives, infinities and
    missing values become missing)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > 0)


def log2(data: ProteinData) -> ProteinData:
    """Log2-transform raw abundances; zeros, negatives and infinities become missing.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = ProteinData(pd.DataFrame({"P1": [8.0, 0.0], "P2": [-1.0, 1.0]}, index=["a", "b"]),
    ...                   pd.DataFrame(index=["a", "b"]), pd.DataFrame(index=["P1", "P2"]))
    >>> log2(raw).abundance.to_numpy().tolist()
    [[3.0, nan], [nan, 0.0]]
    """
    _require_scale(data, "raw", "log2()")
    values = data.abundance.to_numpy()
    usable = _log2_usable(values)
    out = np.full(values.shape, np.nan)
    out[usable] = np.log2(values[usable])
    dropped = int((~usable & ~np.isnan(values)).sum())
    step = "log2()" + (
        f" [{dropped} non-positive or infinite values set missing]" if dropped else ""
    )
    frame = pd.DataFrame(out, index=data.abundance.index, columns=data.abundance.columns)
    return data.with_abundance(frame, step=step, scale="log2")


def normalize(
    data: ProteinData,
    *,
    method: NormalizeMethod = "median",
    exclude_top: int = 0,
    reference_proteins: Sequence[str] | None = None,
) -> ProteinData:
    """Remove per-sample loading and dilution differences from log2 abundances.

    Methods:

    * ``median`` (default): subtract each sample's median, then add back the
      mean of the medians, so all sample medians become equal;
    * ``total``: the same with log2 of each sample's total intensity;
    * ``reference``: the same with the median of a named protein set
      (``reference_proteins``);
    * ``quantile``: give every sample the same distribution (missing values
      allowed: each sample's observed quantiles are interpolated);
    * ``irs`` (TMT/iTRAQ with several plexes): ``median`` first (every
      channel, the pooled references included, on one common median: the
      loading correction, the same within and across plexes), then internal
      reference scaling: each plex is shifted, protein by protein, so that its
      pooled-reference channel equals the mean of the reference channels
      (see :mod:`salivaprot.preprocess.tmt`; needs the sheet's ``plex`` and
      ``reference_channel``). A protein its plex's reference did not observe
      becomes missing in that plex. The references stay in the result (they
      show the property); :func:`~salivaprot.preprocess.preprocess` then
      removes them before any model;
    * ``none``: leave the values as they are (the step is still recorded).

    ``exclude_top`` leaves the N most abundant proteins (mean log2 over the
    samples where they are observed) out of the median or total, so that a few
    dominant salivary proteins such as alpha-amylase do not drive the factors;
    with another method it is refused, as ``reference_proteins`` is with any
    method but ``reference`` (an argument that would do nothing is an error).
    The per-sample log2 offset subtracted is stored in the sample table as
    :data:`NORMALIZATION_COLUMN` (for quantile: the change of each median),
    beside each sample's median before normalization (:data:`MEDIAN_BEFORE_COLUMN`).

    The order is read from ``data.steps``: data on the output scale
    (:func:`~salivaprot.preprocess.output_scale` ran) are refused, since
    normalizing them would undo the per-sample flow term (normalize, then
    output_scale); data normalized already are normalized again only when
    that changes no value by more than :data:`NO_CHANGE_LOG2` (``median``
    twice), and then keep the first normalization's offsets; otherwise the
    error names the step that ran. ``method="none"`` changes nothing and is
    always accepted.

    Parameters
    ----------
    data : ProteinData
        Log2-scale abundances.
    method : {"median", "quantile", "total", "reference", "irs", "none"}
        Normalization method (see above).
    exclude_top : int
        Dominant proteins to leave out of ``median`` and ``total``.
    reference_proteins : sequence of str, optional
        Protein IDs for ``reference``.

    Returns
    -------
    ProteinData

    Raises
    ------
    DataError
        Wrong scale, unknown method, an argument the method does not use
        (``exclude_top`` other than 0, ``reference_proteins``), data on the
        output scale or normalized already (see above), a reference protein
        that is absent, a sample without any observed value (with every
        method, ``none`` included), or a sample without observed values in
        the basis of its factor.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = log2(simulate_trial(seed=1, n_proteins=60, subjects_per_arm=3).data)
    >>> normed = normalize(data, method="median")
    >>> float(normed.abundance.median(axis=1).std()) < 1e-12
    True
    >>> NORMALIZATION_COLUMN in normed.samples.columns
    True
    """
    _require_scale(data, "log2", "normalize()")
    reference_proteins = check_sequence(
        "reference_proteins", reference_proteins, DataError, example="P04745"
    )
    if isinstance(exclude_top, bool) or not isinstance(exclude_top, int | np.integer):
        raise DataError(f"exclude_top must be a whole number, not {exclude_top!r}")
    if exclude_top < 0:
        raise DataError(f"exclude_top must be 0 or more, not {exclude_top}")
    if method not in ("median", "quantile", "total", "reference", "irs", "none"):
        raise DataError(
            f"unknown normalization {method!r}; choose median, quantile, total, reference, irs "
            "or none"
        )
    ignored = []
    if exclude_top and method not in EXCLUDE_TOP_METHODS:
        ignored.append(
            f"exclude_top={exclude_top} has no effect with method={method!r} (it leaves "
            "dominant proteins out of the 'median' and 'total' factors only)"
        )
    if reference_proteins is not None and method != "reference":
        ignored.append(
            f"reference_proteins has no effect with method={method!r} (it names the proteins "
            "of method='reference')"
        )
    if ignored:
        raise DataError(ignored)
    _refuse_empty_samples(data, "normalize", method)
    scaled = _last_step(data, "output_scale")
    if scaled is not None and method != "none":
        raise DataError(
            f"the data are on the output scale already ({scaled} is in data.steps): "
            f"normalize(method={method!r}) now would undo the per-sample flow term it added; "
            "the order is normalize, then output_scale"
        )
    earlier = _last_step(data, "normalize", unless="normalize(method='none')")
    result = _normalized(data, method, exclude_top, reference_proteins)
    if earlier is None:
        return result
    # normalized already: again is allowed only when it changes nothing (median twice),
    # and then keeps the first normalization's offsets in the sample table
    before, after = data.abundance.to_numpy(dtype=float), result.abundance.to_numpy(dtype=float)
    if not np.allclose(after, before, rtol=0.0, atol=NO_CHANGE_LOG2, equal_nan=True):
        moved = np.abs(after - before)
        moved = moved[np.isfinite(moved)]
        how = (
            f"change values by up to {float(moved.max()):.3g} (log2)"
            if moved.size and moved.max() > NO_CHANGE_LOG2
            else "change which values are missing"
        )
        raise DataError(
            f"the data are normalized already ({earlier} is in data.steps); "
            f"normalize(method={method!r}) again would {how}: normalize once"
        )
    return replace(data, steps=(*data.steps, f"{result.steps[-1]} [no change: after {earlier}]"))


def _last_step(data: ProteinData, name: str, *, unless: str | None = None) -> str | None:
    """The last step of ``data.steps`` made by function ``name`` (except ``unless``), or None."""
    for step in reversed(data.steps):
        if step.startswith(f"{name}(") and not (unless and step.startswith(unless)):
            return step
    return None


def _normalized(
    data: ProteinData,
    method: NormalizeMethod,
    exclude_top: int,
    reference_proteins: Sequence[str] | None,
) -> ProteinData:
    """:func:`normalize`'s work, its arguments checked."""
    y = data.abundance
    values = y.to_numpy(dtype=float)
    before = _row_medians(values)
    columns = np.ones(values.shape[1], dtype=bool)
    if exclude_top and method in EXCLUDE_TOP_METHODS:
        if exclude_top >= y.shape[1]:
            raise DataError(
                f"exclude_top={exclude_top} leaves no protein to normalize on "
                f"({y.shape[1]} proteins)"
            )
        top = y.mean(axis=0).sort_values(ascending=False, kind="stable").index[:exclude_top]
        columns = ~y.columns.isin(top)
    if method in ("median", "irs"):
        factors = before if columns.all() else _row_medians(values[:, columns])
    elif method == "total":
        basis = values[:, columns]
        observed = ~np.isnan(basis)
        totals = np.where(observed, np.exp2(np.where(observed, basis, 0.0)), 0.0).sum(axis=1)
        factors = np.where(observed.any(axis=1), np.log2(np.where(totals > 0, totals, 1.0)), np.nan)
    elif method == "reference":
        if not reference_proteins:
            raise DataError("normalize(method='reference') needs reference_proteins")
        wanted = [str(p) for p in reference_proteins]
        absent = [p for p in wanted if p not in y.columns]
        if absent:
            raise DataError(
                f"reference protein(s) not in the data: {', '.join(absent[:10])}"
                + (f" (and {len(absent) - 10} more)" if len(absent) > 10 else "")
            )
        factors = _row_medians(y[wanted].to_numpy(dtype=float))
    elif method == "quantile":
        normalized = _quantile_normalize(y)
        offsets = before - _row_medians(normalized.to_numpy())
        return _with_offsets(data, normalized, before, offsets, "normalize(method='quantile')")
    else:  # "none"
        return _with_offsets(data, y, before, np.zeros(len(y)), "normalize(method='none')")
    empty = y.index[np.isnan(factors)]
    if len(empty):
        raise DataError(
            f"cannot normalize sample(s) {', '.join(map(str, empty[:10]))}: no observed value "
            f"in the proteins used for the '{method}' factor"
        )
    offsets = factors - factors.mean()
    detail = f", exclude_top={exclude_top}" if exclude_top else ""
    if method == "reference":
        detail = f", reference_proteins={len(reference_proteins or [])}"
    shifted = pd.DataFrame(values - offsets[:, np.newaxis], index=y.index, columns=y.columns)
    if method == "irs":
        from salivaprot.preprocess.tmt import irs

        shifted, lost = irs(shifted, data.samples)
        plexes = data.samples["plex"].nunique()
        detail += f", plexes={plexes}" + (f", unscalable_values={lost}" if lost else "")
        if lost:
            logger.warning(
                "irs: %d values became missing (their plex's reference channel did not "
                "observe the protein)",
                lost,
            )
    return _with_offsets(data, shifted, before, offsets, f"normalize(method={method!r}{detail})")


def _row_medians(values: np.ndarray) -> np.ndarray:
    """Median of each row over its observed values; NaN (no warning) for empty rows."""
    out = np.full(values.shape[0], np.nan)
    filled = ~np.isnan(values).all(axis=1)
    if filled.any():
        out[filled] = np.nanmedian(values[filled], axis=1)
    return out


def _with_offsets(
    data: ProteinData, values: pd.DataFrame, before: np.ndarray, offsets: np.ndarray, step: str
) -> ProteinData:
    samples = data.samples.copy()
    samples[MEDIAN_BEFORE_COLUMN] = before
    samples[NORMALIZATION_COLUMN] = offsets
    logger.info("%s: offsets from %.3f to %.3f", step, np.min(offsets), np.max(offsets))
    return replace(data, abundance=values, samples=samples, steps=(*data.steps, step))


def _quantile_normalize(y: pd.DataFrame) -> pd.DataFrame:
    """Quantile normalization of samples (rows), tolerating missing values."""
    values = y.to_numpy(dtype=float)
    n_samples, n_proteins = values.shape
    grid = np.linspace(0.0, 1.0, n_proteins)
    interpolated = np.empty((n_samples, n_proteins))
    counts = (~np.isnan(values)).sum(axis=1)
    if (counts == 0).any():
        empty = y.index[counts == 0]
        raise DataError(f"cannot quantile-normalize sample(s) without values: {list(empty[:10])}")
    for i in range(n_samples):
        observed = np.sort(values[i][~np.isnan(values[i])])
        positions = np.linspace(0.0, 1.0, observed.size) if observed.size > 1 else np.zeros(1)
        interpolated[i] = np.interp(grid, positions, observed)
    target = interpolated.mean(axis=0)
    out = np.full(values.shape, np.nan)
    from scipy.stats import rankdata

    for i in range(n_samples):
        present = ~np.isnan(values[i])
        n = int(present.sum())
        ranks = rankdata(values[i][present], method="average")
        where = (ranks - 1.0) / (n - 1.0) if n > 1 else np.full(n, 0.5)
        out[i, present] = np.interp(where, grid, target)
    return pd.DataFrame(out, index=y.index, columns=y.columns)
