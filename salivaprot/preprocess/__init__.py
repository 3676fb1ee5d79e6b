"""From imported abundances to the matrix that models and figures use.

Every step is a pure function ``ProteinData -> ProteinData`` that appends a
description of itself to ``steps``: :func:`filter_proteins`, :func:`log2`,
:func:`normalize`, :func:`impute`, :func:`output_scale`; :func:`preprocess`
chains them in the recommended order.

The steps live in submodules (``filters``, ``transforms``, ``imputation``,
``saliva``) and are all importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, TypedDict

import numpy as np

from salivaprot._validate import refuse_unused
from salivaprot.data import ProteinData
from salivaprot.errors import DataError
from salivaprot.preprocess.filters import Groups, filter_proteins, filter_reasons
from salivaprot.preprocess.imputation import ImputeMethod, impute
from salivaprot.preprocess.saliva import check_saliva, output_scale
from salivaprot.preprocess.tmt import REFERENCE_COLUMN, drop_reference_channels
from salivaprot.preprocess.transforms import (
    MEDIAN_BEFORE_COLUMN,
    NORMALIZATION_COLUMN,
    NormalizeMethod,
    _empty_samples,
    _log2_usable,
    _shown,
    check_input,
    log2,
    normalize,
)
from salivaprot.summary import HUMAN_TAXID

__all__ = [
    "MEDIAN_BEFORE_COLUMN",
    "NORMALIZATION_COLUMN",
    "REFERENCE_COLUMN",
    "check_input",
    "check_saliva",
    "drop_reference_channels",
    "filter_proteins",
    "filter_reasons",
    "impute",
    "log2",
    "normalize",
    "output_scale",
    "preprocess",
]


Scale = Literal["concentration", "output"]


class _Filters(TypedDict):
    """The options of :func:`filter_proteins` and :func:`filter_reasons`."""

    contaminants: bool
    decoys: bool
    patterns: Sequence[str]
    species: int | None
    min_fraction: float | None
    groups: Groups


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
    check_scale: bool = True,
    normalize_method: NormalizeMethod = "median",
    exclude_top: int = 0,
    reference_proteins: Sequence[str] | None = None,
    impute_method: ImputeMethod = "none",
    seed: int = 0,
    scale: Scale = "concentration",
    allow_mixed_saliva: bool = False,
    on_step: Callable[[str, ProteinData], None] | None = None,
) -> ProteinData:
    """Filter, log2-transform, normalize, impute and scale, in that order.

    Parameters
    ----------
    data : ProteinData
        Imported abundances (raw or log2 scale).
    filter : bool
        Apply :func:`filter_proteins` (with ``contaminants`` ... ``groups``).
    contaminants, decoys, patterns, species, min_fraction, groups
        For :func:`filter_proteins`; with ``filter=False`` they must keep
        their defaults (a filter rule that would not be applied is an error).
    input_scale : {"raw", "log2"}, optional
        Declare the scale of the input (default: ``data.scale``); log2 input is
        not transformed again.
    check_scale : bool
        Refuse values that do not look like their scale: log2 values above 50,
        or raw values whose 99th percentile is below 40 (see
        :func:`check_input`, which also refuses infinite log2 values).
    normalize_method, exclude_top, reference_proteins
        For :func:`normalize`. TMT pooled-reference samples (the sheet's
        ``reference_channel``) take part in normalization (``irs`` needs them)
        and are removed right after it (:func:`drop_reference_channels`):
        they never reach imputation or a model.
    impute_method, seed
        For :func:`impute`.
    scale : {"concentration", "output"}
        ``output`` applies :func:`output_scale` after normalization.
    allow_mixed_saliva : bool
        See :func:`check_saliva`.
    on_step : callable, optional
        Called as ``on_step(name, data)`` with the data each step that runs is
        given, before it runs (``"filter_proteins"``, ``"log2"``,
        ``"normalize"``, ``"drop_reference_channels"``, ``"impute"``,
        ``"output_scale"``): ``"normalize"``'s is the filtered log2 data of
        ``matrix_before_normalization.tsv``, without a second preprocessing.

    Returns
    -------
    ProteinData
        Log2 scale.

    Raises
    ------
    DataError
        Besides each step's own errors: a sample that the filters and log2
        leave without any value (every value it holds in removed proteins, or
        zero or negative on the raw scale), or that ``irs`` leaves empty,
        naming the samples and why. With any normalization and imputation.

    Examples
    --------
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=100, subjects_per_arm=4).data
    >>> ready = preprocess(data, scale="output")
    >>> ready.scale, [s.split("(")[0] for s in ready.steps[1:]]
    ('log2', ['filter_proteins', 'log2', 'normalize', 'impute', 'output_scale'])
    >>> given = {}
    >>> ready = preprocess(data, on_step=given.__setitem__)
    >>> list(given)
    ['filter_proteins', 'log2', 'normalize', 'drop_reference_channels', 'impute']
    >>> unnormalized = preprocess(data, normalize_method="none").abundance
    >>> bool(given["normalize"].abundance.equals(unnormalized))
    True
    """
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a function of (name, data), not {on_step!r}")
    step = on_step if on_step is not None else _ignore
    check_saliva(data, allow_mixed=allow_mixed_saliva)
    if scale not in ("concentration", "output"):
        raise DataError(f"scale must be 'concentration' or 'output', not {scale!r}")
    filters: _Filters = {
        "contaminants": contaminants,
        "decoys": decoys,
        "patterns": patterns,
        "species": species,
        "min_fraction": min_fraction,
        "groups": groups,
    }
    if not filter:
        refuse_unused(
            preprocess,
            filters,
            "with filter=False (the protein filter is skipped; filter to apply them)",
            DataError,
        )
    data = check_input(data, input_scale=input_scale, check_scale=check_scale)
    given = data
    if filter:
        step("filter_proteins", data)
        data = filter_proteins(data, **filters)
    if data.scale == "raw":
        step("log2", data)
        data = log2(data)
    _refuse_emptied_samples(data, given, filters if filter else None)
    step("normalize", data)
    data = normalize(
        data,
        method=normalize_method,
        exclude_top=exclude_top,
        reference_proteins=reference_proteins,
    )
    step("drop_reference_channels", data)
    data = drop_reference_channels(data)
    if normalize_method == "irs" and len(emptied := _empty_samples(data)):
        raise DataError(
            f"{len(emptied)} sample(s) have no value left after normalize(method='irs') "
            f"({_shown(emptied)}): the pooled reference channel of their plex observed none of "
            "the proteins they hold, and irs makes such values missing; check the reference "
            "channels (reference_channel in the sample sheet), or leave these samples out of "
            "the sheet and use --drop-unlisted (drop_unlisted=True in Python)"
        )
    step("impute", data)
    data = impute(data, method=impute_method, seed=seed)
    if scale == "output":
        step("output_scale", data)
        data = output_scale(data)
    return data


def _refuse_emptied_samples(
    data: ProteinData, given: ProteinData, filters: _Filters | None
) -> None:
    """Refuse samples that the filters and log2 left without any value, saying why.

    Parameters
    ----------
    data : ProteinData
        The filtered log2 data, about to be normalized.
    given : ProteinData
        The data the chain was given (its scale declared).
    filters : dict, optional
        The options of :func:`filter_reasons`, when the filters ran.

    Raises
    ------
    DataError
        Naming the samples, why they are empty (every value in proteins the
        filters removed, or zero or negative on the raw scale, which log2 makes
        missing) and what to do. Without this check, imputation would invent
        every value of such a sample (``knn`` as 0.0, ``min`` as each protein's
        minimum) and ``--normalize none`` would pass it to the model.
    """
    empty = _empty_samples(data)
    if not len(empty):
        return
    values = given.abundance.loc[empty]
    held = values.notna().to_numpy()
    lost = np.zeros_like(held)
    if given.scale == "raw":
        lost = held & ~_log2_usable(values.to_numpy(dtype=float))
    removed = ~values.columns.isin(data.abundance.columns)
    in_removed = (held & ~lost)[:, removed].any(axis=0)
    causes = []
    if in_removed.any() and filters is not None:
        reasons = filter_reasons(given, **filters)
        which = reasons[values.columns[removed][np.asarray(in_removed, dtype=bool)]].unique()
        causes.append(f"in proteins the filters removed ({', '.join(sorted(which))})")
    if lost.any():
        causes.append("zero, negative or infinite, which log2 makes missing")
    why = "every value they hold is " + " or ".join(causes) if causes else "they hold no value"
    relax = (
        "; if the removed proteins belong in the analysis, relax the filter that removed them"
        if in_removed.any()
        else ""
    )
    raise DataError(
        f"{len(empty)} sample(s) have no value left to analyse ({_shown(empty)}): {why}; "
        "a failed or blank run? Leave them out of the sample sheet and use --drop-unlisted "
        f"(drop_unlisted=True in Python){relax}"
    )


def _ignore(name: str, data: ProteinData) -> None:
    """The default ``on_step``: nothing."""
