"""From imported abundances to the matrix that models and figures use.

Every step is a pure function ``ProteinData -> ProteinData`` that appends a
description of itself to ``steps``: :func:`filter_proteins`, :func:`log2`,
:func:`normalize`, :func:`impute`, :func:`output_scale`; :func:`preprocess`
chains them in the recommended order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from salivaprot.data import ProteinData
from salivaprot.errors import DataError, DesignError
from salivaprot.summary import HUMAN_TAXID, protein_categories

__all__ = [
    "MEDIAN_BEFORE_COLUMN",
    "NORMALIZATION_COLUMN",
    "check_saliva",
    "filter_proteins",
    "filter_reasons",
    "impute",
    "log2",
    "normalize",
    "output_scale",
    "preprocess",
]

logger = logging.getLogger(__name__)

#: Sample-table column holding the log2 offset each sample was normalized by.
NORMALIZATION_COLUMN = "normalization_offset_log2"
#: Sample-table column holding each sample's median log2 abundance before normalization.
MEDIAN_BEFORE_COLUMN = "median_log2_before_normalization"

NormalizeMethod = Literal["median", "quantile", "total", "reference", "none"]
ImputeMethod = Literal["none", "minprob", "min", "knn"]
Scale = Literal["concentration", "output"]
Groups = Literal["any", "all"]


def _require_scale(data: ProteinData, scale: str, what: str) -> None:
    if data.scale != scale:
        hint = " (apply log2() first)" if scale == "log2" else ""
        raise DataError(f"{what} needs {scale}-scale abundances, got {data.scale!r}{hint}")


# --------------------------------------------------------------------------- filters
def filter_reasons(
    data: ProteinData,
    *,
    contaminants: bool = True,
    decoys: bool = True,
    patterns: Sequence[str] = (),
    species: int | None = HUMAN_TAXID,
    min_fraction: float | None = 0.5,
    groups: Groups = "any",
) -> pd.Series:
    """Why each protein would be removed by :func:`filter_proteins`.

    Rules, first match wins: ``decoy``, ``contaminant``, ``pattern`` (the
    protein ID matches one of ``patterns``, case-insensitive regular
    expressions), ``other_species`` (taxid known and not ``species``),
    ``min_fraction`` (observed in fewer than ``min_fraction`` of the samples of
    any / every arm x visit group; the whole study is one group without a
    design). Imputed cells do not count as observed.

    Parameters
    ----------
    data : ProteinData
        The study.
    contaminants, decoys : bool
        Remove proteins flagged as such.
    patterns : sequence of str
        More accession patterns to remove.
    species : int or None
        NCBI taxonomy ID to keep; ``None`` keeps every species.
    min_fraction : float or None
        Valid-values threshold in [0, 1]; ``None`` disables the rule.
    groups : {"any", "all"}
        The threshold must be met in at least one group, or in every group.

    Returns
    -------
    pandas.Series
        Indexed by protein; ``""`` for proteins kept.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=100, subjects_per_arm=4).data
    >>> filter_reasons(data).value_counts().to_dict()
    {'': 78, 'other_species': 15, 'contaminant': 3, 'min_fraction': 2, 'decoy': 2}
    """
    if min_fraction is not None and not 0.0 <= min_fraction <= 1.0:
        raise DataError(f"min_fraction must be between 0 and 1, not {min_fraction}")
    if groups not in ("any", "all"):
        raise DataError(f"groups must be 'any' or 'all', not {groups!r}")
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as err:
            raise DataError(f"invalid accession pattern {pattern!r}: {err}") from err
    category = protein_categories(data.proteins, species=species)
    reasons = pd.Series("", index=data.proteins.index, name="reason", dtype=object)
    if decoys:
        reasons[(category == "decoy") & (reasons == "")] = "decoy"
    if contaminants:
        flagged = data.proteins.get("is_contaminant", pd.Series(False, index=reasons.index))
        reasons[flagged.fillna(False).astype(bool) & (reasons == "")] = "contaminant"
    if compiled:
        matched = reasons.index.to_series().map(lambda pid: any(p.search(pid) for p in compiled))
        reasons[matched & (reasons == "")] = "pattern"
    if species is not None:
        reasons[(category == "other_species") & (reasons == "")] = "other_species"
    if min_fraction is not None:
        fractions = _group_fractions(data)
        best = fractions.max(axis=0) if groups == "any" else fractions.min(axis=0)
        reasons[(best < min_fraction - 1e-12) & (reasons == "")] = "min_fraction"
    return reasons


def _group_fractions(data: ProteinData) -> pd.DataFrame:
    observed = data.observed
    if not data.has_design:
        return observed.mean(axis=0).to_frame().T
    keys = [data.samples["arm"], data.samples["visit"]]
    return observed.groupby(keys, observed=True).mean()


def filter_proteins(
    data: ProteinData,
    *,
    contaminants: bool = True,
    decoys: bool = True,
    patterns: Sequence[str] = (),
    species: int | None = HUMAN_TAXID,
    min_fraction: float | None = 0.5,
    groups: Groups = "any",
) -> ProteinData:
    """Remove decoys, contaminants, other species and rarely observed proteins.

    See :func:`filter_reasons` for the rules; the step recorded in ``steps``
    says how many proteins each rule removed.

    Returns
    -------
    ProteinData

    Raises
    ------
    DataError
        When every protein would be removed.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=100, subjects_per_arm=4).data
    >>> kept = filter_proteins(data, min_fraction=0.5, groups="all")
    >>> kept.n_proteins
    59
    >>> kept.steps[-1]
    'filter_proteins(decoy=2, contaminant=3, other_species=15, min_fraction=21; kept 59 of 100)'
    """
    reasons = filter_reasons(
        data,
        contaminants=contaminants,
        decoys=decoys,
        patterns=patterns,
        species=species,
        min_fraction=min_fraction,
        groups=groups,
    )
    keep = (reasons == "").to_numpy()
    if not keep.any():
        raise DataError(
            f"every one of the {len(reasons)} proteins would be removed "
            f"({_count_reasons(reasons)}); relax the filters or use --no-filter"
        )
    counts = _count_reasons(reasons)
    step = f"filter_proteins({counts}; kept {int(keep.sum())} of {len(reasons)})"
    logger.info(step)
    kept = data.subset(proteins=keep)
    return replace(kept, steps=(*kept.steps, step))


def _count_reasons(reasons: pd.Series) -> str:
    order = ("decoy", "contaminant", "pattern", "other_species", "min_fraction")
    counts = reasons.value_counts()
    return ", ".join(f"{r}={int(counts[r])}" for r in order if r in counts) or "none removed"


# ---------------------------------------------------------------------- transforms
def log2(data: ProteinData) -> ProteinData:
    """Log2-transform raw abundances; zeros, negatives and infinities become missing.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = ProteinData(pd.DataFrame({"P1": [8.0, 0.0], "P2": [-1.0, 1.0]}, index=["a", "b"]),
    ...                   pd.DataFrame(index=["a", "b"]), pd.DataFrame(index=["P1", "P2"]))
    >>> log2(raw).abundance.to_numpy().tolist()
    [[3.0, nan], [nan, 0.0]]
    """
    _require_scale(data, "raw", "log2()")
    values = data.abundance.to_numpy()
    usable = np.isfinite(values) & (values > 0)
    out = np.full(values.shape, np.nan)
    out[usable] = np.log2(values[usable])
    dropped = int((~usable & ~np.isnan(values)).sum())
    step = "log2()" + (
        f" [{dropped} non-positive or infinite values set missing]" if dropped else ""
    )
    frame = pd.DataFrame(out, index=data.abundance.index, columns=data.abundance.columns)
    return data.with_abundance(frame, step=step, scale="log2")


def normalize(
    data: ProteinData,
    *,
    method: NormalizeMethod = "median",
    exclude_top: int = 0,
    reference_proteins: Sequence[str] | None = None,
) -> ProteinData:
    """Remove per-sample loading and dilution differences from log2 abundances.

    Methods:

    * ``median`` (default): subtract each sample's median, then add back the
      mean of the medians, so all sample medians become equal;
    * ``total``: the same with log2 of each sample's total intensity;
    * ``reference``: the same with the median of a named protein set
      (``reference_proteins``);
    * ``quantile``: give every sample the same distribution (missing values
      allowed: each sample's observed quantiles are interpolated);
    * ``none``: leave the values as they are (the step is still recorded).

    ``exclude_top`` leaves the N most abundant proteins (mean log2 over the
    samples where they are observed) out of the median or total, so that a few
    dominant salivary proteins such as alpha-amylase do not drive the factors.
    The per-sample log2 offset subtracted is stored in the sample table as
    :data:`NORMALIZATION_COLUMN` (for quantile: the change of each median),
    beside each sample's median before normalization (:data:`MEDIAN_BEFORE_COLUMN`).

    Parameters
    ----------
    data : ProteinData
        Log2-scale abundances.
    method : {"median", "quantile", "total", "reference", "none"}
        Normalization method (see above).
    exclude_top : int
        Dominant proteins to leave out of ``median`` and ``total``.
    reference_proteins : sequence of str, optional
        Protein IDs for ``reference``.

    Returns
    -------
    ProteinData

    Raises
    ------
    DataError
        Wrong scale, unknown method, a reference protein that is absent, or a
        sample without observed values in the basis of its factor.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = log2(simulate_trial(seed=1, n_proteins=60, subjects_per_arm=3).data)
    >>> normed = normalize(data, method="median")
    >>> float(normed.abundance.median(axis=1).std()) < 1e-12
    True
    >>> NORMALIZATION_COLUMN in normed.samples.columns
    True
    """
    _require_scale(data, "log2", "normalize()")
    if exclude_top < 0:
        raise DataError(f"exclude_top must be 0 or more, not {exclude_top}")
    y = data.abundance
    values = y.to_numpy(dtype=float)
    before = _row_medians(values)
    columns = np.ones(values.shape[1], dtype=bool)
    if exclude_top and method in ("median", "total"):
        if exclude_top >= y.shape[1]:
            raise DataError(
                f"exclude_top={exclude_top} leaves no protein to normalize on "
                f"({y.shape[1]} proteins)"
            )
        top = y.mean(axis=0).sort_values(ascending=False, kind="stable").index[:exclude_top]
        columns = ~y.columns.isin(top)
    if method == "median":
        factors = before if columns.all() else _row_medians(values[:, columns])
    elif method == "total":
        basis = values[:, columns]
        observed = ~np.isnan(basis)
        totals = np.where(observed, np.exp2(np.where(observed, basis, 0.0)), 0.0).sum(axis=1)
        factors = np.where(observed.any(axis=1), np.log2(np.where(totals > 0, totals, 1.0)), np.nan)
    elif method == "reference":
        if not reference_proteins:
            raise DataError("normalize(method='reference') needs reference_proteins")
        wanted = [str(p) for p in reference_proteins]
        absent = [p for p in wanted if p not in y.columns]
        if absent:
            raise DataError(
                f"reference protein(s) not in the data: {', '.join(absent[:10])}"
                + (f" (and {len(absent) - 10} more)" if len(absent) > 10 else "")
            )
        factors = _row_medians(y[wanted].to_numpy(dtype=float))
    elif method == "quantile":
        normalized = _quantile_normalize(y)
        offsets = before - _row_medians(normalized.to_numpy())
        return _with_offsets(data, normalized, before, offsets, "normalize(method='quantile')")
    elif method == "none":
        return _with_offsets(data, y, before, np.zeros(len(y)), "normalize(method='none')")
    else:
        raise DataError(
            f"unknown normalization {method!r}; choose median, quantile, total, reference or none"
        )
    empty = y.index[np.isnan(factors)]
    if len(empty):
        raise DataError(
            f"cannot normalize sample(s) {', '.join(map(str, empty[:10]))}: no observed value "
            f"in the proteins used for the '{method}' factor"
        )
    offsets = factors - factors.mean()
    detail = f", exclude_top={exclude_top}" if exclude_top else ""
    if method == "reference":
        detail = f", reference_proteins={len(reference_proteins or [])}"
    shifted = pd.DataFrame(values - offsets[:, np.newaxis], index=y.index, columns=y.columns)
    return _with_offsets(data, shifted, before, offsets, f"normalize(method={method!r}{detail})")


def _row_medians(values: np.ndarray) -> np.ndarray:
    """Median of each row over its observed values; NaN (no warning) for empty rows."""
    out = np.full(values.shape[0], np.nan)
    filled = ~np.isnan(values).all(axis=1)
    if filled.any():
        out[filled] = np.nanmedian(values[filled], axis=1)
    return out


def _with_offsets(
    data: ProteinData, values: pd.DataFrame, before: np.ndarray, offsets: np.ndarray, step: str
) -> ProteinData:
    samples = data.samples.copy()
    samples[MEDIAN_BEFORE_COLUMN] = before
    samples[NORMALIZATION_COLUMN] = offsets
    logger.info("%s: offsets from %.3f to %.3f", step, np.min(offsets), np.max(offsets))
    return replace(data, abundance=values, samples=samples, steps=(*data.steps, step))


def _quantile_normalize(y: pd.DataFrame) -> pd.DataFrame:
    """Quantile normalization of samples (rows), tolerating missing values."""
    values = y.to_numpy(dtype=float)
    n_samples, n_proteins = values.shape
    grid = np.linspace(0.0, 1.0, n_proteins)
    interpolated = np.empty((n_samples, n_proteins))
    counts = (~np.isnan(values)).sum(axis=1)
    if (counts == 0).any():
        empty = y.index[counts == 0]
        raise DataError(f"cannot quantile-normalize sample(s) without values: {list(empty[:10])}")
    for i in range(n_samples):
        observed = np.sort(values[i][~np.isnan(values[i])])
        positions = np.linspace(0.0, 1.0, observed.size) if observed.size > 1 else np.zeros(1)
        interpolated[i] = np.interp(grid, positions, observed)
    target = interpolated.mean(axis=0)
    out = np.full(values.shape, np.nan)
    from scipy.stats import rankdata

    for i in range(n_samples):
        present = ~np.isnan(values[i])
        n = int(present.sum())
        ranks = rankdata(values[i][present], method="average")
        where = (ranks - 1.0) / (n - 1.0) if n > 1 else np.full(n, 0.5)
        out[i, present] = np.interp(where, grid, target)
    return pd.DataFrame(out, index=y.index, columns=y.columns)


# ----------------------------------------------------------------------- imputation
def impute(
    data: ProteinData,
    *,
    method: ImputeMethod = "none",
    seed: int = 0,
    shift: float = 1.8,
    width: float = 0.3,
    neighbors: int = 5,
) -> ProteinData:
    """Fill missing log2 abundances, remembering which cells were filled.

    Methods:

    * ``none`` (default): nothing is filled; models use observed values;
    * ``minprob``: Perseus-style draws from a normal distribution per sample,
      shifted ``shift`` standard deviations below that sample's mean with
      ``width`` times its standard deviation (seeded);
    * ``min``: each protein's smallest observed value;
    * ``knn``: scikit-learn's ``KNNImputer`` with ``neighbors`` nearest
      proteins (install ``salivaprot[knn]``).

    The cells filled are recorded in :attr:`ProteinData.imputed`.

    Parameters
    ----------
    data : ProteinData
        Log2-scale abundances.
    method : {"none", "minprob", "min", "knn"}
        Imputation method (see above).
    seed : int
        Seed of ``minprob``'s draws.
    shift, width : float
        ``minprob`` down-shift and width, in standard deviations.
    neighbors : int
        ``knn`` neighbours.

    Returns
    -------
    ProteinData

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = log2(simulate_trial(seed=1, n_proteins=60, subjects_per_arm=3).data)
    >>> filled = impute(data, method="minprob", seed=1)
    >>> int(filled.abundance.isna().sum().sum()), bool(filled.imputed.to_numpy().any())
    (0, True)
    """
    _require_scale(data, "log2", "impute()")
    y = data.abundance
    values = y.to_numpy(dtype=float)
    missing = np.isnan(values)
    if method == "none":
        return replace(data, steps=(*data.steps, "impute(method='none')"))
    if method == "minprob":
        if shift < 0 or width <= 0:
            raise DataError(f"minprob needs shift >= 0 and width > 0, got {shift} and {width}")
        rng = np.random.default_rng(seed)
        filled = values.copy()
        for i in range(values.shape[0]):
            row = values[i]
            observed = row[~missing[i]]
            if observed.size < 2:
                raise DataError(
                    f"minprob cannot impute sample {y.index[i]}: fewer than 2 observed values"
                )
            centre = observed.mean() - shift * observed.std(ddof=1)
            spread = width * observed.std(ddof=1)
            filled[i, missing[i]] = rng.normal(centre, spread, int(missing[i].sum()))
        step = f"impute(method='minprob', shift={shift}, width={width}, seed={seed})"
    elif method == "min":
        with np.errstate(all="ignore"):
            minima = np.where(
                missing.all(axis=0), np.nan, np.nanmin(np.where(missing, np.inf, values), axis=0)
            )
        filled = np.where(missing, minima[np.newaxis, :], values)
        step = "impute(method='min')"
    elif method == "knn":
        try:
            from sklearn.impute import KNNImputer
        except ImportError as err:
            raise DataError(
                "impute(method='knn') needs scikit-learn: pip install 'salivaprot[knn]'"
            ) from err
        if neighbors < 1:
            raise DataError(f"neighbors must be at least 1, not {neighbors}")
        imputer = KNNImputer(n_neighbors=neighbors, keep_empty_features=True)
        filled = imputer.fit_transform(values.T).T
        step = f"impute(method='knn', neighbors={neighbors})"
    else:
        raise DataError(f"unknown imputation {method!r}; choose none, minprob, min or knn")
    newly = missing & ~np.isnan(filled)
    previous = np.zeros_like(newly) if data.imputed is None else data.imputed.to_numpy()
    mask = pd.DataFrame(previous | newly, index=y.index, columns=y.columns)
    step += f" [{int(newly.sum())} cells imputed]"
    logger.info(step)
    frame = pd.DataFrame(filled, index=y.index, columns=y.columns)
    return replace(data, abundance=frame, imputed=mask, steps=(*data.steps, step))


# --------------------------------------------------------------------------- saliva
def check_saliva(data: ProteinData, *, allow_mixed: bool = False) -> None:
    """Refuse to analyse unstimulated and stimulated saliva together unless asked.

    Raises
    ------
    DesignError
        When the ``saliva`` column holds both types and ``allow_mixed`` is false.
    """
    if allow_mixed or "saliva" not in data.samples.columns:
        return
    kinds = sorted(map(str, data.samples["saliva"].dropna().unique()))
    if len(kinds) > 1:
        counts = data.samples["saliva"].value_counts()
        listed = ", ".join(f"{k} ({int(counts[k])} samples)" for k in kinds)
        raise DesignError(
            f"the samples mix saliva types: {listed}. Unstimulated and stimulated saliva are "
            "different matrices: analyse them separately, or allow mixing explicitly"
        )


def output_scale(data: ProteinData, *, total_protein: bool | None = None) -> ProteinData:
    """Move normalized log2 concentrations to the secretion (output) scale.

    Adds log2(``flow_ml_min``) to every abundance of a sample, and, when
    ``total_protein`` is true (or None and the column exists),
    log2(``total_protein_mg_ml``): output ~ share of total intensity x total
    protein x flow. Apply after :func:`normalize`.

    Parameters
    ----------
    data : ProteinData
        Normalized, log2-scale abundances.
    total_protein : bool or None
        Use ``total_protein_mg_ml``: required (True), never (False), when present (None).

    Returns
    -------
    ProteinData

    Raises
    ------
    DesignError
        When a needed column is missing, not numeric, missing for a sample or not
        positive.

    Examples
    --------
    >>> import numpy as np
    >>> from salivaprot.simulate import simulate_trial
    >>> data = normalize(log2(simulate_trial(seed=1, n_proteins=40, subjects_per_arm=2).data))
    >>> out = output_scale(data, total_protein=False)
    >>> shift = (out.abundance - data.abundance).mean(axis=1)
    >>> bool(np.allclose(shift, np.log2(data.samples["flow_ml_min"])))
    True
    """
    _require_scale(data, "log2", "output_scale()")
    columns = ["flow_ml_min"]
    has_total = "total_protein_mg_ml" in data.samples.columns
    if total_protein or (total_protein is None and has_total):
        columns.append("total_protein_mg_ml")
    problems = []
    addend = pd.Series(0.0, index=data.samples.index)
    for column in columns:
        if column not in data.samples.columns:
            problems.append(
                f"--scale output needs a '{column}' column in the sample sheet; it has "
                f"{', '.join(map(str, data.samples.columns))}"
            )
            continue
        raw = data.samples[column]
        values = pd.to_numeric(raw, errors="coerce")
        text = raw.index[values.isna() & raw.notna()]
        if len(text):
            problems.append(
                f"'{column}' must be numeric; found {raw[text[0]]!r} for sample(s) "
                f"{', '.join(map(str, text[:10]))}"
            )
        absent = raw.index[raw.isna()]
        if len(absent):
            problems.append(
                f"'{column}' is missing for sample(s) {', '.join(map(str, absent[:10]))}"
            )
        bad = values.index[values.notna() & (values <= 0)]
        if len(bad):
            problems.append(
                f"'{column}' must be positive; found "
                + ", ".join(f"{s}={values[s]:g}" for s in bad[:10])
            )
        if not problems:
            addend = addend + np.log2(values)
    if problems:
        raise DesignError(problems)
    shifted = data.abundance.add(addend, axis=0)
    step = "output_scale(+ " + " + ".join(f"log2({c})" for c in columns) + ")"
    return data.with_abundance(shifted, step=step)


# ------------------------------------------------------------------------ the chain
def preprocess(
    data: ProteinData,
    *,
    filter: bool = True,
    contaminants: bool = True,
    decoys: bool = True,
    patterns: Sequence[str] = (),
    species: int | None = HUMAN_TAXID,
    min_fraction: float | None = 0.5,
    groups: Groups = "any",
    input_scale: Literal["raw", "log2"] | None = None,
    normalize_method: NormalizeMethod = "median",
    exclude_top: int = 0,
    reference_proteins: Sequence[str] | None = None,
    impute_method: ImputeMethod = "none",
    seed: int = 0,
    scale: Scale = "concentration",
    allow_mixed_saliva: bool = False,
) -> ProteinData:
    """Filter, log2-transform, normalize, impute and scale, in that order.

    Parameters
    ----------
    data : ProteinData
        Imported abundances (raw or log2 scale).
    filter : bool
        Apply :func:`filter_proteins` (with ``contaminants`` ... ``groups``).
    contaminants, decoys, patterns, species, min_fraction, groups
        For :func:`filter_proteins`.
    input_scale : {"raw", "log2"}, optional
        Declare the scale of the input (default: ``data.scale``); log2 input is
        not transformed again.
    normalize_method, exclude_top, reference_proteins
        For :func:`normalize`.
    impute_method, seed
        For :func:`impute`.
    scale : {"concentration", "output"}
        ``output`` applies :func:`output_scale` after normalization.
    allow_mixed_saliva : bool
        See :func:`check_saliva`.

    Returns
    -------
    ProteinData
        Log2 scale.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=100, subjects_per_arm=4).data
    >>> ready = preprocess(data, scale="output")
    >>> ready.scale, [s.split("(")[0] for s in ready.steps[1:]]
    ('log2', ['filter_proteins', 'log2', 'normalize', 'impute', 'output_scale'])
    """
    check_saliva(data, allow_mixed=allow_mixed_saliva)
    if scale not in ("concentration", "output"):
        raise DataError(f"scale must be 'concentration' or 'output', not {scale!r}")
    if input_scale is not None and input_scale != data.scale:
        data = replace(
            data, scale=input_scale, steps=(*data.steps, f"declared scale {input_scale!r}")
        )
    if filter:
        data = filter_proteins(
            data,
            contaminants=contaminants,
            decoys=decoys,
            patterns=patterns,
            species=species,
            min_fraction=min_fraction,
            groups=groups,
        )
    if data.scale == "raw":
        data = log2(data)
    data = normalize(
        data,
        method=normalize_method,
        exclude_top=exclude_top,
        reference_proteins=reference_proteins,
    )
    data = impute(data, method=impute_method, seed=seed)
    if scale == "output":
        data = output_scale(data)
    return data
