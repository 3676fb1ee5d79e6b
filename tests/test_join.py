"""Joining a file's data columns to a sample sheet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salivaprot import (
    SampleSheetError,
    join,
    load_study,
    read,
    read_mztab,
    read_samples,
    sample_sheet,
)
from salivaprot.simulate import SimulatedTrial

from .conftest import VISITS, real_file


def test_run_column_links_samples_to_runs(
    study_files: dict[str, Path], small_trial: SimulatedTrial
) -> None:
    data = read(study_files["mztab"], study_files["samples"], visits=VISITS)
    truth = small_trial.data
    assert list(data.samples.index) == list(truth.samples.index)
    pd.testing.assert_frame_equal(
        data.abundance, truth.abundance, check_exact=False, rtol=1e-6, check_names=False
    )
    assert data.visits == VISITS and data.arms == ["placebo", "aMSC"]
    assert data.samples["data_column"].str.startswith("assay[").all()
    assert data.steps[-1].startswith("read('study.mzTab'")


def test_without_sheet_samples_are_named_by_run(study_files: dict[str, Path]) -> None:
    data = read(study_files["mztab"])
    assert not data.has_design
    assert data.samples.index[0].startswith("SJ")
    assert data.samples["run"].iloc[0] == "assay[1]"


def test_sheet_and_columns_that_do_not_meet_are_all_listed(study_files: dict[str, Path]) -> None:
    sheet = read_samples(study_files["samples"], visits=VISITS)
    table = sheet.table.reset_index()
    table["visit"] = table["visit"].astype(str)
    table["arm"] = table["arm"].astype(str)
    table.loc[0, "run"] = "typo_run"
    table = table.drop(index=[1, 2])
    broken = sample_sheet(table, visits=VISITS)
    quant = read_mztab(study_files["mztab"]).quant()
    with pytest.raises(SampleSheetError) as info:
        join(quant, broken)
    message = str(info.value)
    assert "1 sheet sample(s) have no data column (matched on 'run')" in message
    assert "typo_run" in message
    assert "3 data column(s) have no sample sheet row" in message
    dropped = join(quant, sample_sheet(table.drop(index=[0]), visits=VISITS), drop_unlisted=True)
    assert dropped.n_samples == len(table) - 1


def test_study_reports_sheet_and_file_problems_together(tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text("sample_id,subject_id,arm,visit\na,P1,A,V1\na,P2,B,V1\n")
    data = tmp_path / "d.mzTab"
    data.write_text("MTD\tmzTab-version\t2.0.0-M\n")
    with pytest.raises(Exception) as info:
        load_study(data, sheet, visits=["V1"])
    problems = info.value.problems  # type: ignore[attr-defined]
    assert len(problems) == 2
    assert "duplicate sample_id 'a'" in problems[0]
    assert "mzTab-M" in problems[1]


def test_multiplexed_assays_are_joined_by_assay_name(tmp_path: Path) -> None:
    path = real_file("hupo-psi-mztab/examples/1_0-Proteomics-Release/iTRAQ_CQI.mzTab")
    rows = [f"s{i},P{(i + 1) // 2},{'A' if i <= 8 else 'B'},{'V1' if i % 2 else 'V2'},assay[{i}]"
            for i in range(1, 17)]  # fmt: skip
    sheet = tmp_path / "itraq.csv"
    sheet.write_text("sample_id,subject_id,arm,visit,run\n" + "\n".join(rows) + "\n")
    data = read(path, sheet, visits=["V1", "V2"])
    assert data.shape == (16, 5)
    assert data.samples.at["s5", "data_column"] == "assay[5]"


def test_stem_shared_by_assays_is_ambiguous(tmp_path: Path) -> None:
    path = real_file("hupo-psi-mztab/examples/1_0-Proteomics-Release/iTRAQ_CQI.mzTab")
    sheet = tmp_path / "itraq.csv"
    sheet.write_text("sample_id,subject_id,arm,visit\nfile1,P1,A,V1\n")
    with pytest.raises(
        SampleSheetError, match=r"'file1' \(file1 -> assay\[1\], assay\[2\], assay\[3\]"
    ):
        read(path, sheet, visits=["V1"], drop_unlisted=True)


def test_fraction_stems_find_their_assay(tmp_path: Path) -> None:
    path = real_file("openms/src/tests/topp/ProteomicsLFQ_1_out.mzTab")
    sheet = tmp_path / "bsa.csv"
    sheet.write_text(
        "sample_id,subject_id,arm,visit,run\n"
        "bsa1,P1,A,V1,BSA1_F2\nbsa2,P2,B,V1,BSA2_F1\nbsa3,P3,B,V1,assay[3]\n"
    )
    data = read(path, sheet, visits=["V1"])
    assert data.samples["data_column"].tolist() == ["assay[1]", "assay[2]", "assay[3]"]
    assert data.abundance.at["bsa1", "P02769|ALBU_BOVIN"] == pytest.approx(1.80142464e08)


def test_join_names_a_wrong_argument_type() -> None:
    # a DataFrame for the sheet raised AttributeError: 'DataFrame' object has no attribute ...
    from salivaprot import join, read_mztab

    mztab = read_mztab("test_data/study.mzTab")
    with pytest.raises(TypeError, match=r"samples must be a SampleSheet .*read_samples"):
        join(mztab.quant(), pd.read_csv("test_data/samples.csv"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"quant must be a QuantTable .* not MzTab"):
        join(mztab)  # type: ignore[arg-type]
