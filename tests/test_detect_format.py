"""Format detection by content, and dispatch through read / load_study."""

from __future__ import annotations

import gzip
import shutil
import typing
from pathlib import Path

import click
import pandas as pd
import pytest

from salivaprot import FORMATS, InputFormatError, detect_format, load_study, read
from salivaprot.cli import validate
from salivaprot.io import read_quant
from salivaprot.io.study import Format

from .conftest import real_file, real_params, write_file

PSI = "hupo-psi-mztab/examples/1_0-Proteomics-Release/"
REAL_FORMATS = {
    "alphapeptstats/testfiles/maxquant_go/proteinGroups.txt": "maxquant",
    "alphapeptstats/testfiles/diann/report_final.pg_matrix.tsv": "diann",
    "proteobench/test/data/subcellprofile_domlfq_protein_DIA_EXPL/"
    "DIA-NN_example_domlfq_report.pg_matrix.tsv": "diann",
    "proteobench/test/data/quant/quant_lfq_ion_DIA_AIF/DIANN_1.9_beta_sample_report.tsv": "diann",
    "msstatsconvert/inst/tinytest/raw_data/DIANN/diann_input.tsv": "diann",
    "alphapeptstats/testfiles/fragpipe/combined_proteins.tsv": "fragpipe",
    PSI + "labelfree_CQI.mzTab": "mztab",
    PSI + "Cytidine.mzTab": "mztab",  # CRLF; the mzTab reader then refuses it (metabolomics)
    "pyteomics/tests/test.mztab": "mztab",
}
EVIDENCE = (
    "proteobench/test/data/quant/quant_lfq_ion_DDA_QExactive/MaxQuant_2_5_1_evidence_sample.txt"
)


DATA = Path(__file__).parent / "data"
#: trimmed copies of the large files above, which travel with the repository
TRIMMED_FORMATS = {
    "proteinGroups.first40.txt": "maxquant",
    "report.tsv": "diann",
}


@pytest.mark.parametrize("relative", real_params(REAL_FORMATS))
def test_real_files_are_recognized(relative: str) -> None:
    assert detect_format(real_file(relative)) == REAL_FORMATS[relative]


@pytest.mark.parametrize("name", sorted(TRIMMED_FORMATS))
def test_trimmed_real_files_are_recognized(name: str) -> None:
    assert detect_format(DATA / name) == TRIMMED_FORMATS[name]


@pytest.mark.parametrize("copy", ["full", "first20"])
def test_maxquant_evidence_is_not_mistaken_for_protein_groups(copy: str) -> None:
    with pytest.raises(InputFormatError) as info:
        detect_format(real_file(EVIDENCE) if copy == "full" else DATA / "evidence.first20.txt")
    message = str(info.value)
    assert "this is a MaxQuant evidence.txt or msms.txt" in message
    assert "not a protein table" in message and "use proteinGroups.txt" in message


@pytest.mark.parametrize(
    "relative", real_params(["pyteomics/tests/test.mzML", "pymzml/tests/data/example.mzML.gz"])
)
def test_mzml_is_not_a_quant_table(relative: str) -> None:
    with pytest.raises(InputFormatError, match=r"this is an mzML file \(spectra\).*qc"):
        detect_format(real_file(relative))


@pytest.mark.parametrize("name", ["example.mzML.gz", "tiny.pwiz.1.1.mzML", "test.mzML.gz"])
def test_travelling_mzml_is_not_a_quant_table(name: str) -> None:
    with pytest.raises(InputFormatError, match=r"this is an mzML file \(spectra\).*qc"):
        detect_format(DATA / name)


def test_content_not_name_decides(tmp_path: Path) -> None:
    source = DATA / "proteinGroups.first40.txt"
    misnamed = tmp_path / "report.pg_matrix.mzTab"
    shutil.copy(source, misnamed)
    assert detect_format(misnamed) == "maxquant"
    matrix = write_file(tmp_path, "protein_id,S1\nP1,1\n", "proteinGroups.txt")
    assert detect_format(matrix) == "matrix"


