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

Every iteration is capped: besides the outer limit (20 or 500 scoring steps),
the step-halving (damping) loop of each step gives up after
:data:`MAX_DAMPING_STEPS` doublings of the damping, or at once when the
deviance is not finite. A protein whose fit stops without meeting its
tolerance is flagged in :attr:`DuplicateCorrelation.converged`; when its
variance components are not finite its correlation is NaN and it is left out
of the consensus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from salivaprot.stats._common import (
    check_choice,
    check_finite,
    subject_sums,
    subject_totals,
    trimmed_mean,
)

__all__ = ["MAX_DAMPING_STEPS", "DuplicateCorrelation", "duplicate_correlation"]

#: Most doublings of the damping within one scoring step before a protein's fit gives up
#: (statmod's own rule stops at damping / information > 1e15, about 50 doublings).
MAX_DAMPING_STEPS = 200

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
    converged : numpy.ndarray
        Per protein, False when its iterative fit stopped without meeting its
        tolerance (iteration cap, damping limit or a non-finite deviance);
        True otherwise, including proteins that were not fitted.
    """

    consensus: float
    atanh_correlations: np.ndarray
    method: str
    converged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def n_not_converged(self) -> int:
        """Number of proteins whose fit did not converge."""
        return int((~self.converged).sum())


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

    Raises
    ------
    DataError
        When ``y`` has infinite values or values too large to square.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> subjects = np.repeat(np.arange(20), 3)
    >>> design = np.column_stack([np.ones(60), np.tile([0.0, 1.0, 0.0], 20)])
    >>> y = rng.normal(size=(20, 200))[subjects] + rng.normal(size=(60, 200))
    >>> round(duplicate_correlation(y, design, subjects).consensus, 1)
    0.5
    """
    check_choice("method", method, ("statmod", "reml"))
    y = np.asarray(y, dtype=float)
    check_finite(y)
    design = np.asarray(design, dtype=float)
    codes, subject_index = np.unique(np.asarray(subjects), return_inverse=True)
    n_subjects = len(codes)
    n_beta = design.shape[1]
    max_block = int(np.bincount(subject_index).max())
    if max_block == 1:
        return DuplicateCorrelation(
            0.0, np.zeros(y.shape[1]), method, np.ones(y.shape[1], dtype=bool)
        )
    tol, maxit = (1e-6, 20) if method == "statmod" else (1e-14, 500)
    observed_all = ~np.isnan(y)
    n_obs_all = observed_all.sum(axis=0)
    n_blocks_all = (subject_totals(subject_index, observed_all.astype(float)) > 0).sum(axis=0)
    eligible = (n_obs_all > n_beta + 2) & (n_blocks_all > 1) & (n_blocks_all < n_obs_all - 1)
    # many tiny LAPACK calls: BLAS threads only add overhead (measured 18x slower on 2 cores)
    with threadpool_limits(limits=1, user_api="blas"):
        rho, converged = _per_protein_rho(
            y, design, subject_index, eligible, n_subjects, tol, maxit, progress
        )
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
    consensus = float(np.tanh(trimmed_mean(kept, trim))) if kept.size else np.nan
    return DuplicateCorrelation(consensus, atanh, method, converged)


