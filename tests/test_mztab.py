"""mzTab reading on crafted files: structure errors with line numbers, quirks, round trip."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salivaprot import InputFormatError, InputFormatWarning, read_mztab, write_mztab
from salivaprot.io.mztab import parse_param
from salivaprot.simulate import SimulatedTrial

from .conftest import write_file

HEADER = "\t".join(
    ["PRH", "accession", "description", "taxid", "species",
     "protein_abundance_assay[1]", "protein_abundance_assay[2]"]
)  # fmt: skip


def mztab_text(rows: list[str], *, version: str = "1.0.0", extra_mtd: str = "") -> str:
    mtd = [
        f"MTD\tmzTab-version\t{version}",
        "MTD\tmzTab-mode\tSummary",
        "MTD\tmzTab-type\tQuantification",
        "MTD\tms_run[1]-location\tfile:///data/run_a.mzML",
        "MTD\tms_run[2]_location\tfile:///C:/data/run_b.raw",  # Proteome Discoverer spelling
        "MTD\tassay[1]-ms_run_ref\tms_run[1]",
        "MTD\tassay[2]-ms_run_ref\tms_run[2]",
    ]
    if extra_mtd:
        mtd.append(extra_mtd)
    return "\n".join([*mtd, "", HEADER, *rows]) + "\n"


ROW1 = "PRT\tP04745\tAlpha-amylase 1 OS=Homo sapiens OX=9606 GN=AMY1A\t9606\tHomo sapiens\t1e9\t2e9"
ROW2 = "PRT\tCON__P02769\tSerum albumin\tnull\tnull\t0\tnull"
ROW3 = "PRT\tREV__P99999\tdecoy\tnull\tnull\t5\t6"


def write(tmp_path: Path, text: str | bytes, name: str = "study.mzTab") -> Path:
    return write_file(tmp_path, text, name)


def test_minimal_file(tmp_path: Path) -> None:
    mztab = read_mztab(write(tmp_path, mztab_text([ROW1, ROW2, ROW3])))
    quant = mztab.quant()
    assert list(quant.columns["name"]) == ["run_a", "run_b"]  # PD's ms_run[2]_location understood
    assert np.isnan(quant.abundance.at["CON__P02769", "assay[1]"])  # zero -> missing
    proteins = quant.proteins
    assert proteins.at["P04745", "gene"] == "AMY1A"
    assert proteins["is_contaminant"].tolist() == [False, True, False]
    assert proteins["is_decoy"].tolist() == [False, False, True]
    assert proteins.at["P04745", "line"] == 10


def test_row_with_fewer_fields_reports_line(tmp_path: Path) -> None:
    short = "PRT\tP61626\tLysozyme\tnull\tnull\t3"
    with pytest.raises(InputFormatError) as info:
        read_mztab(write(tmp_path, mztab_text([ROW1, short, ROW3])))
    assert "line 11: PRT row has 6 fields, its PRH header (line 9) has 7" in str(info.value)


def test_row_with_more_fields_and_every_bad_row_listed(tmp_path: Path) -> None:
    long = ROW1 + "\textra"
    short = "PRT\tP61626"
    with pytest.raises(InputFormatError) as info:
        read_mztab(write(tmp_path, mztab_text([long, short])))
    assert len(info.value.problems) == 2
    assert "line 10: PRT row has 8 fields" in info.value.problems[0]
    assert "line 11: PRT row has 2 fields" in info.value.problems[1]


def test_trailing_tab_padding_is_tolerated(tmp_path: Path) -> None:
    mztab = read_mztab(write(tmp_path, mztab_text([ROW1 + "\t\t", ROW3])))
    assert mztab.proteins is not None and len(mztab.proteins) == 2


def test_truncated_file_says_so(tmp_path: Path) -> None:
    text = mztab_text([ROW1, ROW3])
    cut = text[: text.rindex("\t5\t6")] + "\t5"
    with pytest.raises(InputFormatError, match="the file seems truncated"):
        read_mztab(write(tmp_path, cut))


def test_non_numeric_abundance_names_line_and_column(tmp_path: Path) -> None:
    bad = "PRT\tP61626\tLysozyme\tnull\tnull\t3e6\thigh"
    with pytest.raises(InputFormatError) as info:
        read_mztab(write(tmp_path, mztab_text([ROW1, bad])))
    assert (
        "line 11, column 'protein_abundance_assay[2]': expected a number or null, found 'high'"
        in str(info.value)
    )


def test_legacy_missing_tokens(tmp_path: Path) -> None:
    rows = [
        "PRT\tA1\tx\tnull\tnull\t1.#QNAN\t--dummy--",
        "PRT\tA2\tx\tnull\tnull\tnull\t-",
        "PRT\tA3\tx\tnull\tnull\tNaN\t7",
    ]
    mztab = read_mztab(write(tmp_path, mztab_text(rows)))
    abundance = mztab.quant().abundance
    assert abundance.isna().to_numpy().sum() == 5
    assert abundance.at["A3", "assay[2]"] == 7


def test_null_assay_abundances_are_read_by_study_variable(tmp_path: Path) -> None:
    # every assay column null, the study-variable columns with values: read as a file
    # without assay columns (it said "the file carries no quantities")
    header = HEADER + "\tprotein_abundance_study_variable[1]\tprotein_abundance_study_variable[2]"
    study_variables = (
        "MTD\tstudy_variable[1]-assay_refs\tassay[1]\nMTD\tstudy_variable[1]-description\tday 0"
        "\nMTD\tstudy_variable[2]-assay_refs\tassay[2]\nMTD\tstudy_variable[2]-description\tday 7"
    )
    rows = [
        "PRT\tA1\tx\tnull\tnull\tnull\tnull\t5\t6",
        "PRT\tA2\tx\tnull\tnull\tnull\tnull\t7\tnull",
    ]
    text = mztab_text(rows, extra_mtd=study_variables).replace(HEADER, header)
    quant = read_mztab(write(tmp_path, text)).quant()
    assert list(quant.abundance.columns) == ["study_variable[1]", "study_variable[2]"]
    assert quant.abundance.at["A2", "study_variable[1]"] == 7
    assert quant.columns.at["study_variable[2]", "keys"] == ("study_variable[2]", "day 7")
    assert any(
        note.startswith("every protein_abundance_assay[n] is null (2 columns): using the "
                        "study-variable abundances (one value per study variable")
        for note in quant.notes
    )  # fmt: skip
    # nothing anywhere: the error counts both kinds of column
    rows = ["PRT\tA1\tx\tnull\tnull\tnull\tnull\tnull\tnull"]
    text = mztab_text(rows, extra_mtd=study_variables).replace(HEADER, header)
    with pytest.raises(InputFormatError) as info:
        read_mztab(write(tmp_path, text)).quant()
    assert (
        "every protein abundance is null (2 protein_abundance_assay[n] columns and 2 "
        "protein_abundance_study_variable[n] columns x 1 proteins)"
    ) in str(info.value)


def test_infinite_abundance_is_an_error_naming_line_and_column(tmp_path: Path) -> None:
    # the readers' one rule: INF (the spec's "ratio over zero") is no abundance
    rows = ["PRT\tA1\tx\tnull\tnull\t5\t6", "PRT\tA2\tx\tnull\tnull\tINF\t-"]
    with pytest.raises(InputFormatError, match=r"line 11, column 'protein_abundance_assay\[1\]'"):
        read_mztab(write(tmp_path, mztab_text(rows)))


def test_bom_crlf_and_gzip_are_read_alike(tmp_path: Path) -> None:
    text = mztab_text([ROW1, ROW3])
    plain = read_mztab(write(tmp_path, text, "a.mzTab")).quant().abundance
    crlf = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()
    pd.testing.assert_frame_equal(
        read_mztab(write(tmp_path, crlf, "b.mzTab")).quant().abundance, plain
    )
    gz = gzip.compress(text.encode(), mtime=0)
    pd.testing.assert_frame_equal(
        read_mztab(write(tmp_path, gz, "c.mzTab.gz")).quant().abundance, plain
    )


def test_release_candidate_version_warns(tmp_path: Path) -> None:
    with pytest.warns(InputFormatWarning, match="'1.0 rc5' is not 1.0.0"):
        read_mztab(write(tmp_path, mztab_text([ROW1], version="1.0 rc5")))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the mzTab file is empty"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"protein,abundance\nP1,3\n", "not an mzTab file: line 1 starts with 'protein,abundance'"),
    ],
)
def test_not_mztab(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(InputFormatError, match=message):
        read_mztab(write(tmp_path, content))


def test_structure_problems(tmp_path: Path) -> None:
    text = mztab_text([ROW1]) + HEADER + "\n" + "PEP\tAAA\n" + "XYZ\tfoo\n"
    with pytest.raises(InputFormatError) as info:
        read_mztab(write(tmp_path, text))
    message = str(info.value)
    assert "line 11: second PRH header (first at line 9)" in message
    assert "line 12: PEP row before its PEH header" in message
    assert "line 13: unknown line prefix 'XYZ'" in message


def test_repeated_accession_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        InputFormatError, match=r"protein accession 'P04745' is repeated on lines 10, 11"
    ):
        read_mztab(write(tmp_path, mztab_text([ROW1, ROW1]))).quant()


def test_param_parsing() -> None:
    param = parse_param("[MS, MS:1002038, unlabeled sample, ]")
    assert param is not None and param.accession == "MS:1002038" and param.value == ""
    odd = parse_param("[PRIDE, PRIDE:0000114, iTRAQ reagent, 114, extra]")
    assert odd is not None and odd.name == "iTRAQ reagent, 114" and odd.value == "extra"


def test_write_then_read_round_trip(tmp_path: Path, small_trial: SimulatedTrial) -> None:
    data = small_trial.data
    path = write_mztab(data, tmp_path / "out.mzTab")
    back = read_mztab(path).quant()
    assert list(back.columns["name"]) == list(data.samples["run"])
    expected = data.abundance.T.to_numpy()
    np.testing.assert_allclose(back.abundance.to_numpy(), expected, rtol=1e-6)
    assert back.proteins["is_decoy"].tolist() == data.proteins["is_decoy"].tolist()
    assert back.proteins["is_contaminant"].tolist() == data.proteins["is_contaminant"].tolist()
    assert back.proteins["taxid"].equals(data.proteins["taxid"])


def test_failed_write_leaves_no_file(
    tmp_path: Path, small_trial: SimulatedTrial, monkeypatch: pytest.MonkeyPatch
) -> None:
    import salivaprot.io.mztab_writer as module

    calls = {"n": 0}
    original = module._number_cell

    def failing(value: float) -> str:
        calls["n"] += 1
        if calls["n"] > 100:
            raise RuntimeError("disk full")
        return original(value)

    monkeypatch.setattr(module, "_number_cell", failing)
    target = tmp_path / "out.mzTab"
    target.write_text("previous content")
    with pytest.raises(RuntimeError, match="disk full"):
        write_mztab(small_trial.data, target)
    assert target.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mzTab"]


def test_quoted_metadata_values_are_unquoted(tmp_path: Path) -> None:
    # OpenMS 2.8 ProteomicsLFQ writes list values in double quotes, as the spec's CSV-like cells
    text = mztab_text([ROW1, ROW2])
    text = text.replace("\tfile:///data/run_a.mzML", '\t"file:///data/run_a.mzML"')
    text = text.replace("assay[1]-ms_run_ref\tms_run[1]", 'assay[1]-ms_run_ref\t"ms_run[1]"')
    text = text.replace(
        "MTD\tassay[2]-ms_run_ref\tms_run[2]",
        'MTD\tassay[2]-ms_run_ref\tms_run[2]\nMTD\tstudy_variable[1]-assay_refs\t"assay[1],assay[2]"'
        '\nMTD\tstudy_variable[1]-description\t"a ""quoted"" word"',
    )
    mztab = read_mztab(write_file(tmp_path, text, "quoted.mzTab"))
    assert mztab.metadata["ms_run[1]-location"] == "file:///data/run_a.mzML"
    assert mztab.study_variables["assays"].iloc[0] == ("assay[1]", "assay[2]")
    assert mztab.study_variables["description"].iloc[0] == 'a "quoted" word'
    quant = mztab.quant()
    assert "run_a" in quant.columns.at["assay[1]", "keys"]
    assert any(n.startswith("unquoted 4 metadata value(s)") for n in quant.notes)
