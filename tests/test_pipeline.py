"""The reader pipeline: a format described in a few lines reads, and both read paths agree.

Protein tables are read through the columnar reader (only the columns needed,
numbers parsed by pyarrow) when the file allows it, and by the careful reader
(every cell as text, then checked) otherwise. These tests read every kind of
file both ways and require the same QuantTable (abundances bit for bit,
protein table, sample columns, notes) or the same error.
"""

from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import salivaprot.io._pipeline as pipeline
from salivaprot import InputFormatError
from salivaprot.io._pipeline import Extra, Format, read_format
from salivaprot.io.diann import read_diann
from salivaprot.io.fragpipe import read_fragpipe
from salivaprot.io.maxquant import read_maxquant
from salivaprot.io.quant import QuantTable
from salivaprot.io.spectronaut import read_spectronaut
from salivaprot.io.tables_example import write_combined_protein, write_proteingroups

from .conftest import real_file, write_file

DATA = Path(__file__).parent / "data"


def read_both(
    read: Callable[..., QuantTable], path: Path, **options: Any
) -> list[tuple[QuantTable | InputFormatError, bool]]:
    """The reader's result (or error) streamed and careful, and whether it was streamed."""
    out: list[tuple[QuantTable | InputFormatError, bool]] = []
    real = pipeline.table_frame
    for stream in (True, False):
        streamed: list[bool] = []

        def spy(*args: Any, streamed: list[bool] = streamed, **kwargs: Any) -> Any:
            read_columns = real(*args, **kwargs)
            streamed.append(True)
            return read_columns

        with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a Windows-1252 file, read the careful way
            patch.setattr(pipeline, "STREAM", stream)
            patch.setattr(pipeline, "table_frame", spy)
            try:
                result: QuantTable | InputFormatError = read(path, **options)
            except InputFormatError as err:
                result = err
        out.append((result, bool(streamed)))
    return out


def assert_same(first: QuantTable | InputFormatError, second: QuantTable | InputFormatError):
    if isinstance(first, InputFormatError) or isinstance(second, InputFormatError):
        assert str(first) == str(second)
        return
    pd.testing.assert_frame_equal(first.abundance, second.abundance, check_exact=True)
    pd.testing.assert_frame_equal(first.proteins, second.proteins, check_exact=True)
    pd.testing.assert_frame_equal(first.columns, second.columns)
    assert first.notes == second.notes
    assert first.source == second.source


def agree(read: Callable[..., QuantTable], path: Path, **options: Any) -> tuple[Any, bool]:
    """Read both ways, require the same outcome; the streamed outcome and if it streamed."""
    (fast, streamed), (careful, careful_streamed) = read_both(read, path, **options)
    assert not careful_streamed
    assert_same(fast, careful)
    return fast, streamed


# ---------------------------------------------------------------- a format in a few lines
TOY = Format(
    what="toy protein table",
    ids=("Accession",),
    samples=lambda columns: [
        (c, (c, c.removeprefix("Area: ")), c.removeprefix("Area: "))
        for c in columns
        if c.startswith("Area: ")
    ],
    source="toy protein table (Area)",
    summary="toy: {rows} proteins x {samples} samples, {separator}-separated",
    description=("Description",),
    extras=(Extra("Score", "score", "number"), Extra("Peptides", "peptides", "cells")),
    flags=(("is_contaminant", ("Contaminant",)), ("is_decoy", ("Decoy",)), ("shared", ("Shared",))),
    zeros=" (the toy writes 0 for not seen)",
)
TOY_TEXT = (
    "Accession\tDescription\tScore\tPeptides\tArea: A\tArea: B\tContaminant\tDecoy\tShared\n"
    "P04745\tAlpha-amylase 1 OS=Homo sapiens OX=9606 GN=AMY1A\t12.5\t PEP1 \t"
    "5234567.891234567\t0\t\t\t+\n"
    "CON__P02769\tSerum albumin OS=Bos taurus OX=9913 GN=ALB\tx\tPEP2\t2e7\tNA\t+\t\t\n"
    "Q9XYZ1\t\t3\t\t1.5\t2.25\t\t+\t\n"
)


