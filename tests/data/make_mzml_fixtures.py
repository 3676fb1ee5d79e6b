"""Make the small real mzML fixtures in this folder from ../shared/real (see README.md).

Run from the repository root: ``python tests/data/make_mzml_fixtures.py``. Whole
files are copied byte for byte (``.gz`` when the copy is gzip-compressed); a
trimmed file keeps the header and the chosen spectra of the original byte for
byte (their ``index`` attributes as they were), drops the index wrapper (so it is
plain mzML), and sets ``<spectrumList count>`` to the spectra kept; a ``.gz``
name is written gzip-compressed (``gzip -9n``, no time stamp).
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1].parent / "shared" / "real"

COPIES = {
    "tiny.pwiz.1.1.mzML": "hupo-psi-mzml/examples/tiny.pwiz.1.1.mzML",
    "FileFilter_37_output.mzML": "openms/src/tests/topp/FileFilter_37_output.mzML",
    "example.mzML.gz": "pymzml/tests/data/example.mzML.gz",
}
#: name -> (source, indices of the spectra kept, in file order)
TRIMS: dict[str, tuple[str, Sequence[int]]] = {
    "IM_FAIMS_test.first3.mzML": (
        "openms/src/tests/class_tests/openms/data/IM_FAIMS_test.mzML",
        range(3),
    ),
    "has_missing_charge_state_info.first2.mzML.gz": (
        "ms_deisotope/tests/test_data/has_missing_charge_state_info.mzML",
        range(2),
    ),
    "small.ms2_2-4.mzML": ("ms_deisotope/tests/test_data/small.mzML", (2, 3, 4)),
    "timsTOF_ddaPASEF.first3.mzML.gz": (
        "mzdata/test/data/20200204_BU_8B8egg_1ug_uL_7charges_60_min_Slot2-11_1_244.mzML.gz",
        range(3),
    ),
    "sliced_b6.first3.mzML": ("mzlib/mzLib/Test/DatabaseTests/sliced_b6.mzML", range(3)),
    "SilacTest.first3.mzML": ("mzlib/mzLib/Test/FlashLFQ/TestData/SilacTest.mzML", range(3)),
    "sliced-mzml.first3.mzML": ("mzlib/mzLib/Test/FlashLFQ/TestData/sliced-mzml.mzML", range(3)),
    "Ecoli_MS2_small.first3.mzML": (
        "openms/share/OpenMS/examples/ID/Ecoli_MS2_small.mzML",
        range(3),
    ),
    "1min.first2.mzML": ("hupo-psi-mzml/examples/1min.mzML", range(2)),
}
#: Whole files kept gzip-compressed (too large to carry plain).
GZIPPED = {"test.mzML.gz": "pyteomics/tests/test.mzML"}


def _bytes(source: Path) -> bytes:
    data = source.read_bytes()
    return gzip.decompress(data) if source.suffix == ".gz" else data


def trim(source: Path, keep: Sequence[int]) -> bytes:
    """The header of ``source`` and the spectra at ``keep``, as plain (unindexed) mzML."""
    text = _bytes(source)
    start = text.index(b"<spectrumList")
    spectra = [m.start() for m in re.finditer(rb"<spectrum[\s>]", text)]
    kept = [
        text[spectra[i] : text.index(b"</spectrum>", spectra[i]) + len(b"</spectrum>")]
        for i in keep
    ]
    head = text[:start]
    head = re.sub(rb"<indexedmzML[^>]*>\s*", b"", head, count=1)
    list_tag = text[start : text.index(b">", start) + 1]
    list_tag = re.sub(rb'count="\d+"', f'count="{len(kept)}"'.encode(), list_tag)
    gap = text[text.index(b">", start) + 1 : spectra[0]]  # whitespace before the first spectrum
    body = gap + gap.join(kept)
    return head + list_tag + body + b"\n      </spectrumList>\n    </run>\n  </mzML>\n"


def _write(path: Path, data: bytes) -> None:
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)


def main() -> None:
    for name, relative in COPIES.items():
        shutil.copyfile(REAL / relative, HERE / name)
    for name, (relative, keep) in TRIMS.items():
        _write(HERE / name, trim(REAL / relative, keep))
    for name, relative in GZIPPED.items():
        _write(HERE / name, (REAL / relative).read_bytes())


if __name__ == "__main__":
    main()
