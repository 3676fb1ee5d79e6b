"""Small numerical helpers shared by the statistics modules.

They use a few special functions only (:mod:`salivaprot.stats._special`, which
loads them without the rest of :mod:`scipy.special`): importing :mod:`scipy.stats`
costs about a second, more than a whole limma fit of a small study, so the hot
paths avoid it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salivaprot.errors import DataError
from salivaprot.stats import _special as special

__all__ = [
    "MAX_ABS_VALUE",
    "bh_adjust",
    "check_choice",
    "check_correlation",
    "check_finite",
    "f_upper_p",
    "observed_means",
    "subject_sums",
    "subject_totals",
    "t_two_sided_p",
    "trimmed_mean",
]


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Refuse an option value that is not one of ``choices`` (a :class:`DesignError`).

    Examples
    --------
    >>> check_choice("method", "reml", ("statmod", "reml"))
    >>> check_choice("method", "foo", ("statmod", "reml"))
    Traceback (most recent call last):
    ...
    salivaprot.errors.DesignError: method must be one of 'statmod', 'reml', not 'foo'
    """
    from salivaprot.errors import DesignError

    if not isinstance(value, str) or value not in choices:
        raise DesignError(f"{name} must be one of {', '.join(map(repr, choices))}, not {value!r}")


def check_correlation(correlation: float, subjects: np.ndarray) -> float:
    """Refuse a within-subject correlation that makes a subject's covariance singular.

    A subject with m samples has the covariance ``(1 - rho) I + rho J``, with
    eigenvalues ``1 - rho`` and ``1 + (m - 1) rho``: positive definite for
    ``-1 / (m - 1) < rho < 1``, m the largest number of samples of a subject.

    Examples
    --------
    >>> check_correlation(0.3, np.array(["a", "a", "a", "b"]))
    0.3
    >>> check_correlation(-0.5, np.array(["a", "a", "a", "b"]))
    Traceback (most recent call last):
    ...
    salivaprot.errors.DesignError: correlation -0.5 is outside (-0.5, 1): with up to 3 samples per subject, a within-subject correlation must be greater than -1/(3 - 1) = -0.5 and less than 1 for the covariance to be positive definite
    """  # noqa: E501
    from salivaprot.errors import DesignError

    if (
        isinstance(correlation, bool)
        or not isinstance(correlation, int | float | np.number)
        or not np.isfinite(correlation)
    ):
        raise DesignError(f"correlation must be a finite number, not {correlation!r}")
    _, counts = np.unique(np.asarray(subjects), return_counts=True)
    largest = int(counts.max()) if counts.size else 1
    lower = -1.0 / (largest - 1) if largest > 1 else -1.0
    value = float(correlation)
    if not (lower < value < 1.0):
        raise DesignError(
            f"correlation {correlation:g} is outside ({lower:g}, 1): with up to {largest} samples "
            f"per subject, a within-subject correlation must be greater than -1/({largest} - 1) "
            f"= {lower:g} and less than 1 for the covariance to be positive definite"
        )
    return value


