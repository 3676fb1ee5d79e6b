"""Tables that passed through R or pandas: dots for spaces, a leading row-index column."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salivaprot import read_fragpipe, read_matrix, read_maxquant
from salivaprot.io.study import detect_format, read_quant

from .conftest import write_file

DATA = Path(__file__).parent / "data"


def r_names(name: str) -> str:
    """R's make.names for the names in these files: every other character becomes a dot."""
    return re.sub(r"[^A-Za-z0-9._]", ".", name)


def resave(source: Path, target: Path, *, r: bool, index: bool) -> Path:
    """``read.delim`` + ``write.csv`` (R) or ``read_csv`` + ``to_csv`` (pandas)."""
    frame = pd.read_csv(source, sep="\t", dtype=str, keep_default_na=False)
    if r:
        frame.columns = [r_names(c) for c in frame.columns]
        frame.index = frame.index + 1  # R's row names start at 1
    frame.to_csv(target, index=index)
    return target


def test_maxquant_resaved_from_r_reads_like_the_original(tmp_path: Path) -> None:
    original = read_maxquant(DATA / "proteinGroups.txt")
    path = resave(DATA / "proteinGroups.txt", tmp_path / "pg.csv", r=True, index=True)
    header = path.read_text().splitlines()[0]
    assert header.startswith(",Protein.IDs,Majority.protein.IDs,")
    assert ",Potential.contaminant," in header
    assert detect_format(path) == "maxquant"
    quant = read_quant(path)
    pd.testing.assert_frame_equal(quant.abundance, original.abundance)
    assert quant.proteins["is_contaminant"].tolist() == original.proteins["is_contaminant"].tolist()
    notes = " | ".join(quant.notes)
    assert "column names written by R, with dots for spaces: read 'Protein.IDs' as" in notes
    assert "ignored the first column, unnamed and holding row numbers" in notes


def test_fragpipe_resaved_by_pandas_with_its_index(tmp_path: Path) -> None:
    original = read_fragpipe(DATA / "combined_protein.tsv")
    path = resave(DATA / "combined_protein.tsv", tmp_path / "cp.csv", r=False, index=True)
    assert path.read_text().startswith(",Protein Group,")
    assert detect_format(path) == "fragpipe"
    quant = read_fragpipe(path)
    pd.testing.assert_frame_equal(quant.abundance, original.abundance)
    assert any("ignored the first column" in n for n in quant.notes)


def test_fragpipe_resaved_from_r(tmp_path: Path) -> None:
    original = read_fragpipe(DATA / "combined_protein.tsv")
    path = resave(DATA / "combined_protein.tsv", tmp_path / "cp.csv", r=True, index=False)
    assert "S1.Razor.Intensity" in path.read_text().splitlines()[0]
    assert detect_format(path) == "fragpipe"
    quant = read_fragpipe(path)
    np.testing.assert_array_equal(quant.abundance.to_numpy(), original.abundance.to_numpy())
    assert quant.columns["name"].tolist() == original.columns["name"].tolist()


def test_matrix_with_pandas_index_and_unnamed_zero(tmp_path: Path) -> None:
    text = ",protein_id,S1,S2\n0,P1,1e6,2e6\n1,P2,3e6,\n"
    path = write_file(tmp_path, text, "m.csv")
    assert detect_format(path) == "matrix"
    quant = read_matrix(path)
    assert quant.abundance.columns.tolist() == ["S1", "S2"]
    assert quant.abundance.at["P2", "S1"] == 3e6
    again = write_file(tmp_path, text.replace(",protein_id", "Unnamed: 0,protein_id"), "m2.csv")
    assert read_matrix(again).abundance.shape == (2, 2)


def test_an_unnamed_first_column_that_is_not_row_numbers_is_kept(tmp_path: Path) -> None:
    # protein IDs as R row names: not a row index, so the matrix is refused as before
    path = write_file(tmp_path, ",S1,S2\nP1,1e6,2e6\nP2,3e6,4e6\n", "m.csv")
    with pytest.raises(Exception, match="unrecognized input format"):
        detect_format(path)
