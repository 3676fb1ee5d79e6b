"""salivaprot.stats._special: scipy.special's own functions, loaded without its array-API layer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from salivaprot import _runtime
from salivaprot.stats import _special


def test_same_functions_and_numbers_as_scipy_special() -> None:
    import scipy.special as sp

    df = np.array([1.0, 2.5, 7.0, 30.0, 1e6, np.inf, np.nan])
    x = np.array([-40.0, -2.0, -0.3, 0.0, 1.5, 12.0, np.nan])
    assert np.array_equal(_special.stdtr(df, x), sp.stdtr(df, x), equal_nan=True)
    assert np.array_equal(
        _special.fdtrc(df, df[::-1], np.abs(x)), sp.fdtrc(df, df[::-1], np.abs(x)), equal_nan=True
    )
    positive = np.array([1e-8, 0.5, 1.0, 2.5, 17.0, 400.0, 1e7])
    assert np.array_equal(_special.digamma(positive), sp.digamma(positive))
    assert np.array_equal(_special.gammaln(positive), sp.gammaln(positive))
    for n in (0, 1, 2, 3):
        assert np.array_equal(_special.polygamma(n, positive), sp.polygamma(n, positive))


def test_polygamma_on_the_ufuncs_matches_scipy() -> None:
    import scipy.special as sp
    import scipy.special._ufuncs as ufuncs

    positive = np.array([1e-8, 0.5, 1.0, 2.5, 17.0, 400.0, 1e7])
    for n in (0, 1, 2):
        ours = np.where(
            n == 0,
            ufuncs.psi(positive),
            (-1.0) ** (n + 1) * ufuncs.gamma(n + 1.0) * ufuncs._zeta(n + 1, positive),
        )
        assert np.array_equal(ours, sp.polygamma(n, positive))


LIGHT = """
import sys
import numpy as np
from salivaprot import _runtime
from salivaprot.stats import _special
_runtime.command_line = True
p = _special.stdtr(10.0, -2.0), _special.polygamma(1, 2.5), _special.digamma(2.0)
p += (_special.fdtrc(2.0, 30.0, 3.0), _special.gammaln(3.0))
print(sorted(m for m in sys.modules if "array_api_compat" in m or m == "scipy.special"))
import scipy.special
assert scipy.special.stdtr is _special.ufuncs().stdtr
assert scipy.special.polygamma(1, 2.5) == p[1]
print("ok")
"""


def test_light_load_skips_the_array_api_layer() -> None:
    out = subprocess.run(
        [sys.executable, "-c", LIGHT], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "ok"]


LIBRARY = """
import sys
from salivaprot.stats import _special
_special.stdtr(10.0, -2.0)
print("scipy.special" in sys.modules)
"""


def test_a_library_user_gets_the_ordinary_import() -> None:
    # without the command line's opt-in, sys.modules is left to Python's import system
    out = subprocess.run(
        [sys.executable, "-c", LIBRARY], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["True"]


def test_falls_back_to_scipy_special(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ImportError("another layout")

    monkeypatch.setattr(_special, "_loaded", None)
    monkeypatch.setitem(sys.modules, "scipy.special", None)  # not yet imported ...
    monkeypatch.delitem(sys.modules, "scipy.special")
    monkeypatch.setattr(_runtime, "command_line", True)
    monkeypatch.setattr(_special, "_load_light", broken)  # ... and the light load fails
    assert _special.ufuncs() is sys.modules["scipy.special"]
    assert _special.polygamma(1, 2.5) == sys.modules["scipy.special"].polygamma(1, 2.5)
