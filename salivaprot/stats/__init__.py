"""Statistics: empirical-Bayes moderation, limma-style repeated-measures fits, mixed models.

Nothing here reads files, prints or plots; inputs are arrays and designs,
outputs are result objects that :mod:`salivaprot.diff` turns into tidy tables.
"""

from salivaprot.stats.dupcor import DuplicateCorrelation, duplicate_correlation
from salivaprot.stats.ebayes import SqueezedVariances, squeeze_var
from salivaprot.stats.limma import GlsFit, LimmaFit, fit_limma, gls_fit
from salivaprot.stats.mixed import MixedFit, fit_mixed

__all__ = [
    "DuplicateCorrelation",
    "GlsFit",
    "LimmaFit",
    "MixedFit",
    "SqueezedVariances",
    "duplicate_correlation",
    "fit_limma",
    "fit_mixed",
    "gls_fit",
    "squeeze_var",
]
