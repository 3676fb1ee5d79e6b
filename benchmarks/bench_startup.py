"""Start-up cost: `salivaprot --help`, `salivaprot --version` and `import salivaprot`.

Each command runs as a fresh process (what a user or a workflow rule pays); the
figure is the best of N wall-clock runs, beside `python -c pass` (the
interpreter alone) and `python -c "import pandas"` for scale.

    python benchmarks/bench_startup.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time


def best(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    repeat = parser.parse_args().repeat
    exe = shutil.which("salivaprot") or "salivaprot"
    python = sys.executable
    rows = {
        "python -c pass": [python, "-c", "pass"],
        "salivaprot --help": [exe, "--help"],
        "salivaprot --version": [exe, "--version"],
        "python -c 'import salivaprot'": [python, "-c", "import salivaprot"],
        "python -c 'import pandas'": [python, "-c", "import pandas"],
        "python -c 'import salivaprot; salivaprot.ProteinData'": [
            python,
            "-c",
            "import salivaprot; salivaprot.ProteinData",
        ],
    }
    print(f"best of {repeat} runs")
    for label, command in rows.items():
        print(f"{label:55s} {best(command, repeat) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
