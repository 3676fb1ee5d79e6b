"""Ctrl-C while the command line starts: one line and exit 130, never a traceback.

Importing salivaprot (pandas, scipy...) takes a noticeable fraction of a second,
before click can catch anything. When the process is the ``salivaprot``
command (the console script or ``python -m salivaprot``), this module, imported
first by the package, installs an exception hook that turns an uncaught
:class:`KeyboardInterrupt` into ``interrupted`` on stderr and exit status 130.
Imported as a library, it changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from types import TracebackType

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a scheduler's stop, ``timeout``, a closed terminal) in the command.

    Raised in the main thread by the handlers :func:`stop_on_signals` installs,
    so that a run cleans up as after Ctrl-C (its staging folder removed, its
    output folder untouched); the command then exits with 128 + the signal.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def stop_on_signals() -> None:
    """In the command's own process: SIGTERM and SIGHUP raise :class:`Terminated`."""
    import signal

    def stop(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            with contextlib.suppress(ValueError, OSError):  # (not the main thread)
                signal.signal(number, stop)


def _is_command_line() -> bool:
    argv0 = sys.argv[0] if sys.argv else ""
    name = os.path.basename(argv0).lower()
    # "-m" while ``python -m salivaprot`` imports the package
    return argv0 == "-m" or name in ("salivaprot", "salivaprot.exe", "salivaprot-script.py")


def leave_interrupted(status: int = EXIT_INTERRUPTED) -> None:
    """After Ctrl-C (or SIGTERM, SIGHUP) was handled: as the command line, exit at once.

    The status is 130 after Ctrl-C, 128 + the signal otherwise (see :func:`stopped`).

    CPython before 3.12 may still end a process by SIGINT (status -2 instead of
    130) when the Ctrl-C interrupted code run by ``exec`` (dataclasses, for one),
    even though it was caught; leaving with ``os._exit`` avoids that. Streams
    are flushed first. As a library (or under a test runner) it does nothing.
    """
    if COMMAND_LINE:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)


def stopped(err: KeyboardInterrupt) -> tuple[str, int]:
    """The one line and the exit status for Ctrl-C or a :class:`Terminated` run."""
    if isinstance(err, Terminated):
        import signal

        return f"terminated ({signal.Signals(err.signum).name})", 128 + err.signum
    return "interrupted", EXIT_INTERRUPTED


def _hook(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        said, status = stopped(value)  # type: ignore[arg-type]
        try:
            sys.stderr.write(f"error: {said}\n")
            sys.stderr.flush()
        finally:
            os._exit(status)
    _previous(kind, value, traceback)


_previous = sys.excepthook


#: Whether this process is the command line (decided when the package is first imported).
COMMAND_LINE = _is_command_line()


def install() -> None:
    """Install the hook when running as the command line (idempotent)."""
    if COMMAND_LINE and sys.excepthook is not _hook:
        sys.excepthook = _hook


install()
