"""Issue 8: values that cannot be on their declared scale are refused (overridable)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from salivaprot import DataError
from salivaprot.cli import main
from salivaprot.preprocess import check_input, preprocess
from salivaprot.simulate import simulate_trial

from .conftest import REFERENCE

LOG2_MATRIX = REFERENCE / "input_unbalanced.csv"
SHEET = REFERENCE / "samples_unbalanced.csv"
DESIGN = ["--visits", "baseline,month1,month4", "--reference-arm", "placebo", "--format", "matrix"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def raw_matrix(tmp_path: Path) -> Path:
    """The log2 reference matrix turned back into raw intensities."""
    frame = pd.read_csv(LOG2_MATRIX, index_col=0)
    path = tmp_path / "raw.csv"
    np.exp2(frame).rename_axis("protein_id").to_csv(path)
    return path


@pytest.mark.parametrize("command", ["diff", "preprocess", "validate"])
def test_raw_values_declared_log2_are_refused(
    raw_matrix: Path, tmp_path: Path, command: str
) -> None:
    args = [command, str(raw_matrix), "-s", str(SHEET), *DESIGN, "--input-scale", "log2"]
    if command != "validate":
        args += ["--no-filter", "--normalize", "none", "--out", str(tmp_path / "out")]
    code, _, err = run(*args)
    assert code == 1 and "Traceback" not in err
    assert "declared log2 (--input-scale log2) but reach" in err
    assert "use --input-scale raw" in err and "--force-scale" in err
    assert not (tmp_path / "out").exists()
    code, _, err = run(*args, "--force-scale")
    assert code == 0, err


@pytest.mark.parametrize("command", ["diff", "preprocess", "validate"])
def test_log2_values_read_as_raw_are_refused(tmp_path: Path, command: str) -> None:
    args = [command, str(LOG2_MATRIX), "-s", str(SHEET), *DESIGN]
    if command != "validate":
        args += ["--no-filter", "--out", str(tmp_path / "out")]
    code, _, err = run(*args)
    assert code == 1 and "Traceback" not in err
    assert "look log2-transformed already" in err and "use --input-scale log2" in err
    assert not (tmp_path / "out").exists()
    code, _, err = run(*args, "--force-scale")
    assert code == 0, err
    code, _, err = run(
        *args, "--input-scale", "log2", *(["--force"] if command != "validate" else [])
    )
    assert code == 0, err


def test_the_python_api_checks_and_can_be_told_not_to() -> None:
    data = simulate_trial(seed=2, n_proteins=40, subjects_per_arm=3).data
    with pytest.raises(DataError, match="declared log2"):
        preprocess(data, input_scale="log2")
    ready = preprocess(data, input_scale="log2", check_scale=False, normalize_method="none")
    assert ready.scale == "log2"
    logged = preprocess(data)
    with pytest.raises(DataError, match="log2-transformed already"):
        preprocess(replace(logged, scale="raw"))
    assert check_input(logged).scale == "log2"


def test_infinite_log2_input_names_protein_and_sample() -> None:
    logged = preprocess(simulate_trial(seed=2, n_proteins=40, subjects_per_arm=3).data)
    abundance = logged.abundance.copy()
    abundance.iloc[1, 2] = np.inf
    with pytest.raises(DataError) as err:
        check_input(replace(logged, abundance=abundance), check_scale=False)
    protein, sample = abundance.columns[2], abundance.index[1]
    assert f"protein '{protein}' in sample '{sample}' (inf)" in str(err.value)
