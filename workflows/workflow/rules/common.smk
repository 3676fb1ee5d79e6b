# Configuration and the sample sheet, validated against JSON Schemas when the workflow starts.
import csv
import os
import shlex
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = config["results"]
MZML_DIR = Path(config["mzml_dir"])


def _names(path):
    """A path by both its names: with symbolic links followed, and as given (absolute)."""
    return {Path(path).resolve(), Path(os.path.abspath(path))}


def check_results_folder(results, input_folders):
    """Refuse a results folder that is the filesystem root or the home folder, or that is
    or holds the folder of an input: every output goes there, and the rules' output
    folders in it are removed and made anew by each run.
    """
    own = "give the outputs a folder of their own, e.g. results: results"
    outputs = _names(results)
    if any(folder == Path(folder.anchor) for folder in outputs):
        raise WorkflowError(f"results: {results!r} is the filesystem root; {own}")
    if Path.home().resolve() in outputs:
        raise WorkflowError(f"results: {results!r} is the home folder; {own}")
    problems = {}
    for role, path in input_folders:
        for folder in _names(path):
            if folder in outputs:
                problems[role] = f"results: {results!r} is the {role} {str(path)!r}"
            elif any(folder.is_relative_to(output) for output in outputs):
                problems.setdefault(role, f"results: {results!r} holds the {role} {str(path)!r}")
    if problems:
        raise WorkflowError("; ".join(problems.values()) + f"; {own}")


check_results_folder(
    RESULTS,
    [
        ("mzml_dir", config["mzml_dir"]),
        ("sample sheet's folder", os.path.dirname(os.path.abspath(config["samples"]))),
        ("protein table's folder", os.path.dirname(os.path.abspath(config["proteins"]))),
    ],
)


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


MZML_SUFFIXES = (".mzML", ".mzML.gz", ".mzml", ".mzml.gz")


def find_mzml(folder, runs):
    """The one mzML of each run in ``folder`` (RUN.mzML, RUN.mzML.gz, RUN.mzml or RUN.mzml.gz).

    Checked when the workflow starts: a run without an mzML, or with two, stops it
    before any job, also when an older QC of the run is still in the results folder
    (Snakemake does not raise an input function's error for a job whose output exists).
    """
    if not folder.is_dir():
        raise WorkflowError(f"mzml_dir: {str(folder)!r} is not a folder")
    found, missing, several = {}, [], []
    for run in runs:
        files = {}
        for suffix in MZML_SUFFIXES:
            path = folder / f"{run}{suffix}"
            if path.is_file():  # one file by two names (a case-blind file system) counts once
                files.setdefault((path.stat().st_dev, path.stat().st_ino), path)
        if not files:
            missing.append(run)
        elif len(files) > 1:
            several.append(f"{run} ({', '.join(path.name for path in files.values())})")
        else:
            (found[run],) = files.values()
    problems = []
    if missing and not found and not several:
        problems.append(
            f"no run of the sample sheet has an mzML in mzml_dir {str(folder)!r} (is it the "
            "right folder?)"
        )
    elif missing:
        problems.append(
            f"{len(missing)} of the sample sheet's {len(runs)} runs without an mzML in mzml_dir "
            f"{str(folder)!r}: {', '.join(missing)}"
        )
    if several:
        problems.append(f"runs with more than one mzML (keep one): {'; '.join(several)}")
    if problems:
        raise WorkflowError(
            "; ".join(problems) + ". A run's mzML is RUN.mzML, RUN.mzML.gz, RUN.mzml or "
            "RUN.mzml.gz, RUN being its 'run' in the sample sheet (else its sample_id)."
        )
    return found


MZML = find_mzml(MZML_DIR, RUNS)


def mzml_of(wildcards):
    """The run's mzML, found when the workflow started."""
    if wildcards.run not in MZML:
        raise ValueError(f"run {wildcards.run!r} is not in the sample sheet")
    return str(MZML[wildcards.run])


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