def _per_protein_rho(
    y: np.ndarray,
    design: np.ndarray,
    subject_index: np.ndarray,
    eligible: np.ndarray,
    n_subjects: int,
    tol: float,
    maxit: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-protein correlations (NaN where not estimable) and convergence, in chunks."""
    rho = np.full(y.shape[1], np.nan)
    converged = np.ones(y.shape[1], dtype=bool)
    observed_all = ~np.isnan(y)
    total = y.shape[1]
    for start in range(0, total, _CHUNK):
        if progress is not None:
            progress(start, total)
        chunk = np.arange(start, min(start + _CHUNK, total))
        chunk = chunk[eligible[chunk]]
        if not chunk.size:
            continue
        varcomp, handled, done = _varcomp_batch(
            y[:, chunk], design, subject_index, tol=tol, maxit=maxit
        )
        converged[chunk] = done
        for position in np.flatnonzero(~handled):
            g = chunk[position]
            observed = observed_all[:, g]
            single = _random_block_varcomp(
                y[observed, g], design[observed], subject_index[observed], n_subjects,
                tol=tol, maxit=maxit,
            )  # fmt: skip
            if single is None:
                varcomp[position] = np.nan
            else:
                varcomp[position], converged[g] = single
        total_variance = varcomp.sum(axis=1)
        finite = np.isfinite(varcomp).all(axis=1)
        usable = finite & (total_variance != 0)
        rho[chunk[usable]] = varcomp[usable, 1] / total_variance[usable]
        rho[chunk[finite & (varcomp == 0).all(axis=1)]] = 0.0  # (see _flat)
    if progress is not None:
        progress(total, total)
    return rho, converged


_CHUNK = 1024
_TOL_RANK = 1e-10


def _varcomp_batch(
    y: np.ndarray, x: np.ndarray, subject_index: np.ndarray, *, tol: float, maxit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variance components of many proteins at once (the vectorized :func:`_random_block_varcomp`).

    Handles proteins whose observed design is of full rank; returns their
    (error, subject) variance components, a mask of the proteins handled
    (the others go through the one-protein path) and whether each converged.
    """
    observed = ~np.isnan(y)
    weights = observed.astype(float)
    n, n_proteins = y.shape
    p = x.shape[1]
    n_obs = weights.sum(axis=0)
    mean = np.where(observed, y, 0.0).sum(axis=0) / np.maximum(n_obs, 1)
    centred = np.where(observed, y - mean, 0.0)
    outer = (x[:, :, None] * x[:, None, :]).reshape(n, p * p)
    xtx = (weights.T @ outer).reshape(n_proteins, p, p)
    eigen = np.linalg.eigvalsh(xtx)
    handled = eigen[:, 0] > 1e-7 * np.maximum(eigen[:, -1], 1e-300)
    varcomp = np.full((n_proteins, 2), np.nan)
    converged = np.ones(n_proteins, dtype=bool)
    if not handled.any():
        return varcomp, handled, converged
    idx = np.flatnonzero(handled)
    xtx = xtx[idx]
    w = weights[:, idx]
    yc = centred[:, idx]
    n_obs = n_obs[idx]
    chol = np.linalg.cholesky(xtx)
    chol_inv = np.linalg.inv(chol)  # P x p x p, lower
    xty = (x.T @ yc).T
    beta = np.einsum("pjk,pk->pj", np.linalg.inv(xtx), xty)
    residual = np.where(w > 0, yc - x @ beta.T, 0.0)
    rss = np.sum(residual**2, axis=0)
    flat = _flat(rss, np.where(w > 0, np.abs(y[:, idx]), 0.0).max(axis=0), n_obs)
    b = subject_totals(subject_index, residual)  # subjects x P
    counts = subject_totals(subject_index, w)  # subjects x P
    sums = subject_sums(subject_index, w, x)  # subjects x P x p
    g = sums.transpose(1, 0, 2) @ chol_inv.transpose(0, 2, 1)  # P x subjects x p: S L^-T
    m_q = n_obs - p
    if _direct_spectrum(counts.shape[0], p):
        pooled_d, pooled_dy, pooled_w, compressed, qb = _subject_space(g, b, counts)
    else:
        pooled_d, pooled_dy, pooled_w, compressed, qb = _pooled_space(g, b, counts)
    eigenvalues, vectors = np.linalg.eigh(compressed)
    nonzero = eigenvalues > np.maximum(eigenvalues.max(axis=1, keepdims=True), 1.0) * _TOL_RANK
    projections = np.einsum("pkl,pk->pl", vectors, qb)
    with np.errstate(divide="ignore", invalid="ignore"):
        eig_dy = np.where(nonzero, projections**2 / eigenvalues, 0.0)
    eig_d = np.where(nonzero, eigenvalues, 0.0)
    eig_w = nonzero.astype(float)
    d = np.concatenate([pooled_d, eig_d, np.zeros((len(idx), 1))], axis=1)
    dy = np.concatenate([pooled_dy, eig_dy, np.zeros((len(idx), 1))], axis=1)
    wt = np.concatenate([pooled_w, eig_w, np.zeros((len(idx), 1))], axis=1)
    n_zero = m_q - wt.sum(axis=1)
    wt[:, -1] = np.maximum(n_zero, 0)
    dy[:, -1] = np.where(n_zero > 0, np.maximum(rss - dy[:, :-1].sum(axis=1), 0.0), 0.0)
    # ordinary least squares start over all m_q directions
    s0, s1, s2 = wt.sum(1), (wt * d).sum(1), (wt * d * d).sum(1)
    t0, t1 = dy.sum(1), (dy * d).sum(1)
    det = s0 * s2 - s1 * s1
    solvable = np.abs(det) > 1e-12 * np.maximum(s0 * s2, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        start = np.column_stack([(s2 * t0 - s1 * t1) / det, (s0 * t1 - s1 * t0) / det])
    start[~solvable] = np.nan
    n_nonzero = (wt * (d > 1e-15)).sum(axis=1)
    mean_d = s1 / m_q
    var_d = np.where(
        m_q > 1, (wt * (d - mean_d[:, None]) ** 2).sum(1) / np.maximum(m_q - 1, 1), 0.0
    )
    iterate = (m_q > 2) & (n_nonzero > 1) & (var_d > 1e-15) & solvable & ~flat
    fitted = start[:, :1] + start[:, 1:] * d
    negative = ((fitted < 0) & (wt > 0)).any(axis=1)
    start[iterate & negative] = np.column_stack([t0 / m_q, np.zeros(len(idx))])[iterate & negative]
    result = start.copy()
    done = np.ones(len(idx), dtype=bool)
    if iterate.any():
        result[iterate], done[iterate] = _glm_gamma_batch(
            d[iterate], dy[iterate], wt[iterate], start[iterate], tol=tol, maxit=maxit
        )
    result[flat] = 0.0
    varcomp[idx] = result
    converged[idx] = done
    return varcomp, handled, converged


def _flat(rss: np.ndarray | float, scale: np.ndarray | float, n_obs: np.ndarray | float) -> Any:
    """Whether residuals are nothing but rounding: a protein the model fits exactly.

    A protein constant after the fixed effects (the one reference protein of
    reference normalization, say) leaves no residual variation. R's statmod
    then fits rounding noise of ~1e-15 and limma keeps the protein in the
    consensus with a correlation of ~1e-16; the gamma fit here would divide by
    zero. Such a protein's correlation is 0 (both variance components 0).
    """
    with np.errstate(over="ignore"):  # (huge values: an infinite sum is no exact fit)
        return np.isfinite(rss) & (rss <= n_obs * (8 * np.finfo(float).eps * scale) ** 2)


def _direct_spectrum(n_subjects: int, n_coefficients: int) -> bool:
    """Whether Z'PZ is decomposed whole (few subjects) rather than pooled by count first.

    Both give the same spectrum up to rounding (``tests/test_dupcor_paths.py``):
    pooling needs one SVD per distinct count of observations and gives the
    eigenvalue c of the directions it pools exactly; the whole matrix
    (subjects x subjects) is one decomposition, cheaper unless the subjects
    are many.
    """
    return n_subjects <= max(_DIRECT_MAX_SUBJECTS, 2 * n_coefficients)


#: Up to this many subjects (or twice the coefficients) Z'PZ is decomposed whole.
_DIRECT_MAX_SUBJECTS = 32


def _subject_space(
    g: np.ndarray, b: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Z'PZ = diag(counts) - G G' as a whole (proteins x subjects x subjects), nothing pooled.

    Returns the (empty) pooled eigenvalue groups, the matrix and the
    subject totals of the residuals it acts on; see :func:`_pooled_space`.
    """
    n_proteins, n_subjects = g.shape[:2]
    matrix = -(g @ g.transpose(0, 2, 1))
    diagonal = np.arange(n_subjects)
    matrix[:, diagonal, diagonal] += counts.T
    empty = np.zeros((n_proteins, 0))
    return empty, empty, empty, matrix, np.ascontiguousarray(b.T)


def _pooled_space(
    g: np.ndarray, b: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Z'PZ with the directions of eigenvalue c pooled, per count c of observations.

    ``g`` is G = S L^-T (proteins x subjects x p), ``b`` the residuals'
    subject totals (subjects x proteins), ``counts`` the observations per
    subject (subjects x proteins). Subjects with the same count c share the
    eigenvalue c in every direction orthogonal to their rows of G: those are
    pooled (eigenvalue, sum of (w'b)^2 / c, how many; proteins x counts); the
    rest is returned as a compressed matrix (proteins x width x width) with the
    residual totals in its basis (proteins x width), for an eigendecomposition.
    """
    n_proteins = g.shape[0]
    count_values = np.unique(counts[counts > 0])
    n_groups = len(count_values)
    pooled_d = np.zeros((n_proteins, n_groups))
    pooled_dy = np.zeros((n_proteins, n_groups))
    pooled_w = np.zeros((n_proteins, n_groups))
    q_blocks, qb_blocks, diag_blocks, keep_blocks = [], [], [], []
    for k, c in enumerate(count_values):
        member = (counts == c).T  # P x subjects
        g_c = g * member[:, :, None]
        b_c = b.T * member
        u, s, _ = np.linalg.svd(g_c, full_matrices=False)  # u: P x subjects x p
        keep = s > np.maximum(s[:, :1], 1.0) * _TOL_RANK
        u = u * keep[:, None, :]
        inside = (u.transpose(0, 2, 1) @ b_c[:, :, None])[:, :, 0]
        outside = np.sum(b_c**2, axis=1) - np.sum(inside**2, axis=1)
        n_members = member.sum(axis=1)
        rest = n_members - keep.sum(axis=1)
        pooled_d[:, k] = c
        pooled_dy[:, k] = np.where(rest > 0, np.maximum(outside, 0.0) / c, 0.0)
        pooled_w[:, k] = np.maximum(rest, 0)
        q_blocks.append(u.transpose(0, 2, 1) @ g)
        qb_blocks.append(inside)
        diag_blocks.append(keep * c)
        keep_blocks.append(keep)
    qg = np.concatenate(q_blocks, axis=1)  # P x K x p
    qb = np.concatenate(qb_blocks, axis=1)  # P x K
    diagonal = np.concatenate(diag_blocks, axis=1)  # P x K
    # each protein uses at most one direction per observed subject: move its kept
    # directions to the front (in order) and drop the columns no protein uses, so the
    # eigendecompositions below are of (subjects x subjects) matrices, not K x K
    kept = np.concatenate(keep_blocks, axis=1)
    width = max(int(kept.sum(axis=1).max()), 1)
    order = np.argsort(~kept, axis=1, kind="stable")[:, :width]
    inside_width = np.take_along_axis(kept, order, axis=1)
    qg = np.take_along_axis(qg, order[:, :, None], axis=1) * inside_width[:, :, None]
    qb = np.take_along_axis(qb, order, axis=1) * inside_width
    diagonal = np.take_along_axis(diagonal, order, axis=1) * inside_width
    compressed = -(qg @ qg.transpose(0, 2, 1))
    compressed[:, np.arange(qg.shape[1]), np.arange(qg.shape[1])] += diagonal
    return pooled_d, pooled_dy, pooled_w, compressed, qb


def _glm_gamma_batch(
    d: np.ndarray,
    total: np.ndarray,
    weight: np.ndarray,
    start: np.ndarray,
    *,
    tol: float,
    maxit: int,
) -> tuple[np.ndarray, np.ndarray]:
    """statmod's glmgam.fit (gamma GLM, identity link, damped scoring) for many proteins at once.

    Each protein takes its own steps, exactly as the one-protein algorithm would.
    The deviance is computed up to a constant that does not depend on the
    coefficients, which leaves every comparison the algorithm makes unchanged.

    Returns the coefficients and, per protein, whether the score step fell
    below ``tol``. A protein stops (not converged) after ``maxit`` scoring
    steps, after :data:`MAX_DAMPING_STEPS` doublings of the damping within a
    step, or at once when its deviance is not finite (its coefficients are
    then NaN); the loop as a whole is capped too, so it always ends.
    """
    n = len(d)
    real = weight > 0

    def deviance(beta: np.ndarray, rows: np.ndarray) -> np.ndarray:
        mu = beta[:, :1] + beta[:, 1:] * d[rows]
        bad = ((mu <= 0) & real[rows]).any(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(
                real[rows], total[rows] / mu - weight[rows] + weight[rows] * np.log(mu), 0.0
            )
        return np.where(bad, np.inf, 2 * terms.sum(axis=1))

    all_rows = np.arange(n)
    beta = start.astype(float).copy()
    dev = deviance(beta, all_rows)
    lam = np.zeros(n)
    iteration = np.zeros(n, dtype=int)
    level = np.zeros(n, dtype=int)
    active = np.ones(n, dtype=bool)
    fresh = np.ones(n, dtype=bool)  # needs information and score for a new outer iteration
    info = np.zeros((n, 2, 2))
    score = np.zeros((n, 2))
    max_info = np.ones(n)
    beta_old = beta.copy()
    dev_old = dev.copy()
    eye = np.eye(2)
    converged = np.zeros(n, dtype=bool)
    # NaN from the start (overflowing data): nothing to iterate
    hopeless = np.isnan(dev) | ~np.isfinite(beta).all(axis=1)
    beta[hopeless] = np.nan
    active[hopeless] = False
    for _ in range((maxit + 2) * (MAX_DAMPING_STEPS + 2)):
        if not active.any():
            break
        rows = np.flatnonzero(active & fresh)
        if rows.size:
            mu = beta[rows, :1] + beta[rows, 1:] * d[rows]
            v = np.where(real[rows], mu**2, 0.0)
            v = np.maximum(v, v.max(axis=1, keepdims=True) / 1e3)
            wv = np.where(real[rows], weight[rows] / v, 0.0)
            info[rows, 0, 0] = wv.sum(1)
            info[rows, 0, 1] = info[rows, 1, 0] = (wv * d[rows]).sum(1)
            info[rows, 1, 1] = (wv * d[rows] ** 2).sum(1)
            resid = np.where(real[rows], (total[rows] - weight[rows] * mu) / v, 0.0)
            score[rows, 0] = resid.sum(1)
            score[rows, 1] = (resid * d[rows]).sum(1)
            max_info[rows] = np.maximum(info[rows, 0, 0], info[rows, 1, 1])
            iteration[rows] += 1
            first = rows[iteration[rows] == 1]
            lam[first] = np.abs((info[first, 0, 0] + info[first, 1, 1]) / 2) / 2
            beta_old[rows] = beta[rows]
            dev_old[rows] = dev[rows]
            level[rows] = 0
            fresh[rows] = False
        rows = np.flatnonzero(active)
        level[rows] += 1
        step = np.linalg.solve(info[rows] + lam[rows, None, None] * eye, score[rows][:, :, None])[
            :, :, 0
        ]
        trial = beta_old[rows] + step
        trial_dev = deviance(trial, rows)
        accepted = trial_dev <= dev_old[rows]
        too_damped = lam[rows] / max_info[rows] > 1e15
        ok = rows[accepted]
        beta[ok] = trial[accepted]
        dev[ok] = trial_dev[accepted]
        stop_now = accepted & too_damped
        lam[ok[level[ok] == 1]] /= 10
        small = np.einsum("pk,pk->p", score[rows], step) < tol
        finished = accepted & (stop_now | small | (iteration[rows] > maxit))
        active[rows[finished]] = False
        converged[rows[accepted & small]] = True
        fresh[rows[accepted & ~finished]] = True
        rejected = rows[~accepted]
        give_up = too_damped[~accepted]
        beta[rejected[give_up]] = beta_old[rejected[give_up]]
        active[rejected[give_up]] = False
        # beyond statmod: endless damping ends the fit (not converged)
        stuck = ~give_up & ((level[rejected] > MAX_DAMPING_STEPS) | ~np.isfinite(lam[rejected]))
        beta[rejected[stuck]] = beta_old[rejected[stuck]]
        active[rejected[stuck]] = False
        lam[rejected[~give_up & ~stuck]] *= 2
    active_left = np.flatnonzero(active)
    beta[active_left] = np.nan  # the overall cap: cannot happen unless the rules above fail
    return beta, converged


def _random_block_varcomp(
    y: np.ndarray, x: np.ndarray, blocks: np.ndarray, n_subjects: int, *, tol: float, maxit: int
) -> tuple[np.ndarray, bool] | None:
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
    counts = counts[present]
    z_resid = np.bincount(blocks, weights=residual, minlength=n_subjects)[present]
    d, dy, weight = _eigen_pools(counts, z_basis, z_resid)
    total = float(residual @ residual)
    if _flat(total, float(np.abs(y).max()), n):
        return np.zeros(2), True
    n_zero = m_q - int(weight.sum())
    # the zero eigenvalue, n_zero times, holds what the other directions leave of |Py|^2
    if n_zero > 0:
        d = np.append(d, 0.0)
        dy = np.append(dy, max(total - float(dy.sum()), 0.0))
        weight = np.append(weight, float(n_zero))
    design = np.column_stack([np.ones(len(d)), d])
    # ordinary least squares of dy on (1, d) over all m_q values
    start = _weighted_ls(design, dy, weight)
    if start is None:
        return None
    n_nonzero = int((d > 1e-15).sum())
    mean_d = float(np.sum(weight * d) / m_q)
    var_d = float(np.sum(weight * (d - mean_d) ** 2) / (m_q - 1)) if m_q > 1 else 0.0
    if not (m_q > 2 and n_nonzero > 1 and var_d > 1e-15):
        return start, True
    fitted = design @ start
    if not (fitted >= 0).all():
        start = np.array([float(np.sum(dy) / m_q), 0.0])
    beta, done = _glm_gamma_batch(
        d[None], dy[None], weight[None], start[None], tol=tol, maxit=maxit
    )
    return beta[0], bool(done[0])


def _eigen_pools(
    counts: np.ndarray, g: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nonzero eigenvalues d of Z'PZ = diag(counts) - G G', with pooled (w'b)^2 / d.

    Subjects with the same number of observations c share the eigenvalue c in
    every direction orthogonal to their rows of G, so only a small matrix (at
    most rank(G) x number of distinct counts) needs an eigen-decomposition;
    the directions with eigenvalue c are pooled into one group.

    Returns
    -------
    d, dy, weight : numpy.ndarray
        Eigenvalue, sum of (w'b)^2 / d over its directions, and how many
        directions, per group.
    """
    pooled_d, pooled_dy, pooled_w = [], [], []
    blocks = []
    for c in np.unique(counts):
        rows = np.flatnonzero(counts == c)
        g_c, b_c = g[rows], b[rows]
        u, s, _ = np.linalg.svd(g_c, full_matrices=False)
        k = int((s > max(float(s[0]), 1.0) * 1e-10).sum()) if s.size else 0
        q_c = u[:, :k]
        if len(rows) > k:
            inside = q_c.T @ b_c
            outside = float(b_c @ b_c - inside @ inside)
            pooled_d.append(float(c))
            pooled_dy.append(max(outside, 0.0) / c)
            pooled_w.append(float(len(rows) - k))
        if k:
            blocks.append((rows, q_c, c))
    d_list, dy_list = [np.asarray(pooled_d)], [np.asarray(pooled_dy)]
    weight_list = [np.asarray(pooled_w)]
    if blocks:
        size = sum(q.shape[1] for _, q, _ in blocks)
        qg = np.zeros((size, g.shape[1]))
        qb = np.zeros(size)
        diagonal = np.zeros(size)
        start = 0
        for rows, q_c, c in blocks:
            stop = start + q_c.shape[1]
            qg[start:stop] = q_c.T @ g[rows]
            qb[start:stop] = q_c.T @ b[rows]
            diagonal[start:stop] = c
            start = stop
        eigenvalues, vectors = np.linalg.eigh(np.diag(diagonal) - qg @ qg.T)
        nonzero = eigenvalues > max(float(eigenvalues.max()), 1.0) * 1e-10
        projections = vectors[:, nonzero].T @ qb
        d_list.append(eigenvalues[nonzero])
        dy_list.append(projections**2 / eigenvalues[nonzero])
        weight_list.append(np.ones(int(nonzero.sum())))
    return np.concatenate(d_list), np.concatenate(dy_list), np.concatenate(weight_list)


def _weighted_ls(design: np.ndarray, total: np.ndarray, weight: np.ndarray) -> np.ndarray | None:
    """OLS over pooled groups: group g holds ``weight[g]`` values summing to ``total[g]``."""
    xtx = design.T @ (weight[:, None] * design)
    if np.linalg.matrix_rank(xtx) < design.shape[1]:
        return None
    return np.linalg.solve(xtx, design.T @ total)
