"""salivaprot figures: the standard set from a results folder, specs, byte-identical
regeneration, empty states, clear errors for foreign folders, and baseline images."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salivaprot.figures import draw, read_spec, standard_specs
from salivaprot.io.results_folder import read_results_folder

from .figure_fixtures import (
    LONG_ID,
    MARKUP_GENES,
    MARKUP_ID,
    make_results,
    no_significant,
    older_folder,
    run,
    single_visit,
    with_long_id,
    with_markup,
    without_column,
    without_contrast,
)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = Path(__file__).resolve().parent / "baseline"


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results(tmp_path_factory.mktemp("figures"))


@pytest.fixture(scope="session")
def figures_dir(results_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard set in every format, drawn once (in process) for several tests."""
    out = tmp_path_factory.mktemp("standard") / "figs"
    code, stdout, err = run("figures", str(results_dir), "--out", str(out))
    assert code == 0, err
    assert "figures (pdf, svg, png)" in stdout
    return out


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def figure_texts(folder: Path, name: str) -> str:
    """All text drawn in a figure (from its SVG, where glyphs are paths: use the PDF-free route)."""
    spec = next(s for s in standard_specs(read_results_folder(folder)) if s.name == name)
    fig = draw(read_results_folder(folder), spec)
    return "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))


def test_diff_writes_what_figures_need(results_dir: Path) -> None:
    names = {p.name for p in results_dir.iterdir()}
    assert {"matrix_before_normalization.tsv", "imputed.tsv", "sample_flow.tsv"} <= names
    folder = read_results_folder(results_dir)
    assert folder.arms == ["placebo", "aMSC"] and folder.visits == ["baseline", "month1", "month4"]
    assert folder.before is not None and folder.before.shape == folder.matrix.shape
    assert folder.imputed is not None and bool(folder.imputed.to_numpy().any())
    # imputed cells are missing before normalization; measured ones differ by the sample offset
    assert bool(folder.before.isna().to_numpy()[folder.imputed.to_numpy()].all())
    flow = folder.flow
    assert flow is not None and flow["step"].iloc[0] == "subjects"
    assert flow["count"].iloc[-1] == len(folder.samples)
    assert folder.notes == []


def test_standard_set_draws_every_kind(results_dir: Path, figures_dir: Path) -> None:
    files = sorted(p.name for p in figures_dir.iterdir())
    kinds = {s.kind for s in standard_specs(read_results_folder(results_dir))}
    assert kinds == {"volcano", "pca", "correlation", "heatmap", "trajectory", "forest", "qc"}
    for stem in (
        "pca",
        "sample_correlation",
        "heatmap_significant",
        "trajectories_top",
        "forest_top",
        "forest_top_protein",
        "qc",
        "volcano_aMSC_vs_placebo_change_month4",
    ):
        assert {f"{stem}.pdf", f"{stem}.svg", f"{stem}.png"} <= set(files), stem
    assert not any(name.startswith("volcano_aMSC_vs_placebo_change_any") for name in files)
    png = (figures_dir / "pca.png").read_bytes()
    assert png.startswith(b"\x89PNG") and b"pHYs" in png  # 300 dpi recorded
    pdf = (figures_dir / "pca.pdf").read_bytes()
    assert b"/FontFile2" in pdf  # TrueType fonts embedded (pdf.fonttype 42)
    assert b"CreationDate" not in pdf and b"matplotlib" not in pdf.lower()
    svg = (figures_dir / "pca.svg").read_text()
    assert "<dc:date>" not in svg and "<text" not in svg  # glyphs as paths, no date


def test_png_is_300_dpi_at_journal_width(figures_dir: Path) -> None:
    from matplotlib.image import imread

    assert imread(figures_dir / "forest_top.png").shape[1] == round(89 / 25.4 * 300)
    assert imread(figures_dir / "pca.png").shape[1] == round(183 / 25.4 * 300)


