"""`salivaprot qc`: qc.tsv, qc.mzQC (validated with pymzqc), run flags, parallel reading."""

from __future__ import annotations

import gzip
import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from salivaprot.cli import main
from salivaprot.io.mzml import QC_COLUMNS
from salivaprot.io.mzml_example import write_example_mzml
from salivaprot.qc import flag_runs

from .conftest import write_sheet

DATA = Path(__file__).resolve().parent / "data"
#: four real runs that read (tests/data/README.md); the other mzML fixtures there are refused
FIXTURES = [
    DATA / name
    for name in (
        "FileFilter_37_output.mzML",
        "IM_FAIMS_test.first3.mzML",
        "example.mzML.gz",
        "tiny.pwiz.1.1.mzML",
    )
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def psi_ms_obo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PSI-MS ontology that psims ships (a test dependency), for offline mzQC validation."""
    from psims.controlled_vocabulary import vendor

    source = Path(vendor.__file__).parent / "psi-ms.obo.gz"
    target = tmp_path_factory.mktemp("cv") / "psi-ms.obo"
    with gzip.open(source) as packed, open(target, "wb") as plain:
        shutil.copyfileobj(packed, plain)
    return target


def validate_mzqc(path: Path, obo: Path) -> Any:
    """Read an mzQC file back with pymzqc and run its semantic validation (offline)."""
    from mzqc import MZQCFile, SemanticCheck

    text = path.read_text(encoding="utf-8")
    document = MZQCFile.JsonSerialisable.from_json(text)
    assert isinstance(document, MZQCFile.MzQcFile)
    assert document.version == "1.0.0"
    local = json.loads(text)
    assert local["mzQC"]["controlledVocabularies"][0]["uri"].endswith("psi-ms.obo")
    local["mzQC"]["controlledVocabularies"][0]["uri"] = str(obo)  # no network here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check = SemanticCheck.SemanticCheck(
            MZQCFile.JsonSerialisable.from_json(json.dumps(local)), version="1.0.0"
        )
        check.validate(load_local=True)
    issues = {kind: [str(i) for i in found] for kind, found in check.items() if found}
    assert issues == {}
    return document


def test_qc_command_writes_tsv_and_valid_mzqc(tmp_path: Path, psi_ms_obo: Path) -> None:
    broken = tmp_path / "broken.mzML"
    broken.write_bytes(FIXTURES[-1].read_bytes()[:5000])
    out = tmp_path / "qc"
    code, stdout, stderr = run("qc", *map(str, FIXTURES), str(broken), "--out", str(out))
    assert code == 1
    assert "4 of 5 runs read" in stdout
    assert "error: " in stderr and "broken.mzML: truncated" in stderr
    table = pd.read_csv(out / "qc.tsv", sep="\t")
    assert list(table.columns) == [*QC_COLUMNS, "qc_pass", "qc_reasons", "error"]
    assert table["run"].tolist() == [
        "FileFilter_37_output",
        "IM_FAIMS_test.first3",
        "example",
        "tiny.pwiz.1.1",
        "broken",
    ]
    row = table.set_index("run").loc["IM_FAIMS_test.first3"]
    assert (row["n_ms1"], row["n_ms2"], row["instrument_model"]) == (1, 2, "Orbitrap Exploris 480")
    assert row["qc_pass"]
    bad = table.set_index("run").loc["broken"]
    assert not bad["qc_pass"] and bad["qc_reasons"].startswith("unreadable: ")
    assert "truncated" in bad["error"]
    document = validate_mzqc(out / "qc.mzQC", psi_ms_obo)
    labels = [q.metadata.label for q in document.runQualities]
    assert labels == ["FileFilter_37_output", "IM_FAIMS_test.first3", "example", "tiny.pwiz.1.1"]
    faims = document.runQualities[1]
    metrics = {m.accession: m.value for m in faims.qualityMetrics}
    assert metrics["MS:4000059"] == 1 and metrics["MS:4000060"] == 2
    assert metrics["MS:4000063"] == {"MS:1000041": [2], "UO:0000191": [1.0]}
    assert metrics["MS:4000131"][1] == pytest.approx(2.787945792079)
    sha = {p.accession: p.value for p in faims.metadata.inputFiles[0].fileProperties}
    assert sha["MS:1003151"] == row["sha256"]
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == "qc"
    assert not list(tmp_path.glob(".qc.*"))  # staging folder gone


@pytest.fixture(scope="module")
def study_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Seven synthetic runs: one weak (TIC / 100), one short (a third of the MS2)."""
    folder = tmp_path_factory.mktemp("runs")
    paths = []
    for i in range(7):
        kwargs: dict[str, Any] = {
            "n_spectra": 160 + 3 * i,
            "ms1_peaks": 30,
            "ms2_peaks": 10,
            "seed": i,
        }
        if i == 3:
            kwargs["intensity_scale"] = 0.01
        if i == 5:
            kwargs["n_spectra"] = 60
        paths.append(write_example_mzml(folder / f"R{i + 1}.mzML", **kwargs))
    return paths


def test_qc_with_samples_flags_outliers(study_runs: list[Path], tmp_path: Path) -> None:
    runs = [p.stem for p in study_runs]
    sheet = write_sheet(tmp_path, [*runs, "R99"])  # R99: a sample without a file
    out = tmp_path / "qc"
    code, stdout, stderr = run(
        "--quiet", "qc", *map(str, study_runs), "--samples", str(sheet), "--out", str(out)
    )
    assert code == 0, stderr
    assert stderr == ""  # --quiet: no progress bar, no warnings
    table = pd.read_csv(out / "qc.tsv", sep="\t").set_index("run")
    assert table["sample_id"].tolist() == [f"s{i}" for i in range(1, 8)]
    assert table["qc_pass"].tolist() == [True, True, True, False, True, False, True]
    assert "tic_total low outlier" in table.loc["R4", "qc_reasons"]
    assert "n_ms2 low outlier" in table.loc["R6", "qc_reasons"]
    record = json.loads((out / "run.json").read_text())
    assert record["notes"] == ["1 sample(s) without an mzML file: ['s8']"]
    assert "R4: tic_total low outlier" in stdout


def test_qc_floors_and_parallel_jobs(study_runs: list[Path], tmp_path: Path) -> None:
    args = ["qc", *map(str, study_runs), "--min-ms2", "100", "--min-runs", "50"]
    code, _, _ = run(*args, "--out", str(tmp_path / "one"))
    assert code == 0
    code, _, _ = run(*args, "--jobs", "2", "--out", str(tmp_path / "two"))
    assert code == 0
    one = (tmp_path / "one" / "qc.tsv").read_text()
    assert one == (tmp_path / "two" / "qc.tsv").read_text()
    table = pd.read_csv(tmp_path / "one" / "qc.tsv", sep="\t").set_index("run")
    assert table.loc["R6", "qc_reasons"] == "n_ms2 56 < floor 100"
    assert table["qc_pass"].sum() == 6  # outlier tests skipped: fewer than 50 runs


def test_qc_refuses_runs_with_the_same_name(tmp_path: Path) -> None:
    a = write_example_mzml(tmp_path / "S1.mzML", n_spectra=4, ms1_peaks=3, ms2_peaks=2)
    (tmp_path / "b").mkdir()
    b = write_example_mzml(tmp_path / "b" / "S1.mzML.gz", n_spectra=4, gz=True)
    code, _, stderr = run("qc", str(a), str(b), "--out", str(tmp_path / "qc"))
    assert code == 2 and "same run name" in stderr


def test_flag_runs_rules() -> None:
    table = pd.DataFrame(
        {
            "run": list("abcdef"),
            "n_ms1": [100, 100, 100, 100, 100, np.nan],
            "n_ms2": [1000, 1010, 990, 1005, 995, np.nan],
            "tic_total": [1e9, 1.1e9, 0.9e9, 1e9, 1e9, np.nan],
            "error": [None, None, None, None, None, "f.mzML: truncated"],
        }
    )
    flagged = flag_runs(table, min_ms1=150)
    assert flagged["qc_pass"].tolist() == [False] * 6
    assert flagged["qc_reasons"].iloc[0] == "n_ms1 100 < floor 150"
    assert flagged["qc_reasons"].iloc[5] == "unreadable: f.mzML: truncated"
    # 5 readable runs: the outlier tests run; a run far off is caught on both sides
    table.loc[1, "n_ms2"] = 5000
    flagged = flag_runs(table)
    assert flagged["qc_pass"].tolist() == [True, False, True, True, True, False]
    assert flagged["qc_reasons"].iloc[1].startswith("n_ms2 high outlier (robust z ")
    # only the study's runs set the median/MAD
    study = pd.Series([True, True, True, True, False, False])
    assert flag_runs(table, in_study=study, min_runs=4)["qc_pass"].iloc[1] is np.False_
    assert flag_runs(table, in_study=study)["qc_pass"].iloc[1]  # 4 < min_runs: skipped


@pytest.mark.parametrize("runs", [1, 3, 8])
def test_runs_without_spectra_or_ion_current_fail_whatever_the_study(runs: int) -> None:
    # a blank run (TIC 0) and an empty one passed: a TIC of 0 has no log10 to be an
    # outlier, and a run alone or among few is never tested as one
    table = pd.DataFrame(
        {
            "run": [f"r{i}" for i in range(runs)] + ["blank", "empty"],
            "n_ms1": [100] * runs + [100, 0],
            "n_ms2": [1000] * runs + [1000, 0],
            "tic_total": [1e9] * runs + [0.0, np.nan],
        }
    )
    flagged = flag_runs(table).set_index("run")
    assert flagged["qc_pass"].sum() == runs
    # (first: with 5 runs or more, the outlier tests add their own reasons)
    assert flagged.at["blank", "qc_reasons"].startswith("tic_total 0: no ion current (a blank")
    assert flagged.at["empty", "qc_reasons"].startswith("no MS1 or MS2 spectra")


# --- diff --qc --------------------------------------------------------------------------------


def _qc_table_for(samples_csv: Path, folder: Path, failed: dict[str, str]) -> Path:
    """A qc.tsv whose runs are the sheet's runs (as mzML file names would give them)."""
    sheet = pd.read_csv(samples_csv)
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "run": sheet["run"],
            "file": [f"/raw/{r}.mzML" for r in sheet["run"]],
            "n_ms2": rng.integers(28000, 32000, len(sheet)),
            "tic_total": rng.lognormal(25, 0.2, len(sheet)),
            "qc_pass": [r not in failed for r in sheet["run"]],
            "qc_reasons": [failed.get(r, "") for r in sheet["run"]],
        }
    )
    path = folder / "qc.tsv"
    table.to_csv(path, sep="\t", index=False)
    return path


