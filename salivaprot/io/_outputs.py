"""The output folder of a command, handled as one unit.

A command that writes a folder (``preprocess``, ``diff``, ``simulate``,
``demo``) goes through :func:`output_folder`:

* **Checked up front**, before any computation: the path is not empty, is not
  a file, is neither the current folder nor one that contains it, does not
  hold (and is not) any of the run's inputs, is not inside an input folder
  (the results folder ``figures`` reads), and can be written; a folder that
  already has content is refused unless ``force=True``.
* **Staged**: the run writes into a hidden temporary folder beside the output
  folder (in the nearest existing parent), never into the output folder itself.
* **Swapped in by renames** when the run succeeds: a new or empty output folder
  is replaced by the staged one in one rename; with ``force=True`` a folder
  with content is first renamed aside, the staged folder renamed into its
  place, and only then is the old content deleted. A failed or interrupted run
  deletes its staging folder and leaves the output folder as it was.

Messages name the output folder, never the staging folder; an error that names
no file (a full disk) is given the output folder's name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from salivaprot.errors import OutputError, SalivaprotError
from salivaprot.io._files import name_write_error

__all__ = ["check_output_file", "check_output_folder", "output_folder"]

PathLike = str | os.PathLike[str]


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")  # pragma: no cover - the root always exists


def _holder_problem(target: Path, where: str, option: str) -> str | None:
    """Why the folder that is to hold ``target`` cannot take it; None when it can.

    The nearest existing folder above ``target`` (as named: ``afile`` for
    ``afile/r.html``) must be a folder, and one this process may write in.
    """
    holder = _nearest_existing(target.parent)
    if not holder.is_dir():
        kind = "a file, not a folder" if holder.is_file() else "not a folder"
        return f"{option} {where} cannot be created: {holder} is {kind}"
    if not os.access(holder, os.W_OK | os.X_OK):
        shown = holder if str(holder) != "." else Path.cwd()
        return f"{option} {where} cannot be written: no permission to write in {shown}"
    return None


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError):  # pragma: no cover - no home folder known
        return None


def _both_names(path: PathLike) -> set[Path]:
    """A path as the file it is (links followed) and as the name it was given (absolute)."""
    return {Path(path).resolve(), Path(os.path.abspath(path))}


def _inside(names: set[Path], path: PathLike) -> bool:
    """Whether an output (by ``names``) is the input ``path`` or lies inside it, by any name.

    The one rule for files and folders: inputs are never modified, so nothing is
    written over an input or into an input folder.
    """
    given = _both_names(path)
    return any(n.is_relative_to(g) for n in names for g in given)


def check_output_folder(
    out: PathLike,
    *,
    inputs: Iterable[tuple[str, PathLike | None]] = (),
    force: bool = False,
    option: str = "--out",
) -> Path:
    """Check that ``out`` can receive a run's outputs as a whole; return it as a Path.

    Refused, each problem named: an empty name, a file, a symbolic link, the
    current folder or one holding it, the filesystem root or home folder, a
    folder that holds an input or lies inside an input folder (inputs are
    never modified), a folder with content unless ``force``, and one that
    cannot be written.

    Parameters
    ----------
    out : str or path-like
        The output folder (created by the run when it does not exist).
    inputs : iterable of (role, path)
        The run's input files (data file, sample sheet, contrasts file...);
        ``None`` paths are skipped.
    force : bool
        Allow a folder that already has content (the run will replace it).
    option : str
        The option that named the folder, for messages.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputError
        Every problem found, each saying what to do instead.
    """
    text = os.fspath(out)
    if not text.strip():
        raise OutputError(
            f"{option} is empty; name the folder to write into (the current folder is never used "
            "implicitly)"
        )
    target = Path(text)
    where = str(target)
    if target.is_symlink():
        raise OutputError(
            f"{option} {where} is a symbolic link; give the folder it points to, or another folder"
        )
    if target.exists() and not target.is_dir():
        raise OutputError(f"{option} {where} exists and is not a folder")
    resolved = target.resolve()
    problems: list[str] = []
    cwd = Path.cwd().resolve()
    if cwd == resolved or cwd.is_relative_to(resolved):
        problems.append(
            f"{option} {where} is the current folder or contains it; a run replaces its output "
            "folder as a whole, so give a folder of its own (e.g. a new subfolder)"
        )
    elif resolved == Path(resolved.anchor) or resolved == _home():
        problems.append(
            f"{option} {where} is the filesystem root or your home folder; give a folder of its own"
        )
    plain = Path(os.path.abspath(target))
    for role, path in inputs:
        if path is None:
            continue
        # the file itself and the name it was given (a symbolic link in the folder counts)
        names = _both_names(path)
        if any(n.is_relative_to(folder) for n in names for folder in (resolved, plain)):
            problems.append(
                f"{option} {where} holds the {role} {path}; inputs are never modified, so write "
                "the outputs to another folder"
            )
        elif _inside({resolved, plain}, path):
            problems.append(
                f"{option} {where} is inside the {role} {path}; inputs are never modified, so "
                "write the outputs to a folder outside it"
            )
    if problems:
        raise OutputError(problems)
    if target.exists():
        if not os.access(target, os.W_OK | os.X_OK):
            raise OutputError(f"{option} {where} cannot be written (permission denied)")
        if not force and any(target.iterdir()):
            raise OutputError(
                f"{option} {where} is not empty; give a new or empty folder, or add --force to "
                "replace its contents as a whole"
            )
    problem = _holder_problem(target, where, option)
    if problem:
        raise OutputError(problem)
    return target


def check_output_file(
    out: PathLike,
    *,
    inputs: Iterable[tuple[str, PathLike | None]] = (),
    force: bool = False,
    option: str = "--out",
) -> Path:
    """Check that the file ``out`` may be written; return it as a Path.

    Refused: an empty name, a folder, an input file (by any name) or a file
    inside an input folder (inputs are never modified), an existing file
    unless ``force``, and a file that cannot be created: below a file
    (``afile/r.html``), or in a folder this process may not write in. All
    before the file's content is made, which may take long.

    Raises
    ------
    OutputError
        Every problem found, each saying what to do instead.

    Examples
    --------
    >>> check_output_file("report.html").name
    'report.html'
    """
    text = os.fspath(out)
    if not text.strip():
        raise OutputError(f"{option} is empty; name the file to write")
    target = Path(text)
    where = str(target)
    if target.is_dir():
        raise OutputError(f"{option} {where} is a folder; give a file name")
    names = _both_names(target)
    problems: list[str] = []
    for role, path in inputs:
        if path is None:
            continue
        if _inside(names, path):
            inside = "is" if names & _both_names(path) else "is inside"
            problems.append(
                f"{option} {where} {inside} the {role} {path}; inputs are never modified, so "
                "write the file elsewhere"
            )
    if problems:
        raise OutputError(problems)
    problem = _holder_problem(target, where, option)
    if problem:
        raise OutputError(problem)
    if target.exists() and not force:
        raise OutputError(f"{option} {where} exists; add --force to replace it")
    return target


def _rename_paths(err: BaseException, stage: Path, target: Path) -> None:
    """Replace the staging folder by the output folder in an error's paths and messages."""
    hidden = str(stage)

    def fix(value: object) -> object:
        if isinstance(value, str) and hidden in value:
            return value.replace(hidden, str(target))
        if isinstance(value, os.PathLike) and hidden in os.fspath(value):
            return os.fspath(value).replace(hidden, str(target))
        return value

    if isinstance(err, OSError):
        err.filename = fix(err.filename)
        err.filename2 = fix(err.filename2)
    if isinstance(err, SalivaprotError):
        err.problems = [str(fix(p)) for p in err.problems]
        if err.path is not None:
            err.path = str(fix(err.path))
    err.args = tuple(fix(a) for a in err.args)


