"""Results folders for the figure and report tests: one from the simulator, and
derived ones for the empty states (no significant protein, a single visit, a
contrast missing) and for an older or foreign folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from salivaprot.cli import main
from salivaprot.simulate import simulate_trial


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def make_results(folder: Path, *, impute: str = "minprob") -> Path:
    """Simulate a small trial and run ``salivaprot diff`` on it into ``folder/diff``."""
    trial = simulate_trial(seed=11, n_proteins=80, subjects_per_arm=4, dropout=0.25)
    files = trial.write(folder / "study")
    code, _, err = run(
        "--quiet",
        "diff",
        str(files["mztab"]),
        "--samples",
        str(files["samples"]),
        "--out",
        str(folder / "diff"),
        "--impute",
        impute,
        "--min-fraction",
        "0.3",
    )
    assert code == 0, err
    return folder / "diff"


def copy_folder(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def results_table(folder: Path) -> pd.DataFrame:
    return pd.read_csv(
        folder / "results.tsv",
        sep="\t",
        keep_default_na=False,
        na_values={c: [""] for c in ("log2fc", "se", "stat", "df", "pvalue", "padj", "avg_log2")},
    )


def write_results_table(frame: pd.DataFrame, folder: Path) -> None:
    frame.to_csv(folder / "results.tsv", sep="\t", index=False, lineterminator="\n")


def no_significant(source: Path, target: Path) -> Path:
    folder = copy_folder(source, target)
    table = results_table(folder)
    table["padj"] = table["padj"].where(table["padj"].isna(), 1.0)
    write_results_table(table, folder)
    return folder


def single_visit(source: Path, target: Path) -> Path:
    """Only the baseline samples, the baseline contrast, and a one-visit design."""
    folder = copy_folder(source, target)
    samples = pd.read_csv(folder / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    keep = samples[samples["visit"] == "baseline"]
    keep.to_csv(folder / "samples.tsv", sep="\t", index=False, lineterminator="\n")
    for name in ("matrix.tsv", "matrix_before_normalization.tsv", "imputed.tsv"):
        if (folder / name).exists():
            matrix = pd.read_csv(folder / name, sep="\t", index_col=0)
            matrix[list(keep["sample_id"])].to_csv(folder / name, sep="\t", lineterminator="\n")
    table = results_table(folder)
    write_results_table(table[table["contrast"].str.endswith("_at_baseline")], folder)
    run_record = json.loads((folder / "run.json").read_text())
    run_record["model"]["design"]["visits"] = ["baseline"]
    run_record["model"]["contrasts"] = [
        c for c in run_record["model"]["contrasts"] if c.endswith("_at_baseline")
    ]
    (folder / "run.json").write_text(json.dumps(run_record))
    return folder


def without_contrast(source: Path, target: Path, pattern: str = "_change_") -> Path:
    """Results without the change contrasts (the primary estimand is missing)."""
    folder = copy_folder(source, target)
    table = results_table(folder)
    write_results_table(table[~table["contrast"].str.contains(pattern)], folder)
    return folder


def without_column(source: Path, target: Path, column: str = "se") -> Path:
    folder = copy_folder(source, target)
    write_results_table(results_table(folder).drop(columns=[column]), folder)
    return folder


def older_folder(source: Path, target: Path) -> Path:
    """A folder from before figures existed: no matrix before normalization, no flow."""
    folder = copy_folder(source, target)
    for name in ("matrix_before_normalization.tsv", "sample_flow.tsv", "imputed.tsv"):
        (folder / name).unlink(missing_ok=True)
    return folder


#: Labels that matplotlib would read as math: an unknown symbol, a superscript, a lone dollar.
MARKUP_GENES = ("$x^2$", r"$\foo$")
MARKUP_ID = r"P$\foo$"


def _top_proteins(table: pd.DataFrame, n: int) -> list[str]:
    primary = table[table["contrast"] == "aMSC_vs_placebo_change_month4"]
    return list(primary.sort_values(["pvalue", "protein_id"])["protein_id"].head(n))


def _rename_protein(folder: Path, table: pd.DataFrame, old: str, new: str) -> None:
    """Give protein ``old`` the ID ``new`` (gene unknown) in every table of the folder."""
    table.loc[table["protein_id"] == old, "gene"] = ""
    table["protein_id"] = table["protein_id"].replace({old: new})
    write_results_table(table, folder)
    for name in ("matrix.tsv", "matrix_before_normalization.tsv", "imputed.tsv"):
        if (folder / name).exists():
            matrix = pd.read_csv(folder / name, sep="\t", index_col=0)
            matrix.rename(index={old: new}).to_csv(folder / name, sep="\t", lineterminator="\n")


def with_markup(source: Path, target: Path) -> Path:
    """The three top proteins of the primary contrast named with matplotlib math markup:
    two by their gene, one by its protein ID (gene unknown)."""
    folder = copy_folder(source, target)
    table = results_table(folder)
    top = _top_proteins(table, 3)
    for protein, gene in zip(top, MARKUP_GENES, strict=False):
        table.loc[table["protein_id"] == protein, "gene"] = gene
    _rename_protein(folder, table, top[2], MARKUP_ID)
    return folder


#: A protein group of many accessions: a 400-character protein ID.
LONG_ID = "A" * 20 + "Q" * 367 + "Z" * 13


def with_long_id(source: Path, target: Path) -> Path:
    """The top protein of the primary contrast has a 400-character ID (gene unknown)."""
    folder = copy_folder(source, target)
    table = results_table(folder)
    _rename_protein(folder, table, _top_proteins(table, 1)[0], LONG_ID)
    return folder
