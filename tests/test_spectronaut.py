"""Spectronaut protein reports: long and pivot layouts, cells checked against the raw text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from salivaprot import InputFormatError, read, read_spectronaut
from salivaprot.io.study import detect_format

from .conftest import write_file, write_sheet

# The header of a real Spectronaut long report (MSstatsConvert's tinytest
# spectronaut_input.csv: one row per fragment, each repeating its group's PG.Quantity).
LONG_HEADER = (
    "R.Condition,R.FileName,R.Replicate,PG.ProteinAccessions,PG.ProteinGroups,PG.Qvalue,"
    "PG.Quantity,PEP.GroupingKey,PEP.StrippedSequence,PEP.Quantity,EG.Qvalue,FG.Charge,"
    "F.FrgIon,F.PeakArea"
)
LONG_ROWS = [
    # run A: PSIP1 over three fragment rows (same PG.Quantity), AMY1 one row
    "A,run_008_A,1,O75475,sp|O75475|PSIP1_HUMAN,5.1e-12,4302.70458984375,AVDITTPK,AVDITTPK,1697.65,1.4e-07,2,y6,1394.07",
    "A,run_008_A,1,O75475,sp|O75475|PSIP1_HUMAN,5.1e-12,4302.70458984375,AVDITTPK,AVDITTPK,1697.65,1.4e-07,2,y5,184.39",
    "A,run_008_A,1,O75475,sp|O75475|PSIP1_HUMAN,5.1e-12,4302.70458984375,DFKPGDLIFAK,DFKPGDLIFAK,1587.08,8.5e-12,3,y3,651.12",
    "A,run_008_A,1,P04745,sp|P04745|AMY1_HUMAN,1e-10,98765.5,LLGLR,LLGLR,55.2,1e-5,2,y4,12.5",
    # run B: PSIP1 filtered out, AMY1 present
    "B,run_009_B,1,O75475,sp|O75475|PSIP1_HUMAN,0.2,Filtered,AVDITTPK,AVDITTPK,NaN,0.3,2,y6,0",
    "B,run_009_B,1,P04745,sp|P04745|AMY1_HUMAN,1e-10,101010.25,LLGLR,LLGLR,60.1,1e-5,2,y4,13",
]  # fmt: skip

PIVOT_HEADER = "\t".join(
    ["PG.ProteinGroups", "PG.Genes", "PG.ProteinDescriptions", "PG.Organisms",
     "[1] S01_base.raw.PG.Quantity", "[2] S01_m4.raw.PG.Quantity",
     "[3] S02_base.raw.PG.Quantity", "[4] S02_m4.raw.PG.Quantity"]
)  # fmt: skip
PIVOT_ROWS = [
    "P04745\tAMY1A\tAlpha-amylase 1\tHomo sapiens\t5123456.5\t4987654.25\t5011111\t4899999.5",
    "P61626\tLYZ\tLysozyme C\tHomo sapiens\t2000.5\tFiltered\t1999.25\tNaN",
    "P02768\tALB\tAlbumin\tHomo sapiens\t1e6\t\t9.5e5\t1.1e6",
]


def test_long_layout_real_header_fragment_rows(tmp_path: Path) -> None:
    path = write_file(tmp_path, "\n".join([LONG_HEADER, *LONG_ROWS]) + "\n", "Report.csv")
    assert detect_format(path) == "spectronaut"
    quant = read_spectronaut(path)
    assert quant.abundance.columns.tolist() == ["run_008_A", "run_009_B"]
    assert quant.abundance.at["sp|O75475|PSIP1_HUMAN", "run_008_A"] == 4302.70458984375
    assert np.isnan(quant.abundance.at["sp|O75475|PSIP1_HUMAN", "run_009_B"])  # 'Filtered'
    assert quant.abundance.at["sp|P04745|AMY1_HUMAN", "run_009_B"] == 101010.25
    assert quant.source == "Spectronaut protein report (long layout, PG.Quantity)"
    assert quant.notes[0].startswith(
        "long layout (comma-separated): 2 protein groups x 2 runs (R.FileName), from 6 rows"
    )
    assert quant.proteins.at["sp|P04745|AMY1_HUMAN", "taxid"] == 9606


def test_long_layout_disagreeing_rows_are_refused(tmp_path: Path) -> None:
    rows = [*LONG_ROWS]
    rows[1] = rows[1].replace("4302.70458984375", "4302.8")
    path = write_file(tmp_path, "\n".join([LONG_HEADER, *rows]) + "\n", "Report.csv")
    with pytest.raises(InputFormatError, match=r"PG\.Quantity differs between lines 2"):
        read_spectronaut(path)


def test_pivot_layout_cells_equal_the_raw_text(tmp_path: Path) -> None:
    path = write_file(tmp_path, "\n".join([PIVOT_HEADER, *PIVOT_ROWS]) + "\n", "Report.tsv")
    assert detect_format(path) == "spectronaut"
    quant = read_spectronaut(path)
    assert quant.columns["name"].tolist() == ["S01_base", "S01_m4", "S02_base", "S02_m4"]
    header = PIVOT_HEADER.split("\t")
    for row in PIVOT_ROWS:
        fields = row.split("\t")
        for column in quant.abundance.columns:
            raw = fields[header.index(column)]
            value = quant.abundance.at[fields[0], column]
            if raw in ("", "Filtered", "NaN"):
                assert np.isnan(value)
            else:
                assert value == float(raw)
    assert quant.proteins.at["P61626", "gene"] == "LYZ"
    assert quant.proteins.at["P61626", "species"] == "Homo sapiens"
    keys = quant.columns.at["[2] S01_m4.raw.PG.Quantity", "keys"]
    assert {"[2] S01_m4.raw", "S01_m4.raw", "S01_m4"} <= set(keys)
    data = read(path, write_sheet(tmp_path, ["S01_base", "S01_m4", "S02_base", "S02_m4"]))
    assert data.samples.at["s2", "data_column"] == "[2] S01_m4.raw.PG.Quantity"


def test_pivot_layout_with_decimal_commas(tmp_path: Path) -> None:
    rows = [row.replace(".", ",") for row in PIVOT_ROWS]  # a German-locale export
    text = "\n".join([PIVOT_HEADER, *rows]).replace("\t", ";") + "\n"
    path = write_file(tmp_path, text, "Report.csv")
    quant = read_spectronaut(path)
    assert quant.abundance.at["P04745", "[2] S01_m4.raw.PG.Quantity"] == 4987654.25
    assert quant.abundance.at["P02768", "[1] S01_base.raw.PG.Quantity"] == 1e6
    assert "numbers written with a decimal comma (1234,5): read as 1234.5" in quant.notes


def test_pivot_mixed_decimal_marks_are_not_guessed(tmp_path: Path) -> None:
    rows = [PIVOT_ROWS[0].replace("5123456.5", "5123456,5"), *PIVOT_ROWS[1:]]
    path = write_file(tmp_path, "\n".join([PIVOT_HEADER, *rows]) + "\n", "Report.tsv")
    with pytest.raises(InputFormatError, match=r"column '\[1\] S01_base\.raw\.PG\.Quantity'"):
        read_spectronaut(path)


def test_commas_that_read_both_ways_are_refused_not_guessed(tmp_path: Path) -> None:
    # 1,234 alone was read as 1.234 (a decimal comma) though it may be 1234 (thousands)
    header = PIVOT_HEADER.split("\t")
    cells = ["1,234", "2,345", "12,345", "9,876"]
    rows = ["\t".join([*row.split("\t")[:4], *cells]) for row in PIVOT_ROWS]
    path = write_file(tmp_path, "\n".join(["\t".join(header), *rows]) + "\n", "Report.tsv")
    with pytest.raises(InputFormatError, match=r"1,234, 2,345, 12,345 have a comma and three"):
        read_spectronaut(path)
    one = [rows[0].replace("9,876", "9,8765"), *rows[1:]]  # (a cell with 4 decimals tells)
    path = write_file(tmp_path, "\n".join(["\t".join(header), *one]) + "\n", "Report.tsv")
    quant = read_spectronaut(path)
    assert quant.abundance.iloc[0].tolist() == [1.234, 2.345, 12.345, 9.8765]


# --- real rows: four rows of MSstatsConvert's spectronaut_input.csv (tests/data/README.md) ---

REAL_LONG = Path(__file__).parent / "data" / "spectronaut_input.rows4.csv"


def test_real_long_report_rows_cells_equal_the_raw_text() -> None:
    lines = REAL_LONG.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert len(header) == 30  # the real header, every column kept
    assert detect_format(REAL_LONG) == "spectronaut"
    quant = read_spectronaut(REAL_LONG)
    runs = list(dict.fromkeys(row["R.FileName"] for row in rows))  # file order
    assert quant.abundance.columns.tolist() == runs
    assert quant.abundance.index.tolist() == ["1/sp|O75475|PSIP1_HUMAN"]  # kept verbatim
    for row in rows:  # every fragment row repeats its group's PG.Quantity
        assert quant.abundance.at[row["PG.ProteinGroups"], row["R.FileName"]] == float(
            row["PG.Quantity"]
        )
    assert quant.notes[0] == (
        "long layout (comma-separated): 1 protein groups x 3 runs (R.FileName), from 4 rows "
        "(1.3 per group and run, agreeing)"
    )
