"""duplicate_correlation decomposes Z'PZ whole (few subjects) or pooled by count: same answers.

The R references (tests/test_limma.py) run through both; here the two are
compared on larger, messier studies than the references: many subjects,
unequal visits, 25% missing values, a continuous covariate, rank-deficient
proteins (a whole cell missing).
"""

from __future__ import annotations

import numpy as np
import pytest

from salivaprot.stats import dupcor


def study(
    seed: int, n_subjects: int, n_visits: int, covariate: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    subjects = np.repeat(np.arange(n_subjects), n_visits)
    arm = (subjects % 2).astype(float)
    visit = np.tile(np.arange(n_visits), n_subjects)
    cells = arm * n_visits + visit
    design = (cells[:, None] == np.arange(2 * n_visits)).astype(float)  # cell means
    if covariate:
        age = rng.normal(50, 10, n_subjects)[subjects]
        design = np.column_stack([design, age])
    n_proteins = 300
    y = rng.normal(size=(n_subjects, n_proteins))[subjects] * rng.uniform(0.2, 2, n_proteins)
    y = y + rng.normal(size=(len(subjects), n_proteins)) + 20
    y[rng.random(y.shape) < 0.25] = np.nan
    y[cells == 1, :5] = np.nan  # a whole cell missing: the one-protein path
    y[subjects == 0, 5] = y[subjects == 0, 5][0]  # one subject constant
    return y, design, subjects


@pytest.mark.parametrize(
    ("n_subjects", "n_visits", "covariate"),
    [(20, 9, False), (24, 4, True), (60, 4, False), (40, 3, True)],
)
@pytest.mark.parametrize("method", ["statmod", "reml"])
def test_whole_and_pooled_spectra_agree(
    monkeypatch: pytest.MonkeyPatch, n_subjects: int, n_visits: int, covariate: bool, method: str
) -> None:
    y, design, subjects = study(n_subjects + n_visits, n_subjects, n_visits, covariate)
    results = {}
    for spectrum in ("whole", "pooled"):
        monkeypatch.setattr(dupcor, "_direct_spectrum", lambda *_, s=spectrum: s == "whole")
        results[spectrum] = dupcor.duplicate_correlation(y, design, subjects, method=method)  # type: ignore[arg-type]
    whole, pooled = results["whole"], results["pooled"]
    assert np.isnan(whole.atanh_correlations).sum() < len(whole.atanh_correlations) / 10
    assert (np.isnan(whole.atanh_correlations) == np.isnan(pooled.atanh_correlations)).all()
    # rounding-level differences in the eigenvalues; statmod's steps stop at the same
    # iteration (measured 1e-14), the exact REML optimum is only pinned down to the
    # precision its stopping rule allows (a score step below 1e-14: measured 5e-9)
    atol, rel = (1e-10, 1e-12) if method == "statmod" else (5e-8, 1e-9)
    np.testing.assert_allclose(
        whole.atanh_correlations, pooled.atanh_correlations, rtol=0, atol=atol
    )
    assert whole.consensus == pytest.approx(pooled.consensus, rel=rel)
    assert (whole.converged == pooled.converged).all()


def test_the_choice_follows_the_number_of_subjects() -> None:
    assert dupcor._direct_spectrum(20, 18)
    assert dupcor._direct_spectrum(32, 2)
    assert not dupcor._direct_spectrum(120, 8)
    assert dupcor._direct_spectrum(40, 24)  # 2 x coefficients
