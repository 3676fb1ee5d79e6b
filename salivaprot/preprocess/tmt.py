"""TMT/iTRAQ: internal reference scaling (IRS) across plexes, and the pooled references.

In a multi-plex TMT study each plex is its own mass-spectrometry run, so a
protein's reporter intensities differ between plexes by a protein-specific
factor (which peptides were picked for fragmentation in that run). A pooled
reference sample, labelled in one channel of every plex, measures that factor:
IRS (Plubell et al. 2017, Mol Cell Proteomics 16:873) scales every channel of
a plex, protein by protein, so that the plex's reference channel equals the
average of the reference channels.

Its defining property, on the log2 scale: after scaling, for every protein
observed in every reference channel, the reference channels of all plexes hold
the same value (the mean of their log2 values before scaling, i.e. their
geometric mean), and differences between channels of one plex are unchanged.

The sample sheet names the references: a ``reference_channel`` column (yes/no)
marks the one pooled-reference sample of each plex, and ``plex`` gives every
sample's plex. The references are for scaling only: :func:`drop_reference_channels`
removes them before the model (``preprocess`` does it right after normalization).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from salivaprot._order import natural_key
from salivaprot.data import ProteinData
from salivaprot.errors import DataError

__all__ = ["REFERENCE_COLUMN", "drop_reference_channels", "irs_offsets"]

logger = logging.getLogger(__name__)

#: Sample-table column marking the pooled-reference channel of each plex.
REFERENCE_COLUMN = "reference_channel"


def irs_offsets(values: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """The log2 offset IRS subtracts from each plex, protein by protein.

    Parameters
    ----------
    values : pandas.DataFrame
        Samples x proteins, log2 scale.
    samples : pandas.DataFrame
        The sample table, with ``plex`` and ``reference_channel``.

    Returns
    -------
    pandas.DataFrame
        Plexes x proteins: the reference channel of the plex minus the mean
        of the reference channels over the plexes where the protein is
        observed; NaN where the plex's reference did not observe the protein
        (that protein cannot be scaled in that plex).

    Raises
    ------
    DataError
        Without ``plex`` / ``reference_channel`` columns, or a plex without
        exactly one reference sample.
    """
    absent = [c for c in ("plex", REFERENCE_COLUMN) if c not in samples.columns]
    if absent:
        raise DataError(
            f"normalize(method='irs') needs sample-sheet column(s) {', '.join(absent)}: the "
            "plex of every sample, and reference_channel = yes for the pooled-reference "
            "sample of each plex"
        )
    plex = samples["plex"]
    if plex.isna().any():
        raise DataError(
            "samples without a plex: " + ", ".join(map(str, samples.index[plex.isna()][:10]))
        )
    plex = plex.astype(str)
    is_reference = samples[REFERENCE_COLUMN].fillna(False).astype(bool)
    problems = []
    references: dict[str, str] = {}
    for level in sorted(set(plex), key=natural_key):
        found = samples.index[(plex == level) & is_reference]
        if len(found) != 1:
            problems.append(
                f"plex '{level}' has {len(found)} reference_channel samples"
                + (f" ({', '.join(map(str, found))})" if len(found) else "")
                + "; IRS needs exactly one pooled reference per plex"
            )
        else:
            references[level] = str(found[0])
    if problems:
        raise DataError(problems)
    reference = values.loc[list(references.values())].to_numpy(dtype=float)
    observed = ~np.isnan(reference)
    counts = observed.sum(axis=0)
    target = np.divide(
        np.where(observed, reference, 0.0).sum(axis=0),
        counts,
        out=np.full(reference.shape[1], np.nan),
        where=counts > 0,
    )
    return pd.DataFrame(reference - target, index=list(references), columns=values.columns)


def irs(values: pd.DataFrame, samples: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Scale each plex by its :func:`irs_offsets`; return the values and how many became missing."""
    offsets = irs_offsets(values, samples)
    per_sample = offsets.reindex(list(samples["plex"].astype(str))).to_numpy()
    scaled = values.to_numpy(dtype=float) - per_sample
    lost = int((~np.isnan(values.to_numpy(dtype=float)) & np.isnan(scaled)).sum())
    return pd.DataFrame(scaled, index=values.index, columns=values.columns), lost


def drop_reference_channels(data: ProteinData) -> ProteinData:
    """Remove the pooled-reference samples (``reference_channel`` yes) from the study.

    They carry no subject, arm or visit: they serve normalization only and
    never enter a model. Data without references is returned as it is.

    Parameters
    ----------
    data : ProteinData
        A study whose sample table may have a ``reference_channel`` column.

    Returns
    -------
    ProteinData
        Without the reference samples; ``steps`` records how many were removed.
    """
    if REFERENCE_COLUMN not in data.samples.columns:
        return data
    is_reference = data.samples[REFERENCE_COLUMN].fillna(False).astype(bool)
    if not is_reference.any():
        return data
    kept = data.subset(samples=~is_reference.to_numpy())
    removed = ", ".join(map(str, data.samples.index[is_reference.to_numpy()]))
    logger.info("pooled reference channels removed before the model: %s", removed)
    step = f"drop_reference_channels(n={int(is_reference.sum())})"
    return kept.with_abundance(kept.abundance, step=step)
