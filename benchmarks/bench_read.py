"""Reading a DIA-NN main report at scale: salivaprot's `read_diann` vs `pandas.read_csv`.

A deterministic DIA-NN 1.9-like `report.tsv` (58 columns, precursor rows x runs,
`salivaprot.io.diann_example.write_example_report`) is written once per size
(cached in --folder), then each reader runs in a fresh process under
`/usr/bin/time -f %M` (peak resident memory), one after the other, --repeat
rounds interleaved; the time is wall clock of the read after imports (best
round), beside the whole process.

- salivaprot: `read_diann(path)` (q-value filters, one value per protein group
  and run, checked; the protein x run matrix).
- pandas: `pandas.read_csv(path, sep="\\t", usecols=<the 11 columns salivaprot
  reads>, dtype=<str for text, float64 for numbers>)`, the table only.
- salivaprot careful (--careful): the reader without its columnar fast path
  (what every report took before), for comparison.

    python benchmarks/bench_read.py                      # 1 GB and 3 GB
    python benchmarks/bench_read.py --sizes 0.25 --repeat 3 --careful
    python benchmarks/bench_read.py --sizes 1 --parquet   # also converted to report.parquet
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEXT = ["File.Name", "Run", "Protein.Group", "Protein.Ids", "Protein.Names", "Genes",
        "First.Protein.Description"]  # fmt: skip
NUMBERS = ["PG.MaxLFQ", "Q.Value", "PG.Q.Value", "Lib.PG.Q.Value"]

SALIVAPROT = """
import sys, time
from salivaprot.io.diann import read_diann
start = time.perf_counter()
quant = read_diann(sys.argv[1])
print(time.perf_counter() - start, *quant.abundance.shape)
"""
CAREFUL = """
import sys, time
import salivaprot.io.diann as diann
from salivaprot.io._tables import Unusual
def refuse(*args, **kwargs):
    raise Unusual("benchmark: the careful path")
diann.arrow_batches = refuse
start = time.perf_counter()
quant = diann.read_diann(sys.argv[1])
print(time.perf_counter() - start, *quant.abundance.shape)
"""
PANDAS_PARQUET = f"""
import sys, time
import pandas as pd
start = time.perf_counter()
frame = pd.read_parquet(sys.argv[1], columns={TEXT + NUMBERS!r})
print(time.perf_counter() - start, *frame.shape)
"""
PANDAS = f"""
import sys, time
import pandas as pd
text, numbers = {TEXT!r}, {NUMBERS!r}
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1], sep="\\t", usecols=text + numbers,
                    dtype={{**{{c: str for c in text}}, **{{c: "float64" for c in numbers}}}})
print(time.perf_counter() - start, *frame.shape)
"""


def run(code: str, path: Path, pythonpath: str | None = None) -> tuple[float, float, float, str]:
    """(read seconds, whole process seconds, peak MiB, shape) of one fresh process.

    ``pythonpath`` puts another checkout's salivaprot first (bench_read_tables --before).
    """
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    with tempfile.NamedTemporaryFile("r", suffix=".time") as peak:
        start = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-o", peak.name, "-f", "%M", sys.executable, "-c", code, str(path)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),  # not the checkout: -c puts the current folder first
        )
        whole = time.perf_counter() - start
        kib = int(peak.read().split()[-1])
    seconds, *shape = done.stdout.split()
    return float(seconds), whole, kib / 1024, " x ".join(shape)


def to_parquet(source: Path, target: Path) -> None:
    """The text report as a report.parquet (DIA-NN 2.x's format), converted in blocks."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    reader = pacsv.open_csv(source, parse_options=pacsv.ParseOptions(delimiter="\t"))
    with pq.ParquetWriter(target, reader.schema) as writer:
        pending: list = []
        for batch in reader:  # row groups of ~500,000 rows
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= 500_000:
                writer.write_table(pa.Table.from_batches(pending))
                pending = []
        if pending:
            writer.write_table(pa.Table.from_batches(pending))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,3", help="report sizes in GB (10^9 bytes)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "bench_read"))
    parser.add_argument("--careful", action="store_true", help="also time the careful path")
    parser.add_argument("--groups", type=int, default=3000, help="protein groups")
    parser.add_argument("--parquet", action="store_true", help="also as report.parquet")
    args = parser.parse_args()
    from salivaprot.io.diann_example import write_example_report

    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    readers = {"salivaprot read_diann": SALIVAPROT, "pandas.read_csv(usecols, dtype)": PANDAS}
    if args.careful:
        readers["salivaprot, careful path only"] = CAREFUL
    for size in (float(s) for s in args.sizes.split(",")):
        path = folder / f"report_{size:g}GB_{args.groups}.tsv"
        if not path.exists():
            start = time.perf_counter()
            write_example_report(
                path, n_groups=args.groups, n_runs=1, target_bytes=int(size * 1e9), seed=0
            )
            print(f"wrote {path} in {time.perf_counter() - start:.0f} s")
        if args.parquet:
            parquet = path.with_suffix(".parquet")
            if not parquet.exists():
                to_parquet(path, parquet)
            parquet_readers = {
                "salivaprot read_diann (Parquet)": SALIVAPROT,
                "pandas.read_parquet(columns)": PANDAS_PARQUET,
            }
            parquet_results: dict[str, list[tuple[float, float, float, str]]] = {
                r: [] for r in parquet_readers
            }
            for _ in range(args.repeat):
                for label, code in parquet_readers.items():
                    parquet_results[label].append(run(code, parquet))
            print(f"\n{parquet.name}: {parquet.stat().st_size / 1e6:,.0f} MB")
            for label, runs in parquet_results.items():
                best = min(runs)
                print(
                    f"{label:34s} {best[0]:7.2f}s {best[1]:7.2f}s "
                    f"{max(r[2] for r in runs):6.0f} MiB  {best[3]}"
                )
        with open(path, "rb") as handle:  # into the page cache, and count the rows
            rows = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b"")) - 1
        mb = path.stat().st_size / 1e6
        print(f"\n{path.name}: {mb:,.0f} MB, {rows:,} precursor rows")
        results: dict[str, list[tuple[float, float, float, str]]] = {r: [] for r in readers}
        for _ in range(args.repeat):
            for label, code in readers.items():
                results[label].append(run(code, path))
        print(f"{'reader':34s} {'read':>8s} {'MB/s':>6s} {'process':>8s} {'peak':>9s}  shape")
        for label, runs in results.items():
            best = min(runs)
            peak = max(r[2] for r in runs)
            print(
                f"{label:34s} {best[0]:7.2f}s {mb / best[0]:6.0f} {best[1]:7.2f}s "
                f"{peak:6.0f} MiB  {best[3]}"
            )


if __name__ == "__main__":
    main()
