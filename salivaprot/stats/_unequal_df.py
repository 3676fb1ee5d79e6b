"""Prior estimation for residual variances with unequal df (limma >= 3.61).

From limma 3.61 on, ``squeezeVar`` and ``eBayes`` (with ``legacy = NULL``) no
longer use moment estimation when the residual df differ between proteins:
``fitFDistUnequalDF1`` (Smyth and Chen) weights each log-variance by the
inverse of its sampling variance, 1 / trigamma(d_g / 2), to estimate the prior
location (a weighted mean, or a weighted lowess trend in average abundance),
then maximizes the scaled-F likelihood in the prior df by Brent's golden-section
search on d_0 / (1 + d_0) in [1/3, 0.9998] (that is, d_0 in [1, 9998]).
``robust`` flags two-sided outlying variances by BH-adjusted F tail
probabilities, refits with those proportions as prior weights, and shrinks the
prior df of right outliers as the legacy robust method does.

The steps, constants and stopping rules are limma 3.63.2's, so that results
agree with R to rounding; the code here is written from the published method.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from salivaprot.stats import _special as special

__all__ = ["UnequalDfFit", "fit_f_dist_unequal_df1"]

_THRESHOLD = 1e-7


@dataclass(frozen=True)
class UnequalDfFit:
    """Result of :func:`fit_f_dist_unequal_df1`.

    ``scale`` is per value when a covariate was given; ``df2_shrunk`` is None
    unless robust estimation found right outliers.
    """

    scale: np.ndarray | float
    df2: float
    df2_shrunk: np.ndarray | None = None


def _logmdigamma(x: np.ndarray) -> np.ndarray:
    """log(x) - digamma(x) for x > 0 (the recurrence and asymptotic series statmod uses)."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    small = x < 5
    large = ~small
    if large.any():
        z = x[large]
        u = 1.0 / z**2
        # asymptotic series of 1/(2z) - (log(z) - digamma(z)) in u = 1/z^2, by Horner's rule
        tail = -1 / 12 + 3617 * u / 8160
        for coefficient in (691 / 32760, -1 / 132, 1 / 240, -1 / 252, 1 / 120, -1 / 12):
            tail = coefficient + u * tail
        tail = u * tail
        out[large] = 1 / (2 * z) - tail
    if small.any():
        z = x[small]
        out[small] = (
            np.log(z / (z + 5))
            + _logmdigamma(z + 5)
            + 1 / z
            + 1 / (z + 1)
            + 1 / (z + 2)
            + 1 / (z + 3)
            + 1 / (z + 4)
        )
    return out


def _sum(values: np.ndarray) -> float:
    """A sum accumulated in extended precision, as R's ``sum`` does."""
    return float(np.sum(np.asarray(values, dtype=np.longdouble)))


