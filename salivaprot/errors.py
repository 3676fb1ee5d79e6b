"""Exceptions and warnings raised by salivaprot.

Every error caused by user input derives from :class:`SalivaprotError`, so a
caller (and the command-line interface) can catch one class and show the
message without a traceback. An error may carry several problems at once:
checks collect everything they find before raising, so a user fixes a sample
sheet in one pass instead of one line per run.

Examples
--------
>>> from salivaprot.errors import InputFormatError
>>> err = InputFormatError("expected 12 fields, found 11", path="study.mzTab", line=40)
>>> str(err)
'study.mzTab, line 40: expected 12 fields, found 11'
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike

__all__ = [
    "DataError",
    "DesignError",
    "InputFormatError",
    "InputFormatWarning",
    "OutputError",
    "SalivaprotError",
    "SalivaprotWarning",
    "SampleSheetError",
]


def _where(path: str | PathLike[str] | None, line: int | None, column: str | None) -> str:
    parts = []
    if path is not None:
        parts.append(str(path))
    if line is not None:
        parts.append(f"line {line}")
    if column is not None:
        parts.append(f"column '{column}'")
    return ", ".join(parts)


class SalivaprotError(Exception):
    """Base class of every error caused by input that salivaprot cannot use.

    Parameters
    ----------
    problems : str or iterable of str
        One message, or several: all problems found by one check.
    path : str or path-like, optional
        The file the problems were found in; prefixed to each message.
    line : int, optional
        1-based line number, for a single problem.
    column : str, optional
        Column name, for a single problem.
    """

    def __init__(
        self,
        problems: str | Iterable[str],
        *,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        items = [problems] if isinstance(problems, str) else list(problems)
        if not items:
            raise ValueError("an error needs at least one problem")
        where = _where(path, line, column)
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column
        self.problems: list[str] = [f"{where}: {p}" if where else p for p in items]
        super().__init__("\n".join(self.problems))


class InputFormatError(SalivaprotError):
    """A file is not in the format expected, or cannot be used as it is."""


class SampleSheetError(SalivaprotError):
    """The sample sheet is malformed or does not fit the data."""


class DesignError(SalivaprotError):
    """The trial design (arms, visits, subjects) cannot support the request."""


class DataError(SalivaprotError):
    """A data container was built from inconsistent pieces."""


class OutputError(SalivaprotError):
    """An output folder cannot be used as asked (it holds an input, is not empty...)."""


class SalivaprotWarning(UserWarning):
    """Base class of salivaprot's warnings."""


class InputFormatWarning(SalivaprotWarning):
    """A file was usable but deviates from its specification."""
