"""QC tables: missing values per sample and group, medians, within-group CV."""

from __future__ import annotations

import numpy as np
import pytest

from salivaprot import ProteinData
from salivaprot.preprocess import impute, log2, normalize
from salivaprot.qc import cv_by_group, missing_by_group, missing_by_sample, sample_medians
from salivaprot.simulate import SimulatedTrial


def test_missing_by_sample_counts_imputed_cells_as_not_measured(
    small_trial: SimulatedTrial,
) -> None:
    logged = normalize(log2(small_trial.data))
    filled = impute(logged, method="minprob", seed=2)
    table = missing_by_sample(filled)
    expected = logged.abundance.isna().sum(axis=1)
    assert (table["n_missing"] == expected).all()
    # (proteins no sample measured stay missing: nothing to impute them from)
    unmeasured = logged.abundance.isna().all(axis=0)
    assert unmeasured.any()
    assert (table["n_imputed"] == expected - int(unmeasured.sum())).all()
    assert table["missing_fraction"].iloc[0] == pytest.approx(expected.iloc[0] / logged.n_proteins)


def test_missing_by_group_has_every_arm_visit_in_order(small_trial: SimulatedTrial) -> None:
    data = small_trial.data
    table = missing_by_group(data)
    assert list(table.index) == [(a, v) for a in data.arms for v in data.visits]
    assert table["samples"].sum() == data.n_samples
    bare = ProteinData(data.abundance, data.samples[["run"]], data.proteins)
    assert missing_by_group(bare)["missing_fraction"].iloc[0] == pytest.approx(
        data.missing_fraction
    )


def test_sample_medians_of_raw_and_log2_agree(small_trial: SimulatedTrial) -> None:
    raw = sample_medians(small_trial.data)
    logged = sample_medians(log2(small_trial.data))
    np.testing.assert_allclose(raw, logged)


def test_cv_by_group_matches_a_manual_computation(small_trial: SimulatedTrial) -> None:
    data = log2(small_trial.data)
    cv = cv_by_group(data)
    protein = "P04745"
    mask = ((data.samples["arm"] == "aMSC") & (data.samples["visit"] == "baseline")).to_numpy()
    values = 2.0 ** data.abundance.loc[mask, protein].dropna()
    assert cv.at[protein, "aMSC / baseline"] == pytest.approx(values.std(ddof=1) / values.mean())
    assert cv.columns[0] == "placebo / baseline"
