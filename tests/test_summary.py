"""The study summary: categories, missingness per arm x visit, missed visits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salivaprot import protein_categories, summarize
from salivaprot.simulate import SimulatedTrial


def test_categories_by_flags_and_species() -> None:
    table = pd.DataFrame(
        {
            "is_decoy": [True, True, False, False, False, False],
            "is_contaminant": [True, False, True, False, False, False],
            "taxid": [np.nan, 9606, 9606, 28037, np.nan, np.nan],
            "species": [None, None, None, None, "Sorangium cellulosum", None],
        },
        index=list("abcdef"),
    )
    assert protein_categories(table).tolist() == [
        "decoy", "decoy", "contaminant", "other_species", "other_species", "target",
    ]  # fmt: skip
    assert protein_categories(table, species=None).tolist()[3:] == ["target"] * 3


def test_summary_counts_match_the_data(small_trial: SimulatedTrial) -> None:
    data = small_trial.data
    summary = summarize(data)
    assert summary.n_samples == data.n_samples and summary.n_subjects == 8
    assert summary.arms == {"placebo": 4, "aMSC": 4}
    assert sum(summary.visits.values()) == data.n_samples
    assert sum(summary.categories.values()) == data.n_proteins
    group = summary.missing_by_group.loc[("aMSC", "month1")]
    mask = ((data.samples["arm"] == "aMSC") & (data.samples["visit"] == "month1")).to_numpy()
    assert group["samples"] == mask.sum()
    assert group["missing_fraction"] == pytest.approx(data.abundance[mask].isna().to_numpy().mean())
    attended = data.samples.groupby("subject_id").size()
    assert set(summary.missed_visits) == set(attended[attended < 3].index)
    text = summary.to_text()
    assert "reference: placebo" in text and "baseline: baseline" in text
    for subject, missed in summary.missed_visits.items():
        assert f"{subject}: {', '.join(missed)}" in text


def test_summary_without_design(small_trial: SimulatedTrial) -> None:
    data = small_trial.data
    bare = type(data)(data.abundance, data.samples[["run"]], data.proteins)
    summary = summarize(bare)
    assert summary.n_subjects == 0 and summary.missed_visits == {}
    assert "subjects" not in summary.to_text()
