"""File helpers shared by the readers and writers: safe text decoding, atomic output."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd

from salivaprot.errors import InputFormatError, InputFormatWarning

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: ``pandas.read_csv`` options that parse floats exactly (shortest-repr round trip).
#: pandas 3 does by default (and deprecates the option); pandas 2's default parser
#: can be off by 1e-11 relative on long decimals, so ask for "round_trip" there.
EXACT_FLOATS: dict[str, Any] = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
)

_SNIFF_BYTES = 8192


def read_text(path: PathLike, *, what: str = "file") -> str:
    """Read a whole text file, refusing what is empty, binary or missing.

    A UTF-8 byte-order mark is dropped, gzip-compressed files are opened
    transparently, and a file that is not UTF-8 is read as Windows-1252 with a
    warning (spreadsheet exports). Line endings are left to the caller
    (``str.splitlines`` handles LF, CRLF and CR alike).

    Parameters
    ----------
    path : str or path-like
        The file.
    what : str
        What the file should be, for messages ("sample sheet", "mzTab file").

    Returns
    -------
    str

    Raises
    ------
    InputFormatError
        The file does not exist, is a folder, is empty or is binary.
    """
    raw = read_bytes(path, what=what)
    head = raw[:_SNIFF_BYTES]
    if b"\x00" in head:
        raise InputFormatError(f"this is a binary file, not a text {what}", path=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        warnings.warn(
            f"{path}: not valid UTF-8 (byte {err.start}); read as Windows-1252",
            InputFormatWarning,
            stacklevel=2,
        )
        text = raw.decode("cp1252", errors="replace")
    if not text.strip():
        raise InputFormatError(f"the {what} is empty", path=path)
    return text


def _existing_file(path: PathLike, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputFormatError(f"{what} not found", path=path)
    if p.is_dir():
        raise InputFormatError(f"expected a {what}, found a folder", path=path)
    return p


def read_bytes(path: PathLike, *, what: str = "file") -> bytes:
    """Read a file's bytes (gunzipped when it is gzip), with clear errors."""
    p = _existing_file(path, what)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise InputFormatError(f"cannot read the {what}: {err.strerror}", path=path) from err
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise InputFormatError(f"truncated or corrupt gzip file: {err}", path=path) from err
    if not raw:
        raise InputFormatError(f"the {what} is empty", path=path)
    return raw


def read_head(path: PathLike, *, size: int = 1 << 20, what: str = "file") -> bytes:
    """The first ``size`` bytes of a file (gunzipped when it is gzip), with clear errors.

    Format detection needs only a file's header; reading the head keeps it
    cheap for multi-gigabyte reports.
    """
    p = _existing_file(path, what)
    try:
        with open(p, "rb") as handle:
            raw = handle.read(size)
            if raw[:2] == b"\x1f\x8b":
                handle.seek(0)
                with gzip.open(handle) as unzipped:
                    raw = unzipped.read(size)
    except (EOFError, gzip.BadGzipFile) as err:
        raise InputFormatError(f"truncated or corrupt gzip file: {err}", path=path) from err
    except OSError as err:
        raise InputFormatError(f"cannot read the {what}: {err.strerror}", path=path) from err
    if not raw:
        raise InputFormatError(f"the {what} is empty", path=path)
    return raw


def sha256(path: PathLike) -> str:
    """SHA-256 hex digest of a file's bytes, for provenance records."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    Text mode writes UTF-8 with LF line endings.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if "b" in mode:
            handle = os.fdopen(fd, mode)
        else:
            handle = os.fdopen(fd, mode, encoding="utf-8", newline="\n")
        with handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def staged_folder(out: PathLike) -> Iterator[Path]:
    """Stage a folder's outputs in a temporary sibling; move them in on success.

    The caller writes every file into the yielded folder. When the block ends
    without an exception, each file is renamed into ``out`` (created when
    needed; files of the same names are replaced, others are left alone). When
    it raises, the staging folder is deleted and ``out`` is untouched, so a
    failed run leaves no half-written results.
    """
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise InputFormatError("output path exists and is not a folder", path=target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
    try:
        yield stage
        target.mkdir(exist_ok=True)
        for item in sorted(stage.rglob("*")):
            if item.is_dir():
                continue
            destination = target / item.relative_to(stage)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(item, destination)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def file_stem(location: str) -> str:
    """Stem of a file name from a path or URI, Windows or POSIX, minus MS suffixes.

    Examples
    --------
    >>> file_stem("file://C:/path/to/my/file1.mzML")
    'file1'
    >>> file_stem(r"D:\\raw\\2024\\S01_baseline.raw")
    'S01_baseline'
    >>> file_stem("/data/run7.mzML.gz")
    'run7'
    """
    name = location.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    lowered = name.lower()
    for suffix in (".gz", ".bz2", ".zip"):
        if lowered.endswith(suffix):
            name, lowered = name[: -len(suffix)], lowered[: -len(suffix)]
    for suffix in (".mzml", ".mzxml", ".raw", ".d", ".wiff", ".dia", ".mgf", ".mzdata"):
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name
