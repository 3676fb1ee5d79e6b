"""DIA-NN main reports read in batches (issue 11): the same as the careful reader, cell by cell.

The columnar reader (pyarrow, only the needed columns, per (group, run)
summaries) must give exactly what the careful reader gives, and anything it
does not read exactly the same way must fall back to the careful reader, so
that errors still name their lines. Speed is measured in benchmarks/bench_read.py.
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import salivaprot.io.diann as diann
from salivaprot import InputFormatError
from salivaprot.errors import InputFormatWarning
from salivaprot.io._tables import Unusual
from salivaprot.io.diann_example import write_example_report
from salivaprot.io.quant import QuantTable

from .conftest import pipe_path, real_file, write_file
from .test_diann import MSSTATS_REPORT, REPORT_19, report_frame

DATA = Path(__file__).parent / "data"


def _refuse(*args: object, **kwargs: object) -> None:
    raise Unusual("test: the careful path")


def careful(path: Path, **options: object) -> QuantTable:
    """read_diann without its columnar fast path (text and Parquet)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(diann, "arrow_batches", _refuse)
        patch.setattr(diann, "_stream_report", _refuse)
        return diann.read_diann(path, **options)  # type: ignore[arg-type]


def streamed(path: Path, **options: object) -> QuantTable:
    """read_diann, asserting that the fast path read the file."""
    diann.last_stream.clear()
    quant = diann.read_diann(path, **options)  # type: ignore[arg-type]
    assert diann.last_stream.get("batches", 0) >= 1, "the fast path fell back"
    return quant


def assert_same(fast: QuantTable, slow: QuantTable) -> None:
    pd.testing.assert_frame_equal(fast.abundance, slow.abundance, check_exact=True)
    pd.testing.assert_frame_equal(fast.proteins, slow.proteins, check_exact=True)
    pd.testing.assert_frame_equal(fast.columns, slow.columns, check_exact=True)
    assert fast.notes == slow.notes
    assert fast.source == slow.source


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "report.tsv"
    return write_example_report(path, n_runs=9, n_groups=400, seed=3)


def test_real_and_fixture_reports_identical(tmp_path: Path) -> None:
    for path in (DATA / "report.tsv", real_file(REPORT_19)):
        assert_same(streamed(path), careful(path))
    # MSstatsConvert's copy ends without a line end: the careful reader reads it, and warns
    msstats = real_file(MSSTATS_REPORT)
    diann.last_stream.clear()
    with pytest.warns(InputFormatWarning, match="has no line end"):
        quant = diann.read_diann(msstats)
    assert not diann.last_stream.get("batches")
    with pytest.warns(InputFormatWarning, match="has no line end"):
        assert_same(quant, careful(msstats))


@pytest.mark.parametrize(
    "options",
    [{}, {"q_value": None}, {"q_value": 0.005, "pg_q_value": None, "lib_pg_q_value": None}],
)
def test_crafted_report_text_and_parquet_identical(tmp_path: Path, options: dict) -> None:
    frame = report_frame()
    text = frame.to_csv(sep=",", index=False).replace("\n", "\r\n")
    path = write_file(tmp_path, b"\xef\xbb\xbf" + text.encode(), "report.tsv")
    assert_same(streamed(path, **options), careful(path, **options))
    parquet = tmp_path / "report.parquet"
    frame.to_parquet(parquet)
    assert_same(streamed(parquet, **options), careful(parquet, **options))
    frame.astype({"Decoy": "int32", "Run": "category"}).to_parquet(parquet)
    assert_same(streamed(parquet, **options), careful(parquet, **options))


def test_generated_report_identical_every_cell(generated: Path) -> None:
    fast = streamed(generated)
    assert fast.abundance.shape == (400, 9)
    assert_same(fast, careful(generated))
    assert_same(
        streamed(generated, zero_as_missing=False), careful(generated, zero_as_missing=False)
    )


