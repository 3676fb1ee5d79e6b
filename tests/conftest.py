"""Shared fixtures: simulated studies, and the real files in ../shared/real."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from shutil import which
from typing import Any

import pandas as pd
import pytest

from salivaprot.design import TrialDesign, trial_design
from salivaprot.io._files import EXACT_FLOATS
from salivaprot.io.sheets import sample_sheet
from salivaprot.simulate import SimulatedTrial, simulate_trial

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real"
TEST_DATA = ROOT / "test_data"
#: Copies of the smaller files of ../shared/real, same relative paths (tests/data/README.md).
REAL_COPIES = Path(__file__).parent / "data" / "real"
VISITS = ["baseline", "month1", "month4"]
#: Whether the full real files are here (a fresh clone has only the copies in tests/data).
FULL_REAL = REAL.is_dir() and not os.environ.get("SALIVAPROT_NO_REAL")
#: Chromium for the report's browser tests (Debian's ``chromium``; ``.ci/run`` installs it).
CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := which(name))),
    None,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "shared_real: reads a full file of ../shared/real; deselected (not skipped) when that "
        "folder is absent, because a trimmed copy in tests/data runs the same checks",
    )
    config.addinivalue_line(
        "markers",
        "browser: opens the HTML report in headless Chromium; deselected (not skipped) "
        "where Chromium is absent, except in CI (CI set), where its absence fails the test",
    )


def _without_browser() -> bool:
    return CHROMIUM is None and not os.environ.get("CI")


def pytest_report_header(config: pytest.Config) -> list[str]:
    if FULL_REAL:
        real = f"real files: {REAL} (full files and the trimmed copies in tests/data)"
    else:
        real = (
            "real files: ../shared/real absent (or SALIVAPROT_NO_REAL set): the trimmed copies "
            "in tests/data run; tests marked shared_real are deselected"
        )
    browser = (
        "browser: Chromium not found (apt-get install chromium): tests marked browser are "
        "deselected"
        if _without_browser()
        else f"browser: {CHROMIUM or 'Chromium required (CI) but not found'}"
    )
    return [real, browser]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect what this machine cannot run (full real files, a browser); pytest counts them."""
    absent = [] if FULL_REAL else ["shared_real"]
    if _without_browser():
        absent.append("browser")
    if not absent:
        return
    dropped = [item for item in items if any(item.get_closest_marker(m) for m in absent)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def write_file(folder: Path, content: str | bytes, name: str) -> Path:
    """Write text (UTF-8) or bytes to ``folder/name`` and return the path."""
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def write_sheet(folder: Path, runs: list[str], name: str = "samples.csv") -> Path:
    """A two-visit sample sheet whose ``run`` column names ``runs`` in order.

    Sample ``s{i}``; subjects ``P1, P1, P2, P2, ...`` (baseline, day 0, then month4,
    day 120);
    arms alternate by subject (``placebo``, ``aMSC``).
    """
    lines = ["sample_id,subject_id,arm,visit,visit_day,run"]
    for i, run in enumerate(runs):
        subject = i // 2 + 1
        arm = "placebo" if subject % 2 else "aMSC"
        visit, day = ("baseline", 0) if i % 2 == 0 else ("month4", 120)
        lines.append(f"s{i + 1},P{subject},{arm},{visit},{day},{run}")
    return write_file(folder, "\n".join(lines) + "\n", name)


def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file ``atomic_write`` opens writes to ``/dev/full``: the kernel's own
    "No space left on device", raised by a write, with no file name."""
    real_mkstemp = tempfile.mkstemp

    def on_a_full_disk(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), name

    monkeypatch.setattr("salivaprot.io._files.tempfile.mkstemp", on_a_full_disk)


def no_write_permission(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The output checks find ``folder`` not writable (``os.access`` is faked: the tests
    may run as root, who may write anywhere)."""
    real_access = os.access

    def access(path: Any, mode: int) -> bool:
        if Path(path) == folder and mode & os.W_OK:
            return False
        return real_access(path, mode)

    monkeypatch.setattr("salivaprot.io._outputs.os.access", access)


@contextlib.contextmanager
def pipe_path(content: bytes, *, timeout: float = 60) -> Iterator[str]:
    """A shell-style pipe path (``/dev/fd/N``) with a thread writing ``content`` into it."""
    read_end, write_end = os.pipe()

    def writer() -> None:
        with os.fdopen(write_end, "wb") as handle:
            handle.write(content)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield f"/dev/fd/{read_end}"
    finally:
        thread.join(timeout=timeout)
        os.close(read_end)


def real_folder() -> Path:
    """../shared/real, for tests marked ``shared_real`` (deselected when it is absent)."""
    if not FULL_REAL:
        pytest.fail(
            "this test reads ../shared/real, which is absent: mark it "
            "@pytest.mark.shared_real, or give it a copy in tests/data/real"
        )
    return REAL


def has_copy(relative: str) -> bool:
    """Whether a file of ../shared/real travels with the repository (tests/data/real)."""
    return any((REAL_COPIES / name).is_file() for name in (relative, f"{relative}.gz"))


def real_params(relatives: Any) -> list[Any]:
    """Parameters for real files: those with a copy always, the others marked ``shared_real``."""
    return [
        relative if has_copy(relative) else pytest.param(relative, marks=pytest.mark.shared_real)
        for relative in sorted(relatives)
    ]


def real_file(relative: str) -> Path:
    """Path of a file in ../shared/real, or of its copy in tests/data/real.

    Without ../shared/real (a fresh clone, or ``SALIVAPROT_NO_REAL=1``), the
    copy that travels with the repository is used: the same bytes at the same
    relative path (``.gz`` when compressed); see tests/data/README.md. A file
    with no copy fails the test unless it is marked ``shared_real``.
    """
    if FULL_REAL:
        path = REAL / relative
        assert path.is_file(), f"expected real file {relative} is missing from {REAL}"
        return path
    for copy in (REAL_COPIES / relative, REAL_COPIES / f"{relative}.gz"):
        if copy.is_file():
            return copy
    return real_folder() / relative  # fails: such a test must be marked shared_real


@pytest.fixture(scope="session")
def small_trial() -> SimulatedTrial:
    """A small seeded trial with missed visits."""
    return simulate_trial(seed=11, n_proteins=80, subjects_per_arm=4, dropout=0.25)


@pytest.fixture
def study_files(tmp_path: Path, small_trial: SimulatedTrial) -> dict[str, Path]:
    """The small trial written to a fresh folder."""
    return small_trial.write(tmp_path / "study")


REFERENCE = Path(__file__).resolve().parent / "reference"


def read_csv(*args: Any, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` parsing floats exactly, also under pandas 2 (R references)."""
    return pd.read_csv(*args, **EXACT_FLOATS, **kwargs)


#: Reference designs: visit order, reference arm and covariates used by make_reference.R.
REFERENCE_DESIGNS: dict[str, tuple[list[str], str, tuple[str, ...]]] = {
    "balanced": (["baseline", "month1", "month4"], "placebo", ()),
    "unbalanced": (["baseline", "month1", "month4"], "placebo", ()),
    "blinded": (["baseline", "week2", "month1", "month4"], "A", ("batch",)),
}


def load_reference_input(name: str) -> tuple[pd.DataFrame, TrialDesign]:
    """A reference design's log2 matrix (proteins x samples, sheet order) and its TrialDesign."""
    visits, reference_arm, covariates = REFERENCE_DESIGNS[name]
    frame = read_csv(REFERENCE / f"samples_{name}.csv")
    sheet = sample_sheet(frame, visits=visits, reference_arm=reference_arm)
    matrix = read_csv(REFERENCE / f"input_{name}.csv", index_col=0)[list(sheet.table.index)]
    return matrix, trial_design(sheet.table, covariates=covariates)


def reference_table(name: str) -> pd.DataFrame:
    """A stored R output table (tests/reference/<name>.csv)."""
    return read_csv(REFERENCE / f"{name}.csv")


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail (TimeoutError) instead of hanging CI when the block runs longer than ``seconds``.

    Uses SIGALRM; where there is none (Windows) the block simply runs.
    """
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - Windows
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: an endless loop?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
