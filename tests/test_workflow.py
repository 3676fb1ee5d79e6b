"""The Snakemake workflow in workflows/ runs for real on the bundled test study (issue 13).

Snakemake runs in a temporary working folder (so the checkout stays clean),
with the workflow's own config and the test study's files given as absolute
paths; the mzML folder is a copy, so that one run can be changed. Tests of how
the workflow builds its commands run it with a stand-in `salivaprot` (first on
PATH) that records its arguments and writes the files each rule expects.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "workflows"
STUDY = ROOT / "test_data" / "workflow"
N_RUNS = 24


def snakemake(
    work: Path,
    *args: str,
    config: dict[str, object] | None = None,
    bin_dir: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run Snakemake on the workflow in ``work``.

    The config is the workflow's own with the test study's files, then ``config``
    on top; it is written to a file (``--config`` would read nested values as text).
    """
    settings = yaml.safe_load((WORKFLOW / "config" / "config.yaml").read_text())
    settings.update(
        samples=str(WORKFLOW / "config" / "samples.csv"),
        mzml_dir=str(work / "mzml"),
        proteins=str(STUDY / "report.pg_matrix.tsv"),
        results="results",
    )
    settings.update(config or {})
    configfile = work / "test-config.yaml"
    configfile.write_text(yaml.safe_dump(settings, sort_keys=False))
    command = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(WORKFLOW / "workflow" / "Snakefile"),
        "--directory", str(work),
        "--configfile", str(configfile),
        *args,
    ]  # fmt: skip
    # the rules call `salivaprot`: the one installed beside this Python (or a stand-in)
    path = [str(Path(sys.executable).parent), os.environ["PATH"]]
    env = dict(os.environ, PATH=os.pathsep.join([str(bin_dir), *path] if bin_dir else path))
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake run or dry run."""
    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("workflow")
    shutil.copytree(STUDY / "mzml", folder / "mzml")
    return folder


def test_lint_is_clean(work: Path) -> None:
    result = snakemake(work, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_dry_run_lists_one_qc_job_per_run(work: Path) -> None:
    result = snakemake(work, "-n")
    assert result.returncode == 0, result.stderr
    expected = {"qc": N_RUNS, "qc_merge": 1, "diff": 1, "figures": 1, "report": 1, "all": 1}
    assert job_counts(result.stdout + result.stderr) == expected


def test_runs_to_the_report_then_reruns_only_what_changed(work: Path) -> None:
    result = snakemake(work, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    results = work / "results"
    assert (results / "report.html").stat().st_size > 0
    assert any((results / "figures").glob("*.pdf"))
    record = (results / "diff" / "run.json").read_text()
    assert "SJ023_P07_month4" in record  # failed QC (1/1000 of the signal), left out
    assert len(list((results / "logs" / "qc").glob("*.log"))) == N_RUNS

    again = snakemake(work, "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr

    # a changed mzML (new content, not just a new time stamp) reruns its QC and what follows
    from salivaprot.io.mzml_example import write_example_mzml

    write_example_mzml(
        work / "mzml" / "SJ005_P06_baseline.mzML.gz",
        n_spectra=24, ms2_per_ms1=5, ms1_peaks=12, ms2_peaks=6, seed=99, gz=True,
    )  # fmt: skip
    changed = snakemake(work, "-n")
    assert changed.returncode == 0, changed.stderr
    assert job_counts(changed.stdout + changed.stderr) == {
        "qc": 1,
        "qc_merge": 1,
        "diff": 1,
        "figures": 1,
        "report": 1,
        "all": 1,
    }


def test_bad_config_is_refused_by_the_schema(work: Path) -> None:
    result = snakemake(work, "-n", config={"figures": {"formats": ["gif"]}})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Error validating config file" in output and "'gif' is not one of" in output


# --- the workflow's commands, run with a stand-in salivaprot ----------------------------------

FAKE_SALIVAPROT = """\
#!{python}
# A stand-in for salivaprot: records its arguments, then writes what the rule expects
# (or fails, without writing, when FAKE_SALIVAPROT_FAIL names the command).
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
command = next(a for a in args if not a.startswith("-"))
with open(os.environ["FAKE_SALIVAPROT_CALLS"], "a") as calls:
    calls.write(json.dumps(args) + "\\n")
if os.environ.get("FAKE_SALIVAPROT_FAIL") == command:
    sys.exit(1)
out = Path(args[args.index("--out") + 1])
files = {{
    "qc": ["qc.tsv", "qc.mzQC"],
    "qc-merge": ["qc.tsv", "qc.mzQC"],
    "diff": ["results.tsv", "run.json", "matrix.tsv"],
    "figures": ["volcano.pdf"],
}}
if command == "report":
    out.write_text("report")
else:
    out.mkdir(parents=True, exist_ok=True)
    for name in files[command]:
        (out / name).write_text(command)
"""


def sheet_runs() -> list[str]:
    with open(WORKFLOW / "config" / "samples.csv", newline="") as handle:
        return [row["run"] for row in csv.DictReader(handle)]


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A working folder with an (empty) mzML per run: enough for dry runs."""
    (tmp_path / "mzml").mkdir()
    for run in sheet_runs():
        (tmp_path / "mzml" / f"{run}.mzML.gz").touch()
    return tmp_path


