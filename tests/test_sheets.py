"""Sample sheets: aliases, delimiters, encodings, visit order, reference arm, and every problem."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salivaprot import InputFormatError, SampleSheetError, read_samples, sample_sheet

from .conftest import write_file

GOOD = (
    "sample_id,subject_id,arm,visit,visit_day,flow_ml_min\n"
    "s1,P1,placebo,baseline,0,0.10\n"
    "s2,P1,placebo,month1,31,0.12\n"
    "s3,P2,aMSC,baseline,0,0.05\n"
    "s4,P2,aMSC,month1,29,0.09\n"
)


def write(tmp_path: Path, text: str | bytes, name: str = "samples.csv") -> Path:
    return write_file(tmp_path, text, name)


def test_reads_a_good_sheet(tmp_path: Path) -> None:
    sheet = read_samples(write(tmp_path, GOOD))
    assert sheet.visits == ["baseline", "month1"]
    assert sheet.arms == ["placebo", "aMSC"]
    assert sheet.reference_arm == "placebo"
    assert list(sheet.table.index) == ["s1", "s2", "s3", "s4"]
    assert sheet.table["flow_ml_min"].dtype == "float64"
    assert sheet.table["visit"].cat.ordered
    assert any("visit_day" in note for note in sheet.notes)


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_tab_and_semicolon_delimiters(tmp_path: Path, sep: str) -> None:
    sheet = read_samples(write(tmp_path, GOOD.replace(",", sep), "samples.tsv"))
    assert len(sheet) == 4 and sheet.table.at["s2", "flow_ml_min"] == pytest.approx(0.12)


def test_bom_and_crlf_are_fine(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()
    sheet = read_samples(write(tmp_path, raw))
    assert "sample_id" not in sheet.table.columns  # it became the index, BOM and all stripped
    assert list(sheet.table.index) == ["s1", "s2", "s3", "s4"]
    assert sheet.visits == ["baseline", "month1"]


def test_aliases_are_applied_and_reported(tmp_path: Path) -> None:
    text = GOOD.replace("sample_id,subject_id", "Sample,Patient ID")
    sheet = read_samples(write(tmp_path, text))
    assert sheet.aliases == {"Sample": "sample_id", "Patient ID": "subject_id"}
    assert sheet.table.at["s3", "subject_id"] == "P2"


def test_two_columns_with_one_meaning(tmp_path: Path) -> None:
    text = GOOD.replace("subject_id,", "subject_id,patient,").replace(",P1,", ",P1,P1,")
    text = text.replace(",P2,", ",P2,P2,")
    with pytest.raises(SampleSheetError, match="'subject_id' and 'patient' both mean"):
        read_samples(write(tmp_path, text))


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(SampleSheetError, match="missing required columns subject_id, visit"):
        read_samples(write(tmp_path, "sample_id,arm\ns1,A\n"))


def test_every_problem_is_listed_with_its_line(tmp_path: Path) -> None:
    text = (
        "sample_id,subject_id,arm,visit,flow_ml_min\n"
        "s1,P1,placebo,baseline,0.1\n"
        "s1,P1,placebo,month1,fast\n"  # duplicate id, text flow
        "s3,P1,aMSC,month4,0.2\n"  # P1 in two arms
        "s4,,aMSC,baseline,0.2\n"  # empty subject
    )
    with pytest.raises(SampleSheetError) as info:
        read_samples(write(tmp_path, text), visits=["baseline", "month1", "month4"])
    message = str(info.value)
    assert "empty 'subject_id' at line 5" in message
    assert "duplicate sample_id 's1' at lines 2, 3" in message
    assert "column 'flow_ml_min' must be numeric; found 'fast' at line 3" in message
    assert "subject 'P1' appears in more than one arm: aMSC, placebo" in message
    assert len(info.value.problems) == 4


def test_repeated_visit_of_a_subject(tmp_path: Path) -> None:
    text = GOOD + "s5,P2,aMSC,month1,30,0.1\n"
    with pytest.raises(
        SampleSheetError, match=r"subject 'P2' has 2 samples at visit 'month1' \(s4, s5\)"
    ):
        read_samples(write(tmp_path, text))


def test_stimulated_and_unstimulated_at_one_visit_are_distinct(tmp_path: Path) -> None:
    text = (
        "sample_id,subject_id,arm,visit,saliva\n"
        "a,P1,A,V0,UWS\nb,P1,A,V0,SWS\nc,P2,B,V0,unstimulated\n"
    )
    sheet = read_samples(write(tmp_path, text), visits=["V0"])
    assert sheet.table["saliva"].tolist() == ["unstimulated", "stimulated", "unstimulated"]


def test_unknown_saliva_type(tmp_path: Path) -> None:
    text = "sample_id,subject_id,arm,visit,saliva\na,P1,A,V0,spit\n"
    with pytest.raises(SampleSheetError, match=r"'saliva' must be .* found \['spit'\] at line 2"):
        read_samples(write(tmp_path, text), visits=["V0"])


def test_visit_order_needs_visits_or_visit_day(tmp_path: Path) -> None:
    text = GOOD.replace(",visit_day", "").replace(",0,", ",").replace(",31,", ",")
    text = text.replace(",29,", ",")
    # names that spell a time order it: baseline before month1
    assert read_samples(write(tmp_path, text)).visits == ["baseline", "month1"]
    vague = text.replace("baseline", "pre").replace("month1", "post")
    with pytest.raises(SampleSheetError, match="visit order is not known: give it with --visits"):
        read_samples(write(tmp_path, vague))


def test_visits_option_unknown_and_unlisted(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(SampleSheetError) as info:
        read_samples(path, visits=["baseline", "month 4"])
    message = str(info.value)
    assert "--visits names 'month 4', not in the sample sheet" in message
    assert "Visits in the sheet: ['baseline', 'month1']" in message
    assert "visits ['month1'] are in the sample sheet but not in --visits" in message


def test_visits_option_overrides_visit_day(tmp_path: Path) -> None:
    sheet = read_samples(write(tmp_path, GOOD), visits=["month1", "baseline"])
    assert sheet.baseline == "month1"


def test_reference_arm_unknown(tmp_path: Path) -> None:
    with pytest.raises(
        SampleSheetError, match=r"--reference-arm 'control' is not an arm.*\['placebo', 'aMSC'\]"
    ):
        read_samples(write(tmp_path, GOOD), reference_arm="control")


def test_blinded_codes_work_like_named_arms(tmp_path: Path) -> None:
    blinded = GOOD.replace("placebo", "B").replace("aMSC", "A")
    sheet = read_samples(write(tmp_path, blinded))
    assert sheet.arms == ["A", "B"]
    assert "blinded codes: the first code" in " ".join(sheet.notes)
    chosen = read_samples(write(tmp_path, blinded), reference_arm="B")
    assert chosen.arms == ["B", "A"]


def test_run_column_links_samples_and_must_be_unique(tmp_path: Path) -> None:
    text = "sample_id,subject_id,arm,visit,run\na,P1,A,V0,r1\nb,P2,B,V0,r1\n"
    with pytest.raises(SampleSheetError, match="run 'r1' is given for more than one sample"):
        read_samples(write(tmp_path, text), visits=["V0"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the sample sheet is empty"),
        (b"\n\n  \n", "the sample sheet is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"sample_id,subject_id,arm,visit\n", "header but no samples"),
        (b"just one column\nx\n", "the header has a single column"),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, expected: str) -> None:
    with pytest.raises((SampleSheetError, InputFormatError), match=expected):
        read_samples(write(tmp_path, content))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="sample sheet not found"):
        read_samples(tmp_path / "nope.csv")


def test_sample_sheet_from_a_dataframe_reports_rows() -> None:
    frame = pd.DataFrame(
        {
            "sample_id": ["a", "a"],
            "subject_id": ["P1", "P2"],
            "arm": ["A", "B"],
            "visit": ["V", "V"],
        }
    )
    with pytest.raises(SampleSheetError, match="duplicate sample_id 'a' at rows 1, 2"):
        sample_sheet(frame, visits=["V"])


def test_input_file_is_not_modified(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    before = path.read_bytes()
    read_samples(path)
    assert path.read_bytes() == before
