"""Write run-level QC metrics as HUPO-PSI mzQC 1.0.0 (JSON), with PSI-MS QC terms.

The file is built as plain JSON (no dependency at run time); the tests read it
back and validate it with ``pymzqc``. One ``runQuality`` per run that was read;
runs that could not be read are left out (``qc.tsv`` lists them with their error).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from salivaprot.io._files import PathLike, atomic_write
from salivaprot.io.mzml import RunQC

__all__ = ["mzqc_document", "write_mzqc"]

#: Version of the PSI-MS ontology whose terms are used (all exist since 4.1.x).
PSI_MS_VERSION = "4.1.258"
_PSI_MS = {
    "name": "Proteomics Standards Initiative Mass Spectrometry Ontology",
    "uri": f"https://github.com/HUPO-PSI/psi-ms-CV/releases/download/v{PSI_MS_VERSION}/psi-ms.obo",
    "version": PSI_MS_VERSION,
}
#: Term definitions (from the PSI-MS ontology), written as each metric's description.
_DEFINITIONS = {
    "MS:4000059": "The number of MS1 events in the run.",
    "MS:4000060": "The number of MS2 events in the run.",
    "MS:4000070": "Upper and lower limit of retention time at which spectra are recorded.",
    "MS:4000104": "Tabular representation of the total ion current detected in each of a "
    "series of mass spectra.",
    "MS:4000131": "From the distribution of ion injection times (MS:1000927) for MS1, the "
    "quantiles. I.e. a value triplet represents the quartiles Q1, Q2, Q3",
    "MS:4000136": "From the distribution of ion injection times (MS:1000927) for MS2, the "
    "quantiles. I.e. a value triplet represents the quartiles Q1, Q2, Q3",
    "MS:4000061": "The first to n-th quantile of MS1 peak density (scan peak counts). A value "
    "triplet represents the original QuaMeter metrics, the quartiles of MS1 density. The "
    "number of values in the tuple implies the quantile mode.",
    "MS:4000062": "The first to n-th quantile of MS2 peak density (scan peak counts). A value "
    "triplet represents the original QuaMeter metrics, the quartiles of MS2 density. The "
    "number of values in the tuple implies the quantile mode.",
    "MS:4000063": "The fraction of MS/MS precursors of the corresponding charge. The fractions "
    "[0,1] are given in the 'Fraction' column, corresponding charges in the 'Charge state' "
    "column. The highest charge state is to be interpreted as that charge state or higher.",
    "MS:4000064": "The fractions of inferred charge state of MS/MS precursors. The fractions "
    "[0,1] are given in the 'Fraction' column, corresponding charges in the 'Charge state' "
    "column. Charge 0 represents unknown charge states.",
}


def _finite(value: float) -> bool:
    return value is not None and not math.isnan(value)


_UNITS = {
    "UO:0000189": "count unit",
    "UO:0000010": "second",
    "UO:0000028": "millisecond",
    "UO:0000191": "fraction",
}


def _metric(accession: str, name: str, value: Any, unit: str | None = None) -> dict[str, Any]:
    metric: dict[str, Any] = {
        "accession": accession,
        "name": name,
        "description": _DEFINITIONS[accession],
        "value": value,
    }
    if unit:
        metric["unit"] = {"accession": unit, "name": _UNITS[unit]}
    return metric


def _metrics(run: RunQC) -> list[dict[str, Any]]:
    metrics = [
        _metric("MS:4000059", "number of MS1 spectra", run.n_ms1, "UO:0000189"),
        _metric("MS:4000060", "number of MS2 spectra", run.n_ms2, "UO:0000189"),
    ]
    if _finite(run.rt_start_min):
        metrics.append(
            _metric(
                "MS:4000070",
                "retention time acquisition range",
                [run.rt_start_min * 60.0, run.rt_end_min * 60.0],
                "UO:0000010",
            )
        )
    if len(run.ms1_tic):
        metrics.append(
            _metric(
                "MS:4000104",
                "total ion currents",
                {
                    "MS:1000767": list(run.ms1_ids),
                    "MS:1000894": [float(v) * 60.0 for v in run.ms1_rt_min],
                    "MS:1000285": [float(v) for v in run.ms1_tic],
                },
            )
        )
    for accession, name, quartiles in (
        ("MS:4000131", "MS1 ion collection time quantiles", run.ms1_injection_time),
        ("MS:4000136", "MS2 ion collection time quantiles", run.ms2_injection_time),
    ):
        if _finite(quartiles[1]):
            metrics.append(_metric(accession, name, list(quartiles), "UO:0000028"))
    for accession, name, quartiles in (
        ("MS:4000061", "MS1 density quantiles", run.ms1_peaks_quartiles),
        ("MS:4000062", "MS2 density quantiles", run.ms2_peaks_quartiles),
    ):
        if _finite(quartiles[1]):
            metrics.append(_metric(accession, name, [int(q) for q in quartiles], "UO:0000189"))
    if run.charges:
        # fractions of all MS2 spectra, so that with MS:4000064 (charge 0) they add up to 1
        charges = sorted(run.charges)
        metrics.append(
            _metric(
                "MS:4000063",
                "MS2 known precursor charges fractions",
                {
                    "MS:1000041": charges,
                    "UO:0000191": [run.charges[z] / run.n_ms2 for z in charges],
                },
            )
        )
    if run.n_ms2:
        metrics.append(
            _metric(
                "MS:4000064",
                "MS2 unknown and likely precursor charges fractions",
                {"MS:1000041": [0], "UO:0000191": [run.ms2_unknown_charge_fraction]},
            )
        )
    return metrics


def _input_file(run: RunQC) -> dict[str, Any]:
    properties = [{"accession": "MS:1003151", "name": "SHA-256", "value": run.sha256}]
    if run.instrument_model:
        properties.append(
            {"accession": "MS:1000031", "name": "instrument model", "value": run.instrument_model}
        )
    if run.start_time:
        properties.append(
            {"accession": "MS:1000747", "name": "completion time", "value": run.start_time}
        )
    return {
        "location": Path(run.path).resolve().as_uri(),
        "name": Path(run.path).name,
        "fileFormat": {"accession": "MS:1000584", "name": "mzML format"},
        "fileProperties": properties,
    }


def mzqc_document(
    runs: Sequence[RunQC], *, version: str, created: datetime | None = None
) -> dict[str, Any]:
    """The mzQC 1.0.0 document (a JSON-ready dict) for some runs.

    Parameters
    ----------
    runs : sequence of RunQC
        One ``runQuality`` each.
    version : str
        salivaprot's version, recorded as the analysis software's.
    created : datetime, optional
        Creation date (default: now, UTC).
    """
    software = {
        "accession": "MS:1000799",
        "name": "custom unreleased software tool",
        "description": "A software tool that has not yet been released. The value should "
        "describe the software. Please do not use this term for publicly available software - "
        "contact the PSI-MS working group in order to have another CV term added.",
        "version": version,
        "uri": "https://pypi.org/project/salivaprot/",
        "value": "salivaprot",
    }
    stamp = (created or datetime.now(UTC)).replace(microsecond=0)
    return {
        "mzQC": {
            "version": "1.0.0",
            "creationDate": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "description": "Run-level QC of LC-MS runs from their mzML files (salivaprot qc).",
            "runQualities": [
                {
                    "metadata": {
                        "label": run.run,
                        "inputFiles": [_input_file(run)],
                        "analysisSoftware": [software],
                    },
                    "qualityMetrics": _metrics(run),
                }
                for run in runs
            ],
            # PSI-MS holds the few UO unit terms used; listing UO too makes them ambiguous
            "controlledVocabularies": [_PSI_MS],
        }
    }


def write_mzqc(runs: Sequence[RunQC], path: PathLike, *, version: str) -> None:
    """Write :func:`mzqc_document` to ``path`` atomically (UTF-8 JSON)."""
    document = mzqc_document(runs, version=version)
    with atomic_write(path) as handle:
        json.dump(document, handle, indent=2, allow_nan=False)
        handle.write("\n")
