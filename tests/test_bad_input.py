"""The bad-input catalogue: what the readers refuse, and that they never hang or crash.

Each case here once hung, crashed with an internal error or was read wrongly
(issue 8). Grouped by kind: files that are not regular files, streams, text
encodings and line endings, numbers, IDs, table shape, sample sheets, and the
command line's one-line answer to each. Cases that once hung run in a
subprocess with a timeout, so a regression fails instead of stalling CI.
Devices, named pipes, ``/dev/fd`` and bash are taken as given: salivaprot
runs on Linux (CI's platform).
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from salivaprot import (
    InputFormatError,
    InputFormatWarning,
    SalivaprotError,
    SampleSheetError,
    read,
    read_matrix,
    read_mztab,
    read_samples,
)
from salivaprot.cli import main
from salivaprot.io import read_quant
from salivaprot.simulate import simulate_trial

from .conftest import ROOT, pipe_path, write_file

VISITS = "baseline,month1,month4"
TIMEOUT = 120  # seconds; the hangs this guards against were endless


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny simulated study: 6 proteins, 4 subjects x 3 visits, no missed visits."""
    folder = tmp_path_factory.mktemp("study")
    return simulate_trial(seed=3, n_proteins=6, subjects_per_arm=2, dropout=0.0).write(folder)


@pytest.fixture(scope="module")
def matrix_text(study: dict[str, Path]) -> str:
    """The study as a tab-separated log2 matrix whose columns are the sheet's runs."""
    quant = read_mztab(study["mztab"]).quant()
    matrix = np.log2(quant.abundance)
    matrix.columns = pd.Index(quant.columns["name"])
    matrix.index.name = "protein_id"
    return matrix.to_csv(sep="\t", lineterminator="\n")


def mztab_lines(study: dict[str, Path]) -> list[str]:
    return study["mztab"].read_text().split("\n")


def prt_positions(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.startswith("PRT")]


def set_cell(line: str, position: int, value: str) -> str:
    fields = line.split("\t")
    fields[position] = value
    return "\t".join(fields)


