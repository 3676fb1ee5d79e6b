"""Write a synthetic, deterministic DIA-NN 1.9 main report (tests, examples, benchmarks).

The report has the 58 columns of a DIA-NN 1.9 ``report.tsv`` and one row per
precursor and run, run after run as DIA-NN writes them: protein groups of 1-8
precursors, ``PG.MaxLFQ`` equal on every row of a group and run (some zero),
per-row q-values of which a few fail the 1% thresholds, protein-group
q-values, and about 12% of precursors missing from each run. Numbers are
written at full precision (``repr``), so that exact parsing is tested.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from salivaprot.io._files import PathLike

__all__ = ["REPORT_COLUMNS", "write_example_report"]

#: The columns of a DIA-NN 1.9 report.tsv, in its order.
REPORT_COLUMNS = (
    "File.Name", "Run", "Protein.Group", "Protein.Ids", "Protein.Names", "Genes",
    "PG.Quantity", "PG.Normalised", "PG.MaxLFQ", "Genes.Quantity", "Genes.Normalised",
    "Genes.MaxLFQ", "Genes.MaxLFQ.Unique", "Modified.Sequence", "Stripped.Sequence",
    "Precursor.Id", "Precursor.Charge", "Q.Value", "PEP", "Global.Q.Value", "Protein.Q.Value",
    "PG.Q.Value", "Global.PG.Q.Value", "GG.Q.Value", "Translated.Q.Value", "Proteotypic",
    "Precursor.Quantity", "Precursor.Normalised", "Precursor.Translated",
    "Translated.Quality", "Ms1.Translated", "Quantity.Quality", "RT", "RT.Start", "RT.Stop",
    "iRT", "Predicted.RT", "Predicted.iRT", "First.Protein.Description", "Lib.Q.Value",
    "Lib.PG.Q.Value", "Ms1.Profile.Corr", "Ms1.Area", "Evidence", "Spectrum.Similarity",
    "Averagine", "Mass.Evidence", "CScore", "Decoy.Evidence", "Decoy.CScore",
    "Fragment.Quant.Raw", "Fragment.Quant.Corrected", "Fragment.Correlations", "MS2.Scan",
    "IM", "iIM", "Predicted.IM", "Predicted.iIM",
)  # fmt: skip
_AMINO = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


def _static(rng: np.random.Generator, n_groups: int) -> pd.DataFrame:
    """One row per precursor: what does not change from run to run."""
    sizes = rng.integers(1, 9, n_groups)
    group = np.repeat(np.arange(n_groups), sizes)
    n = len(group)
    accession = np.array([f"P{10000 + g:05d}" for g in range(n_groups)])
    gene = np.array([f"GENE{g}" for g in range(n_groups)])
    lengths = rng.integers(7, 25, n)
    letters = rng.integers(0, 20, lengths.sum())
    cuts = np.cumsum(lengths)[:-1]
    sequences = ["".join(part) + "K" for part in np.split(_AMINO[letters], cuts)]
    charge = rng.integers(2, 5, n)
    ids = accession[group]
    return pd.DataFrame(
        {
            "group": group,
            "Protein.Group": ids,
            "Protein.Ids": ids,
            "Protein.Names": [f"{g}_HUMAN" for g in gene[group]],
            "Genes": gene[group],
            "Modified.Sequence": sequences,
            "Stripped.Sequence": sequences,
            "Precursor.Id": [f"{s}{c}" for s, c in zip(sequences, charge, strict=True)],
            "Precursor.Charge": charge,
            "Proteotypic": rng.integers(0, 2, n),
            "First.Protein.Description": [
                f"Protein {g} OS=Homo sapiens OX=9606 GN={g} PE=1 SV=1" for g in gene[group]
            ],
            "iRT": rng.uniform(-20, 120, n),
            "Predicted.iRT": rng.uniform(-20, 120, n),
            "iIM": rng.uniform(0.6, 1.4, n),
            "Predicted.iIM": rng.uniform(0.6, 1.4, n),
        }
    )


def _run(rng: np.random.Generator, static: pd.DataFrame, run: int, n_groups: int) -> pd.DataFrame:
    present = rng.random(len(static)) > 0.12
    rows = static[present].reset_index(drop=True)
    n = len(rows)
    group = rows.pop("group").to_numpy()
    name = f"S{run + 1:03d}_visit{run % 9 + 1}"
    maxlfq = np.exp(rng.normal(16, 2, n_groups))
    maxlfq[rng.random(n_groups) < 0.01] = 0.0
    pg_q = np.where(rng.random(n_groups) < 0.03, rng.uniform(0.01, 0.05, n_groups), 1e-4)
    lib_pg_q = np.where(rng.random(n_groups) < 0.01, 0.02, rng.uniform(0, 0.005, n_groups))
    q = np.where(rng.random(n) < 0.05, rng.uniform(0.01, 0.02, n), rng.uniform(0, 0.01, n))

    def numbers(low: float = 0, high: float = 1) -> np.ndarray:
        return rng.uniform(low, high, n)

    fragments = [
        ";".join(f"{v:.6g}" for v in row) + ";" for row in rng.uniform(0, 1e6, (n, 6)).tolist()
    ]
    rt = numbers(1, 60)
    out = {
        "File.Name": [f"D:\\Raw\\trial\\{name}.raw"] * n,
        "Run": [name] * n,
        **{c: rows[c] for c in ("Protein.Group", "Protein.Ids", "Protein.Names", "Genes")},
        "PG.Quantity": maxlfq[group] * 1.1,
        "PG.Normalised": maxlfq[group] * 1.05,
        "PG.MaxLFQ": maxlfq[group],
        "Genes.Quantity": maxlfq[group] * 1.1,
        "Genes.Normalised": maxlfq[group] * 1.05,
        "Genes.MaxLFQ": maxlfq[group],
        "Genes.MaxLFQ.Unique": maxlfq[group],
        **{
            c: rows[c]
            for c in ("Modified.Sequence", "Stripped.Sequence", "Precursor.Id", "Precursor.Charge")
        },
        "Q.Value": q,
        "PEP": numbers(),
        "Global.Q.Value": numbers(0, 0.01),
        "Protein.Q.Value": numbers(0, 0.01),
        "PG.Q.Value": pg_q[group],
        "Global.PG.Q.Value": pg_q[group],
        "GG.Q.Value": pg_q[group],
        "Translated.Q.Value": np.zeros(n),
        "Proteotypic": rows["Proteotypic"],
        "Precursor.Quantity": numbers(1e3, 1e8),
        "Precursor.Normalised": numbers(1e3, 1e8),
        "Precursor.Translated": numbers(1e3, 1e8),
        "Translated.Quality": numbers(),
        "Ms1.Translated": numbers(1e3, 1e8),
        "Quantity.Quality": numbers(),
        "RT": rt,
        "RT.Start": rt - 0.1,
        "RT.Stop": rt + 0.1,
        "iRT": rows["iRT"],
        "Predicted.RT": numbers(1, 60),
        "Predicted.iRT": rows["Predicted.iRT"],
        "First.Protein.Description": rows["First.Protein.Description"],
        "Lib.Q.Value": numbers(0, 0.01),
        "Lib.PG.Q.Value": lib_pg_q[group],
        "Ms1.Profile.Corr": numbers(),
        "Ms1.Area": numbers(1e3, 1e8),
        "Evidence": numbers(0, 10),
        "Spectrum.Similarity": numbers(),
        "Averagine": numbers(),
        "Mass.Evidence": numbers(0, 5),
        "CScore": numbers(),
        "Decoy.Evidence": numbers(0, 5),
        "Decoy.CScore": numbers(),
        "Fragment.Quant.Raw": fragments,
        "Fragment.Quant.Corrected": fragments,
        "Fragment.Correlations": fragments,
        "MS2.Scan": rng.integers(1, 200000, n),
        "IM": numbers(0.6, 1.4),
        "iIM": rows["iIM"],
        "Predicted.IM": numbers(0.6, 1.4),
        "Predicted.iIM": rows["Predicted.iIM"],
    }
    return pd.DataFrame(out, columns=list(REPORT_COLUMNS))


def write_example_report(
    path: PathLike,
    *,
    n_runs: int = 6,
    n_groups: int = 300,
    target_bytes: int | None = None,
    seed: int = 0,
    compress: bool = False,
) -> Path:
    """Write a DIA-NN 1.9-like ``report.tsv`` (deterministic for a given seed and size).

    Parameters
    ----------
    path : str or path-like
        Where to write it.
    n_runs, n_groups : int
        Runs (written one after the other) and protein groups (1-8 precursors each).
    target_bytes : int, optional
        Keep adding runs (beyond ``n_runs``) until the file is at least this large.
    seed : int
        Seed of the random numbers.
    compress : bool
        Write gzip.

    Returns
    -------
    pathlib.Path
    """
    out = Path(path)
    rng = np.random.default_rng(seed)
    static = _static(rng, n_groups)
    opener = gzip.open if compress else open
    with opener(out, "wt", encoding="utf-8", newline="") as handle:
        run = 0
        written = 0
        while run < n_runs or (target_bytes is not None and written < target_bytes):
            text = _run(rng, static, run, n_groups).to_csv(
                sep="\t", index=False, header=run == 0, lineterminator="\n"
            )
            handle.write(text)
            written += len(text)
            run += 1
    return out
