"""Argument checks shared by the public entry points.

Each raises the given :class:`~salivaprot.errors.SalivaprotError` subclass with
a message that names the argument and what was expected, so the Python API
refuses bad arguments the way the command line does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from salivaprot.errors import SalivaprotError

__all__ = ["check_seed", "check_sequence"]


def check_sequence(
    name: str,
    value: Sequence[str] | None,
    error: type[SalivaprotError],
    *,
    example: str = "...",
) -> list[str] | None:
    """Return ``value`` as a list of strings; a lone string (not a list) is refused.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : sequence of str or None
        The argument.
    error : type
        The error class to raise.
    example : str
        An example element for the message.

    Returns
    -------
    list of str or None

    Examples
    --------
    >>> from salivaprot.errors import DataError
    >>> check_sequence("patterns", ("CON__",), DataError)
    ['CON__']
    >>> check_sequence("patterns", "CON__", DataError)
    Traceback (most recent call last):
    ...
    salivaprot.errors.DataError: patterns must be a list of strings, not the string 'CON__'; write patterns=['CON__']
    """  # noqa: E501
    if value is None:
        return None
    if isinstance(value, str | bytes):
        raise error(
            f"{name} must be a list of strings, not the string {value!r}; write {name}=[{value!r}]"
        )
    try:
        items = list(value)
    except TypeError:
        raise error(f"{name} must be a list of strings, not {type(value).__name__}") from None
    bad = [x for x in items if not isinstance(x, str)]
    if bad:
        raise error(f"{name} must hold strings (e.g. {example!r}); found {bad[:3]!r}")
    return items


def check_seed(seed: object, error: type[SalivaprotError]) -> int:
    """Return a random seed, or refuse one that is not a non-negative integer.

    Parameters
    ----------
    seed : object
        The seed.
    error : type
        The error class to raise.

    Returns
    -------
    int
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise error(f"seed must be a non-negative integer, not {seed!r}")
    return int(seed)