def _brent_minimize(
    func: Callable[[float], float], lower: float, upper: float, tol: float
) -> float:
    """Brent's (1973) golden-section / parabolic minimizer, with R ``optimize``'s steps."""
    golden = (3.0 - math.sqrt(5.0)) * 0.5
    eps = math.sqrt(np.finfo(float).eps)
    a, b = lower, upper
    v = a + golden * (b - a)
    w = x = v
    d = e = 0.0
    fx = func(x)
    fv = fw = fx
    tol3 = tol / 3.0
    while True:
        xm = (a + b) * 0.5
        tol1 = eps * abs(x) + tol3
        t2 = tol1 * 2.0
        if abs(x - xm) <= t2 - (b - a) * 0.5:
            return x
        p = q = r = 0.0
        if abs(e) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = (q - r) * 2.0
            if q > 0.0:
                p = -p
            else:
                q = -q
            r = e
            e = d
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):
            e = (b - x) if x < xm else (a - x)
            d = golden * e
        else:
            d = p / q
            u = x + d
            if u - a < t2 or b - u < t2:
                d = tol1 if x < xm else -tol1
        if abs(d) >= tol1:
            u = x + d
        elif d > 0.0:
            u = x + tol1
        else:
            u = x - tol1
        fu = func(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, w, x = w, x, u
            fv, fw, fx = fw, fx, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv = w, fw
                w, fw = u, fu
            elif fu <= fv or v in (x, w):
                v, fv = u, fu


def _weighted_lowess(x: np.ndarray, y: np.ndarray, weights: np.ndarray, span: float) -> np.ndarray:
    """One pass (no robustness iterations) of limma's ``weightedLowess`` with npts = 200.

    Local linear fits with tricube x prior weights at seed points spaced by
    ``delta``, each window grown until it holds ``span`` of the total weight,
    and linear interpolation between seeds. Returns fitted values in input order.
    """
    order = np.argsort(x, kind="stable")
    xs, ys, ws = x[order], y[order], weights[order]
    n = len(xs)
    npts = 200
    if npts >= n:
        delta = 0.0
    else:
        dx = np.sort(np.diff(xs))
        cumrange = np.cumsum(dx.astype(np.longdouble)).astype(float)
        k = np.arange(npts)
        delta = float(np.min(cumrange[len(dx) - k - 1] / (npts - k)))
    seeds = [0]
    last = 0
    for pt in range(1, n - 1):
        if xs[pt] - xs[last] > delta:
            seeds.append(pt)
            last = pt
    seeds.append(n - 1)
    span_weight = float(np.cumsum(ws)[-1]) * span  # summed in order, as the C code does
    subrange = (xs[n - 1] - xs[0]) / n
    fitted = np.empty(n)
    last_pt = 0
    for index, cur in enumerate(seeds):
        left = right = cur
        weight = ws[cur]
        at_end, at_start = cur == n - 1, cur == 0
        max_dist = 0.0
        while weight < span_weight and (not at_end or not at_start):
            if at_end or (not at_start and xs[cur] - xs[left - 1] < xs[right + 1] - xs[cur]):
                distance = xs[cur] - xs[left - 1]
                left -= 1
                weight += ws[left]
                at_start = left == 0
            else:
                distance = xs[right + 1] - xs[cur]
                right += 1
                weight += ws[right]
                at_end = right == n - 1
            max_dist = max(max_dist, distance)
        while left > 0 and xs[left] == xs[left - 1]:
            left -= 1
        while right < n - 1 and xs[right] == xs[right + 1]:
            right += 1
        fitted[cur] = _local_linear(xs[left : right + 1], ys[left : right + 1],
                                    ws[left : right + 1], xs[cur], max_dist)  # fmt: skip
        if index > 0 and cur - last_pt > 1:
            gap = xs[cur] - xs[last_pt]
            between = slice(last_pt + 1, cur)
            if gap > _THRESHOLD * subrange:
                slope = (fitted[cur] - fitted[last_pt]) / gap
                intercept = fitted[cur] - slope * xs[cur]
                fitted[between] = slope * xs[between] + intercept
            else:
                fitted[between] = 0.5 * (fitted[cur] + fitted[last_pt])
        last_pt = cur
    out = np.empty(n)
    out[order] = fitted
    return out


def _local_linear(x: np.ndarray, y: np.ndarray, w: np.ndarray, at: float, dist: float) -> float:
    if dist < _THRESHOLD:
        return float(np.sum(y * w) / np.sum(w))
    work = (1 - (np.abs(at - x) / dist) ** 3) ** 3 * w
    total = np.sum(work)
    xmean = np.sum(work * x) / total
    ymean = np.sum(work * y) / total
    var = np.sum((x - xmean) ** 2 * work)
    if var < _THRESHOLD:
        return float(ymean)
    slope = np.sum((x - xmean) * (y - ymean) * work) / var
    return float(slope * at + (ymean - slope * xmean))


def _loess_fit(y: np.ndarray, x: np.ndarray, weights: np.ndarray, span: float) -> np.ndarray:
    """limma's ``loessFit(y, x, weights, span, iterations=1, min.weight=1e-8, max.weight=100)``."""
    weights = np.clip(weights, 1e-8, 1e2)
    n = len(y)
    if span < 1 / n:
        return y.copy()
    if np.ptp(weights) < 1e-15:
        from statsmodels.nonparametric.smoothers_lowess import lowess

        delta = 0.01 * float(np.ptp(x))
        return np.asarray(lowess(y, x, frac=span, it=0, delta=delta, return_sorted=False))
    if n < 4 + 1 / span:
        sqrt_w = np.sqrt(weights)
        basis = np.column_stack([np.ones(n), x])
        coefficients = np.linalg.lstsq(basis * sqrt_w[:, None], y * sqrt_w, rcond=None)[0]
        return basis @ coefficients
    return _weighted_lowess(x, y, weights, span)


def _bh(p: np.ndarray) -> np.ndarray:
    n = len(p)
    order = np.argsort(-p, kind="stable")
    ranks = np.arange(n, 0, -1)
    adjusted = np.minimum.accumulate(n / ranks * p[order])
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def fit_f_dist_unequal_df1(
    x: np.ndarray,
    df1: np.ndarray | float,
    covariate: np.ndarray | None = None,
    *,
    robust: bool = False,
    prior_weights: np.ndarray | None = None,
) -> UnequalDfFit:
    """Scaled-F prior for variances with unequal df (limma's ``fitFDistUnequalDF1``).

    Parameters
    ----------
    x : numpy.ndarray
        Sample variances (NaN = none).
    df1 : numpy.ndarray or float
        Their df; values below 0.01 make a variance uninformative.
    covariate : numpy.ndarray, optional
        When given, the prior scale follows a weighted lowess trend in it.
    robust : bool
        Down-weight outlying variances and shrink the prior df of right outliers.
    prior_weights : numpy.ndarray, optional
        Weights of the variances in the likelihood.

    Returns
    -------
    UnequalDfFit
        ``scale`` and ``df2`` are NaN when fewer than two variances are informative.
    """
    x = np.array(x, dtype=float)
    n = len(x)
    df1 = np.broadcast_to(np.asarray(df1, dtype=float), x.shape).copy()
    if np.isnan(df1).any():
        raise ValueError("NA df1 values")
    if covariate is not None:
        covariate = np.asarray(covariate, dtype=float)
        if len(covariate) != n or np.isnan(covariate).any():
            raise ValueError("the covariate must have one non-NA value per variance")
    weights = None if prior_weights is None else np.array(prior_weights, dtype=float)
    missing = np.isnan(x)
    if missing.any():
        weights = (~missing).astype(float) if weights is None else weights
        weights[missing] = 0.0
        x[missing] = 0.0
    small_df = df1 < 0.01
    if small_df.any():
        weights = (~small_df).astype(float) if weights is None else weights
        weights[small_df] = 0.0
        df1[small_df] = 1.0
    informative = x > 0
    if weights is not None:
        informative &= weights != 0
    n_informative = int(informative.sum())
    if n_informative < 2:
        return UnequalDfFit(scale=np.nan, df2=np.nan)
    if n_informative == 2:
        covariate, robust, weights = None, False, None

    m = float(np.median(x[informative]))
    xpos = np.maximum(x, 1e-12 * m)
    z = np.log(xpos)
    d1 = df1 / 2
    e = z + _logmdigamma(d1)
    w = 1.0 / special.polygamma(1, d1)
    if weights is not None:
        w = w * weights
    emean: np.ndarray | float
    if covariate is None:
        emean = _sum(w * e) / _sum(w)
    else:
        span = min(0.3 + 0.7 * (500 / n) ** (1 / 3), 1.0)
        emean = _loess_fit(e, covariate, w / np.quantile(w, 0.75), span)
    d1x = d1 * xpos

    def minus_twice_loglik(par: float) -> float:
        d2 = par / (1 - par)
        d2s20 = d2 * np.exp(emean - _logmdigamma(np.array([d2]))[0])
        terms = (
            -(d1 + d2) * np.log1p(d1x / d2s20)
            - d1 * np.log(d2s20)
            + special.gammaln(d1 + d2)
            - special.gammaln(d2)
        )
        if weights is not None:
            terms = weights * terms
        return -2 * _sum(terms)

    par = _brent_minimize(minus_twice_loglik, 0.5, 0.9998, np.finfo(float).eps ** 0.25)
    d2 = par / (1 - par)
    s20 = np.exp(emean - _logmdigamma(np.array([d2]))[0])
    scale: np.ndarray | float = float(s20) if np.ndim(s20) == 0 else s20
    df2 = 2 * d2
    if not robust:
        return UnequalDfFit(scale=scale, df2=df2)
    from scipy import stats  # only here: importing it takes 0.3-1 s

    fstat = x / s20
    right_p = stats.f(df1, df2).sf(fstat)
    left_p = 1 - right_p
    tiny = left_p < 0.001
    if tiny.any():
        left_p[tiny] = stats.f(df1[tiny], df2).cdf(fstat[tiny])
    fdr = _bh(2 * np.minimum(left_p, right_p))
    fdr[fdr > 0.3] = 1.0
    if fdr.min() == 1.0:
        return UnequalDfFit(scale=scale, df2=df2)
    refit = fit_f_dist_unequal_df1(x, df1, covariate, robust=False, prior_weights=fdr)
    ranks = stats.rankdata(fstat)
    uniform_p = (n - ranks + 0.5) / n
    not_outlier = np.minimum(right_p / uniform_p, 1.0)
    if not_outlier.min() == 1.0:
        return refit
    df2 = refit.df2
    i = int(np.argmin(right_p))
    if right_p[i] == 0:
        shrunk = not_outlier * df2
    else:
        df2_outlier = math.log(0.5) / math.log(right_p[i]) * df2
        new_log_right_p = float(stats.f(df1[i], df2_outlier).logsf(fstat[i]))
        df2_outlier = math.log(0.5) / new_log_right_p * df2_outlier
        shrunk = not_outlier * df2 + (1 - not_outlier) * df2_outlier
    order = np.argsort(right_p, kind="stable")
    ordered = shrunk[order]
    running = np.cumsum(ordered.astype(np.longdouble)).astype(float) / np.arange(1, n + 1)
    imin = int(np.argmin(running))
    ordered[: imin + 1] = running[imin]
    shrunk[order] = np.maximum.accumulate(ordered)
    return UnequalDfFit(scale=refit.scale, df2=df2, df2_shrunk=shrunk)
