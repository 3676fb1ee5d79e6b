"""Run-level QC metrics from mzML files, read in one streaming pass.

The reader never builds a whole document. It finds each ``<spectrum>`` with a
byte search and cuts the base64 payloads out of it. What is left (a few
kilobytes of metadata) is scanned with regular expressions for the handful of
cvParams QC needs (ms level, TIC, base peak intensity, scan start time and its
unit, ion injection time, precursor charge); the number of peaks comes from
``defaultArrayLength``. A spectrum that uses ``referenceableParamGroupRef``, or
an MS1 spectrum without a TIC or base peak cvParam, is parsed as XML instead
(the standard library's expat), with its param groups resolved, and then its
intensity array is decoded (32/64-bit float or integer, zlib, MS-Numpress).
Memory stays bounded by the largest single spectrum plus a few numbers per
spectrum. Metadata scanned by the fast path is not checked for XML
well-formedness; the header (everything before the spectra) and every spectrum
that is parsed are. After the spectra, only ``</mzML>`` and the spectrum index
are looked for.

In the common case the spectra are read in batches of a few hundred (all the
whole spectra of a 4 MiB window). Each spectrum is walked by byte searches: its
metadata runs from its tag to its ``<binaryDataArrayList>``, and the array list
(the arrays' cvParams and the base64 payloads) is skipped by one search for its
end, which must be followed by ``</spectrum>``. The needed cvParams are found by
one ``findall`` over the metadata only, and the numbers of the whole batch are
then worked out with numpy. A background thread reads the file (and
decompresses it when gzip) and computes its SHA-256 a few chunks ahead of the
parsing (file reads, zlib and hashlib release the GIL, so this runs on the
other core). A spectrum laid out otherwise (no array list, a reference to a
param group that defines a needed cvParam, a tag without ``id`` and
``defaultArrayLength``) goes to the spectrum-by-spectrum path, and so does a
batch with anything unusual in its needed cvParams (attributes in another
order, a missing value, a missing TIC or base peak, a time without a known
unit, a value that is not a number); that path handles it or names the
problem. A comment inside a spectrum's metadata is not recognised as one by
either of the regular-expression paths.

An indexed, uncompressed file can be split at its index into parts read by
worker processes (``workers=``, used where there are more than two cores); the
metrics are the same. This process then parses the first part and only reads
and hashes the others.

Safety: a document type declaration (``<!DOCTYPE``, ``<!ENTITY``) is refused,
so no entity is expanded and nothing is fetched; mzML never uses one.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import math
import os
import queue
import re
import sys
import threading
import warnings
import xml.etree.ElementTree as ET
import zlib
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import IO, Any

import numpy as np

from salivaprot.errors import InputFormatError, InputFormatWarning
from salivaprot.io._files import PathLike, file_stem, input_path

__all__ = ["QC_COLUMNS", "RunQC", "read_mzml_qc", "read_qc_table"]

_CHUNK = 1 << 22  # 4 MiB reads
_MARGIN = 1 << 20  # room before each read for the kept tail of the window
_MAIN_SHARE = 0.8  # with n workers, the main process parses 0.8/n of the spectra
_HEADER_LIMIT = 64 << 20  # the part before <spectrumList> is small; refuse beyond this

# PSI-MS / UO accessions
_MS_LEVEL = "MS:1000511"
_MS1_SPECTRUM = "MS:1000579"
_MSN_SPECTRUM = "MS:1000580"
_TIC = "MS:1000285"
_BASE_PEAK_INTENSITY = "MS:1000505"
_SCAN_START_TIME = "MS:1000016"
_INJECTION_TIME = "MS:1000927"
_CHARGE = "MS:1000041"
_INTENSITY_ARRAY = "MS:1000515"
_SERIAL_NUMBER = "MS:1000529"
_MINUTE, _MILLISECOND = "UO:0000031", "UO:0000028"
_DTYPES: dict[str, np.dtype[Any]] = {
    "MS:1000521": np.dtype("<f4"),
    "MS:1000523": np.dtype("<f8"),
    "MS:1000519": np.dtype("<i4"),
    "MS:1000522": np.dtype("<i8"),
}
_ZLIB = "MS:1000574"
_NO_COMPRESSION = "MS:1000576"
# numpress codes, alone and followed by zlib
_NUMPRESS = {
    "MS:1002312": ("linear", False),
    "MS:1002313": ("pic", False),
    "MS:1002314": ("slof", False),
    "MS:1002746": ("linear", True),
    "MS:1002747": ("pic", True),
    "MS:1002748": ("slof", True),
}

#: Columns of one run's row in ``qc.tsv``, in order (see :meth:`RunQC.row`).
QC_COLUMNS: tuple[str, ...] = (
    "run",
    "file",
    "sha256",
    "mzml_version",
    "instrument_model",
    "start_time",
    "n_spectra",
    "n_ms1",
    "n_ms2",
    "rt_start_min",
    "rt_end_min",
    "tic_total",
    "base_peak_max",
    "ms1_injection_time_q1_ms",
    "ms1_injection_time_median_ms",
    "ms1_injection_time_q3_ms",
    "ms2_injection_time_q1_ms",
    "ms2_injection_time_median_ms",
    "ms2_injection_time_q3_ms",
    "ms1_peaks_median",
    "ms2_peaks_median",
    "ms2_charge_1",
    "ms2_charge_2",
    "ms2_charge_3",
    "ms2_charge_4",
    "ms2_charge_5plus",
    "ms2_unknown_charge_fraction",
    "n_decoded",
    "tic_profile",
)


@dataclass(frozen=True)
class RunQC:
    """QC metrics of one LC-MS run (one mzML file).

    Retention times are in minutes whatever unit the file used; injection times
    in milliseconds. Missing information is ``NaN`` (numbers) or ``None`` (text).

    Attributes
    ----------
    path : str
        The file read.
    run : str
        The run name: the file's stem (``S01.mzML.gz`` -> ``S01``), the key the
        sample sheet's ``run`` column (or ``sample_id``) is matched against.
    sha256 : str
        SHA-256 of the file's bytes as stored (compressed when gzip).
    mzml_version : str or None
        The ``version`` attribute of ``<mzML>``.
    instrument_model : str or None
        Name of the instrument model cvParam of the run's instrument configuration.
    start_time : str or None
        ``<run startTimeStamp>``: when acquisition started.
    n_spectra, n_ms1, n_ms2 : int
        Spectra in all, at MS level 1 and at MS level 2.
    rt_start_min, rt_end_min : float
        Smallest and largest scan start time over all spectra.
    tic_total : float
        Sum of the total ion current of the MS1 spectra.
    base_peak_max : float
        Largest base peak intensity of the MS1 spectra.
    ms1_injection_time, ms2_injection_time : tuple of float
        First quartile, median and third quartile of the ion injection time (ms).
    ms1_peaks_median, ms2_peaks_median : float
        Median number of peaks (``defaultArrayLength``) per spectrum.
    charges : dict of int to int
        Precursor charge state of the MS2 spectra (first selected ion) -> count.
    ms2_unknown_charge : int
        MS2 spectra without a precursor charge (e.g. DIA).
    n_decoded : int
        Spectra whose intensity array was decoded because the TIC or base peak
        cvParam was absent.
    ms1_rt_min, ms1_tic : numpy.ndarray
        Scan start time and TIC of each MS1 spectrum with a scan start time, in
        retention-time order: the TIC chromatogram.
    ms1_ids : tuple of str
        The native IDs of those spectra, in the same order.
    ms1_peaks_quartiles, ms2_peaks_quartiles : tuple of float
        Quartiles of the peaks per spectrum (observed values: no interpolation).
    """

    path: str
    run: str
    sha256: str
    mzml_version: str | None
    instrument_model: str | None
    start_time: str | None
    n_spectra: int
    n_ms1: int
    n_ms2: int
    rt_start_min: float
    rt_end_min: float
    tic_total: float
    base_peak_max: float
    ms1_injection_time: tuple[float, float, float]
    ms2_injection_time: tuple[float, float, float]
    ms1_peaks_median: float
    ms2_peaks_median: float
    charges: dict[int, int]
    ms2_unknown_charge: int
    n_decoded: int
    ms1_rt_min: np.ndarray = field(repr=False)
    ms1_tic: np.ndarray = field(repr=False)
    ms1_ids: tuple[str, ...] = field(default=(), repr=False)
    ms1_peaks_quartiles: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    ms2_peaks_quartiles: tuple[float, float, float] = (math.nan, math.nan, math.nan)

    @property
    def charge_fractions(self) -> dict[int, float]:
        """Share of each precursor charge among the MS2 spectra with a known charge."""
        known = sum(self.charges.values())
        return {z: n / known for z, n in sorted(self.charges.items())} if known else {}

    @property
    def ms2_unknown_charge_fraction(self) -> float:
        """Share of MS2 spectra without a precursor charge (NaN without MS2 spectra)."""
        return self.ms2_unknown_charge / self.n_ms2 if self.n_ms2 else math.nan

    def tic_profile(self, bins: int = 20) -> np.ndarray:
        """MS1 TIC summed in ``bins`` equal retention-time bins over the run's range.

        Returns an empty array when there is no MS1 spectrum with a scan time.
        """
        if not len(self.ms1_rt_min):
            return np.zeros(0)
        low, high = float(self.ms1_rt_min.min()), float(self.ms1_rt_min.max())
        edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
        sums, _ = np.histogram(self.ms1_rt_min, bins=edges, weights=self.ms1_tic)
        return sums

    def row(self) -> dict[str, Any]:
        """This run as one row of ``qc.tsv`` (keys: :data:`QC_COLUMNS`)."""
        known = sum(self.charges.values())

        def share(*zs: int, above: int | None = None) -> float:
            if not known:
                return math.nan
            n = sum(c for z, c in self.charges.items() if z in zs or (above and z >= above))
            return n / known

        values: dict[str, Any] = {
            "run": self.run,
            "file": self.path,
            "sha256": self.sha256,
            "mzml_version": self.mzml_version,
            "instrument_model": self.instrument_model,
            "start_time": self.start_time,
            "n_spectra": self.n_spectra,
            "n_ms1": self.n_ms1,
            "n_ms2": self.n_ms2,
            "rt_start_min": self.rt_start_min,
            "rt_end_min": self.rt_end_min,
            "tic_total": self.tic_total,
            "base_peak_max": self.base_peak_max,
            "ms1_injection_time_q1_ms": self.ms1_injection_time[0],
            "ms1_injection_time_median_ms": self.ms1_injection_time[1],
            "ms1_injection_time_q3_ms": self.ms1_injection_time[2],
            "ms2_injection_time_q1_ms": self.ms2_injection_time[0],
            "ms2_injection_time_median_ms": self.ms2_injection_time[1],
            "ms2_injection_time_q3_ms": self.ms2_injection_time[2],
            "ms1_peaks_median": self.ms1_peaks_median,
            "ms2_peaks_median": self.ms2_peaks_median,
            "ms2_charge_1": share(1),
            "ms2_charge_2": share(2),
            "ms2_charge_3": share(3),
            "ms2_charge_4": share(4),
            "ms2_charge_5plus": share(above=5),
            "ms2_unknown_charge_fraction": self.ms2_unknown_charge_fraction,
            "n_decoded": self.n_decoded,
            "tic_profile": ";".join(f"{v:.6g}" for v in self.tic_profile()),
        }
        return {c: values[c] for c in QC_COLUMNS}


# ---------------------------------------------------------------------------
# accumulation (mergeable, so halves of a file can be read in parallel)


@dataclass
class _Tally:
    n_spectra: int = 0
    levels: Counter[int] = field(default_factory=Counter)
    rt_min: float = math.inf
    rt_max: float = -math.inf
    ms1_rt: array[float] = field(default_factory=lambda: array("d"))
    ms1_tic: array[float] = field(default_factory=lambda: array("d"))
    ms1_ids: list[str] = field(default_factory=list)
    tic_total: float = 0.0
    base_peak_max: float = -math.inf
    iit1: array[float] = field(default_factory=lambda: array("d"))
    iit2: array[float] = field(default_factory=lambda: array("d"))
    peaks1: Counter[int] = field(default_factory=Counter)
    peaks2: Counter[int] = field(default_factory=Counter)
    charges: Counter[int] = field(default_factory=Counter)
    unknown_charge: int = 0
    decoded: int = 0
    seconds_unit_warned: bool = False

    def merge(self, other: _Tally) -> None:
        self.n_spectra += other.n_spectra
        self.levels.update(other.levels)
        self.rt_min = min(self.rt_min, other.rt_min)
        self.rt_max = max(self.rt_max, other.rt_max)
        self.ms1_rt.extend(other.ms1_rt)
        self.ms1_tic.extend(other.ms1_tic)
        self.ms1_ids.extend(other.ms1_ids)
        self.tic_total += other.tic_total
        self.base_peak_max = max(self.base_peak_max, other.base_peak_max)
        self.iit1.extend(other.iit1)
        self.iit2.extend(other.iit2)
        self.peaks1.update(other.peaks1)
        self.peaks2.update(other.peaks2)
        self.charges.update(other.charges)
        self.unknown_charge += other.unknown_charge
        self.decoded += other.decoded


def _quartiles(values: array[float]) -> tuple[float, float, float]:
    if not len(values):
        return (math.nan, math.nan, math.nan)
    q = np.quantile(np.frombuffer(values, dtype=np.float64), [0.25, 0.5, 0.75])
    return (float(q[0]), float(q[1]), float(q[2]))


def _counter_quartiles(counts: Counter[int]) -> tuple[float, float, float]:
    if not counts:
        return (math.nan, math.nan, math.nan)
    values = np.repeat(np.array(list(counts), dtype=np.float64), list(counts.values()))
    q = np.quantile(values, [0.25, 0.5, 0.75], method="inverted_cdf")
    return (float(q[0]), float(q[1]), float(q[2]))


def _counter_median(counts: Counter[int]) -> float:
    total = sum(counts.values())
    if not total:
        return math.nan
    values = np.repeat(np.array(list(counts), dtype=np.float64), list(counts.values()))
    return float(np.median(values))


# ---------------------------------------------------------------------------
# XML helpers


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


@dataclass(frozen=True)
class _Param:
    accession: str
    name: str
    value: str
    unit: str


def _params(element: ET.Element, groups: Mapping[str, list[_Param]]) -> list[_Param]:
    """The cvParams of an element, its referenced param groups' first (direct children only)."""
    found: list[_Param] = []
    for child in element:
        tag = _local(child.tag)
        if tag == "cvParam":
            a = child.attrib
            found.append(
                _Param(
                    a.get("accession", ""),
                    a.get("name", ""),
                    a.get("value", ""),
                    a.get("unitAccession", "") or a.get("unitName", ""),
                )
            )
        elif tag == "referenceableParamGroupRef":
            found.extend(groups.get(child.attrib.get("ref", ""), ()))
    return found


