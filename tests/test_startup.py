"""`salivaprot --help`, `--version` and `import salivaprot` stay light (issue 11).

Speed itself is measured in benchmarks/bench_startup.py; what keeps it fast is
asserted here: none of these loads pandas, numpy's linear algebra users
(scipy), pyarrow or matplotlib.
"""

from __future__ import annotations

import subprocess
import sys

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
