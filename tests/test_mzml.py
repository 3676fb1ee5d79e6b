# ruff: noqa: E501  (tables of expected values, one file per line)
"""Run-level QC from mzML: real files, synthetic runs, damaged files."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import math
import re
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from salivaprot import InputFormatError, InputFormatWarning, read_mzml_qc
from salivaprot.io import mzml
from salivaprot.io.mzml import QC_COLUMNS, RunQC
from salivaprot.io.mzml_example import write_example_mzml
from tests.conftest import real_file, real_folder, real_params
from tests.mzml_reference import ours, pyteomics_qc

DATA = Path(__file__).resolve().parent / "data"
COPIES = DATA / "real"
nan = math.nan

# file -> (n_ms1, n_ms2, instrument, rt start, rt end (min), MS1 TIC sum, charges, unknown, decoded)
REAL: dict[str, tuple[Any, ...]] = {
    "hupo-psi-mzml/examples/tiny.pwiz.1.1.mzML": (3, 1, "LCQ Deca", 0.7008333333333333, 5.9905, 16679700.0, {2: 1}, 0, 1),
    "ms_deisotope/tests/test_data/has_missing_charge_state_info.mzML": (3, 2, "Q Exactive", 0.0044898139, 0.027433696, 97975632.0, {}, 2, 0),
    "ms_deisotope/tests/test_data/small.mzML": (14, 34, "LTQ FT", 0.004935, 0.487236666667, 185112952.0, {}, 34, 0),
    "mzdata/test/data/20200204_BU_8B8egg_1ug_uL_7charges_60_min_Slot2-11_1_244.mzML.gz": (2, 101, "Bruker Daltonics timsTOF series", 32.66795749172835, 32.73157983362221, 30779856.0, {1: 3, 2: 2, 3: 53, 4: 39}, 4, 0),
    "mzlib/mzLib/Test/DatabaseTests/sliced_b6.mzML": (7, 257, "Orbitrap Fusion", 77.003460795467, 77.128956597067, 9852113600.0, {2: 146, 3: 79, 4: 21, 5: 9, 6: 2}, 0, 0),
    "mzlib/mzLib/Test/FlashLFQ/TestData/SilacTest.mzML": (9, 83, "Q Exactive", 98.638236, 99.002961, 3721542620.0, {2: 31, 3: 20, 4: 25, 5: 7}, 0, 0),
    "mzlib/mzLib/Test/FlashLFQ/TestData/sliced-mzml.mzML": (10, 90, "LTQ Orbitrap Velos", 93.90167, 94.49917, 10617290496.0, {2: 77, 3: 13}, 0, 0),
    "openms/share/OpenMS/examples/ID/Ecoli_MS2_small.mzML": (0, 139, "LTQ Orbitrap XL", 83.33485999999999, 84.16226833333333, nan, {2: 97, 3: 33, 4: 9}, 0, 0),
    "openms/src/tests/class_tests/openms/data/IM_FAIMS_test.mzML": (9, 10, "Orbitrap Exploris 480", 2.272112376118, 2.414206642532, 4948260544.0, {2: 9, 3: 1}, 0, 0),
    "openms/src/tests/class_tests/openms/data/MzMLFile_6_compressed.mzML": (4, 0, None, 0.016666666666666666, 0.06666666666666667, 19800.0, {}, 0, 4),
    "openms/src/tests/topp/FileFilter_37_output.mzML": (4, 6, None, 0.347855, 0.66618, 2712169.3336359696, {}, 6, 4),
    "openms/src/tests/topp/FileFilter_38_output.mzML": (4, 6, None, 0.347855, 0.66618, 2712155.0, {}, 6, 4),
    "pymzml/tests/data/example.mzML.gz": (11, 0, "Q Exactive", 0.0014658998, 0.046045516, 1125941596.0, {}, 0, 0),
    "pymzml/tests/data/mini_numpress.chrom.mzML": (0, 0, None, nan, nan, nan, {}, 0, 0),
}  # fmt: skip
#: Real files whose metadata disagree with their content: read, with these warnings.
WARNS = {
    "openms/src/tests/class_tests/openms/data/IM_FAIMS_test.mzML": [
        r"<spectrumList count> says 87605 spectra but the file holds 19"
    ],
    "pymzml/tests/data/example.mzML.gz": [
        r"the index lists 10 spectra but the file holds 11",
        r"<spectrumList count> says 2918 spectra but the file holds 11",
    ],
}
REFUSED = {
    "hupo-psi-mzml/examples/1min.mzML": r"1min\.mzML: mzML 0\.99\.1 \(a pre-release of mzML 1\.0\) "
    r"is not supported",
    "pyteomics/tests/test.mzML": r"test\.mzML: the index lists 48 spectra but the file holds "
    r"only 2 \(read to the end; the last spectrum read: id 'controllerType=0 "
    r"controllerNumber=1 scan=2'\)",
}


@pytest.fixture(autouse=True)
def _many_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    # a file is split between processes only where there are more than two cores:
    # here as if there were 8, so that workers=2 and 3 take the split path
    monkeypatch.setattr(mzml, "_cores", lambda: 8)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    return bool(a == b)


def _read(path: Path, expected_warnings: list[str] | None = None, **kwargs: Any) -> RunQC:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qc = read_mzml_qc(path, **kwargs)
    messages = [str(w.message) for w in caught]
    for pattern in expected_warnings or []:
        assert any(re.search(re.escape(pattern), m) for m in messages), messages
    assert len(messages) == len(expected_warnings or []), messages
    assert all(issubclass(w.category, InputFormatWarning) for w in caught)
    return qc


def _check(qc: RunQC, expected: tuple[Any, ...]) -> None:
    n1, n2, model, rt0, rt1, tic, charges, unknown, decoded = expected
    assert (qc.n_ms1, qc.n_ms2, qc.instrument_model) == (n1, n2, model)
    assert _same(qc.rt_start_min, rt0) and _same(qc.rt_end_min, rt1)
    assert _same(qc.tic_total, tic)
    assert qc.charges == charges
    assert qc.ms2_unknown_charge == unknown
    assert qc.n_decoded == decoded


def _matches_pyteomics(path: Path, qc: RunQC) -> None:
    reference = pyteomics_qc(path)
    mine = ours(qc)
    differ = {k: (mine[k], reference[k]) for k in reference if not _same(mine[k], reference[k])}
    assert not differ


@pytest.mark.parametrize("relative", real_params(REAL))
def test_real_files(relative: str) -> None:
    path = real_file(relative)
    qc = _read(path, WARNS.get(relative))
    _check(qc, REAL[relative])
    _matches_pyteomics(path, qc)
    row = qc.row()
    assert list(row) == list(QC_COLUMNS)
    assert row["sha256"] == qc.sha256 and len(qc.sha256) == 64
    parallel = _read(path, WARNS.get(relative), workers=2)  # split at the index when usable
    assert all(_same(parallel.row()[c], row[c]) for c in QC_COLUMNS)


@pytest.mark.parametrize("relative", real_params(REFUSED))
def test_real_files_refused(relative: str) -> None:
    path = real_file(relative)
    with pytest.raises(InputFormatError, match=REFUSED[relative]):
        read_mzml_qc(path)


@pytest.mark.shared_real
def test_every_real_mzml_is_covered() -> None:
    folder = real_folder()  # the whole ../shared/real, not the copies in tests/data/real
    found = {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and re.search(r"\.mzml(\.gz)?$", p.name, re.IGNORECASE)
    }
    assert found == set(REAL) | set(REFUSED)


# --- fixtures shipped in tests/data (run on a fresh clone without ../shared) -------------

FIXTURES = {
    "tiny.pwiz.1.1.mzML": ([], REAL["hupo-psi-mzml/examples/tiny.pwiz.1.1.mzML"]),
    "FileFilter_37_output.mzML": ([], REAL["openms/src/tests/topp/FileFilter_37_output.mzML"]),
    "example.mzML.gz": (
        WARNS["pymzml/tests/data/example.mzML.gz"],
        REAL["pymzml/tests/data/example.mzML.gz"],
    ),
    "IM_FAIMS_test.first3.mzML": (
        [],
        (1, 2, "Orbitrap Exploris 480", 2.272112376118, 2.275570222886, 636240000.0, {2: 2}, 0, 0),
    ),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixtures(name: str) -> None:
    expected_warnings, expected = FIXTURES[name]
    qc = _read(DATA / name, expected_warnings)
    _check(qc, expected)
    _matches_pyteomics(DATA / name, qc)


# Trimmed copies of the real files too large to carry whole (make_mzml_fixtures.py):
# (n_ms1, n_ms2, instrument, charges, MS2 of unknown charge); every other metric must equal
# a full pyteomics read of the same trimmed file.
TRIMMED = {
    "Ecoli_MS2_small.first3.mzML": (0, 3, "LTQ Orbitrap XL", {2: 1, 3: 1, 4: 1}, 0),
    "SilacTest.first3.mzML": (1, 2, "Q Exactive", {4: 2}, 0),
    "has_missing_charge_state_info.first2.mzML.gz": (1, 1, "Q Exactive", {}, 1),
    "sliced-mzml.first3.mzML": (1, 2, "LTQ Orbitrap Velos", {2: 2}, 0),
    "sliced_b6.first3.mzML": (1, 2, "Orbitrap Fusion", {2: 1, 3: 1}, 0),
    "small.ms2_2-4.mzML": (0, 3, "LTQ FT", {}, 3),
    "timsTOF_ddaPASEF.first3.mzML.gz": (0, 3, "Bruker Daltonics timsTOF series", {3: 3}, 0),
}
TRIMMED_REFUSED = {
    "1min.first2.mzML": REFUSED["hupo-psi-mzml/examples/1min.mzML"].replace(
        "1min", "1min\\.first2"
    ),
    "test.mzML.gz": REFUSED["pyteomics/tests/test.mzML"].replace("mzML:", "mzML\\.gz:"),
}


@pytest.mark.parametrize("name", sorted(TRIMMED))
def test_trimmed_real_files(name: str) -> None:
    qc = _read(DATA / name)
    assert (qc.n_ms1, qc.n_ms2, qc.instrument_model) == TRIMMED[name][:3]
    assert (qc.charges, qc.ms2_unknown_charge) == TRIMMED[name][3:]
    _matches_pyteomics(DATA / name, qc)
    parallel = _read(DATA / name, workers=2)
    assert all(_same(parallel.row()[c], qc.row()[c]) for c in QC_COLUMNS)


@pytest.mark.parametrize("name", sorted(TRIMMED_REFUSED))
def test_trimmed_real_files_refused(name: str) -> None:
    with pytest.raises(InputFormatError, match=TRIMMED_REFUSED[name]):
        read_mzml_qc(DATA / name)


def test_every_mzml_fixture_is_covered() -> None:
    found = {p.name for p in DATA.iterdir() if re.search(r"\.mzml(\.gz)?$", p.name, re.I)}
    assert found == set(FIXTURES) | set(TRIMMED) | set(TRIMMED_REFUSED)
    copies = {
        str(p.relative_to(COPIES))
        for p in COPIES.rglob("*")
        if re.search(r"\.mzml(\.gz)?$", p.name, re.IGNORECASE)
    }
    assert copies and copies <= set(REAL)  # every copy of a real file is read by test_real_files


def test_fixture_details() -> None:
    tiny = _read(DATA / "tiny.pwiz.1.1.mzML")
    # scan start time in seconds on one spectrum (42 s), none on another
    assert len(tiny.ms1_rt_min) == 2
    assert tiny.ms1_rt_min[0] == pytest.approx(42.0 / 60.0, abs=1e-3)
    assert tiny.start_time == "2007-06-27T15:23:45.00035"
    assert tiny.base_peak_max == 120053.0
    assert (tiny.ms1_peaks_median, tiny.ms2_peaks_median) == (15.0, 10.0)
    faims = _read(DATA / "IM_FAIMS_test.first3.mzML")
    assert faims.ms1_injection_time[1] == pytest.approx(2.787945792079)
    assert faims.ms2_injection_time[1] == pytest.approx(53.463550284505)
    numpress = _read(DATA / "FileFilter_37_output.mzML")  # TIC from Numpress-slof arrays
    assert numpress.n_decoded == 4 and numpress.base_peak_max == pytest.approx(38922.55365201299)


# --- synthetic runs -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mzml")
    return write_example_mzml(folder / "S01.mzML", n_spectra=400, ms1_peaks=60, ms2_peaks=20)


def test_synthetic_matches_pyteomics(synthetic: Path) -> None:
    qc = _read(synthetic)
    assert (qc.n_spectra, qc.n_ms1, qc.n_ms2) == (400, 25, 375)
    assert (qc.rt_start_min, qc.rt_end_min) == (0.0, 60.0)
    assert qc.instrument_model == "Q Exactive"
    assert qc.start_time == "2026-03-02T09:15:00Z"
    assert 0.0 < qc.ms2_unknown_charge_fraction < 0.25
    assert sum(qc.charge_fractions.values()) == pytest.approx(1.0)
    _matches_pyteomics(synthetic, qc)
    profile = qc.tic_profile(10)
    assert len(profile) == 10 and profile.sum() == pytest.approx(qc.tic_total)
    assert len(qc.row()["tic_profile"].split(";")) == 20


def test_parallel_read_is_identical(synthetic: Path) -> None:
    serial = _read(synthetic)
    for workers in (2, 3):  # the main process parses a smaller share than the workers
        parallel = _read(synthetic, workers=workers)
        for column in QC_COLUMNS:
            assert _same(parallel.row()[column], serial.row()[column]), (workers, column)
        assert (parallel.ms1_tic == serial.ms1_tic).all()


def _no_split(*args: Any) -> Any:
    raise AssertionError("split between processes")


def test_two_cores_read_in_one_process(synthetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # one process already uses two cores (parsing, and a thread reading and hashing)
    monkeypatch.setattr(mzml, "_read_range", _no_split)
    monkeypatch.setattr(mzml, "_cores", lambda: 2)
    assert not _same_qc(_read(synthetic, workers=2), _read(synthetic))
    monkeypatch.setattr(mzml, "_cores", lambda: 3)
    with pytest.raises(AssertionError, match="split between processes"):
        read_mzml_qc(synthetic, workers=2)


def test_variants_give_the_same_metrics(tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"n_spectra": 120, "ms1_peaks": 40, "ms2_peaks": 10, "seed": 3}
    base = _read(write_example_mzml(tmp_path / "a.mzML", **kwargs))
    gz = _read(write_example_mzml(tmp_path / "b.mzML.gz", gz=True, **kwargs))
    seconds = _read(write_example_mzml(tmp_path / "c.mzML", time_unit="second", **kwargs))
    decoded = _read(
        write_example_mzml(tmp_path / "d.mzML", with_tic=False, compress=False, **kwargs)
    )
    assert gz.run == "b" and gz.sha256 != base.sha256
    for other in (gz, seconds, decoded):
        assert (other.n_ms1, other.n_ms2, other.charges) == (base.n_ms1, base.n_ms2, base.charges)
        assert other.rt_end_min == pytest.approx(base.rt_end_min, rel=1e-9)
        assert other.tic_total == pytest.approx(base.tic_total, rel=1e-9)
    assert decoded.n_decoded == base.n_ms1 and base.n_decoded == 0
    assert decoded.base_peak_max == pytest.approx(base.base_peak_max, rel=1e-9)


def test_sha256_is_of_the_bytes_as_stored(synthetic: Path, tmp_path: Path) -> None:
    # the digest is computed in a background thread, chunk by chunk, while parsing
    big = write_example_mzml(tmp_path / "big.mzML", n_spectra=1500, ms1_peaks=400, ms2_peaks=80)
    assert big.stat().st_size > 2 * (1 << 22)  # several reading chunks
    packed = tmp_path / "big.mzML.gz"
    packed.write_bytes(gzip.compress(big.read_bytes()))
    for path in (synthetic, big, packed):
        expected = hashlib.sha256(path.read_bytes()).hexdigest()
        assert _read(path).sha256 == expected, path.name
        assert _read(path, workers=2).sha256 == expected, path.name


def test_no_hashing_thread_is_left_behind(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nor a changed GIL switch interval (quicker while the reading thread runs)
    before = threading.active_count()
    interval = sys.getswitchinterval()
    seen: list[float] = []
    block = mzml._Reader._block

    def spy(self: Any, *args: Any) -> Any:
        seen.append(sys.getswitchinterval())
        return block(self, *args)

    monkeypatch.setattr(mzml._Reader, "_block", spy)
    path = tmp_path / "cut.mzML"
    path.write_bytes(synthetic.read_bytes()[:-5000])
    for _ in range(3):
        with pytest.raises(InputFormatError):
            read_mzml_qc(path)
        _read(synthetic)
    assert threading.active_count() == before
    assert sys.getswitchinterval() == interval
    assert seen and seen == pytest.approx([min(interval, mzml._SWITCH_INTERVAL)] * len(seen))


def test_stray_markup_in_a_payload_changes_nothing(tmp_path: Path) -> None:
    # the array lists (payloads included) are skipped whole by the block path
    source = write_example_mzml(tmp_path / "a.mzML", n_spectra=300, ms1_peaks=40, ms2_peaks=20)
    expected = ours(_read(source))
    raw = source.read_bytes()
    at = raw.index(b"<binary>", raw.index(b'<spectrum index="120"')) + len(b"<binary>")
    path = tmp_path / "b.mzML"
    path.write_bytes(raw[:at] + b"<!-- a comment -->" + raw[at:])
    assert ours(_read(path)) == expected


def _same_qc(a: RunQC, b: RunQC) -> list[str]:
    """The fields (arrays and ids included) in which two reads differ."""
    differ = []
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            same = x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))
        else:
            same = _same(x, y)
        if not same:
            differ.append(f.name)
    return differ


def _careful(path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> RunQC:
    """Read with the block path switched off: every spectrum on its own."""
    with monkeypatch.context() as patch:
        patch.setattr(mzml, "_BLOCK_MIN", 1 << 62)
        return _read(path, **kwargs)


def _renumber(raw: bytes, times: int) -> bytes:
    return re.sub(
        rb'<spectrum index="(\d+)"', lambda m: b'<spectrum index="%d"' % (int(m[1]) * times), raw
    )


def test_block_path_agrees_with_the_careful_path(tmp_path: Path, monkeypatch: Any) -> None:
    # the block path walks the spectra by their array lists and reads their needed
    # cvParams in batches; spectra laid out otherwise stop the walk, batches with
    # unusual cvParams are read one by one: the metrics are the same either way
    source = write_example_mzml(tmp_path / "a.mzML", n_spectra=300, ms1_peaks=40, ms2_peaks=20)
    raw = source.read_bytes()
    base = _read(source)
    assert not _same_qc(base, _careful(source, monkeypatch))
    # spectra 120 and 200 (MS2) without an array list: with consecutive indices, and
    # with indices that are not (then every spectrum's metadata is searched)
    no_arrays = raw
    for index in (b"120", b"200"):
        at = no_arrays.index(b'<spectrum index="' + index + b'"')
        opened = no_arrays.index(b"<binaryDataArrayList", at)
        closed = no_arrays.index(b"</binaryDataArrayList>", at) + len(b"</binaryDataArrayList>")
        no_arrays = no_arrays[:opened] + no_arrays[closed:]
    # spectrum 5 with a second scan (a later time): its first scan counts
    at = raw.index(b"</scan>", raw.index(b'<spectrum index="5"')) + len(b"</scan>")
    second = re.sub(
        rb'name="scan start time" value="[^"]*"',
        b'name="scan start time" value="99.0"',
        raw[raw.rindex(b"<scan ", 0, at) : at],
    )
    two_scans = raw[:at] + second + raw[at:]
    # MS2 spectra take their ms level from a param group (which must then be resolved)
    grouped = raw.replace(
        b'<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="2"/>',
        b'<referenceableParamGroupRef ref="msn"/>',
    ).replace(
        b"</referenceableParamGroupList>",
        b'<referenceableParamGroup id="msn"><cvParam cvRef="MS" accession="MS:1000511" '
        b'name="ms level" value="2"/></referenceableParamGroup></referenceableParamGroupList>',
    )
    variants = {
        "no_arrays": no_arrays,
        "no_arrays_gapped_indices": _renumber(no_arrays, 2),
        "gapped_indices": _renumber(raw, 3),
        "id_first": re.sub(rb'index="(\d+)" id="([^"]*)"', rb'id="\2" index="\1"', raw),
        "length_first": re.sub(
            rb'<spectrum (index="\d+" id="[^"]*") (defaultArrayLength="\d+")', rb"<spectrum \2 \1", raw
        ),
        "two_scans": two_scans,
        "grouped": grouped,
        "value_first": re.sub(
            rb'(accession="MS:1000511") (name="ms level") (value="\d")', rb"\1 \3 \2", raw
        ),
        "time_without_unit": raw.replace(
            b'unitCvRef="UO" unitAccession="UO:0000031" unitName="minute"', b""
        ),
        "injection_seconds_by_name": raw.replace(
            b'unitCvRef="UO" unitAccession="UO:0000028" unitName="millisecond"', b'unitName="second"'
        ),
    }  # fmt: skip
    for name, content in variants.items():
        assert content != raw, name
        path = tmp_path / f"{name}.mzML"
        path.write_bytes(content)
        expected = ["without a unit; read as minutes"] if name == "time_without_unit" else []
        fast = _read(path, expected)
        assert not _same_qc(fast, _careful(path, monkeypatch, expected_warnings=expected)), name
        if name != "injection_seconds_by_name":  # pyteomics ignores the unit
            _matches_pyteomics(path, fast)
    assert ours(_read(tmp_path / "grouped.mzML")) == ours(base)
    assert ours(_read(tmp_path / "id_first.mzML")) == ours(base)
    assert _read(tmp_path / "no_arrays.mzML").n_spectra == 300
    assert _read(tmp_path / "two_scans.mzML").rt_end_min == 60.0
    seconds = _read(tmp_path / "injection_seconds_by_name.mzML")
    assert seconds.ms2_injection_time[1] == pytest.approx(1000.0 * base.ms2_injection_time[1])


@pytest.mark.parametrize("margin", [2048, 1 << 20])
def test_small_reads_give_the_same_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, margin: int
) -> None:
    # reads of an odd size put read boundaries inside cvParams, spectrum tags and
    # payloads; with a small margin the kept tail often does not fit before the next
    # read (the window is then copied once)
    path = write_example_mzml(tmp_path / "a.mzML", n_spectra=600, ms1_peaks=300, ms2_peaks=60)
    base = _read(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    packed = tmp_path / "a.mzML.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    with monkeypatch.context() as patch:
        patch.setattr(mzml, "_CHUNK", 20_011)
        patch.setattr(mzml, "_MARGIN", margin)
        patch.setattr(mzml, "_BLOCK_MIN", 4096)
        for workers in (1, 2):
            small = _read(path, workers=workers)
            assert not _same_qc(small, base), workers
            assert small.sha256 == sha
        assert not [f for f in _same_qc(_read(packed), base) if f not in ("path", "run", "sha256")]


# --- damaged and wrong files ---------------------------------------------------------------


def test_truncated_inside_a_spectrum(synthetic: Path, tmp_path: Path) -> None:
    raw = synthetic.read_bytes()
    cut = raw.index(b'<spectrum index="7"') + 500
    path = tmp_path / "cut.mzML"
    path.write_bytes(raw[:cut])
    with pytest.raises(InputFormatError) as err:
        read_mzml_qc(path)
    message = str(err.value)
    assert message.startswith(f"{path}: truncated: the file ends inside spectrum 8")
    assert "after 7 complete spectra" in message and "scan=7" in message
    gz = tmp_path / "cut.mzML.gz"
    packed = gzip.compress(raw)
    gz.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputFormatError, match=r"cut\.mzML\.gz: truncated: .*complete spectra"):
        read_mzml_qc(gz)


def test_truncated_between_spectra_and_before_the_end(synthetic: Path, tmp_path: Path) -> None:
    raw = synthetic.read_bytes()
    path = tmp_path / "cut.mzML"
    path.write_bytes(raw[: raw.index(b'<spectrum index="9"')])
    with pytest.raises(InputFormatError, match=r"truncated: .* after 9 complete spectra"):
        read_mzml_qc(path)
    path.write_bytes(raw[: raw.index(b"</run>")])
    with pytest.raises(InputFormatError, match=r"ends before </mzML>, after its 400 spectra"):
        read_mzml_qc(path)
    path.write_bytes(raw[:300])
    with pytest.raises(InputFormatError, match=r"truncated: the file ends before its <run>"):
        read_mzml_qc(path)


def test_index_promising_more_spectra(synthetic: Path, tmp_path: Path) -> None:
    raw = synthetic.read_bytes()
    start = raw.index(b'        <spectrum index="398"')
    end = raw.index(b"</spectrumList>")
    path = tmp_path / "short.mzML"
    path.write_bytes(raw[:start] + b"      " + raw[end:])
    with pytest.raises(
        InputFormatError, match=r"the index lists 400 spectra but the file holds only 398"
    ):
        read_mzml_qc(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", r"not an XML file \(it starts with"),
        (b"sample_id,run\ns1,r1\n", r"not an XML file"),
        (b"", r"the file is empty"),
        (b'<?xml version="1.0"?>\n<mzXML><msRun/></mzXML>\n', r"not an mzML file: its root element is <mzXML>"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE mzML [<!ENTITY a "b">]>\n<mzML version="1.1.0"><run><spectrumList count="0"></spectrumList></run></mzML>',
            r"refused: a document type declaration",
        ),
    ],
)  # fmt: skip
def test_not_mzml(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.mzML"
    path.write_bytes(content)
    with pytest.raises(InputFormatError, match=rf"bad\.mzML: {message}"):
        read_mzml_qc(path)


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="mzML file not found"):
        read_mzml_qc(tmp_path / "nope.mzML")
    with pytest.raises(InputFormatError, match="found a folder"):
        read_mzml_qc(tmp_path)


def test_malformed_spectrum_names_it(tmp_path: Path) -> None:
    # spectra that need their arrays decoded are parsed as XML: malformed ones are named
    raw = write_example_mzml(tmp_path / "a.mzML", n_spectra=20, ms1_peaks=5, with_tic=False)
    path = tmp_path / "bad.mzML"
    path.write_bytes(raw.read_bytes().replace(b"<scanList", b"<scanLst", 1))
    with pytest.raises(InputFormatError, match=r"spectrum 1 \(byte \d+\) is not well-formed XML"):
        read_mzml_qc(path)
    # the others are scanned for their cvParams: values that are not numbers are named
    raw = write_example_mzml(tmp_path / "b.mzML", n_spectra=20, ms1_peaks=5)
    path.write_bytes(
        raw.read_bytes().replace(b'name="ms level" value="2"', b'name="ms level" value="two"', 1)
    )
    with pytest.raises(
        InputFormatError,
        match=r"bad\.mzML: spectrum 2 \(id 'controllerType=0 controllerNumber=1 scan=2'\): "
        r"ms level 'two' is not a number",
    ):
        read_mzml_qc(path)


def test_unusual_cvparam_layouts_fall_back_to_the_careful_path(tmp_path: Path) -> None:
    # blocks of spectra are read with a few regular expressions; anything unusual in a
    # block sends it to the spectrum-by-spectrum path, with the same results
    source = write_example_mzml(tmp_path / "a.mzML", n_spectra=300, ms1_peaks=40, ms2_peaks=20)
    expected = ours(_read(source))
    raw = source.read_bytes()
    swapped = re.sub(
        rb'accession="MS:1000511" name="ms level" value="(\d)"',
        rb'value="\1" name="ms level" accession="MS:1000511"',
        raw,
    )
    unit_by_name = raw.replace(b'unitCvRef="UO" unitAccession="UO:0000031" ', b"")
    grouped = raw.replace(
        b'<cvParam cvRef="MS" accession="MS:1000130" name="positive scan" value=""/>',
        b'<referenceableParamGroupRef ref="CommonInstrumentParams"/>',
    )
    for name, content in (("b", swapped), ("c", unit_by_name), ("d", grouped)):
        assert content != raw
        path = tmp_path / f"{name}.mzML"
        path.write_bytes(content)
        assert ours(_read(path)) == expected, name
    bad = raw.replace(b'name="charge state" value="3"', b'name="charge state" value="3+"')
    path = tmp_path / "e.mzML"
    path.write_bytes(bad)
    first = bad[: bad.index(b'value="3+"')].count(b"<spectrum ")
    with pytest.raises(InputFormatError, match=rf"spectrum {first} \(id '[^']+'\): charge state"):
        read_mzml_qc(path)


# --- units, and values that are not what they say ---------------------------------------
_MINUTE_UNIT = b'unitAccession="UO:0000031" unitName="minute"'
_MS_UNIT = b'unitAccession="UO:0000028" unitName="millisecond"'


@pytest.mark.parametrize("careful", [False, True], ids=["blocks", "one by one"])
def test_times_in_any_unit_of_time_are_converted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, careful: bool
) -> None:
    # a scan start time in ms or hours was read as minutes, an injection time in
    # microseconds as milliseconds (with a warning that the time had no unit, or none)
    path = write_example_mzml(tmp_path / "a.mzML", n_spectra=300)
    raw = path.read_bytes()
    read = (lambda p: _careful(p, monkeypatch)) if careful else _read
    base = read(path)
    for name, old, new, factor in (
        ("rt_ms", _MINUTE_UNIT, b'unitAccession="UO:0000028" unitName="millisecond"', 1 / 60000),
        ("rt_h", _MINUTE_UNIT, b'unitAccession="UO:0000032" unitName="hour"', 60.0),
        ("iit_us", _MS_UNIT, b'unitAccession="UO:0000029" unitName="microsecond"', 1e-3),
        ("iit_s", _MS_UNIT, b'unitName="second"', 1000.0),
    ):
        changed = tmp_path / f"{name}.mzML"
        changed.write_bytes(raw.replace(old, new))
        qc = read(changed)
        if name.startswith("rt"):
            assert qc.rt_end_min == pytest.approx(base.rt_end_min * factor, rel=1e-12)
            assert qc.ms2_injection_time == base.ms2_injection_time
        else:
            assert qc.ms2_injection_time == pytest.approx(
                [x * factor for x in base.ms2_injection_time], rel=1e-12
            )
            assert qc.rt_end_min == base.rt_end_min
    other = tmp_path / "percent.mzML"
    other.write_bytes(raw.replace(_MINUTE_UNIT, b'unitAccession="UO:0000187" unitName="percent"'))
    with pytest.raises(
        InputFormatError, match="scan start time in unit 'UO:0000187', which is not"
    ):
        read(other)


@pytest.mark.parametrize("careful", [False, True], ids=["blocks", "one by one"])
@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (b'name="total ion current" value="', b'name="total ion current" value="inf', "total ion "
         "current 'inf"),
        (b'name="ms level" value="1"', b'name="ms level" value="1.5"', "ms level '1.5' is not "
         "a whole number"),
        (b'name="charge state" value="2"', b'name="charge state" value="2.7"', "charge state "
         "'2.7' is not a whole number"),
        (b'name="scan start time" value="', b'name="scan start time" value="NaN', "scan start "
         "time 'NaN"),
        (b'name="total ion current" value="', b'name="total ion current" value="-', "total ion "
         "current '-"),
        (b'name="base peak intensity" value="', b'name="base peak intensity" value="-', "base "
         "peak intensity '-"),
    ],
    ids=["tic-inf", "level-1.5", "charge-2.7", "rt-nan", "tic-negative", "base-peak-negative"],
)  # fmt: skip
def test_a_value_that_is_not_what_it_counts_is_named(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    careful: bool,
    old: bytes,
    new: bytes,
    said: str,
) -> None:
    # an infinite TIC crashed 'salivaprot qc' when it wrote the mzQC; a level of 1.5 read as 1
    path = write_example_mzml(tmp_path / "a.mzML", n_spectra=300)
    raw = path.read_bytes()
    at = raw.index(old)
    path.write_bytes(raw[:at] + raw[at:].replace(old, new, 1))
    with pytest.raises(InputFormatError, match=re.escape(said)):
        _careful(path, monkeypatch) if careful else _read(path)


def test_spectra_without_an_ms_level_are_counted_and_said(tmp_path: Path) -> None:
    path = write_example_mzml(tmp_path / "a.mzML", n_spectra=300)
    base = _read(path)
    raw = re.sub(rb'<cvParam[^>]*name="ms level" value="2"/>', b"", path.read_bytes())
    path.write_bytes(raw)
    qc = _read(path, [f"{base.n_ms2} of {base.n_spectra} spectra give no MS level"])
    assert (qc.n_spectra, qc.n_ms1, qc.n_ms2) == (base.n_spectra, base.n_ms1, 0)