def _value(params: Sequence[_Param], accession: str) -> _Param | None:
    for p in params:
        if p.accession == accession:
            return p
    return None


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _instrument_model(
    config: ET.Element | None,
    group_elements: Mapping[str, ET.Element],
    groups: Mapping[str, list[_Param]],
) -> str | None:
    """The instrument model: a specific model term of the run's instrument configuration,
    else a ``userParam name="instrument model"`` there or in a param group, else a
    vendor-family term ("Thermo Electron instrument model")."""
    scopes: list[ET.Element] = []
    if config is not None:
        scopes.append(config)
        for child in config:
            if _local(child.tag) == "referenceableParamGroupRef":
                ref = group_elements.get(child.attrib.get("ref", ""))
                if ref is not None:
                    scopes.append(ref)
    family: str | None = None
    if config is not None:
        for p in _params(config, groups):
            if p.accession == "MS:1000031":
                if p.value:
                    return p.value
            elif p.accession.startswith("MS:") and p.accession != _SERIAL_NUMBER:
                if p.name.endswith("instrument model"):
                    family = family or p.name
                else:
                    return p.name
    for scope in [*scopes, *group_elements.values()]:
        for child in scope:
            if _local(child.tag) == "userParam" and child.attrib.get("name") == "instrument model":
                value = child.attrib.get("value")
                if value:
                    return value
    if family is None:
        for element in group_elements.values():
            for child in element:
                name = child.attrib.get("name", "")
                if _local(child.tag) == "cvParam" and name.endswith("instrument model"):
                    family = name if name != "instrument model" else None
                    break
    return family


# ---------------------------------------------------------------------------
# the byte-level scanner


# While a reading thread runs, the GIL is handed over after 0.1 ms instead of
# Python's default 5 ms: the reading thread needs the GIL for a moment a few times
# per chunk, and with the default it would wait ~5 ms each time for the parsing
# thread (which holds the GIL) and fall behind. Set by the first reader, restored
# by the last one.
_SWITCH_INTERVAL = 1e-4
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.005


def _switch_quickly(on: bool) -> None:
    global _switch_users, _switch_saved
    with _switch_lock:
        if on:
            if _switch_users == 0:
                _switch_saved = sys.getswitchinterval()
                sys.setswitchinterval(min(_switch_saved, _SWITCH_INTERVAL))
            _switch_users += 1
        else:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


