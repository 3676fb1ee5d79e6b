"""salivaprot: salivary proteomics for clinical trials.

Read quantitative mzTab (and, soon, MaxQuant, DIA-NN and FragPipe tables),
join it to a trial's sample sheet, and analyse differential abundance between
arms across visits.

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
    MzTab,
    QuantTable,
    SampleSheet,
    Study,
    join,
    load_study,
    read,
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
    "join",
    "load_study",
    "protein_categories",
    "read",
    "read_mztab",
    "read_samples",
    "sample_sheet",
    "simulate_trial",
    "summarize",
    "write_mztab",
]
