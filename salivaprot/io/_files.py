"""File helpers shared by the readers and writers: safe opening and decoding, atomic output."""

from __future__ import annotations

import atexit
import contextlib
import errno
import gzip
import hashlib
import io
import logging
import os
import re
import shutil
import stat
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import version as _version
from pathlib import Path
from typing import IO, Any, TextIO, TypeVar, cast

from salivaprot.errors import InputFormatError, InputFormatWarning, OutputError

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: ``pandas.read_csv`` options that parse floats exactly (shortest-repr round trip).
#: pandas 3 does by default (and deprecates the option); pandas 2's default parser
#: can be off by 1e-11 relative on long decimals, so ask for "round_trip" there.
EXACT_FLOATS: dict[str, Any] = (
    {}
    if int(_version("pandas").split(".")[0]) >= 3  # no pandas import: mzML reading needs none
    else {"float_precision": "round_trip"}
)

_SNIFF_BYTES = 8192
_CHUNK = 1 << 20
#: Paths through which a shell hands over a pipe: process substitution ``<(...)``, stdin.
_STREAM_PATH = re.compile(r"^/(?:dev/fd|proc/(?:self|\d+)/fd)/\d+$|^/dev/stdin$")
#: Byte-order marks, longest first (UTF-32 LE starts like UTF-16 LE).
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)
#: Pipes read so far: (path, device, inode) -> the temporary copy that stands for them.
_SPOOLED: dict[tuple[str, int, int], Path] = {}
_SPOOL_DIR: list[Path] = []

T = TypeVar("T")


def input_path(path: PathLike, *, what: str = "file") -> Path:
    """The regular file to read for ``path``, refusing what cannot be read safely.

    Folders, devices (``/dev/zero``, ``/dev/urandom``, a terminal), sockets and
    named pipes (FIFOs made with ``mkfifo``, which block until someone writes)
    are refused up front, as are missing files, dangling symbolic links and
    symbolic-link loops, each with a message saying which. A pipe handed over
    by the shell (process substitution ``<(cat study.mzTab)``, ``/dev/stdin``)
    is read once, into a temporary file that stands for it for the rest of the
    process, so that every later reading sees the same bytes.

    Parameters
    ----------
    path : str or path-like
        The file.
    what : str
        What the file should be, for messages.

    Returns
    -------
    pathlib.Path
        ``path`` itself, or the temporary copy of a pipe.

    Raises
    ------
    InputFormatError
        Naming the path and what it is.
    """
    p = Path(path)
    try:
        info = os.stat(p)
    except OSError as err:
        raise InputFormatError(_stat_problem(p, err, what), path=path) from err
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return p
    if stat.S_ISDIR(mode):
        raise InputFormatError(f"expected {_a(what)}, found a folder", path=path)
    if stat.S_ISFIFO(mode):
        if _is_shell_pipe(p):
            return _spool(p, info, what)
        raise InputFormatError(
            f"is a named pipe (FIFO), not a regular file; salivaprot reads the {what} from a "
            "regular file (or from process substitution, <(command)), so that it can never "
            "wait forever for a writer",
            path=path,
        )
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise InputFormatError(f"is a device, not a regular file; expected {_a(what)}", path=path)
    if stat.S_ISSOCK(mode):
        raise InputFormatError(f"is a socket, not a regular file; expected {_a(what)}", path=path)
    raise InputFormatError(f"is not a regular file; expected {_a(what)}", path=path)


