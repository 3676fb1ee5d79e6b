"""Choices the command line makes for the process it owns (a library keeps the defaults)."""

from __future__ import annotations

import gc

#: Set by ``salivaprot`` (the command) before it runs a command, while no thread runs:
#: the process is then the command's, and it may take shortcuts a library may not
#: (see :mod:`salivaprot.stats._special`).
command_line = False

#: Generation thresholds of the garbage collector while the command's process imports
#: its modules. Python's default (a young collection every 700 new objects) ran ~170
#: collections while a trial-size ``diff`` imported pandas, numpy and pyarrow (35-60 ms
#: of a 0.7 s run, measured), for almost no garbage: every 200,000 instead, as mypy
#: does, until :func:`imports_done`.
GC_THRESHOLDS = (200_000, 30, 30)
_saved_thresholds: tuple[int, ...] | None = None


def own_process() -> None:
    """Mark the process as the command's and let it import without collections.

    Called by ``salivaprot.cli.run`` before a command runs; see :func:`imports_done`.

    Examples
    --------
    >>> import gc
    >>> import salivaprot._runtime as runtime
    >>> before = gc.get_threshold(), runtime.command_line
    >>> runtime.own_process()
    >>> gc.get_threshold() == runtime.GC_THRESHOLDS and runtime.command_line
    True
    >>> runtime.imports_done()
    >>> gc.get_threshold() == before[0]
    True
    >>> gc.unfreeze(); runtime.command_line = before[1]
    """
    global command_line, _saved_thresholds
    command_line = True
    if _saved_thresholds is None:
        _saved_thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)


def imports_done() -> None:
    """The command has imported its modules: Python's collector thresholds again.

    What the imports made is frozen first (``gc.freeze``: kept, never scanned
    again), so the collections of the work are as cheap and as frequent as in
    any program. Nothing happens outside the command's process, or twice.
    """
    global _saved_thresholds
    if _saved_thresholds is not None:
        gc.freeze()
        gc.set_threshold(*_saved_thresholds)
        _saved_thresholds = None
