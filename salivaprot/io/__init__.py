"""Readers and writers: only this package (and the CLI) touches files."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salivaprot.io.diann import read_diann
    from salivaprot.io.fragpipe import read_fragpipe
    from salivaprot.io.matrix import read_matrix
    from salivaprot.io.maxquant import read_maxquant
    from salivaprot.io.mztab import MzTab, Param, parse_param, read_mztab
    from salivaprot.io.mztab_writer import write_mztab
    from salivaprot.io.quant import Quantity, QuantTable, annotate_proteins, join
    from salivaprot.io.sheets import SampleSheet, read_samples, sample_sheet
    from salivaprot.io.spectronaut import read_spectronaut
    from salivaprot.io.study import FORMATS, Study, detect_format, load_study, read, read_quant

#: Public names and their modules, imported on first use (PEP 562), so that
#: ``salivaprot.io.mzml`` (QC workers) does not load pandas.
_LAZY: dict[str, str] = {
    "read_diann": "salivaprot.io.diann",
    "read_fragpipe": "salivaprot.io.fragpipe",
    "read_matrix": "salivaprot.io.matrix",
    "read_maxquant": "salivaprot.io.maxquant",
    "MzTab": "salivaprot.io.mztab",
    "Param": "salivaprot.io.mztab",
    "parse_param": "salivaprot.io.mztab",
    "read_mztab": "salivaprot.io.mztab",
    "write_mztab": "salivaprot.io.mztab_writer",
    "Quantity": "salivaprot.io.quant",
    "QuantTable": "salivaprot.io.quant",
    "annotate_proteins": "salivaprot.io.quant",
    "join": "salivaprot.io.quant",
    "SampleSheet": "salivaprot.io.sheets",
    "read_samples": "salivaprot.io.sheets",
    "sample_sheet": "salivaprot.io.sheets",
    "read_spectronaut": "salivaprot.io.spectronaut",
    "FORMATS": "salivaprot.io.study",
    "Study": "salivaprot.io.study",
    "detect_format": "salivaprot.io.study",
    "load_study": "salivaprot.io.study",
    "read": "salivaprot.io.study",
    "read_quant": "salivaprot.io.study",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'salivaprot.io' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "FORMATS",
    "MzTab",
    "Param",
    "QuantTable",
    "Quantity",
    "SampleSheet",
    "Study",
    "annotate_proteins",
    "detect_format",
    "join",
    "load_study",
    "parse_param",
    "read",
    "read_diann",
    "read_fragpipe",
    "read_matrix",
    "read_maxquant",
    "read_mztab",
    "read_quant",
    "read_samples",
    "read_spectronaut",
    "sample_sheet",
    "write_mztab",
]
