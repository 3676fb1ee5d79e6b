"""`salivaprot qc-merge`: QC read run by run (one workflow job each) equals one `salivaprot qc`."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from salivaprot.cli import main
from salivaprot.errors import InputFormatWarning

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


def test_an_mzqc_beside_a_part_must_be_that_parts(tmp_path: Path) -> None:
    # two qc.tsv files in one folder shared its one qc.mzQC: the merged mzQC held the first
    # run twice and not the second, with exit 0
    for name, path in (("q1", RUNS[0]), ("q2", RUNS[1])):
        assert run("qc", str(path), "--out", str(tmp_path / name))[0] == 0
    flat = tmp_path / "flat"
    flat.mkdir()
    for name, part in (("A.tsv", "q1"), ("B.tsv", "q2")):
        (flat / name).write_bytes((tmp_path / part / "qc.tsv").read_bytes())
    (flat / "qc.mzQC").write_bytes((tmp_path / "q1" / "qc.mzQC").read_bytes())
    code, output = run("qc-merge", str(flat / "A.tsv"), str(flat / "B.tsv"),
                       "--out", str(tmp_path / "m1"))  # fmt: skip
    assert code == 1 and "describes the runs" in output and "B.tsv" in output, output
    assert not (tmp_path / "m1").exists()
    # an mzQC that is not one: named, not an internal error
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "qc.tsv").write_bytes((tmp_path / "q1" / "qc.tsv").read_bytes())
    for text in ('{"mzQC": []}', '{"mzQC": {"runQualities": 5}}', "[1]"):
        (broken / "qc.mzQC").write_text(text)
        code, output = run("qc-merge", str(broken), str(tmp_path / "q2"),
                           "--out", str(tmp_path / "m2"))  # fmt: skip
        assert code == 1 and "not an mzQC document" in output, output
    # a part without one: qc.tsv holds every run, and no partial mzQC is written
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "qc.tsv").write_bytes((tmp_path / "q1" / "qc.tsv").read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("default", InputFormatWarning)  # (shown by the command)
        result = CliRunner().invoke(  # (not --quiet: it silences warnings)
            main, ["qc-merge", str(lone), str(tmp_path / "q2"), "--out", str(tmp_path / "m3")]
        )
    assert result.exit_code == 0, result.output
    assert "warning: no qc.mzQC written: 1 part(s) have none beside them" in result.output
    assert len(pd.read_csv(tmp_path / "m3" / "qc.tsv", sep="\t")) == 2
    assert not (tmp_path / "m3" / "qc.mzQC").exists()


def test_a_part_of_unreadable_runs_only_keeps_the_merged_mzqc(tmp_path: Path) -> None:
    # such a part has no mzQC beside it (nothing was read), and qc-merge wrote none at all,
    # where one `salivaprot qc` over the same files writes the readable runs' mzQC
    broken = tmp_path / "broken.mzML"
    broken.write_bytes(b"<?xml version='1.0'?><mzML><run>")
    files = [*map(str, RUNS[:3]), str(broken)]
    code, _ = run("qc", *files, "--out", str(tmp_path / "all"))
    assert code == 1  # (an unreadable run)
    parts = []
    for path in files:
        part = tmp_path / "parts" / Path(path).name.split(".")[0]
        run("qc", path, "--out", str(part))
        parts.append(str(part))
    assert not (tmp_path / "parts" / "broken" / "qc.mzQC").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputFormatWarning)
        code, output = run("qc-merge", *parts, "--out", str(tmp_path / "merged"))
    assert code == 1, output
    documents = [json.loads((tmp_path / f / "qc.mzQC").read_text()) for f in ("all", "merged")]
    assert documents[0]["mzQC"]["runQualities"] == documents[1]["mzQC"]["runQualities"]
    assert len(documents[1]["mzQC"]["runQualities"]) == 3
