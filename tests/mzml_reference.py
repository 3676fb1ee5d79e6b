"""QC metrics of an mzML file from a full pyteomics read: the reference for our streaming reader.

Used by tests/test_mzml.py and benchmarks/bench_mzml.py. Everything is taken
from pyteomics' parsed spectra (arrays decoded), so it shares no code with
``salivaprot.io.mzml``.
"""

from __future__ import annotations

import gzip
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def _minutes(value: Any) -> float:
    unit = getattr(value, "unit_info", None)
    number = float(value)
    return number / 60.0 if unit == "second" else number


def pyteomics_qc(path: str | Path) -> dict[str, Any]:
    """Counts, RT range, MS1 TIC sum, MS1 base peak max, charge counts, medians."""
    from pyteomics import mzml

    source: Any = str(path)
    if str(path).endswith(".gz"):
        source = gzip.open(path, "rb")  # noqa: SIM115 (closed by the reader below)
    levels: dict[int, int] = {}
    rts: list[float] = []
    tic_total = 0.0
    base_peak: list[float] = []
    iit: dict[int, list[float]] = {1: [], 2: []}
    peaks: dict[int, list[int]] = {1: [], 2: []}
    charges: dict[int, int] = {}
    unknown = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = mzml.MzML(source, use_index=False, decode_binary=True)
        with reader:
            for spectrum in reader:
                level = int(spectrum.get("ms level", 1 if "MS1 spectrum" in spectrum else 0))
                levels[level] = levels.get(level, 0) + 1
                scan = spectrum.get("scanList", {}).get("scan", [{}])[0]
                if "scan start time" in scan:
                    rts.append(_minutes(scan["scan start time"]))
                intensity = spectrum.get("intensity array")
                if level in (1, 2):
                    if "ion injection time" in scan:
                        iit[level].append(float(scan["ion injection time"]))
                    peaks[level].append(int(spectrum["defaultArrayLength"]))
                if level == 1:
                    tic = spectrum.get("total ion current")
                    if tic is None:
                        tic = float(np.sum(intensity, dtype=np.float64))
                    tic_total += float(tic)
                    bp = spectrum.get("base peak intensity")
                    if bp is None and intensity is not None and len(intensity):
                        bp = float(np.max(intensity))
                    if bp is not None:
                        base_peak.append(float(bp))
                elif level == 2:
                    charge = None
                    try:
                        ion = spectrum["precursorList"]["precursor"][0]["selectedIonList"][
                            "selectedIon"
                        ][0]
                        if "charge state" in ion:
                            charge = int(ion["charge state"])
                    except (KeyError, IndexError):
                        pass
                    if charge is None:
                        unknown += 1
                    else:
                        charges[charge] = charges.get(charge, 0) + 1

    def quartiles(values: list[float]) -> tuple[float, float, float]:
        if not values:
            return (math.nan, math.nan, math.nan)
        q = np.quantile(np.asarray(values, dtype=np.float64), [0.25, 0.5, 0.75])
        return (float(q[0]), float(q[1]), float(q[2]))

    return {
        "n_spectra": sum(levels.values()),
        "n_ms1": levels.get(1, 0),
        "n_ms2": levels.get(2, 0),
        "rt_start_min": min(rts) if rts else math.nan,
        "rt_end_min": max(rts) if rts else math.nan,
        "tic_total": tic_total if levels.get(1) else math.nan,
        "base_peak_max": max(base_peak) if base_peak else math.nan,
        "ms1_injection_time": quartiles(iit[1]),
        "ms2_injection_time": quartiles(iit[2]),
        "ms1_peaks_median": float(np.median(peaks[1])) if peaks[1] else math.nan,
        "ms2_peaks_median": float(np.median(peaks[2])) if peaks[2] else math.nan,
        "charges": dict(sorted(charges.items())),
        "ms2_unknown_charge": unknown,
    }


def ours(qc: Any) -> dict[str, Any]:
    """The same keys from a :class:`salivaprot.io.mzml.RunQC`."""
    reference_keys = [
        "n_spectra",
        "n_ms1",
        "n_ms2",
        "rt_start_min",
        "rt_end_min",
        "tic_total",
        "base_peak_max",
        "ms1_injection_time",
        "ms2_injection_time",
        "ms1_peaks_median",
        "ms2_peaks_median",
        "charges",
        "ms2_unknown_charge",
    ]
    return {key: getattr(qc, key) for key in reference_keys}
