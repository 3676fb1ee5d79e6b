"""Empirical-Bayes moderation of residual variances (Smyth 2004), as in R limma.

The residual variances s_g^2 (on d_g degrees of freedom) of all proteins are
modelled as scaled F draws, s_g^2 ~ s_0^2 F(d_g, d_0); the prior scale s_0^2
and prior df d_0 are estimated from the moments of log s_g^2 (with a
natural-spline trend in average abundance when ``trend`` is asked for, and
with Winsorized moments and per-protein outlier df when ``robust`` is asked
for), and each protein's variance is shrunk towards the prior:
s~_g^2 = (d_0 s_0^2 + d_g s_g^2) / (d_0 + d_g).

The algorithms follow limma's ``squeezeVar``, ``fitFDist`` and
``fitFDistRobustly`` step by step, so that the numbers agree with R to
rounding (tests compare with stored R outputs).

That moment estimation is limma's "legacy" method. Since limma 3.61, when the
residual df differ between proteins, ``squeezeVar`` uses by default a
likelihood-based estimator that weights each variance by its df
(:mod:`salivaprot.stats._unequal_df`); :func:`squeeze_var` does the same
unless ``legacy=True``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from salivaprot.errors import SalivaprotWarning
from salivaprot.stats import _special as special

__all__ = [
    "SqueezedVariances",
    "fit_f_dist",
    "fit_f_dist_robustly",
    "squeeze_var",
    "trigamma_inverse",
]

_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class SqueezedVariances:
    """Result of :func:`squeeze_var`.

    Attributes
    ----------
    var_prior : numpy.ndarray
        Prior variance s_0^2 per protein (constant unless ``trend``).
    df_prior : numpy.ndarray
        Prior df d_0 per protein (constant unless ``robust``); may be ``inf``.
    var_post : numpy.ndarray
        Posterior (moderated) variances.
    estimator : {"legacy", "unequal-df"}
        Which prior estimation was used (see ``legacy`` of :func:`squeeze_var`).
    """

    var_prior: np.ndarray
    df_prior: np.ndarray
    var_post: np.ndarray
    estimator: str = "legacy"


def trigamma_inverse(x: np.ndarray) -> np.ndarray:
    """Solve trigamma(y) = x for y > 0 by Newton's method (limma's ``trigammaInverse``).

    Examples
    --------
    >>> from scipy.special import polygamma
    >>> y = trigamma_inverse(np.array([0.5, 2.0]))
    >>> np.allclose(polygamma(1, y), [0.5, 2.0])
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.full(x.shape, np.nan)
    large = x > 1e7
    small = x < 1e-6
    y[large] = 1.0 / np.sqrt(x[large])
    y[small & (x >= 0)] = 1.0 / x[small & (x >= 0)]
    todo = ~large & ~small & np.isfinite(x) & (x >= 0)
    if todo.any():
        xt = x[todo]
        yt = 0.5 + 1.0 / xt
        for _ in range(51):
            tri = special.polygamma(1, yt)
            dif = tri * (1.0 - tri / xt) / special.polygamma(2, yt)
            yt = yt + dif
            if np.max(-dif / yt) < 1e-8:
                break
        else:
            warnings.warn(
                "trigamma_inverse: iteration limit exceeded", SalivaprotWarning, stacklevel=2
            )
        y[todo] = yt
    return y


def _natural_spline_basis(x: np.ndarray, df: int) -> tuple[np.ndarray, object]:
    """Natural cubic splines with intercept: the space of R's ``ns(x, df, intercept=TRUE)``.

    Returns the basis at ``x`` and a function evaluating it at new points (linear
    extrapolation outside the boundary knots, as R's ``predict`` does).
    """
    from scipy import interpolate, linalg

    boundary = np.array([x.min(), x.max()])
    n_interior = df - 2
    probs = np.linspace(0.0, 1.0, n_interior + 2)[1:-1]
    interior = np.quantile(x, probs) if n_interior > 0 else np.array([])
    knots = np.concatenate([np.repeat(boundary[0], 4), interior, np.repeat(boundary[1], 4)])
    n_basis = len(knots) - 4

    def bspline_values(points: np.ndarray, derivative: int = 0) -> np.ndarray:
        out = np.empty((len(points), n_basis))
        for j in range(n_basis):
            coefficients = np.zeros(n_basis)
            coefficients[j] = 1.0
            spline = interpolate.BSpline(knots, coefficients, 3, extrapolate=True)
            out[:, j] = spline(points, nu=derivative) if derivative else spline(points)
        return out

    constraints = bspline_values(boundary, derivative=2)
    null = linalg.null_space(constraints)

    def evaluate(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=float)
        values = bspline_values(np.clip(points, boundary[0], boundary[1]))
        for side, pivot in (
            (points < boundary[0], boundary[0]),
            (points > boundary[1], boundary[1]),
        ):
            if side.any():
                at = bspline_values(np.array([pivot]))
                slope = bspline_values(np.array([pivot]), derivative=1)
                values[side] = at + (points[side] - pivot)[:, None] * slope
        return values @ null

    return evaluate(x), evaluate


