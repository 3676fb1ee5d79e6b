"""`salivaprot --help`, `--version` and `import salivaprot` stay light (issue 11).

Speed itself is measured in benchmarks/bench_startup.py; what keeps it fast is
asserted here: none of these loads pandas, numpy's linear algebra users
(scipy), pyarrow or matplotlib.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "scipy", "pyarrow", "matplotlib", "statsmodels")

CODE = {
    "import": "import salivaprot",
    "help": (
        "from salivaprot.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    ),
    "version": (
        "from salivaprot.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass"
    ),
    "diff help": (
        "from salivaprot.cli import main\n"
        "try:\n    main(['diff', '--help'])\nexcept SystemExit:\n    pass"
    ),
}


@pytest.mark.parametrize("case", list(CODE))
def test_light_entry_points_do_not_import_the_heavy_stack(case: str) -> None:
    probe = (
        CODE[case]
        + f"\nimport sys\nprint('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1] == "HEAVY:", out


def test_public_names_still_resolve() -> None:
    import salivaprot

    for name in salivaprot.__all__:
        assert getattr(salivaprot, name) is not None
    assert salivaprot.__version__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        salivaprot.nope  # noqa: B018


DIFF_PROBE = """
import sys
from pathlib import Path
from salivaprot.cli import run
import gc
from salivaprot import _runtime
collected = sum(g["collections"] for g in gc.get_stats())
default = gc.get_threshold()
done = _runtime.imports_done
def imports_done():
    print("IMPORTS:", sum(g["collections"] for g in gc.get_stats()) - collected)
    done()
_runtime.imports_done = imports_done
try:
    run(sys.argv[1:])
except SystemExit as exit:
    assert not exit.code, exit.code
heavy = ("scipy.stats", "scipy.optimize", "scipy._lib.array_api_compat.numpy", "matplotlib",
         "statsmodels", "sklearn")
print("HEAVY:" + ",".join(m for m in heavy if m in sys.modules))
import gc
print("GC:", gc.get_threshold() == default, gc.get_freeze_count() > 10000)
"""


@pytest.mark.parametrize("extra", [[], ["--legacy-ebayes"]])
def test_diff_imports_only_what_limma_needs(tmp_path: Path, extra: list[str]) -> None:
    """The default limma run loads neither scipy.stats nor scipy.special's array-API layer."""
    from salivaprot.simulate import simulate_trial

    trial = simulate_trial(seed=3, n_proteins=60, subjects_per_arm=4, missing_fraction=0.1)
    pg = trial.write_pg_matrix(tmp_path / "report.pg_matrix.tsv", folder="D:\\raw")
    sheet = tmp_path / "samples.csv"
    columns = ["sample_id", "subject_id", "arm", "visit", "visit_day", "run"]
    trial.data.samples.reset_index()[columns].to_csv(sheet, index=False)
    command = ["--quiet", "diff", str(pg), "-s", str(sheet), "--out", str(tmp_path / "out")]
    out = subprocess.run(
        [sys.executable, "-c", DIFF_PROBE, *command, *extra],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines()[-2] == "HEAVY:", out
    assert (tmp_path / "out" / "results.tsv").exists()
    # while the command's process imports its modules the collector runs every 200,000
    # new objects, not every 700 (~170 collections, 35-60 ms, with the default); then
    # what was imported is frozen and Python's thresholds are back for the work
    imports = [line for line in out.splitlines() if line.startswith("IMPORTS:")]
    assert imports and int(imports[0].split()[1]) < 10, out
    assert out.splitlines()[-1] == "GC: True True", out


def test_the_library_keeps_the_default_garbage_collector() -> None:
    # only the command's own process changes it (salivaprot.cli.run)
    code = (
        "import gc\nbefore = gc.get_threshold()\nimport salivaprot.cli, salivaprot.diff\n"
        "from salivaprot.simulate import simulate_trial\n"
        "from salivaprot.preprocess import preprocess\n"
        "data = preprocess(simulate_trial(seed=1, n_proteins=20).data)\n"
        "salivaprot.diff.differential_abundance(data)\n"
        "print(gc.get_threshold() == before)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True"], out
