"""Shared pieces of the command line: error handling, logging, options, progress."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from salivaprot._startup import leave_interrupted, stopped
from salivaprot.errors import SalivaprotError

if TYPE_CHECKING:
    from salivaprot.io.study import Study

logger = logging.getLogger("salivaprot")


EXIT_PROBLEMS = 1
EXIT_INTERNAL = 3
#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
#: Exit status when the reader of stdout went away (128 + SIGPIPE), said nowhere.
EXIT_BROKEN_PIPE = 141


def _say_stopped(err: KeyboardInterrupt) -> int:
    """Ctrl-C, SIGTERM or SIGHUP: its one line on stderr; the exit status (or exit now)."""
    said, status = stopped(err)
    click.echo(f"error: {said}", err=True)
    leave_interrupted(status)
    return status


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

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # Ctrl-C while parsing (eager options such as --version import the heavy
        # modules): the same one line and status as during a command, not "Aborted!"
        try:
            return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt as err:
            sys.exit(_say_stopped(err))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SalivaprotError as err:
            _report_problems(err.problems)
            ctx.exit(EXIT_PROBLEMS)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt as err:
            ctx.exit(_say_stopped(err))
        except BrokenPipeError:  # stdout closed by the reader (`salivaprot ... | head`)
            with contextlib.suppress(OSError, ValueError):  # (no more to say there)
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_BROKEN_PIPE)
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
                         ["auto", "mztab", "maxquant", "diann", "fragpipe", "spectronaut",
                          "matrix"]),
                     default="auto", show_default=True,
                     help="Input format (auto: recognized from the file's content)."),
        click.option("--quantity",
                     type=click.Choice(["auto", "lfq", "intensity", "ibaq", "reporter"]),
                     default="auto", show_default=True,
                     help="MaxQuant/FragPipe quantity (auto: TMT reporter ions, else LFQ, "
                     "else Intensity)."),
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


def _parse_species(value: str) -> int | None:
    if value.lower() == "all":
        return None
    if not value.isdigit():
        raise click.BadParameter(f"expected an NCBI taxonomy ID or 'all', not {value!r}",
                                 param_hint="--species")  # fmt: skip
    return int(value)


def _reference_list(
    ctx: click.Context, _param: click.Parameter, value: str | None
) -> list[str] | None:
    if value is None:
        return None
    if value.startswith("@"):
        from salivaprot.io._files import read_text

        path = Path(value[1:])
        ctx.meta["salivaprot.reference_file"] = path
        try:  # read_text refuses FIFOs and devices instead of blocking on them
            lines = read_text(path, what="protein list").splitlines()
        except SalivaprotError as err:
            raise click.BadParameter(err.problems[0]) from err
        items = [line.split("\t")[0].strip() for line in lines if line.strip()]
    else:
        items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise click.BadParameter("name at least one protein ID")
    return items


_scale_options = [
    click.option("--input-scale", type=click.Choice(["raw", "log2"]), default=None,
                 help="Scale of the input values (default: raw)."),
    click.option("--force-scale", is_flag=True,
                 help="Accept values that do not look like --input-scale (log2 above 50, "
                      "or raw with a 99th percentile below 40)."),
]  # fmt: skip


def _scale_check_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--input-scale`` and ``--force-scale`` alone (for ``validate``)."""
    for option in reversed(_scale_options):
        func = option(func)
    return func


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
        *_scale_options,
        click.option("--normalize", "normalize_method",
                     type=click.Choice(["median", "quantile", "total", "reference", "irs",
                                        "none"]),
                     default="median", show_default=True,
                     help="irs: TMT internal reference scaling across plexes through the "
                          "sheet's reference_channel samples (after median)."),
        click.option("--exclude-top", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Leave the N most abundant proteins out of median/total factors."),
        click.option("--reference-proteins", callback=_reference_list, metavar="IDS|@FILE",
                     help="Protein IDs for --normalize reference (comma list or @file)."),
        click.option("--impute", "impute_method",
                     type=click.Choice(["none", "minprob", "min", "knn"]),
                     default="none", show_default=True),
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Seed of random steps (minprob imputation); 0 or more."),
        click.option("--scale", type=click.Choice(["concentration", "output"]),
                     default="concentration", show_default=True,
                     help="output = concentration x flow (x total protein when given)."),
        click.option("--allow-mixed-saliva", is_flag=True,
                     help="Allow unstimulated and stimulated saliva in one analysis."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _out_folder_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--out``/``-o``: a required output folder, written as a whole (see ``--force``)."""
    return click.option(
        "--out",
        "-o",
        required=True,
        type=click.Path(file_okay=False),
        help=f"{help} (new or empty).",
    )


def _force_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--force``: let a run replace an output folder that has content, as a whole."""
    return click.option(
        "--force",
        is_flag=True,
        help="Replace the contents of a non-empty output folder as a whole "
        "(the new outputs are staged and swapped in; the old ones go only then).",
    )(func)


def _inputs(
    ctx: click.Context, data: Path, options: dict[str, Any]
) -> list[tuple[str, Path | None]]:
    """Every input file of a run, by role, for the output-folder checks."""
    return [
        ("data file", data),
        ("sample sheet", options.get("samples")),
        ("contrasts file", options.get("contrasts_file")),
        ("reference-protein file", ctx.meta.get("salivaprot.reference_file")),
        ("QC table", options.get("qc_table")),
    ]


def _one_reading_each(inputs: Sequence[tuple[str, Path | None]]) -> None:
    """Refuse one stream (stdin, a pipe) given as two inputs: it can be read only once."""
    from salivaprot.errors import InputFormatError
    from salivaprot.io._files import repeated_streams

    problems = repeated_streams(inputs)
    if problems:
        raise InputFormatError(problems)


def _shown(out: str) -> Path:
    """The output folder as the user named it, for messages."""
    return Path(out)


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the user gave option ``name`` (on the command line or in the environment).

    A default, or a value ``ctx.invoke`` fills in (the demo's ``diff``), is not given.
    """
    from click.core import ParameterSource

    source = ctx.get_parameter_source(name)
    defaults = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    return source is not None and source not in defaults


#: Options of the protein filter, which ``--no-filter`` turns off (parameter name, option).
_FILTER_OPTIONS = (
    ("min_fraction", "--min-fraction"),
    ("groups", "--in"),
    ("species_option", "--species"),
    ("exclude_pattern", "--exclude-pattern"),
)


def _refuse_ignored_options(ctx: click.Context, options: dict[str, Any]) -> None:
    """Refuse options the user gave that the other options make ineffective.

    Such an option would be accepted, do nothing and still be recorded in
    ``run.json`` as a parameter of the run. Only options the user gave count
    (:func:`_given`), so defaults never trigger a refusal. Checks the options
    the command has: ``validate``, ``preprocess`` and ``diff`` share some.

    Raises
    ------
    DataError
        One problem per ineffective option, each naming the option that decides.
    """
    from salivaprot.errors import DataError
    from salivaprot.preprocess.transforms import EXCLUDE_TOP_METHODS

    def given(name: str) -> bool:
        return name in options and _given(ctx, name)

    problems = []
    if given("keep_zeros") and options.get("input_scale") == "log2":
        problems.append(
            "--keep-zeros has no effect with --input-scale log2 (zeros are values on the log2 "
            "scale, never read as missing): leave --keep-zeros out"
        )
    if options.get("no_filter"):
        problems.extend(
            f"{flag} has no effect with --no-filter (it is a rule of the protein filter, "
            f"which --no-filter turns off): leave one of them out"
            for name, flag in _FILTER_OPTIONS
            if given(name)
        )
    method = options.get("normalize_method")
    if given("exclude_top") and method not in EXCLUDE_TOP_METHODS:
        problems.append(
            f"--exclude-top has no effect with --normalize {method} (it leaves dominant "
            "proteins out of the median and total factors only): leave it out, or use "
            "--normalize median or total"
        )
    if given("reference_proteins") and method != "reference":
        problems.append(
            f"--reference-proteins has no effect with --normalize {method} (it names the "
            "proteins of --normalize reference): add --normalize reference, or leave it out"
        )
    impute = options.get("impute_method")
    if given("seed") and impute != "minprob":
        problems.append(
            f"--seed has no effect with --impute {impute} (only --impute minprob is random): "
            "leave it out"
        )
    if given("use_imputed") and impute == "none":
        problems.append(
            "--use-imputed has no effect with --impute none (no value is imputed): "
            "add --impute minprob, min or knn, or leave it out"
        )
    model = options.get("method")
    if model is not None and model != "limma":
        limma_only = (
            ("correlation", "--correlation"),
            ("dupcor_method", "--dupcor"),
            ("contrast_se", "--contrast-se"),
        )
        problems.extend(
            f"{flag} applies to --method limma, not {model}: leave it out"
            for name, flag in limma_only
            if given(name)
        )
    elif given("dupcor_method") and options.get("correlation") is not None:
        problems.append(
            "--dupcor has no effect with --correlation (the within-subject correlation is "
            "given, not estimated): leave one of them out"
        )
    if problems:
        raise DataError(problems)


def _preprocess_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """Map CLI option values to :func:`salivaprot.preprocess.preprocess` keywords."""
    return {
        "filter": not options["no_filter"],
        "patterns": tuple(options["exclude_pattern"]),
        "species": _parse_species(options["species_option"]),
        "min_fraction": options["min_fraction"],
        "groups": options["groups"],
        "input_scale": options["input_scale"],
        "check_scale": not options["force_scale"],
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
    from salivaprot import _runtime
    from salivaprot.io.study import load_study

    _runtime.imports_done()
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


def _read_contrast_file(path: Path | None) -> dict[str, dict[str, float]] | None:
    """Custom contrasts from YAML: ``name: {"ARM:VISIT": weight}``, maybe under ``contrasts:``."""
    if path is None:
        return None
    from salivaprot.errors import InputFormatError
    from salivaprot.io._files import read_text
    from salivaprot.io._yaml import load_yaml

    text = read_text(path, what="contrasts file")
    content = load_yaml(
        text, path=path, repeated="give each contrast, and each cell of a contrast, once"
    )
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
