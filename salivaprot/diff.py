"""Differential abundance between arms across visits: the results table.

:func:`differential_abundance` takes a preprocessed (log2) :class:`ProteinData`
with a trial design, fits every protein with one of three methods and returns
a tidy table with the columns of :data:`RESULT_COLUMNS` (documented one by one
in :data:`RESULT_COLUMN_DOCS`): one row per protein x contrast, plus the joint
F test rows, Benjamini-Hochberg adjusted within each contrast. Proteins that
cannot be tested keep their rows, with empty statistics and a ``note``.

Methods:

* ``limma``: consensus within-subject correlation, block-correlation GLS per
  protein and empirical-Bayes moderated t and F (:mod:`salivaprot.stats.limma`);
* ``mixed``: per-protein REML random-intercept model with Satterthwaite df
  (:mod:`salivaprot.stats.mixed`);
* ``ancova``: per follow-up visit, ``y_V ~ arm + y_baseline`` with moderated
  variances (:mod:`salivaprot.stats.ancova`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from salivaprot.data import ProteinData
from salivaprot.design import (
    SALIVA_CONTRAST,
    AncovaPairs,
    TrialDesign,
    cell_means,
    trial_design,
)
from salivaprot.errors import DataError, DesignError
from salivaprot.stats._common import (
    bh_adjust,
    check_choice,
    check_correlation,
    check_finite,
    observed_means,
    subject_totals,
)
from salivaprot.stats.ancova import fit_ancova
from salivaprot.stats.dupcor import DupcorMethod
from salivaprot.stats.limma import fit_limma
from salivaprot.stats.mixed import fit_mixed

__all__ = [
    "RESULT_COLUMNS",
    "RESULT_COLUMN_DOCS",
    "DiffResult",
    "cell_mean_contrasts",
    "differential_abundance",
]

logger = logging.getLogger(__name__)

Method = Literal["limma", "mixed", "ancova"]

#: The results schema, column by column.
RESULT_COLUMN_DOCS: dict[str, str] = {
    "protein_id": "protein (group) identifier, as in the input",
    "gene": "gene name from the input's annotation (empty when unknown)",
    "contrast": "contrast name, e.g. aMSC_vs_placebo_change_month4 (*_change_any: joint F test)",
    "log2fc": "estimated contrast on the log2 scale (empty for F tests)",
    "se": "standard error of log2fc (moderated for limma and ancova)",
    "stat": "moderated t (limma, ancova), t (mixed), or F for *_change_any rows",
    "df": "degrees of freedom of stat (denominator df for F rows); NaN where no test",
    "pvalue": "two-sided p-value (upper tail for F)",
    "padj": "Benjamini-Hochberg adjusted p-value within the contrast",
    "avg_log2": "mean of the protein's observed log2 values used by the fit",
    "n_samples": "samples with an observed value used by the fit",
    "n_subjects": "subjects with at least one observed value used by the fit",
    "method": "limma, mixed or ancova",
    "converged": "whether the fit converged (false: not fitted or not converged)",
    "note": "why statistics are empty, or what to know about this row",
}
#: Column names of the results table, in order.
RESULT_COLUMNS: tuple[str, ...] = tuple(RESULT_COLUMN_DOCS)


@dataclass(frozen=True)
class DiffResult:
    """Results of :func:`differential_abundance`.

    Attributes
    ----------
    table : pandas.DataFrame
        The results, columns :data:`RESULT_COLUMNS`.
    model : dict
        Model-wide figures and choices (method, consensus correlation, prior df
        and variance, contrasts, proteins tested and not tested...).
    design : TrialDesign
        The design and contrasts used.
    """

    table: pd.DataFrame
    model: dict[str, Any] = field(default_factory=dict)
    design: TrialDesign | None = None


def cell_mean_contrasts(
    design: TrialDesign, contrasts: Mapping[str, Mapping[str, float]]
) -> pd.DataFrame:
    """Deprecated: give custom contrasts to :func:`salivaprot.design.trial_design`.

    Parameters
    ----------
    design : TrialDesign
        The trial design.
    contrasts : mapping of name to (mapping of "ARM:VISIT" to weight)
        The custom contrasts.

    Returns
    -------
    pandas.DataFrame
        One row per named contrast over the design's columns.
    """
    warnings.warn(
        "cell_mean_contrasts is deprecated and will be removed in 0.3; use "
        "trial_design(samples, contrasts=...) and read TrialDesign.contrasts",
        DeprecationWarning,
        stacklevel=2,
    )
    rebuilt = trial_design(
        design.samples,
        covariates=design.covariate_kinds,
        contrasts=contrasts,
        arms=design.arms,
        visits=design.visits,
    )
    return rebuilt.contrasts.loc[list(rebuilt.custom)]


def differential_abundance(
    data: ProteinData,
    *,
    method: Method = "limma",
    covariates: Sequence[str] | Mapping[str, str] | None = (),
    custom_contrasts: Mapping[str, Mapping[str, float]] | None = None,
    trend: bool = False,
    robust: bool = False,
    correlation: float | None = None,
    dupcor_method: DupcorMethod = "statmod",
    contrast_se: Literal["exact", "limma"] = "exact",
    use_imputed: bool = False,
    progress: Callable[[int, int], None] | None = None,
    legacy_ebayes: bool = False,
) -> DiffResult:
    """Test every protein for differences between arms across visits.

    Parameters
    ----------
    data : ProteinData
        Log2-scale abundances joined to a sample sheet (``subject_id``,
        ``arm``, ``visit``).
    method : {"limma", "mixed", "ancova"}
        Statistical method (see the module documentation).
    covariates : sequence of str or mapping
        Sample-sheet columns to adjust for: names (numbers are numeric, text
        categorical), ``"NAME:KIND"`` strings or ``{name: kind}`` with kind
        ``numeric`` or ``categorical`` (see :func:`salivaprot.design.trial_design`).
    custom_contrasts : mapping, optional
        More contrasts of cell means, ``{name: {"ARM:VISIT": weight}}``
        (limma and mixed); any weights, a single cell mean included.
    trend, robust : bool
        Empirical-Bayes options of limma's ``eBayes`` (limma and ancova).
    correlation : float, optional
        Fix the within-subject correlation (limma) instead of estimating it;
        refused outside :meth:`TrialDesign.correlation_bounds`.
    dupcor_method : {"statmod", "reml"}
        How limma's per-protein correlations are fitted (refused with a
        fixed ``correlation``, which leaves nothing to fit).
    contrast_se : {"exact", "limma"}
        limma method: exact per-protein contrast standard errors (default), or
        the approximation of limma's ``contrasts.fit`` on the cell-means design,
        to reproduce a standard R limma script (see :func:`salivaprot.stats.fit_limma`).
    use_imputed : bool
        Let models use imputed values; by default imputed cells count as
        missing, since every method handles missing values itself. Refused
        for data without imputed values (``data.imputed`` is None).
    progress : callable, optional
        Called as ``progress(done, total)`` during long per-protein work.
    legacy_ebayes : bool
        limma and ancova: estimate the eBayes prior as limma 3.54-3.60 did. By
        default it is estimated as current limma (>= 3.61) does, which differs
        when proteins have different residual df (any missing value).

    Returns
    -------
    DiffResult

    Raises
    ------
    DataError
        When the data are not on the log2 scale, or hold infinite values or
        values too large to square.
    DesignError
        When the design cannot estimate the contrasts, or an option would have
        no effect with the method or the other options.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> from salivaprot.preprocess import preprocess
    >>> data = preprocess(simulate_trial(seed=4, n_proteins=120, subjects_per_arm=6).data)
    >>> result = differential_abundance(data)
    >>> list(result.table.columns) == list(RESULT_COLUMNS)
    True
    >>> result.table["contrast"].unique()[:2].tolist()
    ['aMSC_vs_placebo_change_month1', 'aMSC_vs_placebo_change_month4']
    """
    if not isinstance(data, ProteinData):
        raise DataError(f"data must be a ProteinData, not {type(data).__name__}")
    check_choice("method", method, ("limma", "mixed", "ancova"))
    check_choice("dupcor_method", dupcor_method, ("statmod", "reml"))
    check_choice("contrast_se", contrast_se, ("exact", "limma"))
    flags = (("trend", trend), ("robust", robust), ("use_imputed", use_imputed))
    for flag, value in (*flags, ("legacy_ebayes", legacy_ebayes)):
        if not isinstance(value, bool | np.bool_):
            raise DesignError(f"{flag} must be True or False, not {value!r}")
    if progress is not None and not callable(progress):
        raise DesignError("progress must be a callable progress(done, total)")
    if data.scale != "log2":
        raise DataError(
            "differential abundance needs log2-scale abundances; preprocess the data first "
            "(or declare --input-scale log2)"
        )
    ab = data.abundance
    check_finite(ab.to_numpy(dtype=float), what="the log2 abundances", protein_ids=ab.columns,
                 sample_ids=ab.index)  # fmt: skip
    design = trial_design(data.samples, covariates=covariates, contrasts=custom_contrasts)
    if method != "limma":
        given = [
            name
            for name, used in (
                ("correlation", correlation is not None),
                ("contrast_se='limma'", contrast_se != "exact"),
                ("dupcor_method='reml'", dupcor_method != "statmod"),
            )
            if used
        ]
        if method == "mixed" and (trend or robust or legacy_ebayes):
            given.append("trend/robust/legacy_ebayes (eBayes options: limma and ancova)")
        if given:
            raise DesignError(f"{', '.join(given)} applies to method 'limma', not '{method}'")
    elif correlation is not None and dupcor_method != "statmod":
        raise DesignError(
            f"dupcor_method={dupcor_method!r} has no effect with correlation={correlation!r} "
            "(the within-subject correlation is given, not estimated): leave one of them out"
        )
    if use_imputed and data.imputed is None:
        raise DesignError(
            "use_imputed=True has no effect: the data hold no imputed value (impute them "
            "first, e.g. preprocess(..., impute_method='minprob'), or leave use_imputed out)"
        )
    if correlation is not None:
        correlation = check_correlation(correlation, design.subjects.to_numpy())
    if design.custom and method == "ancova":
        raise DesignError("custom contrasts need method limma or mixed, not ancova")
    values = data.abundance
    if data.imputed is not None and not use_imputed:
        values = values.mask(data.imputed)
    y = values.to_numpy(dtype=float)
    model: dict[str, Any] = {
        "method": method,
        "design": design.describe(),
        "covariates": dict(design.covariate_kinds),
        # (ancova fits each follow-up visit on its own: it has no joint test)
        "joint_tests": {} if method == "ancova" else {k: list(v) for k, v in design.joint.items()},
        "use_imputed": use_imputed,
        "n_proteins": int(y.shape[1]),
    }
    legacy = True if legacy_ebayes else None
    if method != "mixed":
        model["limma_version_reproduced"] = "3.54.1" if legacy_ebayes else "3.63.2"
    if method == "limma":
        table, extra = _limma_table(
            y, design, trend, robust, correlation, dupcor_method, contrast_se, progress, legacy
        )
    elif method == "mixed":
        table, extra = _mixed_table(y, design, progress)
    else:
        table, extra = _ancova_table(y, design, trend, robust, legacy)
    model.update(extra)
    table = _results_table(table, data.proteins, method)
    model["contrasts"] = list(pd.unique(table["contrast"]))
    tested = table["pvalue"].notna().groupby(table["protein_id"], sort=False).any()
    model["n_tested"] = int(tested.sum())
    model["n_not_tested"] = int((~tested).sum())
    untested_notes = table.loc[table["pvalue"].isna() & (table["note"] != ""), "note"]
    model["notes"] = {str(k): int(v) for k, v in untested_notes.value_counts().items()}
    if design.saliva:
        effect = table.loc[table["contrast"] == SALIVA_CONTRAST, "log2fc"]
        model["saliva"] = {
            "levels": list(design.saliva),
            "contrast": SALIVA_CONTRAST,
            "median_log2fc": float(effect.median()) if effect.notna().any() else None,
            "n_significant_padj_0.05": int(
                (table.loc[table["contrast"] == SALIVA_CONTRAST, "padj"] < 0.05).sum()
            ),
        }
    return DiffResult(table=table, model=model, design=design)


def _results_table(table: pd.DataFrame, proteins: pd.DataFrame, method: str) -> pd.DataFrame:
    """The one results builder: protein columns, method, BH within each contrast, schema order."""
    genes = (
        proteins["gene"] if "gene" in proteins.columns else pd.Series(np.nan, index=proteins.index)
    )
    repeats = len(table) // max(len(proteins), 1)
    table = table.copy()
    table.insert(0, "protein_id", np.tile(proteins.index.to_numpy(), repeats))
    table.insert(1, "gene", np.tile(genes.to_numpy(), repeats))
    table["method"] = method
    # degrees of freedom belong to a test: none where nothing was tested (not estimable,
    # not fitted), whatever the method computed for the protein
    table.loc[table["stat"].isna(), "df"] = np.nan
    codes, contrasts = pd.factorize(table["contrast"])
    pvalues = table["pvalue"].to_numpy(dtype=float)
    padj = np.full(len(table), np.nan)
    for code in range(len(contrasts)):
        rows = np.flatnonzero(codes == code)
        padj[rows] = bh_adjust(pvalues[rows])  # (NaN stays NaN, and is not counted)
    table["padj"] = padj
    table["note"] = table["note"].fillna("")
    return table[list(RESULT_COLUMNS)].reset_index(drop=True)


def _observed_counts(y: np.ndarray, subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    observed = ~np.isnan(y)
    _, index = np.unique(subjects, return_inverse=True)
    per_subject = subject_totals(index, observed.astype(float))
    return observed.sum(axis=0), (per_subject > 0).sum(axis=0)


def _contrast_blocks(
    names: Sequence[str],
    estimate: np.ndarray,
    se: np.ndarray,
    stat: np.ndarray,
    df: np.ndarray,
    pvalue: np.ndarray,
    extra: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """Stack proteins x contrasts arrays into contrast-major rows."""
    n_proteins, n_contrasts = estimate.shape
    frame = pd.DataFrame(
        {
            "contrast": np.repeat(np.asarray(names, dtype=object), n_proteins),
            "log2fc": estimate.T.ravel(),
            "se": se.T.ravel(),
            "stat": stat.T.ravel(),
            "df": df.T.ravel(),
            "pvalue": pvalue.T.ravel(),
        }
    )
    for column, values in extra.items():
        frame[column] = np.tile(values, n_contrasts)
    return frame


def _limma_table(
    y: np.ndarray,
    design: TrialDesign,
    trend: bool,
    robust: bool,
    correlation: float | None,
    dupcor_method: DupcorMethod,
    contrast_se: Literal["exact", "limma"],
    progress: Callable[[int, int], None] | None,
    legacy: bool | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    contrasts = design.contrasts
    names = list(contrasts.index)
    joint = {k: [names.index(c) for c in v] for k, v in design.joint.items()}
    matrix = design.matrix
    if contrast_se == "limma":  # as an R script would: cell means, then contrasts.fit
        matrix, contrasts = cell_means(design, contrasts)
    fit = fit_limma(
        y,
        matrix.to_numpy(),
        design.subjects.to_numpy(),
        contrasts.to_numpy(),
        contrast_names=names,
        joint=joint,
        correlation=correlation,
        trend=trend,
        robust=robust,
        dupcor_method=dupcor_method,
        contrast_se=contrast_se,
        legacy=legacy,
        progress=progress,
    )
    n_samples, n_subjects = _observed_counts(y, design.subjects.to_numpy())
    notes = _limma_notes(fit.fitted, fit.df_residual, fit.estimate)
    stopped = fit.fitted & ~fit.correlation_converged
    if stopped.any():  # its own correlation fit hit a cap; its statistics use the consensus
        notes[stopped] = np.array(
            [[_join_notes(note, _CORRELATION_STOPPED) for note in row] for row in notes[stopped]],
            dtype=object,
        )
    per_protein = {
        "avg_log2": fit.avg_log2,
        "n_samples": n_samples,
        "n_subjects": n_subjects,
        "converged": fit.fitted,
    }
    df = np.repeat(fit.df_total[:, None], len(names), axis=1)
    table = _contrast_blocks(names, fit.estimate, fit.se, fit.t, df, fit.p_value, per_protein)
    table["note"] = notes.T.ravel()
    blocks = [table]
    for name, test in fit.joint.items():
        q = len(joint[name])
        tested = ~np.isnan(test["F"])
        note = np.where(
            tested, f"F test of {q} contrasts (numerator df {q})", _joint_note(notes, joint[name])
        )
        blocks.append(_f_block(name, test["F"], test["df2"], test["p_value"], per_protein, note))
    finite_prior = fit.df_prior[np.isfinite(fit.df_prior)]
    extra: dict[str, Any] = {
        "consensus_correlation": fit.correlation,
        "correlation_given": correlation is not None,
        "dupcor_method": dupcor_method,
        "n_correlation_not_converged": int((~fit.correlation_converged[fit.fitted]).sum()),
        "contrast_se": contrast_se,
        "trend": trend,
        "robust": robust,
        "ebayes_estimator": fit.ebayes_estimator,
        "df_prior": _summary_value(fit.df_prior[fit.fitted]),
        "s2_prior": _summary_value(fit.s2_prior[fit.fitted]),
        "df_prior_infinite": bool(np.isinf(fit.df_prior[fit.fitted]).any()),
        "df_prior_finite_median": float(np.median(finite_prior)) if finite_prior.size else None,
    }
    return pd.concat(blocks, ignore_index=True), extra


_CORRELATION_STOPPED = (
    "this protein's own within-subject correlation fit stopped before converging "
    "(it still counts in the consensus, as in limma)"
)


def _join_notes(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _f_block(
    name: str,
    f: np.ndarray,
    df2: np.ndarray,
    pvalue: np.ndarray,
    per_protein: Mapping[str, np.ndarray],
    note: np.ndarray | list[str],
) -> pd.DataFrame:
    """Rows of one joint F test: no log2fc or se; stat = F, df = denominator df."""
    empty = np.full((len(f), 1), np.nan)
    block = _contrast_blocks(
        [name], empty, empty, f[:, None], df2[:, None], pvalue[:, None], per_protein
    )
    block["note"] = note
    return block


def _limma_notes(fitted: np.ndarray, df_residual: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    notes = np.full(estimate.shape, "", dtype=object)
    notes[~fitted] = "all values missing"
    no_df = fitted & (df_residual == 0)
    notes[no_df & np.isnan(estimate).all(axis=1)] = "too few observations"
    not_estimable = fitted[:, None] & np.isnan(estimate) & (notes == "")
    notes[not_estimable] = "not estimable: an arm x visit cell of this contrast has no observation"
    no_df_rows = no_df[:, None] & ~np.isnan(estimate)
    notes[no_df_rows] = "no residual df: variance from the prior only"
    return notes


def _joint_note(notes: np.ndarray, indices: list[int]) -> np.ndarray:
    parts = notes[:, indices]
    out = np.full(parts.shape[0], "", dtype=object)
    for i, row in enumerate(parts):
        reasons = [r for r in row if r]
        out[i] = reasons[0] if reasons else "not tested"
    return out


def _summary_value(values: np.ndarray) -> float | str | None:
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return None
    if np.allclose(finite, finite[0], rtol=0, atol=0):
        return float(finite[0]) if np.isfinite(finite[0]) else "inf"
    return "varies by protein"


def _mixed_table(
    y: np.ndarray,
    design: TrialDesign,
    progress: Callable[[int, int], None] | None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    contrasts = design.contrasts
    names = list(contrasts.index)
    joint = {name: contrasts.loc[members].to_numpy() for name, members in design.joint.items()}
    if progress is not None:
        progress(0, y.shape[1])
    fit = fit_mixed(
        y,
        design.matrix.to_numpy(),
        design.subjects.to_numpy(),
        contrasts.to_numpy(),
        joint,
        contrast_names=names,
    )
    if progress is not None:
        progress(y.shape[1], y.shape[1])
    per_protein = {
        "avg_log2": observed_means(y),
        "n_samples": fit.n_obs,
        "n_subjects": fit.n_subjects,
        "converged": fit.converged,
    }
    singular = np.where(fit.singular & fit.fitted, "singular fit: subject variance 0", "")
    table = _contrast_blocks(names, fit.estimate, fit.se, fit.t, fit.df, fit.p_value, per_protein)
    table["note"] = [
        _join_notes(note, flag)
        for j in range(len(names))
        for note, flag in zip(fit.row_notes(fit.estimable[:, j]), singular, strict=True)
    ]
    blocks = [table]
    for j, name in enumerate(fit.joint):
        tested = ~np.isnan(fit.f_value[:, j])
        described = np.where(
            tested, [f"F test, numerator df {df1:g}" for df1 in fit.f_df1[:, j]], ""
        )
        note = [
            _join_notes(*parts)
            for parts in zip(
                described, fit.row_notes(fit.joint_estimable[:, j]), singular, strict=True
            )
        ]
        blocks.append(
            _f_block(
                name, fit.f_value[:, j], fit.f_df2[:, j], fit.f_p_value[:, j], per_protein, note
            )
        )
    model = {
        "n_fitted": int(fit.fitted.sum()),
        "n_singular": int((fit.singular & fit.fitted).sum()),
        "n_not_converged": int((fit.fitted & ~fit.converged).sum()),
        "df_method": "Satterthwaite",
    }
    return pd.concat(blocks, ignore_index=True), model


def _ancova_table(
    y: np.ndarray,
    design: TrialDesign,
    trend: bool,
    robust: bool,
    legacy: bool | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    reference, treated_arms = design.arms[0], design.arms[1:]
    covariate_columns = [c for cs in design.covariate_columns.values() for c in cs]
    blocks = []
    priors: dict[str, Any] = {}
    paired = {visit: design.ancova_pairs(visit) for visit in design.visits[1:]}
    _check_ancova_pairs(design, paired)
    for visit, pairs in paired.items():
        arms = design.arm.to_numpy()[pairs.visit_rows]
        treated = np.column_stack([(arms == t).astype(float) for t in treated_arms])
        extra_covariates = (
            design.matrix.iloc[pairs.visit_rows][covariate_columns].to_numpy()
            if covariate_columns
            else None
        )
        if extra_covariates is not None and len(extra_covariates):
            flat = np.ptp(extra_covariates, axis=0) == 0  # (an aliased column: no protein fits)
            if flat.any():
                column = covariate_columns[int(np.flatnonzero(flat)[0])]
                name = next(n for n, cs in design.covariate_columns.items() if column in cs)
                raise DesignError(
                    f"covariate '{name}' ({column}) takes a single value among the subjects seen "
                    f"at {visit}: ANCOVA models each follow-up visit on its own, so it cannot "
                    "adjust for it there; leave it out for --method ancova, or use limma or mixed"
                )
        fit = fit_ancova(
            y[pairs.visit_rows],
            y[pairs.baseline_rows],
            treated,
            covariates=extra_covariates,
            trend=trend,
            robust=robust,
            legacy=legacy,
        )
        names = [f"{t}_vs_{reference}_change_{visit}" for t in treated_arms]
        block = _contrast_blocks(
            names,
            fit.estimate,
            fit.se,
            fit.t,
            np.repeat(fit.df_total[:, None], len(names), axis=1),
            fit.p_value,
            {
                "avg_log2": fit.avg_log2,
                "n_samples": 2 * fit.n_subjects,
                "n_subjects": fit.n_subjects,
                "converged": ~np.isnan(fit.estimate[:, 0]),
            },
        )
        block["note"] = np.tile(fit.note, len(names))
        priors[visit] = {
            "df_prior": _summary_value(fit.df_prior),
            "s2_prior": _summary_value(fit.s2_prior),
            "subjects_with_both_visits": len(pairs.visit_rows),
            "subjects_at_baseline_without_this_visit": len(pairs.without_visit),
            "subjects_at_this_visit_without_baseline": len(pairs.without_baseline),
            "subjects_left_out": sorted(pairs.without_visit + pairs.without_baseline),
            "ebayes_estimator": fit.ebayes_estimator,
        }
        blocks.append(block)
    return pd.concat(blocks, ignore_index=True), {
        "trend": trend,
        "robust": robust,
        "ebayes_estimator": "unequal-df"
        if any(v["ebayes_estimator"] == "unequal-df" for v in priors.values())
        else "legacy",
        "visits": priors,
    }


def _check_ancova_pairs(design: TrialDesign, paired: Mapping[str, AncovaPairs]) -> None:
    """Refuse ANCOVA when no subject has both a baseline and a follow-up sample.

    Each follow-up visit's model pairs the subjects' baseline samples with
    their samples at that visit; without a single pair there is nothing to fit
    (every protein would be reported untested). A visit without pairs, among
    visits with some, is fitted with every row noted, and logged.
    """
    if not any(len(pairs.visit_rows) for pairs in paired.values()):
        raise DesignError(
            f"ancova pairs each subject's baseline ('{design.baseline}') sample with its "
            f"sample at a follow-up visit ({', '.join(paired)}), but no subject has both: "
            "check the subject_id column (it must name the patient, the same at every visit), "
            "or use --method limma or mixed, which use subjects without a baseline too"
        )
    for visit, pairs in paired.items():
        if not len(pairs.visit_rows):
            logger.warning(
                "ancova: no subject has both a baseline and a '%s' sample; that visit's "
                "contrasts are not tested",
                visit,
            )
