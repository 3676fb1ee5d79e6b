"""Benchmark: `salivaprot diff --method limma` against R limma, same matrices, same run.

Two simulated studies (log2 matrices with 25% missing values):
  small: 1,500 proteins x 120 samples (40 subjects x 3 visits)
  large: 10,000 proteins x 480 samples (120 subjects x 4 visits)

Both tools start from the same CSV matrix and sample sheet and write their
results: salivaprot through its command line (``--format matrix --input-scale
log2 --no-filter --normalize none``), R through ``benchmarks/limma_r.R``
(duplicateCorrelation + lmFit + contrasts.fit + eBayes). Wall-clock time and
peak resident memory of each process come from ``/usr/bin/time``. The
in-process time of the statistics alone is reported too (salivaprot:
``differential_abundance``; R: duplicateCorrelation to eBayes, printed by the
script).

Run from the repository root (needs R with limma). salivaprot runs with
``--legacy-ebayes``, the eBayes of Debian's limma 3.54.1 that ``Rscript`` loads;
with limma >= 3.61 on ``R_LIBS``, drop it to compare with that limma's default.

    python benchmarks/bench_limma.py [--sizes small,large] [--workdir /tmp/salivaprot-bench]
"""

from __future__ import annotations

import argparse
import compileall
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import salivaprot
from salivaprot.design import trial_design
from salivaprot.diff import differential_abundance
from salivaprot.io.study import load_study
from salivaprot.preprocess import preprocess
from salivaprot.simulate import simulate_trial

SIZES = {
    "small": (1500, 20, ("baseline", "month1", "month4")),
    "large": (10000, 60, ("baseline", "month1", "month4", "month12")),
}
HERE = Path(__file__).resolve().parent


def write_inputs(folder: Path, name: str) -> tuple[Path, Path, tuple[str, ...]]:
    n_proteins, per_arm, visits = SIZES[name]
    trial = simulate_trial(seed=1, n_proteins=n_proteins, subjects_per_arm=per_arm,
                           visits=visits, dropout=0.0, missing_fraction=0.25)  # fmt: skip
    data = preprocess(trial.data, filter=False)
    matrix = folder / f"{name}_matrix.csv"
    sheet = folder / f"{name}_samples.csv"
    data.abundance.T.to_csv(matrix, index_label="protein_id")
    samples = data.samples.reset_index()[["sample_id", "subject_id", "arm", "visit"]].astype(str)
    samples.to_csv(sheet, index=False)
    return matrix, sheet, visits


def timed(command: list[str]) -> tuple[float, float, str]:
    """Run a command under /usr/bin/time; return seconds, peak MiB and its stdout+stderr."""
    result = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *command],
                            capture_output=True, text=True, check=True)  # fmt: skip
    match = re.search(r"TIME ([0-9.]+) ([0-9]+)", result.stderr)
    assert match, result.stderr
    return float(match.group(1)), int(match.group(2)) / 1024, result.stdout + result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="small,large")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/salivaprot-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    # byte-compiled, as an installed package is (PYTHONDONTWRITEBYTECODE or a fresh
    # checkout would otherwise make every run compile salivaprot's sources first)
    compileall.compile_dir(Path(salivaprot.__file__).parent, quiet=1)
    print("| size | tool | wall clock | peak memory | statistics only |")
    print("|---|---|---:|---:|---:|")
    for name in args.sizes.split(","):
        matrix, sheet, visits = write_inputs(args.workdir, name)
        out = args.workdir / f"{name}_salivaprot"
        py_seconds, py_mib, _ = timed([
            sys.executable, "-m", "salivaprot", "--quiet", "diff", str(matrix), "-s", str(sheet),
            "--visits", ",".join(visits), "--format", "matrix", "--input-scale", "log2",
            "--no-filter", "--normalize", "none", "--out", str(out), "--force", "--legacy-ebayes",
        ])  # fmt: skip
        study = load_study(
            matrix, sheet, format="matrix", visits=list(visits), zero_as_missing=False
        )
        data = preprocess(study.data, filter=False, input_scale="log2", normalize_method="none")
        start = time.perf_counter()
        result = differential_abundance(data, legacy_ebayes=True)
        py_stats = time.perf_counter() - start
        r_out = args.workdir / f"{name}_r.csv"
        r_seconds, r_mib, log = timed([
            "Rscript", str(HERE / "limma_r.R"), str(matrix), str(sheet), ",".join(visits),
            "placebo", str(r_out),
        ])  # fmt: skip
        parts = dict(
            re.findall(r"(duplicateCorrelation|lmFit\+contrasts\+eBayes) ([0-9.]+) s", log)
        )
        r_stats = sum(float(v) for v in parts.values())
        consensus = float(re.search(r"consensus ([0-9.]+)", log).group(1))  # type: ignore[union-attr]
        n_proteins, _, _ = SIZES[name]
        n_samples = len(pd.read_csv(sheet))
        label = f"{name} ({n_proteins:,} x {n_samples})"
        print(
            f"| {label} | salivaprot | {py_seconds:.2f} s | {py_mib:.0f} MiB | {py_stats:.2f} s |"
        )
        print(f"| {label} | R limma | {r_seconds:.2f} s | {r_mib:.0f} MiB | {r_stats:.2f} s |")
        print(
            f"| {label} | speed-up | {r_seconds / py_seconds:.1f}x | | {r_stats / py_stats:.1f}x |"
        )
        # agreement: estimates are exact in both routes; standard errors (hence t) only for
        # proteins without missing values, where contrasts.fit is exact too
        r_table = pd.read_csv(r_out).set_index(["protein_id", "contrast"])
        ours = result.table.set_index(["protein_id", "contrast"]).reindex(r_table.index)
        estimate_diff = np.nanmax(np.abs(ours["log2fc"] - r_table["log2fc"]))
        complete = data.abundance.columns[data.abundance.notna().all()]
        on_complete = r_table.index.get_level_values(0).isin(complete)
        t_note = "no protein is observed in every sample"
        if on_complete.any():
            t_diff = np.abs(ours["stat"][on_complete] - r_table["stat"][on_complete])
            t_note = f"t of {len(complete)} complete proteins agree to "
            t_note += f"{np.nanmax(t_diff / np.abs(r_table['stat'][on_complete])):.1e} relative"
        columns = trial_design(data.samples).matrix.shape[1]
        print(
            f"<!-- {name}: consensus correlation salivaprot "
            f"{result.model['consensus_correlation']:.10f} vs R {consensus:.8f}; estimates "
            f"agree to {estimate_diff:.1e}; {t_note}; {columns} design columns -->"
        )


if __name__ == "__main__":
    main()
