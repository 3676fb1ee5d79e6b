"""salivaprot: salivary proteomics for clinical trials.

Read protein quantities from mzTab, MaxQuant, DIA-NN, FragPipe or a generic
matrix, join them to a trial's sample sheet, and analyse differential
abundance between arms across visits.

Examples
--------
>>> import salivaprot
>>> trial = salivaprot.simulate_trial(seed=1, n_proteins=80, subjects_per_arm=4)
>>> data = salivaprot.normalize(salivaprot.log2(salivaprot.filter_proteins(trial.data)))
>>> result = salivaprot.differential_abundance(data, method="limma")
>>> list(result.table.columns) == list(salivaprot.RESULT_COLUMNS)
True
"""

from importlib.metadata import PackageNotFoundError, version

from salivaprot.data import ProteinData
from salivaprot.design import TrialDesign, trial_design
from salivaprot.diff import RESULT_COLUMNS, DiffResult, differential_abundance
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
from salivaprot.io.mzml import RunQC, read_mzml_qc
from salivaprot.preprocess import filter_proteins, impute, log2, normalize, output_scale
from salivaprot.simulate import SimulatedTrial, simulate_trial
from salivaprot.summary import StudySummary, protein_categories, summarize

try:
    __version__ = version("salivaprot")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "FORMATS",
    "RESULT_COLUMNS",
    "DataError",
    "DesignError",
    "DiffResult",
    "InputFormatError",
    "InputFormatWarning",
    "MzTab",
    "ProteinData",
    "QuantTable",
    "RunQC",
    "SalivaprotError",
    "SalivaprotWarning",
    "SampleSheet",
    "SampleSheetError",
    "SimulatedTrial",
    "Study",
    "StudySummary",
    "TrialDesign",
    "__version__",
    "detect_format",
    "differential_abundance",
    "filter_proteins",
    "impute",
    "join",
    "load_study",
    "log2",
    "normalize",
    "output_scale",
    "protein_categories",
    "read",
    "read_diann",
    "read_fragpipe",
    "read_matrix",
    "read_maxquant",
    "read_mzml_qc",
    "read_mztab",
    "read_samples",
    "sample_sheet",
    "simulate_trial",
    "summarize",
    "trial_design",
    "write_mztab",
]