class _Source:
    """A forward-only byte window over a (possibly gzip) stream, read and hashed ahead.

    Positions are absolute offsets in the (uncompressed) stream. Bytes before
    :meth:`release`'s offset may be forgotten when more is read, which keeps
    memory bounded by the largest spectrum plus a few reads.

    A background thread reads the stream (decompressing it when gzip) and
    computes the SHA-256 of the bytes as stored, a few chunks ahead of the
    parsing: file reads, zlib and hashlib release the GIL, so this work runs on
    the other core. Each chunk is read after a free margin, where the kept tail
    of the previous window is copied, so the window is not copied again.
    """

    def __init__(self, raw: IO[bytes], *, gz: bool, digest: Any = None, start: int = 0) -> None:
        self.raw = raw
        self.digest = digest
        self.stream: IO[bytes] = gzip.GzipFile(fileobj=self, mode="rb") if gz else raw  # type: ignore[call-overload]
        self.hash_direct = not gz
        self.buf = bytearray()
        self.base = start  # offset of buf[0]
        self.mark = start  # bytes before this offset are no longer needed
        self.eof = False
        self.queue: queue.Queue[tuple[bytearray, int, int] | BaseException | None] = queue.Queue(
            maxsize=3
        )
        self.thread: threading.Thread | None = None
        self.hand_over = True  # False: only hash the rest (see drain)
        self.skip_before = start  # chunks ending before this offset are only hashed
        self.stopping = False

    # GzipFile reads compressed bytes through this, so they are hashed as stored
    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.digest is not None:
            self.digest.update(data)
        return data

    def _put(self, item: tuple[bytearray, int, int] | BaseException | None) -> bool:
        while not self.stopping:
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        """The reading thread: read, hash and hand over chunks until the end or close()."""
        offset = self.base  # of the next byte read
        try:
            while not self.stopping:
                buf = bytearray(_MARGIN + _CHUNK)
                with memoryview(buf) as view, view[_MARGIN:] as free:
                    got = self.stream.readinto(free)  # type: ignore[attr-defined]
                    if got and self.hash_direct and self.digest is not None:
                        with free[:got] as data:
                            self.digest.update(data)
                if not got:
                    self._put(None)
                    return
                offset += got
                if offset <= self.skip_before or not self.hand_over:
                    continue
                if not self._put((buf, got, offset - got)):
                    return
        except BaseException as err:  # handed to the parsing thread, which raises it
            self._put(err)

    @property
    def end(self) -> int:
        return self.base + len(self.buf)

    def release(self, offset: int) -> None:
        self.mark = max(self.mark, offset)

    def more(self) -> bool:
        if self.eof:
            return False
        if self.thread is None:
            thread = threading.Thread(target=self._produce, daemon=True)
            thread.start()
            self.thread = thread
            _switch_quickly(True)
        item = self.queue.get()
        if item is None:
            self.eof = True
            return False
        if isinstance(item, (EOFError, gzip.BadGzipFile, zlib.error)):
            self.eof = True
            raise _Truncated(f"corrupt or truncated gzip stream ({item})") from item
        if isinstance(item, BaseException):
            self.eof = True
            raise item
        buf, got, at = item
        if at != self.end:  # chunks were skipped: nothing is kept
            self.buf = bytearray()
            self.base = at
        cut = min(max(self.mark - self.base, 0), len(self.buf))
        kept = len(self.buf) - cut
        if got < _CHUNK:
            del buf[_MARGIN + got :]
        with memoryview(self.buf) as view, view[cut:] as tail:
            if kept <= _MARGIN:
                # the kept tail goes into the margin before the new bytes, and the
                # unused start of the margin is dropped (no copy: the bytearray's start moves)
                buf[_MARGIN - kept : _MARGIN] = tail
                del buf[: _MARGIN - kept]
            else:  # a spectrum larger than the margin: one copy
                buf = bytearray(tail) + memoryview(buf)[_MARGIN:]
        self.base += cut
        self.buf = buf
        return True

    def close(self) -> None:
        """Stop the reading thread; safe to call twice."""
        if self.thread is not None:
            self.stopping = True
            self.thread.join()
            self.thread = None
            _switch_quickly(False)

    def find(self, needle: bytes, pos: int, *, keep: bool = True) -> int:
        """Offset of needle at or after pos, reading more as needed; -1 at end of file.

        With ``keep=False`` the bytes searched in vain are released.
        """
        start = pos
        while True:
            i = self.buf.find(needle, max(start - self.base, 0))
            if i >= 0:
                return i + self.base
            start = max(pos, self.end - len(needle) + 1)
            if not keep:
                self.release(start)
            if not self.more():
                return -1

    def ensure(self, end: int) -> bool:
        while self.end < end:
            if not self.more():
                return False
        return True

    def slice(self, a: int, b: int) -> bytes:
        return bytes(memoryview(self.buf)[a - self.base : b - self.base])

    def startswith(self, prefix: bytes, at: int) -> bool:
        return self.buf.startswith(prefix, at - self.base)

    def count(self, needle: bytes, a: int, b: int) -> int:
        return self.buf.count(needle, a - self.base, b - self.base)

    def skip_to(self, offset: int) -> None:
        """Forget the bytes before ``offset``: they are read and hashed, not handed over."""
        self.release(offset)
        self.skip_before = offset

    def drain(self) -> None:
        """Read (and hash) the rest of the stream, without handing it over."""
        self.release(self.end)
        self.buf = bytearray()
        self.hand_over = False
        while not self.eof:
            self.more()
            self.buf = bytearray()


class _Truncated(Exception):
    pass


_WS = b" \t\r\n"
_OPEN_SPECTRUM = re.compile(rb"<spectrum[\s>]")
# the fast path: the few cvParams QC needs, found in the metadata by regular expressions
_FAST_PARAMS = re.compile(rb'accession="(MS:100(?:0511|0579|0285|0505|0016|0927|0041))"')
_VALUE = re.compile(rb'\bvalue="([^"]*)"')
# a unit attribute (after whitespace: ``x:unitName`` is another attribute)
_UNIT = re.compile(rb'\sunitAccession="([^"]+)"')
_UNIT_NAME = re.compile(rb'\sunitName="([^"]+)"')
_SPECTRUM_ID = re.compile(rb'\sid="([^"]*)"')
_ARRAY_LENGTH = re.compile(rb'\sdefaultArrayLength="(\d+)"')
# the block path: many whole spectra at once
_BLOCK_MIN = 1 << 16
_ARRAYS_OPEN = b"<binaryDataArrayList"
_ARRAYS_CLOSE = b"</binaryDataArrayList>"
_SPECTRUM_CLOSE = re.compile(rb"\s*</spectrum>\s*")
# the spectrum tag: index, id and defaultArrayLength in the usual orders, else id and length
_HEAD_INDEX_FIRST = re.compile(
    rb'<spectrum\s+index="(\d+)"\s+id="([^"]*)"\s+defaultArrayLength="(\d+)"'
)
_HEAD_ID_FIRST = re.compile(
    rb'<spectrum\s+id="([^"]*)"\s+index="(\d+)"\s+defaultArrayLength="(\d+)"'
)
_HEAD = re.compile(rb'<spectrum\s[^>]*?\sid="([^"]*)"[^>]*?\sdefaultArrayLength="(\d+)"')
_ACCESSIONS = rb"0(?:5(?:11|79|05)|285|016|927|041)"
_NEEDED = {_MS_LEVEL, _MS1_SPECTRUM, _TIC, _BASE_PEAK_INTENSITY, _SCAN_START_TIME}
_NEEDED |= {_INJECTION_TIME, _CHARGE}
# the needed cvParams, laid out as usual (accession, name, value, then perhaps the unit);
# the literal start lets the regular-expression engine skip quickly to each candidate.
# A needed cvParam laid out otherwise (a value before the accession, no value, no name)
# has its last group set (to the end of its accession, looked back at): the careful path.
_PARAMS = re.compile(
    rb'"MS:100(' + _ACCESSIONS + rb')"(?:\s+name="[^"]*"\s+value="([^"]*)"([^>]*)|(?<=(\d")))'
)
# the accession codes captured by _PARAMS as the integers of their 4 bytes
_CODE = {
    code: int(np.frombuffer(code, dtype=np.uint32)[0])
    for code in (b"0511", b"0579", b"0285", b"0505", b"0016", b"0927", b"0041")
}
_INDEX_OFFSET = re.compile(rb"<offset[^>]*>\s*(\d+)\s*</offset>")
# ident, ms level, rt (min), injection time (ms), peaks, TIC, base peak, charge, decoded
_Found = tuple[str, int, float, float, int | None, float | None, float | None, int | None, bool]
_BINARY_END = (b">", b"/", b" ", b"\t", b"\r", b"\n")
# a needed cvParam's attributes after its value -> its unit (accession, else name)
_UNITS: dict[bytes, bytes] = {}
_MINUTES = {b"UO:0000031": 1.0, b"minute": 1.0, b"UO:0000010": 60.0, b"second": 60.0}
#: Seconds per unit of time, by Unit Ontology accession or name.
_SECONDS = {
    b"UO:0000010": 1.0, b"second": 1.0, b"UO:0000031": 60.0, b"minute": 60.0,
    b"UO:0000032": 3600.0, b"hour": 3600.0, b"UO:0000028": 1e-3, b"millisecond": 1e-3,
    b"UO:0000029": 1e-6, b"microsecond": 1e-6, b"UO:0000150": 1e-9, b"nanosecond": 1e-9,
}  # fmt: skip
_TIME_UNIT_NAMES = "hour, minute, second, millisecond, microsecond, nanosecond"
#: Ion injection time units the many-spectra path converts itself (to ms).
_IIT_UNITS = {b"": 1.0, b"UO:0000028": 1.0, b"millisecond": 1.0, b"UO:0000010": 1000.0,
              b"second": 1000.0}  # fmt: skip


