"""Make the small real mzML fixtures in this folder from ../shared/real (see README.md).

Run from the repository root: ``python tests/data/make_mzml_fixtures.py``. Whole
files are copied byte for byte; a trimmed file keeps the header and the first
spectra of the original byte for byte, drops the index wrapper (so it is plain
mzML), and sets ``<spectrumList count>`` to the spectra kept.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL = HERE.parents[1].parent / "shared" / "real"

COPIES = {
    "tiny.pwiz.1.1.mzML": "hupo-psi-mzml/examples/tiny.pwiz.1.1.mzML",
    "FileFilter_37_output.mzML": "openms/src/tests/topp/FileFilter_37_output.mzML",
    "example.mzML.gz": "pymzml/tests/data/example.mzML.gz",
}
TRIMS = {
    "IM_FAIMS_test.first3.mzML": ("openms/src/tests/class_tests/openms/data/IM_FAIMS_test.mzML", 3),
}


def trim(source: Path, keep: int) -> bytes:
    text = source.read_bytes()
    start = text.index(b"<spectrumList")
    spectra = [m.start() for m in re.finditer(rb"<spectrum[\s>]", text)]
    end = text.index(b"</spectrum>", spectra[keep - 1]) + len(b"</spectrum>")
    head = text[:start]
    head = re.sub(rb"<indexedmzML[^>]*>\s*", b"", head, count=1)
    list_tag = text[start : text.index(b">", start) + 1]
    list_tag = re.sub(rb'count="\d+"', f'count="{keep}"'.encode(), list_tag)
    body = text[text.index(b">", start) + 1 : end]
    return head + list_tag + body + b"\n      </spectrumList>\n    </run>\n  </mzML>\n"


def main() -> None:
    for name, relative in COPIES.items():
        shutil.copyfile(REAL / relative, HERE / name)
    for name, (relative, keep) in TRIMS.items():
        (HERE / name).write_bytes(trim(REAL / relative, keep))


if __name__ == "__main__":
    main()