def cli(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stderr


def assert_one_line_error(code: int, stderr: str, *expected: str) -> None:
    """Exit 1 with ``error:`` lines (no traceback, no internal error) naming what is expected."""
    assert code == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert errors, stderr
    for text in expected:
        assert any(text in line for line in errors), (text, stderr)


def run_cli_subprocess(*args: str | Path, shell: str | None = None) -> subprocess.CompletedProcess:
    """The command line in its own process, killed (and the test failed) after TIMEOUT."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command: list[str] | str
    if shell is None:
        command = [sys.executable, "-m", "salivaprot", *map(str, args)]
    else:
        command = ["bash", "-c", shell]
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"salivaprot did not answer within {TIMEOUT} s: {command}")


# ----------------------------------------------------------------- not regular files


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
@pytest.mark.parametrize(
    "reader",
    [
        lambda p: read(p),
        lambda p: read_quant(p, format="mztab"),
        lambda p: read_quant(p, format="matrix"),
        lambda p: read_quant(p, format="maxquant"),
        lambda p: read_mztab(p),
        lambda p: read_samples(p),
    ],
)
def test_devices_are_refused_up_front(device: str, reader: object) -> None:
    with pytest.raises(SalivaprotError, match="is a device, not a regular file"):
        reader(device)  # type: ignore[operator]


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="found a folder"):
        read_mztab(tmp_path)


@pytest.mark.parametrize("where", ["data", "samples", "forced"])
def test_named_pipe_is_refused_and_never_blocks(
    tmp_path: Path, study: dict[str, Path], where: str
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    args: list[str | Path] = ["validate", study["mztab"], "--samples", study["samples"]]
    if where == "data":
        args[1] = fifo
    elif where == "samples":
        args[3] = fifo
    else:
        args[1:2] = [fifo, "--format", "mztab"]
    done = run_cli_subprocess(*args, "--visits", VISITS)
    assert_one_line_error(done.returncode, done.stderr, f"{fifo}: is a named pipe (FIFO)")


def test_symlink_loop_and_dangling_link_are_named(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(InputFormatError, match="a symbolic link loop"):
        read(tmp_path / "a")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone.mzTab")
    with pytest.raises(InputFormatError, match=r"a symbolic link to .*gone\.mzTab.*does not exist"):
        read_samples(tmp_path / "dangling")


def test_a_symlink_to_a_regular_file_is_fine(tmp_path: Path, study: dict[str, Path]) -> None:
    (tmp_path / "link.mzTab").symlink_to(study["mztab"])
    assert read(tmp_path / "link.mzTab").shape == read(study["mztab"]).shape


# ---------------------------------------------------------------------- streams


@pytest.mark.parametrize("compress", [False, True])
def test_a_pipe_is_read_once(study: dict[str, Path], compress: bool) -> None:
    content = study["mztab"].read_bytes()
    if compress:
        content = gzip.compress(content, mtime=0)
    with pipe_path(content, timeout=TIMEOUT) as path:
        # detection and reading both see the whole stream (once read twice: "empty")
        data = read(path)
    assert data.shape == read(study["mztab"]).shape


def test_process_substitution_on_the_command_line(study: dict[str, Path]) -> None:
    mztab, samples = study["mztab"], study["samples"]
    shell = (
        f"{sys.executable} -m salivaprot validate <(gzip -c '{mztab}') "
        f"--samples <(cat '{samples}') --visits {VISITS}"
    )
    done = run_cli_subprocess(shell=shell)
    assert done.returncode == 0, done.stderr
    assert "OK: usable study." in done.stdout


def test_one_stream_given_as_two_inputs_is_refused(study: dict[str, Path], tmp_path: Path) -> None:
    # `validate /dev/stdin --samples /dev/stdin` read the mzTab as the sample sheet
    # and reported a parse error of the sheet
    shell = (
        f"cat '{study['mztab']}' | {sys.executable} -m salivaprot validate /dev/stdin "
        "--samples /dev/stdin"
    )
    done = run_cli_subprocess(shell=shell)
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        "error: the data file /dev/stdin and the sample sheet /dev/stdin are one stream "
        "(standard input or a pipe), which can be read only once: give each input its own "
        "file, or its own <(command)\n"
    )
    # one pipe under two names, as any two inputs of a run, refused before any output
    with pipe_path(study["mztab"].read_bytes(), timeout=TIMEOUT) as path:
        again = path.replace("/dev/fd/", "/proc/self/fd/")
        for args in (
            ["validate", path, "--samples", again],
            ["diff", study["mztab"], "-s", path, "--qc", again, "--out", tmp_path / "out"],
        ):
            code, stderr = cli(*args)
            assert_one_line_error(code, stderr, f"{path} and the ", f" {again} are one stream")
    assert not (tmp_path / "out").exists()


# -------------------------------------------------------- encodings and line ends


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_with_bom_is_decoded_and_noted(
    tmp_path: Path, study: dict[str, Path], encoding: str
) -> None:
    text = study["mztab"].read_text()
    bom = {"utf-16": b"", "utf-16-be": b"\xfe\xff", "utf-32": b""}[encoding]
    path = write_file(tmp_path, bom + text.encode(encoding), "excel.mzTab")
    quant = read_quant(path)
    pd.testing.assert_frame_equal(quant.abundance, read_quant(study["mztab"]).abundance)
    name = "UTF-32" if encoding == "utf-32" else "UTF-16"
    assert f"decoded as {name} (byte-order mark)" in quant.notes
    utf16 = b"\xff\xfe" + study["samples"].read_text().encode("utf-16-le")
    sheet = read_samples(write_file(tmp_path, utf16, "samples.txt"), visits=VISITS.split(","))
    assert "decoded as UTF-16 (byte-order mark)" in sheet.notes


def test_utf16_matrix(tmp_path: Path, matrix_text: str) -> None:
    path = write_file(tmp_path, matrix_text.encode("utf-16"), "matrix.txt")
    quant = read_matrix(path)
    assert quant.abundance.shape == (6, 12)
    assert "decoded as UTF-16 (byte-order mark)" in quant.notes


def test_utf16_without_bom_is_named(tmp_path: Path, matrix_text: str) -> None:
    path = write_file(tmp_path, matrix_text.encode("utf-16-le"), "matrix.txt")
    with pytest.raises(InputFormatError, match="UTF-16 text without a byte-order mark"):
        read(path)


def test_cr_only_line_ends_everywhere(
    tmp_path: Path, study: dict[str, Path], matrix_text: str
) -> None:
    old_mac = study["mztab"].read_bytes().replace(b"\n", b"\r")
    mztab = write_file(tmp_path, old_mac, "mac.mzTab")
    pd.testing.assert_frame_equal(read(mztab).abundance, read(study["mztab"]).abundance)
    matrix = write_file(tmp_path, matrix_text.replace("\n", "\r"), "mac.tsv")
    assert read(matrix).shape == (12, 6)
    sheet = write_file(tmp_path, study["samples"].read_bytes().replace(b"\n", b"\r"), "mac.csv")
    assert len(read_samples(sheet, visits=VISITS.split(","))) == 12


def test_huge_comment_line_is_no_csv_field(tmp_path: Path, study: dict[str, Path]) -> None:
    # csv's field limit is 131072 characters; a comment line may be anything
    text = "COM\t" + "x" * 2_000_000 + "\n" + study["mztab"].read_text()
    path = write_file(tmp_path, text, "commented.mzTab")
    assert read(path).shape == (12, 6)


def test_huge_header_field_is_a_clear_error(tmp_path: Path) -> None:
    path = write_file(tmp_path, 'protein_id,"' + "x" * 200_000 + '"\nP1,1\n', "m.csv")
    with pytest.raises(InputFormatError, match="line 1: the header line cannot be split"):
        read_matrix(path)


# ---------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value", ["1e400", "-1e400", "inf", "INF", "-Infinity", "1e200"])
def test_mztab_infinite_or_huge_abundance_is_an_error(
    tmp_path: Path, study: dict[str, Path], value: str
) -> None:
    lines = mztab_lines(study)
    first = prt_positions(lines)[0]
    lines[first] = set_cell(lines[first], -3, value)
    path = write_file(tmp_path, "\n".join(lines), "study.mzTab")
    with pytest.raises(InputFormatError) as info:
        read_mztab(path)
    message = str(info.value)
    assert f"line {first + 1}, column 'protein_abundance_assay[" in message
    assert f"expected a finite number, found '{value}'" in message


@pytest.mark.parametrize("value", ["1e400", "inf", "-inf", "1e155", "-2e50"])
def test_matrix_infinite_or_huge_value_is_an_error(
    tmp_path: Path, matrix_text: str, value: str
) -> None:
    lines = matrix_text.split("\n")
    lines[2] = set_cell(lines[2], 3, value)
    path = write_file(tmp_path, "\n".join(lines), "log2.tsv")
    column = matrix_text.split("\t")[3]
    with pytest.raises(InputFormatError, match=rf"line 3, column '{column}': expected a finite"):
        read_matrix(path)


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("Protein.Group\tGenes\tS1\tS2", "P04745\tAMY1A\t{}\t2"),  # DIA-NN pg_matrix
        (
            "Protein\tProtein ID\tS1 MaxLFQ Intensity\tS2 MaxLFQ Intensity",
            "sp|P04745|AMY1_HUMAN\tP04745\t{}\t2",
        ),  # FragPipe
        (
            "Protein IDs\tMajority protein IDs\tIntensity S1\tIntensity S2",
            "P04745\tP04745\t{}\t2",
        ),  # MaxQuant
    ],
)
def test_pipeline_tables_share_the_rule(tmp_path: Path, header: str, row: str) -> None:
    path = write_file(tmp_path, f"{header}\n{row.format('1e400')}\n", "table.tsv")
    with pytest.raises(InputFormatError, match=r"line 2, column .*expected a finite number"):
        read_quant(path)


def test_sheet_covariate_infinite_is_an_error(tmp_path: Path, study: dict[str, Path]) -> None:
    text = study["samples"].read_text().split("\n")
    header = text[0].split(",")
    text[3] = set_cell(text[3].replace(",", "\t"), header.index("flow_ml_min"), "inf")
    text[3] = text[3].replace("\t", ",")
    path = write_file(tmp_path, "\n".join(text), "samples.csv")
    with pytest.raises(SampleSheetError, match="'flow_ml_min' at line 4: expected a finite"):
        read_samples(path, visits=VISITS.split(","))


def test_huge_log2_value_no_longer_hangs_the_statistics(tmp_path: Path, matrix_text: str) -> None:
    # one value above ~1e154 once made the limma fit loop forever (and one above ~1e77
    # made it fail with an internal error)
    lines = matrix_text.split("\n")
    lines[1] = set_cell(lines[1], 1, "1e100")
    matrix = write_file(tmp_path, "\n".join(lines), "log2.tsv")
    sheet = tmp_path / "samples.csv"
    sheet.write_bytes(
        simulate_trial(seed=3, n_proteins=6, subjects_per_arm=2, dropout=0.0)
        .write(tmp_path / "s")["samples"]
        .read_bytes()
    )
    done = run_cli_subprocess(
        "diff", matrix, "--samples", sheet, "--visits", VISITS, "--input-scale", "log2",
        "--no-filter", "--normalize", "none", "--out", tmp_path / "out",
    )  # fmt: skip
    assert_one_line_error(done.returncode, done.stderr, "line 2, column ", "expected a finite")


# -------------------------------------------------------------------------- IDs


def test_two_null_accessions_name_file_and_lines(tmp_path: Path, study: dict[str, Path]) -> None:
    lines = mztab_lines(study)
    rows = prt_positions(lines)
    for i in rows[:2]:
        lines[i] = set_cell(lines[i], 1, "null")
    path = write_file(tmp_path, "\n".join(lines), "study.mzTab")
    code, stderr = cli("validate", path, "--samples", study["samples"], "--visits", VISITS)
    assert_one_line_error(
        code,
        stderr,
        f"{path}: missing protein accession (written 'null') on lines {rows[0] + 1}, {rows[1] + 1}",
    )


def test_empty_accession_is_an_error(tmp_path: Path, study: dict[str, Path]) -> None:
    lines = mztab_lines(study)
    row = prt_positions(lines)[2]
    lines[row] = set_cell(lines[row], 1, "  ")
    path = write_file(tmp_path, "\n".join(lines), "study.mzTab")
    with pytest.raises(InputFormatError, match=f"empty protein accession on line {row + 1}"):
        read_mztab(path).quant()


def test_accessions_are_stripped(tmp_path: Path, study: dict[str, Path]) -> None:
    lines = mztab_lines(study)
    rows = prt_positions(lines)
    first = lines[rows[0]].split("\t")[1]
    lines[rows[0]] = set_cell(lines[rows[0]], 1, f" {first} ")
    path = write_file(tmp_path, "\n".join(lines), "spaced.mzTab")
    assert first in read_mztab(path).quant().abundance.index
    lines[rows[1]] = set_cell(lines[rows[1]], 1, f"{first} ")
    path = write_file(tmp_path, "\n".join(lines), "twice.mzTab")
    with pytest.raises(InputFormatError, match=f"accession '{first}' is repeated on lines"):
        read_mztab(path).quant()


def test_matrix_na_protein_id_is_an_error(tmp_path: Path) -> None:
    path = write_file(tmp_path, "protein_id,S1\nP1,1\nNA,2\n", "m.csv")
    with pytest.raises(InputFormatError, match=r"missing protein ID \(written 'NA'\) on line 3"):
        read_matrix(path)


# ------------------------------------------------------------------- table shape


@pytest.mark.parametrize("header_too", [False, True])
def test_tab_at_the_end_of_every_matrix_row(
    tmp_path: Path, matrix_text: str, header_too: bool
) -> None:
    lines = matrix_text.rstrip("\n").split("\n")
    padded = [line + "\t" if (i or header_too) else line for i, line in enumerate(lines)]
    path = write_file(tmp_path, "\n".join(padded) + "\n", "trailing.tsv")
    quant = read_matrix(path, zero_as_missing=False)
    reference = read_matrix(write_file(tmp_path, matrix_text, "m.tsv"), zero_as_missing=False)
    pd.testing.assert_frame_equal(quant.abundance, reference.abundance)
    assert any("separator at the end of each line" in note for note in quant.notes)


def test_a_value_after_the_last_column_is_an_error(tmp_path: Path) -> None:
    path = write_file(tmp_path, "protein_id\tS1\nP1\t1\t\nP2\t2\t7\n", "m.tsv")
    with pytest.raises(InputFormatError, match=r"more fields than the 2 columns .* on line 3"):
        read_matrix(path)


# ----------------------------------------------------------------- sample sheets


@pytest.mark.parametrize("token", ["NA", "N/A", "#N/A", "null"])
def test_arm_written_na_is_missing_not_a_third_arm(
    tmp_path: Path, study: dict[str, Path], token: str
) -> None:
    lines = study["samples"].read_text().split("\n")
    header = lines[0].split(",")
    lines[7] = set_cell(lines[7].replace(",", "\t"), header.index("arm"), token).replace("\t", ",")
    path = write_file(tmp_path, "\n".join(lines), "samples.csv")
    with pytest.raises(SampleSheetError, match=rf"missing 'arm' \(written '{token}'\) at line 8"):
        read_samples(path, visits=VISITS.split(","))


def test_trailing_comma_on_every_row_does_not_shift_columns(
    tmp_path: Path, study: dict[str, Path]
) -> None:
    lines = study["samples"].read_text().rstrip("\n").split("\n")
    padded = [lines[0], *(line + "," for line in lines[1:])]
    path = write_file(tmp_path, "\n".join(padded) + "\n", "samples.csv")
    sheet = read_samples(path, visits=VISITS.split(","))
    reference = read_samples(study["samples"], visits=VISITS.split(","))
    pd.testing.assert_frame_equal(sheet.table, reference.table)
    assert any("separator at the end of each line" in note for note in sheet.notes)


def test_sheet_row_with_an_extra_value_is_named(tmp_path: Path, study: dict[str, Path]) -> None:
    lines = study["samples"].read_text().rstrip("\n").split("\n")
    lines[4] += ",surplus"
    path = write_file(tmp_path, "\n".join(lines) + "\n", "samples.csv")
    with pytest.raises(SampleSheetError, match=r"more fields than the 11 columns .* on line 5"):
        read_samples(path, visits=VISITS.split(","))


# ----------------------------------------------- the command line answers each case


def _bad_inputs(tmp_path: Path, study: dict[str, Path], matrix_text: str) -> dict[str, Path]:
    lines = mztab_lines(study)
    first = prt_positions(lines)[0]
    overflow = list(lines)
    overflow[first] = set_cell(lines[first], -3, "1e400")
    nulls = list(lines)
    for i in prt_positions(lines)[:2]:
        nulls[i] = set_cell(lines[i], 1, "null")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    huge = matrix_text.split("\n")
    huge[1] = set_cell(huge[1], 2, "1e200")
    return {
        "overflow": write_file(tmp_path, "\n".join(overflow), "overflow.mzTab"),
        "null accessions": write_file(tmp_path, "\n".join(nulls), "nulls.mzTab"),
        "device": Path("/dev/zero"),
        "folder": tmp_path,
        "loop": tmp_path / "loop",
        "extra value": write_file(tmp_path, "protein_id\tS1\nP1\t1\t2\n", "extra.tsv"),
        "huge log2": write_file(tmp_path, "\n".join(huge), "x.tsv"),
        "utf-16 without bom": write_file(tmp_path, matrix_text.encode("utf-16-le"), "u.tsv"),
    }


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("overflow", "expected a finite number, found '1e400'"),
        ("null accessions", "missing protein accession (written 'null')"),
        ("device", "/dev/zero: is a device, not a regular file"),
        ("folder", "expected an input file, found a folder"),
        ("loop", "a symbolic link loop"),
        ("extra value", "extra.tsv: more fields than the 2 columns of the header"),
        ("huge log2", "expected a finite number, found '1e200'"),
        ("utf-16 without bom", "looks like UTF-16 text without a byte-order mark"),
    ],
)
def test_command_line_answers_with_a_one_line_error(
    tmp_path: Path, study: dict[str, Path], matrix_text: str, case: str, expected: str
) -> None:
    path = _bad_inputs(tmp_path, study, matrix_text)[case]
    code, stderr = cli("validate", path, "--samples", study["samples"], "--visits", VISITS)
    assert_one_line_error(code, stderr, expected)


# ----------------------------------------------- found by the property test


def test_stray_quote_in_a_header_is_an_error(tmp_path: Path) -> None:
    # csv reads the whole header as one quoted field; pandas then warned and dropped data
    path = write_file(tmp_path, '"protein_id\tS1\tS2\nP1\t1\t2\nP2\t3\t4\n', "m.tsv")
    with pytest.raises(InputFormatError):
        read_matrix(path)


def test_mztab_without_taxid_column(tmp_path: Path, study: dict[str, Path]) -> None:
    lines = mztab_lines(study)
    header = next(i for i, line in enumerate(lines) if line.startswith("PRH"))
    position = lines[header].split("\t").index("taxid")
    for i in [header, *prt_positions(lines)]:
        fields = lines[i].split("\t")
        del fields[position]
        lines[i] = "\t".join(fields)
    path = write_file(tmp_path, "\n".join(lines), "no_taxid.mzTab")
    assert read_mztab(path).quant().abundance.shape == (6, 12)


# ------------------------------------------------ other files the command line reads


def test_reference_protein_list_from_a_named_pipe_is_refused(
    tmp_path: Path, study: dict[str, Path]
) -> None:
    fifo = tmp_path / "proteins.txt"
    os.mkfifo(fifo)
    done = run_cli_subprocess(
        "preprocess", study["mztab"], "--samples", study["samples"], "--visits", VISITS,
        "--out", tmp_path / "out", "--normalize", "reference", "--reference-proteins", f"@{fifo}",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr  # a bad option value: click's usage error
    assert "is a named pipe (FIFO)" in done.stderr


def test_reference_protein_list_from_a_file(tmp_path: Path, study: dict[str, Path]) -> None:
    proteins = read_mztab(study["mztab"]).quant().abundance.index[:3]
    listing = write_file(tmp_path, "\r".join(proteins) + "\r", "proteins.txt")  # CR-only
    code, stderr = cli(
        "preprocess", study["mztab"], "--samples", study["samples"], "--visits", VISITS,
        "--out", tmp_path / "out", "--normalize", "reference", "--reference-proteins",
        f"@{listing}",
    )  # fmt: skip
    assert code == 0, stderr


@pytest.mark.parametrize("content", [b"", b"  \n\n", b"\xef\xbb\xbf", b"\r\r\r"])
def test_empty_data_file_says_empty(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(InputFormatError, match="the input file is empty"):
        read(write_file(tmp_path, content, "data.tsv"))


def test_trailing_separator_noted_before_trailing_blank_lines(tmp_path: Path) -> None:
    path = write_file(tmp_path, "protein_id\tS1\nP1\t1\t\nP2\t2\t\n\n\n", "m.tsv")
    assert any("separator at the end" in note for note in read_matrix(path).notes)


def test_diann_report_rows_with_a_null_group_are_left_out(tmp_path: Path) -> None:
    text = (
        "File.Name\tProtein.Group\tPG.MaxLFQ\tQ.Value\n"
        "a.raw\tP04745\t5\t0.001\n"
        "a.raw\tnull\t7\t0.001\n"
        "b.raw\tP04745\t6\t0.001\n"
    )
    quant = read_quant(write_file(tmp_path, text, "report.tsv"))
    assert list(quant.abundance.index) == ["P04745"]
    assert any("1 precursor rows without a protein group" in note for note in quant.notes)


# ------------------------------------------------------- cut files and shifted rows
DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "reader"),
    [("combined_protein.tsv", "read_quant"), ("report.tsv", "read_quant"),
     ("matrix", "read_matrix")],
)  # fmt: skip
def test_a_file_whose_last_line_has_no_line_end_warns_of_its_last_cell(
    tmp_path: Path, name: str, reader: str
) -> None:
    # cut inside its last number, a file read that number short (4.25e7 as 4.2) in silence
    if name == "matrix":
        text = "protein_id\tS1\tS2\nP04745\t2.1e9\t1.9e9\nP61626\t3.5e7\t425\n"
    else:
        text = (DATA / name).read_text(encoding="utf-8")
    last = text.rstrip("\n").rsplit("\t", 1)[1]
    cut = write_file(tmp_path, text.rstrip("\n")[:-1], name if name != "matrix" else "m.tsv")
    read_it = read_quant if reader == "read_quant" else read_matrix
    lines = text.rstrip("\n").count("\n") + 1
    with pytest.warns(InputFormatWarning, match=rf"line {lines}, the last, has no line end.*"
                      rf"its last cell \('{last[:-1]}'\) may be incomplete"):  # fmt: skip
        read_it(cut)
    _, stderr = cli("validate", cut)
    assert "has no line end" in stderr and "Traceback" not in stderr


def test_a_report_cut_inside_a_row_is_refused(tmp_path: Path) -> None:
    text = (DATA / "report.tsv").read_text(encoding="utf-8")
    cut = write_file(tmp_path, text[: len(text) - 200], "report.tsv")
    with pytest.raises(InputFormatError, match="the file seems truncated"):
        read_quant(cut)


@pytest.mark.parametrize("name", ["report.tsv", "combined_protein.tsv"])
def test_a_row_with_a_field_inserted_is_refused_not_shifted(tmp_path: Path, name: str) -> None:
    # an extra separator mid-row shifted the report's columns (Q.Value read from the charge)
    # (MaxQuant rows leave out their empty last fields: one more field there goes unseen)
    lines = (DATA / name).read_text(encoding="utf-8").split("\n")
    cells = lines[3].split("\t")
    cells.insert(4, "stray")
    lines[3] = "\t".join(cells)
    shifted = write_file(tmp_path, "\n".join(lines), name)
    with pytest.raises(InputFormatError, match=r"more fields than the \d+ columns.* on line 4"):
        read_quant(shifted)


def test_a_stray_quote_is_named_by_its_line(tmp_path: Path) -> None:
    # pandas' "EOF inside string starting at row 2" counted rows from 0 after the header
    text = 'protein_id\tS1\tS2\nP1\t1\t2\nP2\t3\t4\n"P3\t5\t6\nP4\t7\t8\n'
    with pytest.raises(InputFormatError, match="the quote opened on line 4 is never closed"):
        read_matrix(write_file(tmp_path, text, "m.tsv"))


def test_a_report_with_a_separator_at_the_end_of_every_line_still_reads(tmp_path: Path) -> None:
    # one empty field more on every line is a trailing separator, not a stray one
    text = (DATA / "report.tsv").read_text(encoding="utf-8")
    trailing = "\n".join(line + "\t" if line else line for line in text.split("\n"))
    quant = read_quant(write_file(tmp_path, trailing, "report.tsv"))
    expected = read_quant(DATA / "report.tsv")
    pd.testing.assert_frame_equal(quant.abundance, expected.abundance, check_exact=True)
