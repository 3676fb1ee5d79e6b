"""Benchmark: ``fit_mixed`` against a statsmodels MixedLM loop and R lme4 + lmerTest.

Two simulated studies, each log2-transformed with every sample's median
subtracted (25% missing values, no drop-out):

* 1,500 proteins x 120 samples (20 subjects per arm x 3 visits);
* 10,000 proteins x 480 samples (60 subjects per arm x 4 visits).

Run from the repository root:

    python benchmarks/bench_mixed.py [--sizes small,large] [--repeat 3]
        [--statsmodels-proteins 40] [--r-proteins 300]

For each size it reports:

* the wall-clock time of ``fit_mixed`` on every protein (best of
  ``--repeat``), with all contrasts and the joint F test;
* the peak of numpy/Python allocations during one call (``tracemalloc``);
* statsmodels' ``MixedLM(...).fit(reml=True)`` timed on the first
  ``--statsmodels-proteins`` proteins that have enough data, in the same
  process, with the contrasts from its covariance (statsmodels has no
  Satterthwaite df), extrapolated per protein;
* R ``lmerTest::lmer`` + ``contest`` (each contrast and the joint test), as the
  references were made, timed inside ``Rscript`` on the first
  ``--r-proteins`` proteins with enough data, extrapolated per protein;
  estimates and df are compared with ``fit_mixed`` on the same proteins.

At the end it prints the peak resident memory of the process
(``resource.getrusage``); R's own peak (``VmHWM`` of the Rscript process) is
printed with its timing.
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salivaprot import simulate_trial
from salivaprot.design import TrialDesign, trial_design
from salivaprot.stats import MixedFit, fit_mixed

SIZES = {
    "small": {
        "n_proteins": 1500,
        "subjects_per_arm": 20,
        "visits": ("baseline", "month1", "month4"),
    },
    "large": {
        "n_proteins": 10000,
        "subjects_per_arm": 60,
        "visits": ("baseline", "month1", "month4", "month12"),
    },
}

R_SCRIPT = r"""
suppressMessages({library(lme4); library(lmerTest)})
args <- commandArgs(trailingOnly = TRUE)
y <- as.matrix(read.csv(args[1], row.names = 1, check.names = FALSE))
s <- read.csv(args[2], stringsAsFactors = FALSE)
L <- as.matrix(read.csv(args[3], row.names = 1, check.names = FALSE))
change <- grepl("_change_", rownames(L)) & grepl("_vs_", rownames(L))
dd <- data.frame(arm = factor(s$arm, levels = strsplit(args[5], ",")[[1]]),
                 visit = factor(s$visit, levels = strsplit(args[6], ",")[[1]]),
                 subject = s$subject_id)
out <- vector("list", nrow(y))
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(nrow(y))) {
  o <- !is.na(y[i, ])
  d <- dd[o, ]
  d$y <- y[i, o]
  res <- tryCatch({
    fit <- suppressMessages(suppressWarnings(
      lmerTest::lmer(y ~ arm * visit + (1 | subject), data = d, REML = TRUE)))
    kept <- names(fixef(fit))
    ct <- contest(fit, L[, kept, drop = FALSE], joint = FALSE, ddf = "Satterthwaite")
    jt <- contest(fit, L[change, kept, drop = FALSE], joint = TRUE, ddf = "Satterthwaite")
    list(estimate = ct$Estimate, df = ct$df, F = jt[["F value"]])
  }, error = function(e) list(estimate = NA_real_, df = NA_real_, F = NA_real_))
  out[[i]] <- data.frame(protein = rownames(y)[i], contrast = rownames(L),
                         estimate = res$estimate, df = res$df, F = res$F)
}
elapsed <- proc.time()[["elapsed"]] - t0
write.csv(do.call(rbind, out), args[4], row.names = FALSE)
hwm <- grep("^VmHWM", readLines("/proc/self/status"), value = TRUE)
cat(sprintf("%.6f %d %s\n", elapsed, nrow(y), as.numeric(gsub("[^0-9]", "", hwm))))
"""


def simulate(size: str) -> tuple[pd.DataFrame, pd.DataFrame, TrialDesign]:
    """Samples x proteins (log2, sample medians subtracted), sample table and design."""
    trial = simulate_trial(seed=1, dropout=0.0, missing_fraction=0.25, **SIZES[size])  # type: ignore[arg-type]
    data = trial.data
    y = np.log2(data.abundance)
    y = y.sub(y.median(axis=1), axis=0)
    samples = data.samples[["subject_id", "arm", "visit"]].astype(str)
    return y, samples, trial_design(data.samples)


def run_fit(y: pd.DataFrame, d: TrialDesign) -> MixedFit:
    return fit_mixed(
        y.to_numpy(),
        d.matrix.to_numpy(),
        d.subjects.to_numpy(),
        d.contrasts.to_numpy(),
        {k: d.contrasts.loc[v].to_numpy() for k, v in d.joint.items()},
        contrast_names=list(d.contrasts.index),
    )


def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def statsmodels_loop(y: pd.DataFrame, d: TrialDesign, columns: list[int]) -> float:
    """Seconds per protein of a statsmodels MixedLM REML fit plus the contrasts."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    x = d.matrix.to_numpy()
    groups = d.subjects.to_numpy()
    contrasts = d.contrasts.to_numpy()
    values = y.to_numpy()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in columns:
            ok = ~np.isnan(values[:, j])
            result = MixedLM(values[ok, j], x[ok], groups=groups[ok]).fit(reml=True)
            cov = np.asarray(result.cov_params())[: x.shape[1], : x.shape[1]]
            _ = contrasts @ result.fe_params, np.einsum("kp,pq,kq->k", contrasts, cov, contrasts)
    return (time.perf_counter() - start) / len(columns)


