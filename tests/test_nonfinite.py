"""Issue 8: infinite or overflowing numbers never hang or crash the statistics.

Before the fix one ``np.inf`` (or a log2 value above ~1e154, whose square
overflows) made limma's correlation fit loop forever; these tests run under a
deadline that fails them instead of hanging CI.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from salivaprot import DataError
from salivaprot.design import trial_design
from salivaprot.diff import differential_abundance
from salivaprot.preprocess import preprocess
from salivaprot.simulate import simulate_trial
from salivaprot.stats import _common, dupcor
from salivaprot.stats.ancova import fit_ancova
from salivaprot.stats.dupcor import duplicate_correlation
from salivaprot.stats.limma import fit_limma
from salivaprot.stats.mixed import fit_mixed

from .conftest import deadline

SECONDS = 30


@pytest.fixture(scope="module")
def study():  # type: ignore[no-untyped-def]
    data = preprocess(simulate_trial(seed=4, n_proteins=60, subjects_per_arm=5).data)
    return data, trial_design(data.samples)


def poisoned(y: np.ndarray, value: float, row: int = 2, column: int = 3) -> np.ndarray:
    out = np.array(y, dtype=float, copy=True)
    out[row, column] = value
    return out


BAD_VALUES = [np.inf, -np.inf, 1e155]


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("method", ["statmod", "reml"])
def test_limma_refuses_non_finite_values_instead_of_hanging(study, value, method) -> None:  # type: ignore[no-untyped-def]
    data, design = study
    y = poisoned(data.abundance.to_numpy(), value)
    with deadline(SECONDS), pytest.raises(DataError) as err:
        fit_limma(
            y, design.matrix.to_numpy(), design.subjects.to_numpy(),
            design.contrasts.to_numpy(), dupcor_method=method,
        )  # fmt: skip
    assert "protein column 3 in sample row 2" in str(err.value)
    with deadline(SECONDS), pytest.raises(DataError, match="protein column 3 in sample row 2"):
        duplicate_correlation(
            y, design.matrix.to_numpy(), design.subjects.to_numpy(), method=method
        )


@pytest.mark.parametrize("value", BAD_VALUES)
def test_mixed_and_ancova_refuse_non_finite_values(study, value) -> None:  # type: ignore[no-untyped-def]
    data, design = study
    y = poisoned(data.abundance.to_numpy(), value)
    with deadline(SECONDS), pytest.raises(DataError, match="protein column 3 in sample row 2"):
        fit_mixed(y, design.matrix.to_numpy(), design.subjects.to_numpy(),
                  design.contrasts.to_numpy())  # fmt: skip
    treated = np.repeat([0.0, 1.0], 5)[:, None]
    base = np.zeros((10, 4))
    with deadline(SECONDS), pytest.raises(DataError, match=r"y_visit has 1 .*protein column 3"):
        fit_ancova(poisoned(base, value), base, treated)
    with deadline(SECONDS), pytest.raises(DataError, match="y_baseline has 1 "):
        fit_ancova(base, poisoned(base, value), treated)


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("method", ["limma", "mixed", "ancova"])
def test_differential_abundance_names_protein_and_sample(study, value, method) -> None:  # type: ignore[no-untyped-def]
    data, _ = study
    abundance = data.abundance.copy()
    abundance.iloc[2, 3] = value
    bad = replace(data, abundance=abundance)
    protein, sample = abundance.columns[3], abundance.index[2]
    with deadline(SECONDS), pytest.raises(DataError) as err:
        differential_abundance(bad, method=method)
    message = str(err.value)
    assert f"protein '{protein}' in sample '{sample}'" in message
    assert "use NaN for missing values" in message


def test_message_lists_at_most_ten_cells() -> None:
    y = np.full((4, 6), np.inf)
    with pytest.raises(DataError, match=r"24 non-finite .* and 14 more"):
        _common.check_finite(y)


def test_missing_values_are_not_refused(study) -> None:  # type: ignore[no-untyped-def]
    data, design = study
    y = poisoned(data.abundance.to_numpy(), np.nan)
    with deadline(SECONDS):
        fit = fit_limma(y, design.matrix.to_numpy(), design.subjects.to_numpy(),
                        design.contrasts.to_numpy())  # fmt: skip
    assert fit.correlation_converged.shape == (y.shape[1],)


# ------------------------------------------------------ iteration caps, below the checks
@pytest.mark.parametrize("method", ["statmod", "reml"])
@pytest.mark.parametrize("value", [np.inf, 1e155, -1e200])
def test_correlation_fit_ends_even_without_the_input_check(
    study, monkeypatch: pytest.MonkeyPatch, method: str, value: float
) -> None:  # type: ignore[no-untyped-def]
    data, design = study
    monkeypatch.setattr(dupcor, "check_finite", lambda *_a, **_k: None)
    y = poisoned(data.abundance.to_numpy(), value)
    with deadline(SECONDS), np.errstate(all="ignore"):
        result = duplicate_correlation(
            y, design.matrix.to_numpy(), design.subjects.to_numpy(), method=method
        )
    assert np.isnan(result.atanh_correlations[3])  # left out of the consensus
    assert np.isfinite(result.consensus)
    assert result.converged.shape == (y.shape[1],)


def test_gamma_glm_reports_non_convergence_per_protein() -> None:
    rng = np.random.default_rng(0)
    d = np.tile([0.0, 1.0, 2.0, 3.0], (3, 1))
    weight = np.ones_like(d)
    total = 1.0 + d * 0.5 + rng.uniform(0, 0.1, d.shape)
    total[2] = np.nan
    start = np.array([[1.0, 0.5], [1.0, 0.5], [1.0, 0.5]])
    with deadline(SECONDS):
        beta, converged = dupcor._glm_gamma_batch(d, total, weight, start, tol=1e-14, maxit=500)
    assert converged.tolist() == [True, True, False]
    assert np.isfinite(beta[:2]).all() and np.isnan(beta[2]).all()
    with deadline(SECONDS):
        _, capped = dupcor._glm_gamma_batch(d, total, weight, start + 5, tol=-1.0, maxit=3)
    assert not capped.any()  # tolerance never met: stopped by the cap, flagged


def test_limma_reports_correlation_convergence_in_the_model(study) -> None:  # type: ignore[no-untyped-def]
    data, _ = study
    result = differential_abundance(data, method="limma")
    assert isinstance(result.model["n_correlation_not_converged"], int)


def test_a_correlation_fit_that_stops_short_is_noted_on_its_protein_rows() -> None:
    """Issue 8: non-convergence is reported per protein in `note`, never a loop."""
    from salivaprot import simulate_trial
    from salivaprot.diff import differential_abundance
    from salivaprot.preprocess import preprocess

    data = preprocess(simulate_trial(seed=1, n_proteins=300, subjects_per_arm=6).data)
    result = differential_abundance(data)
    assert result.model["n_correlation_not_converged"] == 1
    flagged = result.table[result.table["note"].str.contains("stopped before converging")]
    assert flagged["protein_id"].nunique() == 1
    assert len(flagged) == len(result.model["contrasts"])  # every row of that protein
    assert flagged["pvalue"].notna().any()  # its statistics use the consensus correlation
