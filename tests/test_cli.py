"""The command line: output, exit codes, clean errors, nothing half-written."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from salivaprot import read_diann
from salivaprot.cli import main
from salivaprot.simulate import SimulatedTrial

from .conftest import ROOT, TEST_DATA, real_file, write_sheet


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_names_key_dependencies() -> None:
    code, out, _ = run("--version")
    assert code == 0
    for name in ("salivaprot", "numpy", "pandas", "scipy", "statsmodels", "pyteomics", "click"):
        assert name in out


def test_console_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "salivaprot", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.startswith("salivaprot ")


def test_validate_bundled_study() -> None:
    code, out, err = run(
        "validate", str(TEST_DATA / "study.mzTab"), "--samples", str(TEST_DATA / "samples.csv")
    )
    assert code == 0, err
    assert "samples: 46" in out and "subjects: 16" in out
    assert (
        "visits (in order): baseline (16 samples), month1 (16 samples), month4 (14 samples)" in out
    )
    assert "proteins: 300 (240 targets, 9 contaminants, 6 decoys, 45 other species)" in out
    assert "placebo / baseline:" in out and "subjects with missed visits: 2" in out
    assert out.rstrip().endswith("OK: usable study.")


def test_validate_species_all_counts_every_species_as_target() -> None:
    code, out, _ = run(
        "validate", str(TEST_DATA / "study.mzTab"), "-s", str(TEST_DATA / "samples.csv"),
        "--species", "all",
    )  # fmt: skip
    assert code == 0 and "(285 targets, 9 contaminants, 6 decoys, 0 other species)" in out


def test_validate_lists_every_problem_without_traceback(tmp_path: Path) -> None:
    lines = (TEST_DATA / "samples.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    rows[0] = (
        rows[0].replace("placebo", "aMSC")
        if "placebo" in rows[0]
        else rows[0].replace("aMSC", "placebo")
    )
    rows[1] = rows[1].split(",", 1)[0] + "_x," + rows[1].split(",", 1)[1]
    broken = tmp_path / "samples.csv"
    broken.write_text("\n".join([header, *rows[:-1]]) + "\n")
    code, out, err = run("validate", str(TEST_DATA / "study.mzTab"), "-s", str(broken))
    assert code == 1
    assert "Traceback" not in err + out
    assert "appears in more than one arm" in err
    assert "1 data column(s) have no sample sheet row" in err  # the join is checked too
    assert "2 problems found." in err
    assert out == ""


def test_validate_join_problems(tmp_path: Path) -> None:
    lines = (TEST_DATA / "samples.csv").read_text().splitlines()
    sheet = tmp_path / "samples.csv"
    sheet.write_text("\n".join(lines[:-2]) + "\n")
    code, _, err = run("validate", str(TEST_DATA / "study.mzTab"), "-s", str(sheet))
    assert code == 1 and "2 data column(s) have no sample sheet row" in err
    code, out, _ = run(
        "validate", str(TEST_DATA / "study.mzTab"), "-s", str(sheet), "--drop-unlisted"
    )
    assert code == 0 and "left out 2 data column(s)" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary file"),
        (b"a,b\n1,2\n", "unrecognized input format"),
    ],
)
def test_validate_bad_data_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "data.mzTab"
    path.write_bytes(content)
    code, _, err = run("validate", str(path), "-s", str(TEST_DATA / "samples.csv"))
    assert code == 1 and message in err and "Traceback" not in err


def test_validate_missing_file_and_bad_options(tmp_path: Path) -> None:
    code, _, err = run("validate", str(tmp_path / "nope.mzTab"))
    assert code == 1 and "input file not found" in err
    code, _, err = run(
        "validate", str(TEST_DATA / "study.mzTab"), "-s", str(TEST_DATA / "samples.csv"),
        "--visits", "baseline,month 4", "--reference-arm", "control",
    )  # fmt: skip
    assert code == 1
    assert "--visits names 'month 4'" in err and "--reference-arm 'control' is not an arm" in err


def test_validate_real_identification_file_is_refused_cleanly() -> None:
    path = real_file("pyteomics/tests/test.mztab")
    code, _, err = run("validate", str(path))
    assert code == 1 and "identification-only" in err and "Traceback" not in err


def test_simulate_is_reproducible(tmp_path: Path) -> None:
    args = ["simulate", "--seed", "3", "--proteins", "40", "--subjects-per-arm", "2"]
    assert run(*args, "--out", str(tmp_path / "a"))[0] == 0
    code, _, err = run("--quiet", *args, "--out", str(tmp_path / "b"))
    assert code == 0 and err == ""
    for name in ("study.mzTab", "samples.csv", "truth.csv"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False)


@pytest.mark.parametrize(
    ("method", "label"),
    [("limma", "within-subject correlations"), ("mixed", "mixed models"), ("ancova", None)],
)
def test_the_progress_bar_names_the_work_of_the_method(
    tmp_path: Path, method: str, label: str | None
) -> None:
    assert run("--quiet", "simulate", "--proteins", "30", "--out", str(tmp_path / "s"))[0] == 0
    code, _, err = run(
        "diff", str(tmp_path / "s" / "study.mzTab"), "-s", str(tmp_path / "s" / "samples.csv"),
        "--method", method, "--out", str(tmp_path / "d"),
    )  # fmt: skip
    assert code == 0, err
    # (mixed said "within-subject correlations"; ANCOVA's fits are quick: no bar)
    assert (err.splitlines()[0].strip() if err else None) == label


def test_simulate_failure_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    code, _, err = run("simulate", "--out", str(blocker))
    assert code == 2 and "is a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    code, _, err = run("simulate", "--out", str(tmp_path / "x"), "--visits", "baseline")
    assert code == 1 and "visits must be at least two" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_demo_on_bundled_data(tmp_path: Path) -> None:
    code, out, _ = run("demo", "--data", str(TEST_DATA), "--out", str(tmp_path / "demo"))
    assert code == 0 and "OK" not in out
    assert (tmp_path / "demo" / "summary.txt").read_text().startswith("samples: 46")
    assert (tmp_path / "demo" / "diff" / "results.tsv").stat().st_size > 0
    match = re.search(
        r"truth check \(month4\): (\d+) proteins called at padj < 0.05, (\d+) of them", out
    )
    assert match and int(match.group(1)) > 0
    assert int(match.group(2)) / int(match.group(1)) > 0.8  # most calls are real changes


def test_demo_without_bundled_data_regenerates_it(tmp_path: Path) -> None:
    code, _, err = run("demo", "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "demo"))
    assert code == 0 and "simulating it" in err
    assert filecmp.cmp(
        tmp_path / "demo" / "data" / "study.mzTab", TEST_DATA / "study.mzTab", shallow=False
    )


def test_demo_refuses_half_a_study_and_a_bad_truth_table_before_the_work(tmp_path: Path) -> None:
    # half a study was swapped for a simulated one; a FIFO truth.csv hung after the whole
    # run, and a truth.csv of other columns or binary bytes ended in an internal error
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(TEST_DATA / "study.mzTab", half)
    code, out, err = run("--quiet", "demo", "--data", str(half), "--out", str(tmp_path / "d1"))
    assert code == 1 and "holds study.mzTab but no samples.csv" in err and not out
    for name, make in (
        ("fifo", lambda p: os.mkfifo(p)),
        ("columns", lambda p: p.write_text("a,b\n1,2\n")),
        ("binary", lambda p: p.write_bytes(bytes(range(256)) * 2)),
        ("flag", lambda p: p.write_text("protein_id,visit,is_changed\nP1,month4,yes\n")),
    ):
        data = tmp_path / name
        data.mkdir()
        for file in ("study.mzTab", "samples.csv"):
            shutil.copy(TEST_DATA / file, data)
        make(data / "truth.csv")
        code, out, err = run("demo", "--data", str(data), "--out", str(tmp_path / f"o_{name}"))
        assert code == 1 and "truth.csv" in err and "internal error" not in err, (name, err)
        assert "summary" not in out  # refused before any work
        assert not (tmp_path / f"o_{name}").exists()


def test_a_closed_stdout_is_not_an_error(tmp_path: Path) -> None:
    # `salivaprot diff ... | head -1` said "error: Broken pipe" after a complete run
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "salivaprot", "--quiet", "diff",
               str(TEST_DATA / "study.mzTab"), "-s", str(TEST_DATA / "samples.csv"),
               "--out", str(tmp_path / "out")]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # the reader is gone before the first line
        stderr = process.stderr.read().decode()
        status = process.wait(timeout=300)
    assert status == 141, stderr
    assert stderr == ""
    assert (tmp_path / "out" / "results.tsv").is_file()  # (the run was complete)


def test_internal_errors_are_reported_as_bugs(monkeypatch: pytest.MonkeyPatch) -> None:
    import salivaprot.summary

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(salivaprot.summary, "summarize", boom)
    code, _, err = run("validate", str(TEST_DATA / "study.mzTab"))
    assert code == 3 and "internal error: RuntimeError: unexpected" in err and "--debug" in err


def _bundled_lines() -> list[str]:
    return (TEST_DATA / "study.mzTab").read_text().splitlines()


def _truncated() -> str:
    text = (TEST_DATA / "study.mzTab").read_text()
    return text[: len(text) - 200]


def _short_row() -> str:
    lines = _bundled_lines()
    index = next(i for i, line in enumerate(lines) if line.startswith("PRT"))
    lines[index] = lines[index].rsplit("\t", 3)[0]
    return "\n".join(lines) + "\n"


def _text_abundance() -> str:
    lines = _bundled_lines()
    index = next(i for i, line in enumerate(lines) if line.startswith("PRT"))
    cells = lines[index].split("\t")
    cells[12] = "n/a"
    lines[index] = "\t".join(cells)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_truncated, "the file seems truncated"),
        (_short_row, "PRT row has"),
        (_text_abundance, "expected a number or null, found 'n/a'"),
    ],
)
def test_validate_malformed_mztab_through_the_cli(
    tmp_path: Path, make: Callable[[], str], message: str
) -> None:
    path = tmp_path / "study.mzTab"
    path.write_text(make())
    before = path.read_bytes()
    code, out, err = run("validate", str(path), "-s", str(TEST_DATA / "samples.csv"))
    assert code == 1 and message in err and "line " in err
    assert "Traceback" not in err and out == ""
    assert path.read_bytes() == before


def test_validate_accepts_bom_and_crlf(tmp_path: Path) -> None:
    mztab = tmp_path / "study.mzTab"
    mztab.write_bytes(
        b"\xef\xbb\xbf" + (TEST_DATA / "study.mzTab").read_bytes().replace(b"\n", b"\r\n")
    )
    sheet = tmp_path / "samples.csv"
    sheet.write_bytes(
        b"\xef\xbb\xbf" + (TEST_DATA / "samples.csv").read_bytes().replace(b"\n", b"\r\n")
    )
    code, out, _ = run("validate", str(mztab), "-s", str(sheet))
    assert code == 0 and "samples: 46" in out


def test_preprocess_writes_matrix_factors_and_qc(tmp_path: Path) -> None:
    out = tmp_path / "pre"
    code, stdout, err = run(
        "preprocess", str(TEST_DATA / "study.mzTab"), "-s", str(TEST_DATA / "samples.csv"),
        "--out", str(out), "--impute", "minprob", "--seed", "4", "--exclude-top", "5",
    )  # fmt: skip
    assert code == 0, err
    assert "46 samples x 224 proteins (76 removed" in stdout
    matrix = pd.read_csv(out / "matrix.tsv", sep="\t", index_col=0)
    assert matrix.shape == (224, 46) and matrix.index.name == "protein_id"
    samples = pd.read_csv(out / "samples.tsv", sep="\t", index_col=0)
    assert "normalization_offset_log2" in samples.columns
    removed = pd.read_csv(out / "removed_proteins.tsv", sep="\t", index_col=0)
    assert removed["reason"].value_counts().to_dict() == {
        "other_species": 45, "min_fraction": 16, "contaminant": 9, "decoy": 6,
    }  # fmt: skip
    imputed = pd.read_csv(out / "imputed.tsv", sep="\t", index_col=0)
    assert imputed.to_numpy().sum() > 0 and not matrix.isna().to_numpy().any()
    medians = pd.read_csv(out / "qc" / "sample_medians.tsv", sep="\t", index_col=0)
    assert (
        np.ptp(medians["median_after"].to_numpy()) > 0
    )  # exclude-top: whole-sample medians differ
    for name in ("missing_by_sample", "missing_by_group", "cv_by_group"):
        assert (out / "qc" / f"{name}.tsv").stat().st_size > 0
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == "preprocess" and record["seeds"] == {"impute": 4}
    assert (
        record["inputs"]["data"]["sha256"]
        == hashlib.sha256((TEST_DATA / "study.mzTab").read_bytes()).hexdigest()
    )
    assert record["steps"][-1].startswith("impute(method='minprob'")
    # the same run gives the same bytes
    again = tmp_path / "again"
    run(
        "preprocess", str(TEST_DATA / "study.mzTab"), "-s", str(TEST_DATA / "samples.csv"),
        "--out", str(again), "--impute", "minprob", "--seed", "4", "--exclude-top", "5",
    )  # fmt: skip
    assert filecmp.cmp(out / "matrix.tsv", again / "matrix.tsv", shallow=False)


def test_preprocess_output_scale_and_bad_options_write_nothing(tmp_path: Path) -> None:
    sheet = tmp_path / "samples.csv"
    text = (TEST_DATA / "samples.csv").read_text().splitlines()
    header = text[0].split(",")
    flow = header.index("flow_ml_min")
    row = text[3].split(",")
    row[flow] = "-0.05"
    text[3] = ",".join(row)
    sheet.write_text("\n".join(text) + "\n")
    out = tmp_path / "out"
    base = ["preprocess", str(TEST_DATA / "study.mzTab"), "-s", str(sheet), "--out", str(out)]
    code, _, err = run(*base, "--scale", "output")
    assert code == 1 and "'flow_ml_min' must be positive" in err and "Traceback" not in err
    code, _, err = run(*base, "--normalize", "reference", "--reference-proteins", "P04745,NOPE")
    assert code == 1 and "reference protein(s) not in the data: NOPE" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples.csv"]
    code, _, err = run(*base, "--normalize", "reference", "--reference-proteins", "P04745,P01876")
    assert code == 0, err


def _matrix_study(folder: Path, abundance: pd.DataFrame, samples: pd.DataFrame) -> list[str]:
    """A generic matrix (proteins x samples) and its sheet (run = sample_id): DATA -s SHEET."""
    folder.mkdir()
    matrix = abundance.T.rename_axis("protein_id")
    matrix.to_csv(folder / "matrix.tsv", sep="\t")
    samples.reset_index().assign(run=lambda t: t["sample_id"]).to_csv(
        folder / "samples.csv", index=False
    )
    return [str(folder / "matrix.tsv"), "-s", str(folder / "samples.csv")]


def test_preprocess_valid_values_judge_what_the_model_sees(
    tmp_path: Path, small_trial: SimulatedTrial
) -> None:
    # --keep-zeros: raw zeros become missing in log2, so they do not count as observed
    abundance, samples = small_trial.data.abundance.copy(), small_trial.data.samples
    protein = abundance.columns[5]
    abundance[protein] = 0.0
    arm, visit = samples.groupby(["arm", "visit"], observed=True).size().idxmax()  # 4 samples
    one = samples.index[samples["arm"].eq(arm) & samples["visit"].eq(visit)][0]
    abundance.loc[one, protein] = 1e7  # 1 real value among zeros
    data = _matrix_study(tmp_path / "zeros", abundance, samples)
    out = tmp_path / "kept"
    code, _, err = run("preprocess", *data, "--out", str(out), "--keep-zeros")
    assert code == 0, err
    removed = pd.read_csv(out / "removed_proteins.tsv", sep="\t", index_col=0)["reason"]
    assert removed[protein] == "min_fraction"
    assert protein not in pd.read_csv(out / "matrix.tsv", sep="\t", index_col=0).index
    # log2 input: zeros and negatives are values, and removed_proteins.tsv says what the
    # filter did with them (it judges the data on its declared scale)
    logged = np.log2(small_trial.data.abundance) - 40.0
    data = _matrix_study(tmp_path / "logged", logged, small_trial.data.samples)
    out = tmp_path / "log2"
    code, _, err = run("preprocess", *data, "--out", str(out), "--input-scale", "log2")
    assert code == 0, err
    removed = pd.read_csv(out / "removed_proteins.tsv", sep="\t", index_col=0)["reason"]
    kept = pd.read_csv(out / "matrix.tsv", sep="\t", index_col=0).index
    assert np.nanmax(logged.to_numpy()) < 0  # every value negative
    assert not set(kept) & set(removed.index)
    assert sorted([*kept, *removed.index]) == sorted(logged.columns)


@pytest.mark.parametrize("command", ["preprocess", "diff"])
def test_a_sample_left_without_values_is_refused_in_one_line(
    tmp_path: Path, small_trial: SimulatedTrial, command: str
) -> None:
    # its only values are contaminants': knn imputed it as 0.0 in every protein, silently
    abundance, proteins = small_trial.data.abundance.copy(), small_trial.data.proteins
    sample = abundance.index[3]
    abundance.loc[sample, ~proteins["is_contaminant"].to_numpy()] = np.nan
    data = _matrix_study(tmp_path / "study", abundance, small_trial.data.samples)
    out = tmp_path / "out"
    code, _, err = run(command, *data, "--out", str(out), "--normalize", "none", "--impute", "knn")
    assert code == 1 and not out.exists()
    assert err.count("\n") == 1 and err.startswith("error: 1 sample(s) have no value left")
    assert f"({sample}): every value they hold is in proteins the filters removed" in err


_STUDY = [str(TEST_DATA / "study.mzTab"), "-s", str(TEST_DATA / "samples.csv")]


@pytest.mark.parametrize(
    ("command", "options", "problems"),
    [
        (
            "diff",
            ["--normalize", "quantile", "--exclude-top", "10", "--no-filter", "--min-fraction",
             "0.9", "--reference-proteins", "P04745"],
            ["--min-fraction has no effect with --no-filter",
             "--exclude-top has no effect with --normalize quantile",
             "--reference-proteins has no effect with --normalize quantile"],
        ),
        ("preprocess", ["--normalize", "none", "--exclude-top", "5"],
         ["--exclude-top has no effect with --normalize none"]),
        ("preprocess", ["--normalize", "irs", "--exclude-top", "0"],
         ["--exclude-top has no effect with --normalize irs"]),
        ("preprocess", ["--reference-proteins", "P04745"],
         ["--reference-proteins has no effect with --normalize median"]),
        ("preprocess", ["--no-filter", "--in", "all", "--species", "all", "--exclude-pattern",
                        "^CON"],
         ["--in has no effect with --no-filter", "--species has no effect with --no-filter",
          "--exclude-pattern has no effect with --no-filter"]),
        ("preprocess", ["--seed", "3"], ["--seed has no effect with --impute none"]),
        ("diff", ["--impute", "knn", "--seed", "3"], ["--seed has no effect with --impute knn"]),
        ("diff", ["--use-imputed"], ["--use-imputed has no effect with --impute none"]),
        ("diff", ["--dupcor", "reml", "--correlation", "0.3"],
         ["--dupcor has no effect with --correlation"]),
        ("diff", ["--method", "mixed", "--dupcor", "statmod", "--contrast-se", "exact"],
         ["--dupcor applies to --method limma, not mixed",
          "--contrast-se applies to --method limma, not mixed"]),
        ("preprocess", ["--input-scale", "log2", "--keep-zeros"],
         ["--keep-zeros has no effect with --input-scale log2"]),
        ("validate", ["--input-scale", "log2", "--keep-zeros"],
         ["--keep-zeros has no effect with --input-scale log2"]),
    ],
    ids=["diff-probe", "exclude-top-none", "exclude-top-irs", "reference-median", "no-filter",
         "seed-none", "seed-knn", "use-imputed", "dupcor-correlation", "limma-only",
         "keep-zeros-log2", "validate-keep-zeros"],
)  # fmt: skip
def test_options_without_effect_are_refused(
    tmp_path: Path, command: str, options: list[str], problems: list[str]
) -> None:
    # an option the other options make ineffective would be ignored and still be
    # recorded in run.json: refused, one line each, before anything is read or written
    out = [] if command == "validate" else ["--out", str(tmp_path / "out")]
    code, stdout, err = run(command, *_STUDY, *out, *options)
    assert code == 1 and "Traceback" not in err and stdout == ""
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == len(problems)
    for line, problem in zip(lines, problems, strict=True):
        assert line.startswith(f"error: {problem}")
    assert list(tmp_path.iterdir()) == []


def test_options_at_their_defaults_are_never_refused(tmp_path: Path) -> None:
    # only what the user gives counts: the defaults of --min-fraction, --exclude-top, --seed
    # and --dupcor stand beside --no-filter, --normalize quantile, --correlation
    code, _, err = run(
        "preprocess", *_STUDY, "--out", str(tmp_path / "pre"), "--no-filter",
        "--normalize", "quantile",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = run("--quiet", "diff", *_STUDY, "--out", str(tmp_path / "diff"),
                       "--correlation", "0.3")  # fmt: skip
    assert code == 0, err


def test_errors_list_only_the_sheets_columns(tmp_path: Path) -> None:
    # the sample table also holds columns salivaprot adds (data_column, the normalization
    # record): a message about the user's sheet lists the sheet's columns only
    frame = pd.read_csv(TEST_DATA / "samples.csv")
    sheet = tmp_path / "samples.csv"
    frame.drop(columns="flow_ml_min").to_csv(sheet, index=False)
    columns = ", ".join(c for c in frame.columns if c not in ("sample_id", "flow_ml_min"))
    study = [str(TEST_DATA / "study.mzTab"), "-s", str(sheet)]
    code, _, err = run("preprocess", *study, "--out", str(tmp_path / "o"), "--scale", "output")
    assert code == 1
    assert err.splitlines() == [
        f"error: --scale output needs a 'flow_ml_min' column in the sample sheet; it has {columns}"
    ]
    code, _, err = run("diff", *study, "--out", str(tmp_path / "o"), "--covariate", "weight")
    assert code == 1
    assert err.splitlines() == [
        f"error: covariate 'weight' is not a column of the sample sheet; columns: {columns}"
    ]


# ---------------------------------------------------------------- other pipelines
MAXQUANT = "alphapeptstats/testfiles/maxquant_go/proteinGroups.txt"
DATA = Path(__file__).parent / "data"
#: its first 40 groups, which travel with the repository
MAXQUANT_FIRST40 = DATA / "proteinGroups.first40.txt"
DIANN_MATRIX = (
    "proteobench/test/data/subcellprofile_domlfq_protein_DIA_EXPL/"
    "DIA-NN_example_domlfq_report.pg_matrix.tsv"
)


@pytest.mark.parametrize(
    ("copy", "proteins"),
    [
        ("full", "882 (839 targets, 31 contaminants, 12 decoys, 0 other species)"),
        ("first40", "40 (3 targets, 25 contaminants, 12 decoys, 0 other species)"),
    ],
)
def test_validate_real_maxquant_file(copy: str, proteins: str) -> None:
    path = real_file(MAXQUANT) if copy == "full" else MAXQUANT_FIRST40
    code, out, err = run("validate", str(path))
    assert code == 0, err
    assert "samples: 10" in out
    assert f"proteins: {proteins}" in out
    assert "note: format: maxquant (recognized from its content)" in out
    assert "note: quantity: LFQ intensity (auto:" in out
    assert out.rstrip().endswith("OK: usable study.")


def test_validate_quantity_option() -> None:
    code, out, _ = run("validate", str(MAXQUANT_FIRST40), "--quantity", "ibaq")
    assert code == 0 and "note: quantity: iBAQ (as asked)" in out
    code, _, err = run("validate", str(real_file(DIANN_MATRIX)), "--quantity", "lfq")
    assert code == 1 and "applies to MaxQuant and FragPipe tables" in err
    assert "Traceback" not in err


def test_validate_diann_matrix_with_sheet_matching_file_stems(tmp_path: Path) -> None:
    stems = read_diann(real_file(DIANN_MATRIX)).columns["name"].tolist()
    sheet = write_sheet(tmp_path, stems)
    code, out, err = run("validate", str(real_file(DIANN_MATRIX)), "-s", str(sheet))
    assert code == 0, err
    assert "samples: 18" in out and "subjects: 9" in out
    assert "proteins: 299 (" in out and "45 contaminants, 0 decoys" in out


def test_validate_refuses_maxquant_evidence_cleanly() -> None:
    # the first 20 rows of proteobench's MaxQuant_2_5_1_evidence_sample.txt
    code, out, err = run("validate", str(DATA / "evidence.first20.txt"))
    assert code == 1 and out == ""
    assert "this is a MaxQuant evidence.txt or msms.txt" in err and "Traceback" not in err


def test_validate_bad_matrix_lists_cells(tmp_path: Path) -> None:
    path = tmp_path / "abundance.csv"
    path.write_text("protein_id,S1,S2\nP1,1,n.d.\nP2,x,3\nP1,4,5\n")
    code, out, err = run("validate", str(path), "--format", "matrix")
    assert code == 1 and out == "" and "Traceback" not in err
    assert "protein ID 'P1' is repeated on lines 2, 4" in err
    assert "line 2, column 'S2': expected a number" in err
    assert "line 3, column 'S1': expected a number" in err
    assert "3 problems found." in err


def test_validate_forced_wrong_format(tmp_path: Path) -> None:
    code, _, err = run("validate", str(MAXQUANT_FIRST40), "--format", "fragpipe")
    assert code == 1 and "no 'Protein' column" in err and "Traceback" not in err


def test_validate_refuses_a_study_without_any_value(tmp_path: Path) -> None:
    header = "Protein\tProtein ID\tA Intensity\tB Intensity\tA MaxLFQ Intensity\tB MaxLFQ Intensity"
    rows = [
        "sp|P04745|AMY1_HUMAN\tP04745\t5e9\t4e9\t0\t0",
        "sp|P02768|ALBU_HUMAN\tP02768\t1e8\t2e8\t0\t0",
    ]
    path = tmp_path / "combined_protein.tsv"
    path.write_text("\n".join([header, *rows]) + "\n")
    code, out, err = run("validate", str(path))
    assert code == 0, err
    assert "Intensity (auto: the '<sample> MaxLFQ Intensity' columns hold no values" in out
    code, out, err = run("validate", str(path), "--quantity", "lfq")
    assert code == 1
    assert "OK: usable study" not in out
    assert "holds no value" in err
