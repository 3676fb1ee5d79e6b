"""salivaprot.plot: every function takes data plus ax=, returns the Axes, draws what it says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.text import Annotation

from salivaprot import plot
from salivaprot.figures import cluster_order, pca_scores

ARMS = ["placebo", "aMSC"]
VISITS = ["baseline", "month1", "month4"]


def fake_results(n: int = 200, seed: int = 0, n_hits: int = 15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    log2fc = rng.normal(0, 0.4, n)
    n_hits = min(n_hits, n)
    log2fc[:n_hits] += np.where(np.arange(n_hits) % 2, 2.0, -2.0)
    se = np.full(n, 0.3)
    from scipy import stats

    t = log2fc / se
    p = 2 * stats.t.sf(np.abs(t), 20)
    from statsmodels.stats.multitest import multipletests

    padj = multipletests(p, method="fdr_bh")[1]
    return pd.DataFrame(
        {
            "protein_id": [f"P{i:05d}" for i in range(n)],
            "gene": [f"GENE{i}" if i % 7 else "" for i in range(n)],
            "contrast": "aMSC_vs_placebo_change_month4",
            "log2fc": log2fc,
            "se": se,
            "df": 20.0,
            "pvalue": p,
            "padj": padj,
        }
    )


def fake_samples(n_subjects: int = 6, visits: list[str] = VISITS) -> pd.DataFrame:
    rows = []
    for s in range(n_subjects):
        for v in visits:
            rows.append(
                {"sample_id": f"S{s}_{v}", "subject_id": f"S{s}", "arm": ARMS[s % 2], "visit": v}
            )
    return pd.DataFrame(rows).set_index("sample_id")


def fake_matrix(samples: pd.DataFrame, n: int = 40, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(25, 2, (n, 1)) + rng.normal(0, 0.5, (n, len(samples)))
    values[rng.random(values.shape) < 0.1] = np.nan
    return pd.DataFrame(values, index=[f"P{i:05d}" for i in range(n)], columns=samples.index)


def boxes_overlap(a: object, b: object) -> bool:
    return bool(a.overlaps(b))  # type: ignore[attr-defined]


def test_style_is_a_context_and_sets_journal_parameters() -> None:
    import matplotlib as mpl

    before = mpl.rcParams["pdf.fonttype"]
    with plot.style():
        assert mpl.rcParams["pdf.fonttype"] == 42
        assert mpl.rcParams["svg.hashsalt"] == "salivaprot"
    assert mpl.rcParams["pdf.fonttype"] == before


def test_new_figure_has_journal_widths() -> None:
    fig, _ = plot.new_figure("single", 60)
    assert fig.get_size_inches()[0] * 25.4 == pytest.approx(89.0)
    fig, _ = plot.new_figure("double", 60)
    assert fig.get_size_inches()[0] * 25.4 == pytest.approx(183.0)
    assert fig.get_size_inches()[1] * 25.4 == pytest.approx(60.0)


def test_palette_is_okabe_ito_in_trial_order() -> None:
    colors = plot.arm_colors(["placebo", "aMSC"])
    assert list(colors) == ["placebo", "aMSC"]
    assert colors["placebo"] == "#0072B2" and colors["aMSC"] == "#D55E00"
    assert list(plot.visit_markers(["baseline", "month1"]).values()) == ["o", "s"]


def test_volcano_labels_top_hits_without_overlap() -> None:
    with plot.style():
        fig, ax = plot.new_figure("single", 70)
        returned = plot.volcano(fake_results(), ax=ax, label_top=12, highlight=["GENE100"])
    assert returned is ax
    labels = [c for c in ax.texts if isinstance(c, Annotation) and c.get_text() != "FDR 0.05"]
    assert len(labels) == 13  # 12 top hits + the panel protein
    assert "GENE100" in {t.get_text() for t in labels}
    assert "P00000" in {t.get_text() for t in labels}  # no gene: the protein ID
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    frame = ax.get_window_extent(renderer)
    for i, a in enumerate(boxes):
        assert frame.x0 - 1 <= a.x0 and a.x1 <= frame.x1 + 1, labels[i].get_text()
        for b in boxes[i + 1 :]:
            assert not boxes_overlap(a, b)


def test_volcano_placement_is_deterministic() -> None:
    def positions() -> list[tuple[float, float]]:
        with plot.style():
            _, ax = plot.new_figure("single", 70)
            plot.volcano(fake_results(seed=3), ax=ax)
        return [t.xyann for t in ax.texts if isinstance(t, Annotation)]

    assert positions() == positions()


def test_volcano_empty_states() -> None:
    table = fake_results()
    table["padj"] = 1.0
    _, ax = plot.new_figure()
    plot.volcano(table, ax=ax)
    assert any("No protein at FDR < 0.05" in t.get_text() for t in ax.texts)
    _, ax = plot.new_figure()
    plot.volcano(table.assign(log2fc=np.nan), ax=ax)
    assert any("No estimates" in t.get_text() for t in ax.texts)


def test_pca_axes_show_variance_and_every_sample() -> None:
    samples = fake_samples()
    scores, explained, n = pca_scores(fake_matrix(samples))
    assert scores.shape == (len(samples), 2) and n > 2
    assert 0 < explained[1] <= explained[0] < 1
    _, ax = plot.new_figure()
    plot.pca(scores, samples, arms=ARMS, visits=VISITS, explained=explained, ax=ax)
    assert ax.get_xlabel().startswith("PC1 (") and "%" in ax.get_ylabel()
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(samples)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ARMS + VISITS  # trial order, not alphabetical


def test_pca_scores_are_deterministic_in_sign() -> None:
    samples = fake_samples()
    matrix = fake_matrix(samples)
    first, _, _ = pca_scores(matrix)
    second, _, _ = pca_scores(matrix[list(matrix.columns)])
    pd.testing.assert_frame_equal(first, second)


def test_heatmaps_order_samples_by_trial_design() -> None:
    samples = fake_samples().sample(frac=1.0, random_state=1)  # shuffled rows
    matrix = fake_matrix(samples)
    _, ax = plot.new_figure("double", 90)
    plot.correlation_heatmap(matrix, samples, arms=ARMS, visits=VISITS, ax=ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    arms = [samples.at[s, "arm"] for s in labels]
    assert arms == sorted(arms, key=ARMS.index)
    z = matrix.iloc[:10]
    order = cluster_order(z)
    assert sorted(order) == sorted(z.index)
    _, ax = plot.new_figure("double", 90)
    plot.protein_heatmap(
        z, samples, arms=ARMS, visits=VISITS, row_order=order, ax=ax, labels={"P00001": "CST1"}
    )
    assert [t.get_text() for t in ax.get_yticklabels()][order.index("P00001")] == "CST1"
    _, ax = plot.new_figure()
    plot.protein_heatmap(
        z.iloc[:0],
        samples,
        arms=ARMS,
        visits=VISITS,
        ax=ax,
        empty_message="No protein with padj < 0.05",
    )
    assert any("No protein with padj" in t.get_text() for t in ax.texts)


def test_trajectory_means_and_intervals() -> None:
    samples = fake_samples(n_subjects=8)
    long = samples.assign(value=np.arange(len(samples), dtype=float) % 5 + 20.0)
    long["imputed"] = False
    long.iloc[0, long.columns.get_loc("imputed")] = True
    means = plot.arm_means(long, ARMS, VISITS)
    assert list(means["arm"]) == ["placebo"] * 3 + ["aMSC"] * 3
    rows = long[(long["arm"] == "placebo") & (long["visit"] == "baseline")]["value"]
    from scipy import stats

    half = stats.t.ppf(0.975, len(rows) - 1) * rows.std(ddof=1) / np.sqrt(len(rows))
    assert means.loc[0, "high"] - means.loc[0, "mean"] == pytest.approx(half)
    _, ax = plot.new_figure("single", 60)
    assert plot.trajectory(long, arms=ARMS, visits=VISITS, ax=ax) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == VISITS
    assert "imputed" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(ax.lines) >= 8  # one per subject, plus the means
    # the arm means leave imputed values out unless asked (models use measured values)
    placebo_baseline = long[(long["arm"] == "placebo") & (long["visit"] == "baseline")]
    measured = placebo_baseline.loc[~placebo_baseline["imputed"], "value"].mean()
    means_drawn = [line for line in ax.lines if line.get_linewidth() > 1.0]
    assert float(means_drawn[0].get_ydata()[0]) == pytest.approx(measured)
    _, ax = plot.new_figure("single", 60)
    plot.trajectory(long, arms=ARMS, visits=VISITS, ax=ax, means_include_imputed=True)
    means_drawn = [line for line in ax.lines if line.get_linewidth() > 1.0]
    assert float(means_drawn[0].get_ydata()[0]) == pytest.approx(placebo_baseline["value"].mean())


def test_trajectory_single_visit_says_so() -> None:
    samples = fake_samples(visits=["baseline"])
    _, ax = plot.new_figure()
    plot.trajectory(samples.assign(value=1.0), arms=ARMS, visits=["baseline"], ax=ax)
    assert any("single visit" in t.get_text() for t in ax.texts)


def test_forest_intervals_use_t_quantile_of_df() -> None:
    rows = fake_results(n=5)
    rows["df"] = [3.0, 10.0, 30.0, 100.0, np.inf]
    ci = plot.confidence_interval(rows)
    from scipy import stats

    expected = rows["log2fc"] + stats.t.ppf(0.975, rows["df"]) * rows["se"]
    np.testing.assert_allclose(ci["high"], expected)
    assert ci["high"].iloc[-1] - rows["log2fc"].iloc[-1] == pytest.approx(1.959964 * 0.3, rel=1e-6)
    _, ax = plot.new_figure()
    rows["label"] = rows["gene"]
    rows.loc[rows.index[0], "log2fc"] = np.nan  # an F test row
    plot.forest(rows, ax=ax)
    assert len(ax.get_yticks()) == 4
    assert "1 row(s) without an estimate" in ax.get_xlabel()


def _drawn_inside_the_figure(fig: object, texts: list[object]) -> None:
    """Render ``fig`` as the CLI does (a warning, e.g. 'axes sizes collapsed', is an error in
    the tests) and check that each text lies inside the figure, none cut at an edge."""
    plot.to_bytes(fig, "png")  # type: ignore[arg-type]
    with plot.style():
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        frame = fig.bbox  # type: ignore[attr-defined]
        for text in texts:
            box = text.get_window_extent(renderer)  # type: ignore[attr-defined]
            assert frame.x0 - 0.5 <= box.x0 and box.x1 <= frame.x1 + 0.5, text
            assert frame.y0 - 0.5 <= box.y0 and box.y1 <= frame.y1 + 0.5, text


@pytest.mark.parametrize("longest", [29, 400])
def test_forest_labels_and_note_fit_in_the_figure(longest: int) -> None:
    """The note on rows without an estimate is not cut at the right edge; a label longer
    than 40 characters is shortened around an ellipsis, keeping the axes (not collapsed)."""
    rows = fake_results(n=9)
    rows["label"] = [f"aMSC_vs_placebo_change_month{i}" for i in range(9)]
    rows.loc[0, "label"] = "A" * 20 + "Q" * (longest - 33) + "Z" * 13 if longest > 40 else "x"
    rows.loc[rows.index[-1], "log2fc"] = np.nan  # a joint F test: no estimate
    with plot.style():
        fig, ax = plot.new_figure("single", 80)
        plot.forest(rows, ax=ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    if longest > 40:
        assert labels[0] == "A" * 20 + "Q" * 6 + "…" + "Z" * 13
    assert max(map(len, labels)) <= 40
    assert "1 row(s) without an estimate" in ax.get_xlabel()
    _drawn_inside_the_figure(fig, [ax.xaxis.label, *ax.get_yticklabels()])


def test_short_label_keeps_both_ends() -> None:
    from salivaprot.plot._common import LABEL_MAX, short_label

    assert short_label("AMY1A") == "AMY1A"
    assert short_label("x" * LABEL_MAX) == "x" * LABEL_MAX
    long = "sp|P04745|AMY1_HUMAN;" * 10 + "END"
    assert short_label(long) == long[:26] + "…" + long[-13:]
    assert len(short_label(long)) == LABEL_MAX == 40


def test_qc_panels_and_run_qc_columns() -> None:
    samples = fake_samples()
    matrix = fake_matrix(samples)
    _, ax = plot.new_figure("double", 50)
    plot.intensity_distributions(matrix, samples, arms=ARMS, visits=VISITS, ax=ax)
    assert len(ax.get_xticks()) == len(samples)
    _, ax = plot.new_figure()
    plot.intensity_distributions(
        None, samples, arms=ARMS, visits=VISITS, ax=ax, empty_message="not here"
    )
    assert any(t.get_text() == "not here" for t in ax.texts)
    table = pd.DataFrame(
        {
            "arm": ["placebo", "aMSC"],
            "visit": ["baseline", "baseline"],
            "samples": [3, 0],
            "missing_fraction": [0.25, np.nan],
        }
    )
    _, ax = plot.new_figure()
    plot.missing_by_group(table, arms=ARMS, visits=["baseline"], ax=ax)
    assert {"25.0%\nn=3", "no samples"} <= {t.get_text() for t in ax.texts}
    flow = pd.DataFrame({"step": ["subjects", "samples analysed"], "count": [6, 17]})
    _, ax = plot.new_figure()
    plot.sample_flow(flow, ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["subjects", "samples analysed"]
    qc = pd.DataFrame(
        {
            "run": ["r1", "r2"],
            "tic_total": [1e9, 2e9],
            "n_ms2": [100, 200],
            "flagged": [False, True],
        }
    )
    for what in ("tic", "ms2"):
        _, ax = plot.new_figure()
        plot.run_qc(qc, what=what, ax=ax)
        assert len(ax.patches) == 2
    _, ax = plot.new_figure()
    plot.run_qc(pd.DataFrame({"run": ["r1"], "other": [1]}), what="tic", ax=ax)
    assert any("has no tic_total" in t.get_text() for t in ax.texts)


@pytest.mark.parametrize(
    "draw",
    [
        lambda ax: plot.volcano(fake_results(), ax=ax),
        lambda ax: plot.forest(fake_results(n=4).assign(label="x"), ax=ax),
        lambda ax: plot.sample_flow(None, ax=ax),
    ],
)
def test_plot_functions_return_the_axes_and_never_show(draw: object) -> None:
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    _, ax = plot.new_figure()
    assert draw(ax) is ax  # type: ignore[operator]
    assert isinstance(ax, Axes)
    assert plt.get_fignums() == open_before  # nothing registered with pyplot