def t_two_sided_p(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided p-value of Student t statistics (NaN stays NaN).

    Examples
    --------
    >>> round(float(t_two_sided_p(np.array(2.0), np.array(10.0))), 6)
    0.073388
    """
    with np.errstate(invalid="ignore"):
        return 2.0 * special.stdtr(df, -np.abs(t))


def f_upper_p(f: np.ndarray, df1: np.ndarray | float, df2: np.ndarray | float) -> np.ndarray:
    """Upper-tail p-value of F statistics.

    Examples
    --------
    >>> round(float(f_upper_p(np.array(3.0), 2.0, 30.0)), 6)
    0.064905
    """
    with np.errstate(invalid="ignore"):
        return special.fdtrc(df1, df2, f)


def observed_means(y: np.ndarray) -> np.ndarray:
    """Each column's mean over its observed (non-NaN) values; NaN for a column with none.

    No "Mean of empty slice" warning, unlike :func:`numpy.nanmean`.

    Examples
    --------
    >>> observed_means(np.array([[1.0, np.nan], [3.0, np.nan]])).tolist()
    [2.0, nan]
    """
    n_obs = (~np.isnan(y)).sum(axis=0)
    return np.where(n_obs > 0, np.nansum(y, axis=0) / np.maximum(n_obs, 1), np.nan)


def subject_sums(subject_index: np.ndarray, weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per subject and protein, the weighted sum of the design rows of the subject's samples.

    ``out[b, g] = sum(weights[i, g] * x[i] for the samples i of subject b)``
    (subjects x proteins x coefficients), one small product per subject
    instead of a product with a samples x subjects indicator matrix (which
    also needed a samples x proteins x coefficients temporary).

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    >>> w = np.array([[1.0], [1.0], [0.0]])
    >>> subject_sums(np.array([0, 0, 1]), w, x)[:, 0]
    array([[2., 1.],
           [0., 0.]])
    """
    n_subjects = int(subject_index.max()) + 1 if len(subject_index) else 0
    out = np.zeros((n_subjects, weights.shape[1], x.shape[1]))
    order = np.argsort(subject_index, kind="stable")
    bounds = np.searchsorted(subject_index[order], np.arange(n_subjects + 1))
    for b in range(n_subjects):
        rows = order[bounds[b] : bounds[b + 1]]
        out[b] = weights[rows].T @ x[rows]
    return out


def subject_totals(subject_index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per subject, the sum of the rows of ``values`` of the subject's samples (subjects x ...).

    Subjects are ``0 .. subject_index.max()``, each with at least one sample.

    Examples
    --------
    >>> subject_totals(np.array([1, 0, 1]), np.array([[1.0], [2.0], [4.0]]))
    array([[2.],
           [5.]])
    """
    if not len(subject_index):
        return np.zeros((0, *values.shape[1:]))
    order = np.argsort(subject_index, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(subject_index[order]) != 0])
    return np.add.reduceat(values[order], starts, axis=0)


def trimmed_mean(values: np.ndarray, trim: float) -> float:
    """Mean after dropping floor(n * trim) values at each end, as R's ``mean(x, trim=)``.

    Examples
    --------
    >>> trimmed_mean(np.array([1.0, 2.0, 3.0, 100.0]), 0.25)
    2.5
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    cut = int(np.floor(len(ordered) * trim))
    return float(np.mean(ordered[cut : len(ordered) - cut]))


def bh_adjust(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (R's ``p.adjust(p, "BH")``); NaN stays NaN.

    The same numbers as ``scipy.stats.false_discovery_control(p, method="bh")``
    (a test checks), without importing :mod:`scipy.stats`.

    Examples
    --------
    >>> bh_adjust(np.array([0.01, 0.04, np.nan, 0.03])).round(3).tolist()
    [0.03, 0.04, nan, 0.04]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    n = len(present)
    if n == 0:
        return out
    order = present[np.argsort(p[present], kind="stable")[::-1]]
    scaled = p[order] * n / np.arange(n, 0, -1)
    out[order] = np.minimum(np.minimum.accumulate(scaled), 1.0)
    return out


#: Largest magnitude the statistics accept: its square still fits in a float64.
MAX_ABS_VALUE = 1e150


def check_finite(
    y: np.ndarray,
    *,
    what: str = "y",
    protein_ids: Sequence[object] | pd.Index | None = None,
    sample_ids: Sequence[object] | pd.Index | None = None,
    limit: int = 10,
) -> None:
    """Refuse infinite values and values too large to square (NaN is missing and allowed).

    Parameters
    ----------
    y : numpy.ndarray
        Samples x proteins (a 1-D array is one protein).
    what : str
        Name of the array, for the message.
    protein_ids, sample_ids : sequence, optional
        Labels of the columns and rows; without them the message gives
        0-based column (protein) and row (sample) positions.
    limit : int
        How many offending cells the message lists.

    Raises
    ------
    DataError
        Naming the protein(s) and sample(s) of the offending values.

    Examples
    --------
    >>> check_finite(np.array([[1.0, np.nan], [2.0, 3.0]]))
    >>> check_finite(np.array([[1.0, np.inf]]), protein_ids=["P1", "P2"], sample_ids=["s1"])
    Traceback (most recent call last):
    ...
    salivaprot.errors.DataError: y has 1 non-finite or too large value(s) (use NaN for missing values; the statistics accept magnitudes up to 1e+150): protein 'P2' in sample 's1' (inf)
    """  # noqa: E501
    values = np.asarray(y, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    with np.errstate(invalid="ignore"):
        bad = np.isinf(values) | (np.abs(values) > MAX_ABS_VALUE)
    if not bad.any():
        return
    rows, cols = np.nonzero(bad)
    order = np.lexsort((rows, cols))  # protein by protein
    rows, cols = rows[order], cols[order]

    def protein(j: int) -> str:
        return f"protein {protein_ids[j]!r}" if protein_ids is not None else f"protein column {j}"

    def sample(i: int) -> str:
        return f"sample {sample_ids[i]!r}" if sample_ids is not None else f"sample row {i}"

    cells = [
        f"{protein(int(j))} in {sample(int(i))} ({values[i, j]:g})"
        for i, j in zip(rows[:limit], cols[:limit], strict=True)
    ]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    raise DataError(
        f"{what} has {len(rows)} non-finite or too large value(s) (use NaN for missing "
        f"values; the statistics accept magnitudes up to {MAX_ABS_VALUE:g}): "
        + "; ".join(cells)
        + more
    )
