"""How much two cores give to parsing a wide table: one parse, two threads, two processes.

The streamed MaxQuant/FragPipe reader cuts a large table in two at a line feed
and has pandas parse each half in its own thread. Whether that can beat one
`pandas.read_csv` depends on how well the machine's cores run two parses side
by side. This measures it, with nothing of salivaprot in the timed code:

- one: `pandas.read_csv` of the whole table (from memory), the columns
  salivaprot reads (`usecols`, text as str, quantities as float64);
- two threads: each half by its own `read_csv`, side by side in one process;
- two processes: each half in its own forked process (no GIL shared), side by
  side; the time is the slower half's;
- one half alone, for the parallel efficiency.

Best of --repeat rounds, interleaved. Speed-up = one / two; 2.0 would be two
cores that do not slow each other.

    python benchmarks/bench_cores.py                       # the 150 MB proteinGroups.txt
    python benchmarks/bench_cores.py --table /tmp/bench_tables/combined_protein_10000x200.tsv
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def parse(data: bytes, options: dict[str, Any]) -> float:
    """Seconds pandas takes to parse ``data``."""
    start = time.perf_counter()
    pd.read_csv(io.BytesIO(data), **options)
    return time.perf_counter() - start


def in_processes(halves: list[bytes], options: dict[str, Any]) -> float:
    """Wall time of the halves parsed side by side in forked processes (slowest half)."""
    children = []
    for half in halves:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: parse, say how long, leave
            os.close(read)
            os.write(write, repr(parse(half, options)).encode())
            os._exit(0)
        os.close(write)
        children.append((pid, read))
    times = []
    for pid, read in children:
        with os.fdopen(read, "rb") as pipe:
            times.append(float(pipe.read()))
        os.waitpid(pid, 0)
    return max(times)


def in_threads(halves: list[bytes], options: dict[str, Any]) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(pd.read_csv, io.BytesIO(halves[1]), **options)
        pd.read_csv(io.BytesIO(halves[0]), **options)
        later.result()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default = Path(tempfile.gettempdir()) / "bench_tables" / "proteinGroups_10000x200.tsv"
    parser.add_argument("--table", default=str(default), help="bench_read_tables.py's table")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = Path(args.table)
    if not path.exists():
        raise SystemExit(f"{path}: run benchmarks/bench_read_tables.py first (it writes it)")
    from bench_read_tables import READERS, columns_read

    module = "maxquant" if path.name.startswith("proteinGroups") else "fragpipe"
    text, numbers = columns_read(module, path)
    assert module in READERS
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    middle = body.index(b"\n", len(body) // 2) + 1
    halves = [header + b"\n" + body[:middle], header + b"\n" + body[middle:]]
    options: dict[str, Any] = {
        "sep": "\t",
        "usecols": text + numbers,
        "dtype": {**dict.fromkeys(text, str), **dict.fromkeys(numbers, np.dtype("float64"))},
    }
    rounds: dict[str, list[float]] = {"one": [], "two threads": [], "two processes": [], "half": []}
    for _ in range(args.repeat):
        rounds["one"].append(parse(data, options))
        rounds["two threads"].append(in_threads(halves, options))
        rounds["two processes"].append(in_processes(halves, options))
        rounds["half"].append(parse(halves[0], options))
    best = {label: min(times) for label, times in rounds.items()}
    print(f"{path.name}: {len(data) / 1e6:,.0f} MB; {os.cpu_count()} CPUs; best of {args.repeat}")
    for label, seconds in best.items():
        line = f"  {label:14s} {seconds:.3f} s"
        if label.startswith("two"):
            line += f"   speed-up {best['one'] / seconds:.2f}x"
        print(line)
    efficiency = best["half"] / best["two processes"]
    print(f"  two processes run each half at {efficiency:.0%} of its speed alone")


if __name__ == "__main__":
    main()