def _is_whole(value: float, least: int) -> bool:
    """Whether a count (ms level, charge) is a whole number of at least ``least``."""
    return value.is_integer() and value >= least


def _unit(rest: bytes) -> bytes:
    """The unit in the attributes after a cvParam's value (remembered: they repeat)."""
    unit = _UNITS.get(rest)
    if unit is None:
        found = _UNIT.search(rest) or _UNIT_NAME.search(rest)
        unit = found.group(1) if found else b""
        if len(_UNITS) > 4096:
            _UNITS.clear()
        _UNITS[rest] = unit
    return unit


def _first(codes: np.ndarray, owner: np.ndarray, code: int) -> tuple[np.ndarray, list[int]]:
    """The first cvParam ``code`` of each spectrum: (spectra, positions in the match list).

    ``codes`` holds the accession code of each match, ``owner`` the spectrum it is in
    (non-decreasing).
    """
    at = np.flatnonzero(codes == code)
    if len(at) > 1:
        who = owner[at]
        keep = np.empty(len(at), dtype=bool)
        keep[0] = True
        np.not_equal(who[1:], who[:-1], out=keep[1:])
        at = at[keep]
    return owner[at], at.tolist()


def _count(counter: Counter[int], values: np.ndarray) -> None:
    if len(values):
        keys, counts = np.unique(values, return_counts=True)
        counter.update(dict(zip(keys.tolist(), counts.tolist(), strict=True)))