def test_regeneration_is_byte_identical(
    results_dir: Path, figures_dir: Path, tmp_path: Path
) -> None:
    """A second run, in another process with another hash seed, gives the same bytes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "123"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "salivaprot",
            "--quiet",
            "figures",
            str(results_dir),
            "--out",
            str(tmp_path / "two"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first, second = digests(figures_dir), digests(tmp_path / "two")
    assert len(first) >= 3 * 10
    assert first == second


def test_spec_draws_the_figures_it_lists(results_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "figures.yaml"
    spec.write_text(
        "figures:\n"
        "  - name: volcano_m4\n    kind: volcano\n    contrast: aMSC_vs_placebo_change_month4\n"
        "    proteins: [AMY1A]\n    size: single\n"
        "  - name: panel\n    kind: forest\n    contrast: aMSC_vs_placebo_change_month4\n"
        "    proteins: [AMY1A, CST1]\n    size: [120, 60]\n"
        "  - name: amylase\n    kind: trajectory\n    proteins: [AMY1A]\n"
        "  - name: every_contrast\n    kind: forest\n    proteins: [AMY1A]\n"
        "  - name: chosen\n    kind: heatmap\n    proteins: [AMY1A, CST1, CST4]\n"
        "  - name: nowhere\n    kind: volcano\n    contrast: not_a_contrast\n"
    )
    code, _, err = run(
        "figures",
        str(results_dir),
        "--out",
        str(tmp_path / "out"),
        "--spec",
        str(spec),
        "--format",
        "svg",
    )
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{n}.svg"
        for n in ("volcano_m4", "panel", "amylase", "every_contrast", "chosen", "nowhere")
    )
    specs = read_spec(spec)
    assert specs[1].size == (120.0, 60.0) and specs[0].size is not None
    folder = read_results_folder(results_dir)
    texts = "\n".join(
        t.get_text() for t in draw(folder, specs[-1]).findobj(lambda a: hasattr(a, "get_text"))
    )
    assert "Contrast 'not_a_contrast' is not in this results folder" in texts


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("figures:\n  - name: a\n    kind: pie\n", "kind 'pie' is not one of"),
        ("figures:\n  - name: a b\n    kind: pca\n", "must be a file stem"),
        ("figures:\n  - name: a\n    kind: pca\n    colour: red\n", "unknown key(s) ['colour']"),
        ("figures:\n  - name: a\n    kind: pca\n  - name: a\n    kind: qc\n", "must be unique"),
        ("figures:\n  - name: a\n    kind: pca\n    size: huge\n", "size must be single"),
        ("figures: [\n", "not valid YAML"),
    ],
)
def test_bad_specs_are_refused_clearly(
    results_dir: Path, tmp_path: Path, content: str, message: str
) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(content)
    code, _, err = run(
        "figures", str(results_dir), "--out", str(tmp_path / "out"), "--spec", str(spec)
    )
    assert code == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "figures:\n  - {name: p, kind: pca, contrast: NOPE}\n",
            "figure 1 ('p', pca): contrast is not used by a pca figure; "
            "a pca figure takes name, kind, size",
        ),
        (
            "figures:\n  - {name: a, kind: pca}\n  - {name: c, kind: correlation, proteins: [X]}\n",
            "figure 2 ('c', correlation): proteins is not used by a correlation figure",
        ),
        ("[{name: q, kind: qc, contrast: NOPE}]", "contrast is not used by a qc figure"),
        ("[{name: r, kind: run_qc, proteins: [A]}]", "proteins is not used by a run_qc figure"),
        (
            "[{name: h, kind: heatmap, contrast: NOPE, proteins: [AMY1A]}]",
            "figure 1 ('h', heatmap): give proteins or contrast, not both",
        ),
        (
            "figures:\n  - {name: a, kind: pca}\nformats: [svg]\nextra_top: 1\n",
            "unknown top-level key(s) ['extra_top', 'formats']; a spec holds only 'figures:'",
        ),
        ("[{name: a, name: b, kind: pca}]", "'name' is given twice in one mapping (one line)"),
        (
            "figures:\n  - name: a\n    kind: pca\n    kind: qc\n",
            "line 4: 'kind' is given twice in one mapping (lines 3 and 4)",
        ),
        (
            "[{name: t, kind: trajectory, proteins: [AMY1A, null, 1, {a: b}]}]",
            "figure 1 ('t', trajectory): proteins must be protein IDs or gene names (text), "
            "not None, 1, {'a': 'b'}",
        ),
        (
            "[{name: v, kind: volcano, contrast: [x, y]}]",
            "figure 1 ('v', volcano): contrast must be one contrast name (text), not ['x', 'y']",
        ),
        ("[{name: v, kind: volcano, contrast: 5}]", "contrast must be one contrast name (text)"),
        (
            "[{name: " + "a" * 101 + ", kind: pca}]",
            "name is 101 characters long; at most 100",
        ),
        # an empty panel was read as no panel: a heatmap drew a contrast's proteins instead
        ("[{name: h, kind: heatmap, proteins: []}]", "figure 1 ('h', heatmap): proteins is empty"),
        ("[{name: t, kind: trajectory, proteins: ''}]", "proteins is empty; list protein IDs"),
        ("[{name: f, kind: forest, proteins: }]", "figure 1 ('f', forest): proteins is empty"),
    ],
)
def test_spec_options_that_would_be_ignored_are_refused(
    results_dir: Path, tmp_path: Path, content: str, message: str
) -> None:
    """Nothing in a spec is ignored without a word: an option a kind does not use, a key
    given twice, a top-level key beside figures:, a protein or contrast that is not text."""
    spec = tmp_path / "bad.yaml"
    spec.write_text(content)
    code, _, err = run(
        "figures", str(results_dir), "--out", str(tmp_path / "out"), "--spec", str(spec)
    )
    assert code == 1 and "Traceback" not in err, err
    assert message in err and str(spec) in err, err
    assert not (tmp_path / "out").exists()


def test_a_gene_naming_several_protein_groups_is_not_guessed(
    results_dir: Path, tmp_path: Path
) -> None:
    # the first group with the gene was drawn, without a word
    import shutil

    folder = tmp_path / "diff"
    shutil.copytree(results_dir, folder)
    results = pd.read_csv(folder / "results.tsv", sep="\t")
    first, second = results["protein_id"].drop_duplicates().iloc[:2]
    results.loc[results["protein_id"].isin([first, second]), "gene"] = "TWOGROUPS"
    results.to_csv(folder / "results.tsv", sep="\t", index=False)
    (folder / "results.parquet").unlink(missing_ok=True)
    spec = tmp_path / "spec.yaml"
    spec.write_text("figures:\n  - {name: h, kind: heatmap, proteins: [TWOGROUPS]}\n")
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "out"), "--spec", str(spec))
    assert code == 1, err
    assert (
        f"figure 1 ('h', heatmap): gene 'TWOGROUPS' names 2 protein groups ({first}, {second}); "
        "name the one to draw by its protein ID"
    ) in err
    spec.write_text(f"figures:\n  - {{name: h, kind: heatmap, proteins: [{first}]}}\n")
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "out"), "--spec", str(spec))
    assert code == 0, err


def test_spec_names_what_the_results_folder_lacks(results_dir: Path, tmp_path: Path) -> None:
    """Unknown proteins, a trajectory's unknown contrast and a forest of a joint test are
    refused (every one at once, before any figure is drawn), not dropped or drawn empty."""
    from salivaprot.errors import InputFormatError
    from salivaprot.figures import FigureSpec

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "figures:\n"
        "  - {name: h, kind: heatmap, proteins: [AMY1A, BOGUS1, CST1]}\n"
        "  - {name: f, kind: forest, contrast: aMSC_vs_placebo_change_month4,"
        " proteins: [AMY1A, BOGUS2]}\n"
        "  - {name: v, kind: volcano, contrast: aMSC_vs_placebo_change_month4,"
        " proteins: [BOGUS3, AMY1A]}\n"
        "  - {name: t, kind: trajectory, contrast: NOPE, proteins: [AMY1A]}\n"
        "  - {name: t2, kind: trajectory, contrast: NOPE}\n"
        "  - {name: t3, kind: trajectory, proteins: [BOGUS4]}\n"
        "  - {name: fF, kind: forest, contrast: aMSC_vs_placebo_change_any}\n"
        "  - {name: f1, kind: forest, proteins: [BOGUS5]}\n"
        "  - {name: ok, kind: pca}\n"
    )
    code, _, err = run(
        "figures", str(results_dir), "--out", str(tmp_path / "out"), "--spec", str(spec)
    )
    assert code == 1 and "Traceback" not in err, err
    unknown = "not in this results folder (proteins are named by protein ID or gene)"
    for expected in (
        f"figure 1 ('h', heatmap): {unknown}: ['BOGUS1']",
        f"figure 2 ('f', forest): {unknown}: ['BOGUS2']",
        f"figure 3 ('v', volcano): {unknown}: ['BOGUS3']",
        "figure 4 ('t', trajectory): contrast 'NOPE' is not in this results folder; "
        "contrasts: aMSC_vs_placebo_change_month1, ",
        "figure 5 ('t2', trajectory): contrast 'NOPE' is not in this results folder",
        f"figure 6 ('t3', trajectory): {unknown}: ['BOGUS4']",
        "figure 7 ('fF', forest): contrast 'aMSC_vs_placebo_change_any' is a joint test of "
        "several contrasts, without log2fc; forest plots need a single contrast",
        f"figure 8 ('f1', forest): {unknown}: ['BOGUS5']",
    ):
        assert expected in err, (expected, err)
    assert "'ok'" not in err
    assert not (tmp_path / "out").exists()
    # the library refuses the same, figure by figure
    folder = read_results_folder(results_dir)
    with pytest.raises(InputFormatError, match=r"figure 'x' \(forest\): .*\['BOGUS'\]"):
        draw(folder, FigureSpec("x", "forest", proteins=("BOGUS",)))


def test_format_option_is_checked(results_dir: Path, tmp_path: Path) -> None:
    code, _, err = run("figures", str(results_dir), "--out", str(tmp_path), "--format", "tiff")
    assert code == 2 and "unknown: tiff" in err


def test_no_significant_protein_draws_empty_states(results_dir: Path, tmp_path: Path) -> None:
    folder = no_significant(results_dir, tmp_path / "none")
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "figs"), "--format", "png")
    assert code == 0, err
    texts = figure_texts(folder, "heatmap_significant")
    assert "No protein with padj < 0.05" in texts
    assert "No protein at FDR < 0.05" in figure_texts(
        folder, "volcano_aMSC_vs_placebo_change_month4"
    )
    assert "none has padj < 0.05" in figure_texts(folder, "trajectories_top")


def test_single_visit_draws_with_a_message(results_dir: Path, tmp_path: Path) -> None:
    folder = single_visit(results_dir, tmp_path / "single")
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "figs"), "--format", "png")
    assert code == 0, err
    assert read_results_folder(folder).visits == ["baseline"]
    assert "single visit" in figure_texts(folder, "trajectories_top")


def test_missing_primary_contrast_still_draws(results_dir: Path, tmp_path: Path) -> None:
    folder = without_contrast(results_dir, tmp_path / "nochange")
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "figs"), "--format", "png")
    assert code == 0, err
    # the primary estimand is gone: figures fall back to the first contrast with estimates
    assert "aMSC_vs_placebo_at_baseline" in figure_texts(folder, "forest_top")


def test_contrast_free_folder_draws_empty_states(results_dir: Path, tmp_path: Path) -> None:
    folder = without_contrast(results_dir, tmp_path / "nothing", pattern="_")
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "figs"), "--format", "png")
    assert code == 0, err
    assert "No contrast with estimates" in figure_texts(folder, "heatmap_significant")


def test_older_folder_draws_and_says_what_is_missing(results_dir: Path, tmp_path: Path) -> None:
    folder = older_folder(results_dir, tmp_path / "old")
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "figs"), "--format", "png")
    assert code == 0, err
    assert "no matrix_before_normalization.tsv" in err
    assert "No matrix before normalization" in figure_texts(folder, "pca")


def test_labels_with_math_markup_are_drawn_literally(results_dir: Path, tmp_path: Path) -> None:
    """A gene or protein ID such as $x^2$ or P$\\foo$ is text, not matplotlib math: drawn as
    written (not as x squared), and never a crash ('Unknown symbol')."""
    from matplotlib.text import Text

    folder = with_markup(results_dir, tmp_path / "markup")
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "figs"), "--format", "svg")
    assert code == 0, err
    code, _, err = run("report", str(folder), "--out", str(tmp_path / "report.html"))
    assert code == 0, err
    loaded = read_results_folder(folder)
    seen: set[str] = set()
    for spec in standard_specs(loaded):
        fig = draw(loaded, spec)
        for text in fig.findobj(Text):
            found = {m for m in (*MARKUP_GENES, MARKUP_ID) if m in text.get_text()}
            if found:
                seen |= found
                assert not text.get_parse_math(), (spec.name, text.get_text())
    assert seen == {*MARKUP_GENES, MARKUP_ID}


def test_a_very_long_protein_id_is_shortened_in_every_figure(
    results_dir: Path, tmp_path: Path
) -> None:
    """A 400-character protein ID (a protein group) is drawn as its first 26 and last 13
    characters around an ellipsis, so no figure cuts labels or collapses its axes (a
    warning, an error in the tests)."""
    from matplotlib.text import Text

    from salivaprot.figures import FigureSpec
    from salivaprot.plot import to_bytes

    folder = read_results_folder(with_long_id(results_dir, tmp_path / "long"))
    short = LONG_ID[:26] + "…" + LONG_ID[-13:]
    shown = set()
    panels = [  # (no protein is significant in this small study: a panel shows it)
        FigureSpec("v", "volcano", proteins=(LONG_ID,)),
        FigureSpec("h", "heatmap", proteins=(LONG_ID, "AMY1A", "CST1")),
    ]
    for spec in [*standard_specs(folder), *panels]:
        fig = draw(folder, spec)
        to_bytes(fig, "png")
        for text in fig.findobj(Text):
            assert "Q" * 41 not in text.get_text(), spec.name
            if short in text.get_text():
                shown.add(spec.kind)
    assert shown == {"volcano", "heatmap", "trajectory", "forest"}


@pytest.mark.parametrize("column", ["se", "padj", "contrast"])
def test_missing_column_is_a_clear_error(results_dir: Path, tmp_path: Path, column: str) -> None:
    folder = without_column(results_dir, tmp_path / "foreign", column)
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "figs"))
    assert code == 1 and "Traceback" not in err
    assert f"missing column {column}" in err and "results.tsv" in err
    assert not (tmp_path / "figs").exists()


def test_design_order_comes_from_run_json(results_dir: Path, tmp_path: Path) -> None:
    import json
    import shutil

    folder = Path(shutil.copytree(results_dir, tmp_path / "reordered"))
    record = json.loads((folder / "run.json").read_text())
    record["model"]["design"]["arms"] = ["placebo"]  # aMSC is in samples.tsv but not here
    (folder / "run.json").write_text(json.dumps(record))
    code, _, err = run("figures", str(folder), "--out", str(tmp_path / "figs"))
    assert code == 1 and "names arms or visits that run.json's design does not" in err
    assert str(folder) in err
    del record["model"]["design"]
    (folder / "run.json").write_text(json.dumps(record))
    loaded = read_results_folder(folder)
    samples = pd.read_csv(folder / "samples.tsv", sep="\t")
    assert loaded.arms == list(dict.fromkeys(samples["arm"]))  # first appearance, not sorted
    assert any("order they first appear in samples.tsv" in n for n in loaded.notes)


def test_figures_folder_is_written_as_a_whole(results_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "figs"
    out.mkdir()
    (out / "old.txt").write_text("an earlier run")
    spec = tmp_path / "one.yaml"
    spec.write_text("figures:\n  - name: flow\n    kind: qc\n")
    args = ["figures", str(results_dir), "--out", str(out), "--spec", str(spec), "--format", "svg"]
    code, _, err = run(*args)
    assert code == 1 and "is not empty" in err and "--force" in err
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]
    code, _, err = run(*args, "--force")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["flow.svg"]  # replaced as a whole
    code, _, err = run("figures", str(results_dir), "--out", str(results_dir), "--force")
    assert code == 1 and "holds the results folder" in err


def test_figures_out_inside_the_results_folder_is_refused(
    results_dir: Path, tmp_path: Path
) -> None:
    """As for report: inputs are never modified, so no figures folder inside the results folder
    (by its name or through a symbolic link), and nothing is written there."""
    import shutil

    results = Path(shutil.copytree(results_dir, tmp_path / "diff"))
    (tmp_path / "link").symlink_to(results)
    before = sorted(p.name for p in results.iterdir())
    for out in (results / "figs", results / "a" / "b", tmp_path / "link" / "figs"):
        code, _, err = run("figures", str(results), "--out", str(out), "--force")
        assert code == 1 and "Traceback" not in err, err
        assert f"--out {out} is inside the results folder {results}" in err
        assert "inputs are never modified" in err
    assert sorted(p.name for p in results.iterdir()) == before


def test_not_a_results_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run("figures", str(tmp_path / "empty"), "--out", str(tmp_path / "figs"))
    assert code == 1 and "has no results.tsv" in err
    code, _, err = run("figures", str(tmp_path / "absent"), "--out", str(tmp_path / "figs"))
    assert code == 1 and "results folder not found" in err


def test_run_qc_panels_only_with_a_qc_table(results_dir: Path, tmp_path: Path) -> None:
    folder = read_results_folder(results_dir)
    assert "run_qc" not in {s.name for s in standard_specs(folder)}
    qc = tmp_path / "qc.tsv"
    runs = list(folder.samples.index)
    pd.DataFrame(
        {
            "run": runs,
            "tic_total": np.linspace(1e9, 2e9, len(runs)),
            "n_ms2": np.arange(len(runs)) + 1000,
        }
    ).to_csv(qc, sep="\t", index=False)
    code, _, err = run(
        "figures",
        str(results_dir),
        "--out",
        str(tmp_path / "figs"),
        "--qc",
        str(qc),
        "--format",
        "png",
    )
    assert code == 0, err
    assert (tmp_path / "figs" / "run_qc.png").exists()
    # with a flag column, the sample flow counts the runs passing QC
    flags = pd.read_csv(qc, sep="\t").assign(flagged=[True] + [False] * (len(runs) - 1))
    flags.to_csv(qc, sep="\t", index=False)
    from salivaprot.figures import FigureSpec

    fig = draw(read_results_folder(results_dir, qc=qc), FigureSpec("qc", "qc"))
    flow_ax = next(ax for ax in fig.axes if ax.get_title() == "Sample flow")
    labels = [t.get_text() for t in flow_ax.get_yticklabels()]
    assert labels[-2:] == ["runs passing QC", "samples analysed"]
    assert f" {len(runs) - 1}" in [t.get_text() for t in flow_ax.texts]


def test_diff_with_run_qc_feeds_the_qc_figures(tmp_path: Path) -> None:
    """diff --qc joins run QC to samples.tsv: the folder alone then draws TIC/MS2 per run,
    and the sample flow counts the runs passing QC (one excluded, one failing but kept)."""
    from salivaprot.figures import FigureSpec
    from salivaprot.simulate import simulate_trial

    trial = simulate_trial(seed=11, n_proteins=80, subjects_per_arm=4, dropout=0.25)
    files = trial.write(tmp_path / "study")
    sheet = pd.read_csv(files["samples"])
    runs = sheet["run"] if "run" in sheet.columns else sheet["sample_id"]
    n = len(runs)
    qc = pd.DataFrame(
        {
            "run": runs,
            "n_ms2": np.arange(n) + 20000,
            "tic_total": np.linspace(1e10, 2e10, n),
            "qc_pass": [True] * n,
            "qc_reasons": [""] * n,
        }
    )
    qc.loc[0, ["qc_pass", "qc_reasons"]] = [False, "n_ms2 low outlier"]
    qc.loc[1, ["qc_pass", "qc_reasons"]] = [False, "tic_total low outlier"]
    qc_file = tmp_path / "qc.tsv"
    qc.to_csv(qc_file, sep="\t", index=False)
    for exclude, name in ((["--exclude-failed-runs"], "excluded"), ([], "kept")):
        code, _, err = run(
            "--quiet",
            "diff",
            str(files["mztab"]),
            "--samples",
            str(files["samples"]),
            "--qc",
            str(qc_file),
            *exclude,
            "--min-fraction",
            "0.3",
            "--out",
            str(tmp_path / name),
        )
        assert code == 0, err
        folder = read_results_folder(tmp_path / name)
        assert folder.qc is not None and {"run", "tic_total", "n_ms2"} <= set(folder.qc.columns)
        assert "run_qc" in {s.name for s in standard_specs(folder)}
        flow = dict(zip(folder.flow["step"], folder.flow["count"], strict=True))  # type: ignore[index]
        assert flow["runs passing QC"] == flow["samples with data"] - 2
        fig = draw(folder, FigureSpec("run_qc", "run_qc"))
        tic = next(ax for ax in fig.axes if ax.get_title() == "Total ion current per run")
        assert len(tic.patches) == len(folder.samples)
        colors = [tuple(p.get_facecolor()) for p in tic.patches]
        assert len(set(colors)) == (1 if exclude else 2)  # failed runs kept are flagged
    excluded = read_results_folder(tmp_path / "excluded")
    kept = read_results_folder(tmp_path / "kept")
    assert len(excluded.samples) == len(kept.samples) - 2


# ----------------------------------------------------------------------------- baseline images
# Small PNGs of fixed synthetic data (not the simulator: a change in the statistics must not
# move them). Compared by RMS difference: anti-aliasing is tolerated, content is not.
# Regenerate with SALIVAPROT_UPDATE_BASELINE=1 after an intended change, and look at them.

BASELINE_DPI = 60
TOLERANCE = 3.0


def _baseline_figures() -> dict[str, object]:
    from salivaprot import plot

    from .test_plot import ARMS, VISITS, fake_matrix, fake_results, fake_samples

    def volcano(variant: bool = False) -> object:
        with plot.style():
            fig, ax = plot.new_figure("single", 70)
            table = fake_results()
            if variant:  # one hit fewer: must not pass as the baseline
                table = table.drop(index=0)
            plot.volcano(table, ax=ax, title="volcano")
        return fig

    def forest() -> object:
        with plot.style():
            fig, ax = plot.new_figure("single", 60)
            plot.forest(fake_results(n=8).assign(label=lambda t: t["protein_id"]), ax=ax)
        return fig

    def trajectory() -> object:
        samples = fake_samples(n_subjects=6)
        values = fake_matrix(samples).iloc[0]
        long = samples.assign(value=values.to_numpy(), imputed=False)
        with plot.style():
            fig, ax = plot.new_figure("single", 60)
            plot.trajectory(long, arms=ARMS, visits=VISITS, ax=ax, title="trajectory")
        return fig

    return {
        "volcano": volcano,
        "forest": forest,
        "trajectory": trajectory,
        "volcano_variant": lambda: volcano(True),
    }


def _render(fig: object, path: Path) -> Path:
    from salivaprot.plot import to_bytes

    path.write_bytes(to_bytes(fig, "png", dpi=BASELINE_DPI))  # type: ignore[arg-type]
    return path


@pytest.mark.parametrize("name", ["volcano", "forest", "trajectory"])
def test_matches_baseline_image(name: str, tmp_path: Path) -> None:
    from matplotlib.testing.compare import compare_images

    actual = _render(_baseline_figures()[name](), tmp_path / f"{name}.png")  # type: ignore[operator]
    expected = BASELINE / f"{name}.png"
    if os.environ.get("SALIVAPROT_UPDATE_BASELINE"):
        expected.write_bytes(actual.read_bytes())
    assert expected.exists(), f"no baseline {expected}; run with SALIVAPROT_UPDATE_BASELINE=1"
    result = compare_images(str(expected), str(actual), tol=TOLERANCE, in_decorator=True)
    assert result is None, f"{name} differs from its baseline: {result}"


def test_baseline_comparison_catches_a_content_change(tmp_path: Path) -> None:
    from matplotlib.testing.compare import compare_images

    changed = _render(_baseline_figures()["volcano_variant"](), tmp_path / "volcano.png")  # type: ignore[operator]
    result = compare_images(
        str(BASELINE / "volcano.png"), str(changed), tol=TOLERANCE, in_decorator=True
    )
    assert result is not None and result["rms"] > TOLERANCE
