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

from salivaprot.stats._common import bh_adjust, check_finite, observed_means
from salivaprot.stats._reml import (
    _NOT_ESTIMABLE,
    HESSIAN_TOL,
    SINGULAR_TOL,
    _aliasing,
    _empty,
    _exact_within,
    _fit_theta,
    _inference,
    _Stats,
    _summarise,
    _take,
)

__all__ = ["MixedFit", "fit_mixed"]


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
                    "note": self.row_notes(self.estimable[:, j]),
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
                    "note": self.row_notes(self.joint_estimable[:, j]),
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

    def row_notes(self, estimable: np.ndarray) -> list[str]:
        """Each protein's note, plus why a row is empty when its test is not estimable.

        Parameters
        ----------
        estimable : numpy.ndarray
            Per protein, whether the contrast or joint test is estimable
            (a column of :attr:`estimable` or :attr:`joint_estimable`).

        Returns
        -------
        list of str
        """
        return [
            _join(note, _NOT_ESTIMABLE if fitted and not good else "")
            for note, fitted, good in zip(self.note, self.fitted, estimable, strict=True)
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
        ``design`` is not of full column rank, or a subject label is missing.
    DataError
        If ``y`` has infinite values or values too large to square (NaN is
        missing and fine).

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
    check_finite(yv)
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
        if _shift_free(x, [lmat, *joints.values()]):
            # every result is the same for y + c (the design spans the constant, every
            # contrast ignores it); without each protein's mean, the sums of squares
            # below keep the digits of its spread (a spread of 1e-4 around 20 lost
            # about five of them, and the fit its convergence)
            ys = ys - observed_means(ys)
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


def _shift_free(x: np.ndarray, rows: Sequence[np.ndarray]) -> bool:
    """Whether adding a constant to y changes no result: ``x`` spans the constant (x e = 1)
    and every contrast row is blind to it (``L e = 0``)."""
    e = np.linalg.lstsq(x, np.ones(len(x)), rcond=None)[0]
    if not np.allclose(x @ e, 1.0, rtol=0.0, atol=1e-10):
        return False
    return all(
        np.abs(m @ e).max(initial=0.0) <= 1e-10 * max(1.0, float(np.abs(m).max(initial=0.0)))
        for m in rows
    )
