"""Benchmark: the preprocessing chain on a large simulated study.

Default size is the one the preprocessing issue asks for: 10,000 proteins x 480
samples (120 subjects x 4 visits), 25% missing. Run from the repository root:

    python benchmarks/bench_preprocess.py [--proteins 10000] [--subjects-per-arm 60] [--repeat 3]

Prints one line per step: best wall-clock time over the repeats, and the peak
resident memory of the process at the end.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from collections.abc import Callable

import numpy as np

from salivaprot import ProteinData, simulate_trial
from salivaprot.preprocess import filter_proteins, impute, log2, normalize, output_scale, preprocess


def best_of(repeat: int, func: Callable[[], ProteinData]) -> tuple[float, ProteinData]:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    assert result is not None
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proteins", type=int, default=10_000)
    parser.add_argument("--subjects-per-arm", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--knn", action="store_true", help="also time kNN imputation (slow)")
    args = parser.parse_args()

    start = time.perf_counter()
    trial = simulate_trial(
        seed=1,
        n_proteins=args.proteins,
        subjects_per_arm=args.subjects_per_arm,
        visits=("baseline", "month1", "month4", "month12"),
        dropout=0.0,
        missing_fraction=0.25,
    )
    data = trial.data
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(
        f"# simulated {data.n_samples} samples x {data.n_proteins} proteins, "
        f"{100 * data.missing_fraction:.1f}% missing in {time.perf_counter() - start:.2f} s"
    )
    filtered = filter_proteins(data)
    logged = log2(filtered)
    normed = normalize(logged)
    steps: list[tuple[str, Callable[[], ProteinData]]] = [
        ("filter_proteins", lambda: filter_proteins(data)),
        ("log2", lambda: log2(filtered)),
        ("normalize median", lambda: normalize(logged)),
        ("normalize median exclude_top=10", lambda: normalize(logged, exclude_top=10)),
        ("normalize quantile", lambda: normalize(logged, method="quantile")),
        ("normalize total", lambda: normalize(logged, method="total")),
        ("impute minprob", lambda: impute(normed, method="minprob", seed=1)),
        ("impute min", lambda: impute(normed, method="min")),
        ("output_scale", lambda: output_scale(normed)),
        ("chain: filter+log2+median (default)", lambda: preprocess(data)),
        (
            "chain: + minprob + output scale",
            lambda: preprocess(data, impute_method="minprob", scale="output"),
        ),
    ]
    if args.knn:
        steps.append(("impute knn (k=5)", lambda: impute(normed, method="knn")))
    for name, func in steps:
        seconds, result = best_of(args.repeat, func)
        print(f"{name:40s} {seconds * 1000:9.1f} ms   -> {result.n_samples} x {result.n_proteins}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    matrix = data.abundance.to_numpy().nbytes / 2**20
    print(f"# peak resident memory {peak:.0f} MiB; abundance matrix {matrix:.0f} MiB")
    assert np.isfinite(normed.abundance.to_numpy()[~np.isnan(normed.abundance.to_numpy())]).all()


if __name__ == "__main__":
    main()
