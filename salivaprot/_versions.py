"""Versions of salivaprot and the libraries its numbers depend on."""

from __future__ import annotations

import platform
from functools import cache
from importlib.metadata import PackageNotFoundError, version

KEY_DEPENDENCIES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "pyteomics",
    "click",
    "matplotlib",
    "pyarrow",
)


def versions() -> dict[str, str]:
    """Installed versions of Python, salivaprot and its key dependencies.

    Examples
    --------
    >>> info = versions()
    >>> list(info)[:3]
    ['salivaprot', 'python', 'numpy']
    """
    return dict(_installed())


@cache
def _installed() -> dict[str, str]:
    # looked up once per process (a look-up scans the folders of sys.path)
    found = {"salivaprot": _version("salivaprot"), "python": platform.python_version()}
    found.update({name: _version(name) for name in KEY_DEPENDENCIES})
    return found


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
