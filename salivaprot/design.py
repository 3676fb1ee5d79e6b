"""Trial design: from the sample table to a design matrix and named contrasts.

The fixed-effect model is ``~ arm * visit (+ covariates)`` in treatment coding:
an intercept (reference arm at baseline), one column per treated arm, one per
follow-up visit, one per arm x follow-up interaction, then covariates
(numeric columns as they are; text columns as indicator columns against their
first level in sorted order, as R's ``model.matrix`` does).

Contrasts are named exactly as the results schema says, for each treated arm
T, the reference arm R, the baseline B and each follow-up V:

* ``T_vs_R_change_V`` (T_V - T_B) - (R_V - R_B), the arm x visit interaction;
* ``T_change_V`` and ``R_change_V``, the within-arm changes from baseline;
* ``T_vs_R_at_V`` for every visit including the baseline;
* ``T_vs_R_change_any``, the joint test of all ``T_vs_R_change_V``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salivaprot.errors import DesignError

__all__ = ["TrialDesign", "cell_means", "trial_design"]

INTERCEPT = "(Intercept)"


@dataclass(frozen=True)
class TrialDesign:
    """A design matrix with its named contrasts.

    Attributes
    ----------
    matrix : pandas.DataFrame
        Samples x fixed-effect columns (float).
    subjects : pandas.Series
        Subject of each sample (the blocking factor).
    contrasts : pandas.DataFrame
        Named contrasts (rows) over the columns of ``matrix``, in results order.
    joint : dict of str to list of str
        Joint (F) tests: name -> the contrasts tested together.
    arms, visits : list of str
        Reference arm and baseline first.
    covariates : tuple of str
        Covariate columns of the sample table used.
    """

    matrix: pd.DataFrame
    subjects: pd.Series
    contrasts: pd.DataFrame
    joint: dict[str, list[str]] = field(default_factory=dict)
    arms: list[str] = field(default_factory=list)
    visits: list[str] = field(default_factory=list)
    covariates: tuple[str, ...] = ()


def trial_design(samples: pd.DataFrame, *, covariates: Sequence[str] = ()) -> TrialDesign:
    """Build the ``~ arm * visit (+ covariates)`` design of a trial and its contrasts.

    Parameters
    ----------
    samples : pandas.DataFrame
        Sample table with ``subject_id``, ``arm`` (categorical, reference
        first) and ``visit`` (ordered categorical, baseline first), e.g.
        ``ProteinData.samples``.
    covariates : sequence of str
        More sample-table columns to adjust for.

    Returns
    -------
    TrialDesign

    Raises
    ------
    DesignError
        When the design cannot estimate the contrasts: fewer than two arms or
        visits, an arm without samples at some visit, a covariate that is
        absent, has missing values, or is confounded with the design.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=20, subjects_per_arm=3).data
    >>> design = trial_design(data.samples)
    >>> list(design.matrix.columns)
    ['(Intercept)', 'arm[aMSC]', 'visit[month1]', 'visit[month4]', 'arm[aMSC]:visit[month1]', 'arm[aMSC]:visit[month4]']
    >>> design.contrasts.loc["aMSC_change_month4"].to_dict()
    {'(Intercept)': 0.0, 'arm[aMSC]': 0.0, 'visit[month1]': 0.0, 'visit[month4]': 1.0, 'arm[aMSC]:visit[month1]': 0.0, 'arm[aMSC]:visit[month4]': 1.0}
    >>> design.joint
    {'aMSC_vs_placebo_change_any': ['aMSC_vs_placebo_change_month1', 'aMSC_vs_placebo_change_month4']}
    """  # noqa: E501
    problems = [
        f"the sample table has no '{c}' column (differential abundance needs a sample sheet)"
        for c in ("subject_id", "arm", "visit")
        if c not in samples.columns
    ]
    if problems:
        raise DesignError(problems)
    arms = _levels(samples["arm"])
    visits = _levels(samples["visit"])
    if len(arms) < 2:
        raise DesignError(
            f"only one arm ({', '.join(arms) or 'none'}) has samples; comparing arms needs two"
        )
    if len(visits) < 2:
        raise DesignError(
            f"only one visit ({', '.join(visits) or 'none'}) has samples; changes from "
            "baseline need a baseline and at least one follow-up visit"
        )
    arm = samples["arm"].astype(str).to_numpy()
    visit = samples["visit"].astype(str).to_numpy()
    for a in arms:
        for v in visits:
            if not ((arm == a) & (visit == v)).any():
                problems.append(
                    f"arm '{a}' has no sample at visit '{v}', so contrasts involving "
                    f"{a} at {v} cannot be estimated"
                )
    if problems:
        raise DesignError(problems)
    reference, treated = arms[0], arms[1:]
    baseline, follow_ups = visits[0], visits[1:]
    columns: dict[str, np.ndarray] = {INTERCEPT: np.ones(len(samples))}
    for t in treated:
        columns[f"arm[{t}]"] = (arm == t).astype(float)
    for v in follow_ups:
        columns[f"visit[{v}]"] = (visit == v).astype(float)
    for t in treated:
        for v in follow_ups:
            columns[f"arm[{t}]:visit[{v}]"] = ((arm == t) & (visit == v)).astype(float)
    used: list[str] = []
    for name in covariates:
        if name not in samples.columns:
            problems.append(
                f"covariate '{name}' is not a column of the sample sheet; columns: "
                f"{', '.join(map(str, samples.columns))}"
            )
            continue
        values = samples[name]
        missing = values.index[values.isna()]
        if len(missing):
            problems.append(
                f"covariate '{name}' is missing for sample(s) {', '.join(map(str, missing[:10]))}"
            )
            continue
        used.append(name)
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            columns[name] = values.to_numpy(dtype=float)
        else:
            levels = sorted(map(str, values.unique()))
            if len(levels) < 2:
                problems.append(
                    f"covariate '{name}' has a single value ({levels[0]}): nothing to adjust for"
                )
                continue
            for level in levels[1:]:
                columns[f"{name}[{level}]"] = (values.astype(str).to_numpy() == level).astype(float)
    if problems:
        raise DesignError(problems)
    matrix = pd.DataFrame(columns, index=samples.index)
    rank = np.linalg.matrix_rank(matrix.to_numpy())
    if rank < matrix.shape[1]:
        raise DesignError(
            f"the design ~ arm * visit{''.join(' + ' + c for c in used)} is not of full rank "
            f"({rank} of {matrix.shape[1]} columns): a covariate is constant or confounded "
            "with arm or visit"
        )

    rows: dict[str, pd.Series] = {}

    def unit(*names: str) -> pd.Series:
        vector = pd.Series(0.0, index=matrix.columns)
        for n in names:
            vector[n] = 1.0
        return vector

    joint: dict[str, list[str]] = {}
    for t in treated:
        names = []
        for v in follow_ups:
            name = f"{t}_vs_{reference}_change_{v}"
            rows[name] = unit(f"arm[{t}]:visit[{v}]")
            names.append(name)
        joint[f"{t}_vs_{reference}_change_any"] = names
    for t in treated:
        for v in follow_ups:
            rows[f"{t}_change_{v}"] = unit(f"visit[{v}]", f"arm[{t}]:visit[{v}]")
    for v in follow_ups:
        rows[f"{reference}_change_{v}"] = unit(f"visit[{v}]")
    for t in treated:
        rows[f"{t}_vs_{reference}_at_{baseline}"] = unit(f"arm[{t}]")
        for v in follow_ups:
            rows[f"{t}_vs_{reference}_at_{v}"] = unit(f"arm[{t}]", f"arm[{t}]:visit[{v}]")
    contrasts = pd.DataFrame(rows).T
    return TrialDesign(
        matrix=matrix,
        subjects=samples["subject_id"].astype(str),
        contrasts=contrasts,
        joint=joint,
        arms=arms,
        visits=visits,
        covariates=tuple(used),
    )


def cell_means(
    design: TrialDesign, contrasts: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same model parametrized by cell means, with the contrasts re-expressed.

    One indicator column per arm x visit cell (reference arm first, visits in
    order: ``cell[placebo.baseline]``, ...) plus the covariate columns, as R's
    ``model.matrix(~ 0 + cell + covariates)``. Both parametrizations span the
    same space, so fitted values and residuals are identical; limma's
    ``contrasts.fit`` approximation, however, depends on the parametrization,
    and R scripts usually fit cell means.

    Parameters
    ----------
    design : TrialDesign
        The treatment-coded design.
    contrasts : pandas.DataFrame, optional
        Contrasts over the design's columns (default: ``design.contrasts``).

    Returns
    -------
    matrix : pandas.DataFrame
        Samples x (cells + covariate columns).
    contrasts : pandas.DataFrame
        The design's contrasts over the cell-means columns.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> design = trial_design(simulate_trial(seed=1, n_proteins=20, subjects_per_arm=3).data.samples)
    >>> matrix, contrasts = cell_means(design)
    >>> row = contrasts.loc["aMSC_vs_placebo_change_month4"]
    >>> row[row != 0].round(12).to_dict()
    {'cell[placebo.baseline]': 1.0, 'cell[placebo.month4]': -1.0, 'cell[aMSC.baseline]': -1.0, 'cell[aMSC.month4]': 1.0}
    """  # noqa: E501
    x = design.matrix
    reference, baseline = design.arms[0], design.visits[0]
    arm_of = np.full(len(x), reference, dtype=object)
    for arm in design.arms[1:]:
        arm_of[x[f"arm[{arm}]"].to_numpy() == 1] = arm
    visit_of = np.full(len(x), baseline, dtype=object)
    for visit in design.visits[1:]:
        visit_of[x[f"visit[{visit}]"].to_numpy() == 1] = visit
    columns: dict[str, np.ndarray] = {
        f"cell[{arm}.{visit}]": ((arm_of == arm) & (visit_of == visit)).astype(float)
        for arm in design.arms
        for visit in design.visits
    }
    structural = {c for c in x.columns if c == "(Intercept)" or c.startswith(("arm[", "visit["))}
    for column in x.columns:
        if column not in structural:
            columns[column] = x[column].to_numpy()
    matrix = pd.DataFrame(columns, index=x.index)
    # X = M P, so X beta = M (P beta): a contrast L of beta is L P^-1 of the cell means
    transform = np.linalg.lstsq(matrix.to_numpy(), x.to_numpy(), rcond=None)[0]
    given = design.contrasts if contrasts is None else contrasts
    weights = given.to_numpy() @ np.linalg.inv(transform)
    weights[np.abs(weights) < 1e-10] = 0.0  # exact zeros: rounding noise must not pick up cells
    return matrix, pd.DataFrame(weights, index=given.index, columns=matrix.columns)


def _levels(values: pd.Series) -> list[str]:
    """Levels present in the data, in category order when categorical."""
    present = set(map(str, values.dropna().unique()))
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories if str(c) in present]
    return sorted(present)
