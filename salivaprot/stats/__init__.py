"""Statistical models for differential abundance."""

from salivaprot.stats.mixed import MixedFit, fit_mixed

__all__ = ["MixedFit", "fit_mixed"]
