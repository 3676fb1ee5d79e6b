"""The few special functions the statistics need, without importing all of :mod:`scipy.special`.

``import scipy.special`` takes 0.12-0.25 s, nearly all of it in the array-API
layer that SciPy 1.14+ loads with it (``scipy._lib.array_api_compat`` clones
the numpy namespace, which imports ``numpy.f2py`` and ``numpy.testing``); at a
real trial's size that is a tenth of a ``salivaprot diff`` run. The functions
used here are numpy ufuncs of the compiled module ``scipy.special._ufuncs``,
which loads in ~15 ms on its own: it is loaded without running
``scipy/special/__init__.py`` (a bare package module stands in for
``scipy.special`` while it loads, and is removed at once). ``polygamma``
repeats scipy's three-line definition on those ufuncs.

The results are the very same functions (same objects: ``scipy.special.stdtr
is scipy.special._ufuncs.stdtr``), so the numbers are identical
(``tests/test_special.py`` checks both, and that the array-API layer is not
loaded). When ``scipy.special`` is already imported, or the light load fails
for any reason (another SciPy layout), ``scipy.special`` itself is used.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

import numpy as np

from salivaprot import _runtime

__all__ = ["digamma", "fdtrc", "gammaln", "polygamma", "stdtr", "ufuncs"]

_lock = threading.Lock()
_loaded: Any = None


def ufuncs() -> Any:
    """``scipy.special._ufuncs`` (or ``scipy.special``), loaded once."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _load()
    return _loaded


def _load() -> Any:
    full = sys.modules.get("scipy.special")
    if full is not None:
        return full
    if _runtime.command_line:
        try:
            return _load_light()
        except Exception:  # any other SciPy layout: the ordinary import
            pass
    import scipy.special

    return scipy.special


def _load_light() -> Any:
    import scipy

    stand_in = types.ModuleType("scipy.special")
    stand_in.__path__ = [f"{scipy.__path__[0]}/special"]
    stand_in.__package__ = "scipy.special"
    sys.modules["scipy.special"] = stand_in
    try:
        from scipy.special import _ufuncs
    finally:
        # the real package (imported later, e.g. by scipy.stats) finds the loaded
        # submodules in sys.modules and uses them
        if sys.modules.get("scipy.special") is stand_in:
            del sys.modules["scipy.special"]
        if vars(scipy).get("special") is stand_in:  # (getattr would import the package)
            delattr(scipy, "special")
    for name in ("stdtr", "fdtrc", "psi", "gammaln", "gamma", "_zeta"):
        if not isinstance(getattr(_ufuncs, name, None), np.ufunc):
            raise ImportError(f"scipy.special._ufuncs has no ufunc {name}")
    return _ufuncs


def stdtr(df: Any, t: Any) -> Any:
    """Student t distribution function (``scipy.special.stdtr``)."""
    return ufuncs().stdtr(df, t)


def fdtrc(dfn: Any, dfd: Any, x: Any) -> Any:
    """Upper tail of the F distribution (``scipy.special.fdtrc``)."""
    return ufuncs().fdtrc(dfn, dfd, x)


def digamma(x: Any) -> Any:
    """Digamma function (``scipy.special.digamma``, alias ``psi``)."""
    return ufuncs().psi(x)


def gammaln(x: Any) -> Any:
    """Log of the absolute gamma function (``scipy.special.gammaln``)."""
    return ufuncs().gammaln(x)


def polygamma(n: Any, x: Any) -> Any:
    """Polygamma function, as ``scipy.special.polygamma`` defines it.

    Examples
    --------
    >>> round(float(polygamma(1, 2.0)), 12)
    0.644934066848
    """
    module = ufuncs()
    if module.__name__ == "scipy.special":
        return module.polygamma(n, x)
    n, x = np.asarray(n), np.asarray(x)
    fac2 = (-1.0) ** (n + 1) * module.gamma(n + 1.0) * module._zeta(n + 1, x)
    return np.where(n == 0, module.psi(x), fac2)