def r_loop(
    y: pd.DataFrame, samples: pd.DataFrame, d: TrialDesign, columns: list[int], folder: Path
) -> tuple[float, float, pd.DataFrame]:
    """Seconds per protein of lmerTest in Rscript, R's peak RSS (MiB), and R's results."""
    sub = y.iloc[:, columns]
    sub.T.to_csv(folder / "y.csv", float_format="%.17g")
    samples.to_csv(folder / "samples.csv", index=False)
    contrasts = d.contrasts.copy()
    # R's model.matrix names: armaMSC, visitmonth1, armaMSC:visitmonth1
    contrasts.columns = [c.replace("[", "").replace("]", "") for c in contrasts.columns]
    contrasts.to_csv(folder / "L.csv")
    (folder / "bench.R").write_text(R_SCRIPT)
    done = subprocess.run(
        [
            "Rscript",
            str(folder / "bench.R"),
            str(folder / "y.csv"),
            str(folder / "samples.csv"),
            str(folder / "L.csv"),
            str(folder / "out.csv"),
            ",".join(d.arms),
            ",".join(d.visits),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed, n, peak_kib = done.stdout.split()
    return float(elapsed) / int(n), int(peak_kib) / 1024, pd.read_csv(folder / "out.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="small,large")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--statsmodels-proteins", type=int, default=40)
    parser.add_argument("--r-proteins", type=int, default=300)
    args = parser.parse_args()
    import scipy
    import statsmodels

    print(
        f"# {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, statsmodels {statsmodels.__version__}"
    )
    rscript = shutil.which("Rscript")
    if rscript:
        version = subprocess.run(
            [
                "Rscript",
                "-e",
                'cat(R.version.string, "lme4", format(packageVersion("lme4")), '
                '"lmerTest", format(packageVersion("lmerTest")))',
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        print(f"# {version}")
    for size in args.sizes.split(","):
        y, samples, d = simulate(size)
        n_samples, n_proteins = y.shape
        print(
            f"\n## {size}: {n_proteins} proteins x {n_samples} samples, "
            f"{100 * y.isna().to_numpy().mean():.1f}% missing, {d.matrix.shape[1]} fixed effects, "
            f"{len(d.contrasts)} contrasts + {len(d.joint)} joint test"
        )
        seconds, result = best_of(args.repeat, lambda y=y, d=d: run_fit(y, d))
        tracemalloc.start()
        run_fit(y, d)
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        per_protein = seconds / n_proteins
        print(
            f"fit_mixed: {seconds:.3f} s for all {n_proteins} proteins "
            f"({1e3 * per_protein:.3f} ms/protein; best of {args.repeat}); "
            f"{int(result.fitted.sum())} fitted, {int(result.singular[result.fitted].sum())} "
            f"singular, {n_proteins - int(result.fitted.sum())} not fitted (noted); "
            f"peak traced allocation {traced / 2**20:.0f} MiB"
        )
        usable = [j for j in range(n_proteins) if result.fitted[j]]
        sm_cols = usable[: args.statsmodels_proteins]
        sm = statsmodels_loop(y, d, sm_cols)
        print(
            f"statsmodels MixedLM loop: {1e3 * sm:.1f} ms/protein (timed on {len(sm_cols)} "
            f"proteins) -> {sm * n_proteins:.0f} s extrapolated to {n_proteins}; "
            f"fit_mixed is {sm / per_protein:.0f}x faster"
        )
        if not rscript:
            print("R lmerTest: Rscript not found, skipped")
            continue
        r_cols = usable[: args.r_proteins]
        with tempfile.TemporaryDirectory() as tmp:
            r_sec, r_peak, r_res = r_loop(y, samples, d, r_cols, Path(tmp))
        print(
            f"R lmerTest loop: {1e3 * r_sec:.1f} ms/protein (timed inside Rscript on "
            f"{len(r_cols)} proteins) -> {r_sec * n_proteins:.0f} s extrapolated to {n_proteins}; "
            f"fit_mixed is {r_sec / per_protein:.0f}x faster; R peak RSS {r_peak:.0f} MiB"
        )
        both = result.to_frame(y.columns).merge(
            r_res, left_on=["protein_id", "contrast"], right_on=["protein", "contrast"]
        )
        est = np.nanmax(np.abs(both["estimate_x"] - both["estimate_y"]))
        df_rel = np.nanmax(np.abs(both["df_x"] / both["df_y"] - 1))
        print(
            f"  same {len(r_cols)} proteins, fit_mixed vs R: max |estimate diff| {est:.2g}, "
            f"max relative df diff {df_rel:.2g}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this Python process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