class _Reader:
    """One pass over (a slice of) an mzML file."""

    def __init__(self, path: str, source: _Source) -> None:
        self.path = path
        self.src = source
        self.groups: dict[str, list[_Param]] = {}
        self.encoding = "utf-8"
        self.tally = _Tally()
        self.declared: int | None = None
        self.version: str | None = None
        self.instrument: str | None = None
        self.start_time: str | None = None
        self.index_count: int | None = None
        self.last_id: str | None = None

    def fail(self, message: str) -> InputFormatError:
        return InputFormatError(message, path=self.path)

    # -- header -------------------------------------------------------------
    def read_header(self) -> int:
        """Parse everything before the first spectrum; return buffer index after <spectrumList>."""
        src = self.src
        src.more()
        head = bytes(src.buf[:4096])
        text_start = head.lstrip(b"\xef\xbb\xbf").lstrip(_WS)
        if not text_start:
            raise self.fail("the file is empty")
        if not text_start.startswith(b"<"):
            raise self.fail(
                f"not an XML file (it starts with {bytes(text_start[:16])!r}); expected mzML"
            )
        declaration = re.match(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)", text_start)
        if declaration:
            self.encoding = declaration.group(1).decode("ascii")
        at = -1
        while True:
            at = src.buf.find(b"<spectrumList")
            if at >= 0 or len(src.buf) > _HEADER_LIMIT or not src.more():
                break
        if at < 0:
            end = src.buf.find(b"</run>")
            if end < 0 and b"<run" not in src.buf:
                root = re.search(rb"<([A-Za-z_][\w:.-]*)[\s>]", text_start.split(b"?>", 1)[-1])
                name = root.group(1).decode("ascii", "replace") if root else "?"
                if name not in ("mzML", "indexedmzML"):
                    raise self.fail(f"not an mzML file: its root element is <{name}>")
                raise self.fail("truncated: the file ends before its <run> element")
            if end < 0:
                end = src.buf.find(b"<chromatogramList")
            if end < 0:
                raise self.fail("truncated: the file ends inside its <run> element")
            header = bytes(src.buf[:end])
            after = -1
        else:
            close = src.find(b">", at)
            src.release(close + 1)
            if close < 0:
                raise self.fail("truncated: the file ends inside <spectrumList>")
            header = bytes(src.buf[: close + 1])
            after = close + 1
        self._parse_header(header)
        return after

    def _parse_header(self, header: bytes) -> None:
        if b"<!DOCTYPE" in header or b"<!ENTITY" in header:
            raise self.fail("refused: a document type declaration (mzML never uses one)")
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        try:
            parser.feed(header)
            pulled: Any = parser.read_events()
            events: list[tuple[str, ET.Element]] = list(pulled)
        except ET.ParseError as err:
            raise self.fail(f"not well-formed XML before the spectra: {err}") from err
        if not events:
            raise self.fail("not an mzML file: no XML element found")
        root = _local(events[0][1].tag)
        if root not in ("mzML", "indexedmzML"):
            raise self.fail(f"not an mzML file: its root element is <{root}>")
        configs: dict[str, ET.Element] = {}
        group_elements: dict[str, ET.Element] = {}
        default_config: str | None = None
        for kind, element in events:
            tag = _local(element.tag)
            if kind == "start":
                if tag == "mzML":
                    self.version = element.attrib.get("version")
                    if self.version and self.version.startswith("0."):
                        raise self.fail(
                            f"mzML {self.version} (a pre-release of mzML 1.0) is not supported; "
                            "convert the raw file again with a current msconvert"
                        )
                elif tag == "run":
                    self.start_time = element.attrib.get("startTimeStamp")
                    default_config = element.attrib.get("defaultInstrumentConfigurationRef")
                elif tag == "spectrumList":
                    count = element.attrib.get("count")
                    self.declared = int(count) if count and count.isdigit() else None
            elif tag == "referenceableParamGroup":
                self.groups[element.attrib.get("id", "")] = _params(element, {})
                group_elements[element.attrib.get("id", "")] = element
            elif tag == "instrumentConfiguration":
                configs[element.attrib.get("id", "")] = element
        self.instrument = _instrument_model(
            configs.get(default_config or "", next(iter(configs.values()), None)),
            group_elements,
            self.groups,
        )

    # -- spectra ------------------------------------------------------------
    def spectra(self, pos: int, stop: int | None = None) -> int:
        """Read spectra from offset pos; return the offset of </spectrumList>.

        With ``stop`` (an offset), stop before the first spectrum starting at or
        after it and return -1.
        """
        src = self.src
        src.release(pos)
        careful = pos  # spectra before this offset are read one by one
        while True:
            lt = src.find(b"<", pos, keep=False)
            if lt < 0 or not src.ensure(lt + 16):
                raise self.truncated("after", None)
            if src.startswith(b"<!--", lt):
                end = src.find(b"-->", lt, keep=False)
                if end < 0:
                    raise self.truncated("in a comment after", None)
                pos = end + 3
                continue
            if src.startswith(b"</spectrumList", lt):
                return lt
            if not _OPEN_SPECTRUM.match(src.buf, lt - src.base):
                tag = re.match(rb"</?[\w:.-]*", src.slice(lt, lt + 40))
                what = tag.group(0).decode("ascii", "replace") if tag else "?"
                raise self.fail(
                    f"unexpected {what}> after spectrum {self.tally.n_spectra} "
                    f"(byte {lt}); expected <spectrum> or </spectrumList>"
                )
            if stop is not None and lt >= stop:
                return -1
            src.release(lt)
            # many whole spectra in the buffer: read them together
            if lt >= careful:
                limit = src.end if stop is None else min(src.end, stop)
                last = src.buf.rfind(b"</spectrum>", lt - src.base, limit - src.base)
                end = src.base + last + len(b"</spectrum>") if last >= 0 else lt
                if end - lt > _BLOCK_MIN:
                    done, until = self._block(src.buf, lt - src.base, end - src.base)
                    careful = src.base + until
                    if done > lt - src.base:
                        pos = src.base + done
                        src.release(pos)
                        continue
                elif (stop is None or src.end < stop) and src.more():
                    # too little left in the window: read more, and try again
                    pos = lt
                    continue
            end = src.find(b"</spectrum>", lt)
            if end < 0:
                raise self.truncated("inside", lt)
            end += len(b"</spectrum>")
            self.spectrum(src.slice(lt, end), lt)
            src.release(end)
            pos = end

    def truncated(self, where: str, start: int | None) -> InputFormatError:
        n = self.tally.n_spectra
        last = f" (the last complete one: id '{self.last_id}')" if self.last_id else ""
        if start is not None:
            spec = self.src.slice(start, start + 300)
            ident = re.search(rb'\sid="([^"]*)"', spec)
            label = f" id '{ident.group(1).decode(errors='replace')}'" if ident else ""
            return self.fail(
                f"truncated: the file ends {where} spectrum {n + 1}{label} "
                f"(starting at byte {start}), after {n} complete spectra{last}"
            )
        return self.fail(
            f"truncated: the file ends {where} spectrum {n} without closing the spectrum "
            f"list, after {n} complete spectra{last}"
        )

    def spectrum(self, chunk: bytes, offset: int) -> None:
        meta: list[bytes] = []
        payloads: list[bytes] = []
        pos = 0
        while True:
            b = chunk.find(b"<binary", pos)
            while b >= 0 and chunk[b + 7 : b + 8] not in _BINARY_END:
                b = chunk.find(b"<binary", b + 7)
            if b < 0:
                meta.append(chunk[pos:])
                break
            gt = chunk.find(b">", b)
            if chunk[gt - 1 : gt] == b"/":  # <binary/>
                meta.append(chunk[pos : gt + 1])
                payloads.append(b"")
                pos = gt + 1
                continue
            close = chunk.find(b"</binary>", gt)
            if close < 0:
                raise self.fail(f"spectrum at byte {offset}: <binary> is never closed")
            meta.append(chunk[pos:b])
            meta.append(b"<binary/>")
            payloads.append(chunk[gt + 1 : close])
            pos = close + len(b"</binary>")
        fragment = b"".join(meta)
        if b"referenceableParamGroupRef" not in fragment:
            found = self._scan_fast(fragment, offset)
            if found is not None:
                self._add(*found)
                return
        if self.encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "us-ascii", "ascii"):
            fragment = f'<?xml version="1.0" encoding="{self.encoding}"?>'.encode() + fragment
        try:
            element = ET.fromstring(fragment)
        except ET.ParseError as err:
            raise self.fail(
                f"spectrum {self.tally.n_spectra + 1} (byte {offset}) is not well-formed XML: {err}"
            ) from err
        self._measure(element, payloads)

    def _number(self, raw: bytes | str, what: str, ident: str, *, intensity: bool = False) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
            problem = "is not a number"
        else:
            if math.isfinite(value) and not (intensity and value < 0):
                return value
            problem = (
                "is negative: an ion current or intensity cannot be"
                if math.isfinite(value)
                else "is not a finite number"
            )
        text = raw.decode(self.encoding, "replace") if isinstance(raw, bytes) else raw
        raise self.fail(
            f"spectrum {self.tally.n_spectra + 1} (id '{ident}'): {what} {text!r} {problem}"
        ) from None

    def _whole(self, raw: bytes | str, what: str, ident: str, least: int) -> int:
        """A cvParam that counts (ms level, charge): a whole number of at least ``least``."""
        value = self._number(raw, what, ident)
        if not _is_whole(value, least):
            text = raw.decode(self.encoding, "replace") if isinstance(raw, bytes) else raw
            raise self.fail(
                f"spectrum {self.tally.n_spectra + 1} (id '{ident}'): {what} {text!r} is not "
                f"a whole number of at least {least}"
            )
        return int(value)

    def _groups_matter(self) -> bool:
        """Whether a param group defines a cvParam QC needs (then references to it count)."""
        return any(p.accession in _NEEDED for group in self.groups.values() for p in group)

    def _block(self, buf: bytes | bytearray, start: int, stop: int) -> tuple[int, int]:
        """Read the whole spectra in ``buf[start:stop]`` together, as far as they are usual.

        Returns ``(done, careful)``: the spectra before ``done`` were read; those
        before ``careful`` (if further) must be read one by one. Each spectrum's
        metadata is everything between its tag and its ``<binaryDataArrayList>``;
        the array list (the arrays' cvParams and base64 payloads) is skipped by a
        byte search for its end, which must be followed by ``</spectrum>``. The
        needed cvParams of each spectrum are found by one ``findall`` over its
        metadata, and the numbers are worked out for all the spectra at once.

        The walk stops at a spectrum laid out otherwise (no array list, a tag without
        ``id`` and ``defaultArrayLength``, a reference to a param group that defines
        a needed cvParam): the spectrum-by-spectrum path takes it, and names
        problems precisely. A whole batch is handed to that path when a needed
        cvParam is unusual (attributes in another order, no value), an MS1
        spectrum has no TIC or base peak (its arrays must be decoded), a time has
        no unit or an unexpected one, or a value is not a number.
        """
        find = buf.find
        index_first = _HEAD_INDEX_FIRST.match
        id_first = _HEAD_ID_FIRST.match
        close_match = _SPECTRUM_CLOSE.match
        findall = _PARAMS.findall
        check_groups = self._groups_matter()
        # per spectrum: index (b"" when not read), id, defaultArrayLength, where it starts
        # and where its metadata starts and ends
        indices: list[bytes] = []
        ids: list[bytes] = []
        lengths: list[bytes] = []
        spans: list[tuple[int, int, int]] = []
        params: list[list[tuple[bytes, bytes, bytes, bytes]]] = []
        pos = start
        while pos < stop:
            head = index_first(buf, pos, stop)
            if head is not None:
                index, ident, length = head.groups()
            else:
                head = id_first(buf, pos, stop)
                if head is not None:
                    ident, index, length = head.groups()
                else:
                    head = _HEAD.match(buf, pos, stop)
                    if head is None:
                        break
                    index = b""
                    ident, length = head.groups()
            meta = head.end()
            arrays = find(_ARRAYS_OPEN, meta, stop)
            if arrays < 0:
                break
            closed = find(_ARRAYS_CLOSE, arrays, stop)
            if closed < 0:
                break
            end = close_match(buf, closed + len(_ARRAYS_CLOSE), stop)
            if end is None or (check_groups and find(b"ParamGroupRef", meta, arrays) >= 0):
                break
            indices.append(index)
            ids.append(ident)
            lengths.append(length)
            spans.append((pos, meta, arrays))
            params.append(findall(buf, meta, arrays))
            pos = end.end()
        n = len(ids)
        # a spectrum without an array list would have been read with the next one's;
        # consecutive indices rule that out, else each metadata span is searched
        if n > 1 and not (
            indices[0] and b"" not in indices and int(indices[-1]) - int(indices[0]) == n - 1
        ):
            for k, (opened, a, b) in enumerate(spans):
                if find(b"</spectrum>", a, b) >= 0:
                    n, pos = k, opened
                    break
        if not n:
            return start, start
        try:
            read = self._batch(ids[:n], lengths[:n], params[:n])
        except (ValueError, OverflowError):
            read = False  # a value that is not a number: the careful path names it
        return (pos, pos) if read else (start, pos)

    def _batch(
        self,
        ids: list[bytes],
        lengths: list[bytes],
        params: list[list[tuple[bytes, bytes, bytes, bytes]]],
    ) -> bool:
        """Add a batch of spectra to the tally: their ids, defaultArrayLength and cvParams.

        Returns False, with the tally unchanged, when the batch must be read one by one.
        """
        n = len(ids)
        owner = np.repeat(np.arange(n), list(map(len, params)))
        value: tuple[bytes, ...] = ()
        rest: tuple[bytes, ...] = ()
        codes = np.zeros(0, dtype=np.uint32)
        if len(owner):
            accession, value, rest, unusual = zip(*chain.from_iterable(params), strict=True)
            if any(unusual):
                return False
            # the 4-digit accession codes as integers, compared faster than strings
            codes = np.array(accession, dtype="S4").view(np.uint32)

        def first(code: bytes) -> tuple[np.ndarray, list[int]]:
            return _first(codes, owner, _CODE[code])

        def numbers(at: list[int]) -> list[float]:
            found = list(map(float, [value[i] for i in at]))
            if not np.isfinite(found).all():
                raise ValueError("inf or NaN")  # the careful path names it
            return found

        def given(code: bytes) -> tuple[np.ndarray, list[int]]:
            """The first cvParam ``code`` of each spectrum, where its value is not empty."""
            who, at = first(code)
            keep = [bool(value[i]) for i in at]
            if all(keep):
                return who, at
            return who[np.array(keep, dtype=bool)], [i for i, k in zip(at, keep, strict=True) if k]

        level = np.zeros(n, dtype=np.int64)
        level[first(b"0579")[0]] = 1
        who, at = first(b"0511")
        given_levels = numbers(at)
        if not all(_is_whole(v, 1) for v in given_levels):
            return False  # the careful path names it
        level[who] = list(map(int, given_levels))
        ms1 = level == 1
        ms2 = level == 2
        n1 = int(ms1.sum())
        tic = np.full(n, math.nan)
        bp = np.full(n, math.nan)
        if n1:
            for target, code in ((tic, b"0285"), (bp, b"0505")):
                who, at = first(code)
                keep = ms1[who]
                target[who[keep]] = numbers(np.array(at, dtype=np.int64)[keep].tolist())
            if np.isnan(tic[ms1]).any() or np.isnan(bp[ms1]).any():
                return False  # the arrays must be decoded (or a value is NaN)
            if (tic[ms1] < 0).any() or (bp[ms1] < 0).any():
                return False  # the careful path names it
        rt = np.full(n, math.nan)
        who, at = given(b"0016")
        if at:
            divisors = [_MINUTES.get(_unit(rest[i])) for i in at]
            if None in divisors:
                return False  # no unit, or another unit: the careful path warns or names it
            rt[who] = np.array(numbers(at)) / np.array(divisors)
        iit = np.full(n, math.nan)
        who, at = given(b"0927")
        if at:
            factors = [_IIT_UNITS.get(_unit(rest[i])) for i in at]
            if None in factors:
                return False  # another unit: the careful path converts or names it
            iit[who] = np.array(numbers(at)) * np.array(factors)
        charge = np.zeros(n, dtype=np.int64)
        known = np.zeros(n, dtype=bool)
        who, at = given(b"0041")
        if at:
            keep = ms2[who]
            charges = numbers(np.array(at, dtype=np.int64)[keep].tolist())
            if not all(_is_whole(z, 0) for z in charges):
                return False  # the careful path names it
            charge[who[keep]] = list(map(int, charges))
            known[who[keep]] = True
        peaks = np.array(lengths).astype(np.int64)

        # everything is known: add to the tally
        t = self.tally
        encoding = self.encoding

        def ident(raw: bytes) -> str:
            text = raw.decode(encoding, "replace")
            return html.unescape(text) if "&" in text else text

        t.n_spectra += n
        _count(t.levels, level)
        timed = ~np.isnan(rt)
        if timed.any():
            t.rt_min = min(t.rt_min, float(rt[timed].min()))
            t.rt_max = max(t.rt_max, float(rt[timed].max()))
        if n1:
            # added one by one, in file order, as the careful path does
            t.tic_total = sum(tic[ms1].tolist(), t.tic_total)
            t.base_peak_max = max(t.base_peak_max, float(bp[ms1].max()))
            chromatogram = ms1 & timed
            t.ms1_rt.frombytes(rt[chromatogram].tobytes())
            t.ms1_tic.frombytes(tic[chromatogram].tobytes())
            t.ms1_ids.extend(ident(ids[i]) for i in np.flatnonzero(chromatogram).tolist())
            t.iit1.frombytes(iit[ms1 & ~np.isnan(iit)].tobytes())
            _count(t.peaks1, peaks[ms1])
        if ms2.any():
            t.iit2.frombytes(iit[ms2 & ~np.isnan(iit)].tobytes())
            _count(t.peaks2, peaks[ms2])
            _count(t.charges, charge[ms2 & known])
            t.unknown_charge += int((ms2 & ~known).sum())
        self.last_id = ident(ids[-1])
        return True

    def _from_values(
        self, values: dict[bytes, tuple[bytes, bytes]], ident: str, peaks: int | None
    ) -> _Found | None:
        """A spectrum's QC values from its cvParams (accession -> (value, unit))."""
        if b"MS:1000511" in values:
            level = self._whole(values[b"MS:1000511"][0], "ms level", ident, 1)
        else:
            level = 1 if b"MS:1000579" in values else 0
        tic = bp = None
        if level == 1:
            if not values.get(b"MS:1000285", (b"",))[0]:
                return None
            if not values.get(b"MS:1000505", (b"",))[0]:
                return None
            tic = self._number(values[b"MS:1000285"][0], "total ion current", ident, intensity=True)
            bp = self._number(
                values[b"MS:1000505"][0], "base peak intensity", ident, intensity=True
            )
        rt = math.nan
        start = values.get(b"MS:1000016")
        if start is not None and start[0]:
            rt = self._minutes(
                self._number(start[0], "scan start time", ident), start[1].decode(), ident
            )
        iit = math.nan
        injection = values.get(b"MS:1000927")
        if injection is not None and injection[0]:
            iit = self._milliseconds(
                self._number(injection[0], "ion injection time", ident),
                injection[1].decode(),
                ident,
            )
        charge = None
        z = values.get(b"MS:1000041")
        if z is not None and z[0]:
            charge = self._whole(z[0], "charge state", ident, 0)
        return (ident, level, rt, iit, peaks, tic, bp, charge, False)

    def _scan_fast(self, fragment: bytes, offset: int) -> _Found | None:
        """The QC values of a spectrum by regular expressions over its metadata.

        Returns None when the spectrum needs the full parse (an MS1 spectrum
        without TIC or base peak cvParam, whose arrays must be decoded).
        """
        tag_end = fragment.find(b">")
        head = fragment[: tag_end + 1]
        found_id = _SPECTRUM_ID.search(head)
        ident = found_id.group(1).decode(self.encoding, "replace") if found_id else "?"
        if "&" in ident:
            ident = html.unescape(ident)
        found_length = _ARRAY_LENGTH.search(head)
        peaks = int(found_length.group(1)) if found_length else None
        values: dict[bytes, tuple[bytes, bytes]] = {}
        for match in _FAST_PARAMS.finditer(fragment, tag_end):
            accession = match.group(1)
            if accession in values:
                continue  # the first scan, the first precursor's first selected ion
            opened = fragment.rfind(b"<", 0, match.start())
            if not fragment.startswith(b"<cvParam", opened):
                continue  # e.g. a userParam or a referenced term: not a cvParam
            tag = fragment[opened : fragment.find(b">", match.end()) + 1]
            value = _VALUE.search(tag)
            unit = _UNIT.search(tag) or _UNIT_NAME.search(tag)
            values[accession] = (value.group(1) if value else b"", unit.group(1) if unit else b"")
        return self._from_values(values, ident, peaks)

    def _minutes(self, value: float, unit: str, ident: str) -> float:
        if unit in (_MINUTE, "minute"):
            return value
        if unit:  # (seconds: value * 1.0 / 60.0, which is value / 60.0)
            return value * self._seconds_per(unit, "scan start time", ident) / 60.0
        if not self.tally.seconds_unit_warned:
            warnings.warn(
                f"{self.path}: spectrum '{ident}' gives its scan start time without a unit; "
                "read as minutes",
                InputFormatWarning,
                stacklevel=2,
            )
            self.tally.seconds_unit_warned = True
        return value

    def _milliseconds(self, value: float, unit: str, ident: str) -> float:
        """An ion injection time in ms (its unit by PSI-MS when the file names none)."""
        if unit in ("", _MILLISECOND, "millisecond"):
            return value
        return value * self._seconds_per(unit, "ion injection time", ident) * 1000.0

    def _seconds_per(self, unit: str, what: str, ident: str) -> float:
        seconds = _SECONDS.get(unit.encode())
        if seconds is None:
            raise self.fail(
                f"spectrum {self.tally.n_spectra + 1} (id '{ident}'): {what} in unit "
                f"{unit!r}, which is not a unit of time salivaprot knows ({_TIME_UNIT_NAMES})"
            )
        return seconds

    def _add(
        self,
        ident: str,
        level: int,
        rt: float,
        iit: float,
        peaks: int | None,
        tic: float | None,
        bp: float | None,
        charge: int | None,
        decoded: bool,
    ) -> None:
        t = self.tally
        t.n_spectra += 1
        t.levels[level] += 1
        self.last_id = ident
        if not math.isnan(rt):
            t.rt_min = min(t.rt_min, rt)
            t.rt_max = max(t.rt_max, rt)
        if decoded:
            t.decoded += 1
        if level == 1:
            tic = 0.0 if tic is None else tic
            t.tic_total += tic
            if bp is not None:
                t.base_peak_max = max(t.base_peak_max, bp)
            if not math.isnan(rt):
                t.ms1_rt.append(rt)
                t.ms1_tic.append(tic)
                t.ms1_ids.append(ident)
            if not math.isnan(iit):
                t.iit1.append(iit)
            if peaks is not None:
                t.peaks1[peaks] += 1
        elif level == 2:
            if not math.isnan(iit):
                t.iit2.append(iit)
            if peaks is not None:
                t.peaks2[peaks] += 1
            if charge is None:
                t.unknown_charge += 1
            else:
                t.charges[charge] += 1

    def _measure(self, spectrum: ET.Element, payloads: list[bytes]) -> None:
        """The QC values of a parsed spectrum (param groups resolved, arrays decoded if needed)."""
        groups = self.groups
        params = _params(spectrum, groups)
        ident = spectrum.attrib.get("id", "?")
        level_param = _value(params, _MS_LEVEL)
        if level_param is not None:
            level = self._whole(level_param.value, "ms level", ident, 1)
        elif _value(params, _MS1_SPECTRUM) is not None:
            level = 1
        else:
            level = 0  # unknown
        scan = None
        scan_list = _child(spectrum, "scanList")
        if scan_list is not None:
            scan = _child(scan_list, "scan")
        rt = iit = math.nan
        if scan is not None:
            scan_params = _params(scan, groups)
            start = _value(scan_params, _SCAN_START_TIME)
            if start is not None and start.value:
                value = self._number(start.value, "scan start time", ident)
                rt = self._minutes(value, start.unit, ident)
            injection = _value(scan_params, _INJECTION_TIME)
            if injection is not None and injection.value:
                iit = self._milliseconds(
                    self._number(injection.value, "ion injection time", ident),
                    injection.unit,
                    ident,
                )
        length = spectrum.attrib.get("defaultArrayLength")
        peaks = int(length) if length and length.isdigit() else None
        tic = bp = None
        decoded = False
        charge = None
        if level == 1:
            tic_param = _value(params, _TIC)
            bp_param = _value(params, _BASE_PEAK_INTENSITY)
            if tic_param is not None and tic_param.value:
                tic = self._number(tic_param.value, "total ion current", ident, intensity=True)
            if bp_param is not None and bp_param.value:
                bp = self._number(bp_param.value, "base peak intensity", ident, intensity=True)
            if tic is None or bp is None:
                intensities = self._intensities(spectrum, payloads, peaks, ident)
                decoded = True
                if tic is None:
                    tic = float(intensities.sum(dtype=np.float64))
                if bp is None and len(intensities):
                    bp = float(intensities.max())
        elif level == 2:
            precursors = _child(spectrum, "precursorList")
            precursor = _child(precursors, "precursor") if precursors is not None else None
            ions = _child(precursor, "selectedIonList") if precursor is not None else None
            ion = _child(ions, "selectedIon") if ions is not None else None
            if ion is not None:
                z = _value(_params(ion, groups), _CHARGE)
                if z is not None and z.value:
                    charge = self._whole(z.value, "charge state", ident, 0)
        self._add(ident, level, rt, iit, peaks, tic, bp, charge, decoded)

    def _intensities(
        self, spectrum: ET.Element, payloads: list[bytes], peaks: int | None, ident: str
    ) -> np.ndarray:
        arrays = _child(spectrum, "binaryDataArrayList")
        index = 0
        for bda in arrays if arrays is not None else ():
            if _local(bda.tag) != "binaryDataArray":
                continue
            params = _params(bda, self.groups)
            payload = payloads[index] if index < len(payloads) else b""
            index += 1
            if _value(params, _INTENSITY_ARRAY) is None:
                continue
            length = bda.attrib.get("arrayLength")
            count = int(length) if length and length.isdigit() else peaks
            try:
                return _decode(payload, params, count)
            except (ValueError, zlib.error, TypeError) as err:
                raise self.fail(
                    f"spectrum '{ident}': cannot decode its intensity array ({err})"
                ) from err
        raise self.fail(
            f"spectrum '{ident}' has neither a total ion current cvParam nor an intensity array"
        )

    # -- after the spectra ---------------------------------------------------
    def trailer(self, pos: int) -> None:
        """From </spectrumList> (or the end of <run>) to the end: check, count the index."""
        src = self.src
        src.release(pos)
        end = src.find(b"</mzML>", pos, keep=False)
        if end < 0:
            n = self.tally.n_spectra
            raise self.fail(
                f"truncated: the file ends before </mzML>, after its {n} spectra were read"
            )
        start = src.find(b'<index name="spectrum"', end, keep=False)
        if start >= 0:
            count = 0
            pos = start
            while True:
                close = src.buf.find(b"</index>", pos - src.base)
                if close >= 0:
                    count += src.count(b"<offset", pos, close + src.base)
                    break
                upto = max(pos, src.end - len(b"<offset") + 1)
                count += src.count(b"<offset", pos, upto)
                pos = upto
                src.release(pos)
                if not src.more():
                    raise self.fail("truncated: the file ends inside its spectrum index")
            self.index_count = count
        src.drain()

    def check_counts(self) -> None:
        """An index promising more spectra than found is an error; other mismatches warn."""
        n = self.tally.n_spectra
        last = f"; the last spectrum read: id '{self.last_id}'" if self.last_id else ""
        if self.index_count is not None and self.index_count > n:
            raise self.fail(
                f"the index lists {self.index_count} spectra but the file holds only {n} "
                f"(read to the end{last}): spectra are missing from this file"
            )
        if self.index_count is not None and self.index_count < n:
            warnings.warn(
                f"{self.path}: the index lists {self.index_count} spectra but the file holds "
                f"{n}; all {n} were read",
                InputFormatWarning,
                stacklevel=3,
            )
        if self.declared is not None and self.declared != n:
            warnings.warn(
                f"{self.path}: <spectrumList count> says {self.declared} spectra but the file "
                f"holds {n}; all {n} were read",
                InputFormatWarning,
                stacklevel=3,
            )


