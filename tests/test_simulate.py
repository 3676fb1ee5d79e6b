"""The simulator: seeded, realistic, and the source of the bundled test data."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest

from salivaprot import DesignError, simulate_trial
from salivaprot.simulate import demo_trial

from .conftest import TEST_DATA


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = simulate_trial(seed=4, n_proteins=60, subjects_per_arm=3).write(tmp_path / "a")
    b = simulate_trial(seed=4, n_proteins=60, subjects_per_arm=3).write(tmp_path / "b")
    c = simulate_trial(seed=5, n_proteins=60, subjects_per_arm=3).write(tmp_path / "c")
    for role in a:
        assert filecmp.cmp(a[role], b[role], shallow=False), role
    assert not filecmp.cmp(a["mztab"], c["mztab"], shallow=False)


def test_bundled_test_data_is_what_the_simulator_writes(tmp_path: Path) -> None:
    files = demo_trial().write(tmp_path)
    for path in files.values():
        assert filecmp.cmp(path, TEST_DATA / path.name, shallow=False), path.name
    assert sum(p.stat().st_size for p in TEST_DATA.iterdir()) < 1_000_000


def test_realistic_properties() -> None:
    trial = simulate_trial(seed=3, n_proteins=400, subjects_per_arm=10, dropout=0.2)
    data = trial.data
    assert 0.20 <= data.missing_fraction <= 0.30
    means = np.log2(data.abundance).mean()
    assert means.idxmax() == "P04745"  # alpha-amylase dominates
    top5 = means.sort_values(ascending=False).index[:5]
    share = (data.abundance[top5].sum(axis=1) / data.abundance.sum(axis=1)).median()
    assert share > 0.5  # a handful of proteins carry most of the intensity
    # intensity-dependent missingness: low-abundance proteins are missing more often
    missing = data.abundance.isna().mean()
    low, high = means < means.median(), means >= means.median()
    assert missing[low].mean() > 3 * missing[high].mean()
    assert data.proteins["is_contaminant"].sum() == 12 and data.proteins["is_decoy"].sum() == 8
    assert (data.proteins["taxid"] != 9606).sum() >= 60
    # 20% of 20 subjects miss visits; baseline is never missed
    per_subject = data.samples.groupby("subject_id").size()
    assert (per_subject < 3).sum() == 4
    assert (data.samples["visit"] == "baseline").sum() == 20
    # the dilution offsets are large and recorded
    assert 0.4 < trial.dilution.std() < 0.8


def test_within_subject_correlation_is_present() -> None:
    data = simulate_trial(seed=9, n_proteins=200, subjects_per_arm=10, dropout=0.0).data
    y = np.log2(data.abundance)
    y = y.sub(y.median(axis=1), axis=0)  # remove dilution
    subjects = data.samples["subject_id"]
    base = y[(data.samples["visit"] == "baseline").to_numpy()].set_index(
        subjects[data.samples["visit"] == "baseline"]
    )
    last = y[(data.samples["visit"] == "month4").to_numpy()].set_index(
        subjects[data.samples["visit"] == "month4"]
    )
    cors = [
        base[p].corr(last[p])
        for p in y.columns
        if base[p].notna().sum() > 15 and last[p].notna().sum() > 15
    ]
    assert 0.2 < float(np.nanmedian(cors)) < 0.95


def test_truth_describes_the_changes() -> None:
    trial = simulate_trial(seed=1, n_proteins=200, subjects_per_arm=5)
    truth = trial.truth
    assert set(truth["visit"]) == {"month1", "month4"}
    assert len(truth) == 2 * 200
    month4 = truth[truth["visit"] == "month4"].set_index("protein_id")
    month1 = truth[truth["visit"] == "month1"].set_index("protein_id")
    np.testing.assert_allclose(month1["log2fc"], month4["log2fc"] / 2, atol=1e-6)
    assert (
        month4.at["P23280", "log2fc"] > 0 and month4.at["P61769", "log2fc"] < 0
    )  # CA6 up, B2M down
    assert not month4.loc[month4["category"] != "target", "is_changed"].any()


def test_blinded_arm_codes() -> None:
    data = simulate_trial(seed=2, n_proteins=30, subjects_per_arm=2, arms=("A", "B")).data
    assert data.arms == ["A", "B"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_proteins": 3}, "n_proteins must be at least 5"),
        ({"visits": ["baseline"]}, "visits must be at least two"),
        ({"arms": ["A", "A"]}, "arms must be two distinct names"),
        ({"dropout": 1.5}, "dropout must be between 0 and 1.0"),
    ],
)
def test_impossible_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DesignError, match=message):
        simulate_trial(**kwargs)  # type: ignore[arg-type]