def test_a_format_described_in_a_few_lines_reads(tmp_path: Path) -> None:
    path = write_file(tmp_path, TOY_TEXT, "toy.tsv")
    quant, streamed = agree(read_format, path, fmt=TOY)
    assert streamed
    assert quant.abundance.index.tolist() == ["P04745", "CON__P02769", "Q9XYZ1"]
    assert quant.abundance.columns.tolist() == ["Area: A", "Area: B"]
    np.testing.assert_array_equal(
        quant.abundance.to_numpy(),
        [[5234567.891234567, np.nan], [2e7, np.nan], [1.5, 2.25]],
    )
    assert quant.columns["name"].tolist() == ["A", "B"]
    assert quant.columns["keys"].tolist() == [("Area: A", "A"), ("Area: B", "B")]
    proteins = quant.proteins
    assert proteins["gene"].tolist()[:2] == ["AMY1A", "ALB"]
    assert proteins["taxid"].tolist()[:2] == [9606.0, 9913.0]
    # the file's own flags decide (a CON__ prefix alone would too; its flag is given here)
    assert proteins["is_contaminant"].tolist() == [False, True, False]
    assert proteins["is_decoy"].tolist() == [False, False, True]
    assert proteins["shared"].tolist() == [True, False, False]
    assert proteins["score"].tolist()[:2] == [12.5, 3.0] or np.isnan(proteins["score"].iloc[1])
    assert proteins["peptides"].tolist() == [" PEP1 ", "PEP2", ""]
    assert proteins["line"].tolist() == [2, 3, 4]
    assert quant.notes == (
        "toy: 3 proteins x 2 samples, tab-separated",
        "read 1 zero values as missing (the toy writes 0 for not seen)",
    )
    assert quant.source == "toy protein table (Area)"


def test_a_described_format_reports_its_ids_and_cells(tmp_path: Path) -> None:
    text = TOY_TEXT.replace("Q9XYZ1", "P04745").replace("2.25", "n.d.")
    path = write_file(tmp_path, text, "toy.tsv")
    error, streamed = agree(read_format, path, fmt=TOY)
    assert not streamed
    assert isinstance(error, InputFormatError)
    assert "protein ID 'P04745' is repeated on lines 2, 4" in str(error)
    assert "line 4, column 'Area: B': expected a number" in str(error)


# ---------------------------------------------------------------- real and generated files
FIXTURES = [
    (read_maxquant, DATA / "proteinGroups.first40.txt"),
    (read_maxquant, DATA / "proteinGroups.txt"),
    (read_fragpipe, DATA / "combined_protein.tsv"),
    (read_diann, DATA / "report.pg_matrix.tsv"),
]


@pytest.mark.parametrize(("read", "path"), FIXTURES, ids=lambda v: getattr(v, "name", ""))
def test_streamed_and_careful_agree_on_the_fixtures(read: Callable[..., QuantTable], path: Path):
    _, streamed = agree(read, path)
    if path.name != "report.pg_matrix.tsv":  # (that copy's descriptions hold quoted line ends)
        assert streamed


@pytest.mark.parametrize(
    ("read", "relative"),
    [
        (read_maxquant, "alphapeptstats/testfiles/maxquant_go/proteinGroups.txt"),
        (read_fragpipe, "alphapeptstats/testfiles/fragpipe/combined_proteins.tsv"),
        (read_diann, "alphapeptstats/testfiles/diann/report_final.pg_matrix.tsv"),
    ],
    ids=["maxquant", "fragpipe", "diann"],
)
def test_streamed_and_careful_agree_on_real_files(
    read: Callable[..., QuantTable], relative: str
) -> None:
    agree(read, real_file(relative))


@pytest.mark.parametrize("quantity", ["auto", "lfq", "intensity", "ibaq"])
def test_generated_proteingroups_streamed_like_careful(tmp_path: Path, quantity: str) -> None:
    path = tmp_path / "proteinGroups.txt"
    write_proteingroups(path, n_groups=400, n_samples=12, seed=3)
    quant, streamed = agree(read_maxquant, path, quantity=quantity)
    assert streamed
    assert quant.abundance.shape == (400, 12)
    assert quant.proteins["is_decoy"].any() and quant.proteins["is_contaminant"].any()


@pytest.mark.parametrize("quantity", ["auto", "intensity"])
def test_generated_combined_protein_streamed_like_careful(tmp_path: Path, quantity: str) -> None:
    path = tmp_path / "combined_protein.tsv"
    write_combined_protein(path, n_proteins=400, n_samples=12, seed=4)
    quant, streamed = agree(read_fragpipe, path, quantity=quantity)
    assert streamed
    assert quant.abundance.shape == (400, 12)


def test_only_the_needed_columns_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "proteinGroups.txt"
    write_proteingroups(path, n_groups=50, n_samples=30)
    real = pipeline.table_frame
    read: list[pd.DataFrame] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        read.append(out.frame)
        return out

    monkeypatch.setattr(pipeline, "table_frame", spy)
    read_maxquant(path)
    header = path.read_text().split("\n", 1)[0].split("\t")
    frame = read[0]
    numbers = [c for c in frame.columns if frame[c].dtype == "float64"]
    # the LFQ intensity columns of the 30 samples, nothing else (Intensity, the fallback
    # when LFQ is empty, is read only then)
    assert sorted(numbers) == sorted(c for c in header if c.startswith("LFQ intensity S"))
    assert len(frame.columns) < 50 < 250 < len(header)
    assert "Evidence IDs" not in frame.columns and "MS/MS IDs" not in frame.columns


