"""Choices the command line makes for the process it owns (a library keeps the defaults)."""

from __future__ import annotations

#: Set by ``salivaprot`` (the command) before it runs a command, while no thread runs:
#: the process is then the command's, and it may take shortcuts a library may not
#: (see :mod:`salivaprot.stats._special`).
command_line = False
