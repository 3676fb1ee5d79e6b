"""salivaprot: salivary proteomics for clinical trials.

Read protein quantities from mzTab, MaxQuant, DIA-NN, FragPipe or a generic
matrix, join them to a trial's sample sheet, and analyse differential
abundance between arms across visits.

Examples
--------
>>> import salivaprot
>>> trial = salivaprot.simulate_trial(seed=1, n_proteins=40, subjects_per_arm=2)
>>> isinstance(trial.data, salivaprot.ProteinData)
True
"""

from importlib.metadata import PackageNotFoundError, version

from salivaprot.data import ProteinData
from salivaprot.errors import (
    DataError,
    DesignError,
    InputFormatError,
    InputFormatWarning,
    SalivaprotError,
    SalivaprotWarning,
    SampleSheetError,
)
from salivaprot.io import (
    FORMATS,
    MzTab,
    QuantTable,
    SampleSheet,
    Study,
    detect_format,
    join,
    load_study,
    read,
    read_diann,
    read_fragpipe,
    read_matrix,
    read_maxquant,
    read_mztab,
    read_samples,
    sample_sheet,
    write_mztab,
)
from salivaprot.simulate import SimulatedTrial, simulate_trial
from salivaprot.summary import StudySummary, protein_categories, summarize

try:
    __version__ = version("salivaprot")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "FORMATS",
    "DataError",
    "DesignError",
    "InputFormatError",
    "InputFormatWarning",
    "MzTab",
    "ProteinData",
    "QuantTable",
    "SalivaprotError",
    "SalivaprotWarning",
    "SampleSheet",
    "SampleSheetError",
    "SimulatedTrial",
    "Study",
    "StudySummary",
    "__version__",
    "detect_format",
    "join",
    "load_study",
    "protein_categories",
    "read",
    "read_diann",
    "read_fragpipe",
    "read_matrix",
    "read_maxquant",
    "read_mztab",
    "read_samples",
    "sample_sheet",
    "simulate_trial",
    "summarize",
    "write_mztab",
]
