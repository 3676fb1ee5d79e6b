"""The REML engine behind :func:`salivaprot.stats.mixed.fit_mixed` (private).

Per protein, ``y ~ X beta + subject + error`` with one variance ratio theta =
subject_sd / sigma: sufficient statistics per subject, the profiled REML
criterion, a vectorized golden-section + Newton search over theta, aliasing as
lme4 handles it, and lmerTest's Satterthwaite t and F.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from salivaprot.stats import _special as special

#: Relative tolerance on column norms when dropping aliased columns (R's ``qr``, lme4).
RANK_TOL = 1e-7
#: lmerTest's threshold on the eigenvalues of the variance-parameter Hessian.
HESSIAN_TOL = 1e-8
#: lme4's ``isSingular`` tolerance on theta.
SINGULAR_TOL = 1e-4
_THETA_MAX = 1e7
_GRID = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 25)])
_GOLDEN_STEPS = 20
_NEWTON_STEPS = 12
_NOT_ESTIMABLE = (
    "not estimable: not in the row space of the observed design "
    "(an empty arm x visit cell, or a covariate confounded in the observed samples)"
)
_EXACT = "not fitted: the observed values fit the fixed effects exactly (no residual variation)"
_FLAT = (
    "variance components not identifiable: the REML criterion does not depend on "
    "subject_sd / sigma (no within-subject residual degrees of freedom); no estimates reported"
)
_SIGMA_ZERO = (
    "variance components not identifiable: the REML optimum is at sigma = 0 (the fixed "
    "effects leave no within-subject residual variation); no estimates reported"
)


def _empty(n: int, k: int, j: int) -> dict[str, np.ndarray]:
    """Output arrays for n proteins, k contrasts and j joint tests: NaN, False or 0."""
    out = {
        name: np.full(shape, np.nan)
        for name, shape in {
            "estimate": (n, k),
            "se": (n, k),
            "df": (n, k),
            "t": (n, k),
            "p_value": (n, k),
            "f_value": (n, j),
            "f_df1": (n, j),
            "f_df2": (n, j),
            "f_p_value": (n, j),
            "sigma": (n,),
            "subject_sd": (n,),
            "theta": (n,),
            "reml_criterion": (n,),
        }.items()
    }
    out["estimable"] = np.zeros((n, k), dtype=bool)
    out["joint_estimable"] = np.zeros((n, j), dtype=bool)
    for name in ("singular", "converged", "fitted"):
        out[name] = np.zeros(n, dtype=bool)
    out["rank"] = np.zeros(n, dtype=np.int64)
    return out


@dataclass
class _Stats:
    """Per-protein sufficient statistics of the random-intercept model.

    ``w_*`` are within-subject sums (deviations from each subject's mean over
    the protein's observed samples); ``b_*[:, k-1]`` are between-subject sums
    over the subjects with ``k`` observed samples, each subject weighted by
    ``k`` (its mean squared times ``k``): ``X'V^-1 X = w_xx + sum_k phi_k b_xx[k]``
    with ``V = I + theta^2 Z Z'`` and ``phi_k = 1 / (1 + k theta^2)``.
    """

    w_xx: np.ndarray  # (G, p, p)
    w_xy: np.ndarray  # (G, p)
    w_yy: np.ndarray  # (G,)
    b_xx: np.ndarray  # (G, K, p, p)
    b_xy: np.ndarray  # (G, K, p)
    b_yy: np.ndarray  # (G, K)
    n_k: np.ndarray  # (G, K) subjects with k observations
    n_obs: np.ndarray  # (G,)

    @classmethod
    def concat(cls, parts: Sequence[_Stats]) -> _Stats:
        if len(parts) == 1:
            return parts[0]
        return cls(
            **{
                name: np.concatenate([getattr(part, name) for part in parts])
                for name in cls.__dataclass_fields__
            }
        )

    @property
    def k(self) -> np.ndarray:
        return np.arange(1, self.n_k.shape[1] + 1, dtype=float)

    def gram(self) -> np.ndarray:
        """X'X of each protein's observed rows."""
        return self.w_xx + self.b_xx.sum(axis=1)

    def restrict(self, keep: np.ndarray) -> None:
        """Drop aliased columns: zero their sums and put 1 on the diagonal of w_xx.

        ``X'V^-1 X`` then has an identity block for the dropped columns, so
        their coefficients are 0, they add nothing to the log-determinant and
        the kept block is exactly the fit without them.
        """
        if keep.all():
            return
        both = keep[:, :, None] & keep[:, None, :]
        self.w_xx = self.w_xx * both
        self.b_xx = self.b_xx * both[:, None]
        self.w_xy = self.w_xy * keep
        self.b_xy = self.b_xy * keep[:, None, :]
        g, c = np.nonzero(~keep)
        self.w_xx[g, c, c] = 1.0


def _summarise(
    ys: np.ndarray, xs: np.ndarray, layout: np.ndarray, codes: np.ndarray, starts: np.ndarray
) -> _Stats:
    """Sufficient statistics of a block of proteins; rows of ``ys``/``xs`` sorted by subject.

    ``layout`` is subjects x (most samples of a subject): the row of each of
    the subject's samples, padded with ``len(xs)`` (a row of zeros).
    """
    n, p = xs.shape
    g = ys.shape[1]
    kmax = layout.shape[1]
    obs = ~np.isnan(ys)
    o = obs.astype(float)
    y0 = np.where(obs, ys, 0.0)
    o_pad = np.concatenate([o, np.zeros((1, g))])[layout]  # (m, K, G)
    x_pad = np.concatenate([xs, np.zeros((1, p))])[layout]  # (m, K, p)
    s_x = np.ascontiguousarray((x_pad.transpose(0, 2, 1) @ o_pad).transpose(2, 0, 1))  # (G, m, p)
    s_y = np.add.reduceat(y0, starts, axis=0).T  # (G, m)
    cnt = o_pad.sum(axis=1).T  # (G, m)
    y_bar = s_y / np.maximum(cnt, 1.0)
    y_c = (y0 - y_bar.T[codes]) * o
    xx = (xs[:, :, None] * xs[:, None, :]).reshape(n, p * p)
    gram = (o.T @ xx).reshape(g, p, p)
    k = np.arange(1, kmax + 1, dtype=float)
    w_k = (cnt[:, :, None] == k) / k  # (G, m, K): 1/k for the subjects with k samples
    stacked = (s_x[:, :, None, :] * w_k[:, :, :, None]).reshape(g, -1, kmax * p)
    b_xx = (s_x.transpose(0, 2, 1) @ stacked).reshape(g, p, kmax, p).transpose(0, 2, 1, 3)
    b_xx = 0.5 * (b_xx + b_xx.transpose(0, 1, 3, 2))
    b_xy = (w_k * s_y[:, :, None]).transpose(0, 2, 1) @ s_x  # (G, K, p)
    b_yy = np.einsum("gmk,gm->gk", w_k, s_y**2)
    n_k = (cnt[:, :, None] == k).sum(axis=1).astype(float)
    return _Stats(
        w_xx=gram - b_xx.sum(axis=1),
        w_xy=y_c.T @ xs,
        w_yy=np.einsum("ng,ng->g", y_c, y_c),
        b_xx=b_xx,
        b_xy=b_xy,
        b_yy=b_yy,
        n_k=n_k,
        n_obs=o.sum(axis=0),
    )


def _aliasing(
    stats: _Stats,
    ys: np.ndarray,
    xs: np.ndarray,
    contrasts: np.ndarray,
    joints: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kept columns, estimable contrasts and joint tests, and the rank of each protein.

    A cheap elimination on the scaled Gram matrices finds every protein whose
    observed design might be rank deficient (relative residual norm below
    3e-5); only those are examined on their rows, column by column in order
    as R's ``qr`` (LINPACK, tolerance 1e-7) does for lme4.
    """
    gram = stats.gram()
    g, p = gram.shape[0], gram.shape[2]
    keep = np.ones((g, p), dtype=bool)
    estimable = np.ones((g, contrasts.shape[0]), dtype=bool)
    joint_ok = np.ones((g, len(joints)), dtype=bool)
    diag = np.einsum("gii->gi", gram)
    scale = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
    a = gram * scale[:, :, None] * scale[:, None, :]
    suspect = np.zeros(g, dtype=bool)
    for j in range(p):
        d = a[:, j, j].copy()
        small = d < 1e-9
        suspect |= small
        f = np.where(small, 0.0, 1.0 / np.sqrt(np.where(small, 1.0, d)))
        v = a[:, j, j + 1 :] * f[:, None]
        a[:, j + 1 :, j + 1 :] -= v[:, :, None] * v[:, None, :]
    for i in np.flatnonzero(suspect):
        rows = xs[~np.isnan(ys[:, i])]
        kept: list[int] = []
        basis = np.zeros((rows.shape[0], 0))
        for j in range(p):
            col = rows[:, j]
            norm = np.linalg.norm(col)
            resid = col - basis @ (basis.T @ col)
            resid = resid - basis @ (basis.T @ resid)
            rnorm = np.linalg.norm(resid)
            if norm > 0 and rnorm > RANK_TOL * norm:
                kept.append(j)
                basis = np.column_stack([basis, resid / rnorm])
        keep[i] = False
        keep[i, kept] = True
        if len(kept) == p:
            continue
        dropped = [j for j in range(p) if j not in kept]
        xk = rows[:, kept]
        coef = np.linalg.lstsq(xk, rows[:, dropped], rcond=None)[0]  # x_d = X_K a_d
        # null-space directions: e_d - a_d on the kept columns
        null = np.zeros((p, len(dropped)))
        null[dropped, np.arange(len(dropped))] = 1.0
        null[kept] = -coef

        def ok(rows_l: np.ndarray, null: np.ndarray = null) -> np.ndarray:
            size = np.abs(rows_l).sum(axis=1)[:, None] * (1.0 + np.abs(null).sum(axis=0))[None, :]
            return (np.abs(rows_l @ null) <= 1e-8 * np.maximum(size, 1.0)).all(axis=1)

        estimable[i] = ok(contrasts)
        for j, m in enumerate(joints):
            joint_ok[i, j] = bool(ok(m).all())
    return keep, estimable, joint_ok, keep.sum(axis=1)


@dataclass
class _ThetaFit:
    theta: np.ndarray
    converged: np.ndarray
    identified: np.ndarray
    notes: list[list[str]]


def _exact_within(stats: _Stats, keep: np.ndarray) -> np.ndarray:
    """Proteins whose within-subject variation the fixed effects fit exactly.

    Only for those can the REML optimum lie at sigma = 0 (theta = infinity) or
    the criterion be flat in theta; otherwise the criterion grows without
    bound as sigma -> 0.
    """
    both = keep[:, :, None] & keep[:, None, :]
    vals, vecs = np.linalg.eigh(stats.w_xx * both)
    pos = vals > 1e-10 * np.maximum(vals[:, -1:], np.finfo(float).tiny)
    proj = np.einsum("gpj,gp->gj", vecs, stats.w_xy * keep)
    fitted = (np.where(pos, proj**2 / np.where(pos, vals, 1.0), 0.0)).sum(axis=1)
    return np.asarray(stats.w_yy - fitted <= 1e-9 * stats.w_yy)


def _criterion(stats: _Stats, theta: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """Profiled REML criterion (lme4's REML deviance) at theta, per protein."""
    k = stats.k
    t2 = theta[:, None] ** 2
    phi = 1.0 / (1.0 + k * t2)  # (G, K)
    g, p = stats.w_xy.shape
    m = stats.w_xx + (phi[:, None, :] @ stats.b_xx.reshape(g, -1, p * p)).reshape(g, p, p)
    c = stats.w_xy + (phi[:, None, :] @ stats.b_xy)[:, 0]
    q = stats.w_yy + (phi * stats.b_yy).sum(axis=1)
    try:
        chol = np.linalg.cholesky(m)
    except np.linalg.LinAlgError:  # some M not numerically positive definite
        vals, vecs = np.linalg.eigh(m)
        big = vals > 1e-14 * np.abs(vals).max(axis=1, keepdims=True)
        logdet = np.log(np.where(big, vals, np.inf)).sum(axis=1)  # +inf: never the optimum
        proj = np.einsum("gpj,gp->gj", vecs, c)
        fit = np.where(big, proj**2 / np.where(big, vals, 1.0), 0.0).sum(axis=1)
    else:
        diag = np.einsum("gii->gi", chol)
        logdet = 2.0 * np.log(diag).sum(axis=1)
        z = np.empty_like(c)
        for i in range(p):  # forward substitution: c' M^-1 c = |chol^-1 c|^2
            z[:, i] = (c[:, i] - np.einsum("gj,gj->g", chol[:, i, :i], z[:, :i])) / diag[:, i]
        fit = (z * z).sum(axis=1)
    r = np.maximum(q - fit, np.finfo(float).tiny)
    ld_l2 = (stats.n_k * np.log1p(k * t2)).sum(axis=1)
    return np.asarray(ld_l2 + logdet + nu * (1.0 + np.log(2.0 * np.pi * r / nu)))


@dataclass
class _State:
    """Everything at a given theta that the derivatives and the inference need."""

    theta: np.ndarray
    m_inv: np.ndarray
    m_1: np.ndarray  # dM/dtheta
    beta: np.ndarray
    r: np.ndarray
    r_1: np.ndarray
    r_2: np.ndarray
    a_2: np.ndarray  # d2/dtheta2 of log|L|^2 + log|M|
    d_1: np.ndarray  # profiled criterion, first derivative
    d_2: np.ndarray  # second derivative
    crit: np.ndarray


def _state(stats: _Stats, theta: np.ndarray, nu: np.ndarray) -> _State:
    """The profiled criterion and its analytic derivatives in theta."""
    k = stats.k
    t = theta[:, None]
    t2 = t**2
    phi = 1.0 / (1.0 + k * t2)
    phi_1 = -2.0 * k * t * phi**2
    phi_2 = 2.0 * k * (3.0 * k * t2 - 1.0) * phi**3
    m = stats.w_xx + np.einsum("gk,gkpq->gpq", phi, stats.b_xx)
    m_1 = np.einsum("gk,gkpq->gpq", phi_1, stats.b_xx)
    m_2 = np.einsum("gk,gkpq->gpq", phi_2, stats.b_xx)
    c = stats.w_xy + np.einsum("gk,gkp->gp", phi, stats.b_xy)
    m_inv = _inverse(m)
    beta = np.einsum("gpq,gq->gp", m_inv, c)
    resid_w, resid_b = _residual_sums(stats, beta)
    r = np.maximum(resid_w + (phi * resid_b).sum(axis=1), np.finfo(float).tiny)
    r_1 = (phi_1 * resid_b).sum(axis=1)
    h = np.einsum("gk,gkp->gp", phi_1, stats.b_xy - np.einsum("gkpq,gq->gkp", stats.b_xx, beta))
    r_2 = (phi_2 * resid_b).sum(axis=1) - 2.0 * np.einsum("gp,gpq,gq->g", h, m_inv, h)
    _, logdet = np.linalg.slogdet(m)
    a1 = m_inv @ m_1
    ld_1 = np.einsum("gii->g", a1)
    ld_2 = np.einsum("gpq,gqp->g", m_inv, m_2) - np.einsum("gpq,gqp->g", a1, a1)
    nk = stats.n_k
    l2 = (nk * np.log1p(k * t2)).sum(axis=1)
    l2_1 = (nk * 2.0 * k * t * phi).sum(axis=1)
    l2_2 = (nk * 2.0 * k * (1.0 - k * t2) * phi**2).sum(axis=1)
    d_1 = l2_1 + ld_1 + nu * r_1 / r
    d_2 = l2_2 + ld_2 + nu * (r_2 / r - (r_1 / r) ** 2)
    crit = l2 + logdet + nu * (1.0 + np.log(2.0 * np.pi * r / nu))
    return _State(theta, m_inv, m_1, beta, r, r_1, r_2, l2_2 + ld_2, d_1, d_2, crit)


def _fit_theta(
    stats: _Stats, nu: np.ndarray, exact_within: np.ndarray, fixed: np.ndarray | None = None
) -> _ThetaFit:
    """Locate the REML optimum of theta >= 0 for every protein at once (or take ``fixed``)."""
    g = len(nu)
    notes: list[list[str]] = [[] for _ in range(g)]
    if g == 0:
        return _ThetaFit(np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=bool), notes)
    if fixed is not None and np.isfinite(fixed).any():
        given = np.isfinite(fixed)
        rest = np.flatnonzero(~given)
        fit = _fit_theta(_take(stats, rest), nu[rest], exact_within[rest])
        theta = np.abs(fixed)
        theta[rest] = fit.theta
        converged = np.ones(g, dtype=bool)
        converged[rest] = fit.converged
        identified = np.ones(g, dtype=bool)
        identified[rest] = fit.identified
        for i, extra in zip(rest, fit.notes, strict=True):
            notes[i] = extra
        return _ThetaFit(theta, converged, identified, notes)
    grid = _GRID
    values = np.stack([_criterion(stats, np.full(g, th), nu) for th in grid], axis=1)
    values = np.where(np.isfinite(values), values, np.inf)
    best = np.argmin(values, axis=1)
    lo = grid[np.maximum(best - 1, 0)]
    hi = grid[np.minimum(best + 1, len(grid) - 1)]
    converged = np.ones(g, dtype=bool)
    identified = np.ones(g, dtype=bool)
    # exact within-subject fit: an exact fit, a flat criterion, or the optimum at sigma = 0
    slope = np.zeros(g)
    idx = np.flatnonzero(exact_within | (best == 0))
    if len(idx):
        slope[idx], rss = _at_zero(_take(stats, idx), nu[idx])
        total = stats.w_yy[idx] + stats.b_yy[idx].sum(axis=1)
        exact = np.zeros(g, dtype=bool)
        exact[idx] = rss <= 1e-13 * total
    else:
        exact = np.zeros(g, dtype=bool)
    spread = values.max(axis=1) - values.min(axis=1)
    flat = exact_within & ~exact & (spread <= 1e-9 * (1.0 + np.abs(values.min(axis=1))))
    at_top = exact_within & ~exact & ~flat & (best == len(grid) - 1)
    for mask, message in ((exact, _EXACT), (flat, _FLAT), (at_top, _SIGMA_ZERO)):
        for i in np.flatnonzero(mask):
            notes[i].append(message)
    identified[exact | flat | at_top] = False
    converged[exact | flat | at_top] = False
    # optimum beyond the grid: walk up until the criterion rises again
    top = np.flatnonzero(identified & (best == len(grid) - 1))
    if len(top):
        sub = _take(stats, top)
        current = np.full(len(top), grid[-1])
        prev = np.full(len(top), grid[-2])
        f_cur = values[top, -1]
        active = np.ones(len(top), dtype=bool)
        while active.any() and current[active].max() < _THETA_MAX:
            nxt = np.minimum(current * 4.0, _THETA_MAX)
            f_nxt = _criterion(sub, nxt, nu[top])
            up = active & (f_nxt < f_cur)
            done = active & ~up
            lo[top[done]] = prev[done]
            hi[top[done]] = nxt[done]
            prev = np.where(up, current, prev)
            current = np.where(up, nxt, current)
            f_cur = np.where(up, f_nxt, f_cur)
            active = up
        if active.any():
            lo[top[active]] = prev[active]
            hi[top[active]] = current[active]
            converged[top[active]] = False
            for i in top[active]:
                notes[i].append(
                    f"REML optimum not found: theta = subject_sd / sigma reached {_THETA_MAX:g}"
                )
    # boundary: theta = 0 is the optimum when the criterion rises in theta^2 there
    boundary = identified & (best == 0) & (slope >= 0)
    search = np.flatnonzero(identified & ~boundary)
    theta = np.zeros(g)
    if len(search):
        sub = _take(stats, search)
        theta[search] = _golden_newton(sub, nu[search], lo[search], hi[search])
        final = _state(sub, theta[search], nu[search])
        scale = 1.0 + np.abs(final.d_2) * np.maximum(theta[search], 1e-3)
        bad = np.abs(final.d_1) > 1e-6 * scale
        for i in search[bad & converged[search]]:
            notes[i].append("REML optimization did not converge: the derivative in theta is not 0")
        converged[search[bad]] = False
    theta[~identified] = np.nan
    return _ThetaFit(theta, converged, identified, notes)


def _take(stats: _Stats, idx: np.ndarray) -> _Stats:
    return _Stats(**{name: getattr(stats, name)[idx] for name in _Stats.__dataclass_fields__})


def _residual_sums(stats: _Stats, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residual sums of squares at ``beta``: within subjects, and per subject-size class."""
    within = (
        stats.w_yy
        - 2.0 * (beta * stats.w_xy).sum(axis=1)
        + np.einsum("gp,gpq,gq->g", beta, stats.w_xx, beta)
    )
    between = (
        stats.b_yy
        - 2.0 * np.einsum("gp,gkp->gk", beta, stats.b_xy)
        + np.einsum("gp,gkpq,gq->gk", beta, stats.b_xx, beta)
    )
    return within, between


def _at_zero(stats: _Stats, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At theta = 0: the criterion's derivative in u = theta^2, and the residual sum of squares."""
    k = stats.k
    m = stats.w_xx + stats.b_xx.sum(axis=1)
    c = stats.w_xy + stats.b_xy.sum(axis=1)
    m_inv = _inverse(m)
    beta = np.einsum("gpq,gq->gp", m_inv, c)
    resid_w, resid_b = _residual_sums(stats, beta)
    r = np.maximum(resid_w + resid_b.sum(axis=1), 0.0)
    # d phi_k / du at 0 = -k
    m_u = -np.einsum("k,gkpq->gpq", k, stats.b_xx)
    r_u = -(k * resid_b).sum(axis=1)
    slope = (stats.n_k * k).sum(axis=1) + np.einsum("gpq,gqp->g", m_inv, m_u) + nu * r_u / r
    return np.asarray(slope), r


def _inverse(m: np.ndarray) -> np.ndarray:
    """Inverses of a stack of symmetric matrices (pseudo-inverse for any that are singular)."""
    try:
        inv = np.linalg.inv(m)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(m)
        big = vals > 1e-14 * np.abs(vals).max(axis=1, keepdims=True)
        inv = np.einsum(
            "gij,gj,gkj->gik", vecs, np.where(big, 1.0 / np.where(big, vals, 1.0), 0.0), vecs
        )
    return 0.5 * (inv + inv.transpose(0, 2, 1))


def _golden_newton(stats: _Stats, nu: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Golden-section search in [lo, hi], then safeguarded Newton steps on the derivative.

    The golden section only gets close (its bracket is trusted while the
    criterion differences are far above rounding); the Newton iterations
    then solve ``d'(theta) = 0`` within the grid bracket, falling back to
    bisection on the sign of the derivative when a step leaves the bracket.
    """
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo.copy(), hi.copy()
    x1 = b - ratio * (b - a)
    x2 = a + ratio * (b - a)
    f1 = _criterion(stats, x1, nu)
    f2 = _criterion(stats, x2, nu)
    for _ in range(_GOLDEN_STEPS):
        left = f1 <= f2  # minimum in [a, x2]
        b = np.where(left, x2, b)
        a = np.where(left, a, x1)
        new = np.where(left, b - ratio * (b - a), a + ratio * (b - a))
        f_new = _criterion(stats, new, nu)
        x2, f2, x1, f1 = (
            np.where(left, x1, new),
            np.where(left, f1, f_new),
            np.where(left, new, x2),
            np.where(left, f_new, f2),
        )
    x = np.where(f1 <= f2, x1, x2)
    a, b = lo.copy(), hi.copy()
    done = np.zeros(len(x), dtype=bool)
    for _ in range(_NEWTON_STEPS):
        active = np.flatnonzero(~done)
        if not len(active):
            break
        s = _state(_take(stats, active), x[active], nu[active])
        xa, aa, ba = x[active], a[active], b[active]
        aa = np.where(s.d_1 < 0, np.maximum(aa, xa), aa)
        ba = np.where(s.d_1 > 0, np.minimum(ba, xa), ba)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = s.d_1 / s.d_2
        newton = xa - step
        fine = (s.d_2 > 0) & np.isfinite(newton) & (newton >= aa) & (newton <= ba)
        x[active] = np.where(fine, newton, 0.5 * (aa + ba))
        a[active], b[active] = aa, ba
        done[active] = (s.d_1 == 0) | (fine & (np.abs(step) <= 1e-13 * np.maximum(xa, 1e-8)))
    return np.maximum(x, 0.0)


def _inference(
    stats: _Stats,
    theta: np.ndarray,
    nu: np.ndarray,
    keep: np.ndarray,
    contrasts: np.ndarray,
    joints: Sequence[np.ndarray],
) -> dict[str, np.ndarray]:
    """Estimates, Satterthwaite t tests and F tests at ``theta``, one row per protein."""
    s = _state(stats, theta, nu)
    sigma2 = s.r / nu
    sigma = np.sqrt(sigma2)
    # Hessian of the REML deviance in (theta, sigma), at sigma^2 = r / nu
    h_tt = s.a_2 + s.r_2 / sigma2
    h_ts = -2.0 * s.r_1 / sigma**3
    h_ss = 4.0 * nu / sigma2
    hess = np.stack([np.stack([h_tt, h_ts], -1), np.stack([h_ts, h_ss], -1)], -2)
    vals, vecs = np.linalg.eigh(hess)
    pos = vals > HESSIAN_TOL
    inv_vals = np.where(pos, 1.0 / np.where(pos, vals, 1.0), 0.0)
    a_var = 2.0 * np.einsum("gij,gj,gkj->gik", vecs, inv_vals, vecs)  # Cov(theta, sigma)
    est, var, df = _satterthwaite(contrasts[None, :, :] * keep[:, None, :], s, sigma, a_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(var)
        t = est / se
        p_value = 2.0 * special.stdtr(df, -np.abs(t))
    out = {"estimate": est, "se": se, "df": df, "t": t, "p_value": p_value}
    tests = [_joint_test(m[None, :, :] * keep[:, None, :], s, sigma, a_var) for m in joints]
    for j, name in enumerate(("f_value", "f_df1", "f_df2", "f_p_value")):
        out[name] = np.stack([test[j] for test in tests], axis=1) if tests else est[:, :0]
    out.update(
        sigma=sigma,
        theta=theta,
        subject_sd=theta * sigma,
        reml_criterion=s.crit,
        hessian_bad=(~pos).sum(axis=1),
    )
    return out


def _satterthwaite(
    lg: np.ndarray, s: _State, sigma: np.ndarray, a_var: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate, variance and Satterthwaite df of each row of ``lg`` (G, k, p).

    ``Cov(beta) = sigma^2 M^-1``, whose derivatives are ``-sigma^2 M^-1 M' M^-1``
    in theta and ``2 sigma M^-1`` in sigma; ``a_var`` is ``Cov(theta, sigma)``.
    """
    sigma2 = sigma**2
    lm = lg @ s.m_inv  # (G, k, p)
    var_u = np.einsum("gkp,gkp->gk", lm, lg)
    var = sigma2[:, None] * var_u
    g_theta = -sigma2[:, None] * np.einsum("gkp,gpq,gkq->gk", lm, s.m_1, lm)
    g_sigma = 2.0 * sigma[:, None] * var_u
    denom = (
        a_var[:, 0, 0, None] * g_theta**2
        + 2.0 * a_var[:, 0, 1, None] * g_theta * g_sigma
        + a_var[:, 1, 1, None] * g_sigma**2
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        df = 2.0 * var**2 / denom
    est = np.einsum("gkp,gp->gk", lg, s.beta)
    return est, var, df


def _joint_test(
    lg: np.ndarray, s: _State, sigma: np.ndarray, a_var: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """lmerTest's multi-df F test (contestMD) for the rows of ``lg`` (G, q, p)."""
    sigma2 = sigma**2
    v = sigma2[:, None, None] * (lg @ s.m_inv @ lg.transpose(0, 2, 1))
    vals, vecs = np.linalg.eigh(0.5 * (v + v.transpose(0, 2, 1)))
    vals, vecs = vals[:, ::-1], vecs[:, :, ::-1]  # decreasing, as R's eigen
    tol = np.maximum(np.sqrt(np.finfo(float).eps) * vals[:, 0], 0.0)
    pos = vals > tol[:, None]
    q = pos.sum(axis=1)
    ptl = vecs.transpose(0, 2, 1) @ lg  # eigen-contrasts (G, q, p)
    est, _, nu_m = _satterthwaite(ptl, s, sigma, a_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        t2 = np.where(pos, est**2 / np.where(pos, vals, 1.0), 0.0)
        f = t2.sum(axis=1) / q
    # combine the per-eigen-contrast df as lmerTest's get_Fstat_ddf does
    close = np.where(pos[:, 1:], np.abs(np.diff(nu_m, axis=1)) < 1e-8, True).all(axis=1)
    q_safe = np.maximum(q, 1)
    mean = np.where(pos, nu_m, 0.0).sum(axis=1) / q_safe
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(pos, nu_m / (nu_m - 2.0), 0.0).sum(axis=1)
        combined = 2.0 * e / (e - q)
    any_small = (pos & (nu_m <= 2.0)).any(axis=1)
    ddf = np.where(q == 1, nu_m[:, 0], np.where(close, mean, np.where(any_small, 2.0, combined)))
    ddf = np.where(q == 0, np.nan, ddf)
    f = np.where(q == 0, np.nan, f)
    with np.errstate(divide="ignore", invalid="ignore"):
        pf = special.fdtrc(q, ddf, f)
    return f, q.astype(float), ddf, pf