def repeated_streams(inputs: Iterable[tuple[str, PathLike | None]]) -> list[str]:
    """Problems for one stream (standard input, a pipe) given as two of a run's inputs.

    A stream can be read only once: ``validate /dev/stdin --samples /dev/stdin``
    would read the data file's bytes as the sample sheet too. Names that lead to
    the same pipe (``/dev/stdin``, ``/dev/fd/0``) count as one; regular files are
    not streams, and paths that cannot be looked at are left to their readers.

    Parameters
    ----------
    inputs : iterable of (role, path)
        The run's inputs ("data file", "sample sheet"...); ``None`` paths are skipped.

    Returns
    -------
    list of str
        One problem per repetition; empty when every stream is given once.

    Examples
    --------
    >>> repeated_streams([("data file", "study.mzTab"), ("sample sheet", None)])
    []
    """
    seen: dict[tuple[int, int], tuple[str, PathLike]] = {}
    problems = []
    for role, path in inputs:
        if path is None:
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue
        if not (stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)):
            continue
        key = (info.st_dev, info.st_ino)
        if key not in seen:
            seen[key] = (role, path)
            continue
        first_role, first = seen[key]
        problems.append(
            f"the {first_role} {first} and the {role} {path} are one stream (standard input or "
            "a pipe), which can be read only once: give each input its own file, or its own "
            "<(command)"
        )
    return problems


def _a(what: str) -> str:
    """``what`` with its article ("an input file", "an mzTab file", "a sample sheet")."""
    vowel_sound = what[:1].lower() in "aeiou" or what.lower().startswith("mz")
    return f"{'an' if vowel_sound else 'a'} {what}"


def _stat_problem(p: Path, err: OSError, what: str) -> str:
    if err.errno == errno.ELOOP:
        return (
            f"{what} not readable: a symbolic link loop (links that lead back to each other), "
            "not a file"
        )
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        if p.is_symlink():
            return f"{what} not found: a symbolic link to {os.readlink(p)!r}, which does not exist"
        return f"{what} not found"
    if err.errno == errno.EACCES:
        return f"cannot read the {what}: permission denied"
    return f"cannot read the {what}: {err.strerror or err}"


def _is_shell_pipe(p: Path) -> bool:
    """Whether a FIFO path is a pipe the shell handed over, not a named pipe on disk."""
    if _STREAM_PATH.match(os.path.abspath(p)):
        return True
    real = os.path.realpath(p)
    return os.path.basename(real).startswith("pipe:") or not os.path.exists(real)


