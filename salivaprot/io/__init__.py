"""Readers and writers: only this package (and the CLI) touches files."""

from salivaprot.io.mztab import MzTab, Param, parse_param, read_mztab, write_mztab
from salivaprot.io.quant import QuantTable, annotate_proteins, join
from salivaprot.io.sheets import SampleSheet, read_samples, sample_sheet
from salivaprot.io.study import FORMATS, Study, detect_format, load_study, read

__all__ = [
    "FORMATS",
    "MzTab",
    "Param",
    "QuantTable",
    "SampleSheet",
    "Study",
    "annotate_proteins",
    "detect_format",
    "join",
    "load_study",
    "parse_param",
    "read",
    "read_mztab",
    "read_samples",
    "sample_sheet",
    "write_mztab",
]
