"""The ``salivaprot`` commands: validate, preprocess, diff, simulate, demo."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from salivaprot.cli._options import (
    _comma_list,
    _design_options,
    _force_option,
    _Group,
    _inputs,
    _load_study,
    _one_reading_each,
    _out_folder_option,
    _parse_species,
    _preprocess_kwargs,
    _preprocess_options,
    _print_version,
    _Progress,
    _read_contrast_file,
    _refuse_ignored_options,
    _scale_check_options,
    _setup_logging,
    _shown,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("salivaprot")


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


def run(args: Sequence[str] | None = None) -> None:
    """The ``salivaprot`` console script (and ``python -m salivaprot``): :func:`main`
    in a process of its own, which may take shortcuts a library may not
    (:mod:`salivaprot._runtime`).
    """
    from salivaprot import _runtime
    from salivaprot._startup import stop_on_signals

    _runtime.own_process()  # no thread runs yet
    stop_on_signals()  # SIGTERM, SIGHUP: cleaned up as after Ctrl-C
    main(args)


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
@click.option(
    "--covariate",
    "covariates",
    multiple=True,
    metavar="NAME[:KIND]",
    help="Check this covariate as diff would (repeatable; KIND numeric or categorical).",
)
@_scale_check_options
@click.pass_context
def validate(
    ctx: click.Context,
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
    covariates: tuple[str, ...],
    input_scale: str | None,
    force_scale: bool,
) -> None:  # fmt: skip
    """Check that DATA and the sample sheet fit together, and summarize them.

    DATA is an mzTab, a MaxQuant proteinGroups.txt, a DIA-NN pg_matrix or main
    report (.tsv or .parquet), a FragPipe combined_protein.tsv, a Spectronaut
    protein report or a generic matrix; its format is recognized from its
    content.

    With a sample sheet, the trial design is checked as `salivaprot diff`
    checks it (arms, visits, subjects, covariates), so "usable" means diff can
    fit it, and the values are checked against --input-scale as preprocess and
    diff check them. Exits 0 when the study is usable; otherwise lists every
    problem found and exits 1.
    """
    from salivaprot.io.study import load_study
    from salivaprot.preprocess import check_input
    from salivaprot.summary import summarize

    taxid = _parse_species(species)
    _refuse_ignored_options(ctx, {"keep_zeros": keep_zeros, "input_scale": input_scale})
    _one_reading_each([("data file", data), ("sample sheet", samples)])
    study = load_study(
        data,
        samples,
        format=input_format,  # type: ignore[arg-type]
        quantity=quantity,  # type: ignore[arg-type]
        q_value=q_value,
        visits=visits,
        reference_arm=reference_arm,
        zero_as_missing=not keep_zeros and input_scale != "log2",
        drop_unlisted=drop_unlisted,
    )
    click.echo(summarize(study.data, species=taxid, notes=study.notes).to_text())
    check_input(study.data, input_scale=input_scale, check_scale=not force_scale)  # type: ignore[arg-type]
    if study.data.has_design:
        from salivaprot.design import trial_design
        from salivaprot.preprocess.tmt import drop_reference_channels

        # TMT pooled references serve normalization only: the model never sees them
        trial_design(drop_reference_channels(study.data).samples, covariates=list(covariates))
    elif covariates:
        raise click.UsageError("--covariate needs a sample sheet: --samples FILE")
    click.echo("OK: usable study.")


@main.command("preprocess")
@click.argument("data", type=click.Path(path_type=Path))
@_design_options
@_preprocess_options
@_out_folder_option("Folder for matrix.tsv, samples.tsv, QC tables and run.json")
@_force_option
@click.pass_context
def preprocess_command(
    ctx: click.Context, data: Path, out: str, force: bool, **options: Any
) -> None:  # fmt: skip
    """Filter, log2, normalize, impute and scale DATA; write the matrix and QC tables to OUT.

    OUT must be new or empty (or use --force); it never holds an input.
    """
    from salivaprot.io._outputs import output_folder

    _refuse_ignored_options(ctx, options)
    inputs = _inputs(ctx, data, options)
    _one_reading_each(inputs)
    with output_folder(out, inputs=inputs, force=force) as stage:
        ready, removed = _preprocess_into(stage, data, options)
    click.echo(
        f"{ready.n_samples} samples x {ready.n_proteins} proteins "
        f"({len(removed)} removed, {100 * ready.missing_fraction:.1f}% missing) -> {_shown(out)}"
    )
    for step in ready.steps:
        logger.info("step: %s", step)


def _preprocess_into(stage: Path, data: Path, options: dict[str, Any]) -> tuple[Any, pd.DataFrame]:
    import pandas as pd

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
    filtered: list[Any] = []  # the data the chain filtered, its scale declared

    def keep(step: str, given: Any) -> None:
        if step == "filter_proteins":
            filtered.append(given)

    ready = preprocess(study.data, **kwargs, on_step=keep)
    if kwargs["filter"]:
        reasons = filter_reasons(
            filtered.pop(),
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
    return ready, removed


@main.command("diff")
@click.argument("data", type=click.Path(path_type=Path))
@_design_options
@_preprocess_options
@_out_folder_option("Folder for results.tsv/.parquet, matrix.tsv, samples.tsv and run.json")
@_force_option
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
    metavar="NAME[:KIND]",
    help="Sample-sheet column to adjust for (repeatable); KIND numeric or categorical "
    "when the values cannot say.",
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
    "--legacy-ebayes",
    is_flag=True,
    help="eBayes prior as limma 3.54-3.60 (default: as limma >= 3.61, which differs "
    "when proteins have different residual df).",
)
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
@click.option(
    "--contrast-se",
    type=click.Choice(["exact", "limma"]),
    default="exact",
    show_default=True,
    help="limma: exact per-protein contrast SEs, or limma's contrasts.fit approximation "
    "(cell-means design) to match a standard R limma script.",
)
@click.option("--use-imputed", is_flag=True, help="Let models use imputed values.")
@click.option(
    "--qc",
    "qc_table",
    type=click.Path(dir_okay=False, path_type=Path),
    help="qc.tsv from 'salivaprot qc': its metrics join the samples (usable as "
    "--covariate, e.g. log10_tic_total).",
)
@click.option(
    "--exclude-failed-runs",
    is_flag=True,
    help="With --qc: leave out samples whose run failed QC (listed in run.json).",
)
@click.pass_context
def diff_command(
    ctx: click.Context, data: Path, out: str, force: bool, **options: Any
) -> None:  # fmt: skip
    """Differential abundance between arms across visits for DATA; results into OUT.

    OUT must be new or empty (or use --force); it never holds an input.
    """
    from salivaprot.io._outputs import output_folder

    if options["samples"] is None:
        raise click.UsageError("diff needs a sample sheet: --samples FILE")
    _refuse_ignored_options(ctx, options)
    inputs = _inputs(ctx, data, options)
    _one_reading_each(inputs)
    with output_folder(out, inputs=inputs, force=force) as stage:
        result = _diff_into(ctx, stage, data, options)
    table = result.table
    significant = table[table["padj"] < 0.05].groupby("contrast", sort=False).size()
    click.echo(
        f"{options['method']}: {result.model['n_tested']} of {result.model['n_proteins']} proteins "
        f"tested, {len(table)} rows -> {ctx.meta.get('salivaprot.shown_out', _shown(out))}"
    )
    for contrast in result.model["contrasts"]:
        click.echo(f"  {contrast}: {int(significant.get(contrast, 0))} with padj < 0.05")


def _diff_into(ctx: click.Context, stage: Path, data: Path, options: dict[str, Any]) -> Any:
    from salivaprot._versions import versions
    from salivaprot.diff import differential_abundance
    from salivaprot.io.results import (
        run_record,
        write_json,
        write_matrix,
        write_parquet,
        write_table,
    )
    from salivaprot.io.results_folder import figure_matrices, write_sample_flow
    from salivaprot.preprocess import preprocess

    custom = _read_contrast_file(options["contrasts_file"])
    kwargs = _preprocess_kwargs(options)
    study = _load_study(data, options)
    samples_data, qc_record = _join_qc(study.data, options)
    normalized: list[Any] = []  # the data normalization was given, for a figure

    def keep(step: str, given: Any) -> None:
        if step == "normalize":
            normalized.append(given)

    ready = preprocess(samples_data, **kwargs, on_step=keep)

    def write_inputs() -> None:  # what does not depend on the model
        write_matrix(ready, stage / "matrix.tsv")
        write_table(ready.samples, stage / "samples.tsv")
        tables = figure_matrices(ready, normalized.pop())
        for name in list(tables):  # (each let go once written: memory, at scale)
            write_table(tables.pop(name), stage / name)
        import pyarrow.parquet  # noqa: F401  (for results.parquet, once the model is fitted)

        versions()  # (looked up once, for run.json)

    label = {"limma": "within-subject correlations", "mixed": "mixed models"}
    progress = _Progress(label.get(options["method"], "models"), not ctx.obj.get("quiet"))
    # the tables that do not depend on the model are made and written while it is
    # fitted: the statistics use one core (one BLAS thread), the tables the other
    with ThreadPoolExecutor(max_workers=1) as pool:
        written = pool.submit(write_inputs)
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
                contrast_se=options["contrast_se"],
                use_imputed=options["use_imputed"],
                progress=progress,
                legacy_ebayes=options["legacy_ebayes"],
            )
        finally:
            progress.close()
        written.result()
        parquet = pool.submit(write_parquet, result.table, stage)
        write_table(result.table, stage / "results.tsv", index=False)
        n_analysed = (result.model.get("design") or {}).get("n_samples")
        n_excluded = len((qc_record or {}).get("excluded_runs", []))
        write_sample_flow(stage, study, ready, n_analysed=n_analysed, n_excluded=n_excluded)
        parquet.result()
    record = run_record(
        command="diff",
        parameters={k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()} | kwargs,
        inputs={
            "data": data,
            "samples": options["samples"],
            "contrasts": options["contrasts_file"],
            "qc": options["qc_table"],
        },
        steps=ready.steps,
        seeds={"impute": kwargs["seed"]},
        model=result.model,
    )
    record["notes"] = list(study.notes)
    if qc_record is not None:
        record["qc"] = qc_record
    staged = ctx.meta.get("salivaprot.staged")
    if staged is not None:  # demo: inputs simulated into its staging folder; name their home
        record = _renamed(record, str(staged[0]), str(staged[1]))
    write_json(record, stage / "run.json")
    return result


def _read_truth(path: Path) -> Any:
    """The simulation's truth table of the demo: protein_id, visit, is_changed (True/False)."""
    from salivaprot.errors import InputFormatError
    from salivaprot.io._tables import read_table

    frame = read_table(path, what="truth table").frame
    missing = [c for c in ("protein_id", "visit", "is_changed") if c not in frame.columns]
    if missing or frame.empty:
        lacks = f"missing {', '.join(missing)}" if missing else "no rows"
        raise InputFormatError(
            "expected the simulation's truth table (columns protein_id, visit, is_changed, "
            f"one row per protein and visit); {lacks}",
            path=path,
        )
    flags = frame["is_changed"].str.strip().map({"True": True, "False": False})
    if flags.isna().any():
        line = int(frame.index[flags.isna().to_numpy()][0])
        raise InputFormatError(
            f"column 'is_changed': expected True or False, found {frame.at[line, 'is_changed']!r}",
            path=path,
            line=line,
        )
    return frame.assign(is_changed=flags.astype(bool))


