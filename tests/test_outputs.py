"""Issue 8: the output folder is the unit; inputs are never overwritten; clean exits.

Every test here failed on the code before the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import salivaprot.io.results
import salivaprot.preprocess
from salivaprot.cli import main
from salivaprot.errors import OutputError
from salivaprot.io._files import atomic_write

from .conftest import TEST_DATA, full_disk, no_write_permission

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes; folders end in '/'."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        out[key + "/" if path.is_dir() else key] = b"" if path.is_dir() else path.read_bytes()
    return out


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """The bundled study copied into its own folder."""
    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("study.mzTab", "samples.csv"):
        shutil.copy(TEST_DATA / name, folder / name)
    return folder


def one_line_error(code: int, err: str, wanted: str) -> None:
    assert code == 1, err
    assert wanted in err, err
    assert "Traceback" not in err and ".partial" not in err
    assert len(err.strip().splitlines()) == 1, err


# ------------------------------------------------------------- inputs are never outputs
@pytest.mark.parametrize("command", ["preprocess", "diff"])
def test_out_at_the_inputs_folder_is_refused_and_inputs_stay(study: Path, command: str) -> None:
    before = snapshot(study)
    code, out, err = run(
        command, str(study / "study.mzTab"), "-s", str(study / "samples.csv"), "--out", str(study)
    )
    assert code == 1 and out == ""
    assert "holds the data file" in err and "holds the sample sheet" in err
    assert "Traceback" not in err
    assert snapshot(study) == before
    # --force does not make it acceptable
    code, _, err = run(
        command, str(study / "study.mzTab"), "-s", str(study / "samples.csv"),
        "--out", str(study), "--force",
    )  # fmt: skip
    assert code == 1 and "inputs are never modified" in err
    assert snapshot(study) == before


def test_out_holding_the_contrasts_or_reference_file_is_refused(
    study: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    contrasts = out / "contrasts.yaml"
    contrasts.write_text('m4_vs_m1: {"aMSC:month4": 1, "aMSC:month1": -1}\n')
    reference = out / "reference.txt"
    reference.write_text("P04745\nP01876\n")
    before = snapshot(out)
    code, _, err = run(
        "diff", str(study / "study.mzTab"), "-s", str(study / "samples.csv"), "--out", str(out),
        "--contrasts", str(contrasts), "--force",
    )  # fmt: skip
    one_line_error(code, err, "holds the contrasts file")
    code, _, err = run(
        "preprocess", str(study / "study.mzTab"), "-s", str(study / "samples.csv"),
        "--out", str(out), "--normalize", "reference", "--reference-proteins", f"@{reference}",
        "--force",
    )  # fmt: skip
    one_line_error(code, err, "holds the reference-protein file")
    assert snapshot(out) == before


def test_a_symbolic_link_to_an_input_counts_as_an_input(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "samples.csv").symlink_to(study / "samples.csv")
    code, _, err = run(
        "preprocess", str(study / "study.mzTab"), "-s", str(out / "samples.csv"),
        "--out", str(out), "--force",
    )  # fmt: skip
    one_line_error(code, err, "holds the sample sheet")
    assert (out / "samples.csv").is_symlink()


def test_out_inside_the_data_folder_is_fine(study: Path) -> None:
    code, _, err = run(
        "preprocess", str(study / "study.mzTab"), "-s", str(study / "samples.csv"),
        "--out", str(study / "pre"),
    )  # fmt: skip
    assert code == 0, err
    assert (study / "pre" / "run.json").is_file()


def test_empty_out_and_the_current_folder_are_refused(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    args = ["preprocess", str(study / "study.mzTab"), "-s", str(study / "samples.csv")]
    code, _, err = run(*args, "--out", "")
    one_line_error(code, err, "--out is empty")
    code, _, err = run(*args, "--out", ".", "--force")
    one_line_error(code, err, "is the current folder or contains it")
    code, _, err = run(*args, "--out", str(tmp_path), "--force")
    assert code == 1 and "is the current folder or contains it" in err
    assert "holds the data file" in err and "3 problems found." in err
    assert list(work.iterdir()) == []


# ------------------------------------------------------------------ no stale files
def test_rerun_into_a_folder_with_content_needs_force(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "pre"
    base = ["preprocess", str(study / "study.mzTab"), "-s", str(study / "samples.csv")]
    assert run(*base, "--out", str(out), "--impute", "minprob")[0] == 0
    assert (out / "imputed.tsv").exists()
    before = snapshot(out)
    code, _, err = run(*base, "--out", str(out))
    one_line_error(code, err, "is not empty")
    assert "--force" in err
    assert snapshot(out) == before
    code, _, err = run(*base, "--out", str(out), "--force")
    assert code == 0, err
    assert not (out / "imputed.tsv").exists()  # the new run did not write it
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"]["impute_method"] == "none"
    # diff into a preprocess folder: only diff's files afterwards
    code, _, err = run(
        "diff", str(study / "study.mzTab"), "-s", str(study / "samples.csv"),
        "--out", str(out), "--force",
    )  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "matrix.tsv", "matrix_before_normalization.tsv", "results.parquet", "results.tsv",
        "run.json", "sample_flow.tsv", "samples.tsv",
    ]  # fmt: skip
    assert json.loads((out / "run.json").read_text())["command"] == "diff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pre", "study"]  # nothing hidden left


def test_an_empty_existing_folder_is_used(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    code, _, err = run(
        "preprocess", str(study / "study.mzTab"), "-s", str(study / "samples.csv"),
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert (out / "matrix.tsv").is_file()


def test_simulate_and_demo_follow_the_same_rules(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", "--proteins", "20", "--subjects-per-arm", "2", "--out", str(out)]
    assert run(*args)[0] == 0
    (out / "stale.txt").write_text("old")
    code, _, err = run(*args)
    one_line_error(code, err, "is not empty")
    code, out_text, err = run(*args, "--force")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["samples.csv", "study.mzTab", "truth.csv"]
    assert ".partial" not in out_text and str(out / "study.mzTab") in out_text
    code, _, err = run("demo", "--data", str(TEST_DATA), "--out", str(out))
    one_line_error(code, err, "is not empty")


def test_demo_records_where_its_simulated_inputs_end_up(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code, stdout, err = run("demo", "--data", str(tmp_path / "absent"), "--out", str(out))
    assert code == 0, err
    assert ".partial" not in stdout + err
    record = json.loads((out / "diff" / "run.json").read_text())
    assert record["inputs"]["data"]["path"] == str(out / "data" / "study.mzTab")
    assert ".partial" not in (out / "diff" / "run.json").read_text()


# ------------------------------------------------------- a failed run changes nothing
def test_failed_forced_run_leaves_the_old_folder_whole(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "pre"
    base = ["preprocess", str(study / "study.mzTab"), "-s", str(study / "samples.csv")]
    assert run(*base, "--out", str(out))[0] == 0
    (out / "run.json").unlink()
    (out / "run.json").mkdir()  # a folder in the way of a file
    (out / "run.json" / "keep.txt").write_text("mine")
    before = snapshot(out)

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device", str(_args[1]))

    monkeypatch.setattr(salivaprot.io.results, "write_json", disk_full)
    code, _, err = run(*base, "--out", str(out), "--force")
    one_line_error(code, err, "No space left on device")
    assert str(out / "run.json") in err  # names the output folder, not the staging folder
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pre", "study"]
    monkeypatch.undo()
    code, _, err = run(*base, "--out", str(out), "--force")  # the folder in the way is replaced
    assert code == 0, err
    assert (out / "run.json").is_file()


def test_a_full_disk_names_the_file_being_written(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the kernel's ENOSPC carries no file name: it said "error: No space left on device"
    full_disk(monkeypatch)
    preprocess = ["preprocess", str(study / "study.mzTab"), "-s", str(study / "samples.csv")]
    simulate = ["simulate", "--proteins", "20", "--subjects-per-arm", "2"]  # (staged twice)
    for args, out in ((preprocess, tmp_path / "pre"), (simulate, tmp_path / "sim")):
        code, _, err = run(*args, "--out", str(out))
        one_line_error(code, err, "No space left on device")
        assert err.startswith(f"error: {out}{os.sep}"), err  # a file of the output folder
        assert ".tmp" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]


def test_a_failed_swap_keeps_the_old_folder_and_names_the_output(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sim"
    args = ["simulate", "--proteins", "20", "--subjects-per-arm", "2", "--out", str(out)]
    assert run(*args)[0] == 0
    before = snapshot(out)
    real_rename = os.rename

    def busy(source: str | Path, target: str | Path) -> None:
        if Path(source) == out.resolve():
            raise OSError(16, "Device or resource busy", str(source))
        real_rename(source, target)

    monkeypatch.setattr("salivaprot.io._outputs.os.rename", busy)
    code, _, err = run(*args, "--seed", "2", "--force")
    one_line_error(code, err, "could not be put in place: Device or resource busy")
    assert ".old" not in err
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim", "study"]


def test_output_problems_are_found_before_any_computation(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_computation(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("computed before checking the output folder")

    monkeypatch.setattr(salivaprot.preprocess, "preprocess", no_computation)
    monkeypatch.setattr("salivaprot.io.study.load_study", no_computation)
    base = ["preprocess", str(study / "study.mzTab"), "-s", str(study / "samples.csv")]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(*base, "--out", str(blocker / "sub"))
    one_line_error(code, err, "cannot be created")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("x")
    code, _, err = run(*base, "--out", str(taken))
    one_line_error(code, err, "is not empty")
    # read-only output folder
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    no_write_permission(monkeypatch, readonly)
    code, _, err = run(*base, "--out", str(readonly))
    one_line_error(code, err, "cannot be written (permission denied)")
    code, _, err = run(*base, "--out", str(readonly / "sub"))
    one_line_error(code, err, "no permission to write in")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "readonly", "study", "taken"]


def test_a_file_where_a_folder_should_be_is_named_as_a_file(study: Path, tmp_path: Path) -> None:
    # `--out afile/...` said "error: afile: File exists" (report) or named it in full
    afile = tmp_path / "afile"
    afile.write_text("mine")
    base = ["preprocess", str(study / "study.mzTab"), "-s", str(study / "samples.csv")]
    code, _, err = run(*base, "--out", str(afile / "pre"))
    one_line_error(code, err, f"--out {afile / 'pre'} cannot be created: {afile} is a file, not")
    # the library's writers say the same (atomic_write)
    said = r"afile/sub/x\.tsv: .*afile is a file, not a folder"
    with pytest.raises(OutputError, match=said), atomic_write(afile / "sub" / "x.tsv") as handle:
        handle.write("x")
    assert afile.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "study"]


# ------------------------------------------------------------- Ctrl-C and bad seeds
def test_ctrl_c_during_a_run_exits_130_with_one_line(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(salivaprot.preprocess, "preprocess", interrupt)
    code, _, err = run(
        "diff", str(study / "study.mzTab"), "-s", str(study / "samples.csv"),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 130 and err.strip() == "error: interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]


def test_ctrl_c_during_start_up_exits_130_without_traceback() -> None:
    script = (
        "import sys\n"
        "sys.argv = ['salivaprot', '--version']\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'click':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from salivaprot.cli import main\n"
        "main()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == "error: interrupted"


def test_ctrl_c_during_start_up_of_python_m_salivaprot(tmp_path: Path) -> None:
    # a sitecustomize interrupts the import of click, as Ctrl-C during start-up would
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'click':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    result = subprocess.run(
        [sys.executable, "-m", "salivaprot", "--version"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == "error: interrupted"


def _diff_stopped(
    study: Path, tmp_path: Path, stop: str, entry: str
) -> subprocess.CompletedProcess[str]:
    """``salivaprot diff`` (by ``python -m``) whose preprocessing runs ``stop`` instead."""
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "stop_probe.py").write_text(
        "import os, signal, sys, time\n"
        "sys.argv = ['salivaprot']\n"
        "import salivaprot.preprocess\n"
        "def stop(*args, **kwargs):\n"
        f"    {stop}\n"
        "salivaprot.preprocess.preprocess = stop\n"
        f"from salivaprot.cli.commands import {entry}\n"
        f"{entry}(['diff', {str(study / 'study.mzTab')!r}, '-s', {str(study / 'samples.csv')!r},"
        f" '--out', {str(tmp_path / 'out')!r}])\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(probe)]))
    return subprocess.run(
        [sys.executable, "-m", "stop_probe"], capture_output=True, text=True, timeout=120, env=env
    )


def test_ctrl_c_inside_exec_still_exits_130(study: Path, tmp_path: Path) -> None:
    # CPython < 3.12 run with -m ends a process by SIGINT (-2) after a caught
    # KeyboardInterrupt that was raised inside exec() (as dataclasses run code)
    result = _diff_stopped(study, tmp_path, "exec('raise KeyboardInterrupt')", "main")
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == "error: interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe", "study"]


@pytest.mark.parametrize(("signal_name", "status"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_terminated_run_leaves_no_half_written_folder(
    study: Path, tmp_path: Path, signal_name: str, status: int
) -> None:
    # SLURM, snakemake and timeout stop a job with SIGTERM; its staging folder stayed behind
    stop = f"os.kill(os.getpid(), signal.{signal_name}); time.sleep(60)"
    result = _diff_stopped(study, tmp_path, stop, "run")  # (run: the console script's entry)
    assert result.returncode == status, result.stderr
    assert result.stderr.strip() == f"error: terminated ({signal_name})"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe", "study"]


def test_importing_the_library_leaves_the_exception_hook_alone() -> None:
    script = "import sys\nhook = sys.excepthook\nimport salivaprot\nprint(sys.excepthook is hook)"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.stdout.strip() == "True", result.stderr


def test_ctrl_c_while_parsing_options_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    import salivaprot._versions

    def interrupt() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(salivaprot._versions, "versions", interrupt)
    code, _, err = run("--version")
    assert code == 130 and err.strip() == "error: interrupted"


@pytest.mark.parametrize("command", ["simulate", "preprocess"])
def test_negative_seed_is_a_clear_usage_error(study: Path, tmp_path: Path, command: str) -> None:
    args = [command, "--seed", "-5", "--out", str(tmp_path / "out")]
    if command == "preprocess":
        args += [str(study / "study.mzTab"), "-s", str(study / "samples.csv")]
    code, _, err = run(*args)
    assert code == 2 and "Invalid value for '--seed'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_file_names_that_are_not_utf8_are_written_escaped(study: Path, tmp_path: Path) -> None:
    # report and qc stopped with an internal error (UnicodeEncodeError) on such a name
    data = tmp_path / os.fsdecode(b"st\xffudy.mzTab")
    shutil.copy(study / "study.mzTab", data)
    run_file = tmp_path / os.fsdecode(b"S\xff01.mzML.gz")
    shutil.copy(ROOT / "test_data" / "workflow" / "mzml" / "SJ001_P01_baseline.mzML.gz", run_file)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for args in (
        ["diff", os.fsencode(data), "-s", str(study / "samples.csv"), "--out", "res"],
        ["report", "res", "--out", "report.html"],
        ["qc", os.fsencode(run_file), "--out", "qc"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "salivaprot", "--quiet", *args],
            capture_output=True, timeout=300, env=env, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert "st\\udcffudy.mzTab" in (tmp_path / "report.html").read_text(encoding="utf-8")
    qc = (tmp_path / "qc" / "qc.tsv").read_text(encoding="utf-8")
    assert qc.splitlines()[1].startswith("S\\xff01\t") and "S\\xff01.mzML.gz\t" in qc
