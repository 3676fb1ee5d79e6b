"""Property: whatever bytes a reader is given, it returns a result or raises SalivaprotError.

Small real files (``tests/data/``, see its README) are mutated at the byte level
(bytes flipped, deleted, inserted, duplicated; tokens that once broke a reader
spliced in: NUL, CR, tabs, quotes, ``1e400``, ``null``, byte-order marks; the
file cut short), then read by the entry points and the format readers. Any
other exception (an internal error, on the command line) fails the test.
Derandomized, so CI sees the same examples on every run.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salivaprot import SalivaprotError, read, read_mztab, read_samples
from salivaprot.errors import SalivaprotWarning
from salivaprot.io import QuantTable, read_diann, read_fragpipe, read_matrix, read_maxquant
from salivaprot.io._tables import MAX_MAGNITUDE

from .conftest import deadline

DATA = Path(__file__).resolve().parent / "data"
#: Examples per reader; set SALIVAPROT_FUZZ_EXAMPLES=2000 for a long, random (not derandomized) run.
EXAMPLES = int(os.environ.get("SALIVAPROT_FUZZ_EXAMPLES", "40"))
VISITS = ["baseline", "month1", "month4"]

TOKENS = [
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    b"\t",
    b",",
    b";",
    b'"',
    b" ",
    b"1e400",
    b"-inf",
    b"1e200",
    b"null",
    b"NA",
    b"",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xe9",
    b"\x1f\x8b",
    b"PRT\t",
    b"MTD\tmzTab-version\t",
]

Mutation = tuple[str, float, bytes]
mutation = st.tuples(
    st.sampled_from(["flip", "delete", "insert", "token", "duplicate", "truncate"]),
    st.floats(min_value=0, max_value=1, allow_nan=False),
    st.one_of(st.binary(min_size=1, max_size=4), st.sampled_from(TOKENS)),
)


def mutate(content: bytes, mutations: list[Mutation]) -> bytes:
    data = bytearray(content)
    for kind, where, payload in mutations:
        at = min(int(where * len(data)), max(len(data) - 1, 0))
        if kind == "flip" and data:
            data[at] ^= (payload[:1] or b"\x01")[0] or 1
        elif kind == "delete":
            del data[at : at + len(payload)]
        elif kind in ("insert", "token"):
            data[at:at] = payload
        elif kind == "duplicate":
            end = data.find(b"\n", at)
            line_start = data.rfind(b"\n", 0, at) + 1
            if end > 0:
                data[end + 1 : end + 1] = data[line_start : end + 1]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


def _quant(reader: Callable[..., QuantTable]) -> Callable[[Path], Any]:
    def run(path: Path) -> Any:
        quant = reader(path)
        assert quant.abundance.shape[0] == len(quant.proteins)
        values = quant.abundance.to_numpy(dtype="float64")
        # the readers' one rule for numbers: nothing infinite or huge comes out
        assert not (np.abs(values[~np.isnan(values)]) > MAX_MAGNITUDE).any()
        return quant

    return run


READERS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "read study.mzTab": ("study.mzTab", lambda p: read(p)),
    "read_mztab SILAC": ("SILAC_SQ.mzTab", lambda p: read_mztab(p).quant()),
    "read with sheet": ("study.mzTab", lambda p: read(p, DATA / "samples.csv", visits=VISITS)),
    "read_samples": ("samples.csv", lambda p: read_samples(p, visits=VISITS)),
    "read_maxquant": ("proteinGroups.txt", _quant(read_maxquant)),
    "read_diann matrix": ("report.pg_matrix.tsv", _quant(read_diann)),
    "read_diann report": ("report.tsv", _quant(read_diann)),
    "read_fragpipe": ("combined_protein.tsv", _quant(read_fragpipe)),
    "read_matrix": ("study.mzTab", _quant(read_matrix)),
    "read auto pg_matrix": ("report.pg_matrix.tsv", lambda p: read(p)),
}


def test_seed_files_are_read() -> None:
    for name, (source, reader) in READERS.items():
        if name == "read_matrix":
            continue  # an mzTab is no matrix: that reader's seed only tests refusals
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SalivaprotWarning)
            reader(DATA / source)


@pytest.mark.parametrize("name", list(READERS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("SALIVAPROT_FUZZ_EXAMPLES"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_input_gives_a_result_or_a_salivaprot_error(
    name: str, mutations: list[Mutation]
) -> None:
    source, reader = READERS[name]
    content = mutate((DATA / source).read_bytes(), mutations)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / source
        path.write_bytes(content)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SalivaprotWarning)
            with deadline(30), contextlib.suppress(SalivaprotError):
                reader(path)  # anything but a SalivaprotError fails the test