def _spool(p: Path, info: os.stat_result, what: str) -> Path:
    key = (os.path.abspath(p), info.st_dev, info.st_ino)
    if key in _SPOOLED:
        return _SPOOLED[key]
    if not _SPOOL_DIR:
        folder = Path(tempfile.mkdtemp(prefix="salivaprot-input-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _SPOOL_DIR.append(folder)
    copy = _SPOOL_DIR[0] / f"pipe-{len(_SPOOLED) + 1}"
    try:
        with open(p, "rb") as source, open(copy, "wb") as target:
            shutil.copyfileobj(source, target, _CHUNK)
    except OSError as err:
        raise InputFormatError(
            f"cannot read the {what} from the pipe: {err.strerror or err}", path=p
        ) from err
    _SPOOLED[key] = copy
    logger.info("%s: read the pipe once into %s", p, copy)
    return copy


@contextlib.contextmanager
def open_binary(path: PathLike, *, what: str = "file") -> Iterator[IO[bytes]]:
    """Open a file for reading bytes, gunzipping on the fly when it is gzip.

    See :func:`input_path` for what is refused.
    """
    real = input_path(path, what=what)
    try:
        raw: IO[bytes] = open(real, "rb")  # noqa: SIM115 - closed below
    except OSError as err:
        raise InputFormatError(f"cannot read the {what}: {err.strerror or err}", path=path) from err
    handle: IO[bytes] = raw
    try:
        if raw.read(2) == b"\x1f\x8b":
            handle = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
        raw.seek(0)
        yield handle
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise InputFormatError(f"truncated or corrupt gzip file: {err}", path=path) from err
    finally:
        handle.close()
        raw.close()


@dataclass(frozen=True)
class Encoding:
    """How a text file was decoded.

    Attributes
    ----------
    codec : str
        The Python codec used.
    note : str or None
        A note for the reader's notes when the encoding is not plain UTF-8.
    """

    codec: str
    note: str | None = None


def sniff_encoding(head: bytes, path: PathLike, what: str) -> Encoding:
    """The encoding of a file from its first bytes; binary files are refused."""
    for bom, codec, name in _BOMS:
        if head.startswith(bom):
            note = None if codec == "utf-8-sig" else f"decoded as {name} (byte-order mark)"
            return Encoding(codec, note)
    sample = head[:_SNIFF_BYTES]
    if b"\x00" in sample:
        if len(sample) >= 4 and sample[1::2].count(0) > 0.9 * len(sample[1::2]):
            raise InputFormatError(
                f"looks like UTF-16 text without a byte-order mark, not a text {what}; "
                "save it as UTF-8 (or as UTF-16 with a byte-order mark)",
                path=path,
            )
        raise InputFormatError(f"this is a binary file, not a text {what}", path=path)
    return Encoding("utf-8")


def read_decoded(
    path: PathLike, consume: Callable[[TextIO], T], *, what: str = "file"
) -> tuple[T, Encoding]:
    """Run ``consume`` on the file opened as text, streamed, never read whole.

    A byte-order mark decides the encoding (UTF-8, UTF-16, UTF-32; the
    :class:`Encoding` note says which when it is not UTF-8); without one the
    file is UTF-8, and when it is not valid UTF-8 ``consume`` runs again on
    the file read as Windows-1252, with a warning (spreadsheet exports).
    Binary files are refused; gzip is opened transparently. Line endings LF,
    CRLF and CR (old Mac) are all read as line ends; ``consume`` sees ``\\n``.

    Returns
    -------
    tuple
        What ``consume`` returned, and the encoding used.

    Raises
    ------
    InputFormatError
        See :func:`input_path`; also for an empty or binary file.
    """
    with open_binary(path, what=what) as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head:
        raise InputFormatError(f"the {what} is empty", path=path)
    encoding = sniff_encoding(head, path, what)
    try:
        return _consume(path, consume, encoding.codec, what), encoding
    except UnicodeDecodeError as err:
        if encoding.codec != "utf-8":
            raise InputFormatError(
                f"not valid {encoding.codec.upper()} text (byte {err.start} of a block): "
                f"{err.reason}",
                path=path,
            ) from err
        warnings.warn(
            f"{path}: not valid UTF-8 ({err.reason}); read as Windows-1252",
            InputFormatWarning,
            stacklevel=2,
        )
        fallback = Encoding("cp1252", "decoded as Windows-1252 (not valid UTF-8)")
        return _consume(path, consume, "cp1252", what), fallback


def _consume(path: PathLike, consume: Callable[[TextIO], T], codec: str, what: str) -> T:
    with open_binary(path, what=what) as raw:
        errors = "replace" if codec == "cp1252" else "strict"
        text = io.TextIOWrapper(raw, encoding=codec, errors=errors, newline=None)
        try:
            return consume(text)
        finally:
            text.detach()


def read_text(path: PathLike, *, what: str = "file") -> str:
    """Read a whole (small) text file, refusing what is empty, binary or not a file.

    For sample sheets and other small files; tables are streamed (see
    :func:`read_decoded`). Line ends are ``\\n`` whatever the file used.

    Parameters
    ----------
    path : str or path-like
        The file.
    what : str
        What the file should be, for messages ("sample sheet", "contrasts file").

    Returns
    -------
    str

    Raises
    ------
    InputFormatError
        The file does not exist, is not a regular file, is empty or is binary.
    """
    text, _ = read_text_encoding(path, what=what)
    return text


def read_text_encoding(path: PathLike, *, what: str = "file") -> tuple[str, Encoding]:
    """:func:`read_text` and the encoding used."""
    text, encoding = read_decoded(path, lambda handle: handle.read(), what=what)
    if not text.strip():
        raise InputFormatError(f"the {what} is empty", path=path)
    return text, encoding


def read_bytes(path: PathLike, *, what: str = "file") -> bytes:
    """Read a file's bytes (gunzipped when it is gzip), with clear errors."""
    with open_binary(path, what=what) as handle:
        try:
            raw = handle.read()
        except OSError as err:
            raise InputFormatError(f"cannot read the {what}: {err.strerror}", path=path) from err
    if not raw:
        raise InputFormatError(f"the {what} is empty", path=path)
    return raw


def read_head(path: PathLike, *, size: int = 1 << 20, what: str = "file") -> bytes:
    """The first ``size`` bytes of a file (gunzipped when it is gzip), with clear errors.

    Format detection needs only a file's header; reading the head keeps it
    cheap for multi-gigabyte reports.
    """
    with open_binary(path, what=what) as handle:
        try:
            raw = handle.read(size)
        except OSError as err:
            raise InputFormatError(f"cannot read the {what}: {err.strerror}", path=path) from err
    if not raw:
        raise InputFormatError(f"the {what} is empty", path=path)
    return raw


def sha256(path: PathLike) -> str:
    """SHA-256 hex digest of a file's bytes, for provenance records.

    A pipe (process substitution) is hashed from the copy read once by
    :func:`input_path`, i.e. the bytes the readers saw.
    """
    digest = hashlib.sha256()
    with open(input_path(path), "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shown_name(text: str) -> str:
    """A name for tables and messages: the bytes of a name that is not UTF-8 escaped.

    Examples
    --------
    >>> shown_name("S\\udcff01.mzML")
    'S\\\\xff01.mzML'
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


#: Errors of a write that the operating system reports without a file name: a full
#: disk, a full quota, a file larger than the process may write.
_NAMELESS_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def name_write_error(err: OSError, path: PathLike, *, temporary: str | None = None) -> None:
    """Make an error met while writing ``path`` name ``path``, in place.

    A full disk (or quota, or file size limit) is reported by ``write`` with no
    file name ("No space left on device", but where?): it gets ``path``. A
    ``temporary`` file or folder standing for ``path`` is named ``path`` instead
    (``.matrix.tsv.x1y2.tmp`` becomes ``matrix.tsv``, ``.out.x1y2.partial/a.tsv``
    becomes ``out/a.tsv``).

    Examples
    --------
    >>> err = OSError(errno.ENOSPC, "No space left on device")
    >>> name_write_error(err, "results/matrix.tsv")
    >>> err.filename
    'results/matrix.tsv'
    """
    shown = os.fspath(path)
    if temporary is not None:
        for attribute in ("filename", "filename2"):
            value = getattr(err, attribute)
            if isinstance(value, str | os.PathLike) and temporary in os.fspath(value):
                setattr(err, attribute, os.fspath(value).replace(temporary, shown))
    if err.filename is None and err.errno in _NAMELESS_WRITE_ERRORS:
        err.filename = shown


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    Text mode writes UTF-8 with LF line endings; a file name that is not UTF-8
    (Python holds its bytes as lone surrogates) is written with backslash escapes
    (``st\\udcffudy.mzTab``) instead of failing the whole write. Errors name
    ``path``, never the temporary file (see :func:`name_write_error`).

    Raises
    ------
    OutputError
        A file stands where a folder above ``path`` should be.
    OSError
        Writing failed; the error names ``path``.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:  # (it said "afile: File exists")
        holder = next((p for p in target.parents if p.exists()), None)
        if holder is None or holder.is_dir():
            raise
        kind = "a file, not a folder" if holder.is_file() else "not a folder"
        raise OutputError(f"cannot write {target}: {holder} is {kind}") from err
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        err.filename = os.fspath(target)  # (it named the temporary file it could not create)
        raise
    try:
        if "b" in mode:
            handle = os.fdopen(fd, mode)
        else:
            handle = os.fdopen(fd, mode, encoding="utf-8", errors="backslashreplace", newline="\n")
        with handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            name_write_error(err, target, temporary=tmp)
        raise


@contextlib.contextmanager
def staged_folder(out: PathLike) -> Iterator[Path]:
    """Stage a folder's outputs in a temporary sibling; move them in on success.

    The caller writes every file into the yielded folder. When the block ends
    without an exception, each file is renamed into ``out`` (created when
    needed; files of the same names are replaced, others are left alone). When
    it raises, the staging folder is deleted and ``out`` is untouched, so a
    failed run leaves no half-written results. Errors name ``out``, never the
    staging folder (see :func:`name_write_error`).
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
    except OSError as err:
        name_write_error(err, target, temporary=str(stage))
        raise
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
