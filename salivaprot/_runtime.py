"""Choices the command line makes for the process it owns (a library keeps the defaults)."""

from __future__ import annotations

import gc

#: Set by ``salivaprot`` (the command) before it runs a command, while no thread runs:
#: the process is then the command's, and it may take shortcuts a library may not
#: (see :mod:`salivaprot.stats._special`).
command_line = False

#: Generation thresholds of the garbage collector in the command's process. The
#: default (700 new objects) runs ~170 collections while pandas, numpy and pyarrow
#: are imported (35-60 ms of a 0.7 s ``diff`` at a trial's size, measured), for
#: almost no garbage: collect every 200,000 instead, as mypy does. Memory stays
#: bounded (a collection still runs every 200,000 net new container objects).
GC_THRESHOLDS = (200_000, 30, 30)


def own_process() -> None:
    """Mark the process as the command's and set its collector (called by ``salivaprot.cli.run``).

    Examples
    --------
    >>> import gc
    >>> import salivaprot._runtime as runtime
    >>> saved = gc.get_threshold(), runtime.command_line
    >>> runtime.own_process()
    >>> gc.get_threshold() == runtime.GC_THRESHOLDS and runtime.command_line
    True
    >>> gc.set_threshold(*saved[0]); runtime.command_line = saved[1]
    """
    global command_line
    command_line = True
    gc.set_threshold(*GC_THRESHOLDS)
