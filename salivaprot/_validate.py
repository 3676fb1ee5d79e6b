"""Argument checks shared by the public entry points.

Each raises the given :class:`~salivaprot.errors.SalivaprotError` subclass with
a message that names the argument and what was expected, so the Python API
refuses bad arguments the way the command line does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from salivaprot.errors import SalivaprotError

__all__ = ["check_seed", "check_sequence", "refuse_unused"]


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


def refuse_unused(
    function: Callable[..., object],
    arguments: Mapping[str, object],
    why: str,
    error: type[SalivaprotError],
) -> None:
    """Refuse ``arguments`` of ``function`` set other than their defaults: they would do nothing.

    The defaults are read from ``function``'s signature; an empty sequence counts
    as the default ``()`` or ``None``. ``why`` says what makes them useless.

    Examples
    --------
    >>> from salivaprot.errors import DataError
    >>> def f(*, method="a", seed=0, width=0.3): ...
    >>> refuse_unused(f, {"seed": 0, "width": 0.3}, "with method='a'", DataError)
    >>> refuse_unused(f, {"seed": 4}, "with method='a'", DataError)
    Traceback (most recent call last):
    ...
    salivaprot.errors.DataError: seed=4 has no effect with method='a': leave it at its default
    """
    import inspect

    defaults = inspect.signature(function).parameters

    def at_default(name: str, value: object) -> bool:
        default = defaults[name].default
        if isinstance(value, Sequence) and not isinstance(value, str) and not len(value):
            return default is None or default == ()
        return bool(value == default)

    changed = [
        f"{name}={value!r}" for name, value in arguments.items() if not at_default(name, value)
    ]
    if changed:
        one = len(changed) == 1
        raise error(
            f"{', '.join(changed)} {'has' if one else 'have'} no effect {why}: leave "
            f"{'it at its default' if one else 'them at their defaults'}"
        )