def test_nothing_fits_lists_every_format_and_its_columns(tmp_path: Path) -> None:
    path = write_file(tmp_path, "Accession;Sample A;Sample B\nP1;1;2\n", "table.csv")
    with pytest.raises(InputFormatError) as info:
        detect_format(path)
    message = str(info.value)
    assert "unrecognized input format: the first line has 3 semicolon-separated column(s)" in (
        message
    )
    assert "'Accession', 'Sample A', 'Sample B'" in message
    for name, expects in FORMATS.items():
        assert f"  {name}: {expects}" in message
    assert set(FORMATS) == {"mztab", "maxquant", "diann", "fragpipe", "spectronaut", "matrix"}


def test_bom_crlf_gzip_and_comma_tsv(tmp_path: Path) -> None:
    text = "Protein.Group,Genes,D:\\raw\\S1.raw\r\nP04745,AMY1A,1e9\r\n"
    assert detect_format(write_file(tmp_path, b"\xef\xbb\xbf" + text.encode(), "a.tsv")) == "diann"
    gzipped = write_file(tmp_path, gzip.compress(text.encode()), "a.tsv.gz")
    assert detect_format(gzipped) == "diann"
    assert read(gzipped).samples.index.tolist() == ["S1"]


def test_parquet_detection(tmp_path: Path) -> None:
    report = tmp_path / "report.parquet"
    pd.DataFrame(
        {"Run": ["S1"], "Protein.Group": ["P1"], "PG.MaxLFQ": [1.0], "Q.Value": [0.001]}
    ).to_parquet(report)
    assert detect_format(report) == "diann"
    other = tmp_path / "other.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(other)
    with pytest.raises(InputFormatError, match="a Parquet file, but not a DIA-NN report"):
        detect_format(other)


def test_binary_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="binary file"):
        detect_format(write_file(tmp_path, b"\x7fELF\x02\x01\x01\x00\x00", "a.tsv"))
    with pytest.raises(InputFormatError, match="empty"):
        detect_format(write_file(tmp_path, b"", "b.tsv"))


def test_precursor_matrix_is_refused_by_detection(tmp_path: Path) -> None:
    path = write_file(
        tmp_path, "Protein.Group\tPrecursor.Id\tS1.raw\nP1\tAAK2\t1\n", "report.pr_matrix.tsv"
    )
    with pytest.raises(InputFormatError, match="DIA-NN precursor matrix"):
        detect_format(path)


def test_forced_format_that_does_not_fit(tmp_path: Path) -> None:
    source = DATA / "proteinGroups.first40.txt"
    with pytest.raises(InputFormatError, match="no 'Protein' column"):
        load_study(source, format="fragpipe")


def test_quantity_only_for_maxquant_and_fragpipe(tmp_path: Path) -> None:
    path = write_file(tmp_path, "protein_id,S1\nP1,1\n", "m.csv")
    with pytest.raises(InputFormatError, match="applies to MaxQuant and FragPipe tables"):
        read(path, quantity="lfq")


def test_read_quant_notes_say_how_the_format_was_chosen(tmp_path: Path) -> None:
    path = write_file(tmp_path, "protein_id,S1\nP1,1\n", "m.csv")
    assert read_quant(path).notes[0] == "format: matrix (recognized from its content)"
    assert read_quant(path, format="matrix").notes[0] == "format: matrix (as asked)"
    study = load_study(path)
    assert study.notes[:2] == (
        "m.csv: generic protein matrix",
        "format: matrix (recognized from its content)",
    )
    assert study.data.steps == ("read('m.csv', format='matrix', zero_as_missing=True)",)


def test_format_choices_agree_everywhere() -> None:
    choices = next(p.type for p in validate.params if p.name == "input_format")
    assert isinstance(choices, click.Choice)
    assert list(choices.choices) == ["auto", *FORMATS] == list(typing.get_args(Format))


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("R.FileName,EG.PrecursorId,EG.Qvalue\n", "a Spectronaut report without protein"),
        (
            "Peptide\tProtein\tS1 Intensity\n",
            "a peptide, precursor or PSM table (column 'Peptide')",
        ),
    ],
)
def test_unrecognized_tables_say_what_they_look_like(
    tmp_path: Path, header: str, says: str
) -> None:
    fields = header.count("," if "," in header else "\t") + 1
    row = ("," if "," in header else "\t").join(["1"] * fields)
    path = write_file(tmp_path, header + row + "\n", "t.txt")
    with pytest.raises(InputFormatError) as info:
        detect_format(path)
    assert says in str(info.value) and "unrecognized input format" in str(info.value)
