"""Per-protein linear mixed models with Satterthwaite degrees of freedom (``--method mixed``).

For every protein the model is ``y ~ design + (1 | subject)``: the fixed effects
of the trial design (``~ arm * visit (+ covariates)``) and one random
intercept per subject, fitted by REML on the protein's observed samples. Each
contrast is tested with a t statistic whose degrees of freedom come from
Satterthwaite's approximation, and each joint hypothesis with the F test of
Kuznetsova, Brockhoff & Christensen (2017, J Stat Softw 82(13)). This is what
R's ``lmerTest`` gives for ``lmer(y ~ arm * visit + (1 | subject))`` with
``contest(..., ddf = "Satterthwaite")``.

How it is computed
------------------
Write ``theta = subject_sd / sigma``. The covariance of one subject's ``n_i``
observations is ``sigma^2 (I + theta^2 1 1')``. Its inverse is
``sigma^-2 ((I - P_i) + phi_i P_i)``, where ``P_i`` projects on the subject mean
and ``phi_i = 1 / (1 + n_i theta^2)``.

* So every quantity REML needs is a within-subject part, which does not
  depend on ``theta``, plus between-subject parts weighted by ``phi(n_i)``.
* Subjects are grouped by their number ``k`` of observed samples (at most the
  number of visits). Each protein is then summarised once by a few ``p x p``
  matrices.
* After that, the profiled REML criterion at any ``theta`` costs one
  ``p x p`` Cholesky factorisation. It is evaluated for all proteins at once,
  whatever their missing values.
* ``theta >= 0`` is found by a grid search, then a golden-section search,
  then safeguarded Newton steps on the analytic derivative. All three are
  vectorised across proteins. The result is accurate to about 1e-12
  (relative).
* ``theta = 0`` is taken when the criterion rises in ``theta^2`` there: a
  singular fit, flagged and kept.

The Satterthwaite degrees of freedom use the analytic Hessian of the REML
deviance in ``(theta, sigma)``, and the analytic Jacobian of ``Cov(beta)`` in
the same parameters. lmerTest computes both numerically, from the same
function and with the same parametrisation.

Agreement with R
----------------
The reference tables in ``tests/reference`` were made with lme4 1.1-31 and
lmerTest 3.1-3.

* When evaluated at lme4's own ``theta`` (the ``theta`` argument), estimates,
  SEs, df, p-values and F statistics reproduce R's to about 1e-8 (relative)
  or better.
* At the exact REML optimum, the results differ from R's only by how far
  lme4's optimizer stopped from that optimum. lme4 uses BOBYQA with
  ``ftol_abs = 1e-8`` on the deviance.
* Typically the differences are below 1e-4 relative for SEs, df and
  p-values. For a few proteins, estimates differ by up to a few 1e-6; there,
  the REML criterion found here is lower than lme4's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import special

from salivaprot.stats._common import bh_adjust

__all__ = ["MixedFit", "fit_mixed"]

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


@dataclass(frozen=True)
class MixedFit:
    """Results of :func:`fit_mixed`, with proteins indexed first in every array.

    Arrays are read-only.

    Attributes
    ----------
    contrasts : tuple of str
        Contrast names (the columns of the per-contrast arrays).
    joint : tuple of str
        Joint-test names (the columns of the F arrays).
    estimate, se, df, t, p_value : numpy.ndarray
        Proteins x contrasts. NaN where a contrast is not estimable or the
        protein was not fitted.
    estimable : numpy.ndarray
        Proteins x contrasts, bool: the contrast lies in the row space of the
        protein's observed design.
    f_value, f_df1, f_df2, f_p_value : numpy.ndarray
        Proteins x joint tests: lmerTest's F, NumDF, DenDF and p-value.
    joint_estimable : numpy.ndarray
        Proteins x joint tests, bool: every row of the test is estimable.
    sigma, subject_sd, theta, reml_criterion : numpy.ndarray
        For each protein: the residual SD, the subject SD, their ratio, and
        the REML criterion (``-2`` REML log-likelihood, as lme4's
        ``REMLcrit``).
    singular : numpy.ndarray
        Bool, ``theta < singular_tol`` (lme4's ``isSingular``). Such fits are
        kept.
    converged : numpy.ndarray
        Bool, the REML optimum was located. It is False for proteins that
        were not fitted.
    fitted : numpy.ndarray
        Bool, the protein had enough data and identifiable variance
        components.
    n_obs, n_subjects, rank : numpy.ndarray
        For each protein: its observed samples, its subjects, and the rank of
        its observed design.
    note : tuple of str
        For each protein: why it was not fitted, which columns were dropped,
        and any optimizer or Hessian problems. Empty when there is nothing to
        say.
    """

    contrasts: tuple[str, ...]
    joint: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    t: np.ndarray
    p_value: np.ndarray
    estimable: np.ndarray
    f_value: np.ndarray
    f_df1: np.ndarray
    f_df2: np.ndarray
    f_p_value: np.ndarray
    joint_estimable: np.ndarray
    sigma: np.ndarray
    subject_sd: np.ndarray
    theta: np.ndarray
    reml_criterion: np.ndarray
    singular: np.ndarray
    converged: np.ndarray
    fitted: np.ndarray
    n_obs: np.ndarray
    n_subjects: np.ndarray
    rank: np.ndarray
    note: tuple[str, ...]

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    @property
    def n_proteins(self) -> int:
        """Number of proteins."""
        return len(self.note)

    def to_frame(self, protein_ids: Sequence[str] | pd.Index | None = None) -> pd.DataFrame:
        """Return a tidy long table of the contrasts, one row per contrast and protein.

        Rows are ordered by contrast, then protein, as in R's reference tables.

        * ``padj`` is Benjamini-Hochberg within each contrast, over the
          proteins that have a p-value.
        * ``singular`` is NA for proteins that were not fitted.
        * ``note`` joins the protein's note and, for a contrast that is not
          estimable, the reason why.

        Parameters
        ----------
        protein_ids : sequence of str, optional
            One ID per protein, in the order of the columns of ``y``. The
            default is ``protein1``, ``protein2``, ...

        Returns
        -------
        pandas.DataFrame
            Columns ``protein_id, contrast, estimate, se, df, t, p_value, padj,
            singular, note``.
        """
        ids = self._ids(protein_ids)
        columns = ["protein_id", "contrast", "estimate", "se", "df", "t", "p_value", "padj"]
        frames = [
            pd.DataFrame(
                {
                    "protein_id": ids,
                    "contrast": name,
                    "estimate": self.estimate[:, j],
                    "se": self.se[:, j],
                    "df": self.df[:, j],
                    "t": self.t[:, j],
                    "p_value": self.p_value[:, j],
                    "padj": bh_adjust(self.p_value[:, j]),
                    "singular": self._singular(),
                    "note": self._notes(self.estimable[:, j]),
                }
            )
            for j, name in enumerate(self.contrasts)
        ]
        if not frames:
            return pd.DataFrame(columns=[*columns, "singular", "note"])
        return pd.concat(frames, ignore_index=True)

    def joint_frame(self, protein_ids: Sequence[str] | pd.Index | None = None) -> pd.DataFrame:
        """Return a tidy long table of the joint F tests, one row per test and protein.

        Parameters
        ----------
        protein_ids : sequence of str, optional
            One ID per protein.

        Returns
        -------
        pandas.DataFrame
            Columns ``protein_id, contrast, F, df1, df2, p_value, padj, note``.
        """
        ids = self._ids(protein_ids)
        frames = [
            pd.DataFrame(
                {
                    "protein_id": ids,
                    "contrast": name,
                    "F": self.f_value[:, j],
                    "df1": self.f_df1[:, j],
                    "df2": self.f_df2[:, j],
                    "p_value": self.f_p_value[:, j],
                    "padj": bh_adjust(self.f_p_value[:, j]),
                    "note": self._notes(self.joint_estimable[:, j]),
                }
            )
            for j, name in enumerate(self.joint)
        ]
        if not frames:
            return pd.DataFrame(
                columns=["protein_id", "contrast", "F", "df1", "df2", "p_value", "padj", "note"]
            )
        return pd.concat(frames, ignore_index=True)

    def fit_frame(self, protein_ids: Sequence[str] | pd.Index | None = None) -> pd.DataFrame:
        """Return one row per protein: variance components, REML criterion, flags, counts, note.

        Parameters
        ----------
        protein_ids : sequence of str, optional
            One ID per protein.

        Returns
        -------
        pandas.DataFrame
            Columns ``protein_id, sigma, subject_sd, reml_criterion, singular,
            converged, n_obs, n_subjects, note``.
        """
        return pd.DataFrame(
            {
                "protein_id": self._ids(protein_ids),
                "sigma": self.sigma,
                "subject_sd": self.subject_sd,
                "reml_criterion": self.reml_criterion,
                "singular": self._singular(),
                "converged": self.converged,
                "n_obs": self.n_obs,
                "n_subjects": self.n_subjects,
                "note": list(self.note),
            }
        )

    def _ids(self, protein_ids: Sequence[str] | pd.Index | None) -> np.ndarray:
        if protein_ids is None:
            return np.array([f"protein{i + 1}" for i in range(self.n_proteins)], dtype=object)
        ids = np.asarray(list(protein_ids), dtype=object)
        if len(ids) != self.n_proteins:
            raise ValueError(f"got {len(ids)} protein IDs for {self.n_proteins} proteins")
        return ids

    def _singular(self) -> pd.arrays.BooleanArray:
        return pd.arrays.BooleanArray(self.singular.copy(), ~self.fitted)

    def _notes(self, ok: np.ndarray) -> list[str]:
        return [
            _join(note, _NOT_ESTIMABLE if fitted and not good else "")
            for note, fitted, good in zip(self.note, self.fitted, ok, strict=True)
        ]


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def fit_mixed(
    y: np.ndarray,
    design: np.ndarray,
    subjects: np.ndarray | Sequence[object] | pd.Series,
    contrasts: np.ndarray,
    joint: Mapping[str, np.ndarray] | None = None,
    *,
    contrast_names: Sequence[str] = (),
    singular_tol: float = SINGULAR_TOL,
    theta: np.ndarray | None = None,
    chunk_size: int | None = None,
) -> MixedFit:
    """Fit ``y ~ design + (1 | subject)`` by REML to every protein, with Satterthwaite tests.

    For each protein this gives the results of R's
    ``lmerTest::lmer(y ~ arm * visit (+ covariates) + (1 | subject), REML = TRUE)``
    with ``contest(fit, L, ddf = "Satterthwaite")`` for each contrast row ``L``
    and ``contest(fit, L_joint, joint = TRUE)`` for each joint test. The work
    is vectorised across proteins.

    * **Data used.** Each protein uses only its observed (non-NaN) samples.
    * **When a protein is fitted.** It needs at least ``p + 2`` observations
      (``p`` = columns of ``design``) and at least two subjects with two or
      more observations. Otherwise its rows are NaN and
      :attr:`MixedFit.note` says why. Proteins are never dropped.
    * **Rank-deficient designs.** When a protein's observed design is rank
      deficient (for example an empty arm x visit cell), aliased columns are
      dropped as lme4 does: in column order, by R's ``qr`` tolerance 1e-7.
      A contrast is reported only if it lies in the row space of the observed
      design, and a joint test only if all of its rows do. The others are
      NaN, and the tidy tables say so.
    * **Singular fits.** Fits with ``theta = subject_sd / sigma < singular_tol``
      are flagged ``singular``, as lme4's ``isSingular`` does, and kept. At
      ``theta = 0`` the Satterthwaite df equal ``n_obs - rank``, as in
      lmerTest.
    * **Variance components not identifiable.** This happens when the fixed
      effects fit the within-subject variation exactly, so the REML
      criterion is flat in ``theta`` or smallest at ``sigma = 0``. The
      protein is then not fitted, and the note says why. lme4 stops at an
      arbitrary point there and warns of a degenerate or singular Hessian.
    * **Satterthwaite df.** ``df = 2 (L C L')^2 / (g' A g)``, where:

      - ``C = Cov(beta)``;
      - ``g`` is the gradient of ``L C L'`` in ``(theta, sigma)``;
      - ``A`` is twice the (pseudo-)inverse of the Hessian of the REML
        deviance in ``(theta, sigma)``. As in lmerTest, eigenvalues at most
        1e-8 are left out. Both derivatives are analytic here.
    * **F test.** It uses the eigen-decomposition of ``L C L'``, with one
      Satterthwaite df per eigen-contrast. These are combined as lmerTest does
      (Kuznetsova et al. 2017). The denominator df is 2 when any of them is at
      most 2.

    Parameters
    ----------
    y : numpy.ndarray
        Samples x proteins (log2 abundances); NaN is missing. A 1-D array is
        one protein.
    design : numpy.ndarray
        Samples x p fixed-effect matrix of full column rank, for example
        ``TrialDesign.matrix``.
    subjects : array-like
        Subject label of each sample.
    contrasts : numpy.ndarray
        k x p contrast rows over the columns of ``design``.
    joint : mapping of str to numpy.ndarray, optional
        Joint F tests: name -> q x p matrix of contrast rows.
    contrast_names : sequence of str
        Names of the k contrasts. The default is ``contrast1``,
        ``contrast2``, ...
    singular_tol : float
        ``theta`` below which a fit is flagged singular.
    theta : numpy.ndarray, optional
        For each protein, a fixed ``subject_sd / sigma`` to use instead of the
        REML optimum; NaN means that protein is optimised. Use it, for
        example, to evaluate the inference at another program's variance
        estimates.
    chunk_size : int, optional
        How many proteins are summarised at a time; this bounds memory. The
        default keeps the temporary arrays near 30 MB.

    Returns
    -------
    MixedFit
        Estimates, SEs, df, t and p-values for each protein and contrast;
        joint F tests; variance components and flags.
        :meth:`MixedFit.to_frame`, :meth:`MixedFit.joint_frame` and
        :meth:`MixedFit.fit_frame` turn them into tidy tables.

    Raises
    ------
    ValueError
        If the shapes disagree, ``design`` or ``contrasts`` are not finite,
        ``y`` has infinite values, ``design`` is not of full column rank, or a
        subject label is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from salivaprot.design import trial_design
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=3, n_proteins=40, subjects_per_arm=6).data
    >>> d = trial_design(data.samples)
    >>> joint = {name: d.contrasts.loc[rows].to_numpy() for name, rows in d.joint.items()}
    >>> fit = fit_mixed(np.log2(data.abundance.to_numpy()), d.matrix.to_numpy(),
    ...                 d.subjects.to_numpy(), d.contrasts.to_numpy(), joint,
    ...                 contrast_names=list(d.contrasts.index))
    >>> fit.estimate.shape == (data.n_proteins, len(d.contrasts))
    True
    >>> table = fit.to_frame(data.abundance.columns)
    >>> list(table.columns)
    ['protein_id', 'contrast', 'estimate', 'se', 'df', 't', 'p_value', 'padj', 'singular', 'note']
    >>> len(table) == data.n_proteins * len(d.contrasts)
    True
    >>> fit.joint_frame(data.abundance.columns)["contrast"].unique().tolist()
    ['aMSC_vs_placebo_change_any']
    """
    yv = np.asarray(y, dtype=float)
    if yv.ndim == 1:
        yv = yv[:, None]
    x = np.asarray(design, dtype=float)
    lmat = np.atleast_2d(np.asarray(contrasts, dtype=float))
    if yv.ndim != 2 or x.ndim != 2:
        raise ValueError("y must be samples x proteins and design samples x columns")
    n_samples, p = x.shape
    if yv.shape[0] != n_samples:
        raise ValueError(f"y has {yv.shape[0]} samples (rows) but design has {n_samples}")
    if lmat.ndim != 2 or lmat.shape[1] != p:
        raise ValueError(f"contrasts must be a k x {p} matrix; got shape {lmat.shape}")
    if not np.isfinite(x).all() or not np.isfinite(lmat).all():
        raise ValueError("design and contrasts must be finite")
    if np.isinf(yv).any():
        raise ValueError("y has infinite values; use NaN for missing values")
    if p == 0 or np.linalg.matrix_rank(x) < p:
        raise ValueError("design must have full column rank")
    joints = {str(k): np.atleast_2d(np.asarray(v, dtype=float)) for k, v in (joint or {}).items()}
    for name, m in joints.items():
        if m.ndim != 2 or m.shape[1] != p or m.shape[0] == 0 or not np.isfinite(m).all():
            raise ValueError(f"joint test '{name}' must be a finite q x {p} matrix (q >= 1)")
    names = tuple(contrast_names) or tuple(f"contrast{i + 1}" for i in range(lmat.shape[0]))
    if len(names) != lmat.shape[0]:
        raise ValueError(f"{len(names)} contrast names for {lmat.shape[0]} contrasts")
    codes, _ = pd.factorize(pd.Series(np.asarray(subjects, dtype=object)), sort=False)
    if len(codes) != n_samples:
        raise ValueError(f"{len(codes)} subject labels for {n_samples} samples")
    if (codes < 0).any():
        raise ValueError("every sample needs a subject label")
    n_prot = yv.shape[1]
    fixed = None if theta is None else np.asarray(theta, dtype=float).reshape(-1)
    if fixed is not None and len(fixed) != n_prot:
        raise ValueError(f"theta has {len(fixed)} values for {n_prot} proteins")

    observed = ~np.isnan(yv)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    per_subject = np.add.reduceat(observed[order].astype(np.int32), starts, axis=0)
    n_obs = observed.sum(axis=0)
    n_multi = (per_subject >= 2).sum(axis=0)
    notes = [""] * n_prot
    for i in np.flatnonzero(n_obs < p + 2):
        notes[i] = f"not fitted: {n_obs[i]} observations < {p} fixed effects + 2"
    for i in np.flatnonzero((n_obs >= p + 2) & (n_multi < 2)):
        notes[i] = f"not fitted: {n_multi[i]} subjects with 2+ observations (< 2)"
    todo = np.flatnonzero((n_obs >= p + 2) & (n_multi >= 2))

    out = _empty(n_prot, lmat.shape[0], len(joints))
    out["n_obs"] = n_obs.astype(np.int64)
    out["n_subjects"] = (per_subject > 0).sum(axis=0).astype(np.int64)
    if len(todo):
        ys = yv[np.ix_(order, todo)]
        xs = x[order]
        if chunk_size is None:
            chunk_size = max(1, int(4e6 // max(1, n_samples * (p + 1))))
        sizes = np.diff(np.r_[starts, n_samples])
        layout = np.full((len(starts), int(sizes.max())), n_samples)
        for col in range(layout.shape[1]):
            has = sizes > col
            layout[has, col] = starts[has] + col
        stats = _Stats.concat(
            [
                _summarise(ys[:, lo : lo + chunk_size], xs, layout, sorted_codes, starts)
                for lo in range(0, len(todo), chunk_size)
            ]
        )
        joint_rows = list(joints.values())
        keep, estimable, joint_ok, rank = _aliasing(stats, ys, xs, lmat, joint_rows)
        exact_within = _exact_within(stats, keep)
        stats.restrict(keep)
        nu = stats.n_obs - rank
        # degenerate proteins (noted, not fitted) may overflow on the way; keep numpy quiet
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            fit = _fit_theta(stats, nu, exact_within, None if fixed is None else fixed[todo])
            sel = np.flatnonzero(fit.identified)
            rows = todo[sel]
            results = (
                _inference(_take(stats, sel), fit.theta[sel], nu[sel], keep[sel], lmat, joint_rows)
                if len(sel)
                else {"hessian_bad": np.zeros(0, dtype=np.int64)}
            )
        for name, value in results.items():
            if name == "hessian_bad":
                continue
            if name in ("estimate", "se", "df", "t", "p_value"):
                value = np.where(estimable[sel], value, np.nan)
            elif name.startswith("f_"):
                value = np.where(joint_ok[sel], value, np.nan)
            out[name][rows] = value
        out["fitted"][rows] = True
        out["converged"][rows] = fit.converged[sel]
        out["singular"][rows] = fit.theta[sel] < singular_tol
        out["estimable"][todo] = estimable
        out["joint_estimable"][todo] = joint_ok
        out["rank"][todo] = rank
        failed = ~np.isfinite(results.get("reml_criterion", np.zeros(0)))
        for at in sel[failed]:
            fit.notes[at].append("numerical failure: the REML criterion is not finite")
        out["converged"][todo[sel[failed]]] = False
        for at, n_bad in zip(sel, results["hessian_bad"], strict=True):
            if n_bad:
                fit.notes[at].append(
                    f"REML Hessian in (theta, sigma) has {int(n_bad)} eigenvalue(s) <= "
                    f"{HESSIAN_TOL:g}: Satterthwaite df from its pseudo-inverse"
                )
        for pos, i in enumerate(todo):
            n_drop = p - rank[pos]
            dropped = (
                "fixed-effect model matrix is rank deficient so dropping "
                + ("1 column / coefficient" if n_drop == 1 else f"{n_drop} columns / coefficients")
                if n_drop
                else ""
            )
            notes[i] = _join(dropped, *fit.notes[pos])
    return MixedFit(contrasts=names, joint=tuple(joints), note=tuple(notes), **out)


# --------------------------------------------------------------------- internals
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


_EXACT = "not fitted: the observed values fit the fixed effects exactly (no residual variation)"
_FLAT = (
    "variance components not identifiable: the REML criterion does not depend on "
    "subject_sd / sigma (no within-subject residual degrees of freedom); no estimates reported"
)
_SIGMA_ZERO = (
    "variance components not identifiable: the REML optimum is at sigma = 0 (the fixed effects "
    "leave no within-subject residual variation); no estimates reported"
)


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
    # residual sums: within part and each subject-size class of the between part
    resid_w = (
        stats.w_yy
        - 2.0 * (beta * stats.w_xy).sum(axis=1)
        + np.einsum("gp,gpq,gq->g", beta, stats.w_xx, beta)
    )
    resid_b = (
        stats.b_yy
        - 2.0 * np.einsum("gp,gkp->gk", beta, stats.b_xy)
        + np.einsum("gp,gkpq,gq->gk", beta, stats.b_xx, beta)
    )
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


def _at_zero(stats: _Stats, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At theta = 0: the criterion's derivative in u = theta^2, and the residual sum of squares."""
    k = stats.k
    m = stats.w_xx + stats.b_xx.sum(axis=1)
    c = stats.w_xy + stats.b_xy.sum(axis=1)
    m_inv = _inverse(m)
    beta = np.einsum("gpq,gq->gp", m_inv, c)
    resid_w = (
        stats.w_yy
        - 2.0 * (beta * stats.w_xy).sum(axis=1)
        + np.einsum("gp,gpq,gq->g", beta, stats.w_xx, beta)
    )
    resid_b = (
        stats.b_yy
        - 2.0 * np.einsum("gp,gkp->gk", beta, stats.b_xy)
        + np.einsum("gp,gkpq,gq->gk", beta, stats.b_xx, beta)
    )
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
