# Configuration and the sample sheet, validated against JSON Schemas when the workflow starts.
import csv
import shlex
from pathlib import Path

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = config["results"]
MZML_DIR = Path(config["mzml_dir"])


def _read_sheet(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
        return list(csv.DictReader(handle, dialect=dialect))


SAMPLES = _read_sheet(config["samples"])
for _row in SAMPLES:
    validate(_row, schema="../schemas/samples.schema.yaml")
# a run is the file stem of its mzML: the sheet's `run` column, else its sample_id
RUNS = sorted({row.get("run") or row["sample_id"] for row in SAMPLES})


def mzml_of(wildcards):
    """RUN.mzML, else RUN.mzML.gz, in the configured folder."""
    for suffix in (".mzML", ".mzML.gz", ".mzml", ".mzml.gz"):
        candidate = MZML_DIR / f"{wildcards.run}{suffix}"
        if candidate.exists():
            return str(candidate)
    raise ValueError(
        f"no mzML for run '{wildcards.run}' in {MZML_DIR} (looked for {wildcards.run}.mzML "
        "and .mzML.gz); the run names come from the sample sheet's 'run' column"
    )


def options(values):
    """Command-line options from a config mapping {option: value}; True is a bare flag.

    Every word is quoted (shlex.quote), so the shell passes each config value on as
    it is and never reads it (`|`, `;`, `$(...)`, quotes, an empty value). Rules put
    the result in their command as it is: `{params.options}`, not `:q` (Snakemake's
    `:q` on a list drops empty values).
    """
    out = []
    for key, value in (values or {}).items():
        flag = f"--{str(key).replace('_', '-')}"
        if value is True:
            out.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list):
            for item in value:
                out += [flag, str(item)]
        else:
            out += [flag, str(value)]
    return " ".join(shlex.quote(word) for word in out)