@contextlib.contextmanager
def output_folder(
    out: PathLike,
    *,
    inputs: Iterable[tuple[str, PathLike | None]] = (),
    force: bool = False,
    option: str = "--out",
) -> Iterator[Path]:
    """Check ``out`` up front, yield a staging folder, and swap it in on success.

    Enter this before the run's computation, so that an unusable output folder
    is found at once. Everything the run writes goes into the yielded folder;
    see the module documentation for the swap.

    Parameters
    ----------
    out, inputs, force, option
        As for :func:`check_output_folder`.

    Yields
    ------
    pathlib.Path
        The staging folder, empty.

    Raises
    ------
    OutputError
        From the checks, or when the folder was given content during the run
        (without ``force``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> with output_folder(base / "results") as stage:
    ...     _ = (stage / "run.json").write_text("{}")
    >>> sorted(p.name for p in base.iterdir())
    ['results']
    >>> with output_folder(base / "results") as stage:
    ...     pass
    Traceback (most recent call last):
    ...
    salivaprot.errors.OutputError: --out ... is not empty; give a new or empty folder, or add --force to replace its contents as a whole
    >>> with output_folder(base / "results", force=True) as stage:
    ...     _ = (stage / "results.tsv").write_text("")
    >>> sorted(p.name for p in (base / "results").iterdir())
    ['results.tsv']
    """  # noqa: E501
    target = check_output_folder(out, inputs=inputs, force=force, option=option)
    resolved = target.resolve()
    home = _nearest_existing(resolved.parent)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{resolved.name}.", suffix=".partial", dir=home))
    except OSError as err:
        raise OutputError(
            f"{option} {target} cannot be written: {err.strerror or err} in {home}"
        ) from err
    try:
        try:
            yield stage
        except BaseException as err:
            _rename_paths(err, stage, target)
            if isinstance(err, OSError):
                name_write_error(err, target)  # a full disk names the folder written
            raise
        try:
            _swap_in(stage, resolved, target, force=force, option=option)
        except OSError as err:
            raise OutputError(
                f"{option} {target} could not be put in place: {err.strerror or err}; "
                "it was left as it was"
            ) from err
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _swap_in(stage: Path, resolved: Path, target: Path, *, force: bool, option: str) -> None:
    """Rename the staged folder into place; with ``force`` the old content goes last."""
    mode = resolved.stat().st_mode & 0o7777 if resolved.is_dir() else 0o777 & ~_umask()
    os.chmod(stage, mode)
    resolved.parent.mkdir(parents=True, exist_ok=True)
    if not resolved.exists():
        os.rename(stage, resolved)
        return
    if not any(resolved.iterdir()):
        os.rmdir(resolved)
        try:
            os.rename(stage, resolved)
        except BaseException:
            resolved.mkdir(mode=mode, exist_ok=True)
            raise
        return
    if not force:
        raise OutputError(
            f"{option} {target} was given content while this run was working; nothing was "
            "written (rerun, or add --force to replace it)"
        )
    aside = Path(tempfile.mkdtemp(prefix=f".{resolved.name}.", suffix=".old", dir=resolved.parent))
    os.rmdir(aside)
    os.rename(resolved, aside)
    try:
        os.rename(stage, resolved)
    except BaseException:
        os.rename(aside, resolved)
        raise
    shutil.rmtree(aside, ignore_errors=True)
