"""The ``salivaprot`` command line: a thin layer over the library.

Every command turns salivaprot errors into a clean message on stderr and a
non-zero exit code (1: the input has problems; 2: the command line is wrong;
3: an internal error, with the traceback only under ``--debug``).
"""

from salivaprot.cli import figures_command as _figures_command  # noqa: F401 (figures, report)
from salivaprot.cli.commands import (
    demo,
    diff_command,
    main,
    preprocess_command,
    run,
    simulate,
    validate,
)
from salivaprot.cli.qc_command import qc_command

__all__ = [
    "demo",
    "diff_command",
    "main",
    "preprocess_command",
    "qc_command",
    "run",
    "simulate",
    "validate",
]