# ---------------------------------------------------------------------------
# binary decoding


def _decode(payload: bytes, params: Sequence[_Param], count: int | None) -> np.ndarray:
    raw = base64.b64decode(payload) if payload.strip() else b""
    accessions = {p.accession for p in params}
    numpress = next((_NUMPRESS[a] for a in accessions if a in _NUMPRESS), None)
    if numpress is not None:
        kind, zlib_after = numpress
        if zlib_after or _ZLIB in accessions:
            raw = zlib.decompress(raw) if raw else raw
        return _numpress(kind, raw)
    if _ZLIB in accessions and raw:
        raw = zlib.decompress(raw)
    dtype = next((_DTYPES[a] for a in accessions if a in _DTYPES), None)
    if dtype is None:
        raise ValueError("no binary data type cvParam (32/64-bit float or integer)")
    values = np.frombuffer(raw, dtype=dtype)
    if count is not None and len(values) != count:
        raise ValueError(f"decoded {len(values)} values, expected {count}")
    return values.astype(np.float64)


def _numpress(kind: str, raw: bytes) -> np.ndarray:
    if not raw:
        return np.zeros(0)
    try:
        import pynumpress  # type: ignore[import-not-found,unused-ignore]
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ValueError(
            "MS-Numpress data needs the 'pynumpress' package (pip install pynumpress)"
        ) from err
    data = np.frombuffer(raw, dtype=np.uint8)
    if kind == "linear":
        out = pynumpress.decode_linear(data)
    elif kind == "pic":
        out = pynumpress.decode_pic(data)
    else:
        out = pynumpress.decode_slof(data)
    return np.asarray(out, dtype=np.float64)