def _renamed(value: Any, hidden: str, shown: str) -> Any:
    """``value`` with every text naming ``hidden`` naming ``shown`` instead."""
    if isinstance(value, dict):
        return {k: _renamed(v, hidden, shown) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_renamed(v, hidden, shown) for v in value]
    if isinstance(value, str | Path) and hidden in str(value):
        return str(value).replace(hidden, shown)
    return value


def _join_qc(data: Any, options: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """diff --qc: join run QC metrics to the samples, leave out failed runs when asked."""
    if options["qc_table"] is None:
        if options["exclude_failed_runs"]:
            raise click.UsageError("--exclude-failed-runs needs --qc DIR/qc.tsv")
        return data, None
    from salivaprot.io.mzml import read_qc_table
    from salivaprot.qc import join_run_qc

    joined, excluded, notes = join_run_qc(
        data, read_qc_table(options["qc_table"]), exclude_failed=options["exclude_failed_runs"]
    )
    for note in notes:
        logger.warning("--qc: %s", note)
    for item in excluded:
        logger.warning("left out sample %s (run %s): %s", *item.values())
    return joined, {"excluded_runs": excluded, "notes": notes}


@main.command()
@_out_folder_option("Folder to write study.mzTab, samples.csv and truth.csv into")
@_force_option
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Random seed (0 or more).")  # fmt: skip
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
    out: str,
    force: bool,
    seed: int,
    n_proteins: int,
    subjects_per_arm: int,
    visits: list[str],
    arms: list[str],
    dropout: float,
    missing_fraction: float,
) -> None:  # fmt: skip
    """Write a seeded, realistic simulated trial (same seed, identical files)."""
    from salivaprot import _runtime
    from salivaprot.io._outputs import output_folder
    from salivaprot.simulate import simulate_trial

    _runtime.imports_done()
    with output_folder(out, force=force) as stage:
        trial = simulate_trial(
            seed=seed,
            n_proteins=n_proteins,
            subjects_per_arm=subjects_per_arm,
            visits=visits,
            arms=arms,
            dropout=dropout,
            missing_fraction=missing_fraction,
        )
        files = trial.write(stage)
    data = trial.data
    written = ", ".join(str(_shown(out) / p.name) for p in files.values())
    click.echo(
        f"wrote {written}: {data.n_samples} samples, "
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
    type=click.Path(file_okay=False),
    default="salivaprot-demo",
    show_default=True,
    help="Folder for summary.txt, diff/, figures/ and report.html (new or empty).",
)
@_force_option
@click.pass_context
def demo(ctx: click.Context, data_dir: Path, out: str, force: bool) -> None:
    """Run the main job on the bundled simulated study and write its outputs to OUT.

    Validates the study, then runs ``salivaprot diff`` (limma) into OUT/diff,
    compares the calls with the simulation's truth, draws the figures into
    OUT/figures and writes the report OUT/report.html.
    """
    from salivaprot.errors import InputFormatError
    from salivaprot.io._outputs import output_folder

    mztab, sheet = data_dir / "study.mzTab", data_dir / "samples.csv"
    bundled = mztab.exists() and sheet.exists()
    if mztab.exists() != sheet.exists():  # half a study: never swapped for a simulated one
        have, lack = (mztab, sheet) if mztab.exists() else (sheet, mztab)
        raise InputFormatError(
            f"--data {data_dir} holds {have.name} but no {lack.name}: give a folder with both, "
            "or one with neither (the demo then simulates its study)"
        )
    inputs = (
        [("data file", mztab), ("sample sheet", sheet), ("truth table", data_dir / "truth.csv")]
        if bundled
        else []
    )
    with output_folder(out, inputs=inputs, force=force) as stage:
        _demo_into(ctx, stage, _shown(out), mztab, sheet, data_dir, bundled)


