"""Speed and memory of run-level mzML QC: salivaprot vs pyteomics vs pyOpenMS vs cat.

Generates (once, deterministically) a realistic DDA Orbitrap run: 60 minutes,
40,000 spectra, 1 MS1 per 15 MS2, ~2,000 peaks per MS1 and ~300 per MS2, zlib,
64-bit arrays, indexed (510 MB as generated here). Then times, each in a fresh
process (wall clock after imports, best of ``--repeat`` interleaved rounds; the
file is in the page cache), and records each process's peak resident memory
(children included):

* ``cat FILE > /dev/null``
* ``salivaprot.read_mzml_qc(FILE)`` with 1 and 2 worker processes
* pyteomics ``mzml.MzML`` iteration (arrays decoded), computing the same metrics
* pyOpenMS ``MzMLFile().load`` with ``PeakFileOptions.setFillData(False)``

and checks that our metrics equal those of the full pyteomics read. Each round's
ratio of pyOpenMS's time to salivaprot's (the two run one after the other) is
printed too, to show how steady the ratio is.

Run from the repository root::

    python benchmarks/bench_mzml.py                       # 40,000 spectra, ~450 MB
    python benchmarks/bench_mzml.py --spectra 4000        # a quick look (~45 MB)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def _one(kind: str, path: str) -> dict[str, Any]:
    """Run one measurement in this process (imports before the clock starts)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    metrics: Any = None
    if kind.startswith("salivaprot"):
        from mzml_reference import ours

        from salivaprot.io.mzml import read_mzml_qc

        workers = int(kind.rsplit("-", 1)[1])
        imported = _peak_mb()
        start = time.perf_counter()
        metrics = ours(read_mzml_qc(path, workers=workers))
    elif kind == "pyteomics":
        from mzml_reference import pyteomics_qc
        from pyteomics import mzml  # noqa: F401

        imported = _peak_mb()
        start = time.perf_counter()
        metrics = pyteomics_qc(path)
    elif kind == "pyopenms":
        import pyopenms

        imported = _peak_mb()
        start = time.perf_counter()
        experiment = pyopenms.MSExperiment()
        handler = pyopenms.MzMLFile()
        options = handler.getOptions()
        options.setFillData(False)
        handler.setOptions(options)
        handler.load(path, experiment)
        metrics = {"n_spectra": experiment.getNrSpectra()}
    else:  # cat
        imported = _peak_mb()
        start = time.perf_counter()
        subprocess.run(f"cat '{path}' > /dev/null", shell=True, check=True)
    elapsed = time.perf_counter() - start
    return {
        "kind": kind,
        "seconds": elapsed,
        "peak_mb": _peak_mb(),
        "imported_mb": imported,
        "metrics": metrics,
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, dict):
        return {str(k): v for k, v in a.items()} == {str(k): v for k, v in b.items()}
    return bool(a == b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spectra", type=int, default=40_000)
    parser.add_argument("--file", type=Path, default=None, help="Where the run is (re)used.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="Readers to skip, e.g. pyteomics")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(*args.one), default=str))
        return

    # this driver imports nothing heavy: a child's peak memory would count its pre-exec copy
    path = args.file or Path(f"/tmp/salivaprot_bench_{args.spectra}.mzML")
    if not path.exists():
        start = time.perf_counter()
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]);"
            "from salivaprot.io.mzml_example import write_example_mzml;"
            "write_example_mzml(sys.argv[2], n_spectra=int(sys.argv[3]), seed=0)"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(ROOT), str(path), str(args.spectra)], check=True
        )
        print(f"generated {path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path} ({size_mb:.1f} MB, {args.spectra} spectra)")
    kinds = ["cat", "salivaprot-1", "salivaprot-2", "pyopenms", "pyteomics"]
    kinds = [k for k in kinds if k not in args.skip]
    results: dict[str, dict[str, Any]] = {}
    rounds: dict[str, list[float]] = {}
    failed: set[str] = set()
    # rounds interleave the readers, so that drift in the machine's speed hits all alike
    for round_ in range(args.repeat):
        for kind in kinds:
            if kind in failed or (kind == "pyteomics" and round_ > 0):
                continue
            done = subprocess.run(
                [sys.executable, __file__, "--one", kind, str(path)],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
            if done.returncode != 0:
                print(f"{kind}: failed\n{done.stderr[-2000:]}")
                failed.add(kind)
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            rounds.setdefault(kind, []).append(result["seconds"])
            if kind not in results or result["seconds"] < results[kind]["seconds"]:
                results[kind] = result
    for kind, best in results.items():
        rate = size_mb / best["seconds"]
        print(
            f"{kind:14s} {best['seconds']:8.2f} s  {rate:8.1f} MB/s  "
            f"peak {best['peak_mb']:7.1f} MB (after imports {best['imported_mb']:.1f} MB)"
        )
    if len(rounds.get("pyopenms", [])) > 1:
        # each round's ratio to pyOpenMS in the same round: how steady the best one is
        for kind in ("salivaprot-1", "salivaprot-2"):
            if len(rounds.get(kind, [])) == len(rounds["pyopenms"]):
                ratios = [o / s for s, o in zip(rounds[kind], rounds["pyopenms"], strict=True)]
                print(f"{kind} vs pyopenms, per round: " + " ".join(f"{r:.2f}x" for r in ratios))
    if "pyteomics" in results:
        reference = results["pyteomics"]["metrics"]
        for kind in ("salivaprot-1", "salivaprot-2"):
            if kind in results:
                mine = results[kind]["metrics"]
                differ = [k for k in reference if not _same(mine[k], reference[k])]
                print(f"{kind} metrics identical to pyteomics: {not differ} {differ or ''}")
    if "pyopenms" in results and "salivaprot-1" in results:
        n = results["pyopenms"]["metrics"]["n_spectra"]
        print(
            f"pyopenms spectra: {n}; salivaprot: {results['salivaprot-1']['metrics']['n_spectra']}"
        )


if __name__ == "__main__":
    main()