def fit_f_dist(
    x: np.ndarray, df1: np.ndarray | float, covariate: np.ndarray | None = None
) -> tuple[np.ndarray | float, float]:
    """Moment estimation of the scaled F distribution of variances (limma's ``fitFDist``).

    Parameters
    ----------
    x : numpy.ndarray
        Sample variances.
    df1 : numpy.ndarray or float
        Their degrees of freedom.
    covariate : numpy.ndarray, optional
        When given, the scale follows a natural-spline trend in it.

    Returns
    -------
    scale : numpy.ndarray or float
        s_0^2 (per value when ``covariate`` is given); NaN when no variance
        is finite with positive df (R's ``NA``).
    df2 : float
        d_0 (``inf`` when the variances are no more variable than chi-square;
        NaN when no variance is finite with positive df).
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0:
        return np.nan, np.nan
    if n == 1:
        return float(x[0]), 0.0
    df1 = np.broadcast_to(np.asarray(df1, dtype=float), x.shape).copy()
    ok = np.isfinite(df1) & (df1 > 1e-15)
    if covariate is not None:
        covariate = np.asarray(covariate, dtype=float).copy()
        if np.isnan(covariate).any():
            raise ValueError("NA covariate values not allowed")
        finite = np.isfinite(covariate)
        if not finite.all():
            if finite.any():
                low, high = covariate[finite].min(), covariate[finite].max()
                covariate[covariate == -np.inf] = low - 1
                covariate[covariate == np.inf] = high + 1
            else:
                covariate = np.sign(covariate)
    ok &= np.isfinite(x) & (x > -1e-15)
    nok = int(ok.sum())
    if nok == 0:  # (no variance with residual df: nothing to estimate from, as in R)
        return (np.full(n, np.nan) if covariate is not None else np.nan), np.nan
    if nok == 1:
        return float(x[ok][0]), 0.0
    not_all_ok = nok < n
    covariate_bad = None
    if not_all_ok:
        x, df1 = x[ok], df1[ok]
        if covariate is not None:
            covariate_bad = covariate[~ok]
            covariate = covariate[ok]
    spline_df = 1
    if covariate is not None:
        spline_df = 1 + (nok >= 3) + (nok >= 6) + (nok >= 30)
        spline_df = min(spline_df, len(np.unique(covariate)))
        if spline_df < 2:
            scale, df2 = fit_f_dist(x, df1)
            return np.full(n, scale), df2
    x = np.maximum(x, 0.0)
    m = float(np.median(x))
    if m == 0:
        warnings.warn(
            "more than half of the residual variances are exactly zero: eBayes unreliable",
            SalivaprotWarning,
            stacklevel=2,
        )
        m = 1.0
    elif (x == 0).any():
        warnings.warn(
            "zero sample variances detected, offset away from zero", SalivaprotWarning, stacklevel=2
        )
    x = np.maximum(x, 1e-5 * m)
    z = np.log(x)
    e = z - special.digamma(df1 / 2) + np.log(df1 / 2)
    if covariate is None:
        emean: np.ndarray | float = float(np.mean(e))
        evar = float(np.sum((e - emean) ** 2) / (nok - 1))
    else:
        basis, evaluate = _natural_spline_basis(covariate, spline_df)
        coefficients, _, rank, _ = np.linalg.lstsq(basis, e, rcond=None)
        fitted = basis @ coefficients
        evar = float(np.sum((e - fitted) ** 2) / (nok - rank))
        if not_all_ok:
            full = np.empty(n)
            full[ok] = fitted
            full[~ok] = evaluate(covariate_bad) @ coefficients  # type: ignore[operator]
            emean = full
        else:
            emean = fitted
    evar -= float(np.mean(special.polygamma(1, df1 / 2)))
    if evar > 0:
        df2 = float(2 * trigamma_inverse(np.array([evar]))[0])
        scale = np.exp(emean + special.digamma(df2 / 2) - np.log(df2 / 2))
    else:
        df2 = np.inf
        scale = float(np.mean(x)) if covariate is None else np.exp(emean)
    return (float(scale) if np.ndim(scale) == 0 else scale), df2


def _pf(
    f: np.ndarray, df1: float | np.ndarray, df2: float, *, upper: bool, log: bool
) -> np.ndarray:
    from scipy import stats

    if np.isinf(df2):
        dist = stats.chi2(df1)
        x = f * df1
    else:
        dist = stats.f(df1, df2)
        x = f
    if upper:
        return dist.logsf(x) if log else dist.sf(x)
    return dist.logcdf(x) if log else dist.cdf(x)


def _qf_log(logp: np.ndarray, df1: float, df2: float, *, upper: bool) -> np.ndarray:
    from scipy import stats

    p = np.exp(logp)
    if np.isinf(df2):
        q = stats.chi2(df1).isf(p) if upper else stats.chi2(df1).ppf(p)
        return q / df1
    return stats.f(df1, df2).isf(p) if upper else stats.f(df1, df2).ppf(p)


def _winsorized_moments(df1: float, df2: float, tail: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    nodes01, weights01 = _gauss_uniform()
    if np.isinf(df2):
        fq = stats.chi2(df1).ppf([tail[0], 1 - tail[1]]) / df1
    else:
        fq = stats.f(df1, df2).ppf([tail[0], 1 - tail[1]])
    zq = np.log(fq)
    q = fq / (1 + fq)
    nodes = q[0] + (q[1] - q[0]) * nodes01
    fnodes = nodes / (1 - nodes)
    znodes = np.log(fnodes)
    if np.isinf(df2):
        density = stats.chi2(df1).pdf(fnodes * df1) * df1
    else:
        density = stats.f(df1, df2).pdf(fnodes)
    f = density / (1 - nodes) ** 2
    q21 = q[1] - q[0]
    mean = q21 * np.sum(weights01 * f * znodes) + np.sum(zq * tail)
    var = q21 * np.sum(weights01 * f * (znodes - mean) ** 2) + np.sum((zq - mean) ** 2 * tail)
    return float(mean), float(var)


_GAUSS: tuple[np.ndarray, np.ndarray] | None = None


def _gauss_uniform() -> tuple[np.ndarray, np.ndarray]:
    global _GAUSS
    if _GAUSS is None:
        nodes, weights = np.polynomial.legendre.leggauss(128)
        _GAUSS = ((nodes + 1) / 2, weights / 2)
    return _GAUSS


def _zeroin(func, a: float, b: float, fa: float, fb: float, tol: float, maxit: int = 1000) -> float:  # type: ignore[no-untyped-def]
    """Brent's root finder as R's ``uniroot`` runs it (same steps, same stopping rule)."""
    c, fc = a, fa
    if fa == 0:
        return a
    if fb == 0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = func(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def fit_f_dist_robustly(
    x: np.ndarray,
    df1: np.ndarray | float,
    covariate: np.ndarray | None = None,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> tuple[np.ndarray | float, float, np.ndarray]:
    """Robust estimation of the scaled F distribution (limma's ``fitFDistRobustly``).

    Returns
    -------
    scale : numpy.ndarray or float
        s_0^2 (per value when ``covariate`` is given).
    df2 : float
        The prior df before outlier shrinkage.
    df2_shrunk : numpy.ndarray
        Per-value prior df, smaller for outlying variances.
    """
    from scipy import stats

    # a private copy: small variances are offset and unequal-df variances are
    # transformed to df1_max below, which must not reach the caller (R copies too)
    x = np.array(x, dtype=float)
    n = len(x)
    if n < 2:
        return np.nan, np.nan, np.full(n, np.nan)
    if n == 2:
        scale, df2 = fit_f_dist(x, df1, covariate)
        return scale, df2, np.full(n, df2)
    df1 = np.broadcast_to(np.asarray(df1, dtype=float), x.shape).copy()
    ok = ~np.isnan(x) & np.isfinite(df1) & (df1 > 1e-6)
    if not ok.all():
        scale_ok, df2, shrunk_ok = fit_f_dist_robustly(
            x[ok], df1[ok], None if covariate is None else covariate[ok], winsor_tail_p
        )
        shrunk = x.copy()
        shrunk[ok] = shrunk_ok
        shrunk[~ok] = df2
        if covariate is None:
            return scale_ok, df2, shrunk
        covariate_bad = covariate[~ok]
        scale = x.copy()
        scale[ok] = scale_ok
        order = np.argsort(covariate[ok], kind="stable")
        xs, ys = covariate[ok][order], np.log(np.asarray(scale_ok))[order]
        xs_unique, inverse = np.unique(xs, return_inverse=True)
        ys_mean = np.bincount(inverse, weights=ys) / np.bincount(inverse)
        scale[~ok] = np.exp(np.interp(covariate_bad, xs_unique, ys_mean))
        return scale, df2, shrunk
    m = float(np.median(x))
    if m <= 0:
        raise ValueError("variances are mostly <= 0")
    tiny = x < m * 1e-12
    if tiny.any():
        warnings.warn(
            f"{int(tiny.sum())} very small variance(s) offset away from zero",
            SalivaprotWarning,
            stacklevel=2,
        )
        x[tiny] = m * 1e-12
    nonrobust_scale, nonrobust_df2 = fit_f_dist(x, df1, covariate)
    tail = np.array(winsor_tail_p, dtype=float)
    prob = np.array([tail[0], 1 - tail[1]])
    if (tail < 1 / n).all():
        return nonrobust_scale, nonrobust_df2, np.full(n, nonrobust_df2)
    df1_max = float(df1.max())
    lower = df1 < df1_max - 1e-14
    if lower.any():
        s = nonrobust_scale if covariate is None else np.asarray(nonrobust_scale)[lower]
        f = x[lower] / s
        df2 = nonrobust_df2
        p_upper = _pf(f, df1[lower], df2, upper=True, log=True)
        p_lower = _pf(f, df1[lower], df2, upper=False, log=True)
        up = p_upper < p_lower
        if up.any():
            f[up] = _qf_log(p_upper[up], df1_max, df2, upper=True)
        if (~up).any():
            f[~up] = _qf_log(p_lower[~up], df1_max, df2, upper=False)
        x[lower] = f * s
    d1 = df1_max
    z = np.log(x)
    if covariate is None:
        ztrend: np.ndarray | float = float(stats.trim_mean(z, tail[1]))
        zresid = z - ztrend
    else:
        from statsmodels.nonparametric.smoothers_lowess import lowess

        delta = 0.01 * float(np.ptp(covariate))
        smoothed = lowess(z, covariate, frac=0.4, it=3, delta=delta, return_sorted=False)
        ztrend = smoothed
        zresid = z - smoothed
    zrq = np.quantile(zresid, prob)
    zwins = np.clip(zresid, zrq[0], zrq[1])
    zwmean = float(np.mean(zwins))
    zwvar = float(np.mean((zwins - zwmean) ** 2) * n / (n - 1))
    mean_inf, var_inf = _winsorized_moments(d1, np.inf, tail)
    funval_inf = np.log(zwvar / var_inf)
    if funval_inf <= 0:
        corrected = ztrend + zwmean - mean_inf
        scale = np.exp(corrected)
        fstat = np.exp(z - corrected)
        tail_p = stats.chi2(d1).sf(fstat * d1)
        ranks = stats.rankdata(fstat)
        empirical = (n - ranks + 0.5) / n
        not_outlier = np.minimum(tail_p / empirical, 1.0)
        shrunk = np.full(n, np.inf)
        outlier = not_outlier < 1
        if outlier.any():
            shrunk[outlier] = not_outlier[outlier] * n * d1
            order = np.argsort(tail_p, kind="stable")
            shrunk[order] = np.maximum.accumulate(shrunk[order])
        return (float(scale) if np.ndim(scale) == 0 else scale), np.inf, shrunk

    def fun(link: float) -> float:
        _, var = _winsorized_moments(d1, link / (1 - link), tail)
        return float(np.log(zwvar / var))

    if np.isinf(nonrobust_df2):
        return nonrobust_scale, nonrobust_df2, np.full(n, nonrobust_df2)
    rbx = nonrobust_df2 / (1 + nonrobust_df2)
    funval_low = fun(rbx)
    if funval_low >= 0:
        df2 = nonrobust_df2
    else:
        root = _zeroin(fun, rbx, 1.0, funval_low, float(funval_inf), tol=1e-8)
        df2 = root / (1 - root)
    mean_df2, _ = _winsorized_moments(d1, df2, tail)
    corrected = ztrend + zwmean - mean_df2
    scale = np.exp(corrected)
    fstat = np.exp(z - corrected)
    log_tail = stats.f(d1, df2).logsf(fstat)
    ranks = stats.rankdata(fstat)
    log_empirical = np.log(n - ranks + 0.5) - np.log(n)
    log_not_outlier = np.minimum(log_tail - log_empirical, 0.0)
    not_outlier = np.exp(log_not_outlier)
    outlier_p = -np.expm1(log_not_outlier)
    if (log_not_outlier < 0).any():
        min_log_tail = float(log_tail.min())
        if min_log_tail == -np.inf:
            shrunk = not_outlier * df2
        else:
            df2_outlier = np.log(0.5) / min_log_tail * df2
            new_log_tail = float(stats.f(d1, df2_outlier).logsf(fstat.max()))
            df2_outlier = np.log(0.5) / new_log_tail * df2_outlier
            shrunk = not_outlier * df2 + outlier_p * df2_outlier
        order = np.argsort(log_tail, kind="stable")
        ordered = shrunk[order]
        running = np.cumsum(ordered) / np.arange(1, n + 1)
        imin = int(np.argmin(running))
        ordered[: imin + 1] = running[imin]
        shrunk[order] = np.maximum.accumulate(ordered)
    else:
        shrunk = np.full(n, df2)
    return (float(scale) if np.ndim(scale) == 0 else scale), float(df2), shrunk


def squeeze_var(
    var: np.ndarray,
    df: np.ndarray,
    *,
    covariate: np.ndarray | None = None,
    robust: bool = False,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
    legacy: bool | None = None,
) -> SqueezedVariances:
    """Shrink residual variances towards a fitted prior (limma's ``squeezeVar``).

    Parameters
    ----------
    var : numpy.ndarray
        Residual variances (NaN where a protein has none).
    df : numpy.ndarray
        Their residual degrees of freedom (0 where none).
    covariate : numpy.ndarray, optional
        Average log2 abundance, for a mean-variance trend (``trend=True``).
    robust : bool
        Robust to outlying variances (``robust=True``).
    winsor_tail_p : tuple of float
        Winsorization tail proportions of the robust fit (legacy estimation only).
    legacy : bool or None
        ``None`` (default), as limma >= 3.61 with ``legacy = NULL``: the
        moment estimation of limma 3.54-3.60 when every protein with residual
        df has the same df, the unequal-df estimator
        (:func:`salivaprot.stats._unequal_df.fit_f_dist_unequal_df1`)
        otherwise. ``True``: always the moment estimation (limma 3.54-3.60).
        ``False``: always the unequal-df estimator.

    Returns
    -------
    SqueezedVariances

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = np.full(500, 4.0)
    >>> var = 0.5 * rng.chisquare(4, 500) / 4 * (20 / rng.chisquare(20, 500))
    >>> squeezed = squeeze_var(var, df)
    >>> bool(np.all(squeezed.var_post > 0)) and bool(np.isfinite(squeezed.df_prior[0]))
    True
    """
    var = np.asarray(var, dtype=float).copy()
    df = np.asarray(df, dtype=float)
    n = len(var)
    if n == 0:
        raise ValueError("var is empty")
    # limma >= 3.61 returns the variances unmoderated below 3 proteins; 3.54 below 2
    too_few = n < (2 if legacy else 3)
    if legacy is None:
        positive = df[df > 0]
        legacy = positive.size == 0 or bool(positive.min() == positive.max())
    estimator = "legacy" if legacy else "unequal-df"
    if too_few:
        return SqueezedVariances(var.copy(), np.zeros(n), var.copy(), estimator)
    var[df == 0] = 0.0
    if not legacy:
        from salivaprot.stats._unequal_df import fit_f_dist_unequal_df1

        fit = fit_f_dist_unequal_df1(var, df, covariate, robust=robust)
        scale = fit.scale
        df_prior = np.full(n, fit.df2) if fit.df2_shrunk is None else fit.df2_shrunk
    elif robust:
        scale, _, df_prior_values = fit_f_dist_robustly(var, df, covariate, winsor_tail_p)
        df_prior = np.asarray(df_prior_values, dtype=float)
    else:
        scale, df2 = fit_f_dist(var, df, covariate)
        df_prior = np.full(n, df2)
    if np.isnan(df_prior).any():
        raise ValueError("could not estimate the prior df")
    var_prior = np.broadcast_to(np.asarray(scale, dtype=float), (n,)).copy()
    finite = np.isfinite(df_prior)
    var_post = var_prior.copy()
    var_post[finite] = (df[finite] * var[finite] + df_prior[finite] * var_prior[finite]) / (
        df[finite] + df_prior[finite]
    )
    return SqueezedVariances(
        var_prior=var_prior, df_prior=df_prior, var_post=var_post, estimator=estimator
    )
