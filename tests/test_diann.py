"""DIA-NN: pg_matrix, long report.tsv (1.x) and report.parquet (2.x), real and crafted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salivaprot import InputFormatError, InputFormatWarning, join, read, read_diann, read_samples

from .conftest import real_file, write_file, write_sheet

DATA = Path(__file__).parent / "data"
ALPHASTATS_MATRIX = "alphapeptstats/testfiles/diann/report_final.pg_matrix.tsv"
WINDOWS_MATRIX = (
    "proteobench/test/data/subcellprofile_domlfq_protein_DIA_EXPL/"
    "DIA-NN_example_domlfq_report.pg_matrix.tsv"
)
REPORT_19 = "proteobench/test/data/quant/quant_lfq_ion_DIA_AIF/DIANN_1.9_beta_sample_report.tsv"
MSSTATS_REPORT = "msstatsconvert/inst/tinytest/raw_data/DIANN/diann_input.tsv"


# ---------------------------------------------------------------- real pg_matrix files
# Counts read off the files with awk (tab-separated, header on line 1):
#   awk -F'\t' 'NR==1{for(i=1;i<=NF;i++) if($i !~ /^(Protein\.Group|Protein\.Ids|
#     Protein\.Names|Genes|First\.Protein\.Description)$/) s++; next}
#     {n++; if(toupper($1) ~ /^(CON__|CONTAM_|CONT_|CONTAMINANT_)/) k++;
#      if(toupper($1) ~ /^(DECOY_|REV_|XXX_)/) d++} END{print n, s, k+0, d+0}'
# alphastats matrix: 10 protein groups, 20 runs (S1..S20), 0 contaminants, 0 decoys;
# proteobench matrix: 299 protein groups, 18 runs (Windows paths), 45 'Cont_' groups, 0 decoys.
# Empty cells counted with pandas (df[runs].isna().sum().sum()): 145 and 1249.
@pytest.mark.parametrize(
    ("relative", "proteins", "samples", "contaminants", "decoys", "missing"),
    [
        (ALPHASTATS_MATRIX, 10, 20, 0, 0, 145),
        (WINDOWS_MATRIX, 299, 18, 45, 0, 1249),
    ],
)
def test_real_pg_matrix_counts(
    relative: str, proteins: int, samples: int, contaminants: int, decoys: int, missing: int
) -> None:
    quant = read_diann(real_file(relative))
    assert quant.abundance.shape == (proteins, samples)
    assert int(quant.proteins["is_contaminant"].sum()) == contaminants
    assert int(quant.proteins["is_decoy"].sum()) == decoys
    assert int(quant.abundance.isna().sum().sum()) == missing
    assert quant.source == "DIA-NN report.pg_matrix.tsv (protein groups x runs)"
    assert "q-value thresholds apply to the main report only" in quant.notes[0]


def test_windows_path_headers_match_on_file_stem(tmp_path: Path) -> None:
    path = real_file(WINDOWS_MATRIX)
    quant = read_diann(path)
    first = quant.abundance.columns[0]
    stem = "20210131_EXPL4_ViAl_SA_HeLa_Evosep_21min_DIA_120k_15k_1-5_Map2_3K"
    assert first == f"D:\\Hackathon_DOMS\\{stem}.mzML"
    assert quant.columns.at[first, "name"] == stem
    assert quant.columns.at[first, "keys"] == (first, stem)
    stems = quant.columns["name"].tolist()
    sheet = read_samples(write_sheet(tmp_path, stems))
    data = join(quant, sheet)
    assert data.shape == (18, 299)
    assert data.samples.at["s1", "data_column"] == first
    assert data.visits == ["baseline", "month4"]
    # contaminant taxonomy from the Protein.Names mnemonic (Cont_P02769 is ALBU_BOVIN)
    assert quant.proteins.at["Cont_P02769", "taxid"] == 9913
    assert quant.proteins.at["Cont_P02769", "gene"] == "ALB"


def test_alphastats_matrix_keeps_all_missing_rows() -> None:
    quant = read_diann(real_file(ALPHASTATS_MATRIX))
    assert quant.columns["name"].tolist() == [f"S{i}" for i in range(1, 21)]
    assert int(quant.abundance.isna().all(axis=1).sum()) == 3  # no value in any run
    assert quant.proteins["taxid"].eq(9606).all()  # from the *_HUMAN Protein.Names


# ---------------------------------------------------------------- real long reports
# DIA-NN 1.9 report.tsv (CRLF): with awk on the CR-stripped file,
#   tr -d '\r' < f | awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
#     {runs[$c["File.Name"]]=1; if($c["Q.Value"]<=0.01 && $c["PG.Q.Value"]<=0.01 &&
#      $c["Lib.PG.Q.Value"]<=0.01){kept++; pg[$c["Protein.Group"]]=1}}
#     END{print kept, length(pg), length(runs)}'
# gives 1150 of 1168 rows kept, 216 protein groups (220 without the filters), 6 runs;
# no Protein.Group has a contaminant or decoy prefix. pandas: 3 kept rows have PG.MaxLFQ 0.
def test_real_report_19_counts() -> None:
    quant = read_diann(real_file(REPORT_19))
    assert quant.abundance.shape == (216, 6)
    assert int(quant.proteins["is_contaminant"].sum()) == 0
    assert int(quant.proteins["is_decoy"].sum()) == 0
    notes = " ".join(quant.notes)
    assert (
        "kept 1150 of 1168 precursor rows at Q.Value <= 0.01, PG.Q.Value <= 0.01, "
        "Lib.PG.Q.Value <= 0.01 (removed, in that order, by PG.Q.Value: 15, Lib.PG.Q.Value: 3)"
    ) in notes
    assert "216 protein groups x 6 runs; PG.MaxLFQ" in notes
    assert "read 3 zero values as missing" in notes
    assert quant.source == "DIA-NN main report (tab-separated, long format)"
    # one value per group and run: the precursor rows agree; n_precursor_rows sums to 1150
    assert int(quant.proteins["n_precursor_rows"].sum()) == 1150


def test_real_report_19_first_12_rows_travel_with_the_repository() -> None:
    # tests/data/report.tsv: header and the first 12 rows of the same report (CRLF kept);
    # the awk above on it: 12 of 12 rows kept, 2 protein groups, 6 runs
    quant = read_diann(DATA / "report.tsv")
    assert quant.abundance.shape == (2, 6)
    assert quant.notes[0] == (
        "kept 12 of 12 precursor rows at Q.Value <= 0.01, PG.Q.Value <= 0.01, "
        "Lib.PG.Q.Value <= 0.01"
    )
    assert quant.source == "DIA-NN main report (tab-separated, long format)"


@pytest.mark.parametrize("copy", ["full", "first12"])
def test_real_report_19_runs_named_by_run_and_matched_by_path_or_stem(
    tmp_path: Path, copy: str
) -> None:
    quant = read_diann(real_file(REPORT_19) if copy == "full" else DATA / "report.tsv")
    label = quant.abundance.columns[0]
    assert label.startswith("Q:\\ACTIVE\\2020\\LFQ_bench\\RAW\\") and label.endswith(".raw")
    assert quant.columns.at[label, "name"] == "LFQ_Orbitrap_AIF_Condition_A_Sample_Alpha_01"
    assert label in quant.columns.at[label, "keys"]
    runs = [label, *quant.columns["name"].tolist()[1:]]  # full path for one, Run for others
    data = join(quant, read_samples(write_sheet(tmp_path, runs)))
    assert data.samples["data_column"].tolist() == quant.abundance.columns.tolist()


def test_real_report_19_thresholds_can_be_switched_off() -> None:
    quant = read_diann(real_file(REPORT_19), pg_q_value=None, lib_pg_q_value=None)
    assert quant.abundance.shape == (220, 6)
    assert "PG.Q.Value filter not applied (threshold None)" in quant.notes


# msstats' DIA-NN 1.8 subset: comma-separated despite '.tsv', UTF-8 BOM, CRLF. awk on
#   sed '1s/^\xef\xbb\xbf//' f | tr -d '\r' | awk -F, '... Q.Value<=0.01 && LibPGQValue<=0.01'
# keeps all 64 rows: 20 protein groups, 3 File.Name values; no PG.Q.Value or PG.MaxLFQ
# column; 0 contaminants, 0 decoys. Its 'Run' column (Run1..Run6) pairs with File.Name
# arbitrarily (18 combinations); PG.Quantity is constant per group x File.Name (pandas:
# groupby(['Protein.Group','File.Name'])['PG.Quantity'].nunique().max() == 1) but not per
# group x Run, so runs are File.Name.
def test_real_msstats_report_counts_and_decisions() -> None:
    # MSstatsConvert's copy ends without a line end: its last cell may have been cut
    with pytest.warns(InputFormatWarning, match=r"line 65, the last, has no line end.*'0\.001'"):
        quant = read_diann(real_file(MSSTATS_REPORT))
    assert quant.abundance.shape == (20, 3)
    assert int(quant.proteins["is_contaminant"].sum()) == 0
    assert int(quant.proteins["is_decoy"].sum()) == 0
    assert quant.columns["name"].tolist() == ["pre_qc_1", "pre_qc_2", "pre_qc_3"]
    assert quant.source == "DIA-NN main report (comma-separated, long format)"
    notes = quant.notes
    assert "columns understood as: LibPGQValue -> Lib.PG.Q.Value" in notes
    assert "no 'PG.Q.Value' column: PG.Q.Value filter not applied" in notes
    assert any(n.startswith("no 'PG.MaxLFQ' column: using PG.Quantity") for n in notes)
    assert any(n.startswith("'Run' does not match 'File.Name' one to one") for n in notes)
    assert quant.proteins["taxid"].eq(559292).all()  # *_YEAST entry names


@pytest.mark.filterwarnings("ignore:.*the last, has no line end:salivaprot.InputFormatWarning")
def test_real_msstats_report_joins_on_bare_stem(tmp_path: Path) -> None:
    path = real_file(MSSTATS_REPORT)
    data = read(path, write_sheet(tmp_path, ["pre_qc_1", "pre_qc_2.wiff", "pre_qc_3"]))
    assert data.shape == (3, 20)
    assert data.samples.at["s2", "data_column"] == "D:\\Raw\\YQC\\pre_qc_2.wiff.dia"


# ---------------------------------------------------------------- crafted reports
def report_frame() -> pd.DataFrame:
    """A DIA-NN 2.x-style report: two runs, three groups, one decoy and one weak row."""
    return pd.DataFrame(
        {
            "Run": ["S01_base", "S01_base", "S01_m4", "S01_m4", "S01_m4", "S01_base"],
            "Protein.Group": ["P04745", "P04745", "P04745", "P61626", "P02768", "P61626"],
            "Protein.Names": ["AMY1_HUMAN"] * 3 + ["LYSC_HUMAN", "ALBU_HUMAN", "LYSC_HUMAN"],
            "Genes": ["AMY1A"] * 3 + ["LYZ", "ALB", "LYZ"],
            "Precursor.Id": ["AAA2", "CCC2", "AAA2", "DDD2", "EEE3", "DDD2"],
            "PG.MaxLFQ": [3.2e9, 3.2e9, 2.9e9, 4.1e6, 7.0e7, 0.0],
            "Q.Value": [0.001, 0.002, 0.001, 0.004, 0.002, 0.003],
            "PG.Q.Value": [0.001, 0.001, 0.001, 0.002, 0.05, 0.002],
            "Lib.PG.Q.Value": [0.001] * 6,
            "Decoy": [0, 0, 0, 0, 0, 1],
        }
    )


def test_parquet_report(tmp_path: Path) -> None:
    path = tmp_path / "report.parquet"
    report_frame().to_parquet(path)
    quant = read_diann(path)
    assert quant.source == "DIA-NN report.parquet (long format)"
    assert quant.abundance.columns.tolist() == ["S01_base", "S01_m4"]
    assert quant.abundance.index.tolist() == ["P04745", "P61626"]  # P02768 fails PG.Q.Value
    assert quant.abundance.at["P04745", "S01_m4"] == pytest.approx(2.9e9)
    assert np.isnan(quant.abundance.at["P61626", "S01_base"])  # only its decoy row was there
    assert quant.notes[0] == "left out 1 decoy precursor rows (Decoy = 1)"
    assert quant.notes[1] == (
        "kept 4 of 6 precursor rows at Q.Value <= 0.01, PG.Q.Value <= 0.01, "
        "Lib.PG.Q.Value <= 0.01 (removed, in that order, by PG.Q.Value: 1)"
    )
    assert quant.proteins.at["P61626", "taxid"] == 9606
    data = read(path, write_sheet(tmp_path, ["S01_base", "S01_m4"]))
    assert data.abundance.at["s2", "P61626"] == pytest.approx(4.1e6)


def test_parquet_that_is_not_diann(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pd.DataFrame({"protein": ["P1"], "value": [1.0]}).to_parquet(path)
    with pytest.raises(InputFormatError, match="a Parquet file without DIA-NN report columns"):
        read_diann(path)


def test_text_report_windows_paths_bom_crlf_comma(tmp_path: Path) -> None:
    frame = report_frame()
    frame.insert(0, "File.Name", "C:\\data\\" + frame.pop("Run") + ".raw")  # DIA-NN 1.x
    text = frame.to_csv(index=False, lineterminator="\r\n")
    path = write_file(tmp_path, b"\xef\xbb\xbf" + text.encode(), "report.tsv")
    quant = read_diann(path)
    assert quant.abundance.columns.tolist() == ["C:\\data\\S01_base.raw", "C:\\data\\S01_m4.raw"]
    assert quant.columns["name"].tolist() == ["S01_base", "S01_m4"]
    assert quant.abundance.shape == (2, 2)
    assert quant.source == "DIA-NN main report (comma-separated, long format)"


def write_report(tmp_path: Path, frame: pd.DataFrame) -> Path:
    return write_file(tmp_path, frame.to_csv(sep="\t", index=False), "report.tsv")


def test_disagreeing_group_quantities_are_reported_with_lines(tmp_path: Path) -> None:
    frame = report_frame()
    frame.loc[1, "PG.MaxLFQ"] = 3.5e9
    with pytest.raises(InputFormatError) as info:
        read_diann(write_report(tmp_path, frame))
    message = str(info.value)
    assert "protein group 'P04745', run 'S01_base': PG.MaxLFQ differs between lines" in message
    assert "2 (3.2e+09), 3 (3.5e+09)" in message


def test_non_numeric_q_value_names_line_and_column(tmp_path: Path) -> None:
    frame = report_frame().astype({"Q.Value": object})
    frame.loc[3, "Q.Value"] = "low"
    with pytest.raises(InputFormatError) as info:
        read_diann(write_report(tmp_path, frame))
    assert "line 5, column 'Q.Value': expected a number" in str(info.value)


def test_pg_quantity_used_when_maxlfq_absent_or_empty(tmp_path: Path) -> None:
    frame = report_frame()
    frame["PG.Quantity"] = frame["PG.MaxLFQ"] * 2
    empty = frame.assign(**{"PG.MaxLFQ": np.nan})
    quant = read_diann(write_report(tmp_path, empty))
    assert quant.abundance.at["P04745", "S01_base"] == pytest.approx(6.4e9)
    assert any("'PG.MaxLFQ' is empty" in note for note in quant.notes)
    quant = read_diann(write_report(tmp_path, frame.drop(columns="PG.MaxLFQ")))
    assert quant.abundance.at["P04745", "S01_base"] == pytest.approx(6.4e9)


def test_nothing_passing_the_filters_is_an_error(tmp_path: Path) -> None:
    frame = report_frame().assign(**{"Q.Value": 0.5})
    with pytest.raises(InputFormatError, match="no precursor row passes the filters"):
        read_diann(write_report(tmp_path, frame))


def test_precursor_matrix_is_refused(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        "Protein.Group\tGenes\tPrecursor.Id\tC:\\raw\\S1.raw\nP04745\tAMY1A\tAAA2\t1e6\n",
        "report.pr_matrix.tsv",
    )
    with pytest.raises(InputFormatError, match="DIA-NN precursor matrix"):
        read_diann(path)


def test_pg_matrix_repeated_group_and_bad_cell(tmp_path: Path) -> None:
    text = (
        "Protein.Group\tGenes\tD:\\raw\\S1.raw\tD:\\raw\\S2.raw\n"
        "P04745\tAMY1A\t1e9\t\n"
        "P61626\tLYZ\t2e6\tabc\n"
        "P04745\tAMY1A\t1e9\t9e8\n"
    )
    with pytest.raises(InputFormatError) as info:
        read_diann(write_file(tmp_path, text, "report.pg_matrix.tsv"))
    message = str(info.value)
    assert "Protein.Group 'P04745' is repeated on lines 2, 4" in message
    assert "line 3, column 'D:\\raw\\S2.raw': expected a number" in message


def test_not_diann_at_all(tmp_path: Path) -> None:
    path = write_file(tmp_path, "accession\tS1\nP1\t1\n", "x.tsv")
    with pytest.raises(InputFormatError) as info:
        read_diann(path)
    assert "not DIA-NN protein-group output" in str(info.value)
    assert "Columns found: 'accession', 'S1'" in str(info.value)


def test_threshold_outside_unit_interval(tmp_path: Path) -> None:
    path = write_report(tmp_path, report_frame())
    with pytest.raises(ValueError, match=r"Q\.Value threshold must be between 0 and 1"):
        read_diann(path, q_value=5)