def test_a_bad_cell_deep_in_a_large_table_is_named(tmp_path: Path) -> None:
    path = tmp_path / "proteinGroups.txt"
    write_proteingroups(path, n_groups=3000, n_samples=20, seed=1)
    lines = path.read_text().split("\n")
    header = lines[0].split("\t")
    column = header.index("LFQ intensity S007")
    cells = lines[2499].split("\t")  # line 2500 of the file
    cells[column] = "n.d."
    lines[2499] = "\t".join(cells)
    path.write_text("\n".join(lines))
    error, streamed = agree(read_maxquant, path)
    assert not streamed
    assert isinstance(error, InputFormatError)
    assert "line 2500, column 'LFQ intensity S007': expected a number" in str(error)
    assert "found 'n.d.'" in str(error)


# ---------------------------------------------------------------- unusual files
MAXQUANT = (
    "Protein IDs\tMajority protein IDs\tGene names\tFasta headers\tLFQ intensity S1\t"
    "LFQ intensity S2\tIntensity S1\tIntensity S2\tReverse\tPotential contaminant\tid\t"
    "Peptide IDs\n"
    "P04745;P0DTE7\tP04745\tAMY1A\t>sp|P04745|AMY1_HUMAN OX=9606\t4.8e9\t4.1e9\t5e9\t4e9\t\t\t0"
    "\t5\n"
    "CON__P02769\tCON__P02769\tALB\t\t1.9e7\t0\t2e7\t0\t\t+\t1\t7\n"
    "REV__Q9Y6R7\tREV__Q9Y6R7\t\t\t0\t0.1234567890123\t1e5\t0\t+\t\t2\t8\n"
)


def _replace(old: str, new: str) -> Callable[[str], str]:
    return lambda text: text.replace(old, new, 1)


VARIANTS: dict[str, tuple[Callable[[str], str | bytes], bool]] = {
    # name: (how the file is changed, whether it is still read the columnar way)
    "as written": (lambda text: text, True),
    "CRLF": (lambda text: text.replace("\n", "\r\n"), True),
    "byte-order mark": (lambda text: "\ufeff" + text, True),
    "no final line end": (lambda text: text.rstrip("\n"), False),  # (warned: see below)
    "short rows": (lambda text: re.sub(r"\t\d+\n", "\n", text), True),
    # (MaxQuant numbers every row in 'id', after the quantities and flags: a row without
    # one was cut, and is refused both ways)
    "row cut before its quantities": (_replace("\tALB\t\t1.9e7\t0\t2e7\t0\t\t+\t1\t7", ""), True),
    "row cut before its flag": (_replace("\t2e7\t0\t\t+\t1\t7\n", "\t2e7\t0\n"), True),
    "padded number": (_replace("4.8e9", " 4.8e9 "), True),
    "missing tokens": (lambda text: text.replace("4.1e9", "NA").replace("1.9e7", "#N/A"), True),
    "quoted number": (_replace("\t4.1e9\t", '\t"4.1e9"\t'), True),
    "blank line": (_replace("CON__", "\nCON__"), False),
    "blank row of separators": (lambda text: text + "\t" * 10 + "\n", False),
    "line end inside quotes": (_replace("AMY1A", '"AMY\n1A"'), False),
    "lone CR": (lambda text: text.replace("\n", "\r"), False),
    "separator after the last column": (lambda text: text.replace("\n", "\t\n"), False),
    "truncated last line": (lambda text: text.rstrip("\n").rsplit("\t", 3)[0], False),
    "row with too many fields": (_replace("\t5\n", "\t5\textra\n"), False),
    "NAN": (_replace("4.1e9", "NAN"), False),
    "nan spelled -nan": (_replace("4.1e9", "-nan"), False),
    "inf": (_replace("4.1e9", "inf"), False),
    "huge": (_replace("4.1e9", "1e60"), False),
    "overflow": (_replace("4.1e9", "1e400"), False),
    "decimal comma": (_replace("4.1e9", "4,1"), False),
    "words": (_replace("4.1e9", "n.d."), False),
    "Windows-1252": (lambda text: text.replace("AMY1A", "AMY1\u00e9").encode("cp1252"), False),
    "R row index": (
        lambda text: (
            "\n".join(
                ("\t" if i == 0 else f"{i}\t") + line
                for i, line in enumerate(text.rstrip("\n").split("\n"))
            )
            + "\n"
        ),
        False,
    ),
    "R dots": (
        lambda text: text.split("\n", 1)[0].replace(" ", ".") + "\n" + text.split("\n", 1)[1],
        False,
    ),
    "empty ID": (_replace("CON__P02769\tCON__P02769", "CON__P02769\t "), True),
    "repeated ID": (_replace("REV__Q9Y6R7\tREV__Q9Y6R7", "REV__Q9Y6R7\tP04745"), True),
    "gzip": (lambda text: gzip.compress(text.encode()), True),
    "unnamed column": (_replace("\tGene names\t", "\t\t"), False),
    # what the scan of every block (or pandas) must see, for the careful reader's outcome
    "short rows at the end": (lambda text: re.sub(r"\t8\n$", "\n", text), True),
    "only the ID": (lambda text: text + "Q00001\n", True),
    "row with too many empty fields": (_replace("\t5\n", "\t5\t\t\n"), False),
    "one row with a separator at its end": (_replace("\t5\n", "\t5\t\n"), False),
    "quoted separator": (_replace("AMY1A", '"AMY\t1A"'), False),
    "quoted line end on the last line": (
        lambda text: text.replace("\t8\n", '\t"8\n3"\n'),
        False,
    ),
    "CR inside quotes": (_replace("AMY1A", '"AMY\r1A"'), False),
    "short row without line end": (lambda text: text + "Q00001\tQ00001", False),
    "padded missing token": (_replace("4.1e9", " NA "), False),
    "Infinity": (_replace("4.1e9", "-Infinity"), False),
    "underflow": (_replace("4.1e9", "1e-400"), True),
    "negative zero": (_replace("4.1e9", "-0.0"), True),
    "exactly 1e50": (_replace("4.1e9", "1e50"), True),
    "just above 1e50": (_replace("4.1e9", "1.000000000000001e50"), False),
    "spelled-out number": (_replace("4.1e9", "+.41E+10"), True),
}