# ---------------------------------------------------------------------------
# public entry point


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _spectrum_offsets(path: Path, size: int) -> array[int] | None:
    """Byte offsets of the spectra from an indexed mzML's index, or None.

    The index is read in chunks and the offsets kept as 8-byte integers, so a
    million spectra cost 8 MB.
    """
    offsets: array[int] = array("q")
    with open(path, "rb") as handle:
        handle.seek(max(0, size - 512))
        found = re.search(rb"<indexListOffset>\s*(\d+)\s*</indexListOffset>", handle.read())
        if not found or int(found.group(1)) >= size:
            return None
        handle.seek(int(found.group(1)))
        pending = b""
        inside = False
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                return offsets if inside else None
            text = pending + chunk
            if not inside:
                opened = text.find(b'<index name="spectrum">')
                if opened < 0:
                    pending = text[-32:]
                    continue
                inside, text = True, text[opened:]
            closed = text.find(b"</index>")
            usable = text[:closed] if closed >= 0 else text[: max(text.rfind(b"<offset"), 0)]
            offsets.extend(int(m) for m in _INDEX_OFFSET.findall(usable))
            if closed >= 0:
                return offsets
            pending = text[len(usable) :]


def _cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _read_range(path: str, start: int, stop: int | None) -> tuple[_Tally, str | None]:
    """Worker: read the spectra whose start lies in [start, stop); return tally and last id."""
    with open(path, "rb") as head:
        header_src = _Source(head, gz=False)
        header_reader = _Reader(path, header_src)
        try:
            header_reader.read_header()
        finally:
            header_src.close()
    with open(path, "rb") as raw:
        raw.seek(start)
        src = _Source(raw, gz=False, start=start)
        reader = _Reader(path, src)
        reader.groups = header_reader.groups
        reader.encoding = header_reader.encoding
        try:
            reader.spectra(start, stop)
        finally:
            src.close()
    return reader.tally, reader.last_id


