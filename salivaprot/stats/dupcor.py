"""Consensus within-subject correlation (limma's ``duplicateCorrelation`` with ``block=``).

For each protein, the random-intercept model ``y = X beta + subject + error`` is
fitted to the protein's observed values by REML, giving a within-subject
correlation rho = s_subject^2 / (s_subject^2 + s_error^2); the consensus is the
0.15-trimmed mean of atanh(rho) over proteins, transformed back.

R limma fits each protein with statmod's ``mixedModel2Fit``: the residual-space
data are rotated so that the squared components are independent with means
s_error^2 + s_subject^2 d_i (d_i the eigenvalues of Z'PZ), and a gamma GLM with
identity link is fitted by damped Fisher scoring, stopped after at most 20
iterations or when the score step falls below 1e-6. ``method="statmod"``
repeats exactly those steps (so the consensus agrees with R to rounding);
``method="reml"`` continues the same iteration to the exact REML optimum (the
two differ by about 1e-6 in the consensus; see DOMAIN.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

__all__ = ["DuplicateCorrelation", "duplicate_correlation"]

DupcorMethod = Literal["statmod", "reml"]


@dataclass(frozen=True)
class DuplicateCorrelation:
    """Result of :func:`duplicate_correlation`.

    Attributes
    ----------
    consensus : float
        The consensus within-subject correlation.
    atanh_correlations : numpy.ndarray
        atanh of each protein's correlation (NaN where it could not be estimated).
    method : str
        ``statmod`` or ``reml``.
    """

    consensus: float
    atanh_correlations: np.ndarray
    method: str


def duplicate_correlation(
    y: np.ndarray,
    design: np.ndarray,
    subjects: np.ndarray,
    *,
    trim: float = 0.15,
    method: DupcorMethod = "statmod",
    progress: Callable[[int, int], None] | None = None,
) -> DuplicateCorrelation:
    """Estimate the consensus within-subject correlation across proteins.

    Parameters
    ----------
    y : numpy.ndarray
        Samples x proteins, log2 scale, NaN = missing.
    design : numpy.ndarray
        Samples x coefficients fixed-effect design.
    subjects : numpy.ndarray
        Subject of each sample.
    trim : float
        Fraction trimmed from each end of the atanh correlations.
    method : {"statmod", "reml"}
        Reproduce R's stopping rule, or iterate to the exact REML optimum.
    progress : callable, optional
        Called as ``progress(done, total)`` every few hundred proteins.

    Returns
    -------
    DuplicateCorrelation

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> subjects = np.repeat(np.arange(20), 3)
    >>> design = np.column_stack([np.ones(60), np.tile([0.0, 1.0, 0.0], 20)])
    >>> y = rng.normal(size=(20, 200))[subjects] + rng.normal(size=(60, 200))
    >>> round(duplicate_correlation(y, design, subjects).consensus, 1)
    0.5
    """
    y = np.asarray(y, dtype=float)
    design = np.asarray(design, dtype=float)
    codes, subject_index = np.unique(np.asarray(subjects), return_inverse=True)
    n_subjects = len(codes)
    n_beta = design.shape[1]
    max_block = int(np.bincount(subject_index).max())
    if max_block == 1:
        return DuplicateCorrelation(0.0, np.zeros(y.shape[1]), method)
    tol, maxit = (1e-6, 20) if method == "statmod" else (1e-14, 500)
    rho = np.full(y.shape[1], np.nan)
    observed_all = ~np.isnan(y)
    total = y.shape[1]
    for g in range(total):
        if progress is not None and g % 250 == 0:
            progress(g, total)
        observed = observed_all[:, g]
        n_obs = int(observed.sum())
        blocks = subject_index[observed]
        n_blocks = len(np.unique(blocks))
        if not (n_obs > n_beta + 2 and 1 < n_blocks < n_obs - 1):
            continue
        varcomp = _random_block_varcomp(
            y[observed, g], design[observed], blocks, n_subjects, tol=tol, maxit=maxit
        )
        if varcomp is not None and np.isfinite(varcomp).all() and varcomp.sum() != 0:
            rho[g] = varcomp[1] / varcomp.sum()
    if progress is not None:
        progress(total, total)
    rho_max = 0.99
    rho_min = 1.0 / (1.0 - max_block) + 0.01
    finite = ~np.isnan(rho)
    if finite.any():
        if min(np.min(rho[finite]), 0.0) < rho_min:
            rho[finite & (rho < rho_min)] = rho_min
        if max(np.max(rho[finite]), 0.0) > rho_max:
            rho[finite & (rho > rho_max)] = rho_max
    atanh = np.arctanh(rho)
    kept = atanh[~np.isnan(atanh)]
    consensus = float(np.tanh(stats.trim_mean(kept, trim))) if kept.size else np.nan
    return DuplicateCorrelation(consensus, atanh, method)


def _random_block_varcomp(
    y: np.ndarray, x: np.ndarray, blocks: np.ndarray, n_subjects: int, *, tol: float, maxit: int
) -> np.ndarray | None:
    """Variance components (error, subject) of one protein, as statmod's mixedModel2Fit finds them.

    The residual-space data enter only through the eigenvalues d of Z'PZ and the
    squared rotated residuals; equal eigenvalues (including the zeros) can be
    pooled, which is what makes this cheap.
    """
    n = len(y)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    rank = int((s > s[0] * 1e-7).sum()) if s.size and s[0] > 0 else 0
    basis = u[:, :rank]
    residual = y - basis @ (basis.T @ y)
    m_q = n - rank
    if m_q == 0:
        return None
    counts = np.bincount(blocks, minlength=n_subjects).astype(float)
    present = counts > 0
    z_basis = np.zeros((n_subjects, rank))
    np.add.at(z_basis, blocks, basis)
    z_basis = z_basis[present]
    zpz = np.diag(counts[present]) - z_basis @ z_basis.T
    z_resid = np.bincount(blocks, weights=residual, minlength=n_subjects)[present]
    eigenvalues, vectors = np.linalg.eigh(zpz)
    scale = max(float(eigenvalues.max()), 1.0)
    nonzero = eigenvalues > scale * 1e-10
    d = eigenvalues[nonzero]
    projections = vectors[:, nonzero].T @ z_resid
    dy = projections**2 / d
    n_zero = m_q - int(nonzero.sum())
    total = float(residual @ residual)
    # groups: each nonzero eigenvalue once, and the zero eigenvalue n_zero times
    if n_zero > 0:
        d = np.append(d, 0.0)
        dy = np.append(dy, max(total - float(dy.sum()), 0.0))
        weight = np.append(np.ones(len(d) - 1), float(n_zero))
    else:
        weight = np.ones(len(d))
    design = np.column_stack([np.ones(len(d)), d])
    # ordinary least squares of dy on (1, d) over all m_q values
    start = _weighted_ls(design, dy, weight)
    if start is None:
        return None
    n_nonzero = int((d > 1e-15).sum())
    mean_d = float(np.sum(weight * d) / m_q)
    var_d = float(np.sum(weight * (d - mean_d) ** 2) / (m_q - 1)) if m_q > 1 else 0.0
    if not (m_q > 2 and n_nonzero > 1 and var_d > 1e-15):
        return start
    fitted = design @ start
    if not (fitted >= 0).all():
        start = np.array([float(np.sum(dy) / m_q), 0.0])
    return _glm_gamma_identity(design, dy, weight, start, tol=tol, maxit=maxit)


def _weighted_ls(design: np.ndarray, total: np.ndarray, weight: np.ndarray) -> np.ndarray | None:
    """OLS over pooled groups: group g holds ``weight[g]`` values summing to ``total[g]``."""
    xtx = design.T @ (weight[:, None] * design)
    if np.linalg.matrix_rank(xtx) < design.shape[1]:
        return None
    return np.linalg.solve(xtx, design.T @ total)


def _glm_gamma_identity(
    design: np.ndarray,
    total: np.ndarray,
    weight: np.ndarray,
    start: np.ndarray,
    *,
    tol: float,
    maxit: int,
) -> np.ndarray:
    """statmod's glmgam.fit (gamma GLM, identity link, damped scoring) on pooled groups.

    The deviance is computed up to a constant that does not depend on the
    coefficients, which leaves every comparison the algorithm makes unchanged.
    """

    def deviance(mu: np.ndarray) -> float:
        if (mu < 0).any():
            return np.inf
        return float(2 * np.sum(total / mu - weight + weight * np.log(mu)))

    beta = start.astype(float).copy()
    mu = design @ beta
    dev = deviance(mu)
    lam = 0.0
    eye = np.eye(design.shape[1])
    for iteration in range(1, maxit + 2):
        v = mu**2
        v = np.maximum(v, v.max() / 1e3)
        info = design.T @ ((weight / v)[:, None] * design)
        max_info = float(np.max(np.diag(info)))
        if iteration == 1:
            lam = abs(float(np.mean(np.diag(info)))) / design.shape[1]
        score = design.T @ ((total - weight * mu) / v)
        beta_old, dev_old = beta, dev
        level = 0
        while True:
            level += 1
            step = np.linalg.solve(info + lam * eye, score)
            beta = beta_old + step
            mu = design @ beta
            dev = deviance(mu)
            if dev <= dev_old:
                break
            if lam / max_info > 1e15:
                beta = beta_old
                break
            lam *= 2
        if lam / max_info > 1e15:
            break
        if level == 1:
            lam /= 10
        if float(score @ step) < tol:
            break
        if iteration > maxit:
            break
    return beta
