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

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

import salivaprot._startup  # first: Ctrl-C while importing the rest exits cleanly  # noqa: F401
from salivaprot.errors import (
    DataError,
    DesignError,
    InputFormatError,
    InputFormatWarning,
    OutputError,
    SalivaprotError,
    SalivaprotWarning,
    SampleSheetError,
)

if TYPE_CHECKING:
    from salivaprot.data import ProteinData
    from salivaprot.design import TrialDesign, trial_design
    from salivaprot.diff import RESULT_COLUMNS, DiffResult, differential_abundance
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
        read_spectronaut,
        sample_sheet,
        write_mztab,
    )
    from salivaprot.io.mzml import RunQC, read_mzml_qc
    from salivaprot.preprocess import filter_proteins, impute, log2, normalize, output_scale
    from salivaprot.simulate import SimulatedTrial, simulate_trial
    from salivaprot.summary import StudySummary, protein_categories, summarize

#: Where each public name lives. Modules are imported on first use (PEP 562), so
#: ``import salivaprot`` and ``salivaprot --help`` do not pay for pandas and scipy.
_LAZY: dict[str, str] = {
    "ProteinData": "salivaprot.data",
    "TrialDesign": "salivaprot.design",
    "trial_design": "salivaprot.design",
    "RESULT_COLUMNS": "salivaprot.diff",
    "DiffResult": "salivaprot.diff",
    "differential_abundance": "salivaprot.diff",
    **dict.fromkeys(
        [
            "FORMATS",
            "MzTab",
            "QuantTable",
            "SampleSheet",
            "Study",
            "detect_format",
            "join",
            "load_study",
            "read",
            "read_diann",
            "read_fragpipe",
            "read_matrix",
            "read_maxquant",
            "read_mztab",
            "read_samples",
            "read_spectronaut",
            "sample_sheet",
            "write_mztab",
        ],
        "salivaprot.io",
    ),
    **dict.fromkeys(
        ["filter_proteins", "impute", "log2", "normalize", "output_scale"],
        "salivaprot.preprocess",
    ),
    "RunQC": "salivaprot.io.mzml",
    "read_mzml_qc": "salivaprot.io.mzml",
    "SimulatedTrial": "salivaprot.simulate",
    "simulate_trial": "salivaprot.simulate",
    "StudySummary": "salivaprot.summary",
    "protein_categories": "salivaprot.summary",
    "summarize": "salivaprot.summary",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("salivaprot")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            found = "0+unknown"
        globals()["__version__"] = found
        return found
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'salivaprot' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "FORMATS",
    "RESULT_COLUMNS",
    "DataError",
    "DesignError",
    "DiffResult",
    "InputFormatError",
    "InputFormatWarning",
    "MzTab",
    "OutputError",
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
    "read_spectronaut",
    "sample_sheet",
    "simulate_trial",
    "summarize",
    "trial_design",
    "write_mztab",
]