@pytest.mark.parametrize("parts", [1, 2], ids=["one part", "two parts"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_unusual_files_read_the_same_both_ways(
    tmp_path: Path, variant: str, parts: int, request: pytest.FixtureRequest
) -> None:
    # in two parts the cut falls in the middle of the rows: each part is scanned on its
    # own, and the outcome (streamed or not, the table or the error) is that of one part
    split: list[int] | None = request.getfixturevalue("split_anything") if parts == 2 else None
    change, streams = VARIANTS[variant]
    path = write_file(tmp_path, change(MAXQUANT), "proteinGroups.txt")
    if variant == "gzip":
        path = path.rename(tmp_path / "proteinGroups.txt.gz")
    outcome, streamed = agree(read_maxquant, path)
    assert streamed == streams, outcome
    if split is not None and variant == "gzip":  # no cut without decompressing
        assert not split
    elif split is not None and streamed:
        assert set(split) == {2}


def test_numbers_are_parsed_exactly_like_python(tmp_path: Path) -> None:
    # random doubles written shortest, with 17 and with 25 significant digits, and decimal
    # strings long enough that only correct rounding gives Python's float
    rng = np.random.default_rng(11)
    values = np.exp(rng.uniform(-60, 110, size=600)) * rng.choice([-1, 1], size=600)
    cells = [repr(float(v)) for v in values[:200]]
    cells += [f"{v:.16e}" for v in values[200:400]]
    cells += [f"{v:.24e}" for v in values[400:]]
    cells += ["".join(map(str, rng.integers(0, 10, size=40))) + "." + "5" * 30 for _ in range(30)]
    cells += ["0.1000000000000000055511151231257827", "2.2250738585072011e-308", "007.50"]
    rows = [f"P{i:05d}\tP{i:05d}\t\t\t{cell}\t1\t1\t1\t\t\t{i}" for i, cell in enumerate(cells)]
    path = write_file(tmp_path, MAXQUANT.split("\n", 1)[0] + "\n" + "\n".join(rows) + "\n",
                      "proteinGroups.txt")  # fmt: skip
    quant, streamed = agree(read_maxquant, path)
    assert streamed
    read = quant.abundance["LFQ intensity S1"].to_numpy()
    expected = [float(cell) for cell in cells]
    assert [v.hex() for v in read] == [v.hex() for v in expected]


def test_a_bad_byte_deep_in_a_column_not_read_is_seen(tmp_path: Path) -> None:
    # past the first megabyte and in a column the reader skips: the careful reader reads
    # the file as Windows-1252 (with a note), so the streamed reader must not read it
    path = tmp_path / "proteinGroups.txt"
    write_proteingroups(path, n_groups=2000, n_samples=12, seed=8)
    data = path.read_bytes()
    header = data.split(b"\n", 1)[0].split(b"\t")
    column = header.index(b"Evidence IDs")
    lines = data.split(b"\n")
    cells = lines[-20].split(b"\t")
    cells[column] += b"\xe9"
    lines[-20] = b"\t".join(cells)
    path.write_bytes(b"\n".join(lines))
    assert len(data) > 1 << 20
    quant, streamed = agree(read_maxquant, path)
    assert not streamed
    assert any("Windows-1252" in note for note in quant.notes)


@pytest.mark.parametrize("change", ["none", "too many fields", "bad number"])
def test_many_short_lines_are_scanned_like_long_ones(tmp_path: Path, change: str) -> None:
    # thousands of lines per block (fields counted with numpy, not line by line), a
    # problem deep in the file
    rows = [
        f"P{i:06d}\tdesc {i}\t{i / 7:.6f}\tPEP\t{i * 1.5 + 0.1!r}\t{i / 3!r}"
        + ("\t\t\t" if i % 3 else "")  # two rows in three complete, one short
        for i in range(20_000)
    ]
    if change == "too many fields":
        rows[15_000] += "\t\t\t\t\tz"
    elif change == "bad number":
        rows[17_000] = rows[17_000].replace("\t25500.1\t", "\tn.d.\t")
    header = TOY_TEXT.split("\n", 1)[0]
    path = write_file(tmp_path, header + "\n" + "\n".join(rows) + "\n", "toy.tsv")
    outcome, streamed = agree(read_format, path, fmt=TOY)
    assert streamed == (change == "none")
    if change == "none":
        assert outcome.abundance.shape == (20_000, 2)
    else:
        assert isinstance(outcome, InputFormatError)


def test_lfq_fallback_and_flags_are_the_same_both_ways(tmp_path: Path) -> None:
    text = MAXQUANT.replace("4.8e9\t4.1e9", "0\t0").replace("1.9e7\t0", "0\t0")
    text = text.replace("\t0.1234567890123\t", "\t0\t")
    path = write_file(tmp_path, text, "proteinGroups.txt")
    quant, streamed = agree(read_maxquant, path)
    assert streamed
    assert quant.notes[0].startswith("quantity: Intensity (auto: the 'LFQ intensity <sample>'")


def test_spectronaut_pivot_streams_with_its_own_missing_words(tmp_path: Path) -> None:
    text = (
        "PG.ProteinGroups\tPG.Genes\t[1] S01_base.raw.PG.Quantity\t[2] S01_m4.raw.PG.Quantity\n"
        "P04745\tAMY1A\t5234.5678\tFiltered\nP61626\tLYZ\t0\t12.5\n"
    )
    path = write_file(tmp_path, text, "Report.tsv")
    quant, streamed = agree(read_spectronaut, path)
    assert streamed
    assert quant.abundance.iloc[0].tolist()[1] != quant.abundance.iloc[0].tolist()[1]  # NaN
    comma = write_file(tmp_path, text.replace("5234.5678", "5234,5678").replace("12.5", "12,5"),
                       "Comma.tsv")  # fmt: skip
    quant, streamed = agree(read_spectronaut, comma)
    assert not streamed
    assert quant.abundance.iloc[0, 0] == 5234.5678


def test_fragpipe_repeated_groups_are_the_same_both_ways(tmp_path: Path) -> None:
    header = "Protein\tProtein ID\tProtein Group\tSubGroup\tA Razor Intensity\tB Razor Intensity\n"
    rows = (
        "sp|P1|X_HUMAN\tP1\t1\t1a\t5\t6\n"
        "sp|P1|X_HUMAN\tP1\t2\t2b\t5\t6\n"
        "sp|P2|Y_HUMAN\tP2\t2\t2a\t1\t0\n"
    )
    path = write_file(tmp_path, header + rows, "combined_protein.tsv")
    quant, streamed = agree(read_fragpipe, path)
    assert streamed
    assert quant.abundance.shape == (2, 2)


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("block", [1 << 12, 3001, 1000])
def test_small_blocks_cut_lines_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line_end: str, block: int
) -> None:
    # blocks about as long as a line, or shorter: lines cross blocks (fields are counted
    # across block ends), CRLF may be cut between its CR and LF
    import salivaprot.io._tables as tables

    monkeypatch.setattr(tables, "TABLE_BLOCK_BYTES", block)
    path = tmp_path / "proteinGroups.txt"
    write_proteingroups(path, n_groups=120, n_samples=8, seed=5)
    path.write_bytes(path.read_bytes().replace(b"\n", line_end.encode()))
    quant, streamed = agree(read_maxquant, path)
    assert streamed
    assert quant.abundance.shape == (120, 8)
    fragpipe = tmp_path / "combined_protein.tsv"
    write_combined_protein(fragpipe, n_proteins=120, n_samples=8, seed=6)
    fragpipe.write_bytes(fragpipe.read_bytes().replace(b"\n", line_end.encode()))
    _, streamed = agree(read_fragpipe, fragpipe)
    assert streamed


def test_short_rows_next_to_a_blank_line_read_the_careful_way(tmp_path: Path) -> None:
    text = re.sub(r"\t\d+\n", "\n", MAXQUANT).replace("CON__", "\nCON__", 1)
    path = write_file(tmp_path, text, "proteinGroups.txt")
    quant, streamed = agree(read_maxquant, path)
    assert not streamed
    assert quant.abundance.shape == (3, 2)


def test_spectronaut_long_layout_is_the_same_both_ways(tmp_path: Path) -> None:
    from .test_spectronaut import LONG_HEADER, LONG_ROWS

    path = write_file(tmp_path, "\n".join([LONG_HEADER, *LONG_ROWS]) + "\n", "Report.csv")
    quant, streamed = agree(read_spectronaut, path)
    assert streamed  # 'Filtered' is Spectronaut's own word for missing
    assert quant.abundance.shape == (2, 2)
    disagreeing = path.read_text().replace("4302.70458984375,DFKPGDLIFAK", "4302.8,DFKPGDLIFAK")
    error, _ = agree(read_spectronaut, write_file(tmp_path, disagreeing, "Bad.csv"))
    assert isinstance(error, InputFormatError)
    assert "PG.Quantity differs between lines" in str(error)


def test_tmt_integrator_table_is_the_same_both_ways(tmp_path: Path) -> None:
    from .test_tmt import integrator_file

    log2_values = np.array([[20.5, 21.0, np.nan], [15.25, 16.0, 14.0], [18.125, 0.0, 17.5]])
    path = integrator_file(tmp_path, log2_values, ["s1", "s2", "s3"], "abundance_protein_MD.tsv")
    quant, streamed = agree(read_fragpipe, path)
    assert streamed
    assert quant.abundance.loc["sp|P00000|PROT0_HUMAN", "s1"] == 2.0**20.5
    ratios = integrator_file(tmp_path, log2_values - 18, ["s1", "s2", "s3"], "ratio_protein.tsv")
    error, _ = agree(read_fragpipe, ratios)
    assert "log2 ratios" in str(error)


# ---------------------------------------------------------------- a file read in two parts
@pytest.fixture
def split_anything(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Cut every plain file in two (however small); returns the parts of each read."""
    import salivaprot.io._tables as tables

    monkeypatch.setattr(tables, "SPLIT_BYTES", 0)
    monkeypatch.setattr(tables, "MAX_PARTS", 2)
    monkeypatch.setattr(tables, "_cpus", lambda: 2)  # (also on a 1-CPU runner)
    parts: list[int] = []
    real = tables._read_parts

    def spy(*args: Any, **kwargs: Any) -> Any:
        read = real(*args, **kwargs)
        parts.append(len(read))
        return read

    monkeypatch.setattr(tables, "_read_parts", spy)
    return parts


def _large_maxquant(tmp_path: Path, change: Callable[[list[str]], None] | None = None) -> Path:
    path = tmp_path / "proteinGroups.txt"
    write_proteingroups(path, n_groups=3000, n_samples=20, seed=2)
    if change is not None:
        lines = path.read_text().split("\n")
        change(lines)
        path.write_text("\n".join(lines))
    return path


def _set_cell(lines: list[str], line: int, column: str, value: str) -> None:
    header = lines[0].split("\t")
    cells = lines[line - 1].split("\t")
    cells[header.index(column)] = value
    lines[line - 1] = "\t".join(cells)


def test_two_parts_give_the_table_of_one(tmp_path: Path, split_anything: list[int]) -> None:
    path = _large_maxquant(tmp_path)
    quant, streamed = agree(read_maxquant, path)
    assert streamed and split_anything == [2]
    assert quant.abundance.shape == (3000, 20)
    assert quant.proteins["line"].tolist() == list(range(2, 3002))
    fragpipe = tmp_path / "combined_protein.tsv"
    write_combined_protein(fragpipe, n_proteins=3000, n_samples=12, seed=7)
    quant, streamed = agree(read_fragpipe, fragpipe)
    assert streamed and split_anything[-1] == 2
    assert quant.abundance.shape == (3000, 12)


def test_a_bad_cell_in_the_second_part_is_named_by_its_line(
    tmp_path: Path, split_anything: list[int]
) -> None:
    path = _large_maxquant(
        tmp_path, lambda lines: _set_cell(lines, 2900, "LFQ intensity S007", "n.d.")
    )
    error, streamed = agree(read_maxquant, path)
    assert not streamed
    assert "line 2900, column 'LFQ intensity S007': expected a number" in str(error)


def test_a_repeated_id_across_the_parts_is_named_by_its_lines(
    tmp_path: Path, split_anything: list[int]
) -> None:
    # the streamed table itself gives the lines (not the careful reader): the second
    # part's line numbers follow the first part's
    def repeat(lines: list[str]) -> None:
        header = lines[0].split("\t")
        first = lines[9].split("\t")[header.index("Majority protein IDs")]
        _set_cell(lines, 2950, "Majority protein IDs", first)

    path = _large_maxquant(tmp_path, repeat)
    error, streamed = agree(read_maxquant, path)
    assert streamed and split_anything == [2]
    assert isinstance(error, InputFormatError)
    assert "is repeated on lines 10, 2950" in str(error)


@pytest.mark.parametrize("where", ["first part", "second part"])
@pytest.mark.parametrize(
    "problem",
    ["empty ID", "too many fields", "lone CR", "quoted line end", "not UTF-8"],
)
def test_a_problem_in_either_part_reads_the_careful_way(
    tmp_path: Path, split_anything: list[int], where: str, problem: str
) -> None:
    line = 300 if where == "first part" else 2700

    def change(lines: list[str]) -> None:
        if problem == "empty ID":
            _set_cell(lines, line, "Protein IDs", "")
        elif problem == "too many fields":
            lines[line - 1] += "\tx\ty"
        elif problem == "lone CR":
            _set_cell(lines, line, "Protein names", "a\rb")
        elif problem == "quoted line end":
            _set_cell(lines, line, "Protein names", '"a\nb"')
        else:
            _set_cell(lines, line, "Evidence IDs", "caf\udce9")

    path = _large_maxquant(tmp_path)
    lines = path.read_text().split("\n")
    change(lines)
    path.write_bytes("\n".join(lines).encode("utf-8", errors="surrogateescape"))
    _, streamed = agree(read_maxquant, path)
    assert not streamed


def test_a_cut_inside_a_quoted_cell_does_not_give_a_wrong_table(
    tmp_path: Path, split_anything: list[int]
) -> None:
    # a quoted protein name running over thousands of lines in the middle of the file:
    # the cut lands on one of its line feeds, the first part then ends inside quotes
    import salivaprot.io._tables as tables

    path = _large_maxquant(tmp_path)
    lines = path.read_text().split("\n")
    long_cell = '"' + "\n".join(f"part {i}" for i in range(40_000)) + '"'
    _set_cell(lines, 1500, "Protein names", long_cell)
    data = "\n".join(lines).encode()
    path.write_bytes(data)
    with open(path, "rb") as handle:
        cuts = tables._cuts(handle, data.index(b"\n") + 1)
    assert cuts is not None and data.index(b'"part 0') < cuts[1] < data.index(b'39999"')
    (first, _), (careful, _) = read_both(read_maxquant, path)
    assert_same(first, careful)
    assert not isinstance(careful, InputFormatError)
    assert careful.abundance.shape == (3000, 20)
    assert not split_anything  # (refused: the careful reader read it)


def test_a_small_file_is_read_in_one_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import salivaprot.io._tables as tables

    cuts: list[Any] = []
    real = tables._cuts

    def spy(*args: Any) -> Any:
        cuts.append(real(*args))
        return cuts[-1]

    monkeypatch.setattr(tables, "_cuts", spy)
    path = _large_maxquant(tmp_path)
    assert path.stat().st_size < tables.SPLIT_BYTES
    _, streamed = agree(read_maxquant, path)
    assert streamed and cuts == [None]


def test_a_last_line_longer_than_half_the_file_is_read_in_one_part(
    tmp_path: Path, split_anything: list[int]
) -> None:
    # no line feed after the middle but the last: nothing to cut
    text = MAXQUANT.replace("REV__Q9Y6R7\tREV__Q9Y6R7\t", "REV__Q9Y6R7\tREV__Q9Y6R7\t" + "y" * 9000)
    quant, streamed = agree(read_maxquant, write_file(tmp_path, text, "proteinGroups.txt"))
    assert streamed and not split_anything
    assert quant.abundance.shape == (3, 2)


def test_annotation_extracts_like_str_extract() -> None:
    # only rows needed, and holding the literal every match contains, are searched (entry-name
    # mnemonics; UniProt header fields are pyteomics', tests/test_annotate.py)
    from salivaprot.io.quant import _MNEMONIC, _extract

    cells = pd.Series(
        ["Alpha OS=Homo sapiens OX=9606 GN=AMY1A PE=1", "GN= x", "xGN=A", "OX=abc", np.nan,
         "", "ALBU_BOVIN", "sp|P1|X_HUMAN;Y", "OS=Bos taurus", "GN=LYZ", 5],
        dtype=object,
    )  # fmt: skip
    needed = pd.Series([True] * 10 + [False])
    for pattern, literal in ((_MNEMONIC, "_"),):
        expected = cells.iloc[:10].str.extract(pattern, expand=False)
        got = _extract(cells, pattern, literal, needed)

        def plain(values: pd.Series) -> list[Any]:
            return [None if value != value else value for value in values]

        assert plain(got.iloc[:10]) == plain(expected)
        assert got.iloc[10] != got.iloc[10]  # not needed: missing


def test_without_pread_a_file_is_read_in_one_part(
    tmp_path: Path, split_anything: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.delattr(os, "pread")  # as on Windows
    quant, streamed = agree(read_maxquant, write_file(tmp_path, MAXQUANT, "proteinGroups.txt"))
    assert streamed and not split_anything
    assert quant.abundance.shape == (3, 2)


LOOSE_CELLS = [
    ["30", "2", " 7 ", ""],
    ["12.5", "", "n.d.", "1e400"],
    ["", "  ", ""],
    ["NaN", "inf", "-0", "+3"],
]


@pytest.mark.parametrize("cells", LOOSE_CELLS, ids=["counts", "scores", "empty", "spelled"])
def test_a_score_column_reads_the_same_as_pandas_text_and_as_python_text(cells: list[str]) -> None:
    # a column of pandas strings (streamed, pandas 3's careful reader) takes a shortcut; it
    # must give what Python strings (pandas 2's careful reader) give, dtype included
    def read(dtype: Any) -> pd.Series:
        return pipeline._loose_numbers(
            pd.DataFrame({"Score": pd.Series(cells, dtype=dtype)}), "Score"
        )

    objects = read(object)
    for dtype in ("str", "string", pd.StringDtype("python")):  # (str: pandas 3's text)
        pd.testing.assert_series_equal(read(dtype), objects, check_exact=True)


def test_all_finite_is_finite_everywhere() -> None:
    from salivaprot.io._tables import all_finite, finite

    rng = np.random.default_rng(3)
    values = rng.normal(0, 1e49, (50, 7))
    cases = [values, np.asfortranarray(values), np.empty(0), np.full(4, np.nan)]
    for bad in (np.inf, -np.inf, 2e50, -2e50):
        spoiled = values.copy()
        spoiled[rng.integers(50), rng.integers(7)] = bad
        cases.append(spoiled)
    with_nan = values.copy()
    with_nan[::3] = np.nan
    cases += [with_nan, np.array([np.nan, -np.inf]), np.array([1e50, -1e50])]
    for case in cases:
        assert all_finite(case) == bool(finite(case).all())


# ---------------------------------------------------------------- number extras
_ODD_CELLS = [
    "1", "0", "-0", "+5", "007", "12", "1.0", "1.5", ".5", "5.", "1e5", "1E+05", "-2.5e-3",
    "", "nan", "NaN", "inf", "-inf", "Infinity", "NA", "n.d.", " 3", "3 ", "1_000", "0x10",
    "99999999999999999999", "18446744073709551615", "9223372036854775807",
    "-9223372036854775808", "1e400", "1e-400", "4.25e7", "123456789012345678901234567890",
    "0.1000000000000000055511151231257827", "\u0663", "\uff11\uff12", "1,5", "#N/A", "true",
]  # fmt: skip


def test_score_and_count_columns_read_like_to_numeric() -> None:
    # scores, q-values and counts (number extras) of pandas 3's text are cast by pyarrow
    # when every cell is a plain number; the values and the dtype must be to_numeric's
    rng = np.random.default_rng(4)
    doubles = np.exp(rng.uniform(-60, 110, size=300)) * rng.choice([-1, 1], size=300)
    columns = [[cell] for cell in _ODD_CELLS]
    columns += [[a, b] for a in _ODD_CELLS for b in _ODD_CELLS]
    columns += [list(rng.choice(_ODD_CELLS, size=6)) for _ in range(400)]
    columns += [[repr(float(v)) for v in doubles], [f"{v:.24e}" for v in doubles]]
    columns += [[str(int(v)) for v in rng.integers(-(10**17), 10**17, size=50)] + [""]]
    cast = 0
    for cells in columns:
        frame = pd.DataFrame({"Score": pd.Series(cells, dtype=str)})
        frame.index = pd.RangeIndex(2, 2 + len(cells), name="line")
        plain = pipeline._plain_numbers(frame["Score"])
        expected = pd.to_numeric(frame["Score"].str.strip(), errors="coerce")
        if plain is not None:
            cast += 1
            pd.testing.assert_series_equal(plain, expected, check_exact=True)
        pd.testing.assert_series_equal(
            pipeline._loose_numbers(frame, "Score"), expected, check_exact=True
        )
    if int(pd.__version__.split(".")[0]) >= 3:  # (pandas 2's text is Python objects)
        assert cast > 250, cast  # (275: the plain singles, pairs and samples)
