"""ProteinData: invariants checked on creation, subsetting, long view, immutability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salivaprot import DataError, ProteinData
from salivaprot.simulate import SimulatedTrial


def _tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    samples = pd.DataFrame({"subject_id": ["P1", "P1", "P2"]}, index=["s1", "s2", "s3"])
    proteins = pd.DataFrame({"gene": ["AMY1A", "LYZ"]}, index=["P04745", "P61626"])
    abundance = pd.DataFrame(
        [[1.0, 2.0], [3.0, np.nan], [5.0, 6.0]], index=samples.index, columns=proteins.index
    )
    return abundance, samples, proteins


def test_valid_container_names_its_indexes_and_stores_float() -> None:
    abundance, samples, proteins = _tables()
    data = ProteinData(abundance.astype("float32"), samples, proteins)
    assert data.samples.index.name == "sample_id"
    assert data.proteins.index.name == "protein_id"
    assert (data.abundance.dtypes == "float64").all()
    assert data.shape == (3, 2)
    assert data.missing_fraction == pytest.approx(1 / 6)
    assert not data.has_design and data.visits == [] and data.baseline is None


def test_misaligned_tables_are_refused_with_both_problems() -> None:
    abundance, samples, proteins = _tables()
    with pytest.raises(DataError) as info:
        ProteinData(abundance.iloc[::-1], samples, proteins.iloc[::-1])
    assert len(info.value.problems) == 2
    assert "order of the sample table" in str(info.value)
    assert "order of the protein table" in str(info.value)


def test_duplicate_and_missing_labels_are_refused() -> None:
    abundance, samples, proteins = _tables()
    samples.index = ["s1", "s1", "s3"]
    with pytest.raises(DataError, match="sample IDs are not unique: s1"):
        ProteinData(abundance, samples, proteins)


def test_non_numeric_abundance_is_refused() -> None:
    abundance, samples, proteins = _tables()
    abundance["P61626"] = ["a", "b", "c"]
    with pytest.raises(DataError, match="non-numeric proteins: P61626"):
        ProteinData(abundance, samples, proteins)


def test_unknown_scale_is_refused() -> None:
    abundance, samples, proteins = _tables()
    with pytest.raises(DataError, match="scale must be"):
        ProteinData(abundance, samples, proteins, scale="log10")  # type: ignore[arg-type]


def test_creation_does_not_mutate_or_alias_inputs() -> None:
    abundance, samples, proteins = _tables()
    before = abundance.copy()
    data = ProteinData(abundance, samples, proteins)
    data.abundance.iloc[0, 0] = 99.0
    pd.testing.assert_frame_equal(abundance, before)


def test_subset_by_labels_and_masks(small_trial: SimulatedTrial) -> None:
    data = small_trial.data
    baseline = (data.samples["visit"] == "baseline").to_numpy()
    sub = data.subset(samples=baseline, proteins=list(data.proteins.index[:3]))
    assert sub.n_samples == int(baseline.sum())
    assert list(sub.proteins.index) == list(data.proteins.index[:3])
    assert sub.steps == data.steps
    assert sub.visits == data.visits  # categories survive subsetting
    with pytest.raises(DataError, match="unknown labels: nope"):
        data.subset(proteins=["nope"])
    with pytest.raises(DataError, match="boolean mask has 2 entries"):
        data.subset(samples=np.array([True, False]))


def test_to_long_matches_matrix(small_trial: SimulatedTrial) -> None:
    data = small_trial.data
    long = data.to_long()
    assert len(long) == int(data.abundance.notna().to_numpy().sum())
    row = long.iloc[5]
    assert data.abundance.at[row["sample_id"], row["protein_id"]] == row["abundance"]
    assert (
        long["subject_id"] == data.samples.loc[long["sample_id"], "subject_id"].to_numpy()
    ).all()


def test_with_abundance_appends_a_step(small_trial: SimulatedTrial) -> None:
    data = small_trial.data
    logged = data.with_abundance(np.log2(data.abundance), step="log2()", scale="log2")
    assert logged.scale == "log2"
    assert logged.steps == (*data.steps, "log2()")
    assert data.scale == "raw"
