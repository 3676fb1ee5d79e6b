"""`salivaprot qc-merge`: QC read run by run (one workflow job each) equals one `salivaprot qc`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from salivaprot.cli import main

ROOT = Path(__file__).resolve().parent.parent
RUNS = sorted((ROOT / "test_data" / "workflow" / "mzml").glob("*.mzML.gz"))
SHEET = ROOT / "workflows" / "config" / "samples.csv"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--quiet", *args])
    return result.exit_code, result.output


def test_merged_parts_equal_one_run_over_all_files(tmp_path: Path) -> None:
    code, output = run(
        "qc", *map(str, RUNS), "--samples", str(SHEET), "--out", str(tmp_path / "all")
    )
    assert code == 0, output
    parts = []
    for path in RUNS:
        part = tmp_path / "parts" / path.name.split(".")[0]
        code, output = run("qc", str(path), "--out", str(part))
        assert code == 0, output
        parts.append(str(part))
    code, output = run(
        "qc-merge", *parts, "--samples", str(SHEET), "--out", str(tmp_path / "merged")
    )
    assert code == 0, output
    together = pd.read_csv(tmp_path / "all" / "qc.tsv", sep="\t")
    merged = pd.read_csv(tmp_path / "merged" / "qc.tsv", sep="\t")
    pd.testing.assert_frame_equal(merged, together)
    assert (~merged["qc_pass"]).sum() == 1  # the run with 1/1000 of the signal
    assert merged.loc[~merged["qc_pass"], "run"].tolist() == ["SJ023_P07_month4"]
    documents = [json.loads((tmp_path / f / "qc.mzQC").read_text()) for f in ("all", "merged")]
    assert documents[0]["mzQC"]["runQualities"] == documents[1]["mzQC"]["runQualities"]


def test_merge_refuses_a_run_given_twice_and_an_output_inside_its_inputs(tmp_path: Path) -> None:
    part = tmp_path / "one"
    assert run("qc", str(RUNS[0]), "--out", str(part))[0] == 0
    code, output = run("qc-merge", str(part), str(part / "qc.tsv"), "--out", str(tmp_path / "m"))
    assert code == 1 and "runs given in more than one part" in output
    code, output = run("qc-merge", str(part), "--out", str(tmp_path))
    assert code == 1 and "holds the QC table" in output


def test_qc_refuses_a_device_before_reading_it(tmp_path: Path) -> None:
    code, output = run("qc", "/dev/zero", "--out", str(tmp_path / "q"))
    assert code == 1 and "is a device, not a regular file; expected an mzML file" in output
