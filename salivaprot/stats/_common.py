"""Small numerical helpers shared by the statistics modules.

They use :mod:`scipy.special` only: importing :mod:`scipy.stats` costs about a
second, more than a whole limma fit of a small study, so the hot paths avoid it.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["bh_adjust", "f_upper_p", "t_two_sided_p", "trimmed_mean"]


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