def _demo_into(
    ctx: click.Context,
    stage: Path,
    shown: Path,
    mztab: Path,
    sheet: Path,
    data_dir: Path,
    bundled: bool,
) -> None:  # fmt: skip
    from salivaprot.io._files import atomic_write
    from salivaprot.io.study import load_study
    from salivaprot.simulate import demo_trial
    from salivaprot.summary import summarize

    if not bundled:
        if not ctx.obj.get("quiet"):
            click.echo(
                f"{data_dir} has no bundled study; simulating it into {shown / 'data'}", err=True
            )
        demo_trial().write(stage / "data")
        mztab, sheet = stage / "data" / "study.mzTab", stage / "data" / "samples.csv"
    truth_file = mztab.parent / "truth.csv"
    truth = _read_truth(truth_file) if truth_file.exists() else None  # (before the work)
    study = load_study(mztab, sheet)
    text = summarize(study.data, notes=study.notes).to_text()
    with atomic_write(stage / "summary.txt") as handle:
        handle.write(text + "\n")
    click.echo(text)
    click.echo(f"summary: {shown / 'summary.txt'}\n")
    ctx.meta["salivaprot.shown_out"] = shown / "diff"
    ctx.meta["salivaprot.staged"] = (stage, shown)
    ctx.invoke(diff_command, data=mztab, samples=sheet, out=str(stage / "diff"))
    if truth is not None:
        from salivaprot.io.results import read_results

        results = read_results(stage / "diff")
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
    from salivaprot.cli.figures_command import draw_figures_into, write_report

    svgs = draw_figures_into(stage / "diff", stage / "figures")
    write_report(stage / "diff", stage / "report.html", figures=svgs)
    click.echo(f"\n{len(svgs)} figures -> {shown / 'figures'}\nreport: {shown / 'report.html'}")
