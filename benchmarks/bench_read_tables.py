"""Reading large MaxQuant and FragPipe protein tables: salivaprot vs `pandas.read_csv`.

A deterministic `proteinGroups.txt` and `combined_protein.tsv`
(`salivaprot.io.tables_example`; 10,000 groups x 200 samples by default: about
150 and 200 MB, most of it columns a reader does not need) are written once
(cached in --folder), then each reader runs in a fresh process under
`/usr/bin/time -f %M` (peak resident memory), one after the other, --repeat
rounds interleaved; the time is the wall clock of the read after imports (best
round), beside the whole process.

- salivaprot: `read_maxquant(path)` / `read_fragpipe(path)` (the QuantTable:
  quantity chosen, IDs checked, numbers exact, zeros as missing, proteins
  annotated).
- salivaprot, careful path only: the same with the columnar reader turned off
  (every cell read as text first, as every table was read before).
- salivaprot before (--before DIR): the reader of another checkout (e.g. the
  commit before this change, `git archive <commit> salivaprot | tar -x -C DIR`).
- pandas: `pandas.read_csv(path, sep="\\t", usecols=<the columns salivaprot
  reads>, dtype=<str for text, float64 for quantities>)`, the table only.

    python benchmarks/bench_read_tables.py
    python benchmarks/bench_read_tables.py --groups 2000 --samples 50 --repeat 3
    python benchmarks/bench_read_tables.py --before /tmp/before
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench_read import run  # one fresh-process runner for both read benchmarks

READERS = {"maxquant": "read_maxquant", "fragpipe": "read_fragpipe"}

SALIVAPROT = """
import sys, time
from salivaprot.io.{module} import {function}
start = time.perf_counter()
quant = {function}(sys.argv[1])
print(time.perf_counter() - start, *quant.abundance.shape)
"""
CAREFUL = """
import sys, time
import salivaprot.io._pipeline as pipeline
pipeline.STREAM = False
from salivaprot.io.{module} import {function}
start = time.perf_counter()
quant = {function}(sys.argv[1])
print(time.perf_counter() - start, *quant.abundance.shape)
"""
PANDAS = """
import sys, time
import pandas as pd
text, numbers = {text!r}, {numbers!r}
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1], sep="\\t", usecols=text + numbers,
                    dtype={{**{{c: str for c in text}}, **{{c: "float64" for c in numbers}}}})
print(time.perf_counter() - start, *frame.shape)
"""


def columns_read(module: str, path: Path) -> tuple[list[str], list[str]]:
    """The text and number columns salivaprot reads from the file (asked of the reader)."""
    import salivaprot.io._pipeline as pipeline

    seen: dict[str, list[str]] = {}
    real = pipeline.table_frame

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        read = real(*args, **kwargs)
        seen["columns"] = list(read.frame.columns)
        seen["numbers"] = [c for c in read.frame.columns if read.frame[c].dtype == "float64"]
        return read

    pipeline.table_frame = spy
    try:
        getattr(__import__(f"salivaprot.io.{module}", fromlist=["x"]), READERS[module])(path)
    finally:
        pipeline.table_frame = real
    if "columns" not in seen:
        raise SystemExit(f"{path}: not read by the streamed reader (table_frame)")
    text = [c for c in seen["columns"] if c not in seen["numbers"]]
    return text, seen["numbers"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=10_000, help="protein groups (rows)")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "bench_tables"))
    parser.add_argument("--before", help="a checkout (folder holding salivaprot/) to compare")
    parser.add_argument("--no-careful", action="store_true", help="skip the careful path")
    parser.add_argument("--formats", default="maxquant,fragpipe")
    args = parser.parse_args()
    from salivaprot.io.tables_example import write_combined_protein, write_proteingroups

    here = os.environ.get("PYTHONPATH") or str(Path(__file__).resolve().parents[1])
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    for module in args.formats.split(","):
        name = "proteinGroups" if module == "maxquant" else "combined_protein"
        path = folder / f"{name}_{args.groups}x{args.samples}.tsv"
        if not path.exists():
            start = time.perf_counter()
            if module == "maxquant":
                write_proteingroups(path, n_groups=args.groups, n_samples=args.samples)
            else:
                write_combined_protein(path, n_proteins=args.groups, n_samples=args.samples)
            print(f"wrote {path} in {time.perf_counter() - start:.0f} s")
        text, numbers = columns_read(module, path)
        with open(path, "rb") as handle:  # into the page cache, and count the columns
            n_columns = handle.readline().count(b"\t") + 1
        code = {"module": module, "function": READERS[module]}
        readers: dict[str, tuple[str, str | None]] = {
            f"salivaprot {READERS[module]}": (SALIVAPROT.format(**code), here),
        }
        if not args.no_careful:
            readers["salivaprot, careful path only"] = (CAREFUL.format(**code), here)
        if args.before:
            readers["salivaprot before"] = (SALIVAPROT.format(**code), args.before)
        readers["pandas.read_csv(usecols, dtype)"] = (
            PANDAS.format(text=text, numbers=numbers),
            here,
        )
        mb = path.stat().st_size / 1e6
        print(
            f"\n{path.name}: {mb:,.0f} MB, {args.groups:,} rows x {n_columns:,} columns; "
            f"{len(numbers)} number and {len(text)} text columns read"
        )
        results: dict[str, list[tuple[float, float, float, str]]] = {r: [] for r in readers}
        for _ in range(args.repeat):
            for label, (program, pythonpath) in readers.items():
                results[label].append(run(program, path, pythonpath))
        print(f"{'reader':34s} {'read':>8s} {'median':>8s} {'process':>8s} {'peak':>9s}  shape")
        for label, runs in results.items():
            best = min(runs)
            middle = statistics.median(r[0] for r in runs)
            peak = max(r[2] for r in runs)
            print(
                f"{label:34s} {best[0]:7.2f}s {middle:7.2f}s {best[1]:7.2f}s "
                f"{peak:6.0f} MiB  {best[3]}"
            )
        # the rounds are interleaved: compare each round's reads, pair by pair
        ours = [r[0] for r in results[f"salivaprot {READERS[module]}"]]
        theirs = [r[0] for r in results["pandas.read_csv(usecols, dtype)"]]
        ratios = sorted(a / b for a, b in zip(ours, theirs, strict=True))
        print(
            f"salivaprot / pandas, round by round: {', '.join(f'{x:.2f}' for x in ratios)} "
            f"(salivaprot no slower in {sum(x <= 1 for x in ratios)} of {len(ratios)} rounds)"
        )


if __name__ == "__main__":
    main()