def test_diff_with_qc_covariate_and_excluded_runs(
    study_files: dict[str, Path], tmp_path: Path
) -> None:
    sheet = pd.read_csv(study_files["samples"])
    first = sheet.iloc[0]
    qc = _qc_table_for(study_files["samples"], tmp_path, {first["run"]: "n_ms2 low outlier"})
    out = tmp_path / "diff"
    code, _, stderr = run(
        "diff", str(study_files["mztab"]), "--samples", str(study_files["samples"]),
        "--qc", str(qc), "--exclude-failed-runs", "--covariate", "log10_tic_total",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    record = json.loads((out / "run.json").read_text())
    assert record["qc"]["excluded_runs"] == [
        {"sample_id": first["sample_id"], "run": first["run"], "reasons": "n_ms2 low outlier"}
    ]
    assert "qc" in record["inputs"]
    samples = pd.read_csv(out / "samples.tsv", sep="\t")
    assert first["sample_id"] not in set(samples["sample_id"])
    assert {"tic_total", "log10_tic_total", "n_ms2", "qc_pass"} <= set(samples.columns)
    assert len(samples) == len(sheet) - 1
    assert f"left out sample {first['sample_id']}" in stderr
    # without --exclude-failed-runs every sample stays
    code, _, _ = run(
        "diff", str(study_files["mztab"]), "--samples", str(study_files["samples"]),
        "--qc", str(qc), "--out", str(tmp_path / "all"),
    )  # fmt: skip
    assert code == 0
    assert json.loads((tmp_path / "all" / "run.json").read_text())["qc"]["excluded_runs"] == []


def test_diff_qc_usage_errors(study_files: dict[str, Path], tmp_path: Path) -> None:
    code, _, stderr = run(
        "diff", str(study_files["mztab"]), "--samples", str(study_files["samples"]),
        "--exclude-failed-runs", "--out", str(tmp_path / "x"),
    )  # fmt: skip
    assert code == 2 and "--exclude-failed-runs needs --qc" in stderr
    bad = tmp_path / "qc.tsv"
    bad.write_text("run\tn_ms2\nr1\t3\n", encoding="utf-8")
    code, _, stderr = run(
        "diff", str(study_files["mztab"]), "--samples", str(study_files["samples"]),
        "--qc", str(bad), "--out", str(tmp_path / "y"),
    )  # fmt: skip
    assert code == 1 and "not a qc.tsv from 'salivaprot qc': no qc_pass column" in stderr
