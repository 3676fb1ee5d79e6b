"""Write the inputs of the R reference outputs for differential abundance.

Run from the repository root::

    python tests/reference/make_inputs.py

Three simulated designs (see README.md in this folder). For each one the
target proteins (not contaminant, not decoy, taxid 9606) are kept, the raw
intensities are log2-transformed and each sample's median of its observed log2
values is subtracted. Two files per design are written next to this script:

* ``input_<design>.csv``: ``protein_id`` then one column per ``sample_id``;
  values printed with ``%.17g`` (exact round trip), empty cell = missing;
* ``samples_<design>.csv``: ``sample_id, subject_id, arm, visit, batch``.

The script is deterministic: the same code gives byte-identical files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from salivaprot.simulate import simulate_trial

HERE = Path(__file__).resolve().parent

# name -> (simulate_trial arguments, keep only proteins observed in every sample)
DESIGNS: dict[str, tuple[dict[str, object], bool]] = {
    "balanced": (
        {
            "seed": 101,
            "n_proteins": 600,
            "subjects_per_arm": 10,
            "dropout": 0.0,
            "missing_fraction": 0.0,
        },
        True,
    ),
    "unbalanced": (
        {
            "seed": 202,
            "n_proteins": 400,
            "subjects_per_arm": 12,
            "dropout": 0.3,
            "missing_fraction": 0.25,
        },
        False,
    ),
    "blinded": (
        {
            "seed": 303,
            "n_proteins": 200,
            "subjects_per_arm": 8,
            "visits": ("baseline", "week2", "month1", "month4"),
            "arms": ("A", "B"),
            "dropout": 0.2,
            "missing_fraction": 0.2,
        },
        False,
    ),
}


def _number(value: float) -> str:
    return "" if math.isnan(value) else format(value, ".17g")


def log2_median_normalized(
    arguments: dict[str, object], complete_only: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (proteins x samples log2 values, sample sheet) of one design."""
    data = simulate_trial(**arguments).data  # type: ignore[arg-type]
    proteins = data.proteins
    target = (
        ~proteins["is_contaminant"].astype(bool)
        & ~proteins["is_decoy"].astype(bool)
        & (proteins["taxid"] == 9606)
    )
    abundance = data.abundance.loc[:, target.to_numpy()]
    log2 = np.log2(abundance.to_numpy(dtype=float))
    medians = np.nanmedian(log2, axis=1, keepdims=True)  # per sample, observed values only
    y = pd.DataFrame(log2 - medians, index=abundance.index, columns=abundance.columns)
    if complete_only:
        y = y.loc[:, y.notna().all(axis=0)]
    samples = data.samples.reset_index()[["sample_id", "subject_id", "arm", "visit", "batch"]]
    samples = samples.astype({"arm": str, "visit": str})
    table = y.T
    table.index.name = "protein_id"
    table.columns.name = None
    return table, samples


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_design(name: str, out: Path = HERE, log: Callable[[str], None] = print) -> None:
    """Write ``input_<name>.csv`` and ``samples_<name>.csv`` into ``out``."""
    arguments, complete_only = DESIGNS[name]
    table, samples = log2_median_normalized(arguments, complete_only)
    values = table.to_numpy(dtype=float)
    _write_csv(
        out / f"input_{name}.csv",
        ["protein_id", *map(str, table.columns)],
        [
            [str(pid), *(_number(v) for v in row)]
            for pid, row in zip(table.index, values, strict=True)
        ],
    )
    _write_csv(
        out / f"samples_{name}.csv",
        list(samples.columns),
        [[str(v) for v in row] for row in samples.itertuples(index=False)],
    )
    log(
        f"{name}: {table.shape[0]} proteins x {table.shape[1]} samples, "
        f"{samples['subject_id'].nunique()} subjects, "
        f"missing fraction {np.isnan(values).mean():.4f}"
    )


def main() -> None:
    """Write the inputs of every design."""
    for name in DESIGNS:
        write_design(name)


if __name__ == "__main__":
    main()
