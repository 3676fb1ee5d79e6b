"""Generic protein x sample matrices (CSV or TSV, first column protein_id)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salivaprot import InputFormatError, read, read_matrix

from .conftest import write_file, write_sheet

TEXT = (
    "protein_id,S01_baseline,S01_month4,S02_baseline\n"
    "P04745,2.1e9,1.8e9,2.4e9\n"
    "P61626,NA,NaN,\n"
    "P02768,3e7,0,-1.5\n"
)


def test_values_as_given_and_missing_tokens(tmp_path: Path) -> None:
    quant = read_matrix(write_file(tmp_path, TEXT, "abundance.csv"))
    assert quant.abundance.shape == (3, 3)
    assert quant.abundance.at["P02768", "S02_baseline"] == -1.5  # any scale: taken as given
    assert quant.abundance.loc["P61626"].isna().all()
    assert np.isnan(quant.abundance.at["P02768", "S01_month4"])  # zero -> missing by default
    assert quant.notes == (
        "comma-separated; 3 proteins x 3 samples",
        "read 1 zero values as missing",
    )
    assert quant.columns["name"].tolist() == ["S01_baseline", "S01_month4", "S02_baseline"]
    assert quant.source == "generic protein matrix"
    assert quant.proteins["is_decoy"].tolist() == [False, False, False]


def test_keep_zeros(tmp_path: Path) -> None:
    quant = read_matrix(write_file(tmp_path, TEXT, "abundance.csv"), zero_as_missing=False)
    assert quant.abundance.at["P02768", "S01_month4"] == 0
    assert len(quant.notes) == 1


@pytest.mark.parametrize(
    ("transform", "name"),
    [
        (lambda t: t.replace(",", "\t"), "abundance.tsv"),  # tab
        (lambda t: t.replace(",", ";"), "abundance.txt"),  # semicolon
        (lambda t: "\ufeff" + t.replace("\n", "\r\n"), "abundance.csv"),  # BOM + CRLF
        (lambda t: "\n\n" + t, "abundance.tsv"),  # comma-separated .tsv, leading blank lines
    ],
)
def test_separators_bom_crlf(tmp_path: Path, transform: object, name: str) -> None:
    path = write_file(tmp_path, transform(TEXT), name)  # type: ignore[operator]
    quant = read_matrix(path)
    reference = read_matrix(write_file(tmp_path, TEXT, "reference.csv"))
    assert quant.abundance.equals(reference.abundance)


def test_gzip(tmp_path: Path) -> None:
    path = write_file(tmp_path, gzip.compress(TEXT.encode()), "abundance.csv.gz")
    assert read_matrix(path).abundance.shape == (3, 3)


def test_repeated_and_empty_ids_with_lines(tmp_path: Path) -> None:
    text = TEXT + "P04745,1,2,3\n,4,5,6\n"
    with pytest.raises(InputFormatError) as info:
        read_matrix(write_file(tmp_path, text, "abundance.csv"))
    message = str(info.value)
    assert "protein ID 'P04745' is repeated on lines 2, 5; IDs must be unique" in message
    assert "empty protein ID on line 6" in message
    assert message.startswith(str(tmp_path / "abundance.csv"))


def test_non_numeric_cells_name_line_and_column(tmp_path: Path) -> None:
    text = TEXT.replace(",", "\t").replace("3e7", "<LOD>").replace("2.4e9", "2,4e9")
    with pytest.raises(InputFormatError) as info:
        read_matrix(write_file(tmp_path, text, "abundance.tsv"))
    problems = info.value.problems
    assert any("line 4, column 'S01_baseline': expected a number" in p for p in problems)
    assert any("line 2, column 'S02_baseline'" in p and "found '2,4e9'" in p for p in problems)


def test_annotation_column_gets_a_hint(tmp_path: Path) -> None:
    text = "protein_id,gene,S1\nP04745,AMY1A,1e9\nP61626,LYZ,2e6\n"
    with pytest.raises(InputFormatError) as info:
        read_matrix(write_file(tmp_path, text, "abundance.csv"))
    assert "column(s) 'gene' hold no numbers" in str(info.value)


def test_missing_protein_id_column_and_no_samples(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="the first column is 'accession'"):
        read_matrix(write_file(tmp_path, "accession,S1\nP1,1\n", "a.csv"))
    with pytest.raises(InputFormatError, match="no sample columns"):
        read_matrix(write_file(tmp_path, "protein_id\nP1\n", "b.csv"))


def test_repeated_header_and_overlong_row(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="repeats column\\(s\\) 'S1'"):
        read_matrix(write_file(tmp_path, "protein_id,S1,S1\nP1,1,2\n", "a.csv"))
    with pytest.raises(InputFormatError) as info:
        read_matrix(write_file(tmp_path, "protein_id,S1\nP1,1\nP2,1,2\n", "b.csv"))
    assert "more fields than the 2 columns of the header (line 1) on line 3" in str(info.value)


def test_truncated_last_line(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="line 3: the last line has 2 fields, the header 3"):
        read_matrix(write_file(tmp_path, "protein_id,S1,S2\nP1,1,2\nP2,1", "a.csv"))


def test_join_by_sample_id_or_run_file_stem(tmp_path: Path) -> None:
    # windows paths as headers: the sheet's run may give the file stem
    text = "protein_id\tD:\\raw\\A01.raw\tD:\\raw\\A02.raw\nP04745\t1e9\t2e9\n"
    path = write_file(tmp_path, text, "abundance.tsv")
    data = read(path, write_sheet(tmp_path, ["A01", "A02"]))
    assert data.samples["data_column"].tolist() == ["D:\\raw\\A01.raw", "D:\\raw\\A02.raw"]
    assert data.abundance.at["s2", "P04745"] == 2e9
    # without a run column, sample_id must name the column
    sheet = write_file(
        tmp_path,
        "sample_id,subject_id,arm,visit,visit_day\nA01,P1,placebo,baseline,0\n"
        "A02,P1,placebo,month4,120\n",
        "by_id.csv",
    )
    assert read(path, sheet).samples.index.tolist() == ["A01", "A02"]
    # without a sheet, samples are named by the column stems
    assert read(path).samples.index.tolist() == ["A01", "A02"]


def test_fast_and_careful_parsers_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    import salivaprot.io.matrix as module

    from .conftest import REFERENCE

    path = REFERENCE / "input_unbalanced.csv"
    fast = module.read_matrix(path, zero_as_missing=False)
    assert module._read_numeric_fast(path) is not None
    monkeypatch.setattr(module, "_read_numeric_fast", lambda _path: None)
    careful = module.read_matrix(path, zero_as_missing=False)
    np.testing.assert_array_equal(fast.abundance.to_numpy(), careful.abundance.to_numpy())
    pd.testing.assert_frame_equal(fast.proteins, careful.proteins)
    assert fast.notes == careful.notes


def test_sample_of_zeros_is_refused_unless_zeros_are_kept(tmp_path: Path) -> None:
    path = write_file(tmp_path, "protein_id,S1,S2\nP1,1.5,0\nP2,2.5,0\n", "m.csv")
    with pytest.raises(InputFormatError, match=r"1 sample\(s\) have no observed value.*S2"):
        read(path)
    assert read(path, zero_as_missing=False).abundance["P1"].tolist() == [1.5, 0.0]
