"""The trial design: the single source of truth for model structure.

:func:`trial_design` turns a sample table into a :class:`TrialDesign`, which
owns everything the methods need to know about the trial:

* the arm order (reference first) and visit order (baseline first), decided by
  the rules of :mod:`salivaprot._order` (never alphabetically);
* the subject of each sample (the repeated-measures unit);
* the covariates and their kind (``numeric`` or ``categorical``);
* the saliva type, a factor of the model when both types are present;
* the fixed-effect matrix ``~ arm * visit (+ saliva) (+ covariates)`` in
  treatment coding: an intercept (reference arm at baseline), one column per
  treated arm, one per follow-up visit, one per arm x follow-up interaction,
  then ``saliva[stimulated]``, then covariates (numeric columns centred at
  their mean; categorical ones as indicator columns against their first level);
* every contrast as a named weight vector over those columns (the standard
  estimands, custom contrasts of cell means), the joint tests, and the
  pairing of baseline and follow-up samples for ANCOVA.

Standard contrasts, for each treated arm T, the reference arm R, the baseline
B and each follow-up V:

* ``T_vs_R_change_V`` (T_V - T_B) - (R_V - R_B), the arm x visit interaction;
* ``T_change_V`` and ``R_change_V``, the within-arm changes from baseline;
* ``T_vs_R_at_V`` for every visit including the baseline;
* ``T_vs_R_change_any``, the joint test of all ``T_vs_R_change_V``;
* ``stimulated_vs_unstimulated_saliva`` when both saliva types are present.

A custom contrast is a weighted sum of cell means (``{"ARM:VISIT": weight}``).
A cell mean is the model's mean of that arm at that visit, averaged over saliva
types and categorical covariate levels with equal weights and taken at the mean
of each numeric covariate (as ``emmeans`` defines it), so a contrast whose
weights do not sum to zero (a single cell mean, say) is estimated correctly too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from salivaprot._order import natural_key, reference_arm_order, visit_order
from salivaprot.data import sheet_columns
from salivaprot.errors import DesignError

__all__ = [
    "AncovaPairs",
    "CovariateKind",
    "TrialDesign",
    "cell_means",
    "parse_covariates",
    "trial_design",
]

INTERCEPT = "(Intercept)"
SALIVA_COLUMN = "saliva[stimulated]"
SALIVA_CONTRAST = "stimulated_vs_unstimulated_saliva"

CovariateKind = Literal["numeric", "categorical"]
_KINDS = ("auto", "numeric", "categorical")
#: Column names that are part of the model (or of the sheet's bookkeeping), never covariates.
_STRUCTURAL = (
    "sample_id",
    "subject_id",
    "arm",
    "visit",
    "saliva",
    "run",
    "channel",
    "reference_channel",
)
#: Names that mean a grouping: numbers in them are codes, so their kind must be declared.
_CATEGORICAL_NAMES = re.compile(
    r"(?:batch|plate|site|cent(?:er|re)|sex|gender|instrument|operator|lot|lane|column|"
    r"run_?batch|ms_?batch|lc_?batch|day_?batch)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AncovaPairs:
    """Baseline and follow-up samples of the subjects seen at both visits.

    Attributes
    ----------
    visit : str
        The follow-up visit.
    baseline_rows, visit_rows : numpy.ndarray
        Row positions (in the design's sample order) of each pair.
    without_baseline : list of str
        Subjects seen at the follow-up but not at baseline (left out).
    without_visit : list of str
        Subjects seen at baseline but not at this follow-up (left out).
    """

    visit: str
    baseline_rows: np.ndarray
    visit_rows: np.ndarray
    without_baseline: list[str]
    without_visit: list[str]


@dataclass(frozen=True)
class TrialDesign:
    """The trial's model structure, shared by every method.

    Attributes
    ----------
    matrix : pandas.DataFrame
        Samples x fixed-effect columns (float).
    subjects : pandas.Series
        Subject of each sample (the blocking factor).
    contrasts : pandas.DataFrame
        Named contrasts (rows) over the columns of ``matrix``, in results
        order: the standard ones, the saliva contrast, then the custom ones.
    joint : dict of str to list of str
        Joint (F) tests: name -> the contrasts tested together.
    arms, visits : list of str
        Reference arm and baseline first.
    covariate_kinds : dict of str to str
        ``numeric`` or ``categorical`` for each covariate.
    covariate_columns : dict of str to list of str
        The matrix columns of each covariate.
    saliva : tuple of str
        Saliva types in the model (reference first); empty when the samples
        are all of one type (or the sheet says nothing).
    custom : dict
        Custom contrasts as given, name -> {"ARM:VISIT": weight}.
    arm, visit : pandas.Series
        Arm and visit of each sample (strings).
    samples : pandas.DataFrame
        The sample table the design was built from.
    notes : tuple of str
        How the design was completed without being asked (the plex factor of
        a TMT study).
    """

    matrix: pd.DataFrame
    subjects: pd.Series
    contrasts: pd.DataFrame
    joint: dict[str, list[str]] = field(default_factory=dict)
    arms: list[str] = field(default_factory=list)
    visits: list[str] = field(default_factory=list)
    covariate_kinds: dict[str, str] = field(default_factory=dict)
    covariate_columns: dict[str, list[str]] = field(default_factory=dict)
    saliva: tuple[str, ...] = ()
    custom: dict[str, dict[str, float]] = field(default_factory=dict)
    arm: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    visit: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    samples: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()

    @property
    def covariates(self) -> tuple[str, ...]:
        """Covariate columns of the sample table used, in the order given."""
        return tuple(self.covariate_kinds)

    @property
    def reference_arm(self) -> str:
        """The reference (control) arm."""
        return self.arms[0]

    @property
    def baseline(self) -> str:
        """The baseline visit."""
        return self.visits[0]

    def correlation_bounds(self) -> tuple[float, float]:
        """Within-subject correlations that keep every subject's covariance positive definite.

        A subject with m samples has the covariance ``(1 - rho) I + rho J``,
        whose eigenvalues are ``1 - rho`` and ``1 + (m - 1) rho``; both are
        positive for every subject when ``-1 / (m_max - 1) < rho < 1``.

        Returns
        -------
        tuple of float
            The open interval (lower, upper).

        Examples
        --------
        >>> from salivaprot.simulate import simulate_trial
        >>> design = trial_design(simulate_trial(seed=1, n_proteins=20, subjects_per_arm=3).data.samples)
        >>> design.correlation_bounds()
        (-0.5, 1.0)
        """  # noqa: E501
        largest = int(self.subjects.value_counts().max()) if len(self.subjects) else 1
        return (-1.0 / (largest - 1) if largest > 1 else -1.0, 1.0)

    def ancova_pairs(self, visit: str) -> AncovaPairs:
        """Pair each subject's baseline sample with its sample at ``visit``.

        Parameters
        ----------
        visit : str
            A follow-up visit.

        Returns
        -------
        AncovaPairs

        Raises
        ------
        DesignError
            For an unknown visit or the baseline, or when both saliva types
            are in the design (ANCOVA assumes one pair per subject).
        """
        if visit not in self.visits[1:]:
            raise DesignError(
                f"ANCOVA pairs the baseline with a follow-up visit; '{visit}' is not one of "
                f"{self.visits[1:]}"
            )
        if self.saliva:
            raise DesignError(
                "ancova needs one baseline and one follow-up sample per subject, but the "
                "samples hold both saliva types; analyse one type at a time (keep one in the "
                "sample sheet) or use --method limma or mixed, which model saliva as a factor"
            )
        subjects = self.subjects.to_numpy()
        visits = self.visit.to_numpy()
        base = {s: i for i, s in enumerate(subjects) if visits[i] == self.baseline}
        later = {s: i for i, s in enumerate(subjects) if visits[i] == visit}
        paired = [s for s in later if s in base]
        return AncovaPairs(
            visit=visit,
            baseline_rows=np.array([base[s] for s in paired], dtype=int),
            visit_rows=np.array([later[s] for s in paired], dtype=int),
            without_baseline=[s for s in later if s not in base],
            without_visit=[s for s in base if s not in later],
        )

    def describe(self) -> dict[str, Any]:
        """The design as plain data, for ``run.json``.

        Returns
        -------
        dict
        """
        return {
            "reference_arm": self.arms[0],
            "arms": list(self.arms),
            "baseline": self.visits[0],
            "visits": list(self.visits),
            "covariates": dict(self.covariate_kinds),
            "saliva": list(self.saliva),
            "columns": list(self.matrix.columns),
            "custom_contrasts": {k: dict(v) for k, v in self.custom.items()},
            "n_subjects": int(self.subjects.nunique()),
            "n_samples": len(self.subjects),
            "notes": list(self.notes),
        }


def parse_covariates(
    covariates: Sequence[str] | Mapping[str, str] | None,
) -> dict[str, str]:
    """Read covariates given as names, ``NAME:KIND`` strings or a ``{name: kind}`` mapping.

    Parameters
    ----------
    covariates : sequence of str or mapping of str to str
        ``["age", "batch:categorical"]`` or ``{"age": "numeric"}``; the kind
        is ``auto`` (the default), ``numeric`` or ``categorical``.

    Returns
    -------
    dict of str to str
        Name -> declared kind, in the given order.

    Raises
    ------
    DesignError
        For a plain string (a sequence is expected), an unknown kind or a repeated name.

    Examples
    --------
    >>> parse_covariates(["age", "batch:categorical"])
    {'age': 'auto', 'batch': 'categorical'}
    """
    if covariates is None:
        return {}
    if isinstance(covariates, str | bytes):
        raise DesignError(
            f"covariates must be a list of column names, not the string {covariates!r}; "
            f"write covariates=[{covariates!r}]"
        )
    items: list[tuple[str, str]]
    if isinstance(covariates, Mapping):
        items = [(str(k), str(v)) for k, v in covariates.items()]
    else:
        items = []
        for entry in covariates:
            if not isinstance(entry, str):
                raise DesignError(f"a covariate must be a column name, not {entry!r}")
            name, sep, kind = entry.rpartition(":")
            if not sep or kind.strip().lower() not in _KINDS:
                name, kind = entry, "auto"
            items.append((name.strip(), kind.strip().lower()))
    out: dict[str, str] = {}
    for name, kind in items:
        if kind not in _KINDS:
            raise DesignError(f"covariate '{name}': kind {kind!r} is not one of {list(_KINDS)}")
        if not name:
            raise DesignError("a covariate name is empty")
        if name in out:
            raise DesignError(f"covariate '{name}' is given more than once")
        out[name] = kind
    return out


def trial_design(
    samples: pd.DataFrame,
    *,
    covariates: Sequence[str] | Mapping[str, str] | None = (),
    contrasts: Mapping[str, Mapping[str, float]] | None = None,
    arms: Sequence[str] | None = None,
    visits: Sequence[str] | None = None,
    reference_arm: str | None = None,
) -> TrialDesign:
    """Build the ``~ arm * visit (+ saliva) (+ covariates)`` design of a trial and its contrasts.

    Parameters
    ----------
    samples : pandas.DataFrame
        Sample table with ``subject_id``, ``arm`` and ``visit`` (e.g.
        ``ProteinData.samples``, where arm and visit are categoricals in trial
        order). Plain text columns are ordered by the rules of
        :mod:`salivaprot._order`; when those cannot decide, give ``arms`` /
        ``reference_arm`` and ``visits``.
    covariates : sequence of str or mapping
        Sample-table columns to adjust for, as names (kind decided from the
        values: numbers are numeric, text is categorical; a grouping name such
        as ``batch`` holding numbers must be declared), ``NAME:KIND`` strings
        or a ``{name: kind}`` mapping with kind ``numeric`` or ``categorical``.
    contrasts : mapping, optional
        Custom contrasts of cell means, ``{name: {"ARM:VISIT": weight}}``.
        A ``plex`` column (TMT/iTRAQ) whose samples span more than one plex is
        added as a categorical covariate without being named (see
        :attr:`TrialDesign.notes`); naming it is allowed (its kind is then
        categorical), and a plex confounded with arm or visit is an error.
    arms : sequence of str, optional
        Every arm, the reference first (overrides the table's order).
    visits : sequence of str, optional
        Every visit, the baseline first (overrides the table's order).
    reference_arm : str, optional
        The reference arm (the others keep their order).

    Returns
    -------
    TrialDesign

    Raises
    ------
    DesignError
        When the design cannot estimate the contrasts or is ambiguous: fewer
        than two arms or visits, an arm without samples at some visit or with
        one subject, no subject seen at two visits (no repeated measures), an
        order that cannot be decided, a covariate that is
        absent, missing, of an undecidable kind or confounded with the design,
        a custom contrast that names unknown cells or has no non-zero finite
        weight.

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
    >>> single = trial_design(data.samples, contrasts={"aMSC_at_month4": {"aMSC:month4": 1}})
    >>> single.contrasts.loc["aMSC_at_month4"].to_dict()
    {'(Intercept)': 1.0, 'arm[aMSC]': 1.0, 'visit[month1]': 0.0, 'visit[month4]': 1.0, 'arm[aMSC]:visit[month1]': 0.0, 'arm[aMSC]:visit[month4]': 1.0}
    """  # noqa: E501
    if not isinstance(samples, pd.DataFrame):
        raise DesignError(f"samples must be a pandas DataFrame, not {type(samples).__name__}")
    problems = [
        f"the sample table has no '{c}' column (differential abundance needs a sample sheet)"
        for c in ("subject_id", "arm", "visit")
        if c not in samples.columns
    ]
    if problems:
        raise DesignError(problems)
    for name, value in (("arms", arms), ("visits", visits)):
        if isinstance(value, str):
            raise DesignError(f"{name} must be a list, not the string {value!r}")
    if "reference_channel" in samples.columns:
        pools = samples.index[samples["reference_channel"].fillna(False).astype(bool)]
        if len(pools):
            raise DesignError(
                f"sample(s) {', '.join(map(str, pools[:10]))} are TMT pooled references "
                "(reference_channel): they serve normalization only, never the model; remove "
                "them first (salivaprot.preprocess.drop_reference_channels; preprocess() does)"
            )
    empty = [c for c in ("subject_id", "arm", "visit") if samples[c].isna().any()]
    if empty:
        raise DesignError(
            f"samples without {' / '.join(empty)}: "
            + ", ".join(map(str, samples.index[samples[empty].isna().any(axis=1)][:10]))
        )
    arm = samples["arm"].astype(str)
    visit = samples["visit"].astype(str)
    arm_levels = _order_of(samples["arm"], arms, reference_arm, kind="arm")
    visit_levels = _order_of(samples["visit"], visits, None, kind="visit", table=samples)
    if len(arm_levels) < 2:
        raise DesignError(
            f"only one arm ({', '.join(arm_levels) or 'none'}) has samples; "
            "comparing arms needs two"
        )
    if len(visit_levels) < 2:
        raise DesignError(
            f"only one visit ({', '.join(visit_levels) or 'none'}) has samples; changes from "
            "baseline need a baseline and at least one follow-up visit"
        )
    subjects = samples["subject_id"].astype(str)
    problems.extend(_structure_problems(samples, arm, visit, subjects, arm_levels, visit_levels))
    saliva = _saliva_levels(samples)
    if problems:
        raise DesignError(problems)

    reference, treated = arm_levels[0], arm_levels[1:]
    baseline, follow_ups = visit_levels[0], visit_levels[1:]
    a, v = arm.to_numpy(), visit.to_numpy()
    columns: dict[str, np.ndarray] = {INTERCEPT: np.ones(len(samples))}
    for t in treated:
        columns[f"arm[{t}]"] = (a == t).astype(float)
    for w in follow_ups:
        columns[f"visit[{w}]"] = (v == w).astype(float)
    for t in treated:
        for w in follow_ups:
            columns[f"arm[{t}]:visit[{w}]"] = ((a == t) & (v == w)).astype(float)
    if saliva:
        columns[SALIVA_COLUMN] = (samples["saliva"].astype(str).to_numpy() == saliva[1]).astype(
            float
        )
    declared = parse_covariates(covariates)
    design_notes: list[str] = []
    if "plex" in samples.columns:
        plexes = sorted(set(samples["plex"].dropna().astype(str)), key=natural_key)
        if samples["plex"].isna().any():
            raise DesignError(
                "samples without a 'plex': "
                + ", ".join(map(str, samples.index[samples["plex"].isna()][:10]))
            )
        if "plex" in declared and declared["plex"] == "numeric":
            raise DesignError("'plex' names multiplexed runs: it is categorical, not numeric")
        if len(plexes) > 1:
            if "plex" not in declared:
                design_notes.append(
                    f"plex: the samples span {len(plexes)} TMT/iTRAQ plexes "
                    f"({', '.join(plexes)}), so 'plex' is a categorical covariate of the model "
                    "(added automatically)"
                )
            declared["plex"] = "categorical"
            problems.extend(_plex_confounding(samples["plex"].astype(str), arm, visit))
            if problems:
                raise DesignError(problems)
    kinds, covariate_columns, cell_average = _covariate_columns(samples, declared, columns)
    matrix = pd.DataFrame(columns, index=samples.index)
    rank = np.linalg.matrix_rank(matrix.to_numpy())
    if rank < matrix.shape[1]:
        terms = "".join(" + " + c for c in kinds)
        raise DesignError(
            f"the design ~ arm * visit{' + saliva' if saliva else ''}{terms} is not of full "
            f"rank ({rank} of {matrix.shape[1]} columns): a covariate is constant or "
            "confounded with arm or visit"
        )
    if saliva:
        cell_average[SALIVA_COLUMN] = 1.0 / len(saliva)

    def unit(*names: str) -> pd.Series:
        vector = pd.Series(0.0, index=matrix.columns)
        for n in names:
            vector[n] = 1.0
        return vector

    rows: dict[str, pd.Series] = {}
    joint: dict[str, list[str]] = {}
    for t in treated:
        names = []
        for w in follow_ups:
            name = f"{t}_vs_{reference}_change_{w}"
            rows[name] = unit(f"arm[{t}]:visit[{w}]")
            names.append(name)
        joint[f"{t}_vs_{reference}_change_any"] = names
    for t in treated:
        for w in follow_ups:
            rows[f"{t}_change_{w}"] = unit(f"visit[{w}]", f"arm[{t}]:visit[{w}]")
    for w in follow_ups:
        rows[f"{reference}_change_{w}"] = unit(f"visit[{w}]")
    for t in treated:
        rows[f"{t}_vs_{reference}_at_{baseline}"] = unit(f"arm[{t}]")
        for w in follow_ups:
            rows[f"{t}_vs_{reference}_at_{w}"] = unit(f"arm[{t}]", f"arm[{t}]:visit[{w}]")
    if saliva:
        rows[SALIVA_CONTRAST] = unit(SALIVA_COLUMN)
    standard = pd.DataFrame(rows).T
    taken = standard.index.append(pd.Index(list(joint)))  # (joint tests share the table)
    custom = _custom_contrasts(
        contrasts, taken, arm_levels, visit_levels, matrix.columns, cell_average
    )
    table = pd.concat([standard, custom[0]]) if custom[1] else standard
    return TrialDesign(
        matrix=matrix,
        subjects=subjects,
        contrasts=table,
        joint=joint,
        arms=arm_levels,
        visits=visit_levels,
        covariate_kinds=kinds,
        covariate_columns=covariate_columns,
        saliva=saliva,
        custom=custom[1],
        arm=arm,
        visit=visit,
        samples=samples.copy(),
        notes=tuple(design_notes),
    )


def _plex_confounding(plex: pd.Series, arm: pd.Series, visit: pd.Series) -> list[str]:
    """Problems when the plexes separate arms or visits (the plex effect would absorb them)."""
    problems = []
    for what, factor in (("arm", arm), ("visit", visit)):
        per_plex = factor.groupby(plex, sort=True).nunique()
        if (per_plex == 1).all() and factor.nunique() > 1:
            layout = "; ".join(f"{p}: {sorted(set(factor[plex == p]))[0]}" for p in per_plex.index)
            problems.append(
                f"plex is confounded with {what}: every plex holds a single {what} ({layout}), "
                f"so the plex effect cannot be told from the {what} effect; put every {what} "
                "in every plex (balance the plex layout) or analyse one plex"
            )
    return problems


def _order_of(
    values: pd.Series,
    given: Sequence[str] | None,
    reference_arm: str | None,
    *,
    kind: Literal["arm", "visit"],
    table: pd.DataFrame | None = None,
) -> list[str]:
    """The order of arms or visits: given, from the categorical, or by the shared rules."""
    present = list(dict.fromkeys(str(x) for x in values.dropna()))
    option = "arms" if kind == "arm" else "visits"
    if given is not None:
        order = [str(x) for x in given]
        missing = [x for x in present if x not in order]
        unknown = [x for x in order if x not in present]
        if missing or unknown or len(set(order)) != len(order):
            raise DesignError(
                f"{option}={order} must list every {kind} of the samples once; "
                f"{kind}s in the samples: {present}"
            )
        if kind == "arm" and reference_arm is not None and order[0] != reference_arm:
            raise DesignError(
                f"arms={order} puts '{order[0]}' first but reference_arm='{reference_arm}'"
            )
        return order
    if isinstance(values.dtype, pd.CategoricalDtype) and values.dtype.ordered:
        # (an unordered categorical's categories are pandas' alphabetical order, or an
        # order nobody declared: its values are ordered by the rules, like plain text)
        order = [str(c) for c in values.cat.categories if str(c) in present]
        if kind == "arm" and reference_arm is not None:
            if reference_arm not in order:
                raise DesignError(f"reference arm '{reference_arm}' is not an arm: {order}")
            order = [reference_arm, *[x for x in order if x != reference_arm]]
        return order
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if kind == "arm":
        found, _, problems = reference_arm_order(present, reference_arm)
    else:
        days = None if table is None or "visit_day" not in table.columns else table["visit_day"]
        found, _, problems = visit_order(values, days, None)
    if found is None:
        raise DesignError(
            [p.replace("--reference-arm", "reference_arm=").replace("--visits", "visits=[...]")
             for p in problems]
            + [
                f"(the '{kind}' column is plain text or an unordered categorical: give the "
                f"order with {option}=[...] or make it an ordered categorical, as "
                f"salivaprot.read_samples does)"
            ]
        )  # fmt: skip
    return found


def _structure_problems(
    samples: pd.DataFrame,
    arm: pd.Series,
    visit: pd.Series,
    subjects: pd.Series,
    arms: list[str],
    visits: list[str],
) -> list[str]:
    problems: list[str] = []
    a, v = arm.to_numpy(), visit.to_numpy()
    for x in arms:
        for w in visits:
            if not ((a == x) & (v == w)).any():
                problems.append(
                    f"arm '{x}' has no sample at visit '{w}', so contrasts involving "
                    f"{x} at {w} cannot be estimated"
                )
    per_subject = arm.groupby(subjects, sort=False).nunique()
    for subject in per_subject.index[per_subject > 1]:
        problems.append(
            f"subject '{subject}' appears in more than one arm: "
            f"{sorted(set(arm[subjects == subject]))}"
        )
    for x in arms:
        in_arm = sorted(set(subjects[a == x]), key=natural_key)
        if len(in_arm) < 2:
            problems.append(
                f"arm '{x}' has {len(in_arm)} subject ({', '.join(in_arm)}); comparing arms "
                "with repeated measures needs at least two subjects per arm"
            )
    seen_at = visit.groupby(subjects, sort=False).nunique()
    if len(seen_at) and int(seen_at.max()) < 2:
        as_samples = bool((subjects.to_numpy() == samples.index.astype(str).to_numpy()).all())
        problems.append(
            f"no subject has samples at two visits (each of the {len(seen_at)} subjects is seen "
            "at one visit only): the design is repeated measures per patient (changes from "
            "baseline within each subject), so no method can fit this study; check the "
            "subject_id column, which must name the patient, the same at every visit"
            + (" (here it repeats sample_id)" if as_samples else "")
        )
    keys = [subjects, visit]
    if "saliva" in samples.columns:
        keys.append(samples["saliva"].astype(str))
    repeated = pd.Series(samples.index, index=samples.index).groupby(keys, sort=False).size()
    for key in repeated.index[repeated > 1]:
        problems.append(
            f"subject '{key[0]}' has {repeated[key]} samples at visit '{key[1]}'"
            + (f" of {key[2]} saliva" if len(key) > 2 else "")
            + "; a repeated-measures design needs one (average technical replicates first, "
            "or tell saliva types apart with a 'saliva' column)"
        )
    return problems


def _saliva_levels(samples: pd.DataFrame) -> tuple[str, ...]:
    if "saliva" not in samples.columns:
        return ()
    present = set(samples["saliva"].dropna().astype(str))
    if len(present) < 2:
        return ()
    if samples["saliva"].isna().any():
        raise DesignError(
            "the samples mix saliva types but some have no 'saliva' value: "
            + ", ".join(map(str, samples.index[samples["saliva"].isna()][:10]))
        )
    known = [t for t in ("unstimulated", "stimulated") if t in present]
    if len(known) != len(present):
        raise DesignError(
            f"saliva types {sorted(present)}: expected 'unstimulated' and 'stimulated'"
        )
    return tuple(known)


def _covariate_columns(
    samples: pd.DataFrame, declared: Mapping[str, str], columns: dict[str, np.ndarray]
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, float]]:
    """Add covariate columns to ``columns``; return kinds, columns per covariate, cell averages."""
    problems: list[str] = []
    kinds: dict[str, str] = {}
    per_covariate: dict[str, list[str]] = {}
    average: dict[str, float] = {}
    for name, kind in declared.items():
        if name in _STRUCTURAL:
            what = (
                "enters the model by itself when the samples hold both types"
                if name == "saliva"
                else "is part of the design already (~ arm * visit, subjects as blocks)"
            )
            problems.append(f"'{name}' cannot be a covariate: it {what}")
            continue
        if name not in samples.columns:
            hint = f" (after ':' a kind must be one of {list(_KINDS)})" if ":" in name else ""
            problems.append(
                f"covariate '{name}' is not a column of the sample sheet{hint}; columns: "
                f"{sheet_columns(samples)}"
            )
            continue
        values = samples[name]
        missing = values.index[values.isna()]
        if len(missing):
            problems.append(
                f"covariate '{name}' is missing for sample(s) {', '.join(map(str, missing[:10]))}"
            )
            continue
        numbers = _as_numbers(values)
        if kind == "auto":
            looks = _number_like(values) if numbers is None else ""
            if looks:
                problems.append(
                    f"covariate '{name}' holds {looks}: a column of numbers is never taken as "
                    f"categories; fix the sheet, or declare its kind, --covariate "
                    f"{name}:categorical or --covariate {name}:numeric "
                    f"(Python: covariates={{'{name}': 'categorical'}})"
                )
                continue
            if numbers is None:
                kind = "categorical"
            elif _CATEGORICAL_NAMES.fullmatch(name):
                shown = ", ".join(f"{x:g}" for x in sorted(set(numbers))[:4])
                problems.append(
                    f"covariate '{name}' holds numbers ({shown}...) but its name says it groups "
                    f"samples: declare its kind, --covariate {name}:categorical or "
                    f"--covariate {name}:numeric (Python: covariates={{'{name}': 'categorical'}})"
                )
                continue
            else:
                kind = "numeric"
        if kind == "numeric":
            if numbers is None:
                bad = [str(x) for x in values if _as_numbers(pd.Series([x])) is None]
                problems.append(
                    f"covariate '{name}' is declared numeric but holds {bad[:3]}; "
                    f"declare it {name}:categorical or fix the sheet"
                )
                continue
            if not np.isfinite(numbers).all():
                problems.append(f"covariate '{name}' holds non-finite values")
                continue
            # centred (the cell means are at the mean covariate) and in units of its
            # standard deviation: the same model and contrasts in any unit (a TIC of 1e10,
            # a fraction of 1e-8), and every method's rank and estimability checks see
            # a column of ordinary size
            centred = numbers - numbers.mean()
            spread = float(np.sqrt(np.mean(centred**2)))
            if not spread > 0:
                problems.append(
                    f"covariate '{name}' has a single value ({numbers[0]:g}): nothing to adjust for"
                )
                continue
            columns[name] = centred / spread
            per_covariate[name] = [name]
        else:
            text = values.astype(str).str.strip()
            levels = sorted(set(text), key=natural_key)
            if len(levels) < 2:
                problems.append(
                    f"covariate '{name}' has a single value ({levels[0]}): nothing to adjust for"
                )
                continue
            per_covariate[name] = []
            for level in levels[1:]:
                column = f"{name}[{level}]"
                columns[column] = (text.to_numpy() == level).astype(float)
                per_covariate[name].append(column)
                average[column] = 1.0 / len(levels)
        kinds[name] = kind
    if problems:
        raise DesignError(problems)
    return kinds, per_covariate, average


_NUMBER_LIKE = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")


def _number_like(values: pd.Series) -> str:
    """What cells read as numbers (with a decimal comma too) say of a column; "" if none.

    Examples
    --------
    >>> _number_like(pd.Series(["45,5", "52,5"]))
    'numbers written with a decimal comma (45,5, 52,5)'
    >>> _number_like(pd.Series(["45", "unknown"]))
    "numbers (45) and other values ('unknown')"
    """
    text = values.astype(str).str.strip()
    number = text.str.match(_NUMBER_LIKE).to_numpy(bool)
    if not number.any():
        return ""
    shown = ", ".join(list(dict.fromkeys(text[number]))[:4])
    if number.all():
        return f"numbers written with a decimal comma ({shown})"
    others = ", ".join(repr(x) for x in list(dict.fromkeys(text[~number]))[:3])
    return f"numbers ({shown}) and other values ({others})"


def _as_numbers(values: pd.Series) -> np.ndarray | None:
    """The values as floats when every one is a number (not a boolean), else None."""
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float)
    if any(isinstance(x, bool | np.bool_) for x in values):
        return None
    parsed = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    if parsed.isna().any():
        return None
    return parsed.to_numpy(dtype=float)


def _custom_contrasts(
    contrasts: Mapping[str, Mapping[str, float]] | None,
    standard: pd.Index,
    arms: list[str],
    visits: list[str],
    columns: pd.Index,
    cell_average: Mapping[str, float],
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Custom contrasts of cell means as rows over the design columns."""
    if not contrasts:
        return pd.DataFrame(columns=columns, dtype=float), {}
    if not isinstance(contrasts, Mapping):
        raise DesignError(
            "custom contrasts must be a mapping {name: {'ARM:VISIT': weight}}, not "
            f"{type(contrasts).__name__}"
        )
    cells: dict[str, tuple[str, str]] = {}
    clashes: set[str] = set()
    for a in arms:
        for v in visits:
            label = f"{a}:{v}"
            if label in cells:
                clashes.add(label)
            cells[label] = (a, v)
    problems: list[str] = []
    rows: dict[str, pd.Series] = {}
    given: dict[str, dict[str, float]] = {}
    for name, weights in contrasts.items():
        name = str(name).strip()
        if not name:
            problems.append("a custom contrast has an empty name")
            continue
        if name in standard or name in rows:
            problems.append(f"custom contrast '{name}' has the name of another contrast")
            continue
        if not isinstance(weights, Mapping) or not weights:
            problems.append(
                f"custom contrast '{name}' must map cells 'ARM:VISIT' to weights, e.g. "
                f"{{'{arms[1]}:{visits[-1]}': 1, '{arms[1]}:{visits[0]}': -1}}"
            )
            continue
        vector = pd.Series(0.0, index=columns)
        kept: dict[str, float] = {}
        for cell, weight in weights.items():
            label = str(cell).strip()
            if label in clashes:
                problems.append(
                    f"custom contrast '{name}': cell '{label}' is ambiguous (arm and visit "
                    "names contain ':'); rename the arms or visits"
                )
                continue
            if label in kept:
                problems.append(
                    f"custom contrast '{name}' gives cell '{label}' more than once (names are "
                    "compared without surrounding spaces): give each cell one weight"
                )
                continue
            if label not in cells:
                problems.append(
                    f"custom contrast '{name}' names cell '{cell}', which is not in the design. "
                    f"Cells: {list(cells)}"
                )
                continue
            if isinstance(weight, bool) or not isinstance(weight, int | float | np.number):
                problems.append(
                    f"custom contrast '{name}': the weight of '{label}' is {weight!r}, not a number"
                )
                continue
            w = float(weight)
            if not math.isfinite(w):
                problems.append(
                    f"custom contrast '{name}': the weight of '{label}' is {w}, not a finite number"
                )
                continue
            a, v = cells[label]
            vector[INTERCEPT] += w
            if a != arms[0]:
                vector[f"arm[{a}]"] += w
            if v != visits[0]:
                vector[f"visit[{v}]"] += w
                if a != arms[0]:
                    vector[f"arm[{a}]:visit[{v}]"] += w
            for column, share in cell_average.items():
                vector[column] += w * share
            kept[label] = w
        if kept and not any(kept.values()):
            problems.append(f"custom contrast '{name}' has only zero weights: it tests nothing")
            continue
        rows[name] = vector
        given[name] = kept
    if problems:
        raise DesignError(problems)
    return pd.DataFrame(rows).T, given


def cell_means(
    design: TrialDesign, contrasts: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same model parametrized by cell means, with the contrasts re-expressed.

    One indicator column per arm x visit cell (reference arm first, visits in
    order: ``cell[placebo.baseline]``, ...) plus the other columns (saliva,
    covariates; numeric covariates uncentred), as R's
    ``model.matrix(~ 0 + cell + covariates)``. Both
    parametrizations span the same space, so fitted values and residuals are
    identical; limma's ``contrasts.fit`` approximation, however, depends on the
    parametrization, and R scripts usually fit cell means.

    Parameters
    ----------
    design : TrialDesign
        The treatment-coded design.
    contrasts : pandas.DataFrame, optional
        Contrasts over the design's columns (default: ``design.contrasts``).

    Returns
    -------
    matrix : pandas.DataFrame
        Samples x (cells + other columns).
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
    arm_of, visit_of = design.arm.to_numpy(), design.visit.to_numpy()
    columns: dict[str, np.ndarray] = {
        f"cell[{arm}.{visit}]": ((arm_of == arm) & (visit_of == visit)).astype(float)
        for arm in design.arms
        for visit in design.visits
    }
    structural = {c for c in x.columns if c == INTERCEPT or c.startswith(("arm[", "visit["))}
    for column in x.columns:
        if column in design.covariate_kinds:  # numeric: as given, as an R script would, but
            # in a power-of-two unit near its size (exact: the same fit in any unit)
            raw = np.asarray(_as_numbers(design.samples[column]), dtype=float)
            size = float(np.sqrt(np.mean(raw**2)))
            columns[column] = np.ldexp(raw, -math.frexp(size)[1]) if size > 0 else raw
        elif column not in structural:
            columns[column] = x[column].to_numpy()
    matrix = pd.DataFrame(columns, index=x.index)
    # X = M P, so X beta = M (P beta): a contrast L of beta is L P^-1 of the cell means
    transform = np.linalg.lstsq(matrix.to_numpy(), x.to_numpy(), rcond=None)[0]
    given = design.contrasts if contrasts is None else contrasts
    weights = given.to_numpy() @ np.linalg.inv(transform)
    weights[np.abs(weights) < 1e-10] = 0.0  # exact zeros: rounding noise must not pick up cells
    return matrix, pd.DataFrame(weights, index=given.index, columns=matrix.columns)
