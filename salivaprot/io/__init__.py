"""Readers and writers: only this package (and the CLI) touches files."""

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