def read_mzml_qc(path: PathLike, *, workers: int = 1) -> RunQC:
    """Read the run-level QC metrics of an mzML file in one streaming pass.

    Parameters
    ----------
    path : str or path-like
        An mzML 1.x file, indexed or not, optionally gzip-compressed (``.mzML.gz``).
    workers : int
        Processes to read one file with, at most. One process already uses two
        cores (it parses while a thread reads and hashes the file), so with 2 or
        more, an indexed, uncompressed file is split at its index into parts
        read in parallel only as far as there are further cores: on a 2-core
        machine it is read by one process. The results are the same.

    Returns
    -------
    RunQC
        The metrics; :meth:`RunQC.row` gives them as one ``qc.tsv`` row.

    Raises
    ------
    InputFormatError
        The file is missing, not XML, not mzML, an mzML 0.99 pre-release,
        truncated (the message names how many spectra were complete), or its
        index or spectrum count promises spectra the file does not hold.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from salivaprot.io.mzml_example import write_example_mzml
    >>> path = write_example_mzml(pathlib.Path(tempfile.mkdtemp()) / "S01.mzML", n_spectra=32)
    >>> qc = read_mzml_qc(path)
    >>> qc.run, qc.n_ms1, qc.n_ms2, qc.instrument_model
    ('S01', 2, 30, 'Q Exactive')
    >>> qc.rt_start_min, qc.rt_end_min
    (0.0, 60.0)
    >>> qc.row()["ms2_charge_2"] > 0.3
    True
    """
    # the readers' shared checks: missing, folder, device, named pipe, link loop; shell pipes
    # are read once into a temporary file
    p = input_path(path, what="mzML file")
    name = str(path)
    size = p.stat().st_size
    if size == 0:
        raise InputFormatError("the file is empty", path=path)
    gz = _is_gzip(p)
    digest = hashlib.sha256()
    parts: list[tuple[int, int | None]] = []
    skip = 0
    # the reading thread keeps a second core busy: split into processes only as far
    # as there are cores beyond that
    workers = min(workers, _cores() - 1)
    if workers > 1 and not gz:
        offsets = _spectrum_offsets(p, size)
        if offsets and len(offsets) >= 2 * workers and max(offsets) < size:
            # this process also hashes the whole file and reads past the workers'
            # parts, so it parses a smaller share (40% of the spectra with 2 workers)
            first = _MAIN_SHARE / workers
            shares = [first + (1.0 - first) * k / (workers - 1) for k in range(workers - 1)]
            cuts = [offsets[int(len(offsets) * share)] for share in shares]
            with open(p, "rb") as handle:
                ok = cuts == sorted(set(cuts))
                for cut in cuts:
                    handle.seek(cut)
                    ok = ok and bool(_OPEN_SPECTRUM.match(handle.read(16)))
                # this process only hashes the bytes up to the last spectrum (when the
                # index shows where it starts), then looks for </spectrumList> after it
                handle.seek(max(offsets))
                skip = max(offsets) if _OPEN_SPECTRUM.match(handle.read(16)) else cuts[-1]
            if ok:
                parts = [(c, n) for c, n in zip(cuts, [*cuts[1:], None], strict=True)]
    executor = None
    futures = []
    if parts:
        # the workers are started first, while this process has no other thread
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        executor = ProcessPoolExecutor(len(parts), mp_context=multiprocessing.get_context(method))
        futures = [executor.submit(_read_range, name, a, b) for a, b in parts]
    try:
        with open(p, "rb") as raw:
            src = _Source(raw, gz=gz, digest=digest)
            reader = _Reader(name, src)
            try:
                after = reader.read_header()
                if after >= 0:
                    stop = parts[0][0] if parts else None
                    end = reader.spectra(after, stop)
                    if end < 0:
                        # the other parts are read by workers: meanwhile read (and hash)
                        # the rest up to </spectrumList>, then take their tallies
                        reader.src.skip_to(skip)
                        end = reader.src.find(b"</spectrumList", skip, keep=False)
                        for future in futures:
                            tally, last = future.result()
                            reader.tally.merge(tally)
                            reader.last_id = last or reader.last_id
                        if end < 0:
                            raise reader.truncated("after", None)
                else:
                    end = after
                reader.trailer(end)
                reader.check_counts()
            except _Truncated as err:
                n = reader.tally.n_spectra
                raise InputFormatError(
                    f"truncated: {err}, after {n} complete spectra", path=path
                ) from err
            except OSError as err:
                raise InputFormatError(f"cannot read the file: {err}", path=path) from err
            finally:
                src.close()
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    return _result(reader, name, digest.hexdigest())


def _result(reader: _Reader, path: str, sha: str) -> RunQC:
    t = reader.tally
    unknown = t.levels.get(0, 0)
    if unknown:
        warnings.warn(
            f"{path}: {unknown} of {t.n_spectra} spectra give no MS level (neither 'ms level' "
            "nor 'MS1 spectrum'): counted in n_spectra, as neither MS1 nor MS2",
            InputFormatWarning,
            stacklevel=3,
        )
    order = np.argsort(np.frombuffer(t.ms1_rt, dtype=np.float64), kind="stable")
    return RunQC(
        path=path,
        run=file_stem(os.path.basename(path)),
        sha256=sha,
        mzml_version=reader.version,
        instrument_model=reader.instrument,
        start_time=reader.start_time,
        n_spectra=t.n_spectra,
        n_ms1=t.levels.get(1, 0),
        n_ms2=t.levels.get(2, 0),
        rt_start_min=t.rt_min if t.rt_min != math.inf else math.nan,
        rt_end_min=t.rt_max if t.rt_max != -math.inf else math.nan,
        tic_total=t.tic_total if t.levels.get(1, 0) else math.nan,
        base_peak_max=t.base_peak_max if t.base_peak_max != -math.inf else math.nan,
        ms1_injection_time=_quartiles(t.iit1),
        ms2_injection_time=_quartiles(t.iit2),
        ms1_peaks_median=_counter_median(t.peaks1),
        ms2_peaks_median=_counter_median(t.peaks2),
        charges=dict(sorted(t.charges.items())),
        ms2_unknown_charge=t.unknown_charge,
        n_decoded=t.decoded,
        ms1_rt_min=np.frombuffer(t.ms1_rt, dtype=np.float64)[order].copy(),
        ms1_tic=np.frombuffer(t.ms1_tic, dtype=np.float64)[order].copy(),
        ms1_ids=tuple(t.ms1_ids[i] for i in order),
        ms1_peaks_quartiles=_counter_quartiles(t.peaks1),
        ms2_peaks_quartiles=_counter_quartiles(t.peaks2),
    )


def read_qc_table(path: PathLike) -> Any:
    """Read a ``qc.tsv`` written by ``salivaprot qc`` (one row per run).

    Returns
    -------
    pandas.DataFrame
        As written: ``run``, the metrics, ``qc_pass`` (bool) and ``qc_reasons``.

    Raises
    ------
    InputFormatError
        The file is not such a table (no ``run`` or ``qc_pass`` column) or
        names a run twice.
    """
    import io

    import pandas as pd

    from salivaprot.io._files import read_text

    text = read_text(path, what="QC table")
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep="\t",
            dtype={"run": str, "sample_id": str, "qc_reasons": str, "error": str},
        )
    except (ValueError, pd.errors.ParserError) as err:
        raise InputFormatError(f"not a tab-separated table: {err}", path=path) from err
    missing = [c for c in ("run", "qc_pass") if c not in table.columns]
    if missing:
        raise InputFormatError(
            f"not a qc.tsv from 'salivaprot qc': no {' or '.join(missing)} column", path=path
        )
    repeated = sorted(set(table.loc[table["run"].duplicated(), "run"]))
    if repeated:
        raise InputFormatError(f"runs listed more than once: {repeated}", path=path)
    flags = table["qc_pass"].astype(str).str.lower()
    if not flags.isin(["true", "false"]).all():
        raise InputFormatError("column 'qc_pass' must hold True or False", path=path)
    table["qc_pass"] = flags == "true"
    if "qc_reasons" in table.columns:
        table["qc_reasons"] = table["qc_reasons"].fillna("").astype(str)
    return table
