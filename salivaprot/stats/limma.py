"""limma's repeated-measures recipe: block-correlation GLS per protein, then eBayes.

For each protein, the fixed-effect model is fitted by generalized least squares
to the protein's observed values, with the covariance of a subject's samples
equal to ``(1 - rho) I + rho J`` (rho = the consensus within-subject
correlation, :func:`salivaprot.stats.dupcor.duplicate_correlation`). Because
that covariance is block-diagonal with equicorrelated blocks, its inverse is
closed-form per subject, so all proteins are fitted at once from per-subject
sums (no per-protein loop, except for the rare rank-deficient protein).

Each named contrast's standard error is exact for its protein: it is computed
from that protein's own (X' V^-1 X)^-1. This is what R limma gives when the
design is parametrized so that the contrast is a coefficient; limma's
``contrasts.fit`` instead reuses one coefficient correlation for every protein
and is only approximate for proteins with missing values (its help page says
so). Residual variances are moderated with :func:`salivaprot.stats.ebayes.squeeze_var`;
moderated t use df = d_0 + d_residual (capped at the pooled df, as limma does),
and the joint F test of several contrasts is the exact Wald F with the
moderated variance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from threadpoolctl import threadpool_limits

from salivaprot.stats._common import (
    check_choice,
    check_correlation,
    check_finite,
    f_upper_p,
    observed_means,
    subject_sums,
    subject_totals,
    t_two_sided_p,
)
from salivaprot.stats.dupcor import DupcorMethod, duplicate_correlation
from salivaprot.stats.ebayes import squeeze_var

__all__ = ["GlsFit", "LimmaFit", "fit_limma", "gls_fit"]

logger = logging.getLogger(__name__)

_RANK_TOL = 1e-10


@dataclass(frozen=True)
class GlsFit:
    """Per-protein GLS fits of named contrasts.

    Attributes
    ----------
    estimate, stdev_unscaled : numpy.ndarray
        Proteins x contrasts; NaN where a contrast is not estimable for a protein.
    sigma, df_residual, n_obs : numpy.ndarray
        Per protein (sigma NaN where there are no residual df).
    avg_log2 : numpy.ndarray
        Mean of the observed values of each protein.
    coefficients, cov_unscaled : numpy.ndarray
        Proteins x p and proteins x p x p (the generalized inverse for
        rank-deficient proteins); used for joint tests.
    estimable : numpy.ndarray
        Proteins x contrasts: the contrast is estimable from the protein's
        observed design.
    coefficient_estimable : numpy.ndarray
        Proteins x p: the same for each coefficient (lm.fit's non-NA ones).
    """

    estimate: np.ndarray
    stdev_unscaled: np.ndarray
    sigma: np.ndarray
    df_residual: np.ndarray
    n_obs: np.ndarray
    avg_log2: np.ndarray
    coefficients: np.ndarray
    cov_unscaled: np.ndarray
    estimable: np.ndarray
    coefficient_estimable: np.ndarray


def gls_fit(
    y: np.ndarray,
    design: np.ndarray,
    subjects: np.ndarray,
    correlation: float,
    contrasts: np.ndarray,
) -> GlsFit:
    """Fit every protein by GLS with a common within-subject correlation.

    Parameters
    ----------
    y : numpy.ndarray
        Samples x proteins, NaN = missing.
    design : numpy.ndarray
        Samples x p.
    subjects : numpy.ndarray
        Subject of each sample.
    correlation : float
        Within-subject correlation, in (-1, 1).
    contrasts : numpy.ndarray
        k x p contrast matrix.

    Returns
    -------
    GlsFit

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> subjects = np.repeat(np.arange(10), 2)
    >>> design = np.column_stack([np.ones(20), np.tile([0.0, 1.0], 10)])
    >>> y = rng.normal(size=(20, 3))
    >>> fit = gls_fit(y, design, subjects, 0.0, np.array([[0.0, 1.0]]))
    >>> ols = np.linalg.lstsq(design, y, rcond=None)[0][1]
    >>> bool(np.allclose(fit.estimate[:, 0], ols))
    True
    """
    correlation = check_correlation(correlation, subjects)
    y = np.asarray(y, dtype=float)
    check_finite(y)
    x = np.asarray(design, dtype=float)
    contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
    n_proteins = y.shape[1]
    p = x.shape[1]
    _, subject_index = np.unique(np.asarray(subjects), return_inverse=True)

    observed = ~np.isnan(y)
    weights = observed.astype(float)
    n_obs = observed.sum(axis=0)
    avg = observed_means(y)
    centred = np.where(observed, y - np.nan_to_num(avg), 0.0)

    xtvx = np.empty((n_proteins, p, p))
    xtvy, xtv1 = np.empty((n_proteins, p)), np.empty((n_proteins, p))
    ytvy = np.empty(n_proteins)
    for start in range(0, n_proteins, _GLS_CHUNK):  # bounds the subjects x proteins x p temporaries
        part = slice(start, start + _GLS_CHUNK)
        xtvx[part], xtvy[part], ytvy[part], xtv1[part] = _normal_equations(
            weights[:, part], centred[:, part], x, subject_index, correlation
        )

    coefficients = np.full((n_proteins, p), np.nan)
    shift = np.zeros((n_proteins, p))
    cov = np.full((n_proteins, p, p), np.nan)
    rank = np.zeros(n_proteins, dtype=int)
    estimable = np.zeros((n_proteins, contrasts.shape[0]), dtype=bool)
    coefficient_estimable = np.zeros((n_proteins, p), dtype=bool)
    # rank is judged on columns of unit norm, as R's pivoting QR judges each column against
    # its own length: a covariate in other units (1e10, 1e-8) is the same model
    norms, scaled = _unit_columns(xtvx)  # (in place: X'V^-1X is not needed as it was)
    eigen = np.linalg.eigvalsh(scaled)
    full = (
        (n_obs > 0)
        & (norms > 0).all(axis=1)
        & (eigen[:, 0] > _RANK_TOL * np.maximum(eigen[:, -1], 1e-300))
    )
    if full.any():
        inverse = np.linalg.inv(scaled[full]) / norms[full][:, :, None] / norms[full][:, None, :]
        coefficients[full] = np.einsum("pjk,pk->pj", inverse, xtvy[full])
        shift[full] = np.einsum("pjk,pk->pj", inverse, xtv1[full])
        cov[full] = inverse
        rank[full] = p
        estimable[full] = True
        coefficient_estimable[full] = True
    for g in np.flatnonzero(~full & (n_obs > 0)):
        unit = np.where(norms[g] > 0, norms[g], 1.0)
        inverse_s, kept = _aliased_inverse(scaled[g])
        inverse_g = inverse_s / unit[:, None] / unit[None, :]
        coefficients[g] = inverse_g @ xtvy[g]
        shift[g] = inverse_g @ xtv1[g]
        cov[g] = inverse_g
        rank[g] = int(kept.sum())
        # estimable: the contrast, in unit-column coordinates, lies in the kept row space
        along = contrasts / unit
        projected = along @ (inverse_s @ scaled[g])
        size = np.maximum(np.abs(along).max(axis=1, initial=0.0), 1e-300)
        estimable[g] = np.all(np.abs(projected - along) < 1e-8 * size[:, None], axis=1)
        coefficient_estimable[g] = kept
    df_residual = np.where(n_obs > 0, n_obs - rank, 0).astype(float)
    rss = ytvy - np.einsum("pj,pj->p", np.nan_to_num(coefficients), xtvy)
    coefficients = coefficients + np.nan_to_num(avg)[:, None] * shift  # undo the centring
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.where(df_residual > 0, np.sqrt(np.maximum(rss, 0.0) / df_residual), np.nan)
    estimate = coefficients @ contrasts.T
    variance = np.einsum("kj,pjl,kl->pk", contrasts, cov, contrasts)
    estimate[~estimable] = np.nan
    variance[~estimable] = np.nan
    return GlsFit(
        estimate=estimate,
        stdev_unscaled=np.sqrt(variance),
        sigma=sigma,
        df_residual=df_residual,
        n_obs=n_obs,
        avg_log2=avg,
        coefficients=coefficients,
        cov_unscaled=cov,
        estimable=estimable,
        coefficient_estimable=coefficient_estimable,
    )


#: Proteins per block of :func:`gls_fit`'s normal equations.
_GLS_CHUNK = 2048


def _normal_equations(
    weights: np.ndarray, centred: np.ndarray, x: np.ndarray, subject_index: np.ndarray, rho: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """X'V^-1 X, X'V^-1 y, y'V^-1 y and X'V^-1 1 over each protein's observed values.

    V = (1 - rho) I + rho Z Z' restricted to the observed values; its inverse
    is closed-form per subject (compound symmetry): V^-1 = (I - gamma J) / (1 - rho)
    on a subject's c values, gamma = rho / (1 - rho + c rho).
    """
    n, n_proteins = weights.shape
    p = x.shape[1]
    counts = subject_totals(subject_index, weights)  # subjects x proteins
    gamma = np.where(counts > 0, rho / (1.0 - rho + counts * rho), 0.0)
    outer = (x[:, :, None] * x[:, None, :]).reshape(n, p * p)
    xtx = (weights.T @ outer).reshape(n_proteins, p, p)
    sums = subject_sums(subject_index, weights, x)  # subjects x proteins x p
    y_sums = subject_totals(subject_index, centred)  # b x P
    weighted = (gamma[:, :, None] * sums).transpose(1, 2, 0)  # P x p x subjects
    xtvx = (xtx - weighted @ sums.transpose(1, 0, 2)) / (1.0 - rho)
    xtvy = ((x.T @ centred).T - (weighted @ y_sums.T[:, :, None])[:, :, 0]) / (1.0 - rho)
    ytvy = (np.sum(centred**2, axis=0) - np.sum(gamma * y_sums**2, axis=0)) / (1.0 - rho)
    # the same for a constant 1 at every observed value: the fit is linear in y, so the
    # coefficients of y are those of the centred values plus avg times those of 1
    xtv1 = ((x.T @ weights).T - (weighted @ counts.T[:, :, None])[:, :, 0]) / (1.0 - rho)
    return xtvx, xtvy, ytvy, xtv1


@dataclass(frozen=True)
class LimmaFit:
    """Moderated statistics for every protein and contrast.

    Arrays are proteins x contrasts unless noted; ``joint`` holds, per joint
    test name, arrays ``F``, ``df1``, ``df2`` and ``p_value`` (per protein).
    ``ebayes_estimator`` names the prior estimation used ("legacy" or "unequal-df").
    ``correlation_converged`` is, per protein, whether its correlation fit met
    its tolerance (True when the correlation was given or not estimable).
    """

    contrast_names: list[str]
    estimate: np.ndarray
    se: np.ndarray
    t: np.ndarray
    df_total: np.ndarray
    p_value: np.ndarray
    avg_log2: np.ndarray
    sigma: np.ndarray
    df_residual: np.ndarray
    n_obs: np.ndarray
    s2_prior: np.ndarray
    df_prior: np.ndarray
    s2_post: np.ndarray
    correlation: float
    atanh_correlations: np.ndarray
    joint: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    fitted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    ebayes_estimator: str = "legacy"
    correlation_converged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def fit_limma(
    y: np.ndarray,
    design: np.ndarray,
    subjects: np.ndarray,
    contrasts: np.ndarray,
    *,
    contrast_names: list[str] | None = None,
    joint: Mapping[str, list[int]] | None = None,
    correlation: float | None = None,
    trend: bool = False,
    robust: bool = False,
    dupcor_method: DupcorMethod = "statmod",
    contrast_se: Literal["exact", "limma"] = "exact",
    legacy: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LimmaFit:
    """limma-style moderated statistics with repeated measures per subject.

    Parameters
    ----------
    y : numpy.ndarray
        Samples x proteins, log2, NaN = missing (each protein uses its observed values).
    design : numpy.ndarray
        Samples x p fixed-effect design.
    subjects : numpy.ndarray
        Subject of each sample (the block).
    contrasts : numpy.ndarray
        k x p contrast matrix.
    contrast_names : list of str, optional
        Names of the k contrasts.
    joint : mapping of str to list of int, optional
        Joint F tests: name -> indices of contrasts tested together.
    correlation : float, optional
        Use this within-subject correlation instead of estimating it.
    trend : bool
        Let the prior variance follow average abundance (limma ``trend=TRUE``).
    robust : bool
        Robust hyperparameters (limma ``robust=TRUE``).
    dupcor_method : {"statmod", "reml"}
        How per-protein correlations are fitted (see :mod:`salivaprot.stats.dupcor`).
    contrast_se : {"exact", "limma"}
        ``exact``: each contrast's standard error from its protein's own
        (X'V^-1X)^-1, and the exact Wald F. ``limma``: limma's ``contrasts.fit``
        approximation (one coefficient correlation for every protein) and
        ``classifyTestsF``'s F, to reproduce a standard R limma script; it
        depends on the parametrization (R scripts usually fit cell means).
    legacy : bool or None
        Prior estimation of eBayes, as limma's ``legacy`` argument (see
        :func:`salivaprot.stats.ebayes.squeeze_var`): ``None`` as current
        limma (>= 3.61), ``True`` as limma 3.54-3.60.
    progress : callable, optional
        Progress callback of the correlation estimate, ``progress(done, total)``.

    Returns
    -------
    LimmaFit
        Proteins with no observed value are kept with NaN statistics
        (``fitted`` is False for them).

    Raises
    ------
    DataError
        When ``y`` has infinite values or values too large to square (NaN is
        missing and fine).
    """
    check_choice("dupcor_method", dupcor_method, ("statmod", "reml"))
    check_choice("contrast_se", contrast_se, ("exact", "limma"))
    if correlation is not None:
        correlation = check_correlation(correlation, subjects)
    y = np.asarray(y, dtype=float)
    check_finite(y)
    contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
    names = contrast_names or [f"contrast{i + 1}" for i in range(contrasts.shape[0])]
    fitted = ~np.isnan(y).all(axis=0)
    yf = y[:, fitted]
    correlation_converged = np.ones(y.shape[1], dtype=bool)
    if correlation is None:
        dupcor = duplicate_correlation(
            yf, design, subjects, method=dupcor_method, progress=progress
        )
        correlation = dupcor.consensus
        atanh = np.full(y.shape[1], np.nan)
        atanh[fitted] = dupcor.atanh_correlations
        correlation_converged[fitted] = dupcor.converged
    else:
        atanh = np.full(y.shape[1], np.nan)
    logger.info("consensus within-subject correlation %.6f", correlation)
    with threadpool_limits(limits=1, user_api="blas"):  # many tiny p x p solves
        gls = gls_fit(yf, design, subjects, correlation, contrasts)
        if contrast_se == "limma":
            common = gls_fit(
                np.zeros((len(design), 1)), design, subjects, correlation, np.eye(design.shape[1])
            ).cov_unscaled[0]
            estimate, unscaled = _contrasts_fit(gls, common, contrasts)
            gls = replace(gls, estimate=estimate, stdev_unscaled=unscaled)
    squeezed = squeeze_var(
        gls.sigma**2,
        gls.df_residual,
        covariate=gls.avg_log2 if trend else None,
        robust=robust,
        legacy=legacy,
    )
    df_pooled = float(np.nansum(gls.df_residual))
    df_total = np.minimum(gls.df_residual + squeezed.df_prior, df_pooled)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = gls.stdev_unscaled * np.sqrt(squeezed.var_post)[:, None]
        t = gls.estimate / se
    p_value = t_two_sided_p(t, df_total[:, None])

    joint_out: dict[str, dict[str, np.ndarray]] = {}
    for name, indices in (joint or {}).items():
        selection = contrasts[list(indices)]
        q = selection.shape[0]
        if contrast_se == "limma":
            f_stat, q = _classify_f(t[:, list(indices)], selection @ common @ selection.T)
            tested = ~np.isnan(f_stat)
            joint_out[name] = {
                "F": _expand(f_stat, fitted),
                "df1": _expand(np.where(tested, float(q), np.nan), fitted),
                "df2": _expand(np.where(tested, df_total, np.nan), fitted),
                "p_value": _expand(f_upper_p(f_stat, q, df_total), fitted),
            }
            continue
        b = gls.coefficients @ selection.T
        u = np.einsum("kj,pjl,ml->pkm", selection, gls.cov_unscaled, selection)
        ok = gls.estimable[:, list(indices)].all(axis=1) & np.isfinite(squeezed.var_post)
        f_stat = np.full(yf.shape[1], np.nan)
        if ok.any():
            solved = np.linalg.solve(u[ok], b[ok][:, :, None])[:, :, 0]
            f_stat[ok] = np.einsum("pk,pk->p", b[ok], solved) / (q * squeezed.var_post[ok])
        tested = ~np.isnan(f_stat)
        joint_out[name] = {
            "F": _expand(f_stat, fitted),
            "df1": _expand(np.where(tested, float(q), np.nan), fitted),
            "df2": _expand(np.where(tested, df_total, np.nan), fitted),
            "p_value": _expand(f_upper_p(f_stat, q, df_total), fitted),
        }
    return LimmaFit(
        contrast_names=list(names),
        estimate=_expand(gls.estimate, fitted),
        se=_expand(se, fitted),
        t=_expand(t, fitted),
        df_total=_expand(df_total, fitted),
        p_value=_expand(p_value, fitted),
        avg_log2=_expand(gls.avg_log2, fitted),
        sigma=_expand(gls.sigma, fitted),
        df_residual=_expand(gls.df_residual, fitted, fill=0.0),
        n_obs=_expand(gls.n_obs.astype(float), fitted, fill=0.0),
        s2_prior=_expand(squeezed.var_prior, fitted),
        df_prior=_expand(squeezed.df_prior, fitted),
        s2_post=_expand(squeezed.var_post, fitted),
        correlation=float(correlation),
        atanh_correlations=atanh,
        joint=joint_out,
        fitted=fitted,
        ebayes_estimator=squeezed.estimator,
        correlation_converged=correlation_converged,
    )


def _contrasts_fit(
    gls: GlsFit, common: np.ndarray, contrasts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """limma's ``contrasts.fit``: contrasts of per-protein coefficients with approximate SEs.

    Each protein's coefficient standard errors are combined through one
    correlation matrix, that of the complete design (``cov.coefficients``);
    exact when a protein has no missing value or the design is orthogonal.
    A contrast of a non-estimable coefficient is missing.
    """
    coefficient_se = np.sqrt(np.diagonal(gls.cov_unscaled, axis1=1, axis2=2)).copy()
    coefficients = gls.coefficients.copy()
    estimable = gls.coefficient_estimable
    coefficients[~estimable] = 0.0
    coefficient_se[~estimable] = 1e30
    estimate = coefficients @ contrasts.T
    sd = np.sqrt(np.diag(common))
    correlation = common / np.outer(sd, sd)
    lower = np.abs(correlation[np.tril_indices_from(correlation, k=-1)])
    if lower.size == 0 or np.all(lower < 1e-14):
        unscaled = np.sqrt(coefficient_se**2 @ (contrasts.T**2))
    else:
        root = np.linalg.cholesky(correlation).T  # upper triangular, as R's chol
        scaled = root[None, :, :] * coefficient_se[:, None, :]
        unscaled = np.sqrt(np.sum((scaled @ contrasts.T) ** 2, axis=1))
    lost = unscaled > 1e20
    estimate[lost] = np.nan
    unscaled[lost] = np.nan
    return estimate, unscaled


def _classify_f(t: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, int]:
    """limma's ``classifyTestsF`` F statistic from moderated t and the contrasts' covariance."""
    sd = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(sd, sd)
    values, vectors = np.linalg.eigh(correlation)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    rank = int(np.sum(values / values[0] > 1e-8))
    q = vectors[:, :rank] / np.sqrt(values[:rank]) / np.sqrt(rank)
    return np.sum((t @ q) ** 2, axis=1), rank


def _unit_columns(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column norms of stacked Gram matrices, and the matrices for columns of unit norm.

    ``gram`` is scaled in place (no second array of its size, at 10,000 proteins) and
    returned; a column of norm 0 stays 0 (its norm is returned as 0).
    """
    norms = np.sqrt(np.maximum(np.einsum("...ii->...i", gram), 0.0))
    unit = np.where(norms > 0, norms, 1.0)
    gram /= unit[..., :, None]
    gram /= unit[..., None, :]
    return norms, gram


def _aliased_inverse(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A generalized inverse of a singular X'V^-1X that drops aliased columns as lm.fit does.

    Columns are taken in order and one is dropped when it is (numerically) a
    combination of the columns kept before it, as R's pivoting QR decides; the
    inverse of the kept block, zero elsewhere, is a generalized inverse, so
    every estimable contrast and the residual sum of squares are those of any
    other, and the kept coefficients are the ones lm.fit reports (the others NA).
    """
    p = gram.shape[0]
    kept = np.zeros(p, dtype=bool)
    scale = max(float(np.max(np.diag(gram))), 1e-300)
    for j in range(p):
        if gram[j, j] <= _RANK_TOL * scale:
            continue
        s = np.flatnonzero(kept)
        residual = gram[j, j]
        if s.size:
            block = gram[np.ix_(s, s)]
            residual -= float(gram[j, s] @ np.linalg.solve(block, gram[s, j]))
        if residual > _RANK_TOL * gram[j, j]:
            kept[j] = True
    inverse = np.zeros_like(gram)
    if kept.any():
        inverse[np.ix_(kept, kept)] = np.linalg.inv(gram[np.ix_(kept, kept)])
    return inverse, kept


def _expand(values: np.ndarray, fitted: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """Put per-fitted-protein values back among all proteins."""
    shape = (len(fitted), *values.shape[1:])
    out = np.full(shape, fill, dtype=float)
    out[fitted] = values
    return out
