"""Imputation of missing log2 abundances, remembering which cells were filled."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from salivaprot._validate import check_seed, refuse_unused
from salivaprot.data import ProteinData
from salivaprot.errors import DataError
from salivaprot.preprocess.transforms import _refuse_empty_samples, _require_scale

__all__ = ["ImputeMethod", "impute"]

logger = logging.getLogger(__name__)

ImputeMethod = Literal["none", "minprob", "min", "knn"]


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

    The cells filled are recorded in :attr:`ProteinData.imputed`. A sample
    without any observed value is refused by every method but ``none``: there
    is nothing to impute it from. A protein without any observed value (kept
    with the filters off) stays missing with every method, for the same reason.

    The result does not depend on the order of the samples or the proteins
    (the sample sheet's rows, the data file's rows and columns): every method
    works on the matrix with samples sorted by sample ID and proteins by
    protein ID (an order for reproducibility only, not the design's) and puts
    the values back in place. ``minprob`` draws each sample's values from a
    stream of its own, derived from ``seed`` and the sample ID, in protein-ID
    order: a sample's imputed values depend on the seed and its own values
    only, not on the other samples of the study.

    Parameters
    ----------
    data : ProteinData
        Log2-scale abundances.
    method : {"none", "minprob", "min", "knn"}
        Imputation method (see above).
    seed : int
        Seed of ``minprob``'s draws (with each sample's ID, see above).
    shift, width : float
        ``minprob`` down-shift and width, in standard deviations.
    neighbors : int
        ``knn`` neighbours.

    An argument that the method does not use must keep its default (``seed``,
    ``shift`` and ``width`` serve ``minprob``, ``neighbors`` serves ``knn``):
    otherwise it is refused, as the command line refuses ``--seed`` without
    ``--impute minprob``.

    Returns
    -------
    ProteinData

    Raises
    ------
    DataError
        Wrong scale, an unknown method, an argument the method does not use,
        or a sample ``minprob`` cannot impute.

    Examples
    --------
    >>> from salivaprot.preprocess import log2
    >>> from salivaprot.simulate import simulate_trial
    >>> data = log2(simulate_trial(seed=1, n_proteins=60, subjects_per_arm=3).data)
    >>> filled = impute(data, method="minprob", seed=1)
    >>> print(filled.steps[-1].split("] ", 1)[1])
    [3 protein(s) without any value left missing]
    >>> int(filled.abundance.isna().sum().sum())  # the 3 proteins x 16 samples
    48
    """
    _require_scale(data, "log2", "impute()")
    seed = check_seed(seed, DataError)
    if method not in ("none", "minprob", "min", "knn"):
        raise DataError(f"unknown imputation {method!r}; choose none, minprob, min or knn")
    serves = {"seed": "minprob", "shift": "minprob", "width": "minprob", "neighbors": "knn"}
    given = {"seed": seed, "shift": shift, "width": width, "neighbors": neighbors}
    refuse_unused(
        impute,
        {name: value for name, value in given.items() if serves[name] != method},
        f"with method={method!r} (seed, shift and width serve 'minprob', neighbors 'knn')",
        DataError,
    )
    if method == "none":
        return replace(data, steps=(*data.steps, "impute(method='none')"))
    # a sample without any value has nothing to impute from: min would give it every
    # protein's minimum, knn zeros (scikit-learn keeps an empty feature as 0)
    _refuse_empty_samples(data, "impute", method)
    y = data.abundance
    # every method works in one canonical order (sorted IDs), whatever the input's
    rows = np.argsort(y.index.to_numpy(dtype=str), kind="stable")
    columns = np.argsort(y.columns.to_numpy(dtype=str), kind="stable")
    canonical = np.ix_(rows, columns)
    sample_ids = y.index[rows]
    values = y.to_numpy(dtype=float)[canonical]
    missing = np.isnan(values)
    # a protein no sample measured has nothing to impute from: it stays missing, and
    # minprob draws as if it were not there
    unmeasured = missing.all(axis=0)
    if method == "minprob":
        if shift < 0 or width <= 0:
            raise DataError(f"minprob needs shift >= 0 and width > 0, got {shift} and {width}")
        filled = values.copy()
        for i in range(values.shape[0]):
            row = values[i]
            observed = row[~missing[i]]
            if observed.size < 2:
                raise DataError(
                    f"minprob cannot impute sample {sample_ids[i]}: fewer than 2 observed values"
                )
            centre = observed.mean() - shift * observed.std(ddof=1)
            spread = width * observed.std(ddof=1)
            rng = _sample_stream(seed, str(sample_ids[i]))
            cells = missing[i] & ~unmeasured
            filled[i, cells] = rng.normal(centre, spread, int(cells.sum()))
        step = f"impute(method='minprob', shift={shift}, width={width}, seed={seed})"
    elif method == "min":
        with np.errstate(all="ignore"):
            minima = np.where(
                missing.all(axis=0), np.nan, np.nanmin(np.where(missing, np.inf, values), axis=0)
            )
        filled = np.where(missing, minima[np.newaxis, :], values)
        step = "impute(method='min')"
    else:  # "knn"
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
    filled[:, unmeasured] = np.nan  # (knn filled it from the other proteins)
    back = np.empty_like(filled)
    back[canonical] = filled  # the input's order again
    newly = np.isnan(y.to_numpy(dtype=float)) & ~np.isnan(back)
    previous = np.zeros_like(newly) if data.imputed is None else data.imputed.to_numpy()
    mask = pd.DataFrame(previous | newly, index=y.index, columns=y.columns)
    step += f" [{int(newly.sum())} cells imputed]"
    if unmeasured.any():
        step += f" [{int(unmeasured.sum())} protein(s) without any value left missing]"
    logger.info(step)
    frame = pd.DataFrame(back, index=y.index, columns=y.columns)
    return replace(data, abundance=frame, imputed=mask, steps=(*data.steps, step))


def _sample_stream(seed: int, sample_id: str) -> np.random.Generator:
    """The random stream of one sample's draws: a function of ``seed`` and its ID only.

    The ID enters through its SHA-256 (stable across runs and platforms, unlike
    Python's ``hash``); :class:`numpy.random.SeedSequence` mixes it with the seed.
    """
    digest = hashlib.sha256(sample_id.encode("utf-8")).digest()
    key = int.from_bytes(digest[:16], "big")
    return np.random.default_rng(np.random.SeedSequence([seed, key]))