def test_numbers_are_exact(generated: Path) -> None:
    # every PG.MaxLFQ cell is written with 17 significant digits: read as Python's float does
    frame = pd.read_csv(
        generated, sep="\t", dtype=str, usecols=["Protein.Group", "Run", "PG.MaxLFQ"]
    )
    quant = streamed(generated, q_value=None, pg_q_value=None, lib_pg_q_value=None)
    expected = frame.drop_duplicates(["Protein.Group", "Run"]).set_index(["Protein.Group", "Run"])
    names = dict(zip(quant.abundance.columns, quant.columns["name"], strict=True))
    for (group, run), text in expected["PG.MaxLFQ"].head(3000).items():
        column = next(c for c, n in names.items() if n == run)
        value = quant.abundance.loc[group, column]
        assert (np.isnan(value) and float(text) == 0) or value == float(text)


def test_line_ends_gzip_and_small_batches(generated: Path, tmp_path: Path) -> None:
    raw = generated.read_bytes()
    slow = careful(generated)
    variants = {
        "crlf.tsv": raw.replace(b"\n", b"\r\n"),
        "cr.tsv": raw.replace(b"\n", b"\r"),
        "blank.tsv": b"\n\n" + raw.replace(b"\n", b"\n\n", 50),
    }
    for name, content in variants.items():
        path = write_file(tmp_path, content, name)
        assert_same(streamed(path), slow)
    packed = tmp_path / "report.tsv.gz"
    packed.write_bytes(gzip.compress(raw))
    assert_same(streamed(packed), slow)
    with pytest.MonkeyPatch.context() as patch:  # memory: one small block at a time
        patch.setattr(diann, "_BLOCK_BYTES", 1 << 16)
        assert_same(streamed(generated), slow)
    rows = diann.last_stream["rows"]
    assert diann.last_stream["batches"] > 20
    assert diann.last_stream["most_rows"] < rows / 20


def test_parquet_in_small_batches(generated: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(generated, sep="\t", dtype={"Run": str, "File.Name": str})
    parquet = tmp_path / "report.parquet"
    frame.drop(columns="File.Name").to_parquet(parquet)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(diann, "_PARQUET_BATCH_ROWS", 1000)
        assert_same(streamed(parquet), careful(parquet))
    assert diann.last_stream["batches"] > 10


def _lines(path: Path) -> list[str]:
    return path.read_text().split("\n")


def _edit(generated: Path, tmp_path: Path, line: int, column: str, value: str) -> Path:
    lines = _lines(generated)
    header = lines[0].split("\t")
    cells = lines[line - 1].split("\t")
    cells[header.index(column)] = value
    lines[line - 1] = "\t".join(cells)
    return write_file(tmp_path, "\n".join(lines), "report.tsv")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Q.Value", "n.d.", "line 2001, column 'Q.Value': expected a number"),
        ("Q.Value", "NAN", "line 2001, column 'Q.Value': expected a number"),
        ("Lib.PG.Q.Value", "inf", "line 2001, column 'Lib.PG.Q.Value': expected a finite"),
        ("Lib.PG.Q.Value", "1e400", "line 2001, column 'Lib.PG.Q.Value': expected a finite"),
        ("PG.MaxLFQ", "-inf", "line 2001, column 'PG.MaxLFQ': expected a finite"),
        ("PG.MaxLFQ", "12345", "PG.MaxLFQ differs between lines"),
        ("File.Name", "", "empty 'File.Name' on lines 2001"),
    ],
)
def test_bad_cells_still_name_their_line(
    generated: Path, tmp_path: Path, column: str, value: str, message: str
) -> None:
    path = _edit(generated, tmp_path, 2001, column, value)
    if column in ("Q.Value", "Lib.PG.Q.Value"):  # keep the row: the filters come first
        other = "Lib.PG.Q.Value" if column == "Q.Value" else "Q.Value"
        path = _edit(path, tmp_path, 2001, other, "0.001")
    with pytest.raises(InputFormatError, match=message.replace(".", r"\.").replace("(", r"\(")):
        diann.read_diann(path)


