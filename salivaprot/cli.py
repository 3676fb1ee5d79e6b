"""The ``salivaprot`` command line: a thin layer over the library.

Every command turns salivaprot errors into a clean message on stderr and a
non-zero exit code (1: the input has problems; 2: the command line is wrong;
3: an internal error, with the traceback only under ``--debug``).
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click
import pandas as pd

from salivaprot.errors import SalivaprotError

if TYPE_CHECKING:
    from salivaprot.io.study import Study

logger = logging.getLogger("salivaprot")

EXIT_PROBLEMS = 1
EXIT_INTERNAL = 3


def _version_text() -> str:
    from salivaprot._versions import versions

    found = versions()
    main_version, python = found.pop("salivaprot"), found.pop("python")
    listed = ", ".join(f"{name} {v}" for name, v in found.items())
    return f"salivaprot {main_version} (Python {python}; {listed})"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_text())
        ctx.exit(0)


def _report_problems(problems: Sequence[str]) -> None:
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if len(problems) > 1:
        click.echo(f"{len(problems)} problems found.", err=True)


class _Group(click.Group):
    """A group that shows salivaprot errors as messages, never as tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SalivaprotError as err:
            _report_problems(err.problems)
            ctx.exit(EXIT_PROBLEMS)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            click.echo(f"error: {where}{err.strerror or err}", err=True)
            ctx.exit(EXIT_PROBLEMS)
        except Exception as err:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(
                f"internal error: {type(err).__name__}: {err}\n"
                "This is a bug in salivaprot; rerun with --debug for the traceback and report it.",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


class _StderrHandler(logging.Handler):
    """Log to whatever ``sys.stderr`` is when a record is emitted (not when configured)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def _setup_logging(quiet: bool, verbose: bool) -> None:
    level = logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if not quiet:
            click.echo(f"warning: {message}", err=True)

    warnings.showwarning = show


def _comma_list(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise click.BadParameter("give a comma-separated list, e.g. baseline,month1,month4")
    return items


def _design_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--samples", "-s", "samples", type=click.Path(dir_okay=False, path_type=Path),
                     help="Sample sheet (CSV or TSV): sample_id, subject_id, arm, visit, ..."),
        click.option("--visits", callback=_comma_list, metavar="V1,V2,...",
                     help="Visit order, baseline first (default: from a visit_day column)."),
        click.option("--reference-arm", metavar="ARM",
                     help="Control arm (default: placebo when present)."),
        click.option("--format", "input_format",
                     type=click.Choice(
                         ["auto", "mztab", "maxquant", "diann", "fragpipe", "matrix"]),
                     default="auto", show_default=True,
                     help="Input format (auto: recognized from the file's content)."),
        click.option("--quantity", type=click.Choice(["auto", "lfq", "intensity", "ibaq"]),
                     default="auto", show_default=True,
                     help="MaxQuant/FragPipe quantity (auto: LFQ when present, else Intensity)."),
        click.option("--q-value", type=click.FloatRange(0, 1), default=0.01, show_default=True,
                     help="DIA-NN reports: Q.Value, PG.Q.Value and Lib.PG.Q.Value threshold."),
        click.option("--keep-zeros", is_flag=True,
                     help="Keep zero abundances as values (default: read them as missing)."),
        click.option("--drop-unlisted", is_flag=True,
                     help="Leave out data columns that no sample sheet row names."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show versions of salivaprot and its key dependencies.",
)
@click.option("--quiet", "-q", is_flag=True, help="Only errors on stderr; no progress bars.")
@click.option("--verbose", "-v", is_flag=True, help="Explain each decision on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: bool, debug: bool) -> None:  # fmt: skip
    """salivaprot: salivary proteomics for clinical trials."""
    ctx.ensure_object(dict)
    ctx.obj.update(quiet=quiet, debug=debug)
    _setup_logging(quiet, verbose)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@_design_options
@click.option(
    "--species",
    default="9606",
    show_default=True,
    metavar="TAXID|all",
    help="Organism studied, for the 'other species' count.",
)
def validate(
    data: Path,
    samples: Path | None,
    visits: list[str] | None,
    reference_arm: str | None,
    input_format: str,
    quantity: str,
    q_value: float,
    keep_zeros: bool,
    drop_unlisted: bool,
    species: str,
) -> None:  # fmt: skip
    """Check that DATA and the sample sheet fit together, and summarize them.

    DATA is an mzTab, a MaxQuant proteinGroups.txt, a DIA-NN pg_matrix or main
    report (.tsv or .parquet), a FragPipe combined_protein.tsv or a generic
    matrix; its format is recognized from its content.

    Exits 0 when the study is usable; otherwise lists every problem found and
    exits 1.
    """
    from salivaprot.io.study import load_study
    from salivaprot.summary import summarize

    taxid = _parse_species(species)
    study = load_study(
        data,
        samples,
        format=input_format,  # type: ignore[arg-type]
        quantity=quantity,  # type: ignore[arg-type]
        q_value=q_value,
        visits=visits,
        reference_arm=reference_arm,
        zero_as_missing=not keep_zeros,
        drop_unlisted=drop_unlisted,
    )
    click.echo(summarize(study.data, species=taxid, notes=study.notes).to_text())
    click.echo("OK: usable study.")


def _parse_species(value: str) -> int | None:
    if value.lower() == "all":
        return None
    if not value.isdigit():
        raise click.BadParameter(f"expected an NCBI taxonomy ID or 'all', not {value!r}",
                                 param_hint="--species")  # fmt: skip
    return int(value)


def _reference_list(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> list[str] | None:
    if value is None:
        return None
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except OSError as err:
            raise click.BadParameter(f"cannot read {path}: {err.strerror}") from err
        items = [line.split("\t")[0].strip() for line in lines if line.strip()]
    else:
        items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise click.BadParameter("name at least one protein ID")
    return items


def _preprocess_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The preprocessing options shared by ``preprocess`` and ``diff``."""
    options = [
        click.option("--no-filter", is_flag=True,
                     help="Keep every protein (no contaminant/decoy/species/valid-value filter)."),
        click.option("--min-fraction", type=click.FloatRange(0, 1), default=0.5, show_default=True,
                     help="Keep proteins observed in at least this fraction of a group's samples."),
        click.option("--in", "groups", type=click.Choice(["any", "all"]), default="any",
                     show_default=True, help="...in at least one arm x visit group, or in all."),
        click.option("--species", "species_option", default="9606", show_default=True,
                     metavar="TAXID|all", help="Keep proteins of this species (unknown kept)."),
        click.option("--exclude-pattern", multiple=True, metavar="REGEX",
                     help="Also remove proteins whose ID matches (repeatable)."),
        click.option("--input-scale", type=click.Choice(["raw", "log2"]), default=None,
                     help="Scale of the input values (default: raw)."),
        click.option("--normalize", "normalize_method",
                     type=click.Choice(["median", "quantile", "total", "reference", "none"]),
                     default="median", show_default=True),
        click.option("--exclude-top", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Leave the N most abundant proteins out of median/total factors."),
        click.option("--reference-proteins", callback=_reference_list, metavar="IDS|@FILE",
                     help="Protein IDs for --normalize reference (comma list or @file)."),
        click.option("--impute", "impute_method",
                     type=click.Choice(["none", "minprob", "min", "knn"]),
                     default="none", show_default=True),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed of random steps (minprob imputation)."),
        click.option("--scale", type=click.Choice(["concentration", "output"]),
                     default="concentration", show_default=True,
                     help="output = concentration x flow (x total protein when given)."),
        click.option("--allow-mixed-saliva", is_flag=True,
                     help="Allow unstimulated and stimulated saliva in one analysis."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _preprocess_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """Map CLI option values to :func:`salivaprot.preprocess.preprocess` keywords."""
    return {
        "filter": not options["no_filter"],
        "patterns": tuple(options["exclude_pattern"]),
        "species": _parse_species(options["species_option"]),
        "min_fraction": options["min_fraction"],
        "groups": options["groups"],
        "input_scale": options["input_scale"],
        "normalize_method": options["normalize_method"],
        "exclude_top": options["exclude_top"],
        "reference_proteins": options["reference_proteins"],
        "impute_method": options["impute_method"],
        "seed": options["seed"],
        "scale": options["scale"],
        "allow_mixed_saliva": options["allow_mixed_saliva"],
    }


def _load_study(data: Path, options: dict[str, Any]) -> Study:
    """Read DATA and the sample sheet with the shared design and input options.

    Zeros are read as missing unless ``--keep-zeros`` or the input is already log2
    (where 0 is a value).
    """
    from salivaprot.io.study import load_study

    return load_study(
        data,
        options["samples"],
        format=options["input_format"],
        quantity=options["quantity"],
        q_value=options["q_value"],
        visits=options["visits"],
        reference_arm=options["reference_arm"],
        zero_as_missing=not options["keep_zeros"] and options.get("input_scale") != "log2",
        drop_unlisted=options["drop_unlisted"],
    )


@main.command("preprocess")
@click.argument("data", type=click.Path(path_type=Path))
@_design_options
@_preprocess_options
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for matrix.tsv, samples.tsv, QC tables and run.json.")  # fmt: skip
def preprocess_command(data: Path, out: Path, **options: Any) -> None:
    """Filter, log2, normalize, impute and scale DATA; write the matrix and QC tables to OUT."""
    from salivaprot.io._files import staged_folder
    from salivaprot.io.results import run_record, write_json, write_matrix, write_table
    from salivaprot.preprocess import (
        MEDIAN_BEFORE_COLUMN,
        NORMALIZATION_COLUMN,
        filter_reasons,
        preprocess,
    )
    from salivaprot.qc import cv_by_group, missing_by_group, missing_by_sample, sample_medians

    kwargs = _preprocess_kwargs(options)
    study = _load_study(data, options)
    ready = preprocess(study.data, **kwargs)
    if kwargs["filter"]:
        reasons = filter_reasons(
            study.data,
            patterns=kwargs["patterns"],
            species=kwargs["species"],
            min_fraction=kwargs["min_fraction"],
            groups=kwargs["groups"],
        )
        removed = reasons[reasons != ""].to_frame()
    else:
        removed = pd.DataFrame(columns=["reason"], index=pd.Index([], name="protein_id"))
    medians = pd.DataFrame(
        {
            "median_before": ready.samples[MEDIAN_BEFORE_COLUMN],
            "offset": ready.samples[NORMALIZATION_COLUMN],
            "median_after": ready.samples[MEDIAN_BEFORE_COLUMN]
            - ready.samples[NORMALIZATION_COLUMN],
            "median_final": sample_medians(ready),
        }
    )
    with staged_folder(out) as stage:
        write_matrix(ready, stage / "matrix.tsv")
        write_table(ready.samples, stage / "samples.tsv")
        write_table(ready.proteins, stage / "proteins.tsv")
        write_table(removed, stage / "removed_proteins.tsv")
        if ready.imputed is not None:
            write_table(ready.imputed.T.astype(int), stage / "imputed.tsv")
        write_table(missing_by_sample(ready), stage / "qc" / "missing_by_sample.tsv")
        write_table(missing_by_group(ready), stage / "qc" / "missing_by_group.tsv")
        write_table(medians, stage / "qc" / "sample_medians.tsv")
        write_table(cv_by_group(ready), stage / "qc" / "cv_by_group.tsv")
        record = run_record(
            command="preprocess",
            parameters={k: v for k, v in options.items() if k != "samples"} | kwargs,
            inputs={"data": data, "samples": options["samples"]},
            steps=ready.steps,
            seeds={"impute": kwargs["seed"]},
        )
        write_json(record, stage / "run.json")
    click.echo(
        f"{ready.n_samples} samples x {ready.n_proteins} proteins "
        f"({len(removed)} removed, {100 * ready.missing_fraction:.1f}% missing) -> {out}"
    )
    for step in ready.steps:
        logger.info("step: %s", step)


def _read_contrast_file(path: Path | None) -> dict[str, dict[str, float]] | None:
    """Custom contrasts from YAML: ``name: {"ARM:VISIT": weight}``, maybe under ``contrasts:``."""
    if path is None:
        return None
    import yaml

    from salivaprot.errors import InputFormatError
    from salivaprot.io._files import read_text

    text = read_text(path, what="contrasts file")
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputFormatError(f"not valid YAML: {getattr(err, 'problem', err)}", path=path,
                               line=line) from err  # fmt: skip
    if isinstance(content, dict) and set(content) == {"contrasts"}:
        content = content["contrasts"]
    if not isinstance(content, dict) or not all(isinstance(v, dict) for v in content.values()):
        raise InputFormatError(
            "expected a mapping of contrast names to cell weights, e.g. "
            '"aMSC_month4_vs_month1: {aMSC:month4: 1, aMSC:month1: -1}"',
            path=path,
        )
    return {str(name): {str(k): v for k, v in cells.items()} for name, cells in content.items()}


class _Progress:
    """A click progress bar on stderr, created on first use, silent with --quiet."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled = label, enabled
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@main.command("diff")
@click.argument("data", type=click.Path(path_type=Path))
@_design_options
@_preprocess_options
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for results.tsv/.parquet, matrix.tsv, samples.tsv and run.json.",
)
@click.option(
    "--method",
    type=click.Choice(["limma", "mixed", "ancova"]),
    default="limma",
    show_default=True,
    help="Statistical method.",
)
@click.option(
    "--covariate",
    "covariates",
    multiple=True,
    metavar="NAME",
    help="Sample-sheet column to adjust for (repeatable).",
)
@click.option(
    "--contrasts",
    "contrasts_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML file of custom contrasts of cell means.",
)
@click.option("--trend", is_flag=True, help="eBayes: prior variance trends with abundance.")
@click.option("--robust", is_flag=True, help="eBayes: robust to outlying variances.")
@click.option(
    "--correlation",
    type=click.FloatRange(-0.99, 0.99),
    default=None,
    help="limma: fix the within-subject correlation instead of estimating it.",
)
@click.option(
    "--dupcor",
    "dupcor_method",
    type=click.Choice(["statmod", "reml"]),
    default="statmod",
    show_default=True,
    help="limma: per-protein correlations as R's statmod fits them, or exact REML.",
)
@click.option("--use-imputed", is_flag=True, help="Let models use imputed values.")
@click.pass_context
def diff_command(ctx: click.Context, data: Path, out: Path, **options: Any) -> None:  # fmt: skip
    """Differential abundance between arms across visits for DATA; results into OUT."""
    from salivaprot.diff import differential_abundance
    from salivaprot.io._files import staged_folder
    from salivaprot.io.results import (
        run_record,
        write_json,
        write_matrix,
        write_results,
        write_table,
    )
    from salivaprot.preprocess import preprocess

    if options["samples"] is None:
        raise click.UsageError("diff needs a sample sheet: --samples FILE")
    custom = _read_contrast_file(options["contrasts_file"])
    kwargs = _preprocess_kwargs(options)
    study = _load_study(data, options)
    ready = preprocess(study.data, **kwargs)
    progress = _Progress("within-subject correlations", not ctx.obj.get("quiet"))
    try:
        result = differential_abundance(
            ready,
            method=options["method"],
            covariates=options["covariates"],
            custom_contrasts=custom,
            trend=options["trend"],
            robust=options["robust"],
            correlation=options["correlation"],
            dupcor_method=options["dupcor_method"],
            use_imputed=options["use_imputed"],
            progress=progress,
        )
    finally:
        progress.close()
    table = result.table
    with staged_folder(out) as stage:
        write_results(table, stage)
        write_matrix(ready, stage / "matrix.tsv")
        write_table(ready.samples, stage / "samples.tsv")
        record = run_record(
            command="diff",
            parameters={k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()}
            | kwargs,
            inputs={
                "data": data,
                "samples": options["samples"],
                "contrasts": options["contrasts_file"],
            },
            steps=ready.steps,
            seeds={"impute": kwargs["seed"]},
            model=result.model,
        )
        record["notes"] = list(study.notes)
        write_json(record, stage / "run.json")
    significant = table[table["padj"] < 0.05].groupby("contrast", sort=False).size()
    click.echo(
        f"{options['method']}: {result.model['n_tested']} of {result.model['n_proteins']} proteins "
        f"tested, {len(table)} rows -> {out}"
    )
    for contrast in result.model["contrasts"]:
        click.echo(f"  {contrast}: {int(significant.get(contrast, 0))} with padj < 0.05")


@main.command()
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write study.mzTab, samples.csv and truth.csv into.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--proteins", "n_proteins", default=500, show_default=True, type=click.IntRange(min=5)
)
@click.option("--subjects-per-arm", default=10, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--visits",
    callback=_comma_list,
    default="baseline,month1,month4",
    show_default=True,
    metavar="V1,V2,...",
)
@click.option(
    "--arms",
    callback=_comma_list,
    default="placebo,aMSC",
    show_default=True,
    metavar="REFERENCE,TREATED",
    help="Arm names; blinded codes such as A,B work too.",
)
@click.option(
    "--dropout",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Fraction of subjects who miss visits.",
)
@click.option(
    "--missing",
    "missing_fraction",
    default=0.25,
    show_default=True,
    type=click.FloatRange(0, 0.9),
    help="Target fraction of undetected values.",
)
def simulate(
    out: Path,
    seed: int,
    n_proteins: int,
    subjects_per_arm: int,
    visits: list[str],
    arms: list[str],
    dropout: float,
    missing_fraction: float,
) -> None:  # fmt: skip
    """Write a seeded, realistic simulated trial (same seed, identical files)."""
    from salivaprot.simulate import simulate_trial

    trial = simulate_trial(
        seed=seed,
        n_proteins=n_proteins,
        subjects_per_arm=subjects_per_arm,
        visits=visits,
        arms=arms,
        dropout=dropout,
        missing_fraction=missing_fraction,
    )
    files = trial.write(out)
    data = trial.data
    click.echo(
        f"wrote {', '.join(str(p) for p in files.values())}: {data.n_samples} samples, "
        f"{data.n_proteins} proteins, {100 * data.missing_fraction:.1f}% missing"
    )


@main.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("test_data"),
    show_default=True,
    help="Folder with the bundled study (regenerated by the simulator when absent).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("salivaprot-demo"),
    show_default=True,
)
@click.pass_context
def demo(ctx: click.Context, data_dir: Path, out: Path) -> None:
    """Run the main job on the bundled simulated study and write its outputs to OUT.

    Validates the study, then runs ``salivaprot diff`` (limma) into OUT/diff and
    compares the calls with the simulation's truth.
    """
    from salivaprot.io._files import atomic_write
    from salivaprot.io.study import load_study
    from salivaprot.simulate import demo_trial
    from salivaprot.summary import summarize

    mztab, sheet = data_dir / "study.mzTab", data_dir / "samples.csv"
    if not (mztab.exists() and sheet.exists()):
        click.echo(f"{data_dir} has no bundled study; simulating it into {out / 'data'}", err=True)
        demo_trial().write(out / "data")
        mztab, sheet = out / "data" / "study.mzTab", out / "data" / "samples.csv"
    study = load_study(mztab, sheet)
    text = summarize(study.data, notes=study.notes).to_text()
    with atomic_write(out / "summary.txt") as handle:
        handle.write(text + "\n")
    click.echo(text)
    click.echo(f"wrote {out / 'summary.txt'}\n")
    ctx.invoke(diff_command, data=mztab, samples=sheet, out=out / "diff")
    truth_file = mztab.parent / "truth.csv"
    if truth_file.exists():
        from salivaprot.io.results import read_results

        truth = pd.read_csv(truth_file)
        results = read_results(out / "diff")
        visit = str(truth["visit"].iloc[-1])
        changed = set(truth.loc[(truth["visit"] == visit) & truth["is_changed"], "protein_id"])
        effect = results["contrast"].str.endswith(f"_change_{visit}") & results[
            "contrast"
        ].str.contains("_vs_")
        called = results[effect & (results["padj"] < 0.05)]
        hits = set(called["protein_id"])
        click.echo(
            f"\ntruth check ({visit}): {len(hits)} proteins called at padj < 0.05, "
            f"{len(hits & changed)} of them truly changed; {len(changed)} truly changed in all"
        )


if __name__ == "__main__":  # pragma: no cover
    main()
