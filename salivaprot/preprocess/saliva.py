"""Saliva specifics: one saliva type per analysis, and the secretion (output) scale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salivaprot.data import ProteinData, sheet_columns
from salivaprot.errors import DataError, DesignError
from salivaprot.preprocess.transforms import _last_step, _require_scale

__all__ = ["check_saliva", "output_scale"]


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
    protein x flow. Apply once, after :func:`normalize` (which refuses data on
    the output scale, as this function does: ``data.steps`` says so).

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
    DataError
        When the data are not log2, or on the output scale already.
    DesignError
        When a needed column is missing, not numeric, missing for a sample or not
        positive.

    Examples
    --------
    >>> import numpy as np
    >>> from salivaprot.preprocess import log2, normalize
    >>> from salivaprot.simulate import simulate_trial
    >>> data = normalize(log2(simulate_trial(seed=1, n_proteins=40, subjects_per_arm=2).data))
    >>> out = output_scale(data, total_protein=False)
    >>> shift = (out.abundance - data.abundance).mean(axis=1)
    >>> bool(np.allclose(shift, np.log2(data.samples["flow_ml_min"])))
    True
    """
    _require_scale(data, "log2", "output_scale()")
    scaled = _last_step(data, "output_scale")
    if scaled is not None:
        raise DataError(
            f"the data are on the output scale already ({scaled} is in data.steps): "
            "output_scale again would add the flow term twice; apply it once, after normalize"
        )
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
                f"{sheet_columns(data.samples)}"
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
