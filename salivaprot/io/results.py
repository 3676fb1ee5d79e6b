"""Writing an analysis folder: matrices and tables as TSV, and ``run.json``.

The command line writes everything into a staging folder first and swaps it
in as a whole (see :func:`salivaprot.io._outputs.output_folder`), so a failed
run leaves no half-written results. Numbers are written in their shortest exact form, and
``run.json`` has no timestamp, so the same run gives the same bytes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from salivaprot._versions import versions
from salivaprot.data import ProteinData
from salivaprot.io._files import EXACT_FLOATS, PathLike, atomic_write, sha256

__all__ = [
    "read_matrix_tsv",
    "read_results",
    "run_record",
    "write_json",
    "write_matrix",
    "write_parquet",
    "write_table",
]


def write_table(frame: pd.DataFrame, path: PathLike, *, index: bool = True) -> Path:
    """Write a table as TSV (UTF-8, LF, empty cell for missing), atomically.

    Numbers are written in their shortest exact form. Arrow's CSV writer is
    used (about 10x faster than pandas on large matrices); a table whose text
    needs quoting (tabs, newlines or quotes in a cell) goes through pandas.
    """
    table = frame.reset_index() if index else frame
    names = [str(c) for c in table.columns]
    with atomic_write(path, "wb") as handle:
        if _plain_names(names):
            try:
                arrow = pa.Table.from_pandas(table, preserve_index=False)
                handle.write(("\t".join(names) + "\n").encode())
                # straight into the file: no copy of the whole text in memory
                pa_csv.write_csv(
                    arrow,
                    handle,
                    pa_csv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"),
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                handle.seek(0)
                handle.truncate()
            else:
                return Path(path)
        text = table.to_csv(sep="\t", index=False, lineterminator="\n", na_rep="")
        handle.write(text.encode())
    return Path(path)


def _plain_names(names: list[str]) -> bool:
    return not any(c in name for name in names for c in '\t\n\r"')


def write_matrix(data: ProteinData, path: PathLike) -> Path:
    """Write the abundance matrix: first column ``protein_id``, one column per sample.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from salivaprot.simulate import simulate_trial
    >>> data = simulate_trial(seed=1, n_proteins=20, subjects_per_arm=2).data
    >>> path = write_matrix(data, pathlib.Path(tempfile.mkdtemp()) / "matrix.tsv")
    >>> back = read_matrix_tsv(path)
    >>> bool(back.T.equals(data.abundance.rename_axis(index=None, columns=None)))
    True
    """
    return write_table(data.abundance.T, path)


def write_parquet(table: pd.DataFrame, folder: PathLike) -> Path:
    """Write a results table as ``results.parquet`` in ``folder``, atomically."""
    parquet = Path(folder) / "results.parquet"
    with atomic_write(parquet, "wb") as handle:
        table.to_parquet(handle, index=False)
    return parquet


def read_results(folder: PathLike) -> pd.DataFrame:
    """Read ``results.tsv`` of a results folder (``protein_id`` and ``gene`` as text)."""
    return pd.read_csv(
        Path(folder) / "results.tsv",
        **EXACT_FLOATS,
        sep="\t",
        dtype={"protein_id": str, "gene": str, "contrast": str, "note": str},
        keep_default_na=False,
        na_values={c: [""] for c in ("log2fc", "se", "stat", "df", "pvalue", "padj", "avg_log2")},
    )


def read_matrix_tsv(path: PathLike) -> pd.DataFrame:
    """Read a matrix written by :func:`write_matrix` (proteins x samples)."""
    frame = pd.read_csv(path, sep="\t", index_col=0, **EXACT_FLOATS)
    frame.index = frame.index.astype(str)
    frame.index.name = None
    frame.columns.name = None
    return frame.astype("float64")


def write_json(record: Mapping[str, Any], path: PathLike) -> Path:
    """Write a JSON record with sorted keys, atomically."""
    with atomic_write(path) as handle:
        json.dump(_plain(record), handle, indent=2, sort_keys=True, allow_nan=False)
        handle.write("\n")
    return Path(path)


def run_record(
    *,
    command: str,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, PathLike | None],
    steps: tuple[str, ...] = (),
    seeds: Mapping[str, int] | None = None,
    model: Mapping[str, Any] | None = None,
    argv: list[str] | None = None,
) -> dict[str, Any]:
    """What ``run.json`` holds: enough to regenerate outputs from the folder alone.

    Parameters
    ----------
    command : str
        The salivaprot command (``preprocess``, ``diff``...).
    parameters : mapping
        Every option's value.
    inputs : mapping of role to path
        Input files; their SHA-256 is recorded.
    steps : tuple of str
        The data's provenance steps.
    seeds : mapping, optional
        Random seeds used.
    model : mapping, optional
        Model-wide figures (consensus correlation, prior df...).
    argv : list of str, optional
        The command line (default: ``sys.argv``).

    Returns
    -------
    dict
    """
    files = {
        role: {"path": str(path), "sha256": sha256(path)}
        for role, path in inputs.items()
        if path is not None
    }
    return {
        "command": command,
        "argv": [Path(sys.argv[0]).name, *sys.argv[1:]] if argv is None else list(argv),
        "parameters": dict(parameters),
        "inputs": files,
        "steps": list(steps),
        "seeds": dict(seeds or {}),
        "model": dict(model or {}),
        "versions": versions(),
    }


def _plain(value: Any) -> Any:
    """Make numpy/pandas scalars and NaN JSON-friendly (NaN becomes null)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
