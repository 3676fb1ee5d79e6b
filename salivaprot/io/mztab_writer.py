"""mzTab 1.0 writing: protein abundances as a Summary Quantification file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from salivaprot.data import ProteinData
from salivaprot.io._files import PathLike, atomic_write

__all__ = ["write_mztab"]


def write_mztab(
    data: ProteinData,
    path: PathLike,
    *,
    title: str = "salivaprot export",
    extra_metadata: Iterable[tuple[str, str]] = (),
) -> Path:
    """Write protein abundances as an mzTab 1.0.0 Summary Quantification file.

    One ``ms_run`` and one label-free ``assay`` per sample (the run location
    is ``file:///<run or sample_id>.mzML``); the file is written atomically
    and byte-identically for identical input (fixed number format, no
    timestamp).

    Parameters
    ----------
    data : ProteinData
        Abundances on the raw scale.
    path : str or path-like
        Output file.
    title : str
        ``MTD title``.
    extra_metadata : iterable of (key, value)
        More ``MTD`` lines, written after the standard ones.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    runs = data.samples["run"] if "run" in data.samples.columns else data.samples.index.to_series()
    lines = [
        "MTD\tmzTab-version\t1.0.0",
        "MTD\tmzTab-mode\tSummary",
        "MTD\tmzTab-type\tQuantification",
        f"MTD\ttitle\t{title}",
        "MTD\tdescription\tProtein abundances written by salivaprot",
        "MTD\tsoftware[1]\t[, , salivaprot, ]",
        "MTD\tprotein_search_engine_score[1]\t[MS, MS:1001171, Mascot:score, ]",
        "MTD\tquantification_method\t[MS, MS:1001834, LC-MS label-free quantitation analysis, ]",
        "MTD\tprotein-quantification_unit\t[PRIDE, PRIDE:0000393, Relative quantification unit, ]",
    ]
    for i, run in enumerate(runs, start=1):
        lines.append(f"MTD\tms_run[{i}]-location\tfile:///{run}.mzML")
    for i in range(1, len(runs) + 1):
        lines.append(
            f"MTD\tassay[{i}]-quantification_reagent\t[MS, MS:1002038, unlabeled sample, ]"
        )
        lines.append(f"MTD\tassay[{i}]-ms_run_ref\tms_run[{i}]")
    refs = ", ".join(f"assay[{i}]" for i in range(1, len(runs) + 1))
    lines.append(f"MTD\tstudy_variable[1]-assay_refs\t{refs}")
    lines.append("MTD\tstudy_variable[1]-description\tall samples")
    lines.extend(f"MTD\t{key}\t{value}" for key, value in extra_metadata)
    lines.append("")
    columns = [
        "accession", "description", "taxid", "species", "database", "database_version",
        "search_engine", "best_search_engine_score[1]", "ambiguity_members", "modifications",
        *(f"protein_abundance_assay[{i}]" for i in range(1, len(runs) + 1)),
        "opt_global_cv_PRIDE:0000303_decoy_hit",
    ]  # fmt: skip
    lines.append("PRH\t" + "\t".join(columns))
    proteins = data.proteins
    matrix = data.abundance.to_numpy(dtype="float64").T
    for j, protein_id in enumerate(proteins.index):
        row = proteins.iloc[j]
        taxid = row.get("taxid")
        cells = [
            protein_id,
            _text_cell(row.get("description")),
            "null" if taxid is None or pd.isna(taxid) else str(int(taxid)),
            _text_cell(row.get("species")),
            "null",
            "null",
            "[MS, MS:1001207, Mascot, ]",
            "null",
            "null",
            "null",
            *(_number_cell(v) for v in matrix[j]),
            "1" if bool(row.get("is_decoy", False)) else "0",
        ]
        lines.append("PRT\t" + "\t".join(cells))
    with atomic_write(path) as handle:
        handle.write("\n".join(lines) + "\n")
    return Path(path)


def _text_cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "null"
    return str(value).replace("\t", " ")


def _number_cell(value: float) -> str:
    return "null" if np.isnan(value) else format(value, ".7g")
