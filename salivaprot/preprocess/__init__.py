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
from typing import Literal

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
    if not filter:
        _refuse_unused_filter_rules(
            contaminants=contaminants,
            decoys=decoys,
            patterns=patterns,
            species=species,
            min_fraction=min_fraction,
            groups=groups,
        )
    data = check_input(data, input_scale=input_scale, check_scale=check_scale)
    if filter:
        step("filter_proteins", data)
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
        step("log2", data)
        data = log2(data)
    step("normalize", data)
    data = normalize(
        data,
        method=normalize_method,
        exclude_top=exclude_top,
        reference_proteins=reference_proteins,
    )
    step("drop_reference_channels", data)
    data = drop_reference_channels(data)
    step("impute", data)
    data = impute(data, method=impute_method, seed=seed)
    if scale == "output":
        step("output_scale", data)
        data = output_scale(data)
    return data


#: The protein filter's rules as :func:`preprocess` defaults them (``patterns``: none).
_FILTER_DEFAULTS: dict[str, object] = {
    "contaminants": True,
    "decoys": True,
    "species": HUMAN_TAXID,
    "min_fraction": 0.5,
    "groups": "any",
}


def _refuse_unused_filter_rules(**rules: object) -> None:
    """Refuse filter rules other than the defaults when ``filter=False`` skips the filter."""

    def at_default(name: str, value: object) -> bool:
        if name == "patterns":
            return value is None or (isinstance(value, Sequence) and len(value) == 0)
        return bool(value == _FILTER_DEFAULTS[name])

    changed = [f"{name}={value!r}" for name, value in rules.items() if not at_default(name, value)]
    if changed:
        raise DataError(
            f"{', '.join(changed)} {'has' if len(changed) == 1 else 'have'} no effect with "
            "filter=False (the protein filter is skipped): leave "
            f"{'it at its default' if len(changed) == 1 else 'them at their defaults'}, "
            "or filter"
        )


def _ignore(name: str, data: ProteinData) -> None:
    """The default ``on_step``: nothing."""
