"""Baseline-adjusted ANCOVA per follow-up visit, with empirical-Bayes moderation.

The usual primary analysis of a clinical trial: for each follow-up visit V and
each protein, ``y_V ~ arm + y_baseline (+ covariates)`` over the subjects
observed at both visits, then the residual variances of all proteins are
moderated as in limma (:func:`salivaprot.stats.ebayes.squeeze_var`). The arm
coefficient estimates the treatment effect on the change from baseline,
reported as ``T_vs_R_change_V``. All proteins of a visit are fitted at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from salivaprot.stats._common import check_finite, t_two_sided_p
from salivaprot.stats.ebayes import squeeze_var

__all__ = ["AncovaFit", "fit_ancova"]


@dataclass(frozen=True)
class AncovaFit:
    """One follow-up visit's ANCOVA for every protein (arrays: proteins x treated arms).

    ``note`` says why a protein has no result ("" when it has one);
    ``ebayes_estimator`` names the eBayes prior estimation used.
    """

    estimate: np.ndarray
    se: np.ndarray
    t: np.ndarray
    df_total: np.ndarray
    p_value: np.ndarray
    n_subjects: np.ndarray
    avg_log2: np.ndarray
    sigma: np.ndarray
    df_residual: np.ndarray
    s2_prior: np.ndarray
    df_prior: np.ndarray
    note: np.ndarray
    ebayes_estimator: str = "legacy"


def fit_ancova(
    y_visit: np.ndarray,
    y_baseline: np.ndarray,
    treated: np.ndarray,
    *,
    covariates: np.ndarray | None = None,
    trend: bool = False,
    robust: bool = False,
    legacy: bool | None = None,
) -> AncovaFit:
    """Fit ``y_V ~ arm + y_B (+ covariates)`` for every protein and moderate the variances.

    Parameters
    ----------
    y_visit, y_baseline : numpy.ndarray
        Subjects x proteins at the follow-up visit and at baseline (the same
        subjects in the same order), NaN = missing.
    treated : numpy.ndarray
        Subjects x treated-arm indicators (0/1; all zero for the reference arm).
    covariates : numpy.ndarray, optional
        Subjects x covariate columns.
    trend, robust : bool
        As for limma's ``eBayes``.
    legacy : bool or None
        eBayes prior estimation, as limma's ``legacy`` (``None``: current limma;
        ``True``: limma 3.54-3.60; see :func:`salivaprot.stats.ebayes.squeeze_var`).

    Returns
    -------
    AncovaFit

    Raises
    ------
    DataError
        When an abundance is infinite or too large to square (NaN is missing
        and fine).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> base = rng.normal(size=(30, 50))
    >>> arm = np.repeat([0.0, 1.0], 15)[:, None]
    >>> after = 0.6 * base + 1.0 * arm + rng.normal(scale=0.5, size=(30, 50))
    >>> fit = fit_ancova(after, base, arm)
    >>> bool(abs(np.mean(fit.estimate) - 1.0) < 0.1)
    True
    """
    y_visit = np.asarray(y_visit, dtype=float)
    y_baseline = np.asarray(y_baseline, dtype=float)
    check_finite(y_visit, what="y_visit")
    check_finite(y_baseline, what="y_baseline")
    treated = np.atleast_2d(np.asarray(treated, dtype=float).T).T
    n_subjects, n_proteins = y_visit.shape
    n_arms = treated.shape[1]
    extra = np.zeros((n_subjects, 0)) if covariates is None else np.asarray(covariates, float)
    used = ~np.isnan(y_visit) & ~np.isnan(y_baseline)
    weights = used.astype(float)
    n_used = used.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = (np.where(used, y_visit, 0).sum(0) + np.where(used, y_baseline, 0).sum(0)) / (
            2 * n_used
        )
        base_mean = np.where(used, y_baseline, 0).sum(0) / n_used
    base_centred = np.where(used, y_baseline - np.nan_to_num(base_mean), 0.0)
    fixed = np.column_stack([np.ones(n_subjects), treated, extra])  # subjects x f
    n_fixed = fixed.shape[1]
    p = n_fixed + 1
    features = np.concatenate(
        [
            np.broadcast_to(fixed[:, None, :], (n_subjects, n_proteins, n_fixed)),
            base_centred[:, :, None],
        ],
        axis=2,
    )
    target = np.where(used, y_visit, 0.0)
    xtx = np.einsum("sp,spj,spk->pjk", weights, features, features)
    xty = np.einsum("sp,spj,sp->pj", weights, features, target)

    note = np.full(n_proteins, "", dtype=object)
    note[n_used == 0] = "no subject observed at both visits"
    arm_counts = treated.T @ weights  # arms x proteins
    reference_count = n_used - arm_counts.sum(axis=0)
    one_arm = (n_used > 0) & (
        (reference_count == 0) | (arm_counts == 0).any(axis=0) | (arm_counts == n_used).any(axis=0)
    )
    note[one_arm & (note == "")] = "only one arm among the subjects observed at both visits"
    with threadpool_limits(limits=1, user_api="blas"):  # many tiny solves
        eigen = np.linalg.eigvalsh(xtx)
    full_rank = eigen[:, 0] > 1e-10 * np.maximum(eigen[:, -1], 1e-300)
    df_residual = n_used - p
    candidate = (note == "") & full_rank & (df_residual >= 1)
    note[(note == "") & ~candidate] = "fewer than 1 residual degree of freedom or aliased baseline"

    coefficients = np.full((n_proteins, p), np.nan)
    unscaled = np.full((n_proteins, n_arms), np.nan)
    sigma = np.full(n_proteins, np.nan)
    if candidate.any():
        with threadpool_limits(limits=1, user_api="blas"):
            inverse = np.linalg.inv(xtx[candidate])
        beta = np.einsum("pjk,pk->pj", inverse, xty[candidate])
        coefficients[candidate] = beta
        residual = target[:, candidate] - np.einsum("spj,pj->sp", features[:, candidate], beta)
        rss = np.sum(weights[:, candidate] * residual**2, axis=0)
        sigma[candidate] = np.sqrt(rss / df_residual[candidate])
        diagonal = np.diagonal(inverse, axis1=1, axis2=2)
        unscaled[candidate] = np.sqrt(diagonal[:, 1 : 1 + n_arms])
    df_fit = np.where(candidate, df_residual, 0).astype(float)
    s2_prior = np.full(n_proteins, np.nan)
    df_prior = np.full(n_proteins, np.nan)
    s2_post = np.full(n_proteins, np.nan)
    estimator = "legacy" if legacy is None or legacy else "unequal-df"
    if candidate.any():
        # as in limma, proteins without a fit enter the moderation with df 0 (they do not
        # count towards the prior); with a trend they need an average abundance
        present = ~np.isnan(avg) if trend else np.ones(n_proteins, dtype=bool)
        squeezed = squeeze_var(
            sigma[present] ** 2,
            df_fit[present],
            covariate=avg[present] if trend else None,
            robust=robust,
            legacy=legacy,
        )
        s2_prior[present] = squeezed.var_prior
        df_prior[present] = squeezed.df_prior
        s2_post[present] = squeezed.var_post
        estimator = squeezed.estimator
    # (else no protein has a residual variance: no prior to estimate, every statistic NaN)
    present = ~np.isnan(df_prior)
    df_pooled = float(df_fit.sum())
    df_total = np.where(present, np.minimum(df_fit + df_prior, df_pooled), np.nan)
    estimate = coefficients[:, 1 : 1 + n_arms]
    with np.errstate(invalid="ignore"):
        se = unscaled * np.sqrt(s2_post)[:, None]
        t = estimate / se
    p_value = t_two_sided_p(t, df_total[:, None])
    return AncovaFit(
        estimate=estimate,
        se=se,
        t=t,
        df_total=df_total,
        p_value=p_value,
        n_subjects=n_used,
        avg_log2=avg,
        sigma=sigma,
        df_residual=df_fit,
        s2_prior=s2_prior,
        df_prior=df_prior,
        note=note,
        ebayes_estimator=estimator,
    )