@pytest.fixture
def fake(study: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The study's working folder with a stand-in salivaprot in bin/."""
    (study / "bin").mkdir()
    program = study / "bin" / "salivaprot"
    program.write_text(FAKE_SALIVAPROT.format(python=sys.executable))
    program.chmod(0o755)
    monkeypatch.setenv("FAKE_SALIVAPROT_CALLS", str(study / "calls.jsonl"))
    monkeypatch.delenv("FAKE_SALIVAPROT_FAIL", raising=False)
    return study


def calls(work: Path, command: str) -> list[list[str]]:
    """The arguments of every call of the stand-in salivaprot's ``command``."""
    lines = (work / "calls.jsonl").read_text().splitlines()
    return [args for args in map(json.loads, lines) if args[1] == command]


def holds(args: list[str], part: list[str]) -> bool:
    return any(args[i : i + len(part)] == part for i in range(len(args) - len(part) + 1))


def test_config_values_reach_salivaprot_as_given_never_read_by_the_shell(fake: Path) -> None:
    marker = fake / "INJECTED"
    odd = [
        "a b'c",
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"x; touch {marker}",
        f"x && touch {marker}",
        'say "hi" > out',
        "",
    ]
    config = {
        "results": "results 'a b'|c",
        "diff": {
            "exclude_pattern": "^CON__|^REV__",
            "trend": True,
            "robust": False,
            "covariate": odd,
        },
        "qc": {
            "exclude_failed_runs": True,
            "options": {"outlier_z": 3.5, "min_ms2": f"5000; touch {marker}"},
        },
    }
    result = snakemake(fake, "--cores", "1", config=config, bin_dir=fake / "bin")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not marker.exists()
    results = fake / "results 'a b'|c"
    assert (results / "report.html").read_text() == "report"

    (diff,) = calls(fake, "diff")
    covariates = [item for value in odd for item in ("--covariate", value)]
    assert holds(diff, ["--exclude-pattern", "^CON__|^REV__", "--trend", *covariates])
    assert "--robust" not in diff
    assert holds(diff, ["--out", "results 'a b'|c/diff"])
    (merge,) = calls(fake, "qc-merge")
    assert holds(merge, ["--outlier-z", "3.5", "--min-ms2", f"5000; touch {marker}"])


def test_a_failed_job_leaves_no_part_of_its_output_folder(
    fake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Snakemake removes the declared outputs of a failed job; a folder written by
    # salivaprot is declared as a whole, so none of an older run's files stay behind
    result = snakemake(fake, "--cores", "1", bin_dir=fake / "bin")
    assert result.returncode == 0, result.stderr[-3000:]
    for rule, command in [
        ("figures", "figures"),
        ("diff", "diff"),
        ("qc_merge", "qc-merge"),
        ("qc", "qc"),
    ]:
        monkeypatch.setenv("FAKE_SALIVAPROT_FAIL", command)
        result = snakemake(fake, "--cores", "1", "--forcerun", rule, bin_dir=fake / "bin")
        assert result.returncode != 0, result.stderr[-3000:]
        failed = calls(fake, command)[-1]
        out = fake / failed[failed.index("--out") + 1]
        assert not out.exists(), f"{rule}: {sorted(p.name for p in out.iterdir())} left"
    monkeypatch.delenv("FAKE_SALIVAPROT_FAIL")
    result = snakemake(fake, "--cores", "1", bin_dir=fake / "bin")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (fake / "results" / "diff" / "matrix.tsv").exists()


# --- path settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [("results", ""), ("results", " \t"), ("mzml_dir", ""), ("samples", " "), ("proteins", "")],
)
def test_empty_path_settings_are_refused_by_the_schema(study: Path, key: str, value: str) -> None:
    result = snakemake(study, "-n", config={key: value})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Error validating config file" in output and f"instance['{key}']" in output


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ("/", "is the filesystem root"),
        ("/tmp/..", "is the filesystem root"),
        (str(Path.home()), "is the home folder"),
        ("mzml", "is the mzml_dir"),
        (".", "holds the mzml_dir"),
        (str(WORKFLOW / "config"), "is the sample sheet's folder"),
        (str(STUDY.parent), "holds the protein table's folder"),
    ],
)
def test_results_folder_must_be_one_of_its_own(study: Path, results: str, message: str) -> None:
    result = snakemake(study, "-n", config={"results": results})
    assert result.returncode != 0
    assert f"results: {results!r} {message}" in result.stdout + result.stderr


# --- the mzML of each run -------------------------------------------------------------------


def test_a_missing_mzml_stops_the_workflow_also_beside_older_results(fake: Path) -> None:
    # the probe: with the results of an earlier run present, deleting runs' mzML
    # went unnoticed (nothing to be done; the study's QC kept the deleted runs)
    result = snakemake(fake, "--cores", "1", bin_dir=fake / "bin")
    assert result.returncode == 0, result.stderr[-3000:]
    gone = ["SJ005_P06_baseline", "SJ017_P02_month4"]
    for run in gone:
        (fake / "mzml" / f"{run}.mzML.gz").unlink()
    result = snakemake(fake, "-n", bin_dir=fake / "bin")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"2 of the sample sheet's {N_RUNS} runs without an mzML" in output
    assert ", ".join(gone) in output


def test_a_run_with_two_mzml_files_stops_the_workflow(study: Path) -> None:
    (study / "mzml" / "SJ005_P06_baseline.mzML").write_text("another")
    result = snakemake(study, "-n")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "SJ005_P06_baseline (SJ005_P06_baseline.mzML, SJ005_P06_baseline.mzML.gz)" in output


def test_an_mzml_dir_that_is_not_a_folder_is_named(study: Path) -> None:
    result = snakemake(study, "-n", config={"mzml_dir": str(study / "nowhere")})
    assert result.returncode != 0
    assert f"mzml_dir: {str(study / 'nowhere')!r} is not a folder" in result.stdout + result.stderr