def test_unusual_files_fall_back_to_the_careful_reader(generated: Path, tmp_path: Path) -> None:
    text = generated.read_text()
    slow = careful(generated)
    # UTF-16 with a byte-order mark
    utf16 = write_file(tmp_path, text.encode("utf-16"), "utf16.tsv")
    fast = diann.read_diann(utf16)
    assert fast.notes[0] == "decoded as UTF-16 (byte-order mark)"
    pd.testing.assert_frame_equal(fast.abundance, slow.abundance, check_exact=True)
    # not UTF-8 in a column salivaprot does not read: Windows-1252, with a warning and a note
    lines = text.split("\n")
    cells = lines[5].split("\t")
    cells[-10] = "caf\xe9"
    lines[5] = "\t".join(cells)
    cp1252 = write_file(tmp_path, "\n".join(lines).encode("cp1252"), "cp1252.tsv")
    with pytest.warns(InputFormatWarning, match="not valid UTF-8"):
        fast = diann.read_diann(cp1252)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputFormatWarning)
        assert_same(fast, careful(cp1252))
    # a row with one field too many: pyarrow refuses the row, and the careful reader too
    # (it used to drop the last field, and a field inserted mid-row shifted the columns)
    lines = text.split("\n")
    lines[10] += "\textra"
    extra = write_file(tmp_path, "\n".join(lines), "extra.tsv")
    diann.last_stream.clear()
    with pytest.raises(InputFormatError, match=r"more fields than the 58 columns.* on line 11"):
        diann.read_diann(extra)
    assert not diann.last_stream
    assert slow.abundance.shape[0] > 0


def test_empty_columns_fall_back(tmp_path: Path) -> None:
    frame = report_frame()
    for change in ({"Lib.PG.Q.Value": np.nan}, {"PG.MaxLFQ": np.nan}, {"PG.MaxLFQ": 0.0}):
        edited = frame.assign(PG_Quantity=frame["PG.MaxLFQ"] * 2, **change)
        edited = edited.rename(columns={"PG_Quantity": "PG.Quantity"})
        path = write_file(tmp_path, edited.to_csv(sep="\t", index=False), "report.tsv")
        diann.last_stream.clear()
        fast = diann.read_diann(path)
        assert not diann.last_stream  # read the careful way
        assert_same(fast, careful(path))
        if "PG.MaxLFQ" in change:  # (all zero was refused as holding no value)
            assert any("using PG.Quantity" in note for note in fast.notes)
            assert fast.abundance.notna().any().any()


def test_a_pipe_is_read_once_and_streamed(generated: Path) -> None:
    content = gzip.compress(generated.read_bytes(), mtime=0)
    with pipe_path(content) as path:
        fast = streamed(Path(path))
    assert_same(fast, careful(generated))


def test_leading_blank_lines(generated: Path, tmp_path: Path) -> None:
    raw = generated.read_bytes()
    slow = careful(generated)
    for blank in (b"\n \t\n", b"\n\r\n  \r\n"):
        path = write_file(tmp_path, blank + raw, "report.tsv")
        assert_same(streamed(path), slow)


def test_quoted_line_ends_read_as_the_careful_reader_does(tmp_path: Path) -> None:
    frame = report_frame()
    frame["First.Protein.Description"] = "Alpha-amylase 1\nsalivary"
    text = frame.to_csv(sep="\t", index=False)
    for line_end in ("\r\n", "\n"):
        path = write_file(tmp_path, text.replace("\n", line_end), "report.tsv")
        fast = diann.read_diann(path)
        assert_same(fast, careful(path))
        assert fast.proteins["description"].iloc[0] == "Alpha-amylase 1\nsalivary"
