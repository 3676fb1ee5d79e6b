"""Benchmark at a real saliva trial's size: `salivaprot diff` from a DIA-NN pg_matrix vs R limma.

The shape of the real 168-sample saliva study (issue 11): about 1,300 protein
groups x 170 samples, 20 subjects x 9 visits, 10-25% missing, written as a
DIA-NN ``report.pg_matrix.tsv`` with a sample sheet whose ``run`` column names
each raw file.

Timed, as whole processes (``/usr/bin/time``), best of ``--repeat`` runs:

* salivaprot: ``salivaprot diff report.pg_matrix.tsv --samples samples.csv``
  (reading, filters, log2, median normalization, limma with the default exact
  contrasts, writing the results folder), with ``--legacy-ebayes`` so that its
  eBayes is the one of Debian's limma 3.54.1 that ``Rscript`` loads;
* R: ``benchmarks/limma_r.R`` on the same preprocessed matrix (what
  ``salivaprot preprocess`` writes, converted to CSV beforehand, untimed):
  read, ``duplicateCorrelation``, ``lmFit``, ``contrasts.fit``, ``eBayes``,
  write.

The agreement line compares the two outputs: estimates (exact in both) and the
t of proteins observed in every sample (where ``contrasts.fit`` is exact too).

    python benchmarks/bench_trial.py [--repeat 3] [--workdir /tmp/salivaprot-trial]
"""

from __future__ import annotations

import argparse
import compileall
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import salivaprot
from salivaprot.simulate import simulate_trial

HERE = Path(__file__).resolve().parent
VISITS = (
    "baseline",
    "week1",
    "week2",
    "week4",
    "week8",
    "month3",
    "month4",
    "month6",
    "month12",
)


def write_inputs(folder: Path) -> tuple[Path, Path]:
    """The simulated study as a DIA-NN pg_matrix and a sample sheet."""
    trial = simulate_trial(
        seed=7,
        n_proteins=1300,
        subjects_per_arm=10,
        visits=VISITS,
        dropout=0.1,
        missing_fraction=0.18,
    )
    pg = trial.write_pg_matrix(folder / "report.pg_matrix.tsv", folder="D:\\saliva\\raw")
    sheet = folder / "samples.csv"
    columns = ["sample_id", "subject_id", "arm", "visit", "visit_day", "run"]
    trial.data.samples.reset_index()[columns].to_csv(sheet, index=False)
    return pg, sheet


def timed(command: list[str]) -> tuple[float, float, str]:
    """Run a command under /usr/bin/time; return seconds, peak MiB and its output."""
    result = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %M", *command], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    match = re.search(r"TIME ([0-9.]+) ([0-9]+)", result.stderr)
    assert match, result.stderr
    return float(match.group(1)), int(match.group(2)) / 1024, result.stdout + result.stderr


#: What ``salivaprot diff`` imports to run limma on a pg_matrix (see tests/test_startup.py).
DIFF_IMPORTS = (
    "import salivaprot._runtime; salivaprot._runtime.own_process(); "  # as the command does
    "import salivaprot.cli, salivaprot.diff, salivaprot.io.study, salivaprot.io.results, "
    "salivaprot.io.results_folder, salivaprot.preprocess, pyarrow.parquet, threadpoolctl, "
    "pyteomics.fasta; salivaprot.stats._special.ufuncs()"
)


def import_seconds(code: str, repeat: int = 10) -> float:
    """Best wall clock of ``python -c code`` over ``repeat`` fresh processes."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/salivaprot-trial"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    pg, sheet = write_inputs(args.workdir)
    # byte-compiled, as an installed package is (PYTHONDONTWRITEBYTECODE or a fresh
    # checkout would otherwise make every run compile salivaprot's sources first)
    compileall.compile_dir(Path(salivaprot.__file__).parent, quiet=1)
    exe = [sys.executable, "-m", "salivaprot"]
    # the preprocessed matrix R starts from (untimed)
    pre = args.workdir / "pre"
    shutil.rmtree(pre, ignore_errors=True)
    subprocess.run([*exe, "--quiet", "preprocess", str(pg), "-s", str(sheet), "--out", str(pre)],
                   check=True)  # fmt: skip
    matrix = pd.read_csv(pre / "matrix.tsv", sep="\t", index_col=0)
    r_matrix = args.workdir / "matrix.csv"
    matrix.to_csv(r_matrix)
    r_sheet = args.workdir / "samples_r.csv"
    pd.read_csv(sheet)[["sample_id", "subject_id", "arm", "visit"]].to_csv(r_sheet, index=False)

    out = args.workdir / "salivaprot"
    python_runs, r_runs = [], []
    for _ in range(args.repeat):
        shutil.rmtree(out, ignore_errors=True)
        ours = [*exe, "--quiet", "diff", str(pg), "-s", str(sheet), "--out", str(out)]
        python_runs.append(timed([*ours, "--legacy-ebayes"]))
        r_script = [str(HERE / "limma_r.R"), str(r_matrix), str(r_sheet), ",".join(VISITS)]
        r_runs.append(timed(["Rscript", *r_script, "placebo", str(args.workdir / "r.csv")]))
    py_seconds, py_mib, _ = min(python_runs)
    r_seconds, r_mib, log = min(r_runs)
    n_proteins, n_samples = matrix.shape
    raw_proteins = len(pd.read_csv(pg, sep="\t", usecols=[0]))
    label = f"{raw_proteins:,} protein groups ({n_proteins:,} kept) x {n_samples} samples"
    print(f"best of {args.repeat}; {label}")
    print("| tool | wall clock | peak memory |")
    print("|---|---:|---:|")
    print(f"| salivaprot diff (from the raw pg_matrix) | {py_seconds:.2f} s | {py_mib:.0f} MiB |")
    print(f"| R limma (from the preprocessed matrix) | {r_seconds:.2f} s | {r_mib:.0f} MiB |")
    print(f"| speed-up | {r_seconds / py_seconds:.1f}x | |")
    print(log.strip().splitlines()[-2] if "R timings" in log else "")
    bare = import_seconds("pass")
    package = import_seconds("import salivaprot")
    diff_imports = import_seconds(DIFF_IMPORTS)
    print(
        f"imports (best of 10, minus the bare interpreter's {bare:.3f} s): import salivaprot "
        f"{package - bare:.3f} s; the diff command's modules {diff_imports - bare:.3f} s"
    )

    ours = pd.read_csv(out / "results.tsv", sep="\t").set_index(["protein_id", "contrast"])
    r_table = pd.read_csv(args.workdir / "r.csv").set_index(["protein_id", "contrast"])
    ours = ours.reindex(r_table.index)
    estimate = np.nanmax(np.abs(ours["log2fc"] - r_table["log2fc"]))
    complete = matrix.index[matrix.notna().all(axis=1)]
    on_complete = r_table.index.get_level_values(0).isin(complete)
    t_rel = np.nanmax(
        np.abs(ours["stat"][on_complete] - r_table["stat"][on_complete])
        / np.abs(r_table["stat"][on_complete])
    )
    print(
        f"agreement: estimates {estimate:.1e} absolute; t of {len(complete)} complete proteins "
        f"{t_rel:.1e} relative"
    )


if __name__ == "__main__":
    main()
